"""Sends one JSON request line to the agent's control socket and prints the
answer, bypassing `alexa`'s own client (the agent must validate by itself).

  control_request.py SOCKET JSON
"""
import socket
import sys

s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b'\n')
print(s.recv(4096).decode())
