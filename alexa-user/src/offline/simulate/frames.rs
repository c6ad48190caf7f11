//! Frame builders: Ethernet II, IPv4 (DF, TTL 64, real header checksum),
//! TCP and UDP with real checksums over the pseudo-header, and a TCP
//! connection that keeps both sides' sequence and acknowledgement numbers.

use std::net::Ipv4Addr;

pub const ETH_LEN: usize = 14;
pub const IPV4_LEN: usize = 20;
pub const TCP_LEN: usize = 20;
pub const UDP_LEN: usize = 8;

pub const FIN: u8 = 0x01;
pub const SYN: u8 = 0x02;
pub const RST: u8 = 0x04;
pub const PSH: u8 = 0x08;
pub const ACK: u8 = 0x10;

/// One host on the simulated network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Host {
    pub mac: [u8; 6],
    pub ip: Ipv4Addr,
}

/// RFC 1071 checksum over `chunks`, folded and complemented.
pub fn checksum(chunks: &[&[u8]]) -> u16 {
    let mut sum: u64 = 0;
    let mut odd: Option<u8> = None;
    for chunk in chunks {
        let mut bytes = chunk.iter().copied();
        if let Some(hi) = odd.take() {
            match bytes.next() {
                Some(lo) => sum += u64::from(u16::from_be_bytes([hi, lo])),
                None => {
                    odd = Some(hi);
                    continue;
                }
            }
        }
        let rest: Vec<u8> = bytes.collect();
        let mut pairs = rest.chunks_exact(2);
        for p in &mut pairs {
            sum += u64::from(u16::from_be_bytes([p[0], p[1]]));
        }
        if let [last] = pairs.remainder() {
            odd = Some(*last);
        }
    }
    if let Some(hi) = odd {
        sum += u64::from(u16::from_be_bytes([hi, 0]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn ipv4_header(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    proto: u8,
    l4_len: usize,
    id: u16,
    ttl: u8,
) -> [u8; 20] {
    let total = (IPV4_LEN + l4_len) as u16;
    let mut h = [0u8; 20];
    h[0] = 0x45;
    h[2..4].copy_from_slice(&total.to_be_bytes());
    h[4..6].copy_from_slice(&id.to_be_bytes());
    h[6] = 0x40; // DF
    h[8] = ttl;
    h[9] = proto;
    h[12..16].copy_from_slice(&src.octets());
    h[16..20].copy_from_slice(&dst.octets());
    let c = checksum(&[&h]);
    h[10..12].copy_from_slice(&c.to_be_bytes());
    h
}

fn pseudo(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, len: usize) -> [u8; 12] {
    let mut p = [0u8; 12];
    p[0..4].copy_from_slice(&src.octets());
    p[4..8].copy_from_slice(&dst.octets());
    p[9] = proto;
    p[10..12].copy_from_slice(&(len as u16).to_be_bytes());
    p
}

fn ethernet(src: &Host, dst: &Host, ip: &[u8; 20], l4: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(ETH_LEN + IPV4_LEN + l4.len() + payload.len() + 6);
    f.extend_from_slice(&dst.mac);
    f.extend_from_slice(&src.mac);
    f.extend_from_slice(&0x0800u16.to_be_bytes());
    f.extend_from_slice(ip);
    f.extend_from_slice(l4);
    f.extend_from_slice(payload);
    // Ethernet minimum frame (without FCS) is 60 bytes: pad, as a NIC does.
    if f.len() < 60 {
        f.resize(60, 0);
    }
    f
}

/// A TCP segment's header fields.
#[derive(Clone, Copy, Debug, Default)]
pub struct TcpFields {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub window: u16,
    /// TCP timestamps (RFC 7323) on this segment: (TSval, TSecr).
    pub timestamps: Option<(u32, u32)>,
    /// SACK blocks (RFC 2018) to report, at most 3.
    pub sack: u8,
}

/// The options of a segment: a SYN offers MSS 1460, SACK, timestamps and
/// window scaling (20 bytes, a 74-byte frame without payload); other
/// segments carry the timestamps option when the connection uses it (12
/// bytes: a pure ACK is 66 bytes, as in the published dataset, 54 without)
/// and SACK blocks when asked (12 bytes for one, 20 for two).
pub fn tcp_options(t: &TcpFields) -> Vec<u8> {
    let mut o = Vec::with_capacity(40);
    let (tsval, tsecr) = t.timestamps.unwrap_or((0, 0));
    if t.flags & SYN != 0 {
        o.extend_from_slice(&[2, 4, 0x05, 0xb4, 4, 2, 8, 10]);
        o.extend_from_slice(&tsval.to_be_bytes());
        o.extend_from_slice(&tsecr.to_be_bytes());
        o.extend_from_slice(&[1, 3, 3, 7]);
        return o;
    }
    if t.timestamps.is_some() {
        o.extend_from_slice(&[1, 1, 8, 10]);
        o.extend_from_slice(&tsval.to_be_bytes());
        o.extend_from_slice(&tsecr.to_be_bytes());
    }
    if t.sack > 0 {
        let n = t.sack.min(3);
        o.extend_from_slice(&[1, 1, 5, 2 + 8 * n]);
        for k in 0..u32::from(n) {
            // Blocks above the acknowledged point, as a receiver that lost a segment reports.
            let left = t.ack.wrapping_add(1_428 * (2 * k + 1));
            o.extend_from_slice(&left.to_be_bytes());
            o.extend_from_slice(&left.wrapping_add(1_428).to_be_bytes());
        }
    }
    o
}

/// A full Ethernet frame carrying one TCP segment, options as [`tcp_options`].
pub fn tcp_frame(
    src: &Host,
    dst: &Host,
    t: &TcpFields,
    payload: &[u8],
    ip_id: u16,
    ttl: u8,
) -> Vec<u8> {
    let opts = tcp_options(t);
    let hlen = TCP_LEN + opts.len();
    let mut h = vec![0u8; hlen];
    h[0..2].copy_from_slice(&t.src_port.to_be_bytes());
    h[2..4].copy_from_slice(&t.dst_port.to_be_bytes());
    h[4..8].copy_from_slice(&t.seq.to_be_bytes());
    let ack = if t.flags & ACK != 0 { t.ack } else { 0 };
    h[8..12].copy_from_slice(&ack.to_be_bytes());
    h[12] = ((hlen / 4) as u8) << 4;
    h[13] = t.flags;
    h[14..16].copy_from_slice(&t.window.to_be_bytes());
    h[20..].copy_from_slice(&opts);
    let l4_len = hlen + payload.len();
    let ps = pseudo(src.ip, dst.ip, 6, l4_len);
    let c = checksum(&[&ps, &h, payload]);
    h[16..18].copy_from_slice(&c.to_be_bytes());
    let ip = ipv4_header(src.ip, dst.ip, 6, l4_len, ip_id, ttl);
    ethernet(src, dst, &ip, &h, payload)
}

/// A full Ethernet frame carrying one UDP datagram.
pub fn udp_frame(
    src: &Host,
    dst: &Host,
    sport: u16,
    dport: u16,
    payload: &[u8],
    ip_id: u16,
    ttl: u8,
) -> Vec<u8> {
    let l4_len = UDP_LEN + payload.len();
    let mut h = [0u8; 8];
    h[0..2].copy_from_slice(&sport.to_be_bytes());
    h[2..4].copy_from_slice(&dport.to_be_bytes());
    h[4..6].copy_from_slice(&(l4_len as u16).to_be_bytes());
    let ps = pseudo(src.ip, dst.ip, 17, l4_len);
    let mut c = checksum(&[&ps, &h, payload]);
    if c == 0 {
        c = 0xffff;
    }
    h[6..8].copy_from_slice(&c.to_be_bytes());
    let ip = ipv4_header(src.ip, dst.ip, 17, l4_len, ip_id, ttl);
    ethernet(src, dst, &ip, &h, payload)
}

/// Writes a classic pcap (microsecond timestamps, Ethernet link type).
pub struct PcapOut<W: std::io::Write> {
    w: W,
}

impl<W: std::io::Write> PcapOut<W> {
    pub fn new(mut w: W) -> std::io::Result<Self> {
        let mut h = Vec::with_capacity(24);
        h.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        h.extend_from_slice(&2u16.to_le_bytes());
        h.extend_from_slice(&4u16.to_le_bytes());
        h.extend_from_slice(&0i32.to_le_bytes());
        h.extend_from_slice(&0u32.to_le_bytes());
        h.extend_from_slice(&65_535u32.to_le_bytes());
        h.extend_from_slice(&1u32.to_le_bytes());
        w.write_all(&h)?;
        Ok(PcapOut { w })
    }

    pub fn frame(&mut self, ts_us: u64, data: &[u8]) -> std::io::Result<()> {
        let mut r = [0u8; 16];
        r[0..4].copy_from_slice(&((ts_us / 1_000_000) as u32).to_le_bytes());
        r[4..8].copy_from_slice(&((ts_us % 1_000_000) as u32).to_le_bytes());
        r[8..12].copy_from_slice(&(data.len() as u32).to_le_bytes());
        r[12..16].copy_from_slice(&(data.len() as u32).to_le_bytes());
        self.w.write_all(&r)?;
        self.w.write_all(data)
    }
}

/// `a` after `b` in TCP sequence space.
pub fn seq_after(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(last: u8) -> Host {
        Host {
            mac: [2, 0, 0, 0, 0, last],
            ip: Ipv4Addr::new(192, 168, 137, last),
        }
    }

    #[test]
    fn checksums_verify_with_etherparse() {
        let (a, b) = (host(94), host(1));
        let base = TcpFields {
            src_port: 50000,
            dst_port: 443,
            seq: 7,
            ack: 9,
            flags: ACK | PSH,
            window: 500,
            ..TcpFields::default()
        };
        let variants = [
            (base, 54),
            (
                TcpFields {
                    timestamps: Some((1, 2)),
                    ..base
                },
                66,
            ),
            (
                TcpFields {
                    timestamps: Some((1, 2)),
                    sack: 1,
                    ..base
                },
                78,
            ),
            (
                TcpFields {
                    timestamps: Some((1, 2)),
                    sack: 2,
                    ..base
                },
                86,
            ),
            (
                TcpFields {
                    flags: SYN,
                    timestamps: Some((1, 0)),
                    ..base
                },
                74,
            ),
        ];
        for (payload, (t, frame_len)) in [&b""[..], b"a", b"hello world, odd"]
            .into_iter()
            .flat_map(|p| variants.iter().map(move |v| (p, v)))
        {
            let f = tcp_frame(&a, &b, t, payload, 1, 64);
            // The contract's frame length: 14 + the IP total length.
            let ip_total = u16::from_be_bytes([f[16], f[17]]) as usize;
            assert_eq!(14 + ip_total, frame_len + payload.len());
            let p = etherparse::SlicedPacket::from_ethernet(&f).unwrap();
            let Some(etherparse::NetSlice::Ipv4(ip)) = p.net else {
                panic!()
            };
            assert_eq!(checksum(&[ip.header().slice()]), 0);
            let Some(etherparse::TransportSlice::Tcp(tcp)) = p.transport else {
                panic!()
            };
            let want = tcp
                .to_header()
                .calc_checksum_ipv4(&ip.header().to_header(), tcp.payload())
                .unwrap();
            assert_eq!(tcp.checksum(), want);
            assert_eq!(tcp.payload(), payload);
            let u = udp_frame(&a, &b, 5353, 53, payload, 2, 64);
            let p = etherparse::SlicedPacket::from_ethernet(&u).unwrap();
            let Some(etherparse::NetSlice::Ipv4(ip)) = p.net else {
                panic!()
            };
            let Some(etherparse::TransportSlice::Udp(udp)) = p.transport else {
                panic!()
            };
            let want = udp
                .to_header()
                .calc_checksum_ipv4(&ip.header().to_header(), udp.payload())
                .unwrap();
            assert_eq!(udp.checksum(), want);
        }
    }
}
