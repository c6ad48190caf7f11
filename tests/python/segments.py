"""TCP segments (ACK, PSH) with valid checksums, sent from a raw socket, so
that the tests choose every size and sequence number (no segment is a
retransmission unless a test sends one twice).

  segments.py flow SRC DST SPORT DPORT LEN COUNT GAP_MS
      COUNT segments of LEN payload bytes (COUNT 0: for 60 s), one flow, GAP_MS
      apart; SRC '' means the route's source address for DST.
  segments.py varied DST SECONDS
      segments of 0-1399 bytes to 50 ports of DST (one flow per port) for SECONDS.
"""
import socket
import struct
import sys
import time


def csum(b):
    b += bytes(len(b) % 2)
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff)
    s += s >> 16
    return ~s & 0xffff


def segment(src, dst, sport, dport, seq, payload):
    hdr = struct.pack('!HHIIBBHHH', sport, dport, seq, 1, 5 << 4, 0x18, 65535, 0, 0)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack('!BBH', 0, 6, 20 + len(payload))
    return hdr[:16] + struct.pack('!H', csum(pseudo + hdr + payload)) + hdr[18:] + payload


def source_for(dst):
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.connect((dst, 9))
    return probe.getsockname()[0]


def flow(src, dst, sport, dport, length, count, gap_ms):
    src = src or source_for(dst)
    r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
    r.bind((src, 0))
    seq = 1000
    end = time.time() + 60
    i = 0
    while (count == 0 and time.time() < end) or i < count:
        r.sendto(segment(src, dst, sport, dport, seq, bytes(length)), (dst, 0))
        seq += length
        i += 1
        time.sleep(gap_ms / 1000.0)


def varied(dst, seconds):
    src = source_for(dst)
    r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
    seqs = {}
    end = time.time() + seconds
    i = 0
    while time.time() < end:
        port = 1000 + i % 50
        n = i % 1400
        seq = seqs.get(port, 1000)
        r.sendto(segment(src, dst, 40000, port, seq, bytes(n)), (dst, 0))
        seqs[port] = seq + n
        i += 1


if __name__ == '__main__':
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == 'flow':
        src, dst = args[0], args[1]
        sport, dport, length, count, gap_ms = (int(a) for a in args[2:7])
        flow(src, dst, sport, dport, length, count, gap_ms)
    elif mode == 'varied':
        varied(args[0], float(args[1]))
    else:
        sys.exit('segments.py: unknown mode %r (flow, varied)' % mode)
