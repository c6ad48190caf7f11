"""Counts the TCP segments arriving per destination port on a raw socket
(no listener: the stack answers RST) and keeps FILE updated, atomically,
with the counts as JSON every 50 ms.

  segment_sink.py FILE PORT...
"""
import json
import os
import select
import socket
import sys
import time

path = sys.argv[1]
counts = {int(p): 0 for p in sys.argv[2:]}
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
s.setblocking(False)
last = 0
while True:
    if select.select([s], [], [], 0.05)[0]:
        while True:
            try:
                ip = s.recv(65536)
            except BlockingIOError:
                break
            ihl = (ip[0] & 15) * 4
            port = int.from_bytes(ip[ihl + 2:ihl + 4], 'big')
            if port in counts:
                counts[port] += 1
    if time.time() - last > 0.05:
        with open(path + '.tmp', 'w') as out:
            json.dump(counts, out)
        os.replace(path + '.tmp', path)
        last = time.time()
