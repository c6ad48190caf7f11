//! Deterministic traffic for the agent's end-to-end tests: flows of TCP
//! segments of a chosen size from the device namespace (crafted on a raw
//! socket: one flow, in-order sequence numbers, no handshake, so each
//! segment is exactly one packet of a known length), a counting receiver on
//! the other side, and a model trained (by the real `alexa train`) on a rule
//! the tests can predict from the payload length alone: 1000+ bytes
//! `not_justified`, 500..999 `justified`, shorter `expected`. TCP, not UDP:
//! the contract classifies UDP `not_relevant` by rule, without the model.

use std::{collections::HashMap, path::Path, process::Command, time::Duration};

use crate::{
    agent::{lab_bin, wait_for, Running},
    netns::Netns,
};

pub const BIG: usize = 1200;
pub const MID: usize = 700;
pub const SMALL: usize = 100;

/// The class the rule model gives a UDP payload of `len` bytes.
pub fn rule_class(len: usize) -> &'static str {
    if len >= 1000 {
        "not_justified"
    } else if len >= 500 {
        "justified"
    } else {
        "expected"
    }
}

/// Trains the rule model into `dir/rule-model.json`.
pub fn rule_model(dir: &Path) -> std::path::PathBuf {
    let mut csv = alexa::offline::row::csv_header();
    csv.push('\n');
    for port in [4444u16, 5555, 6666, 7777] {
        for len in [
            0usize, 1, 50, 100, 300, 499, 500, 700, 999, 1000, 1001, 1200, 1400,
        ] {
            for _ in 0..3 {
                csv.push_str(&format!(
                    "2026-01-01 00:00:00.000000,{},10.0.0.1,{port},2,0,1,1,,1,{},{len},1000,0,40000,6,24,1,0\n",
                    54 + len,
                    rule_class(len)
                ));
            }
        }
    }
    let data = dir.join("rule-dataset.csv");
    std::fs::write(&data, csv).expect("write the rule dataset");
    let model = dir.join("rule-model.json");
    let out = Command::new(lab_bin())
        .arg("train")
        .arg(&data)
        .arg("--out")
        .arg(&model)
        .args(["--features", "payload_len", "--class-weight", "none"])
        .output()
        .expect("run alexa train");
    assert!(
        out.status.success(),
        "alexa train: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    model
}

/// A receiver in `ns` counting the TCP segments that arrive, per
/// destination port (a raw socket: no listener, the stack answers RST).
pub struct SegmentSink {
    _proc: Running,
    file: std::path::PathBuf,
}

impl SegmentSink {
    pub fn start(ns: &Netns, ports: &[u16], file: &Path) -> SegmentSink {
        let _ = std::fs::remove_file(file);
        let proc = Running::spawn(
            Command::new("ip")
                .args(["netns", "exec", &ns.name, "python3"])
                .arg(crate::files::python("segment_sink.py"))
                .arg(file)
                .args(ports.iter().map(u16::to_string)),
        );
        let sink = SegmentSink {
            _proc: proc,
            file: file.to_owned(),
        };
        assert!(
            wait_for(Duration::from_secs(5), || sink.file.exists()),
            "the segment receiver did not start"
        );
        sink
    }

    pub fn counts(&self) -> HashMap<u16, u64> {
        let text = std::fs::read_to_string(&self.file).unwrap_or_default();
        let v: HashMap<String, u64> = serde_json::from_str(&text).unwrap_or_default();
        v.into_iter()
            .map(|(k, n)| (k.parse().expect("port"), n))
            .collect()
    }

    /// Waits until the counts stop changing (everything in flight arrived).
    pub fn settled(&self) -> HashMap<u16, u64> {
        let mut last = self.counts();
        loop {
            std::thread::sleep(Duration::from_millis(300));
            let now = self.counts();
            if now == last {
                return now;
            }
            last = now;
        }
    }
}

/// The shell command (for `Netns::exec`) that sends `count` TCP segments
/// (ACK, PSH) of `len` payload bytes (0: for 60 s), one flow (source port
/// `sport`) from `src` (default: the route's source address) to
/// `dst:dport`, `gap_ms` apart, with consecutive sequence numbers (no
/// segment is a retransmission): tests/python/segments.py.
pub fn segments_script(
    src: Option<&str>,
    dst: &str,
    sport: u16,
    dport: u16,
    len: usize,
    count: usize,
    gap_ms: u64,
) -> String {
    format!(
        "python3 '{}' flow '{}' {dst} {sport} {dport} {len} {count} {gap_ms}",
        crate::files::python("segments.py").display(),
        src.unwrap_or("")
    )
}

/// The arguments of `python3` sending segments of varied sizes (0–1399
/// bytes) to 50 ports of `dst`, one flow per port, for `seconds`.
pub fn varied_segments_args(dst: &str, seconds: u32) -> Vec<String> {
    vec![
        crate::files::python("segments.py").display().to_string(),
        "varied".into(),
        dst.into(),
        seconds.to_string(),
    ]
}
