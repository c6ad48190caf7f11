//! `alexa run`: the agent. It loads the classifier with its state pinned
//! (adopting what an earlier agent left), attaches it, applies the policy,
//! and then, until SIGTERM or Ctrl-C: logs every verdict, keeps the evidence,
//! answers the control socket, serves metrics and the local API. When it
//! stops, the pinned classifier keeps enforcing; `alexa detach` removes it.

pub mod args;
pub mod config;
pub mod evidence;
pub mod http;
pub mod line;
pub mod log;
pub mod metrics;
pub mod pacer;
pub mod policy;
pub mod preflight;
pub mod privileges;
pub mod rotate;
pub mod socket;
pub mod token;

use std::{
    collections::VecDeque,
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::Instant,
};

use alexa_common::{action, class_name, counter, flag, mode, Event, CLASS_NAMES, CLASS_NONE};
use anyhow::{bail, Context as _, Result};
use tokio::{
    io::unix::AsyncFd,
    signal::unix::{signal, SignalKind},
};

use crate::{
    control::status::{ClassCount, RecentVerdict, Status, RECENT_MAX},
    kernel::{decode_event, AttachMode, Classifier},
    offline::row::Row,
    util::net::ip_from_mapped,
};

pub use line::{log_line, LineMeta};

pub const DEFAULT_PIN_DIR: &str = "/sys/fs/bpf/alexa";

pub struct RunOptions {
    pub iface: String,
    /// In device-index order: the kernel tags each event with the index.
    pub devices: Vec<config::NamedDevice>,
    /// `None` or `-`: standard output.
    pub log: Option<PathBuf>,
    /// Rotate the log at this size (0: never), keeping `log_keep` old files.
    pub log_max_bytes: u64,
    pub log_keep: u32,
    /// Log one pure `ack` verdict in N (the counters count them all).
    pub log_acks: u32,
    pub xdp_mode: AttachMode,
    /// `policy::mode`.
    pub mode: u32,
    /// `CLASS=ACTION` rules on top of the default policy.
    pub policy: Vec<String>,
    /// The microphone's state; `None` keeps an adopted agent's (on when fresh).
    pub microphone: Option<bool>,
    /// The model to classify with; `None` classifies nothing (or keeps an adopted model).
    pub model: Option<ModelSource>,
    /// Quarantine K, T (ms), Q (ms); `None` keeps the current (default when fresh).
    pub quarantine: Option<(u32, u32, u32)>,
    pub pin_dir: PathBuf,
    pub control_socket: PathBuf,
    pub metrics_addr: Option<SocketAddr>,
    pub api_addr: Option<SocketAddr>,
    /// The API's bearer token, made here at the first start.
    pub api_token_file: PathBuf,
    /// Evidence capture (pcapng); `None`: none.
    pub evidence: Option<PathBuf>,
    /// Start a new evidence file at this size (0: never), keeping `evidence_keep` old ones.
    pub evidence_max_bytes: u64,
    pub evidence_keep: u32,
    /// Also keep evidence of `justified` packets.
    pub evidence_justified: bool,
    /// A listed device without a packet this long is reported silent (zero: never).
    pub silence: std::time::Duration,
    /// The config file run-time changes are written back to.
    pub config: Option<PathBuf>,
    /// Turn on the kernel's BPF run-time statistics while the agent runs.
    pub kernel_stats: bool,
}

/// Where the agent's model comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModelSource {
    /// The shipped model, built into the binary: a gateway needs no file.
    Builtin,
    File(PathBuf),
}

impl ModelSource {
    pub fn load(&self) -> Result<crate::offline::model::file::Model> {
        match self {
            ModelSource::Builtin => crate::offline::model::embedded::echo(),
            ModelSource::File(p) => crate::offline::model::file::load(p),
        }
    }

    /// For the status and the journal.
    pub fn name(&self) -> String {
        match self {
            ModelSource::Builtin => crate::offline::model::embedded::ECHO_NAME.to_owned(),
            ModelSource::File(p) => p.display().to_string(),
        }
    }
}

/// Fails unless the process may load BPF programs and attach XDP.
pub fn require_root(what: &str) -> Result<()> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        bail!("{what} needs root (CAP_BPF and CAP_NET_ADMIN): run it with sudo");
    }
    Ok(())
}

pub fn require_interface(iface: &str) -> Result<u32> {
    let name =
        std::ffi::CString::new(iface).with_context(|| format!("bad interface name {iface:?}"))?;
    // SAFETY: a valid NUL-terminated string.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    if index == 0 {
        bail!("no such interface: {iface}");
    }
    Ok(index)
}

/// Turns kernel monotonic timestamps into wall-clock ones.
#[derive(Clone, Copy)]
pub struct WallClock {
    offset_ns: i128,
}

impl WallClock {
    pub fn now() -> Self {
        let read = |clock| {
            let mut ts = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            // SAFETY: a valid timespec to fill.
            unsafe { libc::clock_gettime(clock, &mut ts) };
            ts.tv_sec as i128 * 1_000_000_000 + ts.tv_nsec as i128
        };
        let mono = read(libc::CLOCK_MONOTONIC);
        let real = read(libc::CLOCK_REALTIME);
        WallClock {
            offset_ns: real - mono,
        }
    }

    pub fn wall_ns(&self, mono_ns: u64) -> u64 {
        (mono_ns as i128 + self.offset_ns).max(0) as u64
    }
}

pub fn event_row(ev: &Event, clock: &WallClock) -> Row {
    Row {
        ts_ns: clock.wall_ns(ev.ts_ns),
        src: ev.src,
        dst: ev.dst,
        features: ev.features,
        class: (ev.class != CLASS_NONE).then_some(ev.class),
        model: ev.model_version,
    }
}

fn class_label(class: u8) -> &'static str {
    class_name(class).unwrap_or("unclassified")
}

/// The running agent's state, shared by the event loop, the control socket
/// and the HTTP servers.
pub struct Agent {
    classifier: Mutex<Classifier>,
    info: Mutex<Info>,
    /// What the HTTP API's changes must carry; `None` when the API is off.
    api_token: Option<String>,
    api_token_file: PathBuf,
    /// Where run-time changes are kept.
    config: Option<PathBuf>,
}

struct Info {
    iface: String,
    xdp_mode: String,
    devices: Vec<String>,
    /// By device index.
    seen: Vec<DeviceSeen>,
    /// Past this without a packet, a device is reported silent.
    silence: std::time::Duration,
    started_wall: std::time::SystemTime,
    model_path: Option<String>,
    started: Instant,
    events_received: u64,
    recent: VecDeque<RecentVerdict>,
}

/// One listed device's traffic, as the agent has seen it.
struct DeviceSeen {
    name: String,
    address: String,
    packets: u64,
    last: Option<Instant>,
    /// Reported silent, and not heard from since.
    silent: bool,
}

impl Agent {
    fn classifier(&self) -> std::sync::MutexGuard<'_, Classifier> {
        self.classifier.lock().unwrap_or_else(|p| p.into_inner())
    }
    fn info(&self) -> std::sync::MutexGuard<'_, Info> {
        self.info.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A line for the operator (the journal, under systemd).
    pub fn note(&self, msg: String) {
        eprintln!("alexa: {msg}");
    }

    pub fn status(&self) -> Result<Status> {
        let mut c = self.classifier();
        let config = c.config()?;
        let counters = c.counters()?;
        let stats = c.class_action_stats()?;
        let policy = c.policy()?;
        let version = c.model_version()?;
        let run = c.run_stats();
        drop(c);
        let info = self.info();
        let device_activity = info
            .seen
            .iter()
            .map(|d| crate::control::status::DeviceActivity {
                name: d.name.clone(),
                address: d.address.clone(),
                packets: d.packets,
                idle_s: d.last.unwrap_or(info.started).elapsed().as_secs_f64(),
                silent: d.silent,
            })
            .collect();
        let classes = stats
            .iter()
            .enumerate()
            .map(|(i, row)| ClassCount {
                class: CLASS_NAMES
                    .get(i)
                    .copied()
                    .unwrap_or("unclassified")
                    .to_owned(),
                packets: row.iter().map(|s| s.packets).sum(),
                bytes: row.iter().map(|s| s.bytes).sum(),
                passed: row[action::PASS as usize].packets,
                alerted: row[action::ALERT as usize].packets,
                dropped: row[action::DROP as usize].packets,
            })
            .collect();
        Ok(Status {
            iface: info.iface.clone(),
            xdp_mode: info.xdp_mode.clone(),
            mode: mode_name(config.mode).to_owned(),
            model_version: (version != 0).then(|| format!("{version:08x}")),
            model_path: info.model_path.clone(),
            microphone: config.microphone != 0,
            devices: info.devices.clone(),
            uptime_s: info.started.elapsed().as_secs_f64(),
            pid: std::process::id(),
            classes,
            policy: CLASS_NAMES
                .iter()
                .zip(policy)
                .map(|(n, a)| ((*n).to_owned(), policy::action_name(a).to_owned()))
                .collect(),
            counters: counter::NAMES
                .iter()
                .zip(counters)
                .map(|(n, v)| ((*n).to_owned(), v))
                .collect(),
            events_received: info.events_received,
            kernel_ns_per_packet: run
                .filter(|(_, n)| *n > 0)
                .map(|(t, n)| t.as_nanos() as f64 / n as f64),
            recent: info.recent.iter().cloned().collect(),
            api_token_file: self
                .api_token
                .as_ref()
                .map(|_| self.api_token_file.display().to_string()),
            config: self.config.as_ref().map(|p| p.display().to_string()),
            device_activity,
            start_time_s: info
                .started_wall
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64()),
            kernel_run_time_ns: run.map(|(t, _)| t.as_nanos() as u64),
            kernel_runs: run.map(|(_, n)| n),
        })
    }

    /// Reports, in the journal, each device that fell silent or came back.
    /// A silent Echo is a firewall failing open if it moved behind another
    /// interface or got an address nobody listed; the owner must hear of it.
    pub fn check_silence(&self) {
        let mut notes = Vec::new();
        {
            let mut info = self.info();
            let (limit, started) = (info.silence, info.started);
            if limit.is_zero() {
                return;
            }
            for d in &mut info.seen {
                let idle = d.last.unwrap_or(started).elapsed();
                if idle >= limit && !d.silent {
                    d.silent = true;
                    notes.push(format!(
                        "device {} ({}) has sent nothing for {} min: is it off, on another network, or using an address not listed? (list it by MAC to follow it)",
                        d.name,
                        d.address,
                        idle.as_secs() / 60
                    ));
                }
            }
        }
        for n in notes {
            self.note(n);
        }
    }

    pub fn set_microphone(&self, on: bool) -> Result<()> {
        self.classifier().set_microphone(on)?;
        self.note(format!("microphone {}", if on { "on" } else { "muted" }));
        self.keep(config::Change::Microphone(on))
    }

    /// Writes a change that took effect into the config file, so a restart
    /// keeps it; a failure says the change holds only until then.
    fn keep(&self, change: config::Change<'_>) -> Result<()> {
        let Some(path) = &self.config else {
            return Ok(());
        };
        config::write_back(path, change).map_err(|e| {
            let e = anyhow::anyhow!("applied, but not saved (lost at the next restart): {e:#}");
            self.note(format!("{e}"));
            e
        })
    }

    /// Validates the file completely, then swaps it in; on any error the
    /// running model stays. Returns the new version.
    pub fn load_model(&self, path: &Path) -> Result<String> {
        let model = crate::offline::model::file::load(path)?;
        let version = model.version_id();
        self.classifier().load_tree(&model.nodes, version)?;
        self.info().model_path = Some(path.display().to_string());
        self.note(format!(
            "model {} loaded (version {version:08x})",
            path.display()
        ));
        self.keep(config::Change::Model(path))?;
        Ok(format!("{version:08x}"))
    }

    pub fn set_policy(&self, rules: &[String]) -> Result<String> {
        let mut c = self.classifier();
        let new = policy::apply(&c.policy()?, rules)?;
        c.set_policy(&new)?;
        let text = describe_policy(&new);
        drop(c);
        self.note(format!("policy set: {text}"));
        let rules: Vec<String> = text.split(',').map(str::to_owned).collect();
        self.keep(config::Change::Policy(&rules))?;
        Ok(text)
    }
}

pub fn mode_name(m: u32) -> &'static str {
    if m == mode::ENFORCE {
        "enforce"
    } else {
        "monitor"
    }
}

fn describe_policy(p: &[u8; alexa_common::NUM_CLASSES]) -> String {
    CLASS_NAMES
        .iter()
        .zip(p)
        .map(|(n, a)| format!("{n}={}", policy::action_name(*a)))
        .collect::<Vec<_>>()
        .join(",")
}

/// Removes the control socket when the agent stops (or fails to start).
struct SocketFile(PathBuf);

impl Drop for SocketFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Pins this agent created, removed on drop unless disarmed.
struct FreshPins {
    dir: Option<PathBuf>,
}

impl Drop for FreshPins {
    fn drop(&mut self) {
        if let Some(d) = &self.dir {
            let _ = crate::kernel::detach(d);
        }
    }
}

pub async fn run(opts: RunOptions) -> Result<()> {
    require_root("alexa run")?;
    if opts.devices.is_empty() {
        bail!("no device given: name the smart speaker's address with --device ADDR");
    }
    preflight::check_kernel(&preflight::kernel_release()?)?;
    require_interface(&opts.iface)?;
    preflight::check_interface_free(&opts.iface, alexa_common::PROGRAM_NAME)?;
    // Validate everything given before anything reaches the kernel.
    let model = opts.model.as_ref().map(ModelSource::load).transpose()?;
    policy::apply(&alexa_common::policy::default_policy(), &opts.policy)?;
    if opts.log_acks == 0 {
        bail!("--log-acks must be at least 1 (1 logs every ack)");
    }
    // Everything that can fail on bad input fails here, before the kernel
    // is touched: a refused start leaves no program attached, nothing pinned.
    let listener = socket::bind(&opts.control_socket)?;
    let _socket_file = SocketFile(opts.control_socket.clone());
    let metrics_listener = match opts.metrics_addr {
        Some(a) => Some(http::bind(a, "metrics").await?),
        None => None,
    };
    let api_listener = match opts.api_addr {
        Some(a) => Some(http::bind(a, "API").await?),
        None => None,
    };
    let api_token = match opts.api_addr {
        Some(_) => Some(token::load_or_create(&opts.api_token_file)?),
        None => None,
    };
    let mut log = log::VerdictLog::open(opts.log.as_deref(), opts.log_max_bytes, opts.log_keep)?;
    if let Some(p) = &opts.evidence {
        // Fail now, not at the first drop, if the place is unusable.
        let dir = p
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if !dir.is_dir() {
            bail!(
                "{}: no such directory for the evidence capture",
                dir.display()
            );
        }
    }

    let mut classifier = Classifier::load_pinned(&opts.pin_dir)?;
    let adopted = classifier.is_initialized()?;
    // A refused first start takes its fresh pins away again.
    let mut fresh = FreshPins {
        dir: (!adopted).then(|| opts.pin_dir.clone()),
    };
    if !adopted {
        classifier.initialize()?;
    }
    if !opts.policy.is_empty() {
        let base = if adopted {
            classifier.policy()?
        } else {
            alexa_common::policy::default_policy()
        };
        classifier.set_policy(&policy::apply(&base, &opts.policy)?)?;
    }
    let evidence_bit = |name: &str| alexa_common::class_id(name).map_or(0, |c| 1u32 << c);
    classifier.update_config(|c| {
        c.mode = opts.mode;
        if let Some(on) = opts.microphone {
            c.microphone = on as u32;
        }
        if let Some((k, t, q)) = opts.quarantine {
            c.quarantine_packets = k;
            c.quarantine_window_ms = t;
            c.quarantine_hold_ms = q;
        }
        c.evidence_classes = evidence_bit("not_justified")
            | if opts.evidence_justified {
                evidence_bit("justified")
            } else {
                0
            };
    })?;
    let devices: Vec<crate::kernel::device::Device> =
        opts.devices.iter().map(|d| d.device).collect();
    classifier.set_devices(&devices)?;
    if let Some(m) = &model {
        if classifier.model_version()? != m.version_id() {
            classifier.load_tree(&m.nodes, m.version_id())?;
        }
    }
    let ring = classifier.take_events()?;
    let polling = classifier.take_polling()?;
    let attached = classifier.attach_pinned(&opts.iface, opts.xdp_mode)?;
    // The kernel's BPF statistics cost every BPF program two clock reads
    // per run: 5 to 9 points of forwarding rate in the bench. A diagnosis,
    // asked for; never the default.
    if opts.kernel_stats {
        if let Err(e) = classifier.enable_run_stats() {
            eprintln!("alexa: {e:#}; kernel cost per packet will not be reported");
        }
    }
    let config = classifier.config()?;
    let version = classifier.model_version()?;
    // Before any server starts or any thread exists: all inherit this.
    privileges::drop_privileges()?;
    fresh.dir = None;

    let agent = Arc::new(Agent {
        classifier: Mutex::new(classifier),
        info: Mutex::new(Info {
            iface: opts.iface.clone(),
            xdp_mode: attached.mode.to_owned(),
            devices: opts.devices.iter().map(|d| d.to_string()).collect(),
            seen: opts
                .devices
                .iter()
                .map(|d| DeviceSeen {
                    name: d.name.clone(),
                    address: d.device.to_string(),
                    packets: 0,
                    last: None,
                    silent: false,
                })
                .collect(),
            silence: opts.silence,
            started_wall: std::time::SystemTime::now(),
            model_path: opts.model.as_ref().map(ModelSource::name),
            started: Instant::now(),
            events_received: 0,
            recent: VecDeque::with_capacity(RECENT_MAX),
        }),
        api_token,
        api_token_file: opts.api_token_file.clone(),
        config: opts.config.clone(),
    });
    let metrics_at = metrics_listener.map(|l| http::serve_metrics(l, agent.clone()));
    let api_at = api_listener.map(|l| http::serve_api(l, agent.clone()));
    tokio::spawn(socket::serve(listener, agent.clone()));

    agent.note(format!(
        "{} {} on {} ({}), {} mode, microphone {}, {}; control {}{}{}",
        if attached.adopted {
            "adopted the classifier pinned in"
        } else {
            "attached, pinned in"
        },
        opts.pin_dir.display(),
        opts.iface,
        attached.mode,
        mode_name(config.mode),
        if config.microphone != 0 {
            "on"
        } else {
            "muted"
        },
        if version != 0 {
            format!("model {version:08x}")
        } else {
            "no model: packets are logged unclassified".to_owned()
        },
        opts.control_socket.display(),
        metrics_at
            .map(|a| format!(", metrics http://{a}/metrics"))
            .unwrap_or_default(),
        api_at
            .map(|a| format!(", API http://{a}/api/status"))
            .unwrap_or_default(),
    ));

    // systemd (Type=notify): started means attached and answering.
    let _ = sd_notify::notify(
        false,
        &[
            sd_notify::NotifyState::Ready,
            sd_notify::NotifyState::Status(&format!(
                "{} on {}",
                mode_name(config.mode),
                opts.iface
            )),
        ],
    );
    // SAFETY: the ring buffer owns its map fd, which stays open and the same
    // for as long as the AsyncFd owns the ring buffer.
    let mut ring = unsafe { AsyncFd::register_with_interest(ring, tokio::io::Interest::READABLE) }
        .map_err(|e| anyhow::anyhow!("cannot poll the ring buffer: {e}"))?;
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut sink = Sink {
        log: &mut log,
        evidence: opts.evidence.clone().map(|p| {
            evidence::EvidenceFiles::new(
                p,
                opts.iface.clone(),
                opts.evidence_max_bytes,
                opts.evidence_keep,
            )
        }),
        meta: LineMeta::new(
            &opts.iface,
            opts.devices.iter().map(|d| d.name.clone()).collect(),
        ),
        log_acks: opts.log_acks,
        acks_seen: 0,
        bad_items: 0,
    };
    let ack = alexa_common::class_id("ack");
    let mut pacer = pacer::Pacer::announcing(Some(polling))?;
    let mut silence_check = tokio::time::interval(std::time::Duration::from_secs(5));
    // Events queued while no agent ran come first; the kernel may have woken
    // nobody for the last of them.
    let (mut more, _) = drain(ring.get_mut(), &mut sink, &agent, ack)?;
    pacer.woken()?;
    loop {
        if more {
            // A flood outruns the drain: the control socket, the HTTP
            // servers and the signals get their turn between batches. The
            // ring stays readable throughout, so the select below alone
            // would go on draining and never hand the thread over.
            tokio::task::yield_now().await;
        }
        tokio::select! {
            _ = sigint.recv() => break,
            _ = sigterm.recv() => break,
            guard = ring.readable_mut() => {
                let mut guard = guard?;
                (more, _) = drain(guard.get_inner_mut(), &mut sink, &agent, ack)?;
                guard.clear_ready();
                pacer.woken()?;
            }
            _ = silence_check.tick() => agent.check_silence(),
            tick = pacer.tick(), if pacer.active() => {
                tick?;
                let found;
                (more, found) = drain(ring.get_mut(), &mut sink, &agent, ack)?;
                // Events keep coming: keep polling, and keep the kernel
                // from waking the agent meanwhile (`pacer`).
                if found && pacer.active() {
                    pacer.woken()?;
                }
            }
            _ = std::future::ready(()), if more => {
                (more, _) = drain(ring.get_mut(), &mut sink, &agent, ack)?;
            }
        }
    }
    let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Stopping]);
    // What the ring held when the agent was asked to stop (43,700 events at
    // most), not a flood that never ends.
    let whole_ring =
        alexa_common::RINGBUF_BYTES as u64 / (alexa_common::EVENT_HEAD_SIZE as u64 + 8);
    for _ in 0..whole_ring.div_ceil(DRAIN_BATCH) {
        if !drain(ring.get_mut(), &mut sink, &agent, ack)?.0 {
            break;
        }
    }
    let bad_items = sink.bad_items;
    if let Some(e) = sink.evidence.as_mut() {
        e.flush()?;
    }
    log.finish()?;
    let c = agent.classifier().counters()?;
    let summary: Vec<String> = counter::NAMES
        .iter()
        .zip(c)
        .map(|(n, v)| format!("{n}={v}"))
        .collect();
    agent.note(format!(
        "stopped; the classifier stays attached to {} and {} (pinned in {}; `alexa detach` removes it); {}",
        opts.iface,
        if config.mode == mode::ENFORCE { "enforcing" } else { "monitoring" },
        opts.pin_dir.display(),
        summary.join(" ")
    ));
    if bad_items > 0 {
        agent.note(format!(
            "{bad_items} ring-buffer items had the wrong size and were skipped"
        ));
    }
    Ok(())
}

/// Where events go: the log, the evidence capture, the agent's tallies.
struct Sink<'a> {
    log: &'a mut log::VerdictLog,
    evidence: Option<evidence::EvidenceFiles>,
    meta: LineMeta,
    log_acks: u32,
    acks_seen: u64,
    bad_items: u64,
}

/// Events handled per [`drain`] before the agent's other tasks get a turn:
/// a few milliseconds of work.
const DRAIN_BATCH: u64 = 8192;

/// Handles up to [`DRAIN_BATCH`] queued events; returns whether more may
/// wait, and whether there was any.
fn drain(
    events: &mut aya::maps::RingBuf<aya::maps::MapData>,
    sink: &mut Sink<'_>,
    agent: &Agent,
    ack: Option<u8>,
) -> Result<(bool, bool)> {
    let mut received = 0u64;
    let mut taken = 0u64;
    let mut recent = std::collections::VecDeque::with_capacity(RECENT_MAX);
    let mut per_device = [0u64; alexa_common::DEVICE_CAPACITY as usize];
    let mut line = Vec::with_capacity(512);
    sink.meta.reanchor_if_due();
    while taken < DRAIN_BATCH {
        let Some(item) = events.next() else {
            break;
        };
        taken += 1;
        let Some(ev) = decode_event(&item) else {
            sink.bad_items += 1;
            continue;
        };
        drop(item);
        received += 1;
        if let Some(n) = per_device.get_mut(ev.device as usize) {
            *n += 1;
        }
        let sampled_out = Some(ev.class) == ack && {
            sink.acks_seen += 1;
            !(sink.acks_seen - 1).is_multiple_of(sink.log_acks as u64)
        };
        if !sampled_out {
            line.clear();
            log_line(&ev, &sink.meta, &mut line)?;
            sink.log.line(&line)?;
        }
        if ev.action != action::PASS {
            // Only the newest are kept; they are formatted once, below.
            if recent.len() == RECENT_MAX {
                recent.pop_front();
            }
            recent.push_back(ev);
        }
        if ev.flags & flag::SNAP != 0 {
            if let Some(e) = sink.evidence.as_mut() {
                let comment = format!(
                    "alexa: class={} action={}{} model={:08x} {}:{} -> {}:{}",
                    class_label(ev.class),
                    policy::action_name(ev.action),
                    if ev.flags & flag::QUARANTINE != 0 {
                        " quarantine"
                    } else {
                        ""
                    },
                    ev.model_version,
                    ip_from_mapped(ev.src),
                    ev.features.srcport,
                    ip_from_mapped(ev.dst),
                    ev.features.dstport,
                );
                e.write(&ev, sink.meta.clock.wall_ns(ev.ts_ns), comment)?;
            }
        }
    }
    if received > 0 {
        sink.log.flush()?;
        if let Some(e) = sink.evidence.as_mut() {
            e.flush()?;
        }
        let mut info = agent.info();
        info.events_received += received;
        let now = Instant::now();
        let mut back = Vec::new();
        for (d, n) in info.seen.iter_mut().zip(per_device) {
            if n > 0 {
                d.packets += n;
                d.last = Some(now);
                if std::mem::take(&mut d.silent) {
                    back.push(format!(
                        "device {} ({}) is sending again",
                        d.name, d.address
                    ));
                }
            }
        }
        for ev in recent {
            let r = RecentVerdict {
                ts:
                    chrono::DateTime::from_timestamp_nanos(sink.meta.clock.wall_ns(ev.ts_ns) as i64)
                        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                class: class_label(ev.class).to_owned(),
                action: policy::action_name(ev.action).to_owned(),
                src: ip_from_mapped(ev.src).to_string(),
                dst: ip_from_mapped(ev.dst).to_string(),
                dstport: ev.features.dstport,
                length: ev.features.length,
                quarantine: ev.flags & flag::QUARANTINE != 0,
            };
            if info.recent.len() == RECENT_MAX {
                info.recent.pop_front();
            }
            info.recent.push_back(r);
        }
        drop(info);
        for n in back {
            agent.note(n);
        }
    }
    Ok((taken == DRAIN_BATCH, taken > 0))
}
