//! The frame of an XDP context for the shared contract parser
//! (`alexa_common::Frame`): every read bounds-checked in the form the
//! verifier accepts. In the lib so that the lab's reference programs
//! (alexa-lab-ebpf) parse exactly as the classifier does.

use alexa_common::{Frame, Plain};
use aya_ebpf::{helpers::bpf_xdp_load_bytes, programs::XdpContext};

/// The frame of an XDP context, read through bounds checks the verifier sees.
pub struct XdpFrame<'a>(pub &'a XdpContext);

impl Frame for XdpFrame<'_> {
    #[inline(always)]
    fn covers(&self, end: usize) -> bool {
        // No frame reaching XDP is 64 KiB long; the cap also keeps the
        // verifier's range for `end` within what it accepts for packet offsets.
        end <= 0xffff && self.0.data() + end <= self.0.data_end()
    }

    #[inline(always)]
    fn load<T: Plain>(&self, off: usize) -> Option<T> {
        if core::mem::size_of::<T>() == 1 && off > 0 {
            // LLVM folds `p + 1 > end` into `p >= end`, from which the
            // verifier learns no readable range; a 2-byte read ending at the
            // byte keeps the comparison in a form it understands.
            let pair = self.load::<[u8; 2]>(off - 1)?;
            // SAFETY: T is one byte and accepts any bit pattern.
            return Some(unsafe { core::mem::transmute_copy::<u8, T>(&pair[1]) });
        }
        let start = self.0.data() + off;
        if off > 0xffff || start + core::mem::size_of::<T>() > self.0.data_end() {
            return None;
        }
        // SAFETY: the whole T lies inside the packet (checked just above),
        // the read is unaligned and T accepts any bit pattern.
        Some(unsafe { core::ptr::read_unaligned(start as *const T) })
    }

    #[inline(always)]
    fn get<T: Plain>(&self, off: usize) -> Option<&T> {
        const { assert!(core::mem::align_of::<T>() == 1) };
        let start = self.0.data() + off;
        if off > 0xffff || start + core::mem::size_of::<T>() > self.0.data_end() {
            return None;
        }
        // SAFETY: the whole T lies inside the packet (checked just above),
        // which stays put for this program run; T is byte-aligned and
        // accepts any bit pattern.
        Some(unsafe { &*(start as *const T) })
    }

    #[inline(always)]
    fn load_at<T: Plain>(&self, off: usize) -> Option<T> {
        let mut value = core::mem::MaybeUninit::<T>::uninit();
        // SAFETY: the helper writes exactly size_of::<T>() bytes into
        // `value` or fails (offset or length beyond the frame) and returns
        // non-zero; T accepts any bit pattern.
        unsafe {
            if off > 0xffff
                || bpf_xdp_load_bytes(
                    self.0.ctx,
                    off as u32,
                    value.as_mut_ptr() as *mut _,
                    core::mem::size_of::<T>() as u32,
                ) != 0
            {
                return None;
            }
            Some(value.assume_init())
        }
    }
}
