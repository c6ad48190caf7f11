//! The tshark oracle: every classified frame of every committed fixture,
//! compared field by field with Wireshark's dissector (docs/corpus.md).
//!
//! Compared exactly: `length` (tcp.len / udp.length − 8), `dstip`,
//! `dstport`, `ack_flag`, the TCP `delta` (tcp.time_delta on a capture of the
//! device's frames only, to the microsecond) and `content_type`
//! (tls.record.content_type of the record at offset 0). The contract's
//! deliberate differences (docs/features.md, "Cross-check with Wireshark")
//! are recognised one by one, from the frame's own bytes, and counted; any
//! other disagreement fails the test with the frame, field and both values.
//! The converse is checked too: a frame Wireshark dissects as the device's
//! TCP or UDP that the extractor does not classify needs a reason.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    net::IpAddr,
    path::{Path, PathBuf},
    process::Command,
};

use alexa::record::{ip_from_mapped, ip_to_mapped};
use alexa_common::contract::{IPPROTO_TCP, IPPROTO_UDP};
use alexa_tests::corpus::{self, pcap};

const DISSECT: [&str; 8] = [
    "-o",
    "tcp.desegment_tcp_streams:FALSE",
    "-o",
    "tls.desegment_ssl_records:FALSE",
    "-o",
    "ip.defragment:FALSE",
    "-o",
    "ipv6.defragment:FALSE",
];

/// Fields of the first pass, in this order.
const FIELDS: [&str; 23] = [
    "frame.number",
    "frame.protocols",
    "frame.len",
    "frame.cap_len",
    "ip.src",
    "ip.dst",
    "ipv6.src",
    "ipv6.dst",
    "tcp.srcport",
    "tcp.dstport",
    "udp.srcport",
    "udp.dstport",
    "tcp.len",
    "udp.length",
    "tcp.flags.ack",
    "tcp.flags.syn",
    "tcp.seq_raw",
    "tls.record.content_type",
    "tls.record.opaque_type",
    "tcp.payload",
    "_ws.expert.severity",
    "ip.flags.mf",
    "_ws.expert.message",
];
const F_NUMBER: usize = 0;
const F_PROTOCOLS: usize = 1;
const F_LEN: usize = 2;
const F_CAPLEN: usize = 3;
const F_IPSRC: usize = 4;
const F_IPDST: usize = 5;
const F_IP6SRC: usize = 6;
const F_IP6DST: usize = 7;
const F_TCPSPORT: usize = 8;
const F_TCPDPORT: usize = 9;
const F_UDPDPORT: usize = 11;
const F_TCPLEN: usize = 12;
const F_UDPLEN: usize = 13;
const F_ACK: usize = 14;
const F_SYN: usize = 15;
const F_SEQ: usize = 16;
const F_CT: usize = 17;
const F_OPAQUE: usize = 18;
const F_PAYLOAD: usize = 19;
const F_EXPERT: usize = 22;

/// Wireshark's expert messages that match the contract's malformed cases.
const MALFORMED_EXPERT: [(&str, &str); 4] = [
    ("Bogus TCP header length", "TCP data offset < 5"),
    (
        "IPv4 total length exceeds packet length",
        "IP length past the frame",
    ),
    (
        "IPv6 payload length exceeds framing length",
        "IP length past the frame",
    ),
    ("Short segment", "TCP header past the IP payload"),
];

/// One frame as tshark printed it: every field's values, in order.
struct Dissected {
    fields: Vec<Vec<String>>,
}

impl Dissected {
    fn all(&self, f: usize) -> &[String] {
        &self.fields[f]
    }

    fn first(&self, f: usize) -> Option<&str> {
        self.fields[f].first().map(String::as_str)
    }

    fn protocols(&self) -> Vec<&str> {
        self.first(F_PROTOCOLS).unwrap_or("").split(':').collect()
    }

    /// Which IP header is outermost: 4, 6 or none.
    fn outer_ip(&self) -> Option<u8> {
        self.protocols().iter().find_map(|p| match *p {
            "ip" => Some(4),
            "ipv6" => Some(6),
            _ => None,
        })
    }

    fn outer_src(&self) -> Option<&str> {
        match self.outer_ip()? {
            4 => self.first(F_IPSRC),
            _ => self.first(F_IP6SRC),
        }
    }

    fn outer_dst(&self) -> Option<&str> {
        match self.outer_ip()? {
            4 => self.first(F_IPDST),
            _ => self.first(F_IP6DST),
        }
    }

    /// The outermost L4 protocol among tcp/udp, unless it sits inside an
    /// ICMP error (then `icmp`).
    fn l4(&self) -> Option<&str> {
        self.protocols()
            .into_iter()
            .find(|p| matches!(*p, "tcp" | "udp" | "icmp" | "icmpv6"))
    }

    fn flag(&self, f: usize) -> Option<u8> {
        self.first(f).map(|v| match v {
            "1" | "True" | "true" => 1,
            _ => 0,
        })
    }

    fn num(&self, f: usize) -> Option<u64> {
        self.first(f).and_then(|v| v.parse().ok())
    }

    fn payload(&self) -> Vec<u8> {
        let hex = self.first(F_PAYLOAD).unwrap_or("").replace(':', "");
        (0..hex.len() / 2)
            .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("tcp.payload is hex"))
            .collect()
    }
}

fn tshark_fields(pcap: &Path, extra: &[&str], fields: &[&str]) -> Vec<Dissected> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-n").arg("-r").arg(pcap).args(DISSECT).args(extra);
    cmd.args(["-T", "fields", "-E", "occurrence=a", "-E", "aggregator=;"]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().expect("run tshark");
    assert!(
        out.status.success(),
        "tshark failed on {}: {}",
        pcap.display(),
        String::from_utf8_lossy(&out.stderr).trim()
    );
    String::from_utf8(out.stdout)
        .expect("tshark prints UTF-8")
        .lines()
        .map(|line| {
            let values: Vec<Vec<String>> = line
                .split('\t')
                .map(|v| {
                    v.split(';')
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .collect();
            assert_eq!(values.len(), fields.len(), "tshark line `{line}`");
            Dissected { fields: values }
        })
        .collect()
}

/// tshark present? Outside CI a missing tshark skips the test; in CI it fails.
fn tshark_present() -> bool {
    let ok = Command::new("tshark")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        if std::env::var_os("CI").is_some() {
            panic!(
                "tshark is not installed, and CI requires the oracle test (apt-get install tshark)"
            );
        }
        eprintln!("SKIPPED: tshark is not installed (apt-get install tshark)");
    }
    ok
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// "1.000150000" → 1_000_150 µs; panics unless it is a whole microsecond.
fn seconds_to_us(s: &str) -> u64 {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let mut frac = frac.to_string();
    frac.extend(std::iter::repeat_n('0', 9usize.saturating_sub(frac.len())));
    let ns: u64 = int.parse::<u64>().expect("seconds") * 1_000_000_000
        + frac[..9].parse::<u64>().expect("fraction");
    assert_eq!(ns % 1000, 0, "tcp.time_delta {s} is not whole microseconds");
    ns / 1000
}

/// Rule 1's header check, on the payload's first bytes: Some(type) for a
/// valid header, None otherwise.
fn contract_header(p: &[u8]) -> Option<(u8, usize)> {
    if p.len() < 5 {
        return None;
    }
    let len = u16::from_be_bytes([p[3], p[4]]);
    ((20..=24).contains(&p[0]) && p[1] == 3 && p[2] <= 4 && len <= 18_432)
        .then_some((p[0], len as usize))
}

/// The IP payload this frame carries (after all IPv4/IPv6 headers, only
/// when the IP lengths fit in the frame) and whether it is a fragment, by
/// etherparse: a third parser, independent of ours and of Wireshark's.
fn ip_payload_bytes(frame: &[u8]) -> Option<(&[u8], bool)> {
    let sliced = etherparse::LaxSlicedPacket::from_ethernet(frame).ok()?;
    let p = sliced.net?.ip_payload_ref()?.clone();
    (!p.incomplete).then_some((p.payload, p.fragmented))
}

fn ip_payload(frame: &[u8]) -> Option<(usize, bool)> {
    ip_payload_bytes(frame).map(|(p, frag)| (p.len(), frag))
}

#[derive(Default)]
struct Counts {
    compared: BTreeMap<&'static str, u64>,
    exempt: BTreeMap<&'static str, u64>,
    unclassified: BTreeMap<&'static str, u64>,
    failures: Vec<String>,
}

impl Counts {
    fn check<T: PartialEq + std::fmt::Debug>(
        &mut self,
        at: &str,
        field: &'static str,
        ours: T,
        theirs: T,
        exemption: Option<&'static str>,
    ) {
        *self.compared.entry(field).or_default() += 1;
        if ours == theirs {
            return;
        }
        match exemption {
            Some(kind) => *self.exempt.entry(kind).or_default() += 1,
            None => self
                .failures
                .push(format!("{at}: {field}: ours {ours:?}, tshark {theirs:?}")),
        }
    }
}

fn oracle_one(pcap_path: &Path, counts: &mut Counts) {
    let name = pcap_path.file_name().unwrap().to_string_lossy().to_string();
    let devices: Vec<IpAddr> = corpus::devices_of(pcap_path).expect("device list");
    let device_set: HashSet<[u8; 16]> = devices.iter().map(|d| ip_to_mapped(*d)).collect();
    let device_strs: HashSet<String> = devices.iter().map(|d| d.to_string()).collect();

    // Ours.
    let mut rows = BTreeMap::new();
    let tally = alexa::extract::extract_each(pcap_path, Some(device_set), false, None, |n, row| {
        rows.insert(n, row.clone());
        Ok(())
    })
    .expect("offline extraction");
    assert_eq!(tally.classified as usize, rows.len());

    // Wireshark, whole capture.
    let frames = pcap::read(pcap_path).expect("read fixture");
    let dissected = tshark_fields(pcap_path, &[], &FIELDS);
    assert_eq!(dissected.len(), frames.len(), "{name}: tshark frame count");

    // Wireshark, the device's frames only (outermost source), for deltas.
    let device_frames: Vec<u64> = dissected
        .iter()
        .filter(|d| d.outer_src().is_some_and(|s| device_strs.contains(s)))
        .map(|d| d.num(F_NUMBER).expect("frame.number"))
        .collect();
    let filtered_path =
        std::env::temp_dir().join(format!("alexa-oracle-{}-{name}", std::process::id()));
    let subset: Vec<pcap::Frame> = device_frames
        .iter()
        .map(|&n| frames[n as usize - 1].clone())
        .collect();
    pcap::write(&filtered_path, &subset).expect("write device-only capture");
    let deltas_raw = tshark_fields(
        &filtered_path,
        &["-o", "tcp.calculate_timestamps:TRUE"],
        &["frame.number", "tcp.time_delta"],
    );
    let _ = std::fs::remove_file(&filtered_path);
    assert_eq!(
        deltas_raw.len(),
        device_frames.len(),
        "{name}: filtered frame count"
    );
    let deltas: HashMap<u64, Option<String>> = device_frames
        .iter()
        .zip(&deltas_raw)
        .map(|(&n, d)| (n, d.first(1).map(str::to_string)))
        .collect();

    // SYNs (without ACK) seen so far per device 5-tuple: their sequence
    // numbers, to recognise a SYN reusing a 5-tuple with a new one.
    let mut syn_seq: HashMap<(String, String, String, String), String> = HashMap::new();

    for (i, d) in dissected.iter().enumerate() {
        let number = i as u64 + 1;
        assert_eq!(d.num(F_NUMBER), Some(number), "{name}: frame numbering");
        let at = format!("{name} frame {number}");
        let from_device = d.outer_src().is_some_and(|s| device_strs.contains(s));
        let l4 = d.l4();

        let mut reused_syn = false;
        if from_device && l4 == Some("tcp") && d.flag(F_SYN) == Some(1) && d.flag(F_ACK) == Some(0)
        {
            let key = (
                d.outer_src().unwrap_or("").to_string(),
                d.outer_dst().unwrap_or("").to_string(),
                d.first(F_TCPSPORT).unwrap_or("").to_string(),
                d.first(F_TCPDPORT).unwrap_or("").to_string(),
            );
            let seq = d.first(F_SEQ).unwrap_or("").to_string();
            reused_syn = syn_seq.get(&key).is_some_and(|s| *s != seq);
            syn_seq.insert(key, seq);
        }

        let Some(row) = rows.get(&number) else {
            // Not classified by us: fine unless Wireshark saw the device's
            // TCP/UDP packet and nothing explains why we did not.
            if from_device && matches!(l4, Some("tcp" | "udp")) {
                let protos = d.protocols();
                let tags = protos
                    .iter()
                    .filter(|p| matches!(**p, "vlan" | "ieee8021ad"))
                    .count();
                let exts = protos.iter().filter(|p| p.starts_with("ipv6.")).count();
                let truncated = d.num(F_CAPLEN) < d.num(F_LEN);
                let expert = MALFORMED_EXPERT.iter().find_map(|(msg, reason)| {
                    d.all(F_EXPERT)
                        .iter()
                        .any(|m| m.contains(msg))
                        .then_some(*reason)
                });
                let frame = &frames[i].data;
                let l4_min = if l4 == Some("tcp") { 20 } else { 8 };
                let short_l4 = ip_payload(frame).is_some_and(|(len, frag)| !frag && len < l4_min);
                let reason = if truncated {
                    "truncated capture (malformed)"
                } else if tags > 2 {
                    "more than 2 VLAN tags (not classified)"
                } else if exts > 4 {
                    "more than 4 IPv6 extension headers (not classified)"
                } else if let Some(reason) = expert {
                    reason
                } else if short_l4 {
                    "L4 header past the IP payload (malformed)"
                } else {
                    counts.failures.push(format!(
                        "{at}: Wireshark dissects a device {} packet ({}) the extractor does not classify",
                        l4.unwrap_or("?"),
                        d.first(F_PROTOCOLS).unwrap_or("")
                    ));
                    continue;
                };
                *counts.unclassified.entry(reason).or_default() += 1;
            } else if from_device
                && matches!(l4, Some("icmp" | "icmpv6"))
                && d.protocols().iter().any(|p| matches!(*p, "tcp" | "udp"))
            {
                *counts
                    .unclassified
                    .entry("ICMP error quoting TCP/UDP (not classified)")
                    .or_default() += 1;
            }
            continue;
        };
        let f = &row.features;
        if !from_device {
            counts.failures.push(format!(
                "{at}: classified, but its outermost source {:?} is not a device",
                d.outer_src()
            ));
            continue;
        }
        let tcp = f.proto == IPPROTO_TCP;
        let expected_l4 = if tcp { "tcp" } else { "udp" };
        counts.check(&at, "proto", Some(expected_l4), l4, None);
        assert!(tcp || f.proto == IPPROTO_UDP, "{at}: proto {}", f.proto);

        // dstip, dstport.
        counts.check(
            &at,
            "dstip",
            Some(ip_from_mapped(row.dst).to_string()),
            d.outer_dst().map(str::to_string),
            None,
        );
        let port = d.num(if tcp { F_TCPDPORT } else { F_UDPDPORT });
        counts.check(&at, "dstport", Some(f.dstport as u64), port, None);

        // length; a first fragment is the deliberate difference.
        let frame = &frames[number as usize - 1].data;
        let fragment = ip_payload(frame).filter(|p| p.1).map(|p| p.0);
        let payload = d.payload();
        let theirs = if tcp {
            d.num(F_TCPLEN)
        } else {
            d.num(F_UDPLEN).map(|l| l.saturating_sub(8))
        };
        let first_fragment = fragment.and_then(|ip_len| {
            let l4_header = if tcp { tcp_header_len(frame)? } else { 8 };
            (f.length as usize + l4_header == ip_len).then_some(())
        });
        let ex = first_fragment.map(|_| {
            if tcp {
                "first fragment: no tcp.len (TCP)"
            } else {
                "first fragment: udp.length is the datagram's"
            }
        });
        counts.check(&at, "length", Some(f.length as u64), theirs, ex);

        // ack_flag.
        let ack = if tcp {
            d.flag(F_ACK)
        } else {
            d.flag(F_ACK).or(Some(0))
        };
        counts.check(&at, "ack_flag", Some(f.ack_flag), ack, None);

        // delta (TCP only), from the device-only capture.
        if tcp {
            let theirs = deltas
                .get(&number)
                .cloned()
                .flatten()
                .map(|s| seconds_to_us(&s));
            let ex = if reused_syn && f.delta_us == 0 {
                Some("SYN reusing a 5-tuple: new flow")
            } else if first_fragment.is_some() && theirs.is_none() {
                Some("first fragment: no tcp.time_delta (TCP)")
            } else {
                None
            };
            counts.check(&at, "delta", Some(f.delta_us), theirs, ex);
        }

        // content_type: tshark's record at offset 0.
        let ct_theirs: u8 = d
            .first(F_CT)
            .map(|v| v.parse().expect("content type"))
            .unwrap_or(0);
        let ex = if !tcp {
            None
        } else if f.content_type != 0 && ct_theirs == 0 {
            match contract_header(&payload) {
                Some((t, len)) if t == f.content_type && 5 + len > payload.len() => {
                    Some("record not ending in its segment")
                }
                Some((23, _)) if f.content_type == 23 && d.first(F_OPAQUE) == Some("23") => {
                    Some("TLS 1.3 opaque type")
                }
                _ => None,
            }
        } else if f.content_type == 0
            && (20..=24).contains(&ct_theirs)
            && payload.first() == Some(&ct_theirs)
            && contract_header(&payload).is_none()
        {
            Some("type byte alone (version/length invalid)")
        } else {
            None
        };
        counts.check(&at, "content_type", f.content_type, ct_theirs, ex);
    }
}

/// The TCP header length (data offset) at the start of a first fragment.
fn tcp_header_len(frame: &[u8]) -> Option<usize> {
    let (payload, _) = ip_payload_bytes(frame)?;
    Some((*payload.get(12)? >> 4) as usize * 4)
}

#[test]
fn offline_extractor_agrees_with_tshark() {
    if !tshark_present() {
        return;
    }
    let pcaps = corpus::pcaps(&fixtures_dir()).expect("list fixtures");
    assert!(
        pcaps.len() >= 10,
        "too few fixtures in {}",
        fixtures_dir().display()
    );
    let mut counts = Counts::default();
    for p in &pcaps {
        oracle_one(p, &mut counts);
    }
    eprintln!("tshark oracle over {} fixtures:", pcaps.len());
    for (field, n) in &counts.compared {
        eprintln!("  compared {field:>12}: {n} frames");
    }
    for (kind, n) in &counts.exempt {
        eprintln!("  exemption: {kind}: {n}");
    }
    for (kind, n) in &counts.unclassified {
        eprintln!("  device TCP/UDP per Wireshark, not classified: {kind}: {n}");
    }
    for f in &counts.failures {
        eprintln!("DISAGREEMENT {f}");
    }
    assert!(
        counts.failures.is_empty(),
        "{} disagreements with tshark (listed above)",
        counts.failures.len()
    );
    assert!(counts.compared.get("length").copied().unwrap_or(0) > 100);
}
