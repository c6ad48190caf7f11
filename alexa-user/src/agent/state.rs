//! The running agent's state, shared by the event loop, the control socket
//! and the HTTP servers, and the changes they may make to it (microphone,
//! model, policy), each kept in the config file.

use super::*;

pub(super) fn class_label(class: u8) -> &'static str {
    class_name(class).unwrap_or("unclassified")
}

/// The running agent's state, shared by the event loop, the control socket
/// and the HTTP servers.
pub struct Agent {
    pub(super) probe: Mutex<Probe>,
    pub(super) info: Mutex<Info>,
    /// What the HTTP API's changes must carry; `None` when the API is off.
    pub(super) api_token: Option<String>,
    pub(super) api_token_file: PathBuf,
    /// Where run-time changes are kept.
    pub(super) config: Option<PathBuf>,
}

pub(super) struct Info {
    pub(super) iface: String,
    pub(super) xdp_mode: String,
    pub(super) devices: Vec<String>,
    /// By device index.
    pub(super) seen: Vec<DeviceSeen>,
    /// Past this without a packet, a device is reported silent.
    pub(super) silence: std::time::Duration,
    pub(super) started_wall: std::time::SystemTime,
    pub(super) model_path: Option<String>,
    pub(super) started: Instant,
    pub(super) events_received: u64,
    pub(super) recent: VecDeque<RecentVerdict>,
}

/// One listed device's traffic, as the agent has seen it.
pub(super) struct DeviceSeen {
    pub(super) name: String,
    pub(super) address: String,
    pub(super) packets: u64,
    pub(super) last: Option<Instant>,
    /// Reported silent, and not heard from since.
    pub(super) silent: bool,
}

impl Agent {
    /// The state of an agent just started with `probe` attached.
    pub(super) fn new(
        probe: Probe,
        opts: &RunOptions,
        xdp_mode: &str,
        api_token: Option<String>,
    ) -> Agent {
        Agent {
            probe: Mutex::new(probe),
            info: Mutex::new(Info {
                iface: opts.iface.clone(),
                xdp_mode: xdp_mode.to_owned(),
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
        }
    }

    pub(super) fn probe(&self) -> std::sync::MutexGuard<'_, Probe> {
        self.probe.lock().unwrap_or_else(|p| p.into_inner())
    }
    pub(super) fn info(&self) -> std::sync::MutexGuard<'_, Info> {
        self.info.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A line for the operator (the journal, under systemd).
    pub fn note(&self, msg: String) {
        eprintln!("alexa: {msg}");
    }

    pub fn status(&self) -> Result<Status> {
        let mut c = self.probe();
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
                passed: row[Action::Pass as usize].packets,
                alerted: row[Action::Alert as usize].packets,
                dropped: row[Action::Drop as usize].packets,
            })
            .collect();
        Ok(Status {
            iface: info.iface.clone(),
            xdp_mode: info.xdp_mode.clone(),
            mode: config.mode().name().to_owned(),
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
                .map(|(n, a)| ((*n).to_owned(), a.name().to_owned()))
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
        self.probe().set_microphone(on)?;
        self.note(format!("microphone {}", if on { "on" } else { "muted" }));
        self.keep(config::Change::Microphone(on))
    }

    /// Writes a change that took effect into the config file, so a restart
    /// keeps it; a failure says the change holds only until then.
    pub(super) fn keep(&self, change: config::Change<'_>) -> Result<()> {
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
        self.probe().load_tree(&model.nodes, version)?;
        self.info().model_path = Some(path.display().to_string());
        self.note(format!(
            "model {} loaded (version {version:08x})",
            path.display()
        ));
        self.keep(config::Change::Model(path))?;
        Ok(format!("{version:08x}"))
    }

    /// `alexa policy set`: `rules` as the control socket gives them, checked
    /// before anything changes.
    pub fn set_policy(&self, rules: &[String]) -> Result<String> {
        let rules = rules::parse(rules)?;
        let mut c = self.probe();
        let new = rules::apply(&c.policy()?, &rules);
        c.set_policy(&new)?;
        drop(c);
        let whole: Vec<String> = rules::listed(&new).iter().map(|r| r.to_string()).collect();
        let text = whole.join(",");
        self.note(format!("policy set: {text}"));
        self.keep(config::Change::Policy(&whole))?;
        Ok(text)
    }
}
