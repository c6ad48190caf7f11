//! The kernel program's maps as both sides name and size them: map names,
//! capacities, the agent's run-time settings (`Config`), the counters and
//! per-class statistics, and the ring buffer's wake-up rules.

use crate::{
    contract::Class,
    policy::{Action, Mode, QuarantineRule},
};

/// Name of the XDP program in the object file.
pub const PROGRAM_NAME: &str = "alexa_classify";

/// The agent's run-time settings, one entry of the `CONFIG` array map.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Config {
    /// 1 microphone on, 0 muted.
    pub microphone: u32,
    /// [`Mode`] as a number; any number but enforce's monitors ([`Config::mode`]).
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
    #[inline(always)]
    pub fn mode(&self) -> Mode {
        Mode::from_config(self.mode)
    }

    pub fn quarantine_rule(&self) -> QuarantineRule {
        QuarantineRule {
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
pub const UNCLASSIFIED: u32 = Class::COUNT as u32;
/// Entries of `CLASS_STATS`.
pub const CLASS_STAT_ENTRIES: u32 = (UNCLASSIFIED + 1) * Action::COUNT as u32;

/// The `CLASS_STATS` entry of a class id (or [`UNCLASSIFIED`]) and an
/// [`Action`] number.
#[inline(always)]
pub fn stat_index(class_row: u32, action: u8) -> u32 {
    class_row * Action::COUNT as u32 + action as u32
}

/// Model slots: the tree map holds two trees of `TREE_CAPACITY` nodes; the
/// agent writes a new model into the slot not in use, then flips `ACTIVE`
/// (one aligned u32), so no packet ever walks a half-written tree.
pub const MODEL_SLOTS: u32 = 2;

// Map names, shared so the agent looks up exactly what the program defines.

/// The compiled trees ([`MODEL_SLOTS`] of `tree::TREE_CAPACITY` nodes).
pub const TREE: &str = "TREE";
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
/// [`Action`] number per class id.
pub const POLICY: &str = "POLICY";
pub const QUARANTINE: &str = "QUARANTINE";
/// Per CPU, when the classifier last woke the ring buffer's consumer.
pub const LAST_WAKE: &str = "LAST_WAKE";
/// One u64: [`device_filter_bit`] of every monitored device.
pub const DEVICE_FILTER: &str = "DEVICE_FILTER";
/// One u64: until when (`bpf_ktime_get_ns`) the agent polls the ring
/// buffer on its own ([`POLL_MARGIN_NS`]).
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

/// Capacity of the kernel's LRU flow map.
pub const FLOW_CAPACITY: u32 = 65_536;
/// Capacity of the quarantine map: flows with recent `not_justified` packets.
pub const QUARANTINE_CAPACITY: u32 = 16_384;
/// Capacity of the device set, and the bound of a device's index (the
/// `DEVICES` map's value, `EventHead::device`).
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_has_no_hidden_padding() {
        assert_eq!(core::mem::size_of::<Config>(), 32);
    }

    #[test]
    fn every_class_and_action_has_its_own_stat_entry() {
        let mut seen = [false; CLASS_STAT_ENTRIES as usize];
        for row in 0..=UNCLASSIFIED {
            for a in Action::ALL {
                let i = stat_index(row, a as u8) as usize;
                assert!(!seen[i], "row {row}, {a}");
                seen[i] = true;
            }
        }
        assert!(seen.iter().all(|s| *s));
    }
}
