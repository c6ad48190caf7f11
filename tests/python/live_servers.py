"""The gateway side of the live agent test: an HTTP server on [::]:8080 that
answers one request, and a UDP sink on [::]:5353 that exits after two
datagrams (IPv4 ones arrive mapped).

  live_servers.py
"""
import socket
import threading

t = socket.socket(socket.AF_INET6)
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(('::', 8080))
t.listen()
u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
u.bind(('::', 5353))


def http():
    c, _ = t.accept()
    c.recv(4096)
    c.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n')
    c.close()


threading.Thread(target=http, daemon=True).start()
for _ in range(2):
    u.recvfrom(2048)
