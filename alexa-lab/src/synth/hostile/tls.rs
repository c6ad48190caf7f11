//! TLS record headers that lie, and record headers split across segments.

use super::{Category, Gen, ACK, PSH};

impl Gen {
    /// A bogus TLS record header: content type, version and length out of range.
    pub(super) fn tls_bogus(&mut self) {
        let cat = Category::TlsBogus;
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

    /// A TLS record header split across two consecutive segments of one flow.
    pub(super) fn tls_split(&mut self) {
        let cat = Category::TlsSplit;
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
}
