//! Addresses as the kernel's maps and events hold them: 16 bytes, IPv4 as
//! IPv4-mapped IPv6.

use std::net::{IpAddr, Ipv6Addr};

/// An address as the contract writes it: IPv4-mapped addresses as dotted IPv4.
pub fn ip_from_mapped(a: [u8; 16]) -> IpAddr {
    let v6 = Ipv6Addr::from(a);
    match v6.to_ipv4_mapped() {
        Some(v4) => IpAddr::V4(v4),
        None => IpAddr::V6(v6),
    }
}

pub fn ip_to_mapped(ip: IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    }
}
