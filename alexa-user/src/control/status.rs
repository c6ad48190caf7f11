//! The agent's state as its control socket reports it (`alexa status`,
//! `alexa top`, the HTTP API and the metrics are all built from this one
//! snapshot); the protocol itself is `crate::control`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(default)]
pub struct Status {
    pub iface: String,
    /// `driver` or `generic`.
    pub xdp_mode: String,
    /// `monitor` or `enforce`.
    pub mode: String,
    /// The loaded model's version, 8 hex digits.
    pub model_version: Option<String>,
    pub model_path: Option<String>,
    pub microphone: bool,
    pub devices: Vec<String>,
    pub uptime_s: f64,
    pub pid: u32,
    /// One per class name in `alexa_common::CLASS_NAMES` order, then `unclassified`.
    pub classes: Vec<ClassCount>,
    /// Class name to `pass`, `alert` or `drop`.
    pub policy: BTreeMap<String, String>,
    /// The kernel's counters by name: frames, classified, foreign, other,
    /// malformed, ringbuf_lost, flow_update_failed, quarantined_flows,
    /// quarantine_drops.
    pub counters: BTreeMap<String, u64>,
    pub events_received: u64,
    /// Average kernel run time per packet, from the kernel's BPF stats;
    /// `None` when they are off or unreadable.
    pub kernel_ns_per_packet: Option<f64>,
    /// Alerts and drops, newest last, at most [`RECENT_MAX`].
    pub recent: Vec<RecentVerdict>,
    /// Where the HTTP API's bearer token is (the token itself never
    /// travels in a status: `/api/status` is open to every local user).
    pub api_token_file: Option<String>,
    /// The config file run-time changes are kept in.
    pub config: Option<String>,
    /// Each listed device's traffic, in device-index order.
    pub device_activity: Vec<DeviceActivity>,
    /// When the agent started, seconds since the Unix epoch.
    pub start_time_s: f64,
    /// The kernel's BPF statistics: total run time and runs of the program
    /// since it was loaded; `None` when they are off.
    pub kernel_run_time_ns: Option<u64>,
    pub kernel_runs: Option<u64>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(default)]
pub struct DeviceActivity {
    pub name: String,
    /// The IP or MAC address it is matched by.
    pub address: String,
    /// Packets classified since the agent started (as events received).
    pub packets: u64,
    /// Seconds since its last packet, or since the agent started.
    pub idle_s: f64,
    /// Idle past the silence limit: unplugged, moved to another network,
    /// or its traffic no longer passes this interface.
    pub silent: bool,
}

/// Most entries [`Status::recent`] holds.
pub const RECENT_MAX: usize = 32;

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(default)]
pub struct ClassCount {
    pub class: String,
    pub packets: u64,
    pub bytes: u64,
    pub passed: u64,
    pub alerted: u64,
    pub dropped: u64,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(default)]
pub struct RecentVerdict {
    /// RFC 3339, UTC.
    pub ts: String,
    pub class: String,
    /// `alert` or `drop`.
    pub action: String,
    pub src: String,
    pub dst: String,
    pub dstport: u16,
    pub length: u32,
    /// The verdict also quarantined the packet's flow.
    pub quarantine: bool,
}

impl Status {
    pub fn counter(&self, name: &str) -> u64 {
        self.counters.get(name).copied().unwrap_or(0)
    }
}
