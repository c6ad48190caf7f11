//! What the kernel sends the agent through the ring buffer about each
//! classified packet. `#[repr(C)]` with explicit padding, so both sides
//! agree on every byte.

use crate::{contract::Class, features::Features, policy::Action};

/// What the kernel tells the agent about one classified packet. Most
/// packets' records are this head alone ([`EVENT_HEAD_SIZE`] bytes); an
/// evidence packet's record is a whole [`Event`], the head and the frame's
/// first bytes. The ring buffer then holds 2.3 times as many ordinary events,
/// and the agent reads less than half the memory per event.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EventHead {
    /// `bpf_ktime_get_ns()` when the packet was seen (CLOCK_MONOTONIC).
    pub ts_ns: u64,
    pub features: Features,
    /// Source and destination address; IPv4 as IPv4-mapped IPv6 (`::ffff:a.b.c.d`).
    pub src: [u8; 16],
    pub dst: [u8; 16],
    /// Version of the model that classified the packet, 0 when none is loaded.
    pub model_version: u32,
    /// Frame length on the wire (the XDP buffer), padding included.
    pub frame_len: u32,
    /// [`Class`] number, or `CLASS_NONE` ([`EventHead::class`]).
    pub class: u8,
    /// [`Action`] number: what the kernel did with it ([`EventHead::action`]).
    pub action: u8,
    /// `policy::flag` bits.
    pub flags: u8,
    /// Index (0..`maps::DEVICE_CAPACITY`) user space gave the monitored device
    /// that sent the packet: the value of its `DEVICES` map entry (the
    /// source IP's entry when both the IP and the MAC are listed).
    pub device: u8,
    /// How many bytes of `snap` hold the frame's first bytes (with `flag::SNAP`).
    pub snap_len: u16,
    pub _pad2: u16,
}

impl EventHead {
    /// The packet's class; `None` when no model classified it.
    pub fn class(&self) -> Option<Class> {
        Class::from_u8(self.class)
    }

    /// What the kernel did; a number that is no action passed (as the
    /// kernel treats one in the policy map).
    pub fn action(&self) -> Action {
        Action::from_u8(self.action).unwrap_or(Action::Pass)
    }
}

/// An event as the agent handles it: the head, and the snap of an evidence
/// packet (zeroes for a head-only record). Reads and writes of the head's
/// fields go through `Deref`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    pub head: EventHead,
    /// The frame's first `snap_len` bytes, for the evidence capture.
    pub snap: [u8; SNAP_LEN],
}

impl core::ops::Deref for Event {
    type Target = EventHead;
    fn deref(&self) -> &EventHead {
        &self.head
    }
}

impl core::ops::DerefMut for Event {
    fn deref_mut(&mut self) -> &mut EventHead {
        &mut self.head
    }
}

impl Default for Event {
    fn default() -> Self {
        // SAFETY: integers and byte arrays only: all zeroes is a valid value.
        unsafe { core::mem::zeroed() }
    }
}

/// Bytes of a frame the kernel copies into an evidence event: Ethernet, IP
/// and TCP headers with options, and the start of the payload (a TLS record
/// header), without shipping whole uploads through the ring buffer.
pub const SNAP_LEN: usize = 128;

/// A record with the snap: an evidence packet's.
pub const EVENT_SIZE: usize = core::mem::size_of::<Event>();
/// A record without: every other packet's.
pub const EVENT_HEAD_SIZE: usize = core::mem::size_of::<EventHead>();

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_have_no_hidden_padding() {
        assert_eq!(EVENT_HEAD_SIZE, 96);
        assert_eq!(EVENT_SIZE, EVENT_HEAD_SIZE + SNAP_LEN);
    }
}
