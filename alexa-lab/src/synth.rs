//! A deterministic generator of varied and hostile Ethernet frames: TCP and
//! UDP over IPv4 and IPv6, zero to three VLAN tags, IPv6 extension headers,
//! fragments, TLS- and HTTP-looking payloads, padding, and a share of frames
//! truncated or with lying headers. Flows repeat so flow state gets exercised
//! (retransmissions, reused 5-tuples, SYNs with old and new sequence numbers).
//!
//! [`hostile`] builds the hostile corpus: every attack category on purpose,
//! each frame tagged with its category and the outcome it must get.

pub mod hostile;

use std::net::IpAddr;

use etherparse::PacketBuilder;

/// A small, seeded xorshift generator: test data must not change with a crate upgrade.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }
}

pub const DEVICE_V4: [u8; 4] = [192, 168, 137, 94];
pub const DEVICE_V6: [u8; 16] = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x94];
const OTHER_V4: [u8; 4] = [192, 168, 137, 7];
const OTHER_V6: [u8; 16] = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x07];
const SERVERS_V4: [[u8; 4]; 3] = [[13, 226, 150, 134], [104, 77, 195, 85], [192, 168, 137, 20]];
const SERVERS_V6: [[u8; 16]; 2] = [
    [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
    [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2],
];

pub fn devices() -> Vec<IpAddr> {
    vec![IpAddr::from(DEVICE_V4), IpAddr::from(DEVICE_V6)]
}

fn payload(rng: &mut Rng) -> Vec<u8> {
    let mut p = match rng.below(10) {
        0 | 1 => Vec::new(),
        2 | 3 => {
            // A TLS record header, valid or not.
            let ct = *rng.pick(&[20u8, 21, 22, 23, 24, 23, 23, 19, 25]);
            let major = *rng.pick(&[3u8, 3, 3, 2]);
            let minor = rng.below(6) as u8;
            let len = *rng.pick(&[0u16, 5, 100, 1400, 18432, 18433, 40000]);
            let mut v = vec![ct, major, minor];
            v.extend_from_slice(&len.to_be_bytes());
            v.extend({
                let n = rng.below(200) as usize;
                rng.bytes(n)
            });
            v
        }
        4 => {
            let word = *rng.pick(&[
                "GET ",
                "POST ",
                "PUT ",
                "HEAD ",
                "DELETE ",
                "OPTIONS ",
                "PATCH ",
                "CONNECT ",
                "HTTP/1.1 200 OK",
                "HTTP/2",
                "GETX",
                "get ",
                "M-SEARCH * HTTP/1.1",
            ]);
            let mut v = word.as_bytes().to_vec();
            v.extend_from_slice(b"/ HTTP/1.1\r\nHost: x\r\n\r\n");
            v
        }
        5 => {
            // A short prefix of something meaningful.
            let full = *rng.pick(&[
                &b"\x17\x03\x03\x00\x10"[..],
                b"OPTIONS ",
                b"HTTP/1.",
                b"CONNECT ",
            ]);
            full[..1 + rng.below(full.len() as u64 - 1) as usize].to_vec()
        }
        _ => {
            let n = 1 + rng.below(1300) as usize;
            rng.bytes(n)
        }
    };
    if rng.chance(3) {
        p = {
            let n = rng.below(8) as usize;
            rng.bytes(n)
        };
    }
    p
}

/// Inserts `tags` VLAN tags after the MAC addresses (outer one 802.1ad when two).
fn add_vlans(frame: &mut Vec<u8>, tags: usize, rng: &mut Rng) {
    for i in 0..tags {
        let tpid: u16 = if i + 1 == tags && tags > 1 {
            0x88a8
        } else {
            0x8100
        };
        let tci = (rng.below(4096) as u16).to_be_bytes();
        let t = tpid.to_be_bytes();
        frame.splice(12..12, [t[0], t[1], tci[0], tci[1]]);
    }
}

/// Inserts an IPv6 extension header of `kind` right after the fixed header at `l3`.
fn add_ipv6_ext(frame: &mut Vec<u8>, l3: usize, kind: u8, rng: &mut Rng) {
    let next = frame[l3 + 6];
    let ext: Vec<u8> = if kind == 44 {
        let offset: u16 = if rng.chance(60) {
            0
        } else {
            1 + rng.below(100) as u16
        };
        let more = rng.below(2) as u16;
        let field = (offset << 3 | more).to_be_bytes();
        let mut v = vec![next, 0, field[0], field[1]];
        v.extend(rng.bytes(4));
        v
    } else {
        let units = rng.below(3) as usize;
        let mut v = vec![next, units as u8];
        v.extend(rng.bytes(6 + units * 8));
        v
    };
    let plen = u16::from_be_bytes([frame[l3 + 4], frame[l3 + 5]]) as usize + ext.len();
    frame[l3 + 4..l3 + 6].copy_from_slice(&(plen as u16).to_be_bytes());
    frame[l3 + 6] = kind;
    frame.splice(l3 + 40..l3 + 40, ext);
}

/// Damages a header field or cuts the frame: hostile input.
fn corrupt(frame: &mut Vec<u8>, l3: usize, v6: bool, rng: &mut Rng) {
    match rng.below(8) {
        0 => {
            let at = rng.below(frame.len() as u64) as usize;
            frame.truncate(at);
        }
        1 if !v6 => frame[l3] = 0x40 | rng.below(16) as u8,
        2 if !v6 => {
            let delta = rng.below(80) as i64 - 40;
            let tot = u16::from_be_bytes([frame[l3 + 2], frame[l3 + 3]]) as i64 + delta;
            frame[l3 + 2..l3 + 4].copy_from_slice(&(tot.clamp(0, 65535) as u16).to_be_bytes());
        }
        3 if v6 => {
            let delta = rng.below(80) as i64 - 40;
            let plen = u16::from_be_bytes([frame[l3 + 4], frame[l3 + 5]]) as i64 + delta;
            frame[l3 + 4..l3 + 6].copy_from_slice(&(plen.clamp(0, 65535) as u16).to_be_bytes());
        }
        4 => frame[l3] = rng.next_u64() as u8,
        5 if !v6 => {
            // A fragment: first (MF) or later (offset).
            let field: u16 = if rng.chance(50) {
                0x2000
            } else {
                1 + rng.below(200) as u16
            };
            frame[l3 + 6..l3 + 8].copy_from_slice(&field.to_be_bytes());
        }
        6 => {
            // TCP data offset / UDP length lie.
            let l4 = l3 + if v6 { 40 } else { 20 };
            if let Some(b) = frame.get_mut(l4 + 12) {
                *b = (rng.below(16) as u8) << 4;
            }
        }
        _ => {
            let at = rng.below(frame.len() as u64) as usize;
            frame[at] = rng.next_u64() as u8;
        }
    }
}

/// A TCP/UDP flow the generator keeps sending on.
struct Flow {
    v6: bool,
    device: bool,
    server: usize,
    sport: u16,
    dport: u16,
    tcp: bool,
    seq: u32,
    sent: Vec<u32>,
}

/// `count` frames from `seed`.
pub fn frames(seed: u64, count: usize) -> Vec<(u64, Vec<u8>)> {
    let mut rng = Rng::new(seed);
    let mut flows: Vec<Flow> = Vec::new();
    let mut out = Vec::with_capacity(count);
    while out.len() < count {
        if flows.len() < 24 && (flows.is_empty() || rng.chance(5)) {
            flows.push(Flow {
                v6: rng.chance(30),
                device: rng.chance(85),
                server: rng.below(3) as usize,
                sport: *rng.pick(&[40000u16, 40001, 40002, 5353, 443]),
                dport: *rng.pick(&[443u16, 443, 80, 53, 8009, 123, 1900]),
                tcp: rng.chance(75),
                seq: rng.next_u64() as u32,
                sent: Vec::new(),
            });
        }
        if rng.chance(2) {
            // Something that is not IP at all (ARP) or is ICMP.
            let mut f = vec![0xff; 6];
            f.extend([2, 0, 0, 0, 0, 1]);
            if rng.chance(50) {
                f.extend([0x08, 0x06]);
                f.extend(rng.bytes(28));
            } else {
                let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
                    .ipv4(DEVICE_V4, SERVERS_V4[0], 64)
                    .icmpv4_echo_request(1, 1);
                f.clear();
                b.write(&mut f, &rng.bytes(16)).expect("build icmp");
            }
            out.push((out.len() as u64 + 1, f));
            continue;
        }
        let i = rng.below(flows.len() as u64) as usize;
        let fl = &mut flows[i];
        let body = payload(&mut rng);
        let eth = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]);
        let mut frame = Vec::new();
        let (src4, src6) = if fl.device {
            (DEVICE_V4, DEVICE_V6)
        } else {
            (OTHER_V4, OTHER_V6)
        };
        let ip = if fl.v6 {
            eth.ipv6(src6, SERVERS_V6[fl.server % 2], 64)
        } else {
            eth.ipv4(src4, SERVERS_V4[fl.server], 64)
        };
        if fl.tcp {
            let seq = if !fl.sent.is_empty() && rng.chance(10) {
                *rng.pick(&fl.sent)
            } else if rng.chance(3) {
                rng.next_u64() as u32
            } else {
                fl.seq
            };
            let mut b = ip.tcp(fl.sport, fl.dport, seq, 502);
            let flags = rng.below(20);
            b = match flags {
                0 => b.syn(),
                1 => b.syn().ack(rng.next_u64() as u32),
                2 => b.fin().ack(1),
                3 => b.rst(),
                4 => b.syn().fin().rst().psh(),
                5 => b.psh(),
                _ => b.ack(rng.next_u64() as u32).psh(),
            };
            let body = if flags == 0 && rng.chance(80) {
                Vec::new()
            } else {
                body
            };
            b.write(&mut frame, &body).expect("build tcp");
            fl.sent.push(seq);
            fl.seq = seq.wrapping_add(body.len() as u32 + (flags <= 1) as u32);
        } else {
            ip.udp(fl.sport, fl.dport)
                .write(&mut frame, &body)
                .expect("build udp");
        }
        let l3 = 14;
        if fl.v6 && rng.chance(15) {
            let kinds = [0u8, 60, 43, 44];
            for _ in 0..1 + rng.below(5) {
                add_ipv6_ext(&mut frame, l3, *rng.pick(&kinds), &mut rng);
            }
        }
        if rng.chance(8) && !fl.v6 {
            // IPv4 options: grow IHL by 1..10 words of NOPs.
            let words = 1 + rng.below(10) as usize;
            frame.splice(l3 + 20..l3 + 20, std::iter::repeat_n(1u8, words * 4));
            frame[l3] = 0x45 + words as u8;
            let tot = u16::from_be_bytes([frame[l3 + 2], frame[l3 + 3]]) + 4 * words as u16;
            frame[l3 + 2..l3 + 4].copy_from_slice(&tot.to_be_bytes());
        }
        if rng.chance(10) {
            corrupt(&mut frame, l3, fl.v6, &mut rng);
        }
        let tags = *rng.pick(&[0usize, 0, 0, 0, 0, 0, 1, 1, 2, 3]);
        if frame.len() >= 14 {
            add_vlans(&mut frame, tags, &mut rng);
        }
        if frame.len() < 60 && rng.chance(50) {
            // Ethernet padding, sometimes looking like a TLS header or HTTP.
            let pad = 60 - frame.len();
            let filler = if rng.chance(50) {
                b"\x17\x03\x03\x00\x10GET ".repeat(8)
            } else {
                rng.bytes(64)
            };
            frame.extend_from_slice(&filler[..pad]);
        }
        if frame.len() < 14 && rng.chance(50) {
            frame.clear();
            let n = rng.below(14) as usize;
            frame.extend(rng.bytes(n));
        }
        out.push((out.len() as u64 + 1, frame));
    }
    out
}
