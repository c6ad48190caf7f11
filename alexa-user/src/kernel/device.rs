//! A monitored device as the user names it: an IP address (IPv4 or IPv6) or
//! a MAC address. Both become keys of one device set (`DeviceKey`), which the
//! shared parser matches against a frame's source IP and source MAC.

use std::{fmt, net::IpAddr, str::FromStr};

use alexa_common::parse::mac_key;

use crate::util::net::ip_to_mapped;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Device {
    Ip(IpAddr),
    Mac([u8; 6]),
}

impl Device {
    /// The key the device set (offline) and the kernel's `DEVICES` map hold.
    pub fn key(&self) -> [u8; 16] {
        match self {
            Device::Ip(ip) => ip_to_mapped(*ip),
            Device::Mac(mac) => mac_key(mac),
        }
    }
}

impl From<IpAddr> for Device {
    fn from(ip: IpAddr) -> Self {
        Device::Ip(ip)
    }
}

impl FromStr for Device {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if let Ok(ip) = s.parse::<IpAddr>() {
            return Ok(Device::Ip(ip));
        }
        parse_mac(s).map(Device::Mac).map_err(|_| {
            format!("{s:?} is neither an IP address nor a MAC address (aa:bb:cc:dd:ee:ff)")
        })
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Device::Ip(ip) => write!(f, "{ip}"),
            Device::Mac(m) => write!(
                f,
                "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
                m[0], m[1], m[2], m[3], m[4], m[5]
            ),
        }
    }
}

/// `aa:bb:cc:dd:ee:ff` (or with `-`), hex digits in either case.
pub fn parse_mac(s: &str) -> anyhow::Result<[u8; 6]> {
    let bad = || anyhow::anyhow!("{s:?}: not a MAC address (want aa:bb:cc:dd:ee:ff)");
    let parts: Vec<&str> = s.split([':', '-']).collect();
    if parts.len() != 6 {
        return Err(bad());
    }
    let mut mac = [0u8; 6];
    for (m, p) in mac.iter_mut().zip(parts) {
        if p.len() != 2 || !p.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        *m = u8::from_str_radix(p, 16).map_err(|_| bad())?;
    }
    Ok(mac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_and_mac_parse_and_print_back() {
        for s in ["10.63.7.79", "2001:db8::1", "08:7c:39:96:8a:8c"] {
            assert_eq!(s.parse::<Device>().unwrap().to_string(), s);
        }
        assert_eq!(
            "08-7C-39-96-8A-8C".parse::<Device>().unwrap(),
            Device::Mac([0x08, 0x7c, 0x39, 0x96, 0x8a, 0x8c])
        );
        for bad in [
            "",
            "08:7c:39:96:8a",
            "08:7c:39:96:8a:8c:00",
            "0g:7c:39:96:8a:8c",
            "+8:7c:39:96:8a:8c",
        ] {
            assert!(bad.parse::<Device>().is_err(), "{bad}");
        }
    }

    #[test]
    fn mac_keys_never_equal_address_keys() {
        let mac = Device::Mac([0, 0, 0, 0, 0xff, 0xff]).key();
        let v4 = Device::Ip("0.0.255.255".parse().unwrap()).key();
        assert_ne!(mac, v4);
        assert_eq!(&mac[..10], &[0xff; 10]);
        assert_eq!(mac[15], 0xff);
    }
}
