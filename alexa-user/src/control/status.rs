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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::{client::STATUS_TIMEOUT, fetch_status, parse_response, Request, Response};
    use anyhow::{anyhow, Result};
    use std::time::Duration;
    use std::{
        io::{BufRead as _, BufReader, Write as _},
        os::unix::net::UnixListener,
    };

    fn ok_line(s: Status) -> String {
        let mut line = serde_json::to_string(&Response {
            ok: true,
            status: Some(Box::new(s)),
            ..Default::default()
        })
        .unwrap();
        line.push('\n');
        line
    }

    fn parse_reply(line: &str) -> Result<Status> {
        let r = parse_response(line)?;
        if !r.ok {
            anyhow::bail!("the agent refused: {}", r.error.unwrap_or_default());
        }
        r.status.map(|s| *s).ok_or_else(|| anyhow!("no status"))
    }

    fn sample() -> Status {
        Status {
            iface: "eth1".into(),
            xdp_mode: "driver".into(),
            mode: "enforce".into(),
            model_version: Some("1a2b3c4d".into()),
            model_path: Some("/usr/local/share/alexa/models/echo.json".into()),
            microphone: false,
            devices: vec!["192.168.1.50".into()],
            uptime_s: 12.5,
            pid: 4242,
            classes: vec![ClassCount {
                class: "syn".into(),
                packets: 3,
                bytes: 222,
                passed: 3,
                ..Default::default()
            }],
            policy: [("not_justified".to_owned(), "drop".to_owned())].into(),
            counters: [("frames".to_owned(), 10u64)].into(),
            events_received: 3,
            kernel_ns_per_packet: Some(87.5),
            recent: vec![RecentVerdict {
                ts: "2025-01-02T03:04:05Z".into(),
                class: "not_justified".into(),
                action: "drop".into(),
                src: "192.168.1.50".into(),
                dst: "52.94.233.12".into(),
                dstport: 443,
                length: 1400,
                quarantine: true,
            }],
            ..Default::default()
        }
    }

    #[test]
    fn reply_round_trips_with_the_documented_field_names() {
        let line = ok_line(sample());
        assert!(line.ends_with('\n') && !line[..line.len() - 1].contains('\n'));
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["ok"], true);
        for key in [
            "iface",
            "xdp_mode",
            "mode",
            "model_version",
            "model_path",
            "microphone",
            "devices",
            "uptime_s",
            "pid",
            "classes",
            "policy",
            "counters",
            "events_received",
            "kernel_ns_per_packet",
            "recent",
        ] {
            assert!(v["status"].get(key).is_some(), "no {key} in {line}");
        }
        assert_eq!(v["status"]["recent"][0]["dstport"], 443);
        assert_eq!(v["status"]["classes"][0]["alerted"], 0);
        assert_eq!(parse_reply(&line).unwrap(), sample());
    }

    #[test]
    fn missing_fields_take_defaults() {
        let s = parse_reply(r#"{"ok":true,"status":{"iface":"gw0","future_field":1}}"#).unwrap();
        assert_eq!(s.iface, "gw0");
        assert_eq!(s.kernel_ns_per_packet, None);
        assert!(s.classes.is_empty());
    }

    #[test]
    fn refusals_and_garbage_are_errors() {
        let e = parse_reply(r#"{"ok":false,"error":"unknown command"}"#).unwrap_err();
        assert_eq!(e.to_string(), "the agent refused: unknown command");
        let e = parse_reply("hello").unwrap_err();
        assert!(
            e.to_string().starts_with("the agent's reply is not JSON"),
            "{e}"
        );
        assert!(parse_reply(r#"{"ok":true}"#).is_err());
    }

    fn temp_socket(tag: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("alexa-status-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("control.sock")
    }

    #[test]
    fn fetches_from_a_socket() {
        let path = temp_socket("ok");
        let listener = UnixListener::bind(&path).unwrap();
        let server = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut line = String::new();
            BufReader::new(&conn).read_line(&mut line).unwrap();
            conn.write_all(ok_line(sample()).as_bytes()).unwrap();
            line
        });
        assert_eq!(fetch_status(&path).unwrap(), sample());
        let sent: Request = serde_json::from_str(&server.join().unwrap()).unwrap();
        assert_eq!(sent, Request::Status);
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn unreachable_agent_is_one_clear_line() {
        let path = temp_socket("absent");
        let e = format!("{:#}", fetch_status(&path).unwrap_err());
        assert!(!e.contains('\n'), "{e}");
        assert!(
            e.starts_with(&format!("cannot reach the agent at {}: ", path.display())),
            "{e}"
        );
        assert!(
            e.ends_with("(is `alexa run` running? are you root?)"),
            "{e}"
        );
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn silent_agent_times_out() {
        let path = temp_socket("silent");
        let listener = UnixListener::bind(&path).unwrap();
        let hold = std::thread::spawn(move || {
            let (conn, _) = listener.accept().unwrap();
            std::thread::sleep(STATUS_TIMEOUT + Duration::from_millis(500));
            drop(conn);
        });
        let start = std::time::Instant::now();
        let e = format!("{:#}", fetch_status(&path).unwrap_err());
        assert!(start.elapsed() < STATUS_TIMEOUT + Duration::from_millis(400));
        assert!(e.contains("no reply within 2 s"), "{e}");
        hold.join().unwrap();
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn agent_closing_early_is_reported() {
        let path = temp_socket("closed");
        let listener = UnixListener::bind(&path).unwrap();
        let server = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut line = String::new();
            BufReader::new(&conn).read_line(&mut line).unwrap();
            conn.write_all(b"{\"ok\":true,").unwrap();
        });
        let e = format!("{:#}", fetch_status(&path).unwrap_err());
        assert!(e.contains("its reply was cut short"), "{e}");
        server.join().unwrap();
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }
}
