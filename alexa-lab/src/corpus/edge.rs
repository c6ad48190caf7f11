//! Hand-made edge cases: frames the live captures cannot produce (or not
//! reliably), written byte by byte with correct checksums unless a header is
//! meant to lie. Each file is `edge-<name>.pcap`; the device is 10.0.0.2
//! and fd00::2, the server 10.0.0.1 and fd00::1.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::{
    craft::*,
    pcap::{push_vlan_tags, Frame, TPID_8021AD, TPID_8021Q},
    Fixture,
};

pub const DEV4: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
pub const SRV4: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
pub const DEV6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2);
pub const SRV6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1);

/// 2024-01-01T00:00:00Z in microseconds: the edge captures' start.
const T0: u64 = 1_704_067_200_000_000;

/// Frames in the making, each `step_us` after the previous one.
struct Scene {
    frames: Vec<Frame>,
    now: u64,
}

impl Scene {
    fn new() -> Scene {
        Scene {
            frames: Vec::new(),
            now: T0,
        }
    }

    /// Adds a complete frame `after_us` after the previous one.
    fn push(&mut self, after_us: u64, data: Vec<u8>) {
        self.now += after_us;
        self.frames.push(Frame::new(self.now, data));
    }

    /// Adds the first `keep` bytes of `data`, as a capture cut short.
    fn push_cut(&mut self, after_us: u64, data: Vec<u8>, keep: usize) {
        self.now += after_us;
        let orig_len = data.len() as u32;
        let mut data = data;
        data.truncate(keep);
        self.frames.push(Frame {
            ts_us: self.now,
            orig_len,
            data,
        });
    }
}

fn v4(src: Ipv4Addr, dst: Ipv4Addr) -> Ips {
    Ips::V4(src, dst)
}

/// A device→server (or, with `up` false, server→device) IPv4 TCP frame.
fn tcp4(up: bool, t: &Tcp) -> Vec<u8> {
    let (s, d, sm, dm) = if up {
        (DEV4, SRV4, DEVICE_MAC, SERVER_MAC)
    } else {
        (SRV4, DEV4, SERVER_MAC, DEVICE_MAC)
    };
    let mut f = eth(sm, dm, ETH_IPV4);
    f.extend(V4::new(s, d, PROTO_TCP).bytes(&t.bytes(v4(s, d))));
    f
}

fn udp4(up: bool, sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let (s, d, sm, dm) = if up {
        (DEV4, SRV4, DEVICE_MAC, SERVER_MAC)
    } else {
        (SRV4, DEV4, SERVER_MAC, DEVICE_MAC)
    };
    let mut f = eth(sm, dm, ETH_IPV4);
    f.extend(V4::new(s, d, PROTO_UDP).bytes(&udp(v4(s, d), sport, dport, payload)));
    f
}

/// A device→server IPv6 frame whose IPv6 payload is `ext` followed by `l4`
/// (`first` is the first next-header value).
fn v6_frame(first: u8, ext: &[u8], l4: &[u8]) -> Vec<u8> {
    let mut f = eth(DEVICE_MAC, SERVER_MAC, ETH_IPV6);
    let mut payload = ext.to_vec();
    payload.extend_from_slice(l4);
    f.extend(ipv6(DEV6, SRV6, first, &payload));
    f
}

const V6: Ips = Ips::V6(DEV6, SRV6);

/// Ethernet padding: short frames padded to 60 bytes with non-zero bytes,
/// which must not count as payload.
fn padding() -> Fixture {
    let mut s = Scene::new();
    let (dp, sp) = (8080, 40001);
    s.push(
        0,
        pad60(tcp4(true, &Tcp::new(sp, dp, 1000, 0, SYN, b"")), 0xee),
    );
    s.push(
        900,
        pad60(
            tcp4(false, &Tcp::new(dp, sp, 5000, 1001, SYN | ACK, b"")),
            0,
        ),
    );
    s.push(
        120,
        pad60(tcp4(true, &Tcp::new(sp, dp, 1001, 5001, ACK, b"")), 0xaa),
    );
    s.push(
        2_000,
        pad60(
            tcp4(true, &Tcp::new(sp, dp, 1001, 5001, ACK | PSH, b"hi")),
            0x55,
        ),
    );
    s.push(
        800,
        pad60(tcp4(false, &Tcp::new(dp, sp, 5001, 1003, ACK, b"")), 0),
    );
    s.push(
        3_000,
        pad60(
            tcp4(true, &Tcp::new(sp, dp, 1003, 5001, ACK | FIN, b"")),
            0xff,
        ),
    );
    s.push(5_000, pad60(udp4(true, 40002, 53, b"\x01"), 0x17));
    s.push(1_000, pad60(udp4(true, 40002, 53, b""), 0x16));
    s.push(700, pad60(udp4(false, 53, 40002, b"ok"), 0));
    Fixture::edge("edge-padding", s.frames, &[DEV4.into()])
}

/// Headers cut at each boundary, and headers that lie: never classified.
fn malformed() -> Fixture {
    let mut s = Scene::new();
    let tcp = Tcp::new(40010, 80, 1, 0, SYN, b"");
    let mut opt_tcp = tcp.clone();
    opt_tcp.options = vec![2, 4, 0x05, 0xb4, 1, 1, 4, 2, 1, 3, 3, 7];
    let full = tcp4(true, &tcp);
    let with_opts = tcp4(true, &opt_tcp);
    let udp_full = udp4(true, 40011, 53, b"query");
    let v6_udp = v6_frame(PROTO_UDP, &[], &udp(V6, 40012, 53, b"q6"));
    let v6_hbh = v6_frame(0, &ipv6_opts(PROTO_UDP), &udp(V6, 40012, 53, b"q6"));
    let vlan = push_vlan_tags(&full, &[(TPID_8021Q, 10)]);
    // A valid packet first, so the file also has something to classify.
    s.push(0, full.clone());
    // Truncated at (or inside) each header.
    s.push_cut(1_000, full.clone(), 10); // inside Ethernet
    s.push_cut(1_000, full.clone(), 14); // Ethernet only
    s.push_cut(1_000, vlan.clone(), 16); // inside the VLAN tag
    s.push_cut(1_000, vlan, 18); // VLAN tag, no IP
    s.push_cut(1_000, full.clone(), 14 + 12); // inside IPv4
    s.push_cut(1_000, full.clone(), 14 + 20); // IPv4, no TCP
    s.push_cut(1_000, full.clone(), 14 + 20 + 10); // inside TCP
    s.push_cut(1_000, with_opts, 14 + 20 + 20); // TCP options cut
    s.push_cut(1_000, udp_full.clone(), 14 + 20 + 4); // inside UDP
    s.push_cut(1_000, v6_udp.clone(), 14 + 20); // inside IPv6
    s.push_cut(1_000, v6_udp, 14 + 40 + 4); // inside UDP over IPv6
    s.push_cut(1_000, v6_hbh, 14 + 40 + 1); // inside hop-by-hop
                                            // IHL < 5.
    for ihl in [4u8, 0] {
        let mut f = full.clone();
        f[14] = 0x40 | ihl;
        fix_ipv4_checksum(&mut f[14..]);
        s.push(1_000, f);
    }
    // TCP data offset < 5.
    for doff in [4u8, 0] {
        let mut f = full.clone();
        f[14 + 20 + 12] = doff << 4;
        s.push(1_000, f);
    }
    // IPv4 total length past the frame, and shorter than the header.
    for total in [full.len() as u16 - 14 + 100, 16] {
        let mut f = full.clone();
        f[16..18].copy_from_slice(&total.to_be_bytes());
        fix_ipv4_checksum(&mut f[14..]);
        s.push(1_000, f);
    }
    // IPv6 payload length past the frame.
    let mut f = v6_frame(PROTO_UDP, &[], &udp(V6, 40013, 53, b"long"));
    f[18..20].copy_from_slice(&200u16.to_be_bytes());
    s.push(1_000, f);
    // UDP inside an IPv4 packet too short for its header.
    let mut f = eth(DEVICE_MAC, SERVER_MAC, ETH_IPV4);
    f.extend(V4::new(DEV4, SRV4, PROTO_UDP).bytes(&[0x9c, 0x4b, 0, 53]));
    s.push(1_000, f);
    // TCP data offset past the IP payload.
    let mut f = full.clone();
    f[14 + 20 + 12] = 15 << 4;
    s.push(1_000, f);
    // A valid packet last.
    s.push(1_000, udp_full);
    Fixture::edge("edge-malformed", s.frames, &[DEV4.into(), DEV6.into()])
}

/// TLS record headers in awkward places, on port 443.
fn tls() -> Fixture {
    let mut s = Scene::new();
    let (sp, dp) = (40020, 443);
    let mut seq = 7_000u32;
    let mut sseq = 90_000u32;
    let ack_of = |sseq: u32| sseq;
    s.push(0, tcp4(true, &Tcp::new(sp, dp, seq, 0, SYN, b"")));
    seq += 1;
    s.push(
        1_500,
        tcp4(false, &Tcp::new(dp, sp, sseq, seq, SYN | ACK, b"")),
    );
    sseq += 1;
    s.push(
        200,
        tcp4(true, &Tcp::new(sp, dp, seq, ack_of(sseq), ACK, b"")),
    );
    let send = |s: &mut Scene, after: u64, payload: Vec<u8>, seq: &mut u32| {
        s.push(
            after,
            tcp4(true, &Tcp::new(sp, dp, *seq, sseq, ACK | PSH, &payload)),
        );
        *seq = seq.wrapping_add(payload.len() as u32);
    };
    let record = |t: u8, ver: [u8; 2], body: &[u8]| {
        let mut v = vec![t, ver[0], ver[1]];
        v.extend_from_slice(&(body.len() as u16).to_be_bytes());
        v.extend_from_slice(body);
        v
    };
    // A complete handshake record.
    send(&mut s, 300, record(22, [3, 1], &[1u8; 40]), &mut seq);
    // A complete record, then a header split after two bytes...
    let mut p = record(23, [3, 3], &[0xab; 12]);
    p.extend_from_slice(&[23, 3]);
    send(&mut s, 4_000, p, &mut seq);
    // ...whose rest starts the next segment (not a header: 03 00 08).
    let mut p = vec![3, 0, 8];
    p.extend_from_slice(&[0xcd; 8]);
    send(&mut s, 250, p, &mut seq);
    // A header split at offset 0: two bytes, then the other three and body.
    send(&mut s, 3_000, vec![21, 3], &mut seq);
    send(&mut s, 180, vec![3, 0, 2, 1, 0], &mut seq);
    // Several records in one segment.
    let mut p = record(20, [3, 3], &[1]);
    p.extend(record(22, [3, 3], &[0x14; 16]));
    p.extend(record(23, [3, 3], &[0x55; 8]));
    send(&mut s, 6_000, p, &mut seq);
    // Bogus version, then bogus length: not records (continuations).
    send(&mut s, 2_000, record(23, [5, 5], &[0x42; 16]), &mut seq);
    let mut p = vec![23, 3, 3, 0xff, 0xff];
    p.extend_from_slice(&[0x43; 20]);
    send(&mut s, 2_000, p, &mut seq);
    // A record that does not end in its segment...
    let mut p = vec![23, 3, 3, 0x01, 0x00];
    p.extend_from_slice(&[0x44; 60]);
    send(&mut s, 2_000, p, &mut seq);
    // ...and its continuation, starting with a type-like byte (0x18).
    let mut p = vec![0x18, 0x77];
    p.extend_from_slice(&[0x45; 194]);
    send(&mut s, 150, p, &mut seq);
    // Heartbeat type, valid header.
    send(
        &mut s,
        5_000,
        record(24, [3, 3], &[1, 0, 1, 0x61]),
        &mut seq,
    );
    // A complete alert (close_notify).
    send(&mut s, 3_000, record(21, [3, 3], &[1, 0]), &mut seq);
    // The server answers with one record; the device acks and closes.
    let server = record(23, [3, 3], &[0x99; 30]);
    s.push(
        900,
        tcp4(false, &Tcp::new(dp, sp, sseq, seq, ACK | PSH, &server)),
    );
    sseq += server.len() as u32;
    s.push(100, tcp4(true, &Tcp::new(sp, dp, seq, sseq, ACK, b"")));
    s.push(
        20_000,
        tcp4(true, &Tcp::new(sp, dp, seq, sseq, ACK | FIN, b"")),
    );
    // A TLS-looking header on a non-TLS port over UDP 443 is in edge-other.
    Fixture::edge("edge-tls", s.frames, &[DEV4.into()])
}

/// SYN retransmission (same sequence number) and a SYN reusing a finished
/// 5-tuple with a new sequence number.
fn syn_reuse() -> Fixture {
    let mut s = Scene::new();
    let (sp, dp) = (40030, 8080);
    s.push(0, tcp4(true, &Tcp::new(sp, dp, 1_000, 0, SYN, b"")));
    s.push(1_000_000, tcp4(true, &Tcp::new(sp, dp, 1_000, 0, SYN, b"")));
    s.push(
        800,
        tcp4(false, &Tcp::new(dp, sp, 50_000, 1_001, SYN | ACK, b"")),
    );
    s.push(150, tcp4(true, &Tcp::new(sp, dp, 1_001, 50_001, ACK, b"")));
    s.push(
        2_000,
        tcp4(true, &Tcp::new(sp, dp, 1_001, 50_001, ACK | PSH, b"ping")),
    );
    s.push(
        700,
        tcp4(false, &Tcp::new(dp, sp, 50_001, 1_005, ACK | PSH, b"pong")),
    );
    s.push(
        3_000,
        tcp4(true, &Tcp::new(sp, dp, 1_005, 50_005, ACK | FIN, b"")),
    );
    s.push(
        600,
        tcp4(false, &Tcp::new(dp, sp, 50_005, 1_006, ACK | FIN, b"")),
    );
    s.push(100, tcp4(true, &Tcp::new(sp, dp, 1_006, 50_006, ACK, b"")));
    // Ten seconds later the same 5-tuple, a new connection.
    s.push(
        10_000_000,
        tcp4(true, &Tcp::new(sp, dp, 3_000_000, 0, SYN, b"")),
    );
    s.push(
        900,
        tcp4(false, &Tcp::new(dp, sp, 70_000, 3_000_001, SYN | ACK, b"")),
    );
    s.push(
        120,
        tcp4(true, &Tcp::new(sp, dp, 3_000_001, 70_001, ACK, b"")),
    );
    s.push(
        1_000,
        tcp4(
            true,
            &Tcp::new(sp, dp, 3_000_001, 70_001, ACK | PSH, b"again"),
        ),
    );
    // And a reset one: a new SYN straight after an RST.
    s.push(
        2_000,
        tcp4(true, &Tcp::new(sp, dp, 3_000_006, 70_001, RST | ACK, b"")),
    );
    s.push(
        400_000,
        tcp4(true, &Tcp::new(sp, dp, 9_000_000, 0, SYN, b"")),
    );
    Fixture::edge("edge-synreuse", s.frames, &[DEV4.into()])
}

/// IPv4 options and IPv4 fragments.
fn ipv4() -> Fixture {
    let mut s = Scene::new();
    let ips = v4(DEV4, SRV4);
    // Options: router alert (4 bytes), and NOPs plus a timestamp-ish pad.
    for (i, opts) in [vec![0x94, 4, 0, 0], vec![1, 1, 1, 1, 1, 1, 1, 0]]
        .into_iter()
        .enumerate()
    {
        let mut h = V4::new(DEV4, SRV4, PROTO_TCP);
        h.options = opts.clone();
        let t = Tcp::new(40040, 8080, 100 + i as u32 * 10, 1, ACK | PSH, b"optional");
        let mut f = eth(DEVICE_MAC, SERVER_MAC, ETH_IPV4);
        f.extend(h.bytes(&t.bytes(ips)));
        s.push(1_000, f);
        let mut h = V4::new(DEV4, SRV4, PROTO_UDP);
        h.options = opts;
        let mut f = eth(DEVICE_MAC, SERVER_MAC, ETH_IPV4);
        f.extend(h.bytes(&udp(ips, 40041, 53, b"opts")));
        s.push(1_000, f);
    }
    // A 3000-byte UDP datagram in three fragments (1480, 1480, 48 bytes).
    let body: Vec<u8> = (0..2992u32).map(|i| (i % 251) as u8).collect();
    let datagram = udp(ips, 40042, 5000, &body);
    for (k, chunk) in datagram.chunks(1480).enumerate() {
        let mut h = V4::new(DEV4, SRV4, PROTO_UDP);
        h.id = 0x4242;
        let more = (k + 1) * 1480 < datagram.len();
        h.frag = ((more as u16) << 13) | (k as u16 * 1480 / 8);
        let mut f = eth(DEVICE_MAC, SERVER_MAC, ETH_IPV4);
        f.extend(h.bytes(chunk));
        s.push(50, f);
    }
    // A TCP segment in two fragments (first carries the header).
    let t = Tcp::new(40043, 8080, 500, 1, ACK | PSH, &[0x61; 100]);
    let seg = t.bytes(ips);
    for (k, chunk) in seg.chunks(64).enumerate() {
        let mut h = V4::new(DEV4, SRV4, PROTO_TCP);
        h.id = 0x4343;
        let more = (k + 1) * 64 < seg.len();
        h.frag = ((more as u16) << 13) | (k as u16 * 64 / 8);
        let mut f = eth(DEVICE_MAC, SERVER_MAC, ETH_IPV4);
        f.extend(h.bytes(chunk));
        s.push(50, f);
    }
    // A later fragment seen alone (its first was lost).
    let mut h = V4::new(DEV4, SRV4, PROTO_UDP);
    h.id = 0x4444;
    h.frag = 185;
    let mut f = eth(DEVICE_MAC, SERVER_MAC, ETH_IPV4);
    f.extend(h.bytes(&[0x11; 40]));
    s.push(1_000, f);
    Fixture::edge("edge-ipv4", s.frames, &[DEV4.into()])
}

/// IPv6 extension headers: hop-by-hop, destination options, routing,
/// fragment (first and later), a chain of four, and one of five.
fn ipv6_ext() -> Fixture {
    let mut s = Scene::new();
    let t = |sp: u16, seq: u32, data: &[u8]| Tcp::new(sp, 8080, seq, 1, ACK | PSH, data).bytes(V6);
    s.push(0, v6_frame(PROTO_TCP, &[], &t(40050, 10, b"plain")));
    s.push(
        1_000,
        v6_frame(0, &ipv6_opts(PROTO_UDP), &udp(V6, 40051, 53, b"hbh")),
    );
    s.push(
        1_000,
        v6_frame(60, &ipv6_opts(PROTO_TCP), &t(40052, 10, b"dstopts")),
    );
    s.push(
        1_000,
        v6_frame(
            43,
            &ipv6_routing(PROTO_TCP, SRV6),
            &t(40053, 10, b"routing"),
        ),
    );
    // Hop-by-hop, destination options, routing, fragment (atomic): four.
    let mut chain = ipv6_opts(60);
    chain.extend(ipv6_opts(43));
    chain.extend(ipv6_routing(44, SRV6));
    chain.extend(ipv6_fragment(PROTO_UDP, 0, false, 7));
    s.push(1_000, v6_frame(0, &chain, &udp(V6, 40054, 53, b"four")));
    // Five: one more destination-options header than the contract walks.
    let mut chain5 = ipv6_opts(60);
    chain5.extend(ipv6_opts(43));
    chain5.extend(ipv6_routing(60, SRV6));
    chain5.extend(ipv6_opts(44));
    chain5.extend(ipv6_fragment(PROTO_UDP, 0, false, 8));
    s.push(1_000, v6_frame(0, &chain5, &udp(V6, 40055, 53, b"five")));
    // A 2000-byte UDP datagram in two fragments.
    let body: Vec<u8> = (0..1992u32).map(|i| (i % 241) as u8).collect();
    let datagram = udp(V6, 40056, 5000, &body);
    let (first, rest) = datagram.split_at(1232);
    s.push(
        1_000,
        v6_frame(44, &ipv6_fragment(PROTO_UDP, 0, true, 0x99), first),
    );
    s.push(
        40,
        v6_frame(44, &ipv6_fragment(PROTO_UDP, 1232 / 8, false, 0x99), rest),
    );
    // A TCP segment with its first fragment behind a hop-by-hop header.
    let seg = t(40057, 20, &[0x62; 80]);
    let (first, rest) = seg.split_at(48);
    let mut ext = ipv6_opts(44);
    ext.extend(ipv6_fragment(PROTO_TCP, 0, true, 0x77));
    s.push(1_000, v6_frame(0, &ext, first));
    s.push(
        40,
        v6_frame(44, &ipv6_fragment(PROTO_TCP, 6, false, 0x77), rest),
    );
    Fixture::edge("edge-ipv6ext", s.frames, &[DEV6.into()])
}

/// Frames the contract does not classify (ARP, ICMP, ICMPv6, three VLAN
/// tags) and UDP to 443 that looks like TLS.
fn other() -> Fixture {
    let mut s = Scene::new();
    s.push(0, arp(false, DEVICE_MAC, DEV4, [0; 6], SRV4));
    s.push(300, arp(true, SERVER_MAC, SRV4, DEVICE_MAC, DEV4));
    let echo = |up: bool, kind: u8| {
        let (src, dst, sm, dm) = if up {
            (DEV4, SRV4, DEVICE_MAC, SERVER_MAC)
        } else {
            (SRV4, DEV4, SERVER_MAC, DEVICE_MAC)
        };
        let mut f = eth(sm, dm, ETH_IPV4);
        f.extend(V4::new(src, dst, PROTO_ICMP).bytes(&icmp(
            None,
            kind,
            0,
            [0, 1, 0, 1],
            b"abcdefgh",
        )));
        f
    };
    s.push(1_000, echo(true, 8));
    s.push(400, echo(false, 0));
    // UDP to 443 whose payload looks like a TLS record: still DATA.
    let mut quic = vec![22, 3, 1, 0, 8];
    quic.extend_from_slice(&[0x10; 8]);
    let dgram = udp4(true, 40060, 443, &quic);
    s.push(1_000, dgram.clone());
    // The server's port unreachable, quoting the device's datagram.
    let quoted = &dgram[14..];
    let mut f = eth(SERVER_MAC, DEVICE_MAC, ETH_IPV4);
    f.extend(V4::new(SRV4, DEV4, PROTO_ICMP).bytes(&icmp(None, 3, 3, [0; 4], quoted)));
    s.push(300, f);
    // The device's own port unreachable, quoting a server TCP segment.
    let server_seg = tcp4(false, &Tcp::new(443, 40061, 1, 1, ACK | PSH, b"hello"));
    let mut f = eth(DEVICE_MAC, SERVER_MAC, ETH_IPV4);
    f.extend(V4::new(DEV4, SRV4, PROTO_ICMP).bytes(&icmp(None, 3, 3, [0; 4], &server_seg[14..])));
    s.push(1_000, f);
    // ICMPv6 echo request from the device.
    let mut f = eth(DEVICE_MAC, SERVER_MAC, ETH_IPV6);
    f.extend(ipv6(
        DEV6,
        SRV6,
        PROTO_ICMPV6,
        &icmp(Some(V6), 128, 0, [0, 2, 0, 1], b"ping6"),
    ));
    s.push(1_000, f);
    // Three VLAN tags: more than the contract walks.
    let tagged = push_vlan_tags(
        &udp4(true, 40062, 53, b"deep"),
        &[(TPID_8021AD, 300), (TPID_8021Q, 200), (TPID_8021Q, 100)],
    );
    s.push(1_000, tagged);
    // One and two tags, classified.
    s.push(
        1_000,
        push_vlan_tags(&udp4(true, 40063, 53, b"one tag"), &[(TPID_8021Q, 100)]),
    );
    s.push(
        1_000,
        push_vlan_tags(
            &tcp4(true, &Tcp::new(40064, 8080, 1, 0, SYN, b"")),
            &[(TPID_8021AD, 200), (TPID_8021Q, 100)],
        ),
    );
    Fixture::edge("edge-other", s.frames, &[DEV4.into(), DEV6.into()])
}

/// Every hand-made fixture.
pub fn all() -> Vec<Fixture> {
    vec![
        padding(),
        malformed(),
        tls(),
        syn_reuse(),
        ipv4(),
        ipv6_ext(),
        other(),
    ]
}
