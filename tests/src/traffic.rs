//! Deterministic traffic for the agent's end-to-end tests: UDP flows of a
//! chosen size from the device namespace, a counting receiver on the other
//! side, and a model trained (by the real `alexa train`) on a rule the tests
//! can predict from the payload length alone: 1000+ bytes `not_justified`,
//! 500..999 `justified`, shorter `expected`.

use std::{collections::HashMap, path::Path, process::Command, time::Duration};

use crate::{
    agent::{alexa_bin, wait_for, Running},
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
    let mut csv = alexa::record::csv_header();
    csv.push('\n');
    for port in [4444u16, 5555, 6666, 7777] {
        for len in [
            0usize, 1, 50, 100, 300, 499, 500, 700, 999, 1000, 1001, 1200, 1400,
        ] {
            for _ in 0..3 {
                csv.push_str(&format!(
                    "2026-01-01 00:00:00.000000,{len},10.0.0.1,{port},2,0.001000,0,1,0,1,{},40000,17,0,1,0\n",
                    rule_class(len)
                ));
            }
        }
    }
    let data = dir.join("rule-dataset.csv");
    std::fs::write(&data, csv).expect("write the rule dataset");
    let model = dir.join("rule-model.json");
    let out = Command::new(alexa_bin())
        .arg("train")
        .arg(&data)
        .arg("--out")
        .arg(&model)
        .args(["--features", "length", "--class-weight", "none"])
        .output()
        .expect("run alexa train");
    assert!(
        out.status.success(),
        "alexa train: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    model
}

/// A UDP receiver in `ns` counting datagrams per destination port.
pub struct UdpSink {
    _proc: Running,
    file: std::path::PathBuf,
}

impl UdpSink {
    pub fn start(ns: &Netns, ports: &[u16], file: &Path) -> UdpSink {
        let _ = std::fs::remove_file(file);
        let ports: Vec<String> = ports.iter().map(u16::to_string).collect();
        let script = format!(
            "
import socket, selectors, json, time, os
sel = selectors.DefaultSelector()
counts = {{}}
for p in [{ports}]:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    s.bind(('0.0.0.0', p)); s.setblocking(False)
    sel.register(s, selectors.EVENT_READ, p)
    counts[p] = 0
last = 0
while True:
    for key, _ in sel.select(0.05):
        while True:
            try:
                key.fileobj.recv(65536)
            except BlockingIOError:
                break
            counts[key.data] += 1
    if time.time() - last > 0.05:
        with open('{f}.tmp', 'w') as out:
            json.dump(counts, out)
        os.replace('{f}.tmp', '{f}')
        last = time.time()
",
            ports = ports.join(","),
            f = file.display()
        );
        let proc = Running::spawn(
            Command::new("ip")
                .args(["netns", "exec", &ns.name, "python3", "-c"])
                .arg(script),
        );
        let sink = UdpSink {
            _proc: proc,
            file: file.to_owned(),
        };
        assert!(
            wait_for(Duration::from_secs(5), || sink.file.exists()),
            "the UDP receiver did not start"
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

/// Sends `count` datagrams of `len` bytes from `ns`, one flow (source port
/// `sport`) to `dst:dport`, `gap_ms` apart.
pub fn send_udp(
    ns: &Netns,
    dst: &str,
    sport: u16,
    dport: u16,
    len: usize,
    count: usize,
    gap_ms: u64,
) {
    ns.exec(&format!(
        "python3 -c \"
import socket, time
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
u.bind(('0.0.0.0', {sport}))
for i in range({count}):
    u.sendto(bytes({len}), ('{dst}', {dport}))
    time.sleep({gap})
\"",
        gap = gap_ms as f64 / 1000.0
    ));
}
