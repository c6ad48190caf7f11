"""The device side of the live agent test: one HTTP request to
V4_HOST:8080, and a UDP datagram to each of V4_HOST:5353 and V6_HOST:5353.

  live_client.py V4_HOST V6_HOST
"""
import socket
import sys

v4, v6 = sys.argv[1], sys.argv[2]
c = socket.create_connection((v4, 8080))
c.sendall(b'GET /status HTTP/1.1\r\nHost: gw\r\n\r\n')
c.recv(100)
c.close()
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'0123456789', (v4, 5353))
socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).sendto(b'abcdefghijklmnopqrstuvwxyz', (v6, 5353))
