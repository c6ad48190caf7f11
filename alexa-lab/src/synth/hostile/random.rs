//! Random bytes, and valid headers with random bytes after them.

use super::{Category, Gen};

impl Gen {
    /// 0 to 1,600 uniformly random bytes.
    pub(super) fn random_bytes(&mut self) {
        let cat = Category::RandomBytes;
        let n = match self.rng.below(4) {
            0 => self.rng.below(14),
            1 => 14 + self.rng.below(50),
            _ => 64 + self.rng.below(1536),
        } as usize;
        let f = self.rng.bytes(n);
        self.push(cat, None, f);
    }

    /// A valid frame kept down to some header boundary, random bytes after.
    pub(super) fn random_tail(&mut self) {
        let cat = Category::RandomTail;
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
}
