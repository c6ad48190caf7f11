//! Every rule of the feature contract (docs/features.md), one by one, on
//! frames built by an independent packet builder.

use alexa_common::{
    advance, layer, parse, parse::map_v4, tcp_flag, FlowState, Packet, Payload, Verdict,
};
use etherparse::PacketBuilder;

const DEV: [u8; 4] = [192, 168, 137, 94];
const SRV: [u8; 4] = [13, 226, 150, 134];

fn dev(a: &[u8; 16]) -> bool {
    *a == map_v4(DEV)
}

fn tcp(flags: &str, seq: u32, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut b = PacketBuilder::ethernet2([2; 6], [4; 6])
        .ipv4(DEV, SRV, 64)
        .tcp(40000, dport, seq, 500);
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
    let mut v = Vec::new();
    b.write(&mut v, payload).unwrap();
    v
}

fn udp(dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    PacketBuilder::ethernet2([2; 6], [4; 6])
        .ipv4(DEV, SRV, 64)
        .udp(5000, dport)
        .write(&mut v, payload)
        .unwrap();
    v
}

fn packet(frame: &[u8]) -> Packet {
    match parse(frame, dev) {
        Verdict::Packet(p) => p,
        other => panic!("expected a packet, got {other:?}"),
    }
}

/// Runs frames through one flow table, returning (highest_layer, content_type, delta, index, retrans).
fn run(frames: &[(&[u8], u64)]) -> Vec<(u8, u8, u64, u32, u8)> {
    let mut flows: std::collections::HashMap<_, FlowState> = Default::default();
    frames
        .iter()
        .map(|(f, t)| {
            let p = packet(f);
            let (st, step) = advance(flows.get(&p.key), &p, *t);
            flows.insert(p.key, st);
            (
                step.highest_layer,
                step.content_type,
                step.delta_us,
                step.flow_index,
                step.tcp_retrans,
            )
        })
        .collect()
}

#[test]
fn length_is_l4_payload_from_ip_lengths_not_frame_size() {
    let mut f = tcp("A", 1, 443, b"");
    assert_eq!(packet(&f).length, 0);
    f.extend_from_slice(&[0x17, 3, 3, 0, 5, 0]); // Ethernet padding that looks like TLS
    let p = packet(&f);
    assert_eq!(p.length, 0);
    assert_eq!(p.payload, Payload::Empty);
    assert_eq!(packet(&udp(53, b"abcdef")).length, 6);
}

#[test]
fn tls_record_header_rule() {
    for (bytes, want) in [
        (&[22u8, 3, 1, 0, 200][..], Some(22)),
        (&[23, 3, 3, 0x48, 0x00][..], Some(23)), // 18432: the largest allowed
        (&[23, 3, 3, 0x48, 0x01][..], None),     // 18433
        (&[23, 3, 5, 0, 1][..], None),           // minor 5
        (&[23, 2, 0, 0, 1][..], None),           // major 2
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
    // UDP is never SSL.
    assert_eq!(packet(&udp(443, &[23, 3, 3, 0, 1])).payload, Payload::Data);
}

#[test]
fn http_rule() {
    for m in [
        "GET ",
        "POST ",
        "PUT ",
        "HEAD ",
        "DELETE ",
        "OPTIONS ",
        "PATCH ",
        "CONNECT ",
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
fn highest_layer_order_and_ssl_continuation() {
    let hello = [22u8, 3, 1, 0, 50, 1, 2, 3];
    let out = run(&[
        (&tcp("AP", 100, 8443, &hello), 10),
        (&tcp("AP", 108, 8443, b"GET continuation"), 20), // flow carried TLS: SSL, type 0
        (&tcp("A", 124, 8443, b""), 30),                  // empty: TCP
    ]);
    assert_eq!(out[0].0, layer::SSL);
    assert_eq!(out[0].1, 22);
    assert_eq!((out[1].0, out[1].1), (layer::SSL, 0));
    assert_eq!(out[2].0, layer::TCP);
    // Port 443: any non-empty TCP payload is SSL, even one that looks like HTTP.
    assert_eq!(
        run(&[(&tcp("AP", 1, 443, b"GET / HTTP/1.1"), 0)])[0].0,
        layer::SSL
    );
    assert_eq!(
        run(&[(&tcp("AP", 1, 80, b"GET / HTTP/1.1"), 0)])[0].0,
        layer::HTTP
    );
    assert_eq!(
        run(&[(&tcp("AP", 1, 80, b"\x00\x01"), 0)])[0].0,
        layer::DATA
    );
    assert_eq!(run(&[(&udp(53, b""), 0)])[0].0, layer::TCP);
    assert_eq!(run(&[(&udp(53, b"q"), 0)])[0].0, layer::DATA);
}

#[test]
fn delta_per_flow_and_direction_and_new_syn_starts_a_flow() {
    let out = run(&[
        (&tcp("S", 1000, 443, b""), 1_000_000),
        (&tcp("S", 1000, 443, b""), 2_000_000), // retransmitted SYN: same flow
        (&tcp("S", 1000, 443, b""), 4_000_000),
        (&tcp("A", 1001, 443, b""), 4_000_500),
        (&udp(53, b"x"), 4_000_600),            // another flow
        (&tcp("S", 9999, 443, b""), 9_000_000), // new SYN on the same 5-tuple: new flow
    ]);
    let deltas: Vec<u64> = out.iter().map(|o| o.2).collect();
    assert_eq!(deltas, [0, 1_000_000, 2_000_000, 500, 0, 0]);
    let index: Vec<u32> = out.iter().map(|o| o.3).collect();
    assert_eq!(index, [1, 2, 3, 4, 1, 1]);
    let retrans: Vec<u8> = out.iter().map(|o| o.4).collect();
    assert_eq!(retrans, [0, 1, 1, 0, 0, 0]);
}

#[test]
fn retransmission_flag_from_highest_sequence_sent() {
    let out = run(&[
        (&tcp("AP", 5000, 443, &[1; 100]), 0),
        (&tcp("AP", 5100, 443, &[1; 100]), 1),
        (&tcp("AP", 5000, 443, &[1; 100]), 2), // resent
        (&tcp("AP", 5150, 443, &[1; 100]), 3), // overlaps sent space
        (&tcp("A", 5000, 443, b""), 4),        // pure ACK: never a retransmission
        (&tcp("AP", 5250, 443, &[1; 10]), 5),  // new data
        (&tcp("FA", 5260, 443, b""), 6),       // FIN takes a sequence number
        (&tcp("FA", 5260, 443, b""), 7),       // FIN resent
    ]);
    let retrans: Vec<u8> = out.iter().map(|o| o.4).collect();
    assert_eq!(retrans, [0, 0, 1, 1, 0, 0, 0, 1]);
    // Sequence wrap-around.
    let out = run(&[
        (&tcp("AP", u32::MAX - 9, 443, &[1; 20]), 0),
        (&tcp("AP", 10, 443, &[1; 5]), 1),
    ]);
    assert_eq!(out[1].4, 0);
}

#[test]
fn ack_flag_and_flags_byte() {
    let p = packet(&tcp("SA", 1, 443, b""));
    assert_eq!(p.tcp_flags, tcp_flag::SYN | tcp_flag::ACK);
    assert_eq!(packet(&udp(53, b"x")).tcp_flags, 0);
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
    assert_eq!(parse(&v[..], dev), Verdict::Foreign);
    // ICMP from the device: other.
    let mut v = Vec::new();
    PacketBuilder::ethernet2([2; 6], [4; 6])
        .ipv4(DEV, SRV, 64)
        .icmpv4_echo_request(1, 1)
        .write(&mut v, b"x")
        .unwrap();
    assert_eq!(parse(&v[..], dev), Verdict::Other);
    // Later IPv4 fragment: other; first fragment: classified with its own payload.
    let mut f = udp(53, &[7; 40]);
    f[20] = 0x00;
    f[21] = 0x05;
    assert_eq!(parse(&f[..], dev), Verdict::Other);
    let mut f = udp(53, &[7; 40]);
    f[20] = 0x20;
    assert_eq!(packet(&f).length, 40);
    // Truncated at every header boundary and inside headers: malformed.
    let full = tcp("AP", 1, 443, b"hello");
    for cut in [0, 5, 13, 14, 20, 33, 34, 40, 53] {
        assert_eq!(parse(&full[..cut], dev), Verdict::Malformed, "cut at {cut}");
    }
    // IHL < 5, data offset < 5, total length past the frame: malformed.
    let mut f = full.clone();
    f[14] = 0x44;
    assert_eq!(parse(&f[..], dev), Verdict::Malformed);
    let mut f = full.clone();
    f[46] = 0x40;
    assert_eq!(parse(&f[..], dev), Verdict::Malformed);
    let mut f = full.clone();
    f[16..18].copy_from_slice(&200u16.to_be_bytes());
    assert_eq!(parse(&f[..], dev), Verdict::Malformed);
    // ARP: other.
    let mut arp = vec![0xff; 12];
    arp.extend([0x08, 0x06]);
    arp.extend([0; 28]);
    assert_eq!(parse(&arp[..], dev), Verdict::Other);
}

#[test]
fn vlan_tags_up_to_two() {
    let plain = udp(53, b"abc");
    let tagged = |tags: &[u16]| {
        let mut f = plain.clone();
        for t in tags.iter().rev() {
            let b = t.to_be_bytes();
            f.splice(12..12, [b[0], b[1], 0, 5]);
        }
        f
    };
    assert_eq!(packet(&tagged(&[0x8100])).length, 3);
    assert_eq!(packet(&tagged(&[0x88a8, 0x8100])).length, 3);
    assert_eq!(
        parse(&tagged(&[0x88a8, 0x8100, 0x8100])[..], dev),
        Verdict::Other
    );
}

#[test]
fn ipv6_extension_headers() {
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
    let len = |f: &Vec<u8>| match parse(&f[..], is6) {
        Verdict::Packet(p) => Some(p.length),
        _ => None,
    };
    assert_eq!(len(&with(&[])), Some(5));
    assert_eq!(len(&with(&[(0, 0), (60, 0), (43, 0), (44, 1)])), Some(5)); // four, first fragment (M=1)
    assert_eq!(
        parse(
            &with(&[(0, 0), (60, 0), (43, 0), (60, 0), (60, 0)])[..],
            is6
        ),
        Verdict::Other
    ); // five
    assert_eq!(parse(&with(&[(44, 8 << 3)])[..], is6), Verdict::Other); // later fragment
}
