//! `alexa run`: the agent. It loads the probe with its state pinned
//! (adopting what an earlier agent left), attaches it, applies the policy,
//! and then, until SIGTERM or Ctrl-C: logs every verdict, keeps the evidence,
//! answers the control socket, serves metrics and the local API. When it
//! stops, the pinned probe keeps enforcing; `alexa detach` removes it.

pub mod args;
pub mod clock;
pub mod config;
mod drain;
pub mod evidence;
pub mod http;
pub mod line;
pub mod log;
pub mod metrics;
pub mod pacer;
pub mod preflight;
pub mod privileges;
pub mod rotate;
pub mod rules;
pub mod socket;
pub mod state;
pub mod token;

use std::{
    collections::VecDeque,
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::Instant,
};

use alexa_common::{
    class_name,
    maps::counter,
    policy::{flag, Action, Mode, Policy},
    Class, CLASS_NAMES,
};
use anyhow::{bail, Result};
use tokio::{
    io::unix::AsyncFd,
    signal::unix::{signal, SignalKind},
};

use crate::{
    control::status::{ClassCount, RecentVerdict, Status, RECENT_MAX},
    kernel::{decode_event, AttachMode, Probe},
    util::net::ip_from_mapped,
};

use drain::{Sink, DRAIN_BATCH};
pub use line::{log_line, LineMeta};
pub use state::Agent;
use state::{class_label, DeviceSeen, Info};

pub const DEFAULT_PIN_DIR: &str = alexa_common::install::PIN_DIR;

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
    pub mode: Mode,
    /// Rules on top of the default policy (or an adopted agent's).
    pub policy: Vec<rules::Rule>,
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
    privileges::require_root("alexa run")?;
    if opts.devices.is_empty() {
        bail!("no device given: name the smart speaker's address with --device ADDR");
    }
    preflight::check_kernel(&preflight::kernel_release()?)?;
    preflight::require_interface(&opts.iface)?;
    preflight::check_interface_free(&opts.iface, alexa_common::maps::PROGRAM_NAME)?;
    // Validate everything given before anything reaches the kernel.
    let model = opts.model.as_ref().map(ModelSource::load).transpose()?;
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

    let mut probe = Probe::load_pinned(&opts.pin_dir)?;
    let adopted = probe.is_initialized()?;
    // A refused first start takes its fresh pins away again.
    let mut fresh = FreshPins {
        dir: (!adopted).then(|| opts.pin_dir.clone()),
    };
    if !adopted {
        probe.initialize()?;
    }
    if !opts.policy.is_empty() {
        let base: Policy = if adopted {
            probe.policy()?
        } else {
            alexa_common::policy::default_policy()
        };
        probe.set_policy(&rules::apply(&base, &opts.policy))?;
    }
    let evidence_bit = |class: Class| 1u32 << class as u8;
    probe.update_config(|c| {
        c.mode = opts.mode as u32;
        if let Some(on) = opts.microphone {
            c.microphone = on as u32;
        }
        if let Some((k, t, q)) = opts.quarantine {
            c.quarantine_packets = k;
            c.quarantine_window_ms = t;
            c.quarantine_hold_ms = q;
        }
        c.evidence_classes = evidence_bit(Class::NotJustified)
            | if opts.evidence_justified {
                evidence_bit(Class::Justified)
            } else {
                0
            };
    })?;
    let devices: Vec<crate::kernel::device::Device> =
        opts.devices.iter().map(|d| d.device).collect();
    probe.set_devices(&devices)?;
    if let Some(m) = &model {
        if probe.model_version()? != m.version_id() {
            probe.load_tree(&m.nodes, m.version_id())?;
        }
    }
    let ring = probe.take_events()?;
    let polling = probe.take_polling()?;
    let attached = probe.attach_pinned(&opts.iface, opts.xdp_mode)?;
    // The kernel's BPF statistics cost every BPF program two clock reads
    // per run: 5 to 9 points of forwarding rate in the bench. A diagnosis,
    // asked for; never the default.
    if opts.kernel_stats {
        if let Err(e) = probe.enable_run_stats() {
            eprintln!("alexa: {e:#}; kernel cost per packet will not be reported");
        }
    }
    let config = probe.config()?;
    let version = probe.model_version()?;
    // Before any server starts or any thread exists: all inherit this.
    privileges::drop_privileges()?;
    fresh.dir = None;

    let agent = Arc::new(Agent {
        probe: Mutex::new(probe),
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
            "adopted the probe pinned in"
        } else {
            "attached, pinned in"
        },
        opts.pin_dir.display(),
        opts.iface,
        attached.mode,
        config.mode().name(),
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
            sd_notify::NotifyState::Status(&format!("{} on {}", config.mode().name(), opts.iface)),
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
    let mut pacer = pacer::Pacer::announcing(Some(polling))?;
    let mut silence_check = tokio::time::interval(std::time::Duration::from_secs(5));
    // Events queued while no agent ran come first; the kernel may have woken
    // nobody for the last of them.
    let (mut more, _) = drain::drain(ring.get_mut(), &mut sink, &agent)?;
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
                (more, _) = drain::drain(guard.get_inner_mut(), &mut sink, &agent)?;
                guard.clear_ready();
                pacer.woken()?;
            }
            _ = silence_check.tick() => agent.check_silence(),
            tick = pacer.tick(), if pacer.active() => {
                tick?;
                let found;
                (more, found) = drain::drain(ring.get_mut(), &mut sink, &agent)?;
                // Events keep coming: keep polling, and keep the kernel
                // from waking the agent meanwhile (`pacer`).
                if found && pacer.active() {
                    pacer.woken()?;
                }
            }
            _ = std::future::ready(()), if more => {
                (more, _) = drain::drain(ring.get_mut(), &mut sink, &agent)?;
            }
        }
    }
    let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Stopping]);
    // What the ring held when the agent was asked to stop (43,700 events at
    // most), not a flood that never ends.
    let whole_ring = alexa_common::maps::RINGBUF_BYTES as u64
        / (alexa_common::event::EVENT_HEAD_SIZE as u64 + 8);
    for _ in 0..whole_ring.div_ceil(DRAIN_BATCH) {
        if !drain::drain(ring.get_mut(), &mut sink, &agent)?.0 {
            break;
        }
    }
    let bad_items = sink.bad_items;
    if let Some(e) = sink.evidence.as_mut() {
        e.flush()?;
    }
    log.finish()?;
    let c = agent.probe().counters()?;
    let summary: Vec<String> = counter::NAMES
        .iter()
        .zip(c)
        .map(|(n, v)| format!("{n}={v}"))
        .collect();
    agent.note(format!(
        "stopped; the probe stays attached to {} and {} (pinned in {}; `alexa detach` removes it); {}",
        opts.iface,
        if config.mode() == Mode::Enforce { "enforcing" } else { "monitoring" },
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
