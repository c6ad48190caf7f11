//! Raw frames onto a real link: an AF_PACKET socket sends exactly the bytes
//! given out of one veth end, another AF_PACKET socket on the peer sees what
//! got past the XDP program there. For what BPF_PROG_TEST_RUN cannot show,
//! such as a 9,000-byte frame reaching the program whole.

use std::{
    io,
    os::fd::{AsRawFd, FromRawFd, OwnedFd},
    time::{Duration, Instant},
};

use crate::netns::Netns;

/// An AF_PACKET socket bound to one interface of one namespace.
pub struct PacketSocket {
    fd: OwnedFd,
    ifindex: i32,
}

const ETH_P_ALL: u16 = 0x0003;

impl PacketSocket {
    /// Opens the socket inside `ns` (it stays in that namespace afterwards).
    pub fn open(ns: &Netns, iface: &str) -> PacketSocket {
        let (fd, ifindex) = bind(ns, iface, ETH_P_ALL)
            .unwrap_or_else(|e| panic!("AF_PACKET socket on {iface} in {}: {e}", ns.name));
        // Jumbo frames in bursts: room for a few hundred.
        let size: libc::c_int = 8 << 20;
        // SAFETY: setsockopt with an int of the right size.
        unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVBUF,
                (&size as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as u32,
            )
        };
        PacketSocket { fd, ifindex }
    }

    /// Sends `frame` as is (Ethernet header included).
    pub fn send(&self, frame: &[u8]) -> io::Result<()> {
        let addr = sockaddr(self.ifindex);
        // SAFETY: the buffer and address are valid for the call.
        let n = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                frame.as_ptr().cast(),
                frame.len(),
                0,
                (&addr as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        assert_eq!(n as usize, frame.len(), "short send");
        Ok(())
    }

    /// The next frame received on the interface (not one it sent), waiting
    /// up to `limit`.
    pub fn recv(&self, limit: Duration) -> Option<Vec<u8>> {
        let start = Instant::now();
        let mut buf = vec![0u8; 65536];
        while start.elapsed() < limit {
            // SAFETY: zeroed sockaddr_ll is a valid out-parameter.
            let mut from: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
            let mut len = std::mem::size_of::<libc::sockaddr_ll>() as u32;
            // SAFETY: buffer and address valid for the call.
            let n = unsafe {
                libc::recvfrom(
                    self.fd.as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    libc::MSG_DONTWAIT,
                    (&mut from as *mut libc::sockaddr_ll).cast(),
                    &mut len,
                )
            };
            if n >= 0 {
                if from.sll_pkttype != libc::PACKET_OUTGOING {
                    return Some(buf[..n as usize].to_vec());
                }
                continue;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        None
    }
}

/// The lab's one AF_PACKET opener: a raw socket made inside `ns` (where it
/// stays), bound to `iface`, receiving `protocol` (an ETH_P_* value; 0:
/// nothing, a socket that only sends). Returns it with the ifindex.
pub fn bind(ns: &Netns, iface: &str, protocol: u16) -> io::Result<(OwnedFd, i32)> {
    let _inside = ns.enter();
    bind_here(iface, protocol).map_err(|e| {
        let msg = format!("{e} (in {})", ns.name);
        io::Error::new(e.kind(), msg)
    })
}

/// [`bind`] in the calling thread's own network namespace.
pub fn bind_here(iface: &str, protocol: u16) -> io::Result<(OwnedFd, i32)> {
    let name = std::ffi::CString::new(iface)?;
    // SAFETY: a valid NUL-terminated name.
    let ifindex = unsafe { libc::if_nametoindex(name.as_ptr()) } as i32;
    if ifindex <= 0 {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("no interface {iface} in this network namespace"),
        ));
    }
    // SAFETY: plain socket(2); the fd is owned below.
    let raw = unsafe {
        libc::socket(
            libc::AF_PACKET,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            i32::from(protocol.to_be()),
        )
    };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh fd nobody else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    let mut addr = sockaddr(ifindex);
    addr.sll_protocol = protocol.to_be();
    // SAFETY: bind with a sockaddr_ll of the right size.
    let rc = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&addr as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as u32,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((fd, ifindex))
}

fn sockaddr(ifindex: i32) -> libc::sockaddr_ll {
    // SAFETY: sockaddr_ll is plain data; all-zero is valid.
    let mut a: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    a.sll_family = libc::AF_PACKET as u16;
    a.sll_protocol = ETH_P_ALL.to_be();
    a.sll_ifindex = ifindex;
    a
}

/// Two namespaces joined by a veth pair with no addresses and IPv6 off on
/// the sending end, so the only frames crossing it are the test's own.
pub struct QuietLink {
    pub tx_ns: Netns,
    pub rx_ns: Netns,
    pub tx_if: &'static str,
    pub rx_if: &'static str,
}

impl QuietLink {
    pub fn new(tag: &str, mtu: u32) -> QuietLink {
        let tx_ns = Netns::new(&format!("{tag}tx"));
        let rx_ns = Netns::new(&format!("{tag}rx"));
        let (tx_if, rx_if) = ("wtx0", "wrx0");
        crate::netns::sh(&format!(
            "ip link add {tx_if} netns {} type veth peer name {rx_if} netns {}",
            tx_ns.name, rx_ns.name
        ));
        for (ns, ifname) in [(&tx_ns, tx_if), (&rx_ns, rx_if)] {
            ns.exec(&format!(
                "sysctl -qw net.ipv6.conf.{ifname}.disable_ipv6=1 && ip link set {ifname} mtu {mtu} up"
            ));
        }
        QuietLink {
            tx_ns,
            rx_ns,
            tx_if,
            rx_if,
        }
    }
}
