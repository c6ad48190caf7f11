"""Sends COUNT UDP datagrams to HOST:PORT, the first of SIZE bytes, each
next one a byte longer, GAP_MS apart (defaults: one datagram, no gap).

  udp_send.py HOST PORT SIZE [COUNT [GAP_MS]]
"""
import socket
import sys
import time

host, port, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
count = int(sys.argv[4]) if len(sys.argv) > 4 else 1
gap = float(sys.argv[5]) / 1000.0 if len(sys.argv) > 5 else 0.0
family = socket.AF_INET6 if ':' in host else socket.AF_INET
u = socket.socket(family, socket.SOCK_DGRAM)
for i in range(count):
    u.sendto(b'x' * (size + i), (host, port))
    if gap:
        time.sleep(gap)
