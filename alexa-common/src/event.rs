//! Plain-old-data types that cross the kernel/user boundary. All `#[repr(C)]`
//! with explicit padding, so both sides agree on every byte.

use crate::contract::Feature;

/// One packet's feature record: every integer feature of the contract
/// (version 2; `docs/features.md`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Features {
    /// Microseconds since the previous packet of the same connection.
    pub delta_us: u64,
    /// Frame length: 14 + the IP packet's length.
    pub length: u32,
    /// L4 payload bytes, from the IP lengths.
    pub payload_len: u32,
    /// Whole milliseconds since the connection's previous SSL/TCP-layer packet.
    pub delta: u32,
    /// Position of the packet in its flow, 1 for the first.
    pub flow_index: u32,
    pub dstport: u16,
    pub srcport: u16,
    /// Length field of the first TLS record ending in the segment, 0 when none.
    pub record_len: u16,
    pub _pad: u16,
    pub highest_layer: u8,
    /// Type of the first TLS record ending in the segment, 0 when none.
    pub content_type: u8,
    pub ack_flag: u8,
    pub microphone: u8,
    pub proto: u8,
    pub tcp_flags: u8,
    pub tcp_retrans: u8,
    pub _pad2: u8,
}

impl Features {
    /// Every feature's value indexed by its id (`contract::Feature`), slot
    /// 15 (no feature) 0: what [`Self::get`] returns for ids below 16.
    #[inline(always)]
    pub fn table(&self) -> [u64; 16] {
        [
            self.length as u64,
            self.dstport as u64,
            self.highest_layer as u64,
            self.delta as u64,
            self.ack_flag as u64,
            self.microphone as u64,
            self.content_type as u64,
            self.payload_len as u64,
            self.delta_us,
            self.record_len as u64,
            self.srcport as u64,
            self.proto as u64,
            self.tcp_flags as u64,
            self.flow_index as u64,
            self.tcp_retrans as u64,
            0,
        ]
    }

    /// The value a decision tree compares for `feature`.
    #[inline(always)]
    pub fn get(&self, feature: u8) -> u64 {
        match feature {
            f if f == Feature::Length as u8 => self.length as u64,
            f if f == Feature::Dstport as u8 => self.dstport as u64,
            f if f == Feature::HighestLayer as u8 => self.highest_layer as u64,
            f if f == Feature::Delta as u8 => self.delta as u64,
            f if f == Feature::AckFlag as u8 => self.ack_flag as u64,
            f if f == Feature::Microphone as u8 => self.microphone as u64,
            f if f == Feature::ContentType as u8 => self.content_type as u64,
            f if f == Feature::PayloadLen as u8 => self.payload_len as u64,
            f if f == Feature::DeltaUs as u8 => self.delta_us,
            f if f == Feature::RecordLen as u8 => self.record_len as u64,
            f if f == Feature::Srcport as u8 => self.srcport as u64,
            f if f == Feature::Proto as u8 => self.proto as u64,
            f if f == Feature::TcpFlags as u8 => self.tcp_flags as u64,
            f if f == Feature::FlowIndex as u8 => self.flow_index as u64,
            f if f == Feature::TcpRetrans as u8 => self.tcp_retrans as u64,
            _ => 0,
        }
    }
}

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
    /// Class id (`CLASS_NAMES`), or `CLASS_NONE`.
    pub class: u8,
    /// What the kernel did with it (`policy::action`).
    pub action: u8,
    /// `policy::flag` bits.
    pub flags: u8,
    /// Index (0..[`DEVICE_CAPACITY`]) user space gave the monitored device
    /// that sent the packet: the value of its `DEVICES` map entry (the
    /// source IP's entry when both the IP and the MAC are listed).
    pub device: u8,
    /// How many bytes of `snap` hold the frame's first bytes (with `flag::SNAP`).
    pub snap_len: u16,
    pub _pad2: u16,
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

/// The agent's run-time settings, one entry of the `CONFIG` array map.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Config {
    /// 1 microphone on, 0 muted.
    pub microphone: u32,
    /// `policy::mode`.
    pub mode: u32,
    /// Quarantine: K `not_justified` packets of a flow within T milliseconds
    /// quarantine it for Q milliseconds; K = 0 disables quarantine.
    pub quarantine_packets: u32,
    pub quarantine_window_ms: u32,
    pub quarantine_hold_ms: u32,
    /// Classes (bit = class id) whose events carry the frame's first bytes;
    /// drops always do.
    pub evidence_classes: u32,
    /// [`CONFIG_INITIALIZED`] once an agent has set this up: a restarted
    /// agent adopting pinned maps keeps what it finds.
    pub initialized: u32,
    pub _reserved: u32,
}

pub const CONFIG_INITIALIZED: u32 = 0xa1e7_a001;

impl Config {
    pub fn quarantine_rule(&self) -> crate::policy::QuarantineRule {
        crate::policy::QuarantineRule {
            packets: self.quarantine_packets,
            window_ns: self.quarantine_window_ms as u64 * 1_000_000,
            hold_ns: self.quarantine_hold_ms as u64 * 1_000_000,
        }
    }
}

/// Indices of the per-CPU `COUNTERS` array map.
pub mod counter {
    /// Every frame the program saw.
    pub const FRAMES: u32 = 0;
    /// Device packets classified (an event was due for each).
    pub const CLASSIFIED: u32 = 1;
    /// Valid IP packets from hosts that are not monitored devices.
    pub const FOREIGN: u32 = 2;
    /// Device frames the contract does not classify (ARP, ICMP, later fragments, other L4...).
    pub const OTHER: u32 = 3;
    /// Frames the parser could not make sense of; passed, never classified.
    pub const MALFORMED: u32 = 4;
    /// Events that did not fit in the ring buffer.
    pub const RINGBUF_LOST: u32 = 5;
    /// Flow-state updates the flow map refused.
    pub const FLOW_UPDATE_FAILED: u32 = 6;
    /// Flows put into quarantine.
    pub const QUARANTINED_FLOWS: u32 = 7;
    /// Packets dropped because their flow was quarantined.
    pub const QUARANTINE_DROPS: u32 = 8;
    /// Packets dropped (by policy or quarantine).
    pub const DROPPED: u32 = 9;
    /// Quarantine-record updates the quarantine map refused.
    pub const QUARANTINE_UPDATE_FAILED: u32 = 10;
    pub const COUNT: u32 = 11;
    pub const NAMES: [&str; COUNT as usize] = [
        "frames",
        "classified",
        "foreign",
        "other",
        "malformed",
        "ringbuf_lost",
        "flow_update_failed",
        "quarantined_flows",
        "quarantine_drops",
        "dropped",
        "quarantine_update_failed",
    ];
}

/// Per-class traffic by action: the `CLASS_STATS` per-CPU array map, entry
/// [`stat_index`]`(class, action)`, with one more class row ([`UNCLASSIFIED`])
/// for packets no model classified.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClassStat {
    pub packets: u64,
    /// Frame bytes (as on the wire, padding included).
    pub bytes: u64,
}

/// `CLASS_STATS` index of packets no model classified.
pub const UNCLASSIFIED: u32 = crate::contract::NUM_CLASSES as u32;
/// Entries of `CLASS_STATS`.
pub const CLASS_STAT_ENTRIES: u32 = (UNCLASSIFIED + 1) * crate::policy::action::COUNT as u32;

#[inline(always)]
pub fn stat_index(class_row: u32, action: u8) -> u32 {
    class_row * crate::policy::action::COUNT as u32 + action as u32
}

/// Model slots: the tree map holds two trees of `TREE_CAPACITY` nodes; the
/// agent writes a new model into the slot not in use, then flips `ACTIVE`
/// (one aligned u32), so no packet ever walks a half-written tree.
pub const MODEL_SLOTS: u32 = 2;

/// Map names, shared so the agent looks up exactly what the program defines.
pub mod maps {
    pub const TREE: &str = crate::tree::TREE_MAP;
    /// Version of the model in each slot (0: empty).
    pub const MODELS: &str = "MODELS";
    /// Index of the slot in use.
    pub const ACTIVE: &str = "ACTIVE";
    pub const CLASS_STATS: &str = "CLASS_STATS";
    pub const DEVICES: &str = "DEVICES";
    pub const FLOWS: &str = "FLOWS";
    pub const EVENTS: &str = "EVENTS";
    pub const COUNTERS: &str = "COUNTERS";
    pub const CONFIG: &str = "CONFIG";
    /// Action per class id (`policy::action`).
    pub const POLICY: &str = "POLICY";
    pub const QUARANTINE: &str = "QUARANTINE";
    /// Per CPU, when the classifier last woke the ring buffer's consumer.
    pub const LAST_WAKE: &str = "LAST_WAKE";
    /// One u64: [`super::device_filter_bit`] of every monitored device.
    pub const DEVICE_FILTER: &str = "DEVICE_FILTER";
    /// One u64: until when (`bpf_ktime_get_ns`) the agent polls the ring
    /// buffer on its own ([`super::POLL_MARGIN_NS`]).
    pub const POLLING: &str = "POLLING";
    /// Every map, for pinning and `alexa detach`.
    pub const ALL: [&str; 14] = [
        TREE,
        MODELS,
        ACTIVE,
        CLASS_STATS,
        DEVICES,
        FLOWS,
        EVENTS,
        COUNTERS,
        CONFIG,
        POLICY,
        QUARANTINE,
        LAST_WAKE,
        DEVICE_FILTER,
        POLLING,
    ];
}

/// Name of the XDP program in the object file.
pub const PROGRAM_NAME: &str = "alexa_classify";

/// Capacity of the kernel's LRU flow map.
pub const FLOW_CAPACITY: u32 = 65_536;
/// Capacity of the quarantine map: flows with recent `not_justified` packets.
pub const QUARANTINE_CAPACITY: u32 = 16_384;
/// Capacity of the device set, and the bound of a device's index (the
/// `DEVICES` map's value, [`EventHead::device`]).
pub const DEVICE_CAPACITY: u32 = 64;

/// A device address's bit in the `DEVICE_FILTER` word, from its last byte
/// (the part that differs between hosts of one LAN). A source whose bit is
/// clear is not a device, decided without hashing it for the device map:
/// most of a LAN's traffic takes the fast path on one array read. The word
/// always holds at least the bits of every address in the device map
/// (bits are set before a device is added, cleared after it is removed).
#[inline(always)]
pub const fn device_filter_bit(addr: &[u8; 16]) -> u64 {
    1 << (addr[15] & 63)
}
/// Ring buffer size in bytes (a power of two, a multiple of the page size).
pub const RINGBUF_BYTES: u32 = 1 << 22;
/// The classifier wakes the ring buffer's consumer at most once per this
/// interval on each CPU; the consumer, once woken, polls every interval
/// until two have passed without a wake-up. It bounds both the wake-ups
/// (4,000 per second per CPU) and how long an event can wait (one interval).
pub const WAKE_INTERVAL_NS: u64 = 250_000;
/// While the agent polls the ring buffer (it writes until when into the
/// `POLLING` map, and keeps polling past that instant), the classifier
/// wakes nobody: a wake-up is an `irq_work` self-IPI, which in a guest traps
/// to the hypervisor (7 % of the classifier's time in a profile). It stops
/// counting on the agent this long before the announced end, so that an
/// event submitted silently is committed before the agent's last poll (a
/// program run takes well under a microsecond, and XDP is not preempted).
pub const POLL_MARGIN_NS: u64 = 50_000;

#[cfg(feature = "user")]
mod pod {
    // SAFETY: all are #[repr(C)], made of integers and byte arrays, with every
    // padding byte spelled out, so any bit pattern is a valid value.
    unsafe impl aya::Pod for super::Features {}
    unsafe impl aya::Pod for super::Event {}
    unsafe impl aya::Pod for super::EventHead {}
    unsafe impl aya::Pod for super::Config {}
    unsafe impl aya::Pod for super::ClassStat {}
    unsafe impl aya::Pod for crate::flow::FlowKey {}
    unsafe impl aya::Pod for crate::flow::FlowState {}
    unsafe impl aya::Pod for crate::policy::Quarantine {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_agrees_with_get_for_every_feature_id() {
        let f = Features {
            delta_us: 1 << 40,
            length: 2,
            payload_len: 3,
            delta: 4,
            flow_index: 5,
            dstport: 6,
            srcport: 7,
            record_len: 8,
            _pad: 0,
            highest_layer: 9,
            content_type: 10,
            ack_flag: 11,
            microphone: 12,
            proto: 13,
            tcp_flags: 14,
            tcp_retrans: 15,
            _pad2: 0,
        };
        let t = f.table();
        for id in 0..16u8 {
            assert_eq!(t[id as usize], f.get(id), "feature {id}");
        }
        assert!(
            t[..15].iter().all(|&v| v != 0),
            "a feature missing from the table"
        );
    }

    #[test]
    fn layouts_have_no_hidden_padding() {
        assert_eq!(core::mem::size_of::<Features>(), 40);
        assert_eq!(EVENT_HEAD_SIZE, 96);
        assert_eq!(EVENT_SIZE, EVENT_HEAD_SIZE + SNAP_LEN);
        assert_eq!(core::mem::size_of::<Config>(), 32);
        assert_eq!(core::mem::size_of::<crate::policy::Quarantine>(), 24);
    }
}
