//! Command-line options of the agent (`alexa run`) and of the commands that
//! talk to a running agent through its control socket.

use std::{net::SocketAddr, path::PathBuf};

use alexa_common::mode;
use anyhow::{anyhow, bail, Result};
use clap::Args;

use super::{
    config::{self, Mode, NamedDevice, OnOff},
    http, token, ModelSource, RunOptions, DEFAULT_PIN_DIR,
};
use crate::kernel::AttachMode;

/// `alexa run`. Every setting can come from the config file (`--config`);
/// a flag given here overrides the file, and a built-in default fills what
/// neither gives.
#[derive(Args, Debug, Default)]
pub struct RunArgs {
    /// Config file (TOML, `docs/deploy.md`); flags override what it says,
    /// and run-time changes (mic, policy set, model load) are written back to it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Interface the device's packets arrive on (the gateway's LAN side).
    #[arg(long)]
    pub iface: Option<String>,
    /// A monitored device, by IP or MAC address, optionally named
    /// (`kitchen=08:7c:39:96:8a:8c`); repeat for several. Replaces the
    /// config file's devices.
    #[arg(long = "device", value_name = "[NAME=]ADDR|MAC")]
    pub devices: Vec<NamedDevice>,
    /// monitor (default) or enforce.
    #[arg(long, value_enum)]
    pub mode: Option<Mode>,
    /// Per-class actions on top of the default policy (drop not_justified,
    /// alert justified, pass the rest) and of the config file's, e.g.
    /// `--policy justified=pass,ack=alert`.
    #[arg(long, value_name = "CLASS=ACTION,...")]
    pub policy: Vec<String>,
    /// Decision-tree model (MODEL.json) to classify with [default: the shipped model, built into this binary].
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// Log packets unclassified, without any model.
    #[arg(long, conflicts_with = "model")]
    pub no_model: bool,
    /// The microphone's state at start (default: the config file's, or what
    /// a restarted agent finds, or on).
    #[arg(long, value_enum)]
    pub microphone: Option<OnOff>,
    /// Where to write the JSON-lines verdict log (`-`: standard output).
    #[arg(long, value_name = "FILE|-")]
    pub log: Option<PathBuf>,
    /// Rotate the log when it reaches this many bytes (0: never) [default: 104857600].
    #[arg(long, value_name = "BYTES")]
    pub log_max_bytes: Option<u64>,
    /// Rotated log files kept, gzip-compressed (FILE.1.gz … FILE.N.gz) [default: 5].
    #[arg(long, value_name = "N")]
    pub log_keep: Option<u32>,
    /// Log one pure-ack verdict in N (counters and metrics count every one) [default: 1].
    #[arg(long, value_name = "N")]
    pub log_acks: Option<u32>,
    /// Evidence capture (pcapng) of dropped and not_justified packets; `none`
    /// for none. Default: evidence.pcapng beside the log file (none when
    /// logging to standard output).
    #[arg(long, value_name = "FILE|none")]
    pub evidence: Option<PathBuf>,
    /// Start a new evidence file when it reaches this many bytes (0: never) [default: 67108864].
    #[arg(long, value_name = "BYTES")]
    pub evidence_max_bytes: Option<u64>,
    /// Evidence files kept besides the current one (FILE.1 … FILE.N) [default: 3].
    #[arg(long, value_name = "N")]
    pub evidence_keep: Option<u32>,
    /// Also keep evidence of `justified` packets.
    #[arg(long)]
    pub evidence_justified: bool,
    /// Quarantine a flow after K not_justified packets within T ms, for Q ms
    /// (K=0 disables). Default 20,2000,60000, or what a restarted agent finds.
    #[arg(long, value_name = "K,T,Q")]
    pub quarantine: Option<String>,
    /// How to attach: auto (driver mode, else generic), drv or skb [default: auto].
    #[arg(long, value_enum)]
    pub xdp_mode: Option<AttachMode>,
    /// Report a listed device as silent after this many minutes without a packet (0: never) [default: 30].
    #[arg(long, value_name = "MINUTES")]
    pub silence_minutes: Option<f64>,
    /// bpffs directory holding the pinned program link and maps [default: /sys/fs/bpf/alexa].
    #[arg(long, value_name = "DIR")]
    pub pin_dir: Option<PathBuf>,
    /// The root-only control socket [default: /run/alexa/control.sock].
    #[arg(long, value_name = "PATH")]
    pub control_socket: Option<PathBuf>,
    /// Prometheus exposition address (`none` to disable) [default: 127.0.0.1:9464].
    #[arg(long, value_name = "ADDR:PORT|none")]
    pub metrics_addr: Option<String>,
    /// Local HTTP API address (`none` to disable) [default: 127.0.0.1:9465].
    #[arg(long, value_name = "ADDR:PORT|none")]
    pub api_addr: Option<String>,
    /// Measure the kernel's cost per packet (BPF run-time statistics, for
    /// `status`, `top` and the metrics); they slow every BPF program a little.
    #[arg(long)]
    pub kernel_stats: bool,
    /// File holding the API's bearer token, made at the first start (mode
    /// 0600) [default: /var/lib/alexa/api-token].
    #[arg(long, value_name = "FILE")]
    pub api_token_file: Option<PathBuf>,
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

/// The evidence file when none is named: beside the log, unless the log is
/// standard output.
fn evidence_beside(log: Option<&PathBuf>) -> Option<PathBuf> {
    let log = log.filter(|l| l.as_os_str() != "-")?;
    Some(
        log.parent()
            .filter(|d| !d.as_os_str().is_empty())
            .map_or_else(
                || PathBuf::from("evidence.pcapng"),
                |d| d.join("evidence.pcapng"),
            ),
    )
}

fn silence(minutes: Option<f64>) -> Result<std::time::Duration> {
    let m = minutes.unwrap_or(30.0);
    if !(0.0..=525_600.0).contains(&m) {
        bail!("silence_minutes {m}: want 0 (never) to 525600 (a year)");
    }
    Ok(std::time::Duration::from_secs_f64(m * 60.0))
}

impl RunArgs {
    /// Merges flags over the config file over the defaults.
    pub fn options(self) -> Result<RunOptions> {
        let file = self.config.as_deref().map(config::load).transpose()?;
        let file = file.unwrap_or_default();
        let iface = self.iface.or(file.interface).ok_or_else(|| {
            anyhow!("no interface: give --iface IFACE or `interface = ...` in the config file")
        })?;
        let devices: Vec<NamedDevice> = if self.devices.is_empty() {
            file.devices
                .into_iter()
                .map(|(name, device)| NamedDevice {
                    name: name.0,
                    device,
                })
                .collect()
        } else {
            self.devices
        };
        if devices.is_empty() {
            bail!("no device given: name the smart speaker with --device [NAME=]ADDR|MAC or a [devices] table in the config file");
        }
        if devices.len() > config::MAX_DEVICES {
            bail!(
                "{} devices given; the kernel's device map holds {}",
                devices.len(),
                config::MAX_DEVICES
            );
        }
        for (i, d) in devices.iter().enumerate() {
            if devices[..i].iter().any(|e| e.name == d.name) {
                bail!("device name {} given twice", d.name);
            }
        }
        let log = self.log.or(file.log.path.map(|p| p.0));
        let evidence = match self.evidence {
            Some(p) if p.as_os_str() == "none" => None,
            Some(p) => Some(p),
            None => match file.evidence.path {
                Some(config::OrNone(p)) => p.map(|p| p.0),
                None => evidence_beside(log.as_ref()),
            },
        };
        let model = if self.no_model {
            None
        } else {
            match (self.model, file.model) {
                (Some(p), _) => Some(ModelSource::File(p)),
                (None, Some(config::ModelChoice::Off)) => None,
                (None, Some(config::ModelChoice::File(p))) => Some(ModelSource::File(p)),
                (None, Some(config::ModelChoice::Builtin) | None) => Some(ModelSource::Builtin),
            }
        };
        let mut policy: Vec<String> = file.policy.into_iter().map(|r| r.0).collect();
        policy.extend(self.policy);
        let quarantine = match self.quarantine {
            Some(q) => Some(
                q.parse::<config::Quarantine>()
                    .map_err(|e| anyhow!("--{e}"))?,
            ),
            None => file.quarantine,
        };
        let metrics_addr = match self.metrics_addr {
            Some(a) => addr("metrics-addr", &a)?,
            None => match file.api.metrics {
                Some(config::OrNone(a)) => a,
                None => Some(http::DEFAULT_METRICS.parse()?),
            },
        };
        let api_addr = match self.api_addr {
            Some(a) => addr("api-addr", &a)?,
            None => match file.api.listen {
                Some(config::OrNone(a)) => a,
                None => Some(http::DEFAULT_API.parse()?),
            },
        };
        let log_acks = match self.log_acks {
            Some(0) => bail!("--log-acks must be at least 1 (1 logs every ack)"),
            Some(n) => n,
            None => file.log.acks.map_or(1, |p| p.0),
        };
        Ok(RunOptions {
            iface,
            devices,
            log,
            log_max_bytes: self
                .log_max_bytes
                .or(file.log.max_bytes)
                .unwrap_or(100 << 20),
            log_keep: self.log_keep.or(file.log.keep).unwrap_or(5),
            log_acks,
            xdp_mode: self.xdp_mode.or(file.xdp_mode).unwrap_or(AttachMode::Auto),
            mode: match self.mode.or(file.mode).unwrap_or(Mode::Monitor) {
                Mode::Monitor => mode::MONITOR,
                Mode::Enforce => mode::ENFORCE,
            },
            policy,
            microphone: self.microphone.or(file.microphone).map(|m| m == OnOff::On),
            model,
            quarantine: quarantine.map(|q| (q.0, q.1, q.2)),
            pin_dir: self
                .pin_dir
                .or(file.pin_dir.map(|p| p.0))
                .unwrap_or_else(|| DEFAULT_PIN_DIR.into()),
            control_socket: self
                .control_socket
                .or(file.control_socket.map(|p| p.0))
                .unwrap_or_else(|| crate::control::DEFAULT_SOCKET.into()),
            metrics_addr,
            api_addr,
            api_token_file: self
                .api_token_file
                .or(file.api.token_file.map(|p| p.0))
                .unwrap_or_else(|| token::DEFAULT_TOKEN_FILE.into()),
            evidence,
            evidence_max_bytes: self
                .evidence_max_bytes
                .or(file.evidence.max_bytes)
                .unwrap_or(64 << 20),
            evidence_keep: self.evidence_keep.or(file.evidence.keep).unwrap_or(3),
            evidence_justified: self.evidence_justified || file.evidence.justified.unwrap_or(false),
            silence: silence(self.silence_minutes.or(file.silence_minutes))?,
            config: self.config,
            kernel_stats: self.kernel_stats || file.kernel_stats.unwrap_or(false),
        })
    }
}
