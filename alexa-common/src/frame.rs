//! The one way packet bytes are read, by the kernel and by the offline tools.

use network_types::{
    eth::EthHdr, ip::Ipv4Hdr, ip::Ipv6Hdr, tcp::TcpHdr, udp::UdpHdr, vlan::VlanHdr,
};

/// Types that may be read from packet bytes: every bit pattern is a valid value.
///
/// # Safety
/// Implement only for `Copy` types made of integers and byte arrays.
pub unsafe trait Plain: Copy {}

// SAFETY: byte arrays and network-types' header structs (#[repr(C)] of u8,
// u16 and byte arrays) accept any bit pattern.
unsafe impl<const N: usize> Plain for [u8; N] {}
unsafe impl Plain for EthHdr {}
unsafe impl Plain for VlanHdr {}
unsafe impl Plain for Ipv4Hdr {}
unsafe impl Plain for Ipv6Hdr {}
unsafe impl Plain for TcpHdr {}
unsafe impl Plain for UdpHdr {}

/// Bounds-checked reads of a frame's bytes.
///
/// Every read names its offset and type and either returns the whole value or
/// `None`; nothing else touches packet memory. The kernel implements it over
/// `xdp_md` (where the check is what the verifier needs to see), user space
/// over a byte slice.
pub trait Frame {
    /// Whether the frame holds at least `end` bytes. (A length is not asked
    /// for: the verifier reasons about pointer comparisons, not about
    /// `data_end - data`.)
    fn covers(&self, end: usize) -> bool;

    /// The `T` stored at `off`, or `None` when it is not all inside the frame.
    fn load<T: Plain>(&self, off: usize) -> Option<T>;

    /// The `T` at `off` in place, or `None` when it is not all inside the
    /// frame; for byte-aligned types only (a header of byte arrays). Reading
    /// the fields a parser needs where they are costs the kernel far less
    /// than [`Frame::load`]'s copy, which the BPF target makes byte by byte
    /// (twice, with the move): 80 instructions for an IPv6 header.
    fn get<T: Plain>(&self, off: usize) -> Option<&T>;

    /// [`Frame::load`] at an offset computed from packet data (the TLS
    /// record walk's): the kernel copies through `bpf_xdp_load_bytes`,
    /// whose bounds the helper checks, since the verifier cannot follow a
    /// direct read at such an offset through a loop.
    #[inline(always)]
    fn load_at<T: Plain>(&self, off: usize) -> Option<T> {
        self.load(off)
    }
}

impl Frame for [u8] {
    fn covers(&self, end: usize) -> bool {
        end <= self.len()
    }

    #[inline]
    fn load<T: Plain>(&self, off: usize) -> Option<T> {
        let end = off.checked_add(core::mem::size_of::<T>())?;
        let bytes = self.get(off..end)?;
        // SAFETY: `bytes` holds exactly size_of::<T>() bytes, the read is
        // unaligned, and `T: Plain` accepts any bit pattern.
        Some(unsafe { core::ptr::read_unaligned(bytes.as_ptr().cast::<T>()) })
    }

    #[inline]
    fn get<T: Plain>(&self, off: usize) -> Option<&T> {
        const { assert!(core::mem::align_of::<T>() == 1) };
        let end = off.checked_add(core::mem::size_of::<T>())?;
        let bytes = self.get(off..end)?;
        // SAFETY: `bytes` holds exactly size_of::<T>() bytes, T is
        // byte-aligned, and `T: Plain` accepts any bit pattern.
        Some(unsafe { &*bytes.as_ptr().cast::<T>() })
    }
}

#[inline(always)]
pub(crate) fn be16(b: [u8; 2]) -> u16 {
    u16::from_be_bytes(b)
}

#[inline(always)]
pub(crate) fn be32(b: [u8; 4]) -> u32 {
    u32::from_be_bytes(b)
}
