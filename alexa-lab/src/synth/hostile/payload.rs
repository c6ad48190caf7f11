//! Payload sizes at the edges: none at all, and jumbo.

use super::{Category, Gen, ACK, FIN, RST, SYN, TCP, TPID_8021Q};

impl Gen {
    /// No payload, sometimes Ethernet padding that looks like one.
    pub(super) fn zero_payload(&mut self) {
        let cat = Category::ZeroPayload;
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

    /// Payloads from 1,400 up to 9,000 bytes.
    pub(super) fn jumbo_payload(&mut self) {
        let cat = Category::JumboPayload;
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
}
