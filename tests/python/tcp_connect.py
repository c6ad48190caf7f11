"""Tries one TCP connection to HOST:PORT (1 s timeout) and closes it; a
refusal or a timeout is not an error: the tests want the handshake's packets.

  tcp_connect.py HOST PORT
"""
import socket
import sys

try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1).close()
except OSError:
    pass
