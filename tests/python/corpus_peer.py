"""The corpus maker's helper, run on both sides of its veth: UDP and TCP
echo servers and clients (alexa-lab/src/corpus/live.rs)."""
import socket, struct, sys, threading, time

def family(host):
    return socket.AF_INET6 if ':' in host else socket.AF_INET

def dns_query(qid, labels):
    q = struct.pack('>HHHHHH', qid, 0x0100, 1, 0, 0, 0)
    for l in labels:
        q += bytes([len(l)]) + l
    return q + b'\x00\x00\x01\x00\x01'

mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
if mode == 'udp-server':
    s = socket.socket(family(host), socket.SOCK_DGRAM)
    s.bind((host, port))
    s.settimeout(0.2)
    end = time.time() + float(sys.argv[4])
    while time.time() < end:
        try:
            data, peer = s.recvfrom(4096)
        except socket.timeout:
            continue
        if len(data) >= 12:
            answer = b'\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\x0a\x4d\x00\x01'
            data = data[:2] + b'\x81\x80' + data[4:6] + b'\x00\x01\x00\x00\x00\x00' + data[12:] + answer
        s.sendto(data, peer)
elif mode == 'udp-client':
    s = socket.socket(family(host), socket.SOCK_DGRAM)
    s.settimeout(3)
    names = [[b'speaker', b'lan'], [b'metrics', b'speaker', b'lan'], [b'ntp', b'lan']]
    for i, labels in enumerate(names):
        s.sendto(dns_query(0x1000 + i, labels), (host, port))
        s.recvfrom(4096)
        time.sleep(0.05)
    s.sendto(b'', (host, port))
    s.recvfrom(4096)
elif mode == 'tcp-server':
    s = socket.socket(family(host), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    s.listen(8)
    s.settimeout(0.2)
    def echo(c):
        with c:
            while True:
                data = c.recv(65536)
                if not data:
                    break
                c.sendall(data)
    end = time.time() + float(sys.argv[4])
    while time.time() < end:
        try:
            c, _ = s.accept()
        except socket.timeout:
            continue
        threading.Thread(target=echo, args=(c,), daemon=True).start()
elif mode == 'tcp-client':
    n, size, pause = int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
    s = socket.create_connection((host, port), timeout=20)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for i in range(n):
        msg = bytes([0x41 + i % 26]) * size
        s.sendall(msg)
        got = b''
        while len(got) < size:
            chunk = s.recv(size - len(got))
            if not chunk:
                sys.exit('connection closed early')
            got += chunk
        time.sleep(pause)
    s.shutdown(socket.SHUT_WR)
    while s.recv(4096):
        pass
    s.close()
elif mode == 'syn-client':
    s = socket.socket(family(host), socket.SOCK_STREAM)
    s.settimeout(float(sys.argv[4]))
    try:
        s.connect((host, port))
        sys.exit('connected to a port that should be a black hole')
    except socket.timeout:
        pass
