//! Header stacks a parser must walk: IPv4 options, IPv6 extension chains,
//! fragments (IPv4 flags and offsets, IPv6 fragment headers) and VLAN tags.

use super::spec::{honest_end_expect, set_ip_end, Ext};
use super::{
    Category, Gen, Rng, DSTOPTS, FRAGMENT, HOPOPTS, ROUTING, TPID_8021AD, TPID_8021Q, TPID_9100,
};

impl Gen {
    /// An IPv4 header carrying options.
    pub(super) fn ipv4_options(&mut self) {
        let cat = Category::Ipv4Options;
        let i = self.flow(None, Some(false), None);
        let body = self.payload();
        let mut s = self.spec(i, body);
        s.v4_options = v4_options(&mut self.rng);
        self.push(cat, s.expect(), s.build().frame);
    }

    /// An IPv6 extension chain of 1 to 5 headers, some with lying lengths.
    pub(super) fn ipv6_extensions(&mut self) {
        let cat = Category::Ipv6Extensions;
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

    /// A first or later fragment, IPv4 or IPv6.
    pub(super) fn fragment(&mut self) {
        let cat = Category::Fragment;
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

    /// 0 to 4 VLAN tags, some of a TPID the contract does not know.
    pub(super) fn vlan_stack(&mut self) {
        let cat = Category::VlanStack;
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
}

/// IPv4 options: real kinds (router alert, record route, timestamp,
/// security), NOP/EOL padding, and option lengths that lie (the contract
/// skips options by IHL and never reads them).
pub(super) fn v4_options(rng: &mut Rng) -> Vec<u8> {
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
