//! A device's session lived through the testbed: a capture replayed from
//! the `echo` namespace (`alexa_lab::replay`), the agent classifying on the
//! gateway's LAN side, a packet socket counting what reaches the `cloud`
//! namespace. Every frame carries its label index as IPv4 identification,
//! so each one is followed from the device to the cloud, and each of the
//! agent's verdicts is joined back to its label. The session is the
//! simulator's ([`simulate`]) or a real Echo's capture labelled by the
//! published rules ([`real`]).
//! Shared by `cargo xtask demo` (bin `demo`) and `tests/demo_testbed.rs`.

use std::{
    collections::{HashMap, HashSet, VecDeque},
    fmt::Write as _,
    io::{BufRead as _, Seek as _},
    net::Ipv4Addr,
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
        mpsc,
    },
    time::Duration,
};

use alexa::{kernel::device::Device, offline::labelling::AppClass};
use alexa_common::{Class, CLASS_NAMES, NUM_CLASSES};
use serde_json::Value;

use crate::{
    agent::{wait_for, Agent},
    replay::{self, Arrivals, FrameKey, ReplayFrame, Sent},
    testbed::{self, Testbed},
};

#[derive(Clone, Debug)]
pub struct SessionConfig {
    pub seed: u64,
    /// `alexa simulate --duration-scale`.
    pub scale: f64,
    pub gap_cap: Duration,
}

/// A device's labelled frames, ready to replay through the testbed.
pub struct Session {
    pub dir: PathBuf,
    pub frames: Vec<ReplayFrame>,
    /// Each frame's context: the simulator's (labels.csv), or the capture's name.
    pub contexts: Vec<String>,
    /// Capture seconds from the first to the last device frame.
    pub seconds: f64,
    /// What the agent's `--device` names: the device's IP or MAC address.
    pub device: String,
    /// The IPv4 source of the device's frames, by which the cloud counts them.
    pub device_ip: Ipv4Addr,
    /// The replay rewrites unicast destination MACs to this one (the
    /// gateway's LAN interface) when the capture was made on another LAN.
    pub dst_mac: Option<[u8; 6]>,
}

/// `alexa simulate` into `dir`, then the device's frames loaded for replay.
/// The testbed carries the simulator's addresses: nothing is rewritten.
pub fn simulate(cfg: &SessionConfig, dir: &Path) -> Session {
    let opts = alexa::offline::simulate::SimOptions {
        scenario: "all".parse().expect("scenario"),
        seed: cfg.seed,
        duration_scale: cfg.scale,
    };
    alexa::offline::simulate::simulate_to_dir(&opts, dir).expect("simulate");
    let (frames, contexts) = load(&dir.join("capture.pcap"), &dir.join("labels.csv"));
    Session {
        dir: dir.to_owned(),
        seconds: span(&frames),
        frames,
        contexts,
        device: testbed::ECHO_IP.to_owned(),
        device_ip: testbed::ECHO_IP.parse().expect("address"),
        dst_mac: None,
    }
}

/// A real capture of the device with MAC `mac`, labelled by the published
/// rules into `dir/labels.csv` (`alexa label`: its application data is
/// `app`, the microphone as given), then loaded for replay. The frames keep
/// the device's own addresses, and the agent watches its MAC; only their
/// destination MAC is rewritten to the gateway's LAN interface, as if the
/// device lived behind the testbed's gateway.
pub fn real(capture: &Path, mac: &str, app: AppClass, microphone: bool, dir: &Path) -> Session {
    std::fs::create_dir_all(dir).expect("session dir");
    let key = Device::Mac(alexa::kernel::device::parse_mac(mac).expect("MAC")).key();
    let labels = dir.join("labels.csv");
    alexa::offline::labelling::label_capture(
        capture,
        Some(HashSet::from([key])),
        app,
        microphone,
        &labels,
    )
    .unwrap_or_else(|e| panic!("{}: cannot label: {e:#}", capture.display()));
    let (frames, _) = load(capture, &labels);
    // The context is the recording: its name says the command.
    let name = capture
        .file_stem()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let contexts = vec![name; frames.len()];
    let sources: Vec<Option<Ipv4Addr>> = frames
        .iter()
        .map(|f| replay::ipv4_src(&f.data))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let device_ip = match sources.as_slice() {
        [Some(ip)] => *ip,
        other => panic!(
            "{}: the device {mac} sends from {other:?}; one IPv4 address is needed to count its frames",
            capture.display()
        ),
    };
    Session {
        dir: dir.to_owned(),
        seconds: span(&frames),
        frames,
        contexts,
        device: mac.to_owned(),
        device_ip,
        dst_mac: Some(alexa::offline::simulate::hosts::GATEWAY.mac),
    }
}

/// The labelled frames of `capture` and each one's context.
fn load(capture: &Path, labels: &Path) -> (Vec<ReplayFrame>, Vec<String>) {
    let frames = replay::load(capture, labels)
        .unwrap_or_else(|e| panic!("{}: cannot load: {e:#}", capture.display()));
    let text = std::fs::read_to_string(labels).expect("read labels.csv");
    let contexts: Vec<String> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(2).unwrap_or("").to_owned())
        .collect();
    assert_eq!(contexts.len(), frames.len(), "labels.csv rows");
    (frames, contexts)
}

/// Seconds from the first to the last frame.
fn span(frames: &[ReplayFrame]) -> f64 {
    match (frames.first(), frames.last()) {
        (Some(a), Some(b)) => (b.ts_ns - a.ts_ns) as f64 / 1e9,
        _ => 0.0,
    }
}

/// The kernel's verdict on one frame, from the agent's log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub class: u8,
    /// `pass`, `alert` or `drop`.
    pub action: String,
    pub quarantine: bool,
    pub would_drop: bool,
}

/// Joins verdict log lines to the frames they are about. A line names the
/// frame's destination, ports, protocol, payload length and TCP flags; the
/// frames with the same values are taken in the order they were sent, which
/// is the order the gateway saw them (one queue per veth).
pub struct Joiner {
    pending: HashMap<FrameKey, VecDeque<u16>>,
    pub verdicts: Vec<Option<Verdict>>,
    /// Log lines about no sent frame (must stay 0).
    pub unmatched: usize,
}

impl Joiner {
    pub fn new(frames: &[ReplayFrame]) -> Joiner {
        let mut pending: HashMap<FrameKey, VecDeque<u16>> = HashMap::new();
        for f in frames {
            pending.entry(f.key).or_default().push_back(f.index);
        }
        Joiner {
            pending,
            verdicts: vec![None; frames.len()],
            unmatched: 0,
        }
    }

    /// The frame index this verdict line is about.
    pub fn feed(&mut self, line: &Value) -> Option<u16> {
        let parsed = (|| {
            let key = FrameKey {
                dst: line["dstip"].as_str()?.parse().ok()?,
                proto: line["proto"].as_u64()? as u8,
                srcport: line["srcport"].as_u64()? as u16,
                dstport: line["dstport"].as_u64()? as u16,
                length: line["payload_len"].as_u64()? as u32,
                tcp_flags: line["tcp_flags"].as_u64()? as u8,
            };
            let verdict = Verdict {
                class: line["class"].as_str()?.parse::<Class>().ok()? as u8,
                action: line["action"].as_str()?.to_owned(),
                quarantine: line["quarantine"].as_bool().unwrap_or(false),
                would_drop: line["would_drop"].as_bool().unwrap_or(false),
            };
            Some((key, verdict))
        })();
        let Some((key, verdict)) = parsed else {
            self.unmatched += 1;
            return None;
        };
        let Some(index) = self.pending.get_mut(&key).and_then(VecDeque::pop_front) else {
            self.unmatched += 1;
            return None;
        };
        self.verdicts[index as usize] = Some(verdict);
        Some(index)
    }
}

/// Reads the lines appended to the verdict log since the last call.
pub struct LogTail {
    path: PathBuf,
    offset: u64,
    partial: String,
}

impl LogTail {
    pub fn new(path: &Path) -> LogTail {
        LogTail {
            path: path.to_owned(),
            offset: 0,
            partial: String::new(),
        }
    }

    pub fn read(&mut self) -> Vec<Value> {
        let Ok(mut f) = std::fs::File::open(&self.path) else {
            return Vec::new();
        };
        if f.seek(std::io::SeekFrom::Start(self.offset)).is_err() {
            return Vec::new();
        }
        let mut out = Vec::new();
        let mut reader = std::io::BufReader::new(f);
        let mut line = String::new();
        while let Ok(n) = reader.read_line(&mut line) {
            if n == 0 {
                break;
            }
            self.offset += n as u64;
            if !line.ends_with('\n') {
                self.partial.push_str(&line);
                line.clear();
                continue;
            }
            let full = std::mem::take(&mut self.partial) + line.trim_end();
            out.push(
                serde_json::from_str(&full)
                    .unwrap_or_else(|e| panic!("bad verdict log line {full:?}: {e}")),
            );
            line.clear();
        }
        out
    }
}

/// What happened while the session was replayed.
pub struct Run {
    pub sent: Sent,
    pub arrivals: Arrivals,
}

/// Replays `sim` through the testbed: counts arrivals in `cloud`, sends from
/// `echo` (destination MACs rewritten as the session says, telling
/// `socket`'s agent of microphone changes), and calls `tick`
/// about every 100 ms with the number of frames sent so far. `stop` ends the
/// replay early (Ctrl-C).
pub fn replay(
    bed: &Testbed,
    sim: &Session,
    gap_cap: Duration,
    socket: &Path,
    stop: &AtomicBool,
    tick: &mut dyn FnMut(usize),
) -> anyhow::Result<Run> {
    let device = sim.device_ip;
    let done = AtomicBool::new(false);
    let seen = AtomicU64::new(0);
    let progress = AtomicUsize::new(0);
    let (ready_tx, ready_rx) = mpsc::channel();
    let opts = replay::SendOptions {
        gap_cap,
        control_socket: Some(socket.to_owned()),
        dst_mac: sim.dst_mac,
        ..replay::SendOptions::new(testbed::ECHO_IF)
    };
    std::thread::scope(|s| {
        let counter = s.spawn(|| {
            let _in = bed.cloud.enter();
            match replay::ArrivalCounter::open(testbed::CLOUD_IF, device) {
                Ok(c) => {
                    let _ = ready_tx.send(Ok(()));
                    c.run(&done, &seen)
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    Err(anyhow::anyhow!("the cloud-side counter did not start"))
                }
            }
        });
        ready_rx.recv()??;
        let sender = s.spawn(|| {
            let _in = bed.echo.enter();
            replay::send(&sim.frames, &opts, stop, &mut |n| {
                progress.store(n, Ordering::Relaxed)
            })
        });
        while !sender.is_finished() {
            std::thread::sleep(Duration::from_millis(100));
            tick(progress.load(Ordering::Relaxed));
        }
        let sent = sender.join().expect("sender thread");
        if let Ok(sent) = &sent {
            tick(sent.frames.len());
            // Everything in flight has arrived once the count stops moving.
            let mut last = seen.load(Ordering::Relaxed);
            loop {
                std::thread::sleep(Duration::from_millis(300));
                let now = seen.load(Ordering::Relaxed);
                if now == last {
                    break;
                }
                last = now;
            }
        }
        done.store(true, Ordering::Relaxed);
        let arrivals = counter.join().expect("counter thread")?;
        Ok(Run {
            sent: sent?,
            arrivals,
        })
    })
}

/// Per labelled class: where its frames went.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClassRow {
    pub sent: u64,
    /// To a LAN host, multicast or broadcast: never forwarded to the cloud.
    pub lan_local: u64,
    /// With a verdict in the agent's log.
    pub classified: u64,
    pub passed: u64,
    pub alerted: u64,
    pub dropped: u64,
    pub cloud_bound: u64,
    pub cloud_bound_dropped: u64,
    /// Counted in the cloud namespace.
    pub received: u64,
}

/// Every number of a session, joined per frame.
pub struct Outcome {
    pub rows: [ClassRow; NUM_CLASSES],
    pub total: ClassRow,
    /// `not_justified` frames sent with the microphone muted, and of them dropped.
    pub hidden: (u64, u64),
    /// Frames whose verdict was drop but that reached the cloud (must be none).
    pub dropped_but_arrived: Vec<u16>,
    /// Cloud-bound frames passed by the gateway that never arrived (must be none).
    pub passed_but_missing: Vec<u16>,
    /// Frames counted in the cloud more than once or that should not have gone there.
    pub unexpected_arrivals: Vec<u16>,
    /// Frames sent with no verdict in the log.
    pub unclassified: Vec<u16>,
    /// Log lines about no frame.
    pub unmatched_lines: usize,
    /// (labelled class, kernel class) → frames, off the diagonal.
    pub confusion: Vec<((u8, u8), u64)>,
    pub socket_drops: u64,
    pub status: Value,
    pub verdicts: Vec<Option<Verdict>>,
}

impl Outcome {
    /// Joins the replay's record, the cloud's counts and the agent's log
    /// and status (waiting until the agent has logged every frame).
    pub fn collect(sim: &Session, run: &Run, agent: &Agent) -> Outcome {
        let sent = run.sent.frames.len();
        // The log is complete once the agent has received an event for
        // every frame the kernel classified, and the kernel has seen them all.
        wait_for(Duration::from_secs(15), || {
            let s = agent.status();
            let classified = s["counters"]["classified"].as_u64().unwrap_or(0);
            s["events_received"].as_u64().unwrap_or(0) >= classified && classified >= sent as u64
        });
        let status = agent.status();
        let mut joiner = Joiner::new(&sim.frames);
        for line in agent.lines() {
            joiner.feed(&line);
        }
        let mut rows: [ClassRow; NUM_CLASSES] = Default::default();
        let mut o = Outcome {
            rows: Default::default(),
            total: ClassRow::default(),
            hidden: (0, 0),
            dropped_but_arrived: Vec::new(),
            passed_but_missing: Vec::new(),
            unexpected_arrivals: Vec::new(),
            unclassified: Vec::new(),
            unmatched_lines: joiner.unmatched,
            confusion: Vec::new(),
            socket_drops: run.arrivals.socket_drops,
            status,
            verdicts: Vec::new(),
        };
        let mut confusion: HashMap<(u8, u8), u64> = HashMap::new();
        let nj = Class::NotJustified as u8;
        for s in &run.sent.frames {
            let i = s.index as usize;
            let f = &sim.frames[i];
            let r = &mut rows[f.class as usize];
            let arrived = u64::from(run.arrivals.by_id[i]);
            let cloud = testbed::cloud_bound(f.key.dst);
            r.sent += 1;
            if cloud {
                r.cloud_bound += 1;
            } else {
                r.lan_local += 1;
            }
            r.received += arrived;
            if arrived > u64::from(cloud) {
                o.unexpected_arrivals.push(s.index);
            }
            let Some(v) = &joiner.verdicts[i] else {
                o.unclassified.push(s.index);
                continue;
            };
            r.classified += 1;
            if v.class != f.class {
                *confusion.entry((f.class, v.class)).or_default() += 1;
            }
            let dropped = v.action == "drop";
            match v.action.as_str() {
                "drop" => r.dropped += 1,
                "alert" => r.alerted += 1,
                _ => r.passed += 1,
            }
            if f.class == nj && !f.microphone {
                o.hidden.0 += 1;
                o.hidden.1 += u64::from(dropped);
            }
            if cloud {
                if dropped {
                    r.cloud_bound_dropped += 1;
                    if arrived > 0 {
                        o.dropped_but_arrived.push(s.index);
                    }
                } else if arrived == 0 {
                    o.passed_but_missing.push(s.index);
                }
            }
        }
        for r in &rows {
            let t = &mut o.total;
            t.sent += r.sent;
            t.lan_local += r.lan_local;
            t.classified += r.classified;
            t.passed += r.passed;
            t.alerted += r.alerted;
            t.dropped += r.dropped;
            t.cloud_bound += r.cloud_bound;
            t.cloud_bound_dropped += r.cloud_bound_dropped;
            t.received += r.received;
        }
        o.rows = rows;
        let mut confusion: Vec<_> = confusion.into_iter().collect();
        confusion.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        o.confusion = confusion;
        o.verdicts = joiner.verdicts;
        o
    }

    pub fn row(&self, class: Class) -> &ClassRow {
        &self.rows[class as usize]
    }

    /// Whether every frame is accounted for: each one classified once, the
    /// cloud received exactly the cloud-bound frames the gateway passed.
    pub fn consistent(&self) -> bool {
        self.dropped_but_arrived.is_empty()
            && self.passed_but_missing.is_empty()
            && self.unexpected_arrivals.is_empty()
            && self.unclassified.is_empty()
            && self.unmatched_lines == 0
            && self.socket_drops == 0
            && self.total.received == self.total.cloud_bound - self.total.cloud_bound_dropped
    }

    /// The summary table and the lines under it.
    pub fn table(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{:<14} {:>7} {:>9} {:>10} {:>7} {:>7} {:>7} {:>8} {:>9}",
            "class (label)",
            "sent",
            "LAN-local",
            "classified",
            "passed",
            "alerted",
            "dropped",
            "to cloud",
            "received"
        );
        let line = |s: &mut String, name: &str, r: &ClassRow| {
            let _ = writeln!(
                s,
                "{:<14} {:>7} {:>9} {:>10} {:>7} {:>7} {:>7} {:>8} {:>9}",
                name,
                r.sent,
                r.lan_local,
                r.classified,
                r.passed,
                r.alerted,
                r.dropped,
                r.cloud_bound,
                r.received
            );
        };
        for (name, r) in CLASS_NAMES.iter().zip(&self.rows) {
            line(&mut s, name, r);
        }
        line(&mut s, "total", &self.total);
        s
    }

    /// Frames labelled `class` the kernel dropped, and how many were labelled so.
    pub fn dropped_of(&self, class: Class) -> (u64, u64) {
        let r = self.row(class);
        (r.dropped, r.sent)
    }

    pub fn confusion_line(&self) -> String {
        self.confusion
            .iter()
            .map(|((t, p), n)| format!("{} as {} {n}", name(*t), name(*p)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

pub fn name(class: u8) -> &'static str {
    alexa_common::class_name(class).unwrap_or("?")
}
