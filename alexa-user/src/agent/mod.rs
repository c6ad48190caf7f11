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

pub use line::{log_line, LineMeta};
pub use state::Agent;

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
    preflight(&opts)?;
    // Validate everything given before anything reaches the kernel.
    let model = opts.model.as_ref().map(ModelSource::load).transpose()?;
    // Everything that can fail on bad input fails here, before the kernel
    // is touched: a refused start leaves no program attached, nothing pinned.
    let listeners = Listeners::bind(&opts).await?;
    let _socket_file = SocketFile(opts.control_socket.clone());
    let mut log = log::VerdictLog::open(opts.log.as_deref(), opts.log_max_bytes, opts.log_keep)?;
    check_evidence_dir(&opts)?;

    // A refused first start takes its fresh pins away again.
    let mut fresh = FreshPins { dir: None };
    let started = start_probe(&opts, model.as_ref(), &mut fresh)?;
    // Before any server starts or any thread exists: all inherit this.
    privileges::drop_privileges()?;
    fresh.dir = None;

    let (config, version) = (started.config, started.version);
    let agent = Arc::new(Agent::new(
        started.probe,
        &opts,
        started.attached.mode,
        listeners.api_token,
    ));
    let metrics_at = listeners
        .metrics
        .map(|l| http::serve_metrics(l, agent.clone()));
    let api_at = listeners.api.map(|l| http::serve_api(l, agent.clone()));
    tokio::spawn(socket::serve(listeners.control, agent.clone()));
    agent.note(started_note(
        &opts,
        &started.attached,
        &config,
        version,
        metrics_at,
        api_at,
    ));
    // systemd (Type=notify): started means attached and answering.
    let _ = sd_notify::notify(
        false,
        &[
            sd_notify::NotifyState::Ready,
            sd_notify::NotifyState::Status(&format!("{} on {}", config.mode().name(), opts.iface)),
        ],
    );

    let bad_items = drain::serve(&agent, started.ring, started.polling, &opts, &mut log).await?;
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

/// The checks before anything is opened: root, a device, the kernel, the
/// interface free of other XDP programs, and the options' own sense.
fn preflight(opts: &RunOptions) -> Result<()> {
    privileges::require_root("alexa run")?;
    if opts.devices.is_empty() {
        bail!("no device given: name the smart speaker's address with --device ADDR");
    }
    preflight::check_kernel(&preflight::kernel_release()?)?;
    preflight::require_interface(&opts.iface)?;
    preflight::check_interface_free(&opts.iface, alexa_common::maps::PROGRAM_NAME)?;
    if opts.log_acks == 0 {
        bail!("--log-acks must be at least 1 (1 logs every ack)");
    }
    Ok(())
}

/// Fail now, not at the first drop, if the evidence's place is unusable.
fn check_evidence_dir(opts: &RunOptions) -> Result<()> {
    if let Some(p) = &opts.evidence {
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
    Ok(())
}

/// What the agent listens on, bound before the kernel is touched.
struct Listeners {
    control: tokio::net::UnixListener,
    metrics: Option<tokio::net::TcpListener>,
    api: Option<tokio::net::TcpListener>,
    api_token: Option<String>,
}

impl Listeners {
    async fn bind(opts: &RunOptions) -> Result<Self> {
        let control = socket::bind(&opts.control_socket)?;
        let metrics = match opts.metrics_addr {
            Some(a) => Some(http::bind(a, "metrics").await?),
            None => None,
        };
        let api = match opts.api_addr {
            Some(a) => Some(http::bind(a, "API").await?),
            None => None,
        };
        let api_token = match opts.api_addr {
            Some(_) => Some(token::load_or_create(&opts.api_token_file)?),
            None => None,
        };
        Ok(Listeners {
            control,
            metrics,
            api,
            api_token,
        })
    }
}

/// The probe loaded (or adopted from the pins), set up as the options say,
/// attached, with the ring buffer and the polling map taken out.
struct Started {
    probe: Probe,
    ring: aya::maps::RingBuf<aya::maps::MapData>,
    polling: aya::maps::Array<aya::maps::MapData, u64>,
    attached: crate::kernel::Attached,
    config: alexa_common::maps::Config,
    version: u32,
}

fn start_probe(
    opts: &RunOptions,
    model: Option<&crate::offline::model::file::Model>,
    fresh: &mut FreshPins,
) -> Result<Started> {
    let mut probe = Probe::load_pinned(&opts.pin_dir)?;
    let adopted = probe.is_initialized()?;
    // A refused first start takes its fresh pins away again.
    if !adopted {
        fresh.dir = Some(opts.pin_dir.clone());
    }
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
    if let Some(m) = model {
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
    Ok(Started {
        probe,
        ring,
        polling,
        attached,
        config,
        version,
    })
}

/// The journal's line once the agent is up.
fn started_note(
    opts: &RunOptions,
    attached: &crate::kernel::Attached,
    config: &alexa_common::maps::Config,
    version: u32,
    metrics_at: Option<std::net::SocketAddr>,
    api_at: Option<std::net::SocketAddr>,
) -> String {
    format!(
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
    )
}
