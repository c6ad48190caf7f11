//! Command-line options of the agent (`alexa run`) and of the commands that
//! talk to a running agent through its control socket.

use std::{net::SocketAddr, path::PathBuf};

use alexa_common::mode;
use anyhow::{anyhow, bail, Context as _, Result};
use clap::{Args, Subcommand, ValueEnum};

use crate::device::Device;

use super::{control, http, RunOptions, DEFAULT_PIN_DIR};
use crate::classifier::{
    AttachMode, DEFAULT_QUARANTINE_HOLD_MS, DEFAULT_QUARANTINE_PACKETS,
    DEFAULT_QUARANTINE_WINDOW_MS,
};

/// The shipped model, relative to the working directory (the repository, or
/// the directory `cargo xtask deploy` installs into).
pub const DEFAULT_MODEL: &str = "models/echo.json";

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// Never drop; what the policy would drop is logged as an alert.
    Monitor,
    /// Drop what the policy says, and quarantined flows.
    Enforce,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Interface the device's packets arrive on (the gateway's LAN side).
    #[arg(long)]
    pub iface: String,
    /// A monitored device, by IP or MAC address (repeat for several).
    #[arg(long = "device", value_name = "ADDR|MAC", required = true)]
    pub devices: Vec<Device>,
    #[arg(long, value_enum, default_value_t = Mode::Monitor)]
    pub mode: Mode,
    /// Per-class actions on top of the default policy (drop not_justified,
    /// alert justified, pass the rest), e.g. `--policy justified=pass,ack=alert`.
    #[arg(long, value_name = "CLASS=ACTION,...")]
    pub policy: Vec<String>,
    /// Decision-tree model (MODEL.json) to classify with.
    #[arg(long, value_name = "FILE", default_value = DEFAULT_MODEL)]
    pub model: PathBuf,
    /// Log packets unclassified, without any model.
    #[arg(long, conflicts_with = "model")]
    pub no_model: bool,
    /// The microphone's state at start (default: on, or what a restarted agent finds).
    #[arg(long, value_enum)]
    pub microphone: Option<OnOff>,
    /// Where to write the JSON-lines verdict log (`-`: standard output).
    #[arg(long, value_name = "FILE|-")]
    pub log: Option<PathBuf>,
    /// Rotate the log when it reaches this many bytes (0: never).
    #[arg(long, value_name = "BYTES", default_value_t = 100 << 20)]
    pub log_max_bytes: u64,
    /// Rotated log files kept (FILE.1 … FILE.N).
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub log_keep: u32,
    /// Log one pure-ack verdict in N (counters and metrics count every one).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub log_acks: u32,
    /// Evidence capture (pcapng) of dropped and not_justified packets; `none`
    /// for none. Default: evidence.pcapng beside the log file (none when
    /// logging to standard output).
    #[arg(long, value_name = "FILE|none")]
    pub evidence: Option<PathBuf>,
    /// Also keep evidence of `justified` packets.
    #[arg(long)]
    pub evidence_justified: bool,
    /// Quarantine a flow after K not_justified packets within T ms, for Q ms
    /// (K=0 disables). Default 20,2000,60000, or what a restarted agent finds.
    #[arg(long, value_name = "K,T,Q")]
    pub quarantine: Option<String>,
    #[arg(long, value_enum, default_value_t = AttachMode::Auto)]
    pub xdp_mode: AttachMode,
    /// bpffs directory holding the pinned program link and maps.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_PIN_DIR)]
    pub pin_dir: PathBuf,
    #[arg(long, value_name = "PATH", default_value = control::DEFAULT_SOCKET)]
    pub control_socket: PathBuf,
    /// Prometheus exposition address (`none` to disable).
    #[arg(long, value_name = "ADDR:PORT|none", default_value = http::DEFAULT_METRICS)]
    pub metrics_addr: String,
    /// Local HTTP API address (`none` to disable).
    #[arg(long, value_name = "ADDR:PORT|none", default_value = http::DEFAULT_API)]
    pub api_addr: String,
}

fn addr(flag: &str, value: &str) -> Result<Option<SocketAddr>> {
    if value == "none" {
        return Ok(None);
    }
    value
        .parse()
        .map(Some)
        .map_err(|e| anyhow!("--{flag} {value:?}: {e} (want ADDR:PORT or none)"))
}

fn quarantine(value: &str) -> Result<(u32, u32, u32)> {
    let parts: Vec<&str> = value.split(',').map(str::trim).collect();
    let bad = || {
        anyhow!("--quarantine {value:?}: want K,T,Q (packets, window ms, hold ms), e.g. {DEFAULT_QUARANTINE_PACKETS},{DEFAULT_QUARANTINE_WINDOW_MS},{DEFAULT_QUARANTINE_HOLD_MS}")
    };
    let [k, t, q] = parts.as_slice() else {
        return Err(bad());
    };
    let n = |s: &str| s.parse::<u32>().map_err(|_| bad());
    let (k, t, q) = (n(k)?, n(t)?, n(q)?);
    if k > 0 && (t == 0 || q == 0) {
        bail!("--quarantine {value:?}: the window and the hold must be longer than 0 ms");
    }
    Ok((k, t, q))
}

impl RunArgs {
    pub fn options(self) -> Result<RunOptions> {
        let evidence = match (&self.evidence, &self.log) {
            (Some(p), _) if p.as_os_str() == "none" => None,
            (Some(p), _) => Some(p.clone()),
            (None, Some(log)) if log.as_os_str() != "-" => Some(
                log.parent()
                    .filter(|d| !d.as_os_str().is_empty())
                    .map_or_else(
                        || PathBuf::from("evidence.pcapng"),
                        |d| d.join("evidence.pcapng"),
                    ),
            ),
            (None, _) => None,
        };
        Ok(RunOptions {
            iface: self.iface,
            devices: self.devices,
            log: self.log,
            log_max_bytes: self.log_max_bytes,
            log_keep: self.log_keep,
            log_acks: self.log_acks,
            xdp_mode: self.xdp_mode,
            mode: match self.mode {
                Mode::Monitor => mode::MONITOR,
                Mode::Enforce => mode::ENFORCE,
            },
            policy: self.policy,
            microphone: self.microphone.map(|m| m == OnOff::On),
            model: (!self.no_model).then_some(self.model),
            quarantine: self.quarantine.as_deref().map(quarantine).transpose()?,
            pin_dir: self.pin_dir,
            control_socket: self.control_socket,
            metrics_addr: addr("metrics-addr", &self.metrics_addr)?,
            api_addr: addr("api-addr", &self.api_addr)?,
            evidence,
            evidence_justified: self.evidence_justified,
        })
    }
}

/// Where a running agent listens.
#[derive(Args, Debug)]
pub struct SocketArg {
    #[arg(long = "control-socket", value_name = "PATH", default_value = control::DEFAULT_SOCKET, global = true)]
    pub path: PathBuf,
}

#[derive(Subcommand, Debug)]
pub enum ModelCommand {
    /// Validate MODEL.json and swap it into the running classifier (the running model stays on any error).
    Load { file: PathBuf },
}

#[derive(Subcommand, Debug)]
pub enum PolicyCommand {
    /// Change per-class actions: CLASS=ACTION… (actions: pass, alert, drop).
    Set {
        #[arg(required = true, value_name = "CLASS=ACTION")]
        rules: Vec<String>,
    },
}

/// Sends `req` to the agent at `socket`, printing its answer.
pub fn send(socket: &std::path::Path, req: control::Request) -> Result<()> {
    let r = control::call(socket, &req)?;
    if let Some(m) = r.message {
        println!("{m}");
    }
    Ok(())
}

/// `alexa model load FILE`: the path the agent reads must not depend on its
/// working directory; the file is validated here too, for a quick error.
pub fn model_load(socket: &std::path::Path, file: PathBuf) -> Result<()> {
    crate::model::file::load(&file)?;
    let path = std::fs::canonicalize(&file)
        .with_context(|| format!("{}: cannot resolve", file.display()))?;
    send(socket, control::Request::ModelLoad { path })
}
