//! Which packets are classified, and what their headers say: section "Which
//! packets" of the contract, decided once for kernel and user space.
//!
//! Order of the checks, which decides how a frame is counted: Ethernet and
//! VLAN tags, then the IP header (malformed if it lies), then the device set
//! (a frame from any other host is `Foreign` and parsed no further: the fast
//! path), then fragments, extension headers and the L4 header.

use network_types::{
    eth::EthHdr, ip::Ipv4Hdr, ip::Ipv6Hdr, tcp::TcpHdr, udp::UdpHdr, vlan::VlanHdr,
};

use crate::{
    contract::{IPPROTO_TCP, IPPROTO_UDP},
    flow_key::FlowKey,
    frame::{be16, be32, Frame},
};

/// The Ethernet header the contract's `length` counts (tags are not).
const ETH_HLEN: usize = 14;
const ETH_P_IPV4: u16 = 0x0800;
const ETH_P_IPV6: u16 = 0x86dd;
const ETH_P_8021Q: u16 = 0x8100;
const ETH_P_8021AD: u16 = 0x88a8;
pub const MAX_VLAN_TAGS: usize = 2;
pub const MAX_IPV6_EXT_HEADERS: usize = 4;

const IPV6_HOPOPTS: u8 = 0;
const IPV6_ROUTING: u8 = 43;
const IPV6_FRAGMENT: u8 = 44;
const IPV6_DSTOPTS: u8 = 60;

/// Largest TLS record length the contract accepts in a header (2^14 + 2048).
pub const TLS_MAX_RECORD: u16 = 18_432;

/// How the first bytes of the L4 payload look. Rule 1's continuation case
/// (SSL with no header) needs the flow's history and is decided in `flow`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Payload {
    /// No payload bytes.
    Empty,
    /// A valid TLS record header with this content type (TCP only).
    Tls(u8),
    /// Starts like an HTTP/1.x request or response (TCP only).
    Http,
    /// Anything else.
    Data,
}

/// A device packet the contract classifies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Packet {
    pub key: FlowKey,
    /// The contract's `length`: 14 + the IP packet's length (VLAN tags,
    /// padding and FCS not counted).
    pub frame_len: u32,
    /// L4 payload bytes carried by this packet, from the IP lengths.
    pub payload_len: u32,
    /// Offset of the L4 payload in the frame (where the TLS record walk reads).
    pub payload_off: u32,
    /// TCP flags, 0 for UDP.
    pub tcp_flags: u8,
    /// TCP sequence number, 0 for UDP.
    pub seq: u32,
    pub payload: Payload,
}

/// What the parser made of a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Packet(Packet),
    /// A valid IP packet from a host that is not a monitored device.
    Foreign,
    /// Not classified by the contract: not IP, ICMP, other L4, a later
    /// fragment, too many VLAN tags or extension headers.
    Other,
    /// Truncated or lying headers.
    Malformed,
}

/// Parses `frame`; `is_device` says whether a device-set key is monitored:
/// the frame's source MAC address ([`mac_key`]) or its source IP address
/// (IPv4 mapped
/// into IPv6) is monitored.
#[inline(always)]
pub fn parse<F, D>(frame: &F, is_device: D) -> Verdict
where
    F: Frame + ?Sized,
    D: Fn(&[u8; 16]) -> bool,
{
    let Some(eth) = frame.load::<EthHdr>(0) else {
        return Verdict::Malformed;
    };
    let mut ethertype = u16::from_be(eth.ether_type);
    let mut off = EthHdr::LEN;
    for _ in 0..MAX_VLAN_TAGS {
        if ethertype != ETH_P_8021Q && ethertype != ETH_P_8021AD {
            break;
        }
        let Some(tag) = frame.load::<VlanHdr>(off) else {
            return Verdict::Malformed;
        };
        ethertype = u16::from_be(tag.ether_type);
        off += VlanHdr::LEN;
    }
    match ethertype {
        ETH_P_IPV4 => ipv4(frame, off, &eth.src_addr, is_device),
        ETH_P_IPV6 => ipv6(frame, off, &eth.src_addr, is_device),
        _ => Verdict::Other,
    }
}

/// A MAC address as a device-set key: `ffff:ffff:ffff:ffff:ffff:` and the
/// six bytes. No IP source address looks like it (an `ff` address is
/// multicast, never a source), so MACs and addresses share one set and one
/// kernel map; its last byte is the MAC's, as `device_filter_bit` expects.
#[inline(always)]
pub fn mac_key(mac: &[u8; 6]) -> [u8; 16] {
    let words = [
        u64::MAX,
        u64::from_ne_bytes([0xff, 0xff, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]]),
    ];
    // SAFETY: two u64 are 16 bytes, and any bytes are a valid [u8; 16].
    unsafe { core::mem::transmute::<[u64; 2], [u8; 16]>(words) }
}

/// IPv4 address as IPv4-mapped IPv6.
#[inline(always)]
pub fn map_v4(a: [u8; 4]) -> [u8; 16] {
    // Built from two words: ten zero bytes written one by one are merged by
    // LLVM into a `memset` call, which the BPF target links as a byte loop
    // (docs/building.md, "Verifier notes").
    let words = [
        0u64,
        u64::from_ne_bytes([0, 0, 0xff, 0xff, a[0], a[1], a[2], a[3]]),
    ];
    // SAFETY: two u64 are 16 bytes, and any bytes are a valid [u8; 16].
    unsafe { core::mem::transmute::<[u64; 2], [u8; 16]>(words) }
}

#[inline(always)]
fn ipv4<F, D>(frame: &F, off: usize, mac: &[u8; 6], is_device: D) -> Verdict
where
    F: Frame + ?Sized,
    D: Fn(&[u8; 16]) -> bool,
{
    let Some(h) = frame.get::<Ipv4Hdr>(off) else {
        return Verdict::Malformed;
    };
    let ihl = ((h.vihl & 0x0f) as usize) * 4;
    let total = be16(h.tot_len) as usize;
    if h.vihl >> 4 != 4 || ihl < Ipv4Hdr::LEN || total < ihl || !frame.covers(off + total) {
        return Verdict::Malformed;
    }
    let src = map_v4(h.src_addr);
    if !is_device(&src) && !is_device(&mac_key(mac)) {
        return Verdict::Foreign;
    }
    let fragment_offset = be16(h.frags) & 0x1fff;
    if fragment_offset != 0 || (h.proto != IPPROTO_TCP && h.proto != IPPROTO_UDP) {
        return Verdict::Other;
    }
    transport(
        frame,
        off + ihl,
        total - ihl,
        (ETH_HLEN + total) as u32,
        h.proto,
        src,
        map_v4(h.dst_addr),
    )
}

#[inline(always)]
fn ipv6<F, D>(frame: &F, off: usize, mac: &[u8; 6], is_device: D) -> Verdict
where
    F: Frame + ?Sized,
    D: Fn(&[u8; 16]) -> bool,
{
    let Some(h) = frame.get::<Ipv6Hdr>(off) else {
        return Verdict::Malformed;
    };
    let payload_len = be16(h.payload_len) as usize;
    if h.vcf[0] >> 4 != 6 || !frame.covers(off + Ipv6Hdr::LEN + payload_len) {
        return Verdict::Malformed;
    }
    if !is_device(&h.src_addr) && !is_device(&mac_key(mac)) {
        return Verdict::Foreign;
    }
    let mut next = h.next_hdr;
    let mut cur = off + Ipv6Hdr::LEN;
    let mut left = payload_len;
    for _ in 0..MAX_IPV6_EXT_HEADERS {
        match next {
            IPV6_HOPOPTS | IPV6_ROUTING | IPV6_DSTOPTS => {
                let Some(e) = frame.load::<[u8; 2]>(cur) else {
                    return Verdict::Malformed;
                };
                let len = (e[1] as usize + 1) * 8;
                if len > left {
                    return Verdict::Malformed;
                }
                next = e[0];
                cur += len;
                left -= len;
            }
            IPV6_FRAGMENT => {
                let Some(e) = frame.load::<[u8; 8]>(cur) else {
                    return Verdict::Malformed;
                };
                if left < 8 {
                    return Verdict::Malformed;
                }
                if be16([e[2], e[3]]) >> 3 != 0 {
                    return Verdict::Other;
                }
                next = e[0];
                cur += 8;
                left -= 8;
            }
            _ => break,
        }
    }
    if next != IPPROTO_TCP && next != IPPROTO_UDP {
        return Verdict::Other;
    }
    let ip_len = Ipv6Hdr::LEN + payload_len;
    transport(
        frame,
        cur,
        left,
        (ETH_HLEN + ip_len) as u32,
        next,
        h.src_addr,
        h.dst_addr,
    )
}

/// The L4 header at `off`, with `len` bytes of IP payload from there on, in
/// a packet whose contract `length` is `frame_len`.
#[inline(always)]
fn transport<F: Frame + ?Sized>(
    frame: &F,
    off: usize,
    len: usize,
    frame_len: u32,
    proto: u8,
    src: [u8; 16],
    dst: [u8; 16],
) -> Verdict {
    let (header_len, tcp_flags, seq, ports) = if proto == IPPROTO_TCP {
        let Some(t) = frame.get::<TcpHdr>(off) else {
            return Verdict::Malformed;
        };
        let doff = t.doff() as usize * 4;
        if len < TcpHdr::LEN || doff < TcpHdr::LEN || doff > len {
            return Verdict::Malformed;
        }
        (doff, tcp_flags(t), be32(t.seq), (t.source, t.dest))
    } else {
        let Some(u) = frame.get::<UdpHdr>(off) else {
            return Verdict::Malformed;
        };
        if len < UdpHdr::LEN {
            return Verdict::Malformed;
        }
        (UdpHdr::LEN, 0, 0, (u.src, u.dst))
    };
    let length = len - header_len;
    let payload = payload_kind(frame, off + header_len, length, proto == IPPROTO_TCP);
    Verdict::Packet(Packet {
        key: FlowKey::new(src, dst, be16(ports.0), be16(ports.1), proto),
        frame_len,
        payload_len: length as u32,
        payload_off: (off + header_len) as u32,
        tcp_flags,
        seq,
        payload,
    })
}

/// The flags byte (CWR..FIN) of a TCP header.
#[inline(always)]
fn tcp_flags(t: &TcpHdr) -> u8 {
    (t.fin()
        | t.syn() << 1
        | t.rst() << 2
        | t.psh() << 3
        | t.ack() << 4
        | t.urg() << 5
        | t.ece() << 6
        | t.cwr() << 7) as u8
}

/// Looks at up to 8 payload bytes (the IP lengths guarantee they are in the
/// frame and not Ethernet padding).
#[inline(always)]
fn payload_kind<F: Frame + ?Sized>(frame: &F, off: usize, len: usize, tcp: bool) -> Payload {
    if len == 0 {
        return Payload::Empty;
    }
    if !tcp {
        return Payload::Data;
    }
    let mut head = [0u8; 8];
    let seen = if len >= 8 {
        match frame.load::<[u8; 8]>(off) {
            Some(b) => head = b,
            None => return Payload::Data,
        }
        8
    } else {
        let mut i = 0;
        while i < 8 && i < len {
            match frame.load::<[u8; 1]>(off + i) {
                Some(b) => head[i] = b[0],
                None => return Payload::Data,
            }
            i += 1;
        }
        i
    };
    if let Some(content_type) = tls_record_type(&head, seen) {
        return Payload::Tls(content_type);
    }
    if starts_like_http(&head, seen) {
        return Payload::Http;
    }
    Payload::Data
}

/// The content type of a valid TLS record header, if `head` starts with one.
#[inline(always)]
pub fn tls_record_type(head: &[u8; 8], seen: usize) -> Option<u8> {
    if seen < 5 {
        return None;
    }
    record_header([head[0], head[1], head[2], head[3], head[4]]).map(|(t, _)| t)
}

/// (content type, length) of a valid TLS record header: type 20–24, version
/// 3.0–3.4, length 1–18,432 (the contract's record stream).
#[inline(always)]
pub fn record_header(h: [u8; 5]) -> Option<(u8, u16)> {
    let len = be16([h[3], h[4]]);
    if (20..=24).contains(&h[0]) && h[1] == 3 && h[2] <= 4 && (1..=TLS_MAX_RECORD).contains(&len) {
        Some((h[0], len))
    } else {
        None
    }
}

/// HTTP/1.x starts (rule 2), as (bytes, how many must match), left-aligned in
/// a big-endian u64 so a check is one mask and one compare.
const HTTP_STARTS: [(u64, usize); 9] = [
    (word(b"GET "), 4),
    (word(b"POST "), 5),
    (word(b"PUT "), 4),
    (word(b"HEAD "), 5),
    (word(b"DELETE "), 7),
    (word(b"OPTIONS "), 8),
    (word(b"PATCH "), 6),
    (word(b"CONNECT "), 8),
    (word(b"HTTP/1."), 7),
];

const fn word(s: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    let mut i = 0;
    while i < s.len() {
        b[i] = s[i];
        i += 1;
    }
    u64::from_be_bytes(b)
}

#[inline(always)]
pub fn starts_like_http(head: &[u8; 8], seen: usize) -> bool {
    let w = u64::from_be_bytes(*head);
    let mut i = 0;
    while i < HTTP_STARTS.len() {
        let (pattern, n) = HTTP_STARTS[i];
        let mask = !0u64 << (64 - 8 * n as u32);
        if seen >= n && (w & mask) == pattern {
            return true;
        }
        i += 1;
    }
    false
}
