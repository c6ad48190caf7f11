//! The committed fixture corpus is intact and still holds every kind of
//! traffic it was made for (docs/corpus.md), so it cannot silently rot.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

use alexa::{offline::extract::extract_each, offline::row::Row, util::net::ip_to_mapped};
use alexa_common::contract::{layer, tcp_flag, IPPROTO_TCP, IPPROTO_UDP};
use alexa_lab::corpus::{self, pcap};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

fn path(name: &str) -> PathBuf {
    dir().join(format!("{name}.pcap"))
}

/// Classified rows (frame number → row) for the fixture's own device set,
/// or for every host with `all_hosts`.
fn rows(name: &str, all_hosts: bool) -> BTreeMap<u64, Row> {
    let p = path(name);
    let devices = corpus::devices_of(&p).expect("device list");
    let set = (!all_hosts).then(|| devices.iter().map(|d| ip_to_mapped(*d)).collect());
    let mut rows = BTreeMap::new();
    extract_each(&p, set, false, None, |n, r| {
        rows.insert(n, r.clone());
        Ok(())
    })
    .unwrap_or_else(|e| panic!("{name}: {e:#}"));
    rows
}

fn frames(name: &str) -> Vec<pcap::Frame> {
    pcap::read(&path(name)).unwrap_or_else(|e| panic!("{name}: {e:#}"))
}

fn content_types(rows: &BTreeMap<u64, Row>) -> BTreeSet<u8> {
    rows.values().map(|r| r.features.content_type).collect()
}

#[test]
fn manifest_matches_the_files() {
    let manifest = corpus::read_manifest(&dir()).expect("MANIFEST");
    let on_disk: BTreeSet<String> = corpus::pcaps(&dir())
        .expect("list")
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().to_string())
        .collect();
    let listed: BTreeSet<String> = manifest.iter().map(|(n, _)| n.clone()).collect();
    assert_eq!(listed, on_disk, "MANIFEST and the pcap files differ");
    let mut total = 0;
    for (name, expected) in &manifest {
        let p = path(name);
        total += std::fs::metadata(&p).unwrap().len();
        assert_eq!(frames(name).len(), *expected, "{name}: frame count");
        // The product's own reader agrees on the count.
        let tally = extract_each(&p, None, false, None, |_, _| Ok(())).unwrap();
        assert_eq!(
            tally.frames as usize, *expected,
            "{name}: frames per alexa's reader"
        );
        assert!(
            !corpus::devices_of(&p).unwrap().is_empty(),
            "{name}: no device listed"
        );
    }
    assert!(total < 1_000_000, "corpus is {total} bytes, over 1 MB");
    for required in [
        "tls12",
        "tls13",
        "http",
        "udp",
        "ipv6",
        "retrans",
        "synblackhole",
        "vlan",
        "edge-padding",
        "edge-malformed",
        "edge-tls",
        "edge-synreuse",
        "edge-ipv4",
        "edge-ipv6ext",
        "edge-other",
    ] {
        assert!(listed.contains(required), "fixture {required} is missing");
    }
}

#[test]
fn tls_captures_hold_every_record_type() {
    // At offset 0 of a segment: handshake, alert, application data; the
    // change_cipher_spec follows the key exchange inside one segment.
    let ct = content_types(&rows("tls12", true));
    for t in [21, 22, 23] {
        assert!(
            ct.contains(&t),
            "tls12: no content type {t} at offset 0 (has {ct:?})"
        );
    }
    let ccs: &[u8] = &[20, 3, 3, 0, 1, 1];
    let with_ccs = frames("tls12")
        .iter()
        .filter(|f| f.data.windows(ccs.len()).any(|w| w == ccs))
        .count();
    assert!(
        with_ccs >= 2,
        "tls12: {with_ccs} frames with a change_cipher_spec record"
    );
    let dev = rows("tls12", false);
    assert!(
        content_types(&dev).is_superset(&[21, 22, 23].into()),
        "tls12 device side"
    );
    let fins = dev
        .values()
        .filter(|r| r.features.tcp_flags & tcp_flag::FIN != 0)
        .count();
    assert!(fins >= 1, "tls12: the device never closes");
    let ct = content_types(&rows("tls13", true));
    for t in [20, 22, 23] {
        assert!(ct.contains(&t), "tls13: no content type {t} (has {ct:?})");
    }
    let ct = content_types(&rows("edge-tls", false));
    for t in [20, 21, 22, 23, 24] {
        assert!(
            ct.contains(&t),
            "edge-tls: no content type {t} (has {ct:?})"
        );
    }
}

#[test]
fn http_udp_and_ipv6_are_there() {
    let http = rows("http", false);
    let requests = http
        .values()
        .filter(|r| r.features.highest_layer == layer::HTTP)
        .count();
    assert!(
        requests >= 2,
        "http: {requests} HTTP requests from the device, want GET and POST"
    );
    let raw = frames("http");
    let has = |needle: &[u8]| {
        raw.iter()
            .any(|f| f.data.windows(needle.len()).any(|w| w == needle))
    };
    assert!(has(b"GET /") && has(b"POST /"), "http: GET or POST missing");

    let udp = rows("udp", false);
    assert!(udp.values().all(|r| r.features.proto == IPPROTO_UDP));
    assert!(
        udp.values().any(|r| r.features.payload_len == 0),
        "udp: no empty datagram"
    );
    assert!(
        udp.values().filter(|r| r.features.dstport == 53).count() >= 3,
        "udp: no queries"
    );

    let v6 = rows("ipv6", false);
    let is_v6 = |r: &Row| r.dst[..12] != [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];
    for proto in [IPPROTO_TCP, IPPROTO_UDP] {
        assert!(
            v6.values().any(|r| is_v6(r) && r.features.proto == proto),
            "ipv6: no IPv6 packet with protocol {proto}"
        );
    }
}

#[test]
fn retransmissions_are_there() {
    let rt = rows("retrans", false);
    let resent = rt.values().filter(|r| r.features.tcp_retrans == 1).count();
    assert!(resent >= 1, "retrans: no retransmitted segment");

    let syn = rows("synblackhole", false);
    let syns: Vec<&Row> = syn
        .values()
        .filter(|r| r.features.tcp_flags & tcp_flag::SYN != 0)
        .collect();
    assert!(syns.len() >= 3, "synblackhole: {} SYNs", syns.len());
    for r in &syns[1..] {
        assert_eq!(
            r.features.tcp_retrans, 1,
            "synblackhole: a SYN is not a retransmission"
        );
        assert!(
            r.features.delta_us >= 900_000,
            "synblackhole: no back-off ({} µs)",
            r.features.delta_us
        );
    }

    let reuse = rows("edge-synreuse", false);
    let new_flows = reuse
        .values()
        .filter(|r| r.features.tcp_flags & tcp_flag::SYN != 0 && r.features.flow_index == 1)
        .count();
    assert!(
        new_flows >= 3,
        "edge-synreuse: {new_flows} new flows opened by a SYN"
    );
}

#[test]
fn vlan_frames_carry_one_and_two_tags() {
    let raw = frames("vlan");
    let tpid = |f: &pcap::Frame, at: usize| u16::from_be_bytes([f.data[at], f.data[at + 1]]);
    let one = raw.iter().filter(|f| tpid(f, 12) == 0x8100).count();
    let two = raw
        .iter()
        .filter(|f| tpid(f, 12) == 0x88a8 && tpid(f, 16) == 0x8100)
        .count();
    assert!(
        one > 0 && two > 0,
        "vlan: {one} single-tagged, {two} double-tagged frames"
    );
    assert_eq!(one + two, raw.len(), "vlan: untagged frames");
    assert_eq!(
        rows("vlan", false).len(),
        rows("http", false).len(),
        "vlan: not classified like http"
    );
}

#[test]
fn edge_cases_are_there() {
    // Padding: 60-byte frames whose IP packet is shorter.
    let padded = frames("edge-padding")
        .iter()
        .filter(|f| {
            f.data.len() == 60 && (u16::from_be_bytes([f.data[16], f.data[17]]) as usize) < 46
        })
        .count();
    assert!(padded >= 5, "edge-padding: {padded} padded frames");

    // Malformed frames are counted as such.
    let tally = extract_each(&path("edge-malformed"), None, false, None, |_, _| Ok(())).unwrap();
    assert!(
        tally.malformed >= 18,
        "edge-malformed: only {} malformed",
        tally.malformed
    );
    assert!(frames("edge-malformed")
        .iter()
        .any(|f| (f.data.len() as u32) < f.orig_len));

    // IPv4 options (IHL > 5) and fragments (first and later).
    let v4 = frames("edge-ipv4");
    assert!(
        v4.iter().any(|f| f.data[14] & 0x0f > 5),
        "edge-ipv4: no options"
    );
    let frag = |f: &pcap::Frame| u16::from_be_bytes([f.data[20], f.data[21]]);
    assert!(
        v4.iter().any(|f| frag(f) == 0x2000),
        "edge-ipv4: no first fragment"
    );
    assert!(
        v4.iter().any(|f| frag(f) & 0x1fff != 0),
        "edge-ipv4: no later fragment"
    );

    // IPv6 extension headers: the first next-header values used.
    let nexts: BTreeSet<u8> = frames("edge-ipv6ext").iter().map(|f| f.data[20]).collect();
    for n in [0, 43, 44, 60] {
        assert!(
            nexts.contains(&n),
            "edge-ipv6ext: no next header {n} after IPv6"
        );
    }

    // ARP, ICMP, UDP to 443.
    let other = frames("edge-other");
    assert!(
        other.iter().any(|f| f.data[12..14] == [0x08, 0x06]),
        "edge-other: no ARP"
    );
    assert!(
        other
            .iter()
            .any(|f| f.data[12..14] == [0x08, 0x00] && f.data[23] == 1),
        "edge-other: no ICMP"
    );
    let classified = rows("edge-other", false);
    assert!(
        classified
            .values()
            .any(|r| r.features.proto == IPPROTO_UDP && r.features.dstport == 443),
        "edge-other: no UDP to 443"
    );
}
