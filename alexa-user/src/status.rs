//! What a running agent reports about itself (`alexa status`, `alexa top`,
//! the HTTP API and the metrics are all built from this one snapshot).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Status {
    pub iface: String,
    /// "driver", "generic", or "pinned" (adopted from an earlier agent).
    pub xdp_mode: String,
    /// "monitor" or "enforce".
    pub mode: String,
    /// 8 hex digits; None without a model.
    pub model_version: Option<String>,
    pub model_path: Option<String>,
    pub microphone: bool,
    pub devices: Vec<String>,
    pub uptime_s: f64,
    pub pid: u32,
    /// One per class, in the contract's order, then "unclassified".
    pub classes: Vec<ClassCount>,
    /// class -> "pass" | "alert" | "drop".
    pub policy: BTreeMap<String, String>,
    /// The kernel's counters by name.
    pub counters: BTreeMap<String, u64>,
    pub events_received: u64,
    /// Average kernel run time per packet from the BPF statistics.
    pub kernel_ns_per_packet: Option<f64>,
    /// Latest alerts and drops, newest last.
    pub recent: Vec<RecentVerdict>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct ClassCount {
    pub class: String,
    pub packets: u64,
    pub bytes: u64,
    pub passed: u64,
    pub alerted: u64,
    pub dropped: u64,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct RecentVerdict {
    /// RFC 3339, UTC.
    pub ts: String,
    pub class: String,
    pub action: String,
    pub src: String,
    pub dst: String,
    pub dstport: u16,
    pub length: u32,
    pub quarantine: bool,
}

/// How many recent alerts and drops a status carries.
pub const RECENT: usize = 32;
