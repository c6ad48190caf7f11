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

//!
//! One file per family of frames (`random`, `truncation`, `header_lies`,
//! `headers`, `payload`, `tls`, `protocol`); the recipe a frame is built
//! from, and the outcome it must get, in `spec`.

mod header_lies;
mod headers;
mod payload;
mod protocol;
mod random;
mod spec;
mod tls;
mod truncation;

use headers::v4_options;
use spec::{Ext, Spec};

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
            Category::RandomBytes => self.random_bytes(),
            Category::RandomTail => self.random_tail(),
            Category::Truncated => self.truncated(),
            Category::TruncatedConsistent => self.truncated_consistent(),
            Category::IhlLie => self.ihl_lie(),
            Category::DataOffsetLie => self.data_offset_lie(),
            Category::IpLengthLong => self.ip_length_long(),
            Category::IpLengthShort => self.ip_length_short(),
            Category::Ipv4Options => self.ipv4_options(),
            Category::Ipv6Extensions => self.ipv6_extensions(),
            Category::Fragment => self.fragment(),
            Category::VlanStack => self.vlan_stack(),
            Category::ZeroPayload => self.zero_payload(),
            Category::JumboPayload => self.jumbo_payload(),
            Category::TlsBogus => self.tls_bogus(),
            Category::TlsSplit => self.tls_split(),
            Category::TcpFlagsImpossible => self.tcp_flags_impossible(),
            Category::NotTcpUdp => self.not_tcp_udp(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(c: &[HostileFrame]) -> Vec<(Category, Option<Expect>, &[u8])> {
        c.iter()
            .map(|h| (h.category, h.expect, h.frame.as_slice()))
            .collect()
    }

    #[test]
    fn same_seed_same_corpus_every_category() {
        let a = corpus(7, 3000);
        assert_eq!(a.len(), 3000);
        assert_eq!(flat(&a), flat(&corpus(7, 3000)));
        // A shorter corpus is a prefix of a longer one from the same seed.
        assert_eq!(flat(&a[..500]), flat(&corpus(7, 500)));
        assert_ne!(flat(&a), flat(&corpus(8, 3000)));
        for cat in Category::ALL {
            assert!(a.iter().any(|h| h.category == cat), "no {cat:?} frame");
        }
    }
}
