//! TCP flag combinations no stack sends, and frames that are not TCP or UDP.

use super::{Category, Expect, Gen, ACK, FIN, PSH, RST, SYN, URG};

impl Gen {
    /// TCP flag combinations no stack sends.
    pub(super) fn tcp_flags_impossible(&mut self) {
        let cat = Category::TcpFlagsImpossible;
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

    /// ARP, LLDP, ICMP, other L4 protocols, IP version lies.
    pub(super) fn not_tcp_udp(&mut self) {
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
