//! A frame's recipe ([`Spec`]), the frame built from it ([`Built`]), and the
//! outcome the contract must give it, worked out from the recipe.

// The IPv4 header checksum, so a frame is refused for what it is meant to
// lie about and nothing else. (L4 checksums stay 0: no parser here reads them.)
use crate::corpus::craft::fix_ipv4_checksum;

use super::{Expect, Rng, FRAGMENT, ROUTING, TCP, TPID_8021AD, TPID_8021Q, UDP};

/// One IPv6 extension header as built: its kind, the length byte it
/// claims, and its real bytes after the next-header byte.
#[derive(Clone, Debug)]
pub(super) struct Ext {
    pub(super) kind: u8,
    /// For HBH/RH/DO: the header's own length byte ((len + 1) * 8 bytes).
    /// A lie when it does not match `rest`.
    pub(super) len_byte: u8,
    /// Everything after the next-header byte (for HBH/RH/DO the first of
    /// these, the length byte, is written as `len_byte`).
    pub(super) rest: Vec<u8>,
}

impl Ext {
    pub(super) fn options(kind: u8, words: usize, rng: &mut Rng) -> Ext {
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

    pub(super) fn fragment(offset: u16, more: bool, rng: &mut Rng) -> Ext {
        let mut rest = vec![0];
        rest.extend(((offset << 3) | more as u16).to_be_bytes());
        rest.extend(rng.bytes(4));
        Ext {
            kind: FRAGMENT,
            len_byte: 0,
            rest,
        }
    }

    pub(super) fn wire_len(&self) -> usize {
        1 + self.rest.len()
    }

    /// Bytes the contract's walk skips for this header.
    pub(super) fn claimed_len(&self) -> usize {
        if self.kind == FRAGMENT {
            8
        } else {
            (self.len_byte as usize + 1) * 8
        }
    }

    pub(super) fn fragment_offset(&self) -> u16 {
        u16::from_be_bytes([self.rest[1], self.rest[2]]) >> 3
    }
}

/// The recipe of a frame.
#[derive(Clone, Debug)]
pub(super) struct Spec {
    /// TPIDs of the VLAN tags, outermost first.
    pub(super) tags: Vec<u16>,
    pub(super) v6: bool,
    pub(super) src: [u8; 16],
    pub(super) dst: [u8; 16],
    pub(super) device: bool,
    /// IPv4 options, a multiple of 4 bytes, at most 40.
    pub(super) v4_options: Vec<u8>,
    /// IPv4 flags and fragment offset as on the wire.
    pub(super) v4_frag: u16,
    pub(super) ext: Vec<Ext>,
    pub(super) proto: u8,
    pub(super) sport: u16,
    pub(super) dport: u16,
    pub(super) seq: u32,
    pub(super) ack: u32,
    pub(super) flags: u8,
    pub(super) tcp_options: Vec<u8>,
    pub(super) payload: Vec<u8>,
    /// Ethernet padding after the IP packet.
    pub(super) padding: Vec<u8>,
}

/// A frame and where its headers begin and end.
pub(super) struct Built {
    pub(super) frame: Vec<u8>,
    pub(super) l3: usize,
    /// End of the IPv4 header with options, or of the IPv6 fixed header.
    pub(super) l3_hdr_end: usize,
    pub(super) l4: usize,
    pub(super) payload: usize,
    /// End of the IP packet (start of padding).
    pub(super) ip_end: usize,
    /// Every header boundary, ascending.
    pub(super) bounds: Vec<usize>,
}

impl Spec {
    pub(super) fn build(&self) -> Built {
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
    pub(super) fn vlan_other(&self) -> bool {
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
    pub(super) fn expect(&self) -> Option<Expect> {
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

/// Rewrites the IP length field so the packet claims to end at frame
/// offset `end` (clamped to what the 16-bit field can say).
pub(super) fn set_ip_end(f: &mut [u8], s: &Spec, b: &Built, end: usize) {
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
pub(super) fn honest_end_expect(s: &Spec, b: &Built, end: usize) -> Option<Expect> {
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
