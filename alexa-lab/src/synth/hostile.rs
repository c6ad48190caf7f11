//! The hostile corpus: frames built to break a packet parser, each tagged
//! with the kind of attack it is and, where the contract (docs/features.md,
//! "Order of the checks") decides it from how the frame was built, the
//! outcome it must get. That expectation is worked out here from the
//! frame's recipe, not from its bytes, so it is a third opinion beside the
//! kernel and the offline extractor, which share one parser.
//!
//! Every category the issue names is generated on purpose (rather than
//! hoping a random mutation hits it): random bytes, truncation at every
//! header boundary, IHL and data-offset lies, IP lengths longer and shorter
//! than the frame, IPv4 options, IPv6 extension chains, fragments, VLAN
//! stacks, zero-length and jumbo payloads, bogus TLS record headers, a
//! record header split across two segments of one flow, and TCP flag
//! combinations no stack sends.

// The IPv4 header checksum, so a frame is refused for what it is meant to
// lie about and nothing else. (L4 checksums stay 0: no parser here reads them.)
use crate::corpus::craft::fix_ipv4_checksum;

use super::{Rng, DEVICE_V4, DEVICE_V6, OTHER_V4, OTHER_V6, SERVERS_V4, SERVERS_V6};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    /// Uniformly random bytes, 0 to 1,600 of them.
    RandomBytes,
    /// Valid headers down to some layer, random bytes after.
    RandomTail,
    /// A valid frame cut one byte before, at, and one byte after every header boundary.
    Truncated,
    /// The same cuts with the IP length rewritten to match: the IP header is honest, the L4 header is not there.
    TruncatedConsistent,
    IhlLie,
    DataOffsetLie,
    /// IPv4 total length / IPv6 payload length beyond the frame.
    IpLengthLong,
    /// IP length shorter than the packet (the rest looks like padding).
    IpLengthShort,
    Ipv4Options,
    Ipv6Extensions,
    Fragment,
    VlanStack,
    ZeroPayload,
    /// Payloads from 1,400 up to 9,000 bytes.
    JumboPayload,
    TlsBogus,
    /// A TLS record header split across two consecutive segments of one flow.
    TlsSplit,
    TcpFlagsImpossible,
    /// ARP, LLDP, ICMP, other L4 protocols, IP version lies.
    NotTcpUdp,
}

impl Category {
    pub const ALL: [Category; 18] = [
        Category::RandomBytes,
        Category::RandomTail,
        Category::Truncated,
        Category::TruncatedConsistent,
        Category::IhlLie,
        Category::DataOffsetLie,
        Category::IpLengthLong,
        Category::IpLengthShort,
        Category::Ipv4Options,
        Category::Ipv6Extensions,
        Category::Fragment,
        Category::VlanStack,
        Category::ZeroPayload,
        Category::JumboPayload,
        Category::TlsBogus,
        Category::TlsSplit,
        Category::TcpFlagsImpossible,
        Category::NotTcpUdp,
    ];

    /// Share of the corpus, in percent.
    fn share(self) -> u64 {
        match self {
            Category::Truncated => 14,
            Category::Ipv6Extensions => 7,
            Category::RandomBytes
            | Category::RandomTail
            | Category::TruncatedConsistent
            | Category::VlanStack
            | Category::TlsBogus => 6,
            Category::IhlLie
            | Category::DataOffsetLie
            | Category::Ipv4Options
            | Category::Fragment
            | Category::TlsSplit
            | Category::TcpFlagsImpossible => 5,
            Category::IpLengthLong
            | Category::IpLengthShort
            | Category::ZeroPayload
            | Category::JumboPayload => 4,
            Category::NotTcpUdp => 3,
        }
    }
}

/// How the contract must count a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Expect {
    Classified,
    Foreign,
    Other,
    Malformed,
}

#[derive(Clone, Debug)]
pub struct HostileFrame {
    pub category: Category,
    /// `None` where the outcome depends on bytes the recipe leaves to chance.
    pub expect: Option<Expect>,
    pub frame: Vec<u8>,
}

const TCP: u8 = 6;
const UDP: u8 = 17;
const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const RST: u8 = 0x04;
const PSH: u8 = 0x08;
const ACK: u8 = 0x10;
const URG: u8 = 0x20;
const TPID_8021Q: u16 = 0x8100;
const TPID_8021AD: u16 = 0x88a8;
/// The pre-standard QinQ TPID: the contract does not treat it as a tag.
const TPID_9100: u16 = 0x9100;
const HOPOPTS: u8 = 0;
const ROUTING: u8 = 43;
const FRAGMENT: u8 = 44;
const DSTOPTS: u8 = 60;

/// One IPv6 extension header as built: its kind, the length byte it
/// claims, and its real bytes after the next-header byte.
#[derive(Clone, Debug)]
struct Ext {
    kind: u8,
    /// For HBH/RH/DO: the header's own length byte ((len + 1) * 8 bytes).
    /// A lie when it does not match `rest`.
    len_byte: u8,
    /// Everything after the next-header byte (for HBH/RH/DO the first of
    /// these, the length byte, is written as `len_byte`).
    rest: Vec<u8>,
}

impl Ext {
    fn options(kind: u8, words: usize, rng: &mut Rng) -> Ext {
        // PadN covering the header, then random option bytes for variety.
        let pad = 8 * words + 4;
        let mut rest = vec![words as u8, 1, pad as u8];
        rest.extend(rng.bytes(pad));
        if kind == ROUTING {
            rest[1] = *rng.pick(&[0u8, 2, 3, 4]); // routing type
            rest[2] = 0; // segments left: nothing to route
        }
        Ext {
            kind,
            len_byte: words as u8,
            rest,
        }
    }

    fn fragment(offset: u16, more: bool, rng: &mut Rng) -> Ext {
        let mut rest = vec![0];
        rest.extend(((offset << 3) | more as u16).to_be_bytes());
        rest.extend(rng.bytes(4));
        Ext {
            kind: FRAGMENT,
            len_byte: 0,
            rest,
        }
    }

    fn wire_len(&self) -> usize {
        1 + self.rest.len()
    }

    /// Bytes the contract's walk skips for this header.
    fn claimed_len(&self) -> usize {
        if self.kind == FRAGMENT {
            8
        } else {
            (self.len_byte as usize + 1) * 8
        }
    }

    fn fragment_offset(&self) -> u16 {
        u16::from_be_bytes([self.rest[1], self.rest[2]]) >> 3
    }
}

/// The recipe of a frame.
#[derive(Clone, Debug)]
struct Spec {
    /// TPIDs of the VLAN tags, outermost first.
    tags: Vec<u16>,
    v6: bool,
    src: [u8; 16],
    dst: [u8; 16],
    device: bool,
    /// IPv4 options, a multiple of 4 bytes, at most 40.
    v4_options: Vec<u8>,
    /// IPv4 flags and fragment offset as on the wire.
    v4_frag: u16,
    ext: Vec<Ext>,
    proto: u8,
    sport: u16,
    dport: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    tcp_options: Vec<u8>,
    payload: Vec<u8>,
    /// Ethernet padding after the IP packet.
    padding: Vec<u8>,
}

/// A frame and where its headers begin and end.
struct Built {
    frame: Vec<u8>,
    l3: usize,
    /// End of the IPv4 header with options, or of the IPv6 fixed header.
    l3_hdr_end: usize,
    l4: usize,
    payload: usize,
    /// End of the IP packet (start of padding).
    ip_end: usize,
    /// Every header boundary, ascending.
    bounds: Vec<usize>,
}

impl Spec {
    fn build(&self) -> Built {
        let mut f = Vec::with_capacity(64 + self.payload.len());
        let mut bounds = vec![6, 12];
        f.extend([0x02, 0xa1, 0xe7, 0, 0, 1]);
        f.extend([0x02, 0xa1, 0xe7, 0, 0, 2]);
        for (i, tpid) in self.tags.iter().enumerate() {
            f.extend(tpid.to_be_bytes());
            bounds.push(f.len());
            f.extend(((i as u16 * 100 + 100) & 0x0fff).to_be_bytes());
            bounds.push(f.len());
        }
        f.extend(if self.v6 { 0x86ddu16 } else { 0x0800 }.to_be_bytes());
        let l3 = f.len();
        bounds.push(l3);
        let l4_len = if self.proto == TCP {
            20 + self.tcp_options.len()
        } else if self.proto == UDP {
            8
        } else {
            0
        };
        let (l3_hdr_end, l4) = if self.v6 {
            let ext_len: usize = self.ext.iter().map(Ext::wire_len).sum();
            let plen = ext_len + l4_len + self.payload.len();
            let first = self.ext.first().map_or(self.proto, |e| e.kind);
            f.extend([0x60, 0, 0, 0]);
            f.extend((plen as u16).to_be_bytes());
            f.extend([first, 64]);
            f.extend(self.src);
            f.extend(self.dst);
            let hdr_end = f.len();
            bounds.push(hdr_end);
            for (i, e) in self.ext.iter().enumerate() {
                let next = self.ext.get(i + 1).map_or(self.proto, |n| n.kind);
                f.push(next);
                if e.kind != FRAGMENT {
                    f.push(e.len_byte);
                    f.extend(&e.rest[1..]);
                } else {
                    f.extend(&e.rest);
                }
                bounds.push(f.len());
            }
            (hdr_end, f.len())
        } else {
            let ihl = 20 + self.v4_options.len();
            let total = ihl + l4_len + self.payload.len();
            f.push(0x40 | (ihl / 4) as u8);
            f.push(0);
            f.extend((total as u16).to_be_bytes());
            f.extend([0x12, 0x34]);
            f.extend(self.v4_frag.to_be_bytes());
            f.extend([64, self.proto, 0, 0]);
            f.extend(&self.src[12..]);
            f.extend(&self.dst[12..]);
            bounds.push(f.len());
            f.extend(&self.v4_options);
            fix_ipv4_checksum(&mut f[l3..]);
            (l3 + 20, f.len())
        };
        bounds.push(l4);
        if self.proto == TCP {
            f.extend(self.sport.to_be_bytes());
            f.extend(self.dport.to_be_bytes());
            f.extend(self.seq.to_be_bytes());
            f.extend(self.ack.to_be_bytes());
            f.push((((20 + self.tcp_options.len()) / 4) as u8) << 4);
            f.push(self.flags);
            f.extend([0xfa, 0xf0, 0, 0, 0, 0]);
            bounds.push(f.len());
            f.extend(&self.tcp_options);
        } else if self.proto == UDP {
            f.extend(self.sport.to_be_bytes());
            f.extend(self.dport.to_be_bytes());
            f.extend(((8 + self.payload.len()) as u16).to_be_bytes());
            f.extend([0, 0]);
        }
        let payload = f.len();
        bounds.push(payload);
        // The bytes a TLS record header or an HTTP start is read from.
        for i in 1..=8.min(self.payload.len()) {
            bounds.push(payload + i);
        }
        f.extend(&self.payload);
        let ip_end = f.len();
        bounds.push(ip_end);
        f.extend(&self.padding);
        bounds.sort_unstable();
        bounds.dedup();
        Built {
            frame: f,
            l3,
            l3_hdr_end,
            l4,
            payload,
            ip_end,
            bounds,
        }
    }

    /// VLAN tags the contract does not walk past: a third tag, or a TPID it
    /// does not know (0x9100), ends parsing as **other**.
    fn vlan_other(&self) -> bool {
        let known = self
            .tags
            .iter()
            .take_while(|t| **t == TPID_8021Q || **t == TPID_8021AD)
            .count();
        known > 2 || known < self.tags.len()
    }

    /// What the contract makes of the frame as built (docs/features.md,
    /// "Order of the checks"), assuming its IP lengths are honest; `None`
    /// when an extension header lies about its length but stays inside the
    /// packet (the walk then reads whatever bytes lie there).
    fn expect(&self) -> Option<Expect> {
        if self.vlan_other() {
            return Some(Expect::Other);
        }
        if !self.device {
            return Some(Expect::Foreign);
        }
        if !self.v6 {
            if self.v4_frag & 0x1fff != 0 || (self.proto != TCP && self.proto != UDP) {
                return Some(Expect::Other);
            }
            return Some(Expect::Classified);
        }
        let l4_len = match self.proto {
            TCP => 20 + self.tcp_options.len(),
            UDP => 8,
            _ => 0,
        };
        let mut left: usize =
            self.ext.iter().map(Ext::wire_len).sum::<usize>() + l4_len + self.payload.len();
        for e in self.ext.iter().take(4) {
            if e.claimed_len() > left {
                return Some(Expect::Malformed);
            }
            if e.claimed_len() != e.wire_len() {
                return None;
            }
            if e.kind == FRAGMENT && e.fragment_offset() != 0 {
                return Some(Expect::Other);
            }
            left -= e.claimed_len();
        }
        if self.ext.len() > 4 || (self.proto != TCP && self.proto != UDP) {
            return Some(Expect::Other);
        }
        Some(Expect::Classified)
    }
}

/// A flow the generator keeps sending on, so hostile frames land in live
/// flow state (delta, index, retransmission and TLS continuation rules).
#[derive(Clone, Debug)]
struct Flow {
    v6: bool,
    device: bool,
    server: usize,
    sport: u16,
    dport: u16,
    tcp: bool,
    seq: u32,
}

struct Gen {
    rng: Rng,
    flows: Vec<Flow>,
    out: Vec<HostileFrame>,
}

fn mapped(a: [u8; 4]) -> [u8; 16] {
    let mut m = [0u8; 16];
    m[10] = 0xff;
    m[11] = 0xff;
    m[12..].copy_from_slice(&a);
    m
}

/// `count` hostile frames from `seed`, every category in its share
/// (deterministic: the same seed gives the same bytes).
pub fn corpus(seed: u64, count: usize) -> Vec<HostileFrame> {
    let mut g = Gen {
        rng: Rng::new(seed ^ 0x405_7113),
        flows: Vec::new(),
        out: Vec::with_capacity(count + 64),
    };
    let mut made = std::collections::HashMap::<Category, u64>::new();
    while g.out.len() < count {
        // The category furthest below its share goes next.
        let cat = *Category::ALL
            .iter()
            .min_by_key(|c| (made.get(c).copied().unwrap_or(0) * 1000) / c.share())
            .expect("categories");
        let before = g.out.len();
        g.category(cat);
        *made.entry(cat).or_default() += (g.out.len() - before) as u64;
    }
    g.out.truncate(count);
    g.out
}

impl Gen {
    fn push(&mut self, category: Category, expect: Option<Expect>, frame: Vec<u8>) {
        self.out.push(HostileFrame {
            category,
            expect,
            frame,
        });
    }

    fn flow(&mut self, tcp: Option<bool>, v6: Option<bool>, device: Option<bool>) -> usize {
        let fits = |f: &Flow| {
            tcp.is_none_or(|t| f.tcp == t)
                && v6.is_none_or(|v| f.v6 == v)
                && device.is_none_or(|d| f.device == d)
        };
        let candidates: Vec<usize> = (0..self.flows.len())
            .filter(|&i| fits(&self.flows[i]))
            .collect();
        if candidates.is_empty() || (self.flows.len() < 48 && self.rng.chance(3)) {
            let rng = &mut self.rng;
            let flow = Flow {
                v6: v6.unwrap_or_else(|| rng.chance(35)),
                device: device.unwrap_or_else(|| rng.chance(85)),
                server: rng.below(3) as usize,
                sport: 40000 + rng.below(64) as u16,
                dport: *rng.pick(&[443u16, 443, 443, 80, 53, 8009, 123, 4070, 33434]),
                tcp: tcp.unwrap_or_else(|| rng.chance(75)),
                seq: rng.next_u64() as u32,
            };
            self.flows.push(flow);
            return self.flows.len() - 1;
        }
        candidates[self.rng.below(candidates.len() as u64) as usize]
    }

    /// A valid frame on flow `i` carrying `payload`; advances the flow's sequence.
    fn spec(&mut self, i: usize, payload: Vec<u8>) -> Spec {
        let fl = self.flows[i].clone();
        let (src, dst) = if fl.v6 {
            (
                if fl.device { DEVICE_V6 } else { OTHER_V6 },
                SERVERS_V6[fl.server % SERVERS_V6.len()],
            )
        } else {
            (
                mapped(if fl.device { DEVICE_V4 } else { OTHER_V4 }),
                mapped(SERVERS_V4[fl.server]),
            )
        };
        let flags = if fl.tcp {
            *self
                .rng
                .pick(&[ACK, ACK | PSH, ACK | PSH, ACK, SYN, FIN | ACK])
        } else {
            0
        };
        let tcp_options = if fl.tcp && self.rng.chance(30) {
            // NOP, NOP, timestamps: the common 12-byte option block.
            let mut o = vec![1, 1, 8, 10];
            o.extend(self.rng.bytes(8));
            o
        } else {
            Vec::new()
        };
        let seq = fl.seq;
        self.flows[i].seq = seq.wrapping_add(payload.len() as u32 + (flags & SYN != 0) as u32);
        Spec {
            tags: Vec::new(),
            v6: fl.v6,
            src,
            dst,
            device: fl.device,
            v4_options: Vec::new(),
            v4_frag: 0x4000,
            ext: Vec::new(),
            proto: if fl.tcp { TCP } else { UDP },
            sport: fl.sport,
            dport: fl.dport,
            seq,
            ack: self.rng.next_u64() as u32,
            flags,
            tcp_options,
            payload,
            padding: Vec::new(),
        }
    }

    fn payload(&mut self) -> Vec<u8> {
        super::payload(&mut self.rng)
    }

    /// A valid frame of any shape: the raw material the lies are told in.
    fn any_spec(&mut self) -> Spec {
        let i = self.flow(None, None, None);
        let body = self.payload();
        let mut s = self.spec(i, body);
        if self.rng.chance(25) {
            s.tags = (0..1 + self.rng.below(2))
                .map(|_| *self.rng.pick(&[TPID_8021Q, TPID_8021AD]))
                .collect();
        }
        if !s.v6 && self.rng.chance(15) {
            s.v4_options = v4_options(&mut self.rng);
        }
        if s.v6 && self.rng.chance(20) {
            s.ext = (0..1 + self.rng.below(2))
                .map(|_| {
                    let kind = *self.rng.pick(&[HOPOPTS, ROUTING, DSTOPTS]);
                    Ext::options(kind, self.rng.below(2) as usize, &mut self.rng)
                })
                .collect();
        }
        s
    }

    fn category(&mut self, cat: Category) {
        match cat {
            Category::RandomBytes => {
                let n = match self.rng.below(4) {
                    0 => self.rng.below(14),
                    1 => 14 + self.rng.below(50),
                    _ => 64 + self.rng.below(1536),
                } as usize;
                let f = self.rng.bytes(n);
                self.push(cat, None, f);
            }
            Category::RandomTail => {
                let s = self.any_spec();
                let b = s.build();
                let keep = *self
                    .rng
                    .pick(&[12, b.l3 - 2, b.l3, b.l3_hdr_end, b.l4, b.payload]);
                let mut f = b.frame[..keep].to_vec();
                let n = self.rng.below(200) as usize;
                f.extend(self.rng.bytes(n));
                self.push(cat, None, f);
            }
            Category::Truncated => {
                let s = self.any_spec();
                let b = s.build();
                let mut cuts: Vec<usize> = b
                    .bounds
                    .iter()
                    .flat_map(|&x| [x.saturating_sub(1), x, x + 1])
                    .filter(|&c| c < b.ip_end)
                    .collect();
                cuts.push(0);
                cuts.sort_unstable();
                cuts.dedup();
                // Cut before the IP packet ends, the IP length claims bytes
                // that are not there (or a header itself is incomplete).
                let e = (!s.vlan_other()).then_some(Expect::Malformed);
                for c in cuts {
                    self.push(cat, e, b.frame[..c].to_vec());
                }
            }
            Category::TruncatedConsistent => {
                let s = self.any_spec();
                let b = s.build();
                let cuts: Vec<usize> = b
                    .bounds
                    .iter()
                    .copied()
                    .filter(|&c| c >= b.l3_hdr_end && c < b.ip_end)
                    .collect();
                for c in cuts {
                    let mut f = b.frame[..c].to_vec();
                    set_ip_end(&mut f, &s, &b, c);
                    self.push(cat, honest_end_expect(&s, &b, c), f);
                }
            }
            Category::IhlLie => {
                let i = self.flow(None, Some(false), None);
                let body = self.payload();
                let mut s = self.spec(i, body);
                if self.rng.chance(30) {
                    s.v4_options = v4_options(&mut self.rng);
                }
                let b = s.build();
                let real = b.frame[b.l3] & 0x0f;
                let mut f = b.frame.clone();
                let ihl = loop {
                    let x = self.rng.below(16) as u8;
                    if x != real {
                        break x;
                    }
                };
                f[b.l3] = 0x40 | ihl;
                fix_ipv4_checksum(&mut f[b.l3..]);
                let total = b.ip_end - b.l3;
                let e = if ihl < 5 || ihl as usize * 4 > total {
                    Some(Expect::Malformed)
                } else if !s.device {
                    Some(Expect::Foreign)
                } else {
                    // The L4 header is read at the wrong offset: bytes decide.
                    None
                };
                self.push(cat, e, f);
            }
            Category::DataOffsetLie => {
                let i = self.flow(Some(true), None, None);
                let body = self.payload();
                let mut s = self.spec(i, body);
                if self.rng.chance(30) {
                    s.tcp_options = vec![2, 4, 0x05, 0xb4]; // MSS
                }
                let b = s.build();
                let mut f = b.frame.clone();
                let real = f[b.l4 + 12] >> 4;
                let doff = loop {
                    let x = self.rng.below(16) as u8;
                    if x != real {
                        break x;
                    }
                };
                // The reserved low bits of the byte: set sometimes, never read.
                f[b.l4 + 12] = (doff << 4) | self.rng.below(16) as u8;
                let ip_payload = b.ip_end - b.l4;
                let e = match s.expect() {
                    Some(Expect::Classified) if doff < 5 || doff as usize * 4 > ip_payload => {
                        Some(Expect::Malformed)
                    }
                    e => e,
                };
                self.push(cat, e, f);
            }
            Category::IpLengthLong => {
                let s = self.any_spec();
                let b = s.build();
                let mut f = b.frame.clone();
                let end = match self.rng.below(3) {
                    0 => b.ip_end + 1,
                    1 => b.ip_end + 1 + self.rng.below(1500) as usize,
                    _ => usize::MAX,
                };
                set_ip_end(&mut f, &s, &b, end);
                self.push(cat, (!s.vlan_other()).then_some(Expect::Malformed), f);
            }
            Category::IpLengthShort => {
                let s = self.any_spec();
                let b = s.build();
                let mut f = b.frame.clone();
                let end = match self.rng.below(4) {
                    0 if !s.v6 => b.l3,
                    1 if !s.v6 => b.l3 + self.rng.below((b.l4 - b.l3) as u64) as usize,
                    _ => b.l3_hdr_end + self.rng.below((b.ip_end - b.l3_hdr_end) as u64) as usize,
                };
                set_ip_end(&mut f, &s, &b, end);
                self.push(cat, honest_end_expect(&s, &b, end), f);
            }
            Category::Ipv4Options => {
                let i = self.flow(None, Some(false), None);
                let body = self.payload();
                let mut s = self.spec(i, body);
                s.v4_options = v4_options(&mut self.rng);
                self.push(cat, s.expect(), s.build().frame);
            }
            Category::Ipv6Extensions => {
                let i = self.flow(None, Some(true), None);
                let body = self.payload();
                let mut s = self.spec(i, body);
                let n = 1 + self.rng.below(5) as usize;
                for _ in 0..n {
                    let e = match self.rng.below(10) {
                        0 => Ext::fragment(0, self.rng.chance(50), &mut self.rng),
                        1 => Ext::fragment(
                            1 + self.rng.below(800) as u16,
                            self.rng.chance(50),
                            &mut self.rng,
                        ),
                        k => {
                            let kind = [HOPOPTS, ROUTING, DSTOPTS][k as usize % 3];
                            Ext::options(kind, self.rng.below(4) as usize, &mut self.rng)
                        }
                    };
                    s.ext.push(e);
                }
                if self.rng.chance(10) {
                    // A header claiming more than the rest of the packet, or
                    // a different length inside it.
                    let at = self.rng.below(s.ext.len() as u64) as usize;
                    if s.ext[at].kind != FRAGMENT {
                        s.ext[at].len_byte = if self.rng.chance(70) {
                            200 + self.rng.below(56) as u8
                        } else {
                            s.ext[at].len_byte ^ 1
                        };
                    }
                }
                if self.rng.chance(10) {
                    // No Next Header, ESP, mobility: not TCP/UDP after the chain.
                    s.proto = *self.rng.pick(&[59u8, 50, 135]);
                    s.payload = self.rng.bytes(16);
                }
                self.push(cat, s.expect(), s.build().frame);
            }
            Category::Fragment => {
                let i = self.flow(None, None, None);
                let body = self.payload();
                let mut s = self.spec(i, body);
                let later = self.rng.chance(50);
                if s.v6 {
                    let offset = if later {
                        1 + self.rng.below(8000) as u16
                    } else {
                        0
                    };
                    let ext = Ext::fragment(offset, self.rng.chance(70), &mut self.rng);
                    s.ext.push(ext);
                } else {
                    // MF, DF, the reserved ("evil") bit, all three.
                    let flags = *self.rng.pick(&[0u16, 0x2000, 0x4000, 0x8000, 0xe000]);
                    let offset = if later {
                        1 + self.rng.below(0x1fff) as u16
                    } else {
                        0
                    };
                    s.v4_frag = flags | offset;
                }
                let b = s.build();
                if !later && self.rng.chance(25) {
                    // A first fragment too short to hold its L4 header.
                    let c = b.l4 + self.rng.below((b.payload - b.l4) as u64) as usize;
                    let mut f = b.frame[..c].to_vec();
                    set_ip_end(&mut f, &s, &b, c);
                    self.push(cat, honest_end_expect(&s, &b, c), f);
                } else {
                    self.push(cat, s.expect(), b.frame);
                }
            }
            Category::VlanStack => {
                let mut s = self.any_spec();
                let n = self.rng.below(5) as usize;
                s.tags = (0..n)
                    .map(|_| match self.rng.below(10) {
                        0 => TPID_9100,
                        k if k < 5 => TPID_8021Q,
                        _ => TPID_8021AD,
                    })
                    .collect();
                self.push(cat, s.expect(), s.build().frame);
            }
            Category::ZeroPayload => {
                let mut s = self.any_spec();
                s.payload.clear();
                if s.proto == TCP {
                    s.flags = *self.rng.pick(&[SYN, ACK, FIN | ACK, RST, SYN | ACK]);
                }
                if self.rng.chance(50) {
                    // Ethernet padding that looks like a TLS header or HTTP.
                    let pad = 60usize.saturating_sub(s.build().frame.len());
                    s.padding = if self.rng.chance(50) {
                        b"\x17\x03\x03\x00\x10GET / HTTP/1.1 ".repeat(8)[..pad].to_vec()
                    } else {
                        self.rng.bytes(pad)
                    };
                }
                self.push(cat, s.expect(), s.build().frame);
            }
            Category::JumboPayload => {
                let i = self.flow(None, None, None);
                let n = match self.rng.below(6) {
                    0 => 1400 + self.rng.below(200),
                    1 => 1600 + self.rng.below(1900),
                    2 => 3400 + self.rng.below(200),
                    3 => 9000,
                    _ => 3600 + self.rng.below(5401),
                } as usize;
                let mut body = self.rng.bytes(n);
                if self.rng.chance(40) {
                    body[..5].copy_from_slice(&[23, 3, 3, 0x40, 0x00]);
                }
                let mut s = self.spec(i, body);
                if self.rng.chance(20) {
                    s.tags = vec![TPID_8021Q];
                }
                self.push(cat, s.expect(), s.build().frame);
            }
            Category::TlsBogus => {
                let i = self.flow(Some(true), None, Some(true));
                let rng = &mut self.rng;
                let ct = if rng.chance(70) {
                    19 + rng.below(7) as u8
                } else {
                    rng.next_u64() as u8
                };
                let major = *rng.pick(&[3u8, 3, 3, 0, 1, 2, 4, 0xff]);
                let minor = *rng.pick(&[0u8, 1, 2, 3, 4, 5, 0xff]);
                let len = *rng.pick(&[0u16, 1, 5, 16384, 18432, 18433, 0x8000, 0xffff]);
                let mut body = vec![ct, major, minor];
                body.extend(len.to_be_bytes());
                let extra = rng.below(64) as usize;
                body.extend(rng.bytes(extra));
                if rng.chance(25) {
                    // A record header that is not all there.
                    body.truncate(1 + rng.below(4) as usize);
                }
                let s = self.spec(i, body);
                self.push(cat, s.expect(), s.build().frame);
            }
            Category::TlsSplit => {
                let i = self.flow(Some(true), None, Some(true));
                let rng = &mut self.rng;
                let ct = *rng.pick(&[20u8, 21, 22, 23, 23, 24]);
                let body_len = rng.below(300) as usize;
                let mut record = vec![ct, 3, *rng.pick(&[1u8, 3, 3])];
                record.extend((body_len as u16).to_be_bytes());
                record.extend(rng.bytes(body_len));
                // The split point: inside the 5-byte header, or inside the body.
                let k = if rng.chance(75) {
                    1 + rng.below(4) as usize
                } else {
                    5 + rng.below(body_len as u64 + 1) as usize
                };
                let mut first = Vec::new();
                if rng.chance(50) {
                    // A complete record first, so the split header ends a segment.
                    let n = rng.below(40) as usize;
                    first.extend([23, 3, 3]);
                    first.extend((n as u16).to_be_bytes());
                    first.extend(rng.bytes(n));
                }
                first.extend(&record[..k]);
                let second = record[k..].to_vec();
                let mut s1 = self.spec(i, first);
                s1.flags = ACK | PSH;
                self.push(cat, s1.expect(), s1.build().frame);
                if self.rng.chance(20) {
                    // Another flow's packet in between.
                    let s = self.any_spec();
                    self.push(cat, s.expect(), s.build().frame);
                }
                let mut s2 = self.spec(i, second);
                s2.flags = ACK | PSH;
                self.push(cat, s2.expect(), s2.build().frame);
            }
            Category::TcpFlagsImpossible => {
                let i = self.flow(Some(true), None, None);
                let body = if self.rng.chance(50) {
                    Vec::new()
                } else {
                    self.payload()
                };
                let mut s = self.spec(i, body);
                s.flags = *self.rng.pick(&[
                    SYN | FIN,
                    SYN | RST,
                    FIN | RST,
                    SYN | FIN | RST,
                    0xff,
                    0x00,
                    FIN | PSH | URG,
                    SYN | FIN | PSH | URG,
                    URG,
                    PSH,
                    FIN,
                    0xc0 | SYN,
                    RST | SYN | ACK,
                ]);
                self.push(cat, s.expect(), s.build().frame);
            }
            Category::NotTcpUdp => self.not_tcp_udp(),
        }
    }

    fn not_tcp_udp(&mut self) {
        let cat = Category::NotTcpUdp;
        match self.rng.below(5) {
            0 => {
                // ARP, LLDP, PPPoE discovery, an IEEE 802.3 length field.
                let ethertype = *self.rng.pick(&[0x0806u16, 0x88cc, 0x8863, 0x05dc, 0x0000]);
                let mut f = vec![0xff; 6];
                f.extend([0x02, 0xa1, 0xe7, 0, 0, 2]);
                f.extend(ethertype.to_be_bytes());
                let n = 28 + self.rng.below(40) as usize;
                f.extend(self.rng.bytes(n));
                self.push(cat, Some(Expect::Other), f);
            }
            1 => {
                // The ethertype says one IP version, the header the other.
                let s = self.any_spec();
                let b = s.build();
                let mut f = b.frame.clone();
                f[b.l3] = (f[b.l3] & 0x0f) | if s.v6 { 0x40 } else { 0x60 };
                self.push(cat, (!s.vlan_other()).then_some(Expect::Malformed), f);
            }
            _ => {
                // ICMP, ICMPv6, IGMP, GRE, ESP, SCTP from a device or another host.
                let i = self.flow(None, None, None);
                let n = 8 + self.rng.below(64) as usize;
                let body = self.rng.bytes(n);
                let mut s = self.spec(i, body);
                s.proto = if s.v6 {
                    *self.rng.pick(&[58u8, 47, 50, 132])
                } else {
                    *self.rng.pick(&[1u8, 2, 47, 50, 132])
                };
                self.push(cat, s.expect(), s.build().frame);
            }
        }
    }
}

/// IPv4 options: real kinds (router alert, record route, timestamp,
/// security), NOP/EOL padding, and option lengths that lie (the contract
/// skips options by IHL and never reads them).
fn v4_options(rng: &mut Rng) -> Vec<u8> {
    let mut o = Vec::new();
    let want = 4 * (1 + rng.below(10) as usize);
    while o.len() < want {
        match rng.below(6) {
            0 => o.extend([148, 4, 0, 0]),
            1 => {
                let slots = 1 + rng.below(4) as usize;
                o.extend([7, (3 + 4 * slots) as u8, 4]);
                o.extend(rng.bytes(4 * slots));
            }
            2 => {
                o.extend([68, 12, 5, 0]);
                o.extend(rng.bytes(8));
            }
            3 => o.extend([130, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            4 => o.extend([
                *rng.pick(&[7u8, 68, 131, 137]),
                *rng.pick(&[0u8, 1, 2, 255]),
            ]),
            _ => o.push(1),
        }
    }
    o.truncate(want);
    if rng.chance(50) {
        let last = o.len() - 1;
        o[last] = 0; // EOL
    }
    o
}

/// Rewrites the IP length field so the packet claims to end at frame
/// offset `end` (clamped to what the 16-bit field can say).
fn set_ip_end(f: &mut [u8], s: &Spec, b: &Built, end: usize) {
    if s.v6 {
        let plen = end.saturating_sub(b.l3 + 40).min(0xffff) as u16;
        f[b.l3 + 4..b.l3 + 6].copy_from_slice(&plen.to_be_bytes());
    } else {
        let total = end.saturating_sub(b.l3).min(0xffff) as u16;
        f[b.l3 + 2..b.l3 + 4].copy_from_slice(&total.to_be_bytes());
        fix_ipv4_checksum(&mut f[b.l3..]);
    }
}

/// The outcome of a frame whose IP length honestly ends the packet at frame
/// offset `end` (bytes after it are padding, or gone).
fn honest_end_expect(s: &Spec, b: &Built, end: usize) -> Option<Expect> {
    if s.vlan_other() {
        return Some(Expect::Other);
    }
    if !s.v6 && end < b.l4 {
        // Total length below the header length (IHL).
        return Some(Expect::Malformed);
    }
    let whole = s.expect()?;
    if whole == Expect::Foreign || end >= b.payload {
        return Some(whole);
    }
    if end >= b.l4 {
        // The L4 header does not fit; the checks before it still decide first.
        return Some(match whole {
            Expect::Classified => Expect::Malformed,
            e => e,
        });
    }
    // Cut inside an IPv6 extension chain: whether the walk runs out or meets
    // a later fragment first depends on where.
    None
}
