//! Every rule of the feature contract (version 2, `shared/spec/features.md`),
//! one by one, on frames built by an independent packet builder.

use alexa_common::{
    flow::{advance, FlowState, FlowStep},
    layer,
    parse::{mac_key, map_v4, Packet, Payload, Verdict},
    tcp_flag, Features, IPPROTO_TCP, IPPROTO_UDP,
};
use etherparse::{PacketBuilder, TcpOptionElement};

const DEV: [u8; 4] = [192, 168, 137, 94];
const SRV: [u8; 4] = [13, 226, 150, 134];
const DEV_MAC: [u8; 6] = [0x68, 0x54, 0xfd, 0x11, 0x22, 0x33];
const GW_MAC: [u8; 6] = [4; 6];
const MS: u64 = 1_000_000;

fn dev(a: &[u8; 16]) -> bool {
    *a == map_v4(DEV)
}

fn parse(frame: &[u8]) -> Verdict {
    alexa_common::parse::parse(frame, dev)
}

/// A TCP segment from the device (port `sport`) to the server; `flags` in
/// "SAFPR"; with TCP timestamps (NOP, NOP, TS: 12 option bytes) when `ts`.
fn tcp_full(flags: &str, seq: u32, sport: u16, dport: u16, ts: bool, payload: &[u8]) -> Vec<u8> {
    let mut b = PacketBuilder::ethernet2(DEV_MAC, GW_MAC)
        .ipv4(DEV, SRV, 64)
        .tcp(sport, dport, seq, 500);
    for f in flags.chars() {
        b = match f {
            'S' => b.syn(),
            'A' => b.ack(7),
            'F' => b.fin(),
            'P' => b.psh(),
            'R' => b.rst(),
            _ => b,
        };
    }
    if ts {
        b = b
            .options(&[
                TcpOptionElement::Noop,
                TcpOptionElement::Noop,
                TcpOptionElement::Timestamp(1, 2),
            ])
            .unwrap();
    }
    let mut v = Vec::new();
    b.write(&mut v, payload).unwrap();
    v
}

fn tcp(flags: &str, seq: u32, dport: u16, payload: &[u8]) -> Vec<u8> {
    tcp_full(flags, seq, 40000, dport, false, payload)
}

fn tcp_ports(flags: &str, seq: u32, sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    tcp_full(flags, seq, sport, dport, false, payload)
}

fn udp(dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    PacketBuilder::ethernet2(DEV_MAC, GW_MAC)
        .ipv4(DEV, SRV, 64)
        .udp(5000, dport)
        .write(&mut v, payload)
        .unwrap();
    v
}

fn packet(frame: &[u8]) -> Packet {
    match parse(frame) {
        Verdict::Packet(p) => p,
        other => panic!("expected a packet, got {other:?}"),
    }
}

/// Runs (frame, time in ns) through one flow table, returning each packet's step.
fn run<F: AsRef<[u8]>>(frames: &[(F, u64)]) -> Vec<FlowStep> {
    let mut flows: std::collections::HashMap<_, FlowState> = Default::default();
    frames
        .iter()
        .map(|(f, t)| {
            let f = f.as_ref();
            let p = packet(f);
            let (st, step) = advance(flows.get(&p.key), &p, f, *t);
            flows.insert(p.key, st);
            step
        })
        .collect()
}

/// Runs frames 1 ms apart.
fn run_ms(frames: Vec<Vec<u8>>) -> Vec<FlowStep> {
    let timed: Vec<_> = frames
        .into_iter()
        .enumerate()
        .map(|(i, f)| (f, (i as u64 + 1) * MS))
        .collect();
    run(&timed)
}

fn layers(out: &[FlowStep]) -> Vec<u8> {
    out.iter().map(|s| s.highest_layer).collect()
}

/// (highest_layer, content_type, record_len) of each packet.
fn recs(out: &[FlowStep]) -> Vec<(u8, u8, u16)> {
    out.iter()
        .map(|s| (s.highest_layer, s.content_type, s.record_len))
        .collect()
}

fn deltas(out: &[FlowStep]) -> Vec<u32> {
    out.iter().map(|s| s.delta).collect()
}

fn deltas_us(out: &[FlowStep]) -> Vec<u64> {
    out.iter().map(|s| s.delta_us).collect()
}

fn retrans(out: &[FlowStep]) -> Vec<u8> {
    out.iter().map(|s| s.tcp_retrans).collect()
}

/// A TLS record: header (type, version 3.3, length) and `len` body bytes
/// (0x5a, which starts neither a record header nor an HTTP message).
fn rec(ty: u8, len: u16) -> Vec<u8> {
    let mut v = vec![ty, 3, 3];
    v.extend(len.to_be_bytes());
    v.resize(5 + len as usize, 0x5a);
    v
}

/// `stream` cut at `cuts` into consecutive segments to port 443, the first at
/// sequence number `seq`.
fn segments(stream: &[u8], cuts: &[usize], seq: u32) -> Vec<Vec<u8>> {
    let mut bounds = vec![0];
    bounds.extend_from_slice(cuts);
    bounds.push(stream.len());
    bounds
        .windows(2)
        .map(|w| tcp("AP", seq + w[0] as u32, 443, &stream[w[0]..w[1]]))
        .collect()
}

/// The segment of `stream` bytes `from..to`, the stream starting at `seq`.
fn part(stream: &[u8], from: usize, to: usize, seq: u32) -> Vec<u8> {
    tcp("AP", seq + from as u32, 443, &stream[from..to])
}

const SSL: u8 = layer::SSL;
const TCP: u8 = layer::TCP;
const DATA: u8 = layer::DATA;
const HTTP: u8 = layer::HTTP;

// ---------------------------------------------------------------------------
// Which packets, and their header fields
// ---------------------------------------------------------------------------

#[test]
fn payload_len_is_l4_payload_from_ip_lengths() {
    let p = packet(&tcp("AP", 1, 443, b"hello"));
    assert_eq!(p.payload_len, 5);
    assert_eq!(p.payload_off, 14 + 20 + 20);
    let p = packet(&tcp_full("AP", 1, 40000, 443, true, b"hello"));
    assert_eq!(p.payload_len, 5);
    assert_eq!(p.payload_off, 14 + 20 + 32);
    assert_eq!(packet(&udp(53, b"abcdef")).payload_len, 6);
    assert_eq!(packet(&udp(53, b"abcdef")).payload_off, 14 + 20 + 8);
    assert_eq!(packet(&tcp("A", 1, 443, b"")).payload_len, 0);
}

#[test]
fn frame_len_of_a_pure_ack_with_timestamps_is_66() {
    let f = tcp_full("A", 1, 40000, 443, true, b"");
    assert_eq!(f.len(), 66);
    let p = packet(&f);
    assert_eq!(p.frame_len, 66);
    assert_eq!(p.payload_len, 0);
    assert_eq!(p.payload, Payload::Empty);
    // With data: 14 + IPv4 total length.
    assert_eq!(
        packet(&tcp_full("AP", 1, 40000, 443, true, &[9; 100])).frame_len,
        166
    );
    assert_eq!(packet(&udp(53, b"abc")).frame_len, 14 + 20 + 8 + 3);
}

#[test]
fn frame_len_does_not_count_ethernet_padding() {
    // A pure ACK without options is 54 bytes, padded to 60 on the wire; the
    // padding looks like a TLS header and must be neither counted nor read.
    let mut f = tcp("A", 1, 443, b"");
    f.extend_from_slice(&[0x17, 3, 3, 0, 5, 0]);
    let p = packet(&f);
    assert_eq!(p.frame_len, 54);
    assert_eq!(p.payload_len, 0);
    assert_eq!(p.payload, Payload::Empty);
    let out = run(&[(f, 0)]);
    assert_eq!(recs(&out), [(TCP, 0, 0)]);
    // A short UDP datagram with padding.
    let mut f = udp(53, b"ab");
    f.extend_from_slice(&[0; 16]);
    let p = packet(&f);
    assert_eq!((p.frame_len, p.payload_len), (44, 2));
}

#[test]
fn vlan_tags_up_to_two_not_counted_in_frame_len() {
    let plain = udp(53, b"abc");
    let tagged = |tags: &[u16]| {
        let mut f = plain.clone();
        for t in tags.iter().rev() {
            let b = t.to_be_bytes();
            f.splice(12..12, [b[0], b[1], 0, 5]);
        }
        f
    };
    assert_eq!(packet(&plain).frame_len, 45);
    for tags in [&[0x8100][..], &[0x88a8, 0x8100], &[0x8100, 0x8100]] {
        let f = tagged(tags);
        assert_eq!(f.len(), 45 + 4 * tags.len());
        let p = packet(&f);
        assert_eq!((p.frame_len, p.payload_len), (45, 3), "{tags:x?}");
        assert_eq!(p.payload_off as usize, 14 + 4 * tags.len() + 20 + 8);
    }
    assert_eq!(parse(&tagged(&[0x88a8, 0x8100, 0x8100])), Verdict::Other);
    // A tag cut short: malformed.
    assert_eq!(parse(&tagged(&[0x8100])[..16]), Verdict::Malformed);
}

#[test]
fn ipv6_frame_len_and_extension_headers() {
    let src = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
    let dst = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    let mut base = Vec::new();
    PacketBuilder::ethernet2([2; 6], [4; 6])
        .ipv6(src, dst, 64)
        .udp(1, 53)
        .write(&mut base, b"hello")
        .unwrap();
    let is6 = |a: &[u8; 16]| *a == src;
    let with = |kinds: &[(u8, u16)]| {
        let mut f = base.clone();
        for (kind, frag) in kinds.iter().rev() {
            let next = f[20];
            let ext: Vec<u8> = if *kind == 44 {
                let b = frag.to_be_bytes();
                vec![next, 0, b[0], b[1], 0, 0, 0, 1]
            } else {
                vec![next, 0, 1, 4, 0, 0, 0, 0]
            };
            let plen = u16::from_be_bytes([f[18], f[19]]) + 8;
            f[18..20].copy_from_slice(&plen.to_be_bytes());
            f[20] = *kind;
            f.splice(54..54, ext);
        }
        f
    };
    let lens = |f: &Vec<u8>| match alexa_common::parse::parse(&f[..], is6) {
        Verdict::Packet(p) => Some((p.frame_len, p.payload_len)),
        _ => None,
    };
    // 14 + 40 + payload length (UDP 8 + 5).
    assert_eq!(lens(&with(&[])), Some((67, 5)));
    // Padding not counted.
    let mut padded = with(&[]);
    padded.extend_from_slice(&[0; 7]);
    assert_eq!(lens(&padded), Some((67, 5)));
    // Four extension headers, first fragment (M=1): the payload length counts them.
    assert_eq!(
        lens(&with(&[(0, 0), (60, 0), (43, 0), (44, 1)])),
        Some((67 + 32, 5))
    );
    // Five: other.
    assert_eq!(
        alexa_common::parse::parse(
            &with(&[(0, 0), (60, 0), (43, 0), (60, 0), (60, 0)])[..],
            is6
        ),
        Verdict::Other
    );
    // A later fragment: other.
    assert_eq!(
        alexa_common::parse::parse(&with(&[(44, 8 << 3)])[..], is6),
        Verdict::Other
    );
    // An extension header running past the payload: malformed.
    let mut f = with(&[(60, 0)]);
    f[55] = 9;
    assert_eq!(alexa_common::parse::parse(&f[..], is6), Verdict::Malformed);
    // IPv6 TCP: 14 + 40 + 20 + payload.
    let mut v = Vec::new();
    PacketBuilder::ethernet2([2; 6], [4; 6])
        .ipv6(src, dst, 64)
        .tcp(40000, 443, 1, 500)
        .ack(1)
        .write(&mut v, &rec(23, 10))
        .unwrap();
    match alexa_common::parse::parse(&v[..], is6) {
        Verdict::Packet(p) => {
            assert_eq!((p.frame_len, p.payload_len), (14 + 40 + 20 + 15, 15));
            assert_eq!(p.payload, Payload::Tls(23));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn tls_record_header_rule() {
    for (bytes, want) in [
        (&[22u8, 3, 1, 0, 200][..], Some(22)),
        (&[20, 3, 0, 0, 1][..], Some(20)), // SSL 3.0, length 1
        (&[24, 3, 4, 0, 1][..], Some(24)), // minor 4
        (&[23, 3, 3, 0x48, 0x00][..], Some(23)), // 18432: the largest allowed
        (&[23, 3, 3, 0x48, 0x01][..], None), // 18433
        (&[23, 3, 3, 0, 0][..], None),     // length 0
        (&[23, 3, 5, 0, 1][..], None),     // minor 5
        (&[23, 2, 0, 0, 1][..], None),     // major 2
        (&[19, 3, 3, 0, 1][..], None),
        (&[25, 3, 3, 0, 1][..], None),
        (&[20, 3, 3, 0][..], None), // header cut short
    ] {
        let p = packet(&tcp("AP", 1, 8443, bytes));
        let got = match p.payload {
            Payload::Tls(ct) => Some(ct),
            _ => None,
        };
        assert_eq!(got, want, "{bytes:?}");
    }
    // UDP is never TLS.
    assert_eq!(packet(&udp(443, &[23, 3, 3, 0, 1])).payload, Payload::Data);
}

#[test]
fn http_start_rule() {
    for m in [
        "GET ",
        "POST ",
        "PUT ",
        "HEAD ",
        "DELETE ",
        "OPTIONS ",
        "PATCH ",
        "CONNECT ",
        "HTTP/1.",
        "HTTP/1.1 200",
    ] {
        assert_eq!(
            packet(&tcp("AP", 1, 80, m.as_bytes())).payload,
            Payload::Http,
            "{m}"
        );
    }
    for m in [
        "GET",
        "get /",
        "GETX",
        "HTTP/2",
        "HTTP/1",
        "OPTIONS",
        "M-SEARCH * HTTP/1.1",
    ] {
        assert_eq!(
            packet(&tcp("AP", 1, 80, m.as_bytes())).payload,
            Payload::Data,
            "{m}"
        );
    }
    assert_eq!(packet(&udp(80, b"GET / HTTP/1.1")).payload, Payload::Data);
}

#[test]
fn mac_key_layout() {
    let k = mac_key(&DEV_MAC);
    assert_eq!(k[..10], [0xff; 10]);
    assert_eq!(k[10..], DEV_MAC);
    assert_ne!(
        mac_key(&DEV_MAC),
        mac_key(&[0x68, 0x54, 0xfd, 0x11, 0x22, 0x34])
    );
    // No IPv4-mapped address collides with a MAC key.
    assert_ne!(k, map_v4([0xff, 0x11, 0x22, 0x33]));
}

#[test]
fn devices_by_source_mac_or_source_ip() {
    let other_ip = [10, 0, 0, 9];
    let frame = |src_mac: [u8; 6], dst_mac: [u8; 6], src: [u8; 4]| {
        let mut v = Vec::new();
        PacketBuilder::ethernet2(src_mac, dst_mac)
            .ipv4(src, SRV, 64)
            .tcp(40000, 443, 1, 500)
            .ack(1)
            .write(&mut v, b"x")
            .unwrap();
        v
    };
    let by_mac = |a: &[u8; 16]| *a == mac_key(&DEV_MAC);
    // The source IP is not a device, the source MAC is: classified, keyed by IP.
    match alexa_common::parse::parse(&frame(DEV_MAC, GW_MAC, other_ip)[..], by_mac) {
        Verdict::Packet(p) => {
            assert_eq!(p.key.src, map_v4(other_ip));
            assert_eq!(p.key.dst, map_v4(SRV));
            assert_eq!(p.payload_len, 1);
        }
        other => panic!("{other:?}"),
    }
    // Neither source MAC nor source IP: foreign.
    let stranger = [2, 0, 0, 0, 0, 9];
    assert_eq!(
        alexa_common::parse::parse(&frame(stranger, GW_MAC, other_ip)[..], by_mac),
        Verdict::Foreign
    );
    // The device's MAC as destination only (traffic to the device): foreign.
    assert_eq!(
        alexa_common::parse::parse(&frame(GW_MAC, DEV_MAC, other_ip)[..], by_mac),
        Verdict::Foreign
    );
    // By IP, whatever the MAC.
    assert!(matches!(
        alexa_common::parse::parse(&frame(stranger, GW_MAC, DEV)[..], dev),
        Verdict::Packet(_)
    ));
    // IPv6 by MAC.
    let src6 = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7];
    let mut v = Vec::new();
    PacketBuilder::ethernet2(DEV_MAC, GW_MAC)
        .ipv6(src6, [0xfd; 16], 64)
        .udp(1, 53)
        .write(&mut v, b"q")
        .unwrap();
    assert!(matches!(
        alexa_common::parse::parse(&v[..], by_mac),
        Verdict::Packet(p) if p.key.src == src6
    ));
    v[6..12].copy_from_slice(&stranger);
    assert_eq!(alexa_common::parse::parse(&v[..], by_mac), Verdict::Foreign);
    // A malformed IP header from the device's MAC: malformed, not classified.
    let mut f = frame(DEV_MAC, GW_MAC, other_ip);
    f[16..18].copy_from_slice(&2000u16.to_be_bytes());
    assert_eq!(
        alexa_common::parse::parse(&f[..], by_mac),
        Verdict::Malformed
    );
}

#[test]
fn which_packets() {
    // From another host: foreign.
    let mut v = Vec::new();
    PacketBuilder::ethernet2([2; 6], [4; 6])
        .ipv4(SRV, DEV, 64)
        .udp(1, 2)
        .write(&mut v, b"x")
        .unwrap();
    assert_eq!(parse(&v), Verdict::Foreign);
    // ICMP from the device: other.
    let mut v = Vec::new();
    PacketBuilder::ethernet2([2; 6], [4; 6])
        .ipv4(DEV, SRV, 64)
        .icmpv4_echo_request(1, 1)
        .write(&mut v, b"x")
        .unwrap();
    assert_eq!(parse(&v), Verdict::Other);
    // Later IPv4 fragment: other; first fragment: classified with its own payload.
    let mut f = udp(53, &[7; 40]);
    f[20] = 0x00;
    f[21] = 0x05;
    assert_eq!(parse(&f), Verdict::Other);
    let mut f = udp(53, &[7; 40]);
    f[20] = 0x20;
    assert_eq!(packet(&f).payload_len, 40);
    assert_eq!(packet(&f).frame_len, 14 + 20 + 8 + 40);
    // Truncated at every header boundary and inside headers: malformed.
    let full = tcp("AP", 1, 443, b"hello");
    for cut in [0, 5, 13, 14, 20, 33, 34, 40, 53, 58] {
        assert_eq!(parse(&full[..cut]), Verdict::Malformed, "cut at {cut}");
    }
    // IHL < 5, data offset < 5, total length past the frame: malformed.
    let mut f = full.clone();
    f[14] = 0x44;
    assert_eq!(parse(&f), Verdict::Malformed);
    let mut f = full.clone();
    f[46] = 0x40;
    assert_eq!(parse(&f), Verdict::Malformed);
    let mut f = full.clone();
    f[16..18].copy_from_slice(&200u16.to_be_bytes());
    assert_eq!(parse(&f), Verdict::Malformed);
    // Data offset past the IP payload: malformed.
    let mut f = tcp("A", 1, 443, b"");
    f[46] = 0x60;
    assert_eq!(parse(&f), Verdict::Malformed);
    // ARP: other.
    let mut arp = vec![0xff; 6];
    arp.extend(DEV_MAC);
    arp.extend([0x08, 0x06]);
    arp.extend([0; 28]);
    assert_eq!(parse(&arp), Verdict::Other);
}

#[test]
fn ack_flag_and_flags_byte() {
    let p = packet(&tcp("SA", 1, 443, b""));
    assert_eq!(p.tcp_flags, tcp_flag::SYN | tcp_flag::ACK);
    assert_eq!(p.seq, 1);
    let p = packet(&tcp("FAP", 77, 443, b"x"));
    assert_eq!(p.tcp_flags, tcp_flag::FIN | tcp_flag::ACK | tcp_flag::PSH);
    assert_eq!(p.seq, 77);
    assert_eq!(packet(&udp(53, b"x")).tcp_flags, 0);
    assert_eq!(packet(&udp(53, b"x")).seq, 0);
}

#[test]
fn features_record_from_packet_and_step() {
    let f = tcp_full("AP", 1000, 40001, 443, true, &rec(23, 10));
    let p = packet(&f);
    let (_, step) = advance(None, &p, &f[..], 5 * MS);
    let r = Features::new(&p, &step, true);
    assert_eq!(r.length, 14 + 20 + 32 + 15);
    assert_eq!(r.payload_len, 15);
    assert_eq!((r.dstport, r.srcport), (443, 40001));
    assert_eq!(
        (r.highest_layer, r.content_type, r.record_len),
        (SSL, 23, 10)
    );
    assert_eq!((r.delta, r.delta_us, r.flow_index), (0, 0, 1));
    assert_eq!((r.ack_flag, r.microphone, r.tcp_retrans), (1, 1, 0));
    assert_eq!(r.proto, IPPROTO_TCP);
    assert_eq!(r.tcp_flags, tcp_flag::ACK | tcp_flag::PSH);
    assert_eq!(Features::new(&p, &step, false).microphone, 0);
    let f = udp(53, b"q");
    let p = packet(&f);
    let (_, step) = advance(None, &p, &f[..], 0);
    let r = Features::new(&p, &step, true);
    assert_eq!((r.proto, r.ack_flag, r.tcp_flags), (IPPROTO_UDP, 0, 0));
    assert_eq!((r.length, r.payload_len, r.highest_layer), (43, 1, DATA));
}

// ---------------------------------------------------------------------------
// The TLS record stream
// ---------------------------------------------------------------------------

#[test]
fn one_record_reports_its_type_and_length() {
    let out = run_ms(vec![
        tcp("S", 999, 443, b""),
        tcp("AP", 1000, 443, &rec(22, 512)),
        tcp("AP", 1517, 443, &rec(23, 41)),
    ]);
    assert_eq!(recs(&out), [(TCP, 0, 0), (SSL, 22, 512), (SSL, 23, 41)]);
}

#[test]
fn several_records_in_one_segment_report_the_first() {
    let stream = [rec(22, 50), rec(20, 1), rec(22, 40)].concat();
    let out = run_ms(segments(&stream, &[], 1000));
    assert_eq!(recs(&out), [(SSL, 22, 50)]);
    // The first record ending, not the last one begun: two whole records
    // then the start of a third, which the next segment ends.
    let stream = [rec(21, 2), rec(23, 30), rec(22, 100), rec(23, 3)].concat();
    let out = run_ms(segments(&stream, &[7 + 35 + 20], 1000));
    assert_eq!(recs(&out), [(SSL, 21, 2), (SSL, 22, 100)]);
}

#[test]
fn first_record_ending_may_have_begun_earlier() {
    // Segment 2 ends the 300-byte record begun in segment 1, then holds a
    // whole record: the one begun earlier is reported.
    let stream = [rec(22, 300), rec(23, 10), rec(20, 1)].concat();
    let out = run_ms(segments(&stream, &[100, 320], 1000));
    assert_eq!(recs(&out), [(TCP, 0, 0), (SSL, 22, 300), (SSL, 20, 1)]);
}

#[test]
fn record_ending_several_segments_later() {
    let stream = [rec(23, 3000), rec(23, 28)].concat();
    let out = run_ms(segments(&stream, &[1000, 2000, 3004, 3005], 1000));
    assert_eq!(
        recs(&out),
        [
            (TCP, 0, 0),
            (TCP, 0, 0),
            (TCP, 0, 0),
            (SSL, 23, 3000), // its last byte alone
            (SSL, 23, 28),
        ]
    );
    assert_eq!(retrans(&out), [0; 5]);
}

#[test]
fn header_split_after_1_to_4_bytes() {
    let stream = [rec(22, 100), rec(23, 200), rec(21, 2)].concat();
    for k in 1..=4 {
        // A record, then the first k bytes of the next header.
        let out = run_ms(segments(&stream, &[105 + k, 310], 1000));
        assert_eq!(
            recs(&out),
            [(SSL, 22, 100), (SSL, 23, 200), (SSL, 21, 2)],
            "after a record, split after {k}"
        );
        // A segment holding only the first k header bytes ends no record.
        let out = run_ms(segments(&stream, &[105, 105 + k, 310], 1000));
        assert_eq!(
            recs(&out),
            [(SSL, 22, 100), (TCP, 0, 0), (SSL, 23, 200), (SSL, 21, 2)],
            "alone, split after {k}"
        );
        // The rest of the header alone, the body in a third segment.
        let out = run_ms(segments(&stream, &[105 + k, 110, 310], 1000));
        assert_eq!(
            recs(&out),
            [(SSL, 22, 100), (TCP, 0, 0), (SSL, 23, 200), (SSL, 21, 2)],
            "rest alone, split after {k}"
        );
    }
}

#[test]
fn header_split_over_three_segments() {
    let stream = [rec(22, 10), rec(23, 20), rec(21, 2)].concat();
    // 22 3 3 0 10 | body | 23 3 | 3 0 | 20 body... | 21 ...
    let out = run_ms(segments(&stream, &[15, 17, 19, 40], 1000));
    assert_eq!(
        recs(&out),
        [
            (SSL, 22, 10),
            (TCP, 0, 0),
            (TCP, 0, 0),
            (SSL, 23, 20),
            (SSL, 21, 2)
        ]
    );
    // One byte at a time through a header.
    let cuts: Vec<usize> = (15..=21).collect();
    let out = run_ms(segments(&stream, &cuts, 1000));
    assert_eq!(
        recs(&out),
        [
            (SSL, 22, 10),
            (TCP, 0, 0),
            (TCP, 0, 0),
            (TCP, 0, 0),
            (TCP, 0, 0),
            (TCP, 0, 0),
            (TCP, 0, 0), // first body byte
            (SSL, 23, 20),
        ]
    );
}

#[test]
fn full_retransmission_is_tcp_and_leaves_the_stream() {
    let stream = [rec(22, 95), rec(23, 195), rec(21, 2)].concat();
    let out = run_ms(vec![
        part(&stream, 0, 150, 1000),
        part(&stream, 0, 150, 1000), // resent: it ended a record, but no new bytes
        part(&stream, 150, 300, 1000),
        part(&stream, 300, 307, 1000),
    ]);
    assert_eq!(
        recs(&out),
        [(SSL, 22, 95), (TCP, 0, 0), (SSL, 23, 195), (SSL, 21, 2)]
    );
    assert_eq!(retrans(&out), [0, 1, 0, 0]);
}

#[test]
fn partial_retransmission_without_new_bytes_leaves_the_stream() {
    let stream = [rec(22, 95), rec(23, 195), rec(21, 2)].concat();
    let out = run_ms(vec![
        part(&stream, 0, 150, 1000),
        part(&stream, 95, 150, 1000), // the tail again, with the end of record 1
        part(&stream, 100, 120, 1000), // a header again
        part(&stream, 150, 300, 1000),
        part(&stream, 300, 307, 1000),
    ]);
    assert_eq!(
        recs(&out),
        [
            (SSL, 22, 95),
            (TCP, 0, 0),
            (TCP, 0, 0),
            (SSL, 23, 195),
            (SSL, 21, 2)
        ]
    );
    assert_eq!(retrans(&out), [0, 1, 1, 0, 0]);
}

#[test]
fn retransmission_with_new_bytes_loses_the_boundaries() {
    let stream = [rec(22, 95), rec(23, 195), rec(23, 45), rec(21, 2)].concat();
    let out = run_ms(vec![
        part(&stream, 0, 150, 1000),
        // 100 old bytes and 50 new ones: TCP, and the walk has lost its place.
        part(&stream, 50, 200, 1000),
        // Would end record 2 at 300 and record 3 at 350: lost, TCP.
        part(&stream, 200, 350, 1000),
        // Starts with a valid header: resumes.
        part(&stream, 350, 357, 1000),
    ]);
    assert_eq!(
        recs(&out),
        [(SSL, 22, 95), (TCP, 0, 0), (TCP, 0, 0), (SSL, 21, 2)]
    );
    // The new bytes count as sent: the next segment is neither resent nor a gap.
    assert_eq!(retrans(&out), [0, 1, 0, 0]);
}

#[test]
fn gap_loses_the_boundaries_until_a_segment_starts_with_a_header() {
    let stream = [rec(23, 95), rec(23, 195), rec(23, 95), rec(22, 20)].concat();
    let out = run_ms(vec![
        tcp("S", 999, 443, b""),
        part(&stream, 0, 150, 1000),
        // 150..250 lost before the capture point.
        part(&stream, 250, 280, 1000),
        // Contiguous, and would end record 2 if its bytes were counted on: lost.
        part(&stream, 280, 400, 1000),
        part(&stream, 400, 425, 1000),
    ]);
    assert_eq!(
        recs(&out),
        [
            (TCP, 0, 0),
            (SSL, 23, 95),
            (TCP, 0, 0),
            (TCP, 0, 0),
            (SSL, 22, 20)
        ]
    );
    assert_eq!(retrans(&out), [0; 5]);
}

#[test]
fn gap_segment_starting_with_a_header_resumes_at_once() {
    let stream = [rec(23, 95), rec(23, 195), rec(23, 95), rec(22, 20)].concat();
    let out = run_ms(vec![
        part(&stream, 0, 150, 1000),
        // 150..300 lost; this segment starts with record 3's header.
        part(&stream, 300, 400, 1000),
        part(&stream, 400, 425, 1000),
    ]);
    assert_eq!(recs(&out), [(SSL, 23, 95), (SSL, 23, 95), (SSL, 22, 20)]);
    assert_eq!(retrans(&out), [0; 3]);
    // Also when the split header pending before the gap is never completed.
    let stream = [rec(23, 10), rec(23, 30), rec(21, 2)].concat();
    let out = run_ms(vec![
        part(&stream, 0, 17, 1000), // record 1 and 2 header bytes
        part(&stream, 50, 57, 1000),
    ]);
    assert_eq!(recs(&out), [(SSL, 23, 10), (SSL, 21, 2)]);
}

#[test]

fn empty_segment_past_a_gap_loses_the_boundaries() {
    let stream = [rec(23, 95), rec(23, 195), rec(23, 95), rec(22, 20)].concat();
    let out = run_ms(vec![
        part(&stream, 0, 150, 1000),
        // 150..250 lost before the capture point; the device's next ACK
        // carries seq 1250: bytes are missing.
        tcp("A", 1250, 443, b""),
        // Does not start with a header: still lost. (Walked on as if
        // contiguous, its 150 bytes would "end" record 2.)
        part(&stream, 250, 400, 1000),
        part(&stream, 400, 425, 1000),
    ]);
    assert_eq!(
        recs(&out),
        [(SSL, 23, 95), (TCP, 0, 0), (TCP, 0, 0), (SSL, 22, 20)]
    );
}

#[test]
fn sixteen_records_in_one_segment_are_ssl() {
    let mut stream: Vec<u8> = (0..16).flat_map(|_| rec(23, 1)).collect();
    stream.extend(rec(22, 30));
    stream.extend(rec(21, 2));
    // 16 whole records and 10 bytes of the 17th: SSL, the stream intact.
    let out = run_ms(segments(&stream, &[16 * 6 + 10, 16 * 6 + 35], 1000));
    assert_eq!(recs(&out), [(SSL, 23, 1), (SSL, 22, 30), (SSL, 21, 2)]);
    // 16 whole records and 3 header bytes of the 17th.
    let out = run_ms(segments(&stream, &[16 * 6 + 3, 16 * 6 + 35], 1000));
    assert_eq!(recs(&out), [(SSL, 23, 1), (SSL, 22, 30), (SSL, 21, 2)]);
    // One record begun earlier and 15 whole ones end in segment 2: 16.
    let mut stream = rec(22, 30);
    stream.extend((0..15).flat_map(|_| rec(23, 1)));
    stream.extend(rec(21, 2));
    let out = run_ms(segments(&stream, &[20, 35 + 15 * 6], 1000));
    assert_eq!(recs(&out), [(TCP, 0, 0), (SSL, 22, 30), (SSL, 21, 2)]);
}

#[test]
fn seventeen_records_in_one_segment_lose_the_boundaries() {
    let mut stream: Vec<u8> = (0..17).flat_map(|_| rec(23, 1)).collect();
    stream.extend(rec(22, 30));
    stream.extend(rec(21, 2));
    let out = run_ms(segments(&stream, &[17 * 6 + 10, 17 * 6 + 35], 1000));
    // TCP; the next segment would end the 18th record: lost, TCP; resumes
    // at the next header.
    assert_eq!(recs(&out), [(TCP, 0, 0), (TCP, 0, 0), (SSL, 21, 2)]);
    // One record begun earlier and 16 whole ones end in segment 2: 17.
    let mut stream = rec(22, 30);
    stream.extend((0..16).flat_map(|_| rec(23, 1)));
    stream.extend(rec(20, 1));
    let out = run_ms(segments(&stream, &[20, 35 + 16 * 6], 1000));
    assert_eq!(recs(&out), [(TCP, 0, 0), (TCP, 0, 0), (SSL, 20, 1)]);
    // Many more: still TCP, and the count restarts with every segment.
    let stream: Vec<u8> = (0..40).flat_map(|_| rec(23, 1)).collect();
    let out = run_ms(segments(&stream, &[40 * 6 - 16 * 6], 1000));
    assert_eq!(recs(&out), [(TCP, 0, 0), (SSL, 23, 1)]);
}

#[test]
fn invalid_header_where_one_is_expected_loses_the_boundaries() {
    let out = run_ms(vec![
        tcp("AP", 1000, 443, &rec(22, 10)),
        // Where the next header is due: length 0, invalid.
        tcp("AP", 1015, 443, &[23, 3, 3, 0, 0, 1, 2, 3, 4, 5]),
        // Lost: garbage stays TCP.
        tcp("AP", 1025, 443, &[0x5a; 10]),
        tcp("AP", 1035, 443, &rec(21, 2)),
    ]);
    assert_eq!(
        recs(&out),
        [(SSL, 22, 10), (TCP, 0, 0), (TCP, 0, 0), (SSL, 21, 2)]
    );
}

#[test]
fn invalid_split_header_loses_the_boundaries() {
    let mut stream = rec(22, 10);
    stream.extend([23, 3, 9, 0, 5]); // minor 9
    stream.extend(rec(23, 5)); // looks like a header, but lies inside the "record"
    stream.extend([0x5a; 10]);
    stream.extend(rec(21, 2));
    // 15 + 2 header bytes | rest of the bad header and 10 bytes | garbage | valid
    let out = run_ms(segments(&stream, &[17, 30, 40], 1000));
    assert_eq!(
        recs(&out),
        [(SSL, 22, 10), (TCP, 0, 0), (TCP, 0, 0), (SSL, 21, 2)]
    );
}

#[test]

fn invalid_header_after_a_record_in_the_same_segment() {
    let mut first = rec(22, 10);
    first.extend([99, 3, 3, 0, 5, 1, 2, 3, 4, 5]);
    let out = run_ms(vec![
        tcp("AP", 1000, 443, &first),
        tcp("AP", 1025, 443, &[0x5a; 10]),
        tcp("AP", 1035, 443, &rec(23, 3)),
    ]);
    assert_eq!(recs(&out), [(SSL, 22, 10), (TCP, 0, 0), (SSL, 23, 3)]);
}

#[test]
fn segment_of_a_tls_connection_ending_no_record_is_tcp() {
    let stream = rec(23, 1000);
    let out = run_ms(segments(&stream, &[500], 1000));
    assert_eq!(recs(&out), [(TCP, 0, 0), (SSL, 23, 1000)]);
    // Empty segments in a TLS connection: TCP, no record.
    let out = run_ms(vec![
        tcp("S", 999, 443, b""),
        tcp("A", 1000, 443, b""),
        tcp("AP", 1000, 443, &rec(22, 5)),
        tcp("A", 1010, 443, b""),
        tcp("FA", 1010, 443, b""),
    ]);
    assert_eq!(
        recs(&out),
        [
            (TCP, 0, 0),
            (TCP, 0, 0),
            (SSL, 22, 5),
            (TCP, 0, 0),
            (TCP, 0, 0)
        ]
    );
}

// ---------------------------------------------------------------------------
// The connection's kind
// ---------------------------------------------------------------------------

#[test]
fn first_payload_decides_the_kind() {
    // A record header first: TLS, even on port 80; an HTTP start where a
    // header is due is an invalid header.
    let out = run_ms(vec![
        tcp("AP", 1, 80, &rec(22, 10)),
        tcp("AP", 16, 80, b"GET / HTTP/1.1\r\n\r\n"),
    ]);
    assert_eq!(recs(&out), [(SSL, 22, 10), (TCP, 0, 0)]);
    // An HTTP start first: HTTP, even on port 443; a later record is TCP.
    let out = run_ms(vec![
        tcp("AP", 1, 443, b"GET / HTTP/1.1\r\n\r\n"),
        tcp("AP", 19, 443, &rec(22, 10)),
    ]);
    assert_eq!(recs(&out), [(HTTP, 0, 0), (TCP, 0, 0)]);
    // Empty segments decide nothing.
    let out = run_ms(vec![
        tcp("S", 0, 4070, b""),
        tcp("A", 1, 4070, b""),
        tcp("AP", 1, 4070, &rec(23, 4)),
    ]);
    assert_eq!(recs(&out), [(TCP, 0, 0), (TCP, 0, 0), (SSL, 23, 4)]);
    // A retransmitted segment decides nothing.
    let out = run_ms(vec![
        tcp("S", 999, 4070, b""),
        tcp("AP", 996, 4070, b"GET "), // before the SYN's end: resent
        tcp("AP", 1000, 4070, &rec(22, 10)),
    ]);
    assert_eq!(recs(&out), [(TCP, 0, 0), (TCP, 0, 0), (SSL, 22, 10)]);
    assert_eq!(retrans(&out), [0, 1, 0]);
}

#[test]
fn data_connection_on_port_4070() {
    let out = run_ms(vec![
        tcp("S", 999, 4070, b""),
        tcp("A", 1000, 4070, b""),
        tcp("AP", 1000, 4070, &[0, 0, 0, 11, 1, 2, 3, 4, 5, 6, 7]),
        tcp("AP", 1011, 4070, &rec(23, 10)), // a record header later: still DATA
        tcp("A", 1026, 4070, b""),
        tcp("AP", 1026, 4070, &[1; 30]),
    ]);
    assert_eq!(
        recs(&out),
        [
            (TCP, 0, 0),
            (TCP, 0, 0),
            (DATA, 0, 0),
            (DATA, 0, 0),
            (TCP, 0, 0),
            (DATA, 0, 0)
        ]
    );
}

#[test]

fn data_connection_becomes_http_at_a_request() {
    let out = run_ms(vec![
        tcp("AP", 1000, 4070, &[0, 1, 2, 3]),
        tcp("AP", 1004, 4070, b"GET / HTTP/1.1\r\n"),
        tcp("AP", 1020, 4070, b"Host: x\r\n\r\n"),
    ]);
    assert_eq!(layers(&out), [DATA, HTTP, TCP]);
}

#[test]
fn port_443_joined_mid_stream_is_tcp_until_a_valid_header() {
    for (sport, dport) in [(40000, 443), (443, 51000)] {
        let mut stream = vec![0x5a; 300];
        stream.extend(rec(23, 50));
        stream.extend(rec(21, 2));
        let frames: Vec<Vec<u8>> = [(0, 100), (100, 300), (300, 330), (330, 355), (355, 362)]
            .iter()
            .map(|&(a, b)| tcp_ports("AP", 7000 + a as u32, sport, dport, &stream[a..b]))
            .collect();
        let out = run_ms(frames);
        assert_eq!(
            recs(&out),
            [
                (TCP, 0, 0),
                (TCP, 0, 0),
                (TCP, 0, 0), // resumed: a header and 25 body bytes
                (SSL, 23, 50),
                (SSL, 21, 2),
            ],
            "ports {sport} -> {dport}"
        );
    }
    // The same bytes on another port: DATA throughout.
    let out = run_ms(vec![
        tcp("AP", 1, 8443, &[0x5a; 100]),
        tcp("AP", 101, 8443, &rec(23, 50)),
    ]);
    assert_eq!(layers(&out), [DATA, DATA]);
}

#[test]
fn port_80_without_an_http_start_is_tcp() {
    for (sport, dport) in [(40000, 80), (80, 51000)] {
        let out = run_ms(vec![
            tcp_ports("AP", 1, sport, dport, b"\x00\x01binary"),
            tcp_ports("AP", 9, sport, dport, b"more"),
            tcp_ports("AP", 13, sport, dport, b"HTTP/1.1 200 OK\r\n"),
            tcp_ports("AP", 30, sport, dport, b"body"),
        ]);
        assert_eq!(
            layers(&out),
            [TCP, TCP, HTTP, TCP],
            "ports {sport} -> {dport}"
        );
    }
}

#[test]
fn http_connection_layers() {
    let out = run_ms(vec![
        tcp("S", 99, 8080, b""),
        tcp("AP", 100, 8080, b"POST /up HTTP/1.1\r\n"),
        tcp("AP", 119, 8080, b"Content-Length: 10\r\n\r\n"), // headers continued
        tcp("AP", 141, 8080, b"0123456789"),                 // body
        tcp("AP", 151, 8080, b"GET / HTTP/1.1\r\n\r\n"),     // next request
        tcp("AP", 169, 8080, b"get / HTTP/1.1\r\n\r\n"),     // not a method
        tcp("AP", 187, 8080, &rec(23, 5)),                   // not a message start
        tcp("A", 197, 8080, b""),
    ]);
    assert_eq!(layers(&out), [TCP, HTTP, TCP, TCP, HTTP, TCP, TCP, TCP]);
    assert!(out.iter().all(|s| s.content_type == 0 && s.record_len == 0));
    // The device answering: a response start.
    let out = run_ms(vec![
        tcp_ports("AP", 1, 8080, 51000, b"HTTP/1.1 200 OK\r\n"),
        tcp_ports("AP", 18, 8080, 51000, b"Content-Type: text/plain\r\n"),
        tcp_ports("AP", 44, 8080, 51000, b"HTTP/1.0 404 Not Found\r\n"),
    ]);
    assert_eq!(layers(&out), [HTTP, TCP, HTTP]);
}

// ---------------------------------------------------------------------------
// Clocks, connections, retransmissions
// ---------------------------------------------------------------------------

#[test]
fn delta_is_whole_ms_truncated_from_ns_stamps() {
    let t0 = 999;
    let t1 = t0 + 999_999; // 1_000_998: its µs stamp is 1000, t0's is 0
    let t2 = t1 + 1_999_999;
    let t3 = t2 + 2_000_000;
    let t4 = t3 + 5_000_000_000;
    let out = run(&[
        (tcp("S", 999, 443, b""), t0),
        (tcp("A", 1000, 443, b""), t1),
        (tcp("AP", 1000, 443, &rec(22, 10)), t2),
        (tcp("A", 1015, 443, b""), t3),
        (tcp("AP", 1015, 443, &rec(23, 10)), t4),
    ]);
    assert_eq!(deltas(&out), [0, 0, 1, 2, 5000]);
    assert_eq!(deltas_us(&out), [0, 999, 1999, 2000, 5_000_000]);
    // A clock going backwards gives 0, not a wrapped value.
    let out = run(&[
        (tcp("A", 1, 443, b""), 10 * MS),
        (tcp("A", 1, 443, b""), 4 * MS),
    ]);
    assert_eq!(deltas(&out), [0, 0]);
    assert_eq!(deltas_us(&out), [0, 0]);
}

#[test]
fn data_and_http_packets_have_delta_0_and_do_not_move_the_clock() {
    let out = run(&[
        (tcp("S", 999, 4070, b""), 0),
        (tcp("A", 1000, 4070, b""), 3_500_000),
        (tcp("AP", 1000, 4070, &[1; 10]), 10 * MS),
        (tcp("AP", 1010, 4070, &[1; 10]), 17 * MS),
        (tcp("A", 1020, 4070, b""), 20_900_000),
    ]);
    assert_eq!(layers(&out), [TCP, TCP, DATA, DATA, TCP]);
    // The last ACK: 20.9 - 3.5 = 17.4 ms since the previous TCP packet.
    assert_eq!(deltas(&out), [0, 3, 0, 0, 17]);
    assert_eq!(deltas_us(&out), [0, 3500, 6500, 7000, 3900]);
    let out = run(&[
        (tcp("S", 99, 80, b""), 0),
        (tcp("AP", 100, 80, b"GET / HTTP/1.1\r\n"), 40 * MS),
        (tcp("AP", 116, 80, b"Host: x\r\n\r\n"), 45 * MS),
        (tcp("AP", 127, 80, b"PUT / HTTP/1.1\r\n"), 46 * MS),
        (tcp("A", 143, 80, b""), 47 * MS),
    ]);
    assert_eq!(layers(&out), [TCP, HTTP, TCP, HTTP, TCP]);
    assert_eq!(deltas(&out), [0, 0, 45, 0, 2]);
}

#[test]
fn first_ssl_or_tcp_packet_of_a_connection_has_delta_0() {
    // Joined mid-connection with DATA: the first TCP-layer packet starts the clock.
    let out = run(&[
        (tcp("AP", 1000, 4070, &[1; 10]), 100 * MS),
        (tcp("A", 1010, 4070, b""), 150 * MS),
        (tcp("A", 1010, 4070, b""), 180 * MS),
    ]);
    assert_eq!(layers(&out), [DATA, TCP, TCP]);
    assert_eq!(deltas(&out), [0, 0, 30]);
    assert_eq!(deltas_us(&out), [0, 50_000, 30_000]);
    // Each connection has its own clock; so has each direction (another 5-tuple).
    let out = run(&[
        (tcp("AP", 1, 443, &rec(23, 5)), 7 * MS),
        (tcp("AP", 1, 8443, &rec(23, 5)), 9 * MS),
        (tcp("AP", 11, 443, &rec(23, 5)), 12 * MS),
        (udp(53, b"q"), 13 * MS),
        (tcp("AP", 11, 8443, &rec(23, 5)), 20 * MS),
    ]);
    assert_eq!(deltas(&out), [0, 0, 5, 0, 11]);
    assert_eq!(
        out.iter().map(|s| s.flow_index).collect::<Vec<_>>(),
        [1, 1, 2, 1, 2]
    );
}

#[test]
fn new_syn_starts_a_new_connection() {
    let out = run(&[
        (tcp("S", 1000, 8443, b""), MS),
        (tcp("S", 1000, 8443, b""), 3 * MS), // retransmitted SYN: same connection
        (tcp("A", 1001, 8443, b""), 3_500_000),
        (tcp("AP", 1001, 8443, &[0x5a; 10]), 5 * MS), // kind: DATA
        (tcp("S", 9999, 8443, b""), 100 * MS),        // new SYN: new connection
        (tcp("A", 10000, 8443, b""), 104 * MS),
        (tcp("AP", 10000, 8443, &rec(22, 10)), 105 * MS), // kind decided again
        (tcp("SA", 5, 8443, b""), 106 * MS),              // SYN+ACK starts nothing
    ]);
    assert_eq!(layers(&out), [TCP, TCP, TCP, DATA, TCP, TCP, SSL, TCP]);
    assert_eq!(deltas(&out), [0, 2, 0, 0, 0, 4, 1, 1]);
    assert_eq!(deltas_us(&out), [0, 2000, 500, 1500, 0, 4000, 1000, 1000]);
    assert_eq!(
        out.iter().map(|s| s.flow_index).collect::<Vec<_>>(),
        [1, 2, 3, 4, 1, 2, 3, 4]
    );
    assert_eq!(&retrans(&out)[..7], [0, 1, 0, 0, 0, 0, 0]);
    // A new SYN also forgets a lost TLS stream's sequence space: the new
    // connection's first data, far below the old one's, is no retransmission.
    let out = run_ms(vec![
        tcp("S", 5_000_000, 443, b""),
        tcp("AP", 5_000_001, 443, &[0x5a; 20]),
        tcp("S", 10, 443, b""),
        tcp("AP", 11, 443, &rec(23, 41)),
    ]);
    assert_eq!(
        recs(&out),
        [(TCP, 0, 0), (TCP, 0, 0), (TCP, 0, 0), (SSL, 23, 41)]
    );
    assert_eq!(retrans(&out), [0, 0, 0, 0]);
}

#[test]
fn tcp_retrans_from_highest_sequence_sent() {
    let out = run_ms(vec![
        tcp("AP", 5000, 443, &[1; 100]),
        tcp("AP", 5100, 443, &[1; 100]),
        tcp("AP", 5000, 443, &[1; 100]), // resent
        tcp("AP", 5150, 443, &[1; 100]), // overlaps sent space
        tcp("A", 5000, 443, b""),        // pure ACK: never a retransmission
        tcp("AP", 5250, 443, &[1; 10]),  // new data
        tcp("FA", 5260, 443, b""),       // FIN takes a sequence number
        tcp("FA", 5260, 443, b""),       // FIN resent
    ]);
    assert_eq!(retrans(&out), [0, 0, 1, 1, 0, 0, 0, 1]);
    // Sequence wrap-around.
    let out = run_ms(vec![
        tcp("AP", u32::MAX - 9, 443, &[1; 20]),
        tcp("AP", 10, 443, &[1; 5]),
        tcp("AP", u32::MAX - 4, 443, &[1; 5]),
    ]);
    assert_eq!(retrans(&out), [0, 0, 1]);
}

#[test]
fn retransmission_is_tcp_in_every_kind_and_moves_the_clock() {
    let out = run(&[
        (tcp("AP", 1000, 4070, &[1; 100]), 0),
        (tcp("AP", 1000, 4070, &[1; 100]), 10 * MS),
        (tcp("A", 1100, 4070, b""), 15 * MS),
    ]);
    assert_eq!(layers(&out), [DATA, TCP, TCP]);
    assert_eq!(retrans(&out), [0, 1, 0]);
    assert_eq!(deltas(&out), [0, 0, 5]);
    let req = b"GET / HTTP/1.1\r\n\r\n";
    let out = run_ms(vec![tcp("AP", 1, 80, req), tcp("AP", 1, 80, req)]);
    assert_eq!(layers(&out), [HTTP, TCP]);
    assert_eq!(retrans(&out), [0, 1]);
}

#[test]
fn udp_rule() {
    let out = run(&[
        (udp(53, b"q"), MS),
        (udp(53, b""), 4 * MS),
        (udp(53, &rec(23, 3)), 10 * MS),
        (udp(53, b"GET / HTTP/1.1\r\n"), 20 * MS),
    ]);
    assert_eq!(layers(&out), [DATA, TCP, DATA, DATA]);
    assert_eq!(deltas(&out), [0, 0, 0, 0]);
    assert_eq!(deltas_us(&out), [0, 3000, 6000, 10_000]);
    assert!(out.iter().all(|s| s.content_type == 0 && s.record_len == 0));
    assert_eq!(retrans(&out), [0; 4]);
    assert_eq!(
        out.iter().map(|s| s.flow_index).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
}
