//! Raw frame construction with correct checksums, for the hand-made edge
//! cases: every header written byte by byte, so a test can also write the
//! headers that lie.

use std::net::{Ipv4Addr, Ipv6Addr};

pub const ETH_IPV4: u16 = 0x0800;
pub const ETH_IPV6: u16 = 0x86dd;
pub const ETH_ARP: u16 = 0x0806;
pub const PROTO_ICMP: u8 = 1;
pub const PROTO_TCP: u8 = 6;
pub const PROTO_UDP: u8 = 17;
pub const PROTO_ICMPV6: u8 = 58;

pub const FIN: u8 = 0x01;
pub const SYN: u8 = 0x02;
pub const RST: u8 = 0x04;
pub const PSH: u8 = 0x08;
pub const ACK: u8 = 0x10;

pub const DEVICE_MAC: [u8; 6] = [0x02, 0xa1, 0xe7, 0x00, 0x00, 0x02];
pub const SERVER_MAC: [u8; 6] = [0x02, 0xa1, 0xe7, 0x00, 0x00, 0x01];

/// The Internet checksum (RFC 1071) over `parts`: the simulator's, one copy
/// for the whole workspace.
pub use alexa::offline::simulate::frames::checksum;

/// An Ethernet header.
pub fn eth(src: [u8; 6], dst: [u8; 6], ethertype: u16) -> Vec<u8> {
    let mut v = Vec::with_capacity(14);
    v.extend_from_slice(&dst);
    v.extend_from_slice(&src);
    v.extend_from_slice(&ethertype.to_be_bytes());
    v
}

/// An IP address pair, for pseudo-header checksums.
#[derive(Clone, Copy, Debug)]
pub enum Ips {
    V4(Ipv4Addr, Ipv4Addr),
    V6(Ipv6Addr, Ipv6Addr),
}

impl Ips {
    pub fn swap(self) -> Ips {
        match self {
            Ips::V4(a, b) => Ips::V4(b, a),
            Ips::V6(a, b) => Ips::V6(b, a),
        }
    }

    fn pseudo(self, proto: u8, len: usize) -> Vec<u8> {
        let mut p = Vec::new();
        match self {
            Ips::V4(s, d) => {
                p.extend_from_slice(&s.octets());
                p.extend_from_slice(&d.octets());
                p.extend_from_slice(&[0, proto]);
                p.extend_from_slice(&(len as u16).to_be_bytes());
            }
            Ips::V6(s, d) => {
                p.extend_from_slice(&s.octets());
                p.extend_from_slice(&d.octets());
                p.extend_from_slice(&(len as u32).to_be_bytes());
                p.extend_from_slice(&[0, 0, 0, proto]);
            }
        }
        p
    }
}

/// A TCP segment's fields.
#[derive(Clone, Debug)]
pub struct Tcp {
    pub sport: u16,
    pub dport: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub options: Vec<u8>,
    pub payload: Vec<u8>,
}

impl Tcp {
    pub fn new(sport: u16, dport: u16, seq: u32, ack: u32, flags: u8, payload: &[u8]) -> Tcp {
        Tcp {
            sport,
            dport,
            seq,
            ack,
            flags,
            options: Vec::new(),
            payload: payload.to_vec(),
        }
    }

    /// The segment (header, options, payload) with its checksum for `ips`.
    pub fn bytes(&self, ips: Ips) -> Vec<u8> {
        assert!(
            self.options.len().is_multiple_of(4),
            "TCP options must fill words"
        );
        let doff = (20 + self.options.len()) / 4;
        let mut v = Vec::new();
        v.extend_from_slice(&self.sport.to_be_bytes());
        v.extend_from_slice(&self.dport.to_be_bytes());
        v.extend_from_slice(&self.seq.to_be_bytes());
        v.extend_from_slice(&self.ack.to_be_bytes());
        v.push((doff as u8) << 4);
        v.push(self.flags);
        v.extend_from_slice(&64240u16.to_be_bytes());
        v.extend_from_slice(&[0, 0, 0, 0]);
        v.extend_from_slice(&self.options);
        v.extend_from_slice(&self.payload);
        let sum = checksum(&[&ips.pseudo(PROTO_TCP, v.len()), &v]);
        v[16..18].copy_from_slice(&sum.to_be_bytes());
        v
    }
}

/// A UDP datagram with its checksum for `ips`.
pub fn udp(ips: Ips, sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let len = 8 + payload.len();
    let mut v = Vec::with_capacity(len);
    v.extend_from_slice(&sport.to_be_bytes());
    v.extend_from_slice(&dport.to_be_bytes());
    v.extend_from_slice(&(len as u16).to_be_bytes());
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(payload);
    let mut sum = checksum(&[&ips.pseudo(PROTO_UDP, len), &v]);
    if sum == 0 {
        sum = 0xffff;
    }
    v[6..8].copy_from_slice(&sum.to_be_bytes());
    v
}

/// ICMP / ICMPv6 message (type, code, rest of header, body) with checksum.
pub fn icmp(ips: Option<Ips>, kind: u8, code: u8, rest: [u8; 4], body: &[u8]) -> Vec<u8> {
    let mut v = vec![kind, code, 0, 0];
    v.extend_from_slice(&rest);
    v.extend_from_slice(body);
    let sum = match ips {
        Some(ips) => checksum(&[&ips.pseudo(PROTO_ICMPV6, v.len()), &v]),
        None => checksum(&[&v]),
    };
    v[2..4].copy_from_slice(&sum.to_be_bytes());
    v
}

/// IPv4 header fields beyond the addresses.
#[derive(Clone, Debug)]
pub struct V4 {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub proto: u8,
    pub id: u16,
    /// Flags and fragment offset (in 8-byte units), as on the wire.
    pub frag: u16,
    pub options: Vec<u8>,
}

impl V4 {
    pub fn new(src: Ipv4Addr, dst: Ipv4Addr, proto: u8) -> V4 {
        V4 {
            src,
            dst,
            proto,
            id: 0x1234,
            frag: 0x4000,
            options: Vec::new(),
        }
    }

    /// Header plus `payload`, with a correct header checksum.
    pub fn bytes(&self, payload: &[u8]) -> Vec<u8> {
        assert!(
            self.options.len().is_multiple_of(4),
            "IPv4 options must fill words"
        );
        let ihl = (20 + self.options.len()) / 4;
        let total = ihl * 4 + payload.len();
        let mut v = Vec::with_capacity(total);
        v.push(0x40 | ihl as u8);
        v.push(0);
        v.extend_from_slice(&(total as u16).to_be_bytes());
        v.extend_from_slice(&self.id.to_be_bytes());
        v.extend_from_slice(&self.frag.to_be_bytes());
        v.push(64);
        v.push(self.proto);
        v.extend_from_slice(&[0, 0]);
        v.extend_from_slice(&self.src.octets());
        v.extend_from_slice(&self.dst.octets());
        v.extend_from_slice(&self.options);
        let sum = checksum(&[&v]);
        v[10..12].copy_from_slice(&sum.to_be_bytes());
        v.extend_from_slice(payload);
        v
    }
}

/// Recomputes the IPv4 header checksum in place (after editing a header).
pub fn fix_ipv4_checksum(ip: &mut [u8]) {
    let ihl = ((ip[0] & 0x0f) as usize * 4).clamp(20, ip.len());
    ip[10] = 0;
    ip[11] = 0;
    let sum = checksum(&[&ip[..ihl]]);
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
}

/// An IPv6 header plus `payload` (extension headers included in it);
/// `next` is the first next-header value.
pub fn ipv6(src: Ipv6Addr, dst: Ipv6Addr, next: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(40 + payload.len());
    v.extend_from_slice(&[0x60, 0, 0, 0]);
    v.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    v.push(next);
    v.push(64);
    v.extend_from_slice(&src.octets());
    v.extend_from_slice(&dst.octets());
    v.extend_from_slice(payload);
    v
}

/// A hop-by-hop or destination-options header of 8 bytes (PadN only).
pub fn ipv6_opts(next: u8) -> Vec<u8> {
    vec![next, 0, 1, 4, 0, 0, 0, 0]
}

/// A routing header (type 4, segment routing) with no segments left and one
/// segment, the final destination: 24 bytes.
pub fn ipv6_routing(next: u8, final_dst: Ipv6Addr) -> Vec<u8> {
    let mut v = vec![next, 2, 4, 0, 0, 0, 0, 0];
    v.extend_from_slice(&final_dst.octets());
    v
}

/// A fragment header: offset in 8-byte units, more-fragments flag, id.
pub fn ipv6_fragment(next: u8, offset: u16, more: bool, id: u32) -> Vec<u8> {
    let mut v = vec![next, 0];
    v.extend_from_slice(&((offset << 3) | more as u16).to_be_bytes());
    v.extend_from_slice(&id.to_be_bytes());
    v
}

/// An ARP request (`reply` false) or reply over Ethernet.
pub fn arp(reply: bool, sha: [u8; 6], spa: Ipv4Addr, tha: [u8; 6], tpa: Ipv4Addr) -> Vec<u8> {
    let dst = if reply { tha } else { [0xff; 6] };
    let mut v = eth(sha, dst, ETH_ARP);
    v.extend_from_slice(&[0, 1, 0x08, 0, 6, 4, 0, if reply { 2 } else { 1 }]);
    v.extend_from_slice(&sha);
    v.extend_from_slice(&spa.octets());
    v.extend_from_slice(&tha);
    v.extend_from_slice(&tpa.octets());
    v
}

/// Pads a frame with `fill` to the Ethernet minimum of 60 bytes (no FCS).
pub fn pad60(mut frame: Vec<u8>, fill: u8) -> Vec<u8> {
    while frame.len() < 60 {
        frame.push(fill);
    }
    frame
}
