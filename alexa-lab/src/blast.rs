//! The project's packet blaster: an AF_PACKET socket in a namespace the
//! test or bench created, `sendmmsg` in batches of [`BATCH`], the qdisc
//! bypassed. It writes only to the veth it is given.

use std::{
    os::fd::AsRawFd as _,
    time::{Duration, Instant},
};

use anyhow::{Context as _, Result};

use crate::{netns::Netns, wire::bind};

/// Frames per `sendmmsg` call.
pub const BATCH: usize = 64;

/// The MAC address of `iface` in `ns`.
pub fn mac(ns: &Netns, iface: &str) -> Result<[u8; 6]> {
    let out = ns.exec(&format!("cat /sys/class/net/{iface}/address"));
    let text = String::from_utf8_lossy(&out.stdout);
    let bytes: Vec<u8> = text
        .trim()
        .split(':')
        .map(|h| u8::from_str_radix(h, 16))
        .collect::<Result<_, _>>()
        .with_context(|| format!("MAC of {iface}: {text:?}"))?;
    bytes
        .try_into()
        .map_err(|_| anyhow::anyhow!("MAC of {iface}: {text:?}"))
}

/// Sends for `secs` from inside `ns`; returns the frames the socket took.
pub fn blast(ns: &Netns, iface: &str, frames: &[Vec<u8>], secs: f64) -> Result<u64> {
    // Protocol 0: the socket receives nothing, it only sends.
    let (socket, _) = bind(ns, iface, 0)
        .with_context(|| format!("AF_PACKET socket on {iface} in {}", ns.name))?;
    let fd = socket.as_raw_fd();
    // The qdisc would only add a lock and a queue in front of the veth.
    let one: libc::c_int = 1;
    // SAFETY: an int option of the right size.
    unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_PACKET,
            libc::PACKET_QDISC_BYPASS,
            &one as *const libc::c_int as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as u32,
        )
    };
    let mut iov: Vec<libc::iovec> = vec![
        libc::iovec {
            iov_base: std::ptr::null_mut(),
            iov_len: 0,
        };
        BATCH
    ];
    // SAFETY: mmsghdr is plain data; zeroed is valid.
    let mut msgs: Vec<libc::mmsghdr> = (0..BATCH).map(|_| unsafe { std::mem::zeroed() }).collect();
    let start = Instant::now();
    let limit = Duration::from_secs_f64(secs);
    let mut sent = 0u64;
    // Every frame in turn, however many: a flood of many flows.
    let mut next = 0usize;
    while start.elapsed() < limit {
        for (m, v) in msgs.iter_mut().zip(iov.iter_mut()) {
            let f = &frames[next % frames.len()];
            next += 1;
            v.iov_base = f.as_ptr() as *mut libc::c_void;
            v.iov_len = f.len();
            m.msg_hdr.msg_iov = v as *mut libc::iovec;
            m.msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: BATCH headers, each pointing at a live frame.
        let n = unsafe { libc::sendmmsg(fd, msgs.as_mut_ptr(), BATCH as u32, 0) };
        if n > 0 {
            sent += n as u64;
            // Frames the socket did not take are offered again next.
            next -= BATCH - n as usize;
        } else {
            next -= BATCH;
        }
    }
    Ok(sent)
}
