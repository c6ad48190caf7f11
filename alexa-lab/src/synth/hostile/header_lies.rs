//! Header length fields that lie: IPv4 IHL and TCP data offset.

use crate::corpus::craft::fix_ipv4_checksum;

use super::headers::v4_options;
use super::{Category, Expect, Gen};

impl Gen {
    /// An IPv4 IHL other than the real one, checksum fixed so only the IHL lies.
    pub(super) fn ihl_lie(&mut self) {
        let cat = Category::IhlLie;
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

    /// A TCP data offset other than the real one.
    pub(super) fn data_offset_lie(&mut self) {
        let cat = Category::DataOffsetLie;
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
}
