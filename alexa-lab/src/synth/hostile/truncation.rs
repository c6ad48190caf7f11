//! Frames that end somewhere their IP length does not say: cut at every
//! header boundary, with and without the IP length rewritten to match, and
//! IP lengths longer or shorter than the packet.

use super::spec::{honest_end_expect, set_ip_end};
use super::{Category, Expect, Gen};

impl Gen {
    /// A valid frame cut one byte before, at, and one byte after every header boundary.
    pub(super) fn truncated(&mut self) {
        let cat = Category::Truncated;
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

    /// The same cuts with an honest IP length: the L4 header is what is missing.
    pub(super) fn truncated_consistent(&mut self) {
        let cat = Category::TruncatedConsistent;
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

    /// An IP length claiming bytes past the end of the frame.
    pub(super) fn ip_length_long(&mut self) {
        let cat = Category::IpLengthLong;
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

    /// An IP length ending the packet early: the rest reads as padding.
    pub(super) fn ip_length_short(&mut self) {
        let cat = Category::IpLengthShort;
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
}
