//! The XDP classifier as user space holds it: the embedded object, loaded
//! into the kernel, its maps filled, attached to an interface, and run on
//! single frames through `BPF_PROG_TEST_RUN` for tests and benchmarks.
//!
//! An agent loads it *pinned*: every map and the XDP link live in a bpffs
//! directory, so the kernel keeps classifying and enforcing while no agent
//! runs, and a restarted agent adopts the same maps (state, counters, model)
//! and swaps its freshly loaded program into the existing link atomically.

use std::{
    os::fd::OwnedFd,
    path::{Path, PathBuf},
};

use alexa_common::{
    action, counter, device_filter_bit, maps, mode, policy, stat_index, ClassStat, Config, Node,
    CONFIG_INITIALIZED, DEVICE_CAPACITY, MODEL_SLOTS, NUM_CLASSES, PROGRAM_NAME, TREE_CAPACITY,
};
use anyhow::{anyhow, bail, Context as _, Result};
use aya::{
    maps::{Array, HashMap, MapData, PerCpuArray, RingBuf},
    programs::{
        links::{FdLink, PinnedLink},
        TestRun, TestRunOptions, Xdp, XdpMode,
    },
    Ebpf, EbpfLoader,
};

pub mod device;
pub mod event;
pub mod pins;

pub use device::Device;
pub use event::decode_event;
pub use pins::detach;
use pins::{link_pin_name, lock_pin_dir, prepare_pin_dir};

/// The compiled XDP object, built by build.rs with the nightly toolchain.
pub static OBJECT: &[u8] =
    aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/alexa-classifier"));

/// How to attach: `auto` asks for driver mode and falls back to generic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttachMode {
    Auto,
    Drv,
    Skb,
}

pub struct Classifier {
    ebpf: Ebpf,
    /// When the active slot last flipped: the other slot may still have a
    /// walk in flight on some CPU until a grace period has passed.
    last_flip: Option<std::time::Instant>,
    pin_dir: Option<PathBuf>,
    /// Keeps the kernel's BPF run-time statistics on while held.
    stats: Option<OwnedFd>,
    /// The pin directory's lock: one agent per set of pins.
    _lock: Option<std::fs::File>,
}

/// Defaults a fresh (not adopted) classifier starts with.
pub const DEFAULT_QUARANTINE_PACKETS: u32 = 20;
pub const DEFAULT_QUARANTINE_WINDOW_MS: u32 = 2_000;
pub const DEFAULT_QUARANTINE_HOLD_MS: u32 = 60_000;

/// The quarantine rule the agent starts with.
pub fn default_quarantine_rule() -> alexa_common::QuarantineRule {
    Config {
        quarantine_packets: DEFAULT_QUARANTINE_PACKETS,
        quarantine_window_ms: DEFAULT_QUARANTINE_WINDOW_MS,
        quarantine_hold_ms: DEFAULT_QUARANTINE_HOLD_MS,
        ..Config::default()
    }
    .quarantine_rule()
}

/// How an attach went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attached {
    /// "driver" or "generic"; "pinned" when an existing link was adopted.
    pub mode: &'static str,
    /// The program replaced the one in a pinned link left by an earlier agent.
    pub adopted: bool,
}

/// Per-class packets and bytes by action, summed over CPUs.
pub type ClassActionStats = [[ClassStat; action::COUNT]; NUM_CLASSES + 1];

/// Far longer than any XDP run (microseconds, inside one softirq) takes.
const SLOT_GRACE: std::time::Duration = std::time::Duration::from_millis(10);

impl Classifier {
    /// Loads the program into the kernel (not attached yet) with maps of
    /// its own, gone when it is dropped; initialised with the defaults.
    pub fn load() -> Result<Self> {
        let mut c = Self::load_with(EbpfLoader::new(), None)?;
        c.initialize()?;
        Ok(c)
    }

    /// Loads the program with its maps pinned in `dir`: maps already pinned
    /// there (by an earlier agent) are adopted with their contents; new ones
    /// are created and pinned. [`Self::is_initialized`] tells which.
    pub fn load_pinned(dir: &Path) -> Result<Self> {
        prepare_pin_dir(dir)?;
        let lock = lock_pin_dir(dir)?;
        let paths: Vec<(&str, PathBuf)> = maps::ALL.iter().map(|m| (*m, dir.join(m))).collect();
        let mut loader = EbpfLoader::new();
        for (name, path) in &paths {
            loader.map_pin_path(name, path.as_path());
        }
        let mut c = Self::load_with(loader, Some(dir.to_owned()))?;
        c._lock = Some(lock);
        Ok(c)
    }

    fn load_with(mut loader: EbpfLoader, pin_dir: Option<PathBuf>) -> Result<Self> {
        if OBJECT.is_empty() {
            bail!("this alexa binary was built without the XDP object (AYA_BUILD_SKIP); rebuild with `cargo xtask build`");
        }
        let mut ebpf = loader
            .load(OBJECT)
            .map_err(|e| anyhow!("cannot load the XDP object: {e}"))?;
        let program: &mut Xdp = ebpf
            .program_mut(PROGRAM_NAME)
            .context("the XDP object has no classifier program")?
            .try_into()?;
        program.load().map_err(|e| {
            anyhow!(
                "the kernel refused the classifier: {}",
                verifier_message(&e)
            )
        })?;
        Ok(Classifier {
            ebpf,
            last_flip: None,
            pin_dir,
            stats: None,
            _lock: None,
        })
    }

    /// True when the maps hold an earlier agent's settings (adopted pins).
    pub fn is_initialized(&self) -> Result<bool> {
        Ok(self.config()?.initialized == CONFIG_INITIALIZED)
    }

    /// Writes the defaults: microphone on, monitor mode, the default
    /// enforce policy, quarantine K=20 in 2 s for 60 s, evidence of
    /// `not_justified` packets.
    pub fn initialize(&mut self) -> Result<()> {
        let evidence = 1u32 << policy::QUARANTINE_CLASS;
        self.set_policy(&policy::default_policy())?;
        self.update_config(|c| {
            *c = Config {
                microphone: 1,
                mode: mode::MONITOR,
                quarantine_packets: DEFAULT_QUARANTINE_PACKETS,
                quarantine_window_ms: DEFAULT_QUARANTINE_WINDOW_MS,
                quarantine_hold_ms: DEFAULT_QUARANTINE_HOLD_MS,
                evidence_classes: evidence,
                initialized: CONFIG_INITIALIZED,
                _reserved: 0,
            }
        })
    }

    pub fn config(&self) -> Result<Config> {
        let map = self.ebpf.map(maps::CONFIG).context("no CONFIG map")?;
        let config: Array<_, Config> = Array::try_from(map)?;
        Ok(config.get(&0, 0)?)
    }

    /// Changes the run-time settings (one map write: the kernel sees the
    /// old or the new entry, never a mix... per field, see docs/agent.md).
    pub fn update_config(&mut self, f: impl FnOnce(&mut Config)) -> Result<()> {
        let mut config: Array<_, Config> = Array::try_from(self.map(maps::CONFIG)?)?;
        let mut c = config.get(&0, 0)?;
        f(&mut c);
        config.set(0, c, 0)?;
        Ok(())
    }

    /// The action per class id.
    pub fn policy(&self) -> Result<[u8; NUM_CLASSES]> {
        let map = self.ebpf.map(maps::POLICY).context("no POLICY map")?;
        let policy: Array<_, u32> = Array::try_from(map)?;
        let mut out = [action::PASS; NUM_CLASSES];
        for (i, a) in out.iter_mut().enumerate() {
            *a = policy.get(&(i as u32), 0)? as u8;
        }
        Ok(out)
    }

    pub fn set_policy(&mut self, actions: &[u8; NUM_CLASSES]) -> Result<()> {
        if let Some(bad) = actions.iter().find(|a| **a as usize >= action::COUNT) {
            bail!("action {bad} is not one of pass, alert, drop");
        }
        let mut policy: Array<_, u32> = Array::try_from(self.map(maps::POLICY)?)?;
        for (i, a) in actions.iter().enumerate() {
            policy.set(i as u32, *a as u32, 0)?;
        }
        Ok(())
    }

    fn program(&mut self) -> &mut Xdp {
        self.ebpf
            .program_mut(PROGRAM_NAME)
            .expect("checked at load")
            .try_into()
            .expect("checked at load")
    }

    /// Attaches to `iface` and pins the link, or, when an earlier agent's
    /// link for `iface` is pinned, swaps this program into it atomically
    /// (`bpf_link_update`): no packet goes unclassified in between.
    pub fn attach_pinned(&mut self, iface: &str, mode: AttachMode) -> Result<Attached> {
        let dir = self
            .pin_dir
            .clone()
            .context("attach_pinned needs a classifier loaded with load_pinned")?;
        let link_path = dir.join(link_pin_name(iface));
        if let Some(other) = std::fs::read_dir(&dir)?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .find(|n| n.starts_with("link_") && *n != link_pin_name(iface))
        {
            bail!(
                "{}: the classifier is attached to {} already; `alexa detach --pin-dir {}` first",
                dir.display(),
                other.trim_start_matches("link_"),
                dir.display()
            );
        }
        if link_path.exists() {
            let pinned = PinnedLink::from_pin(&link_path)
                .with_context(|| format!("{}: cannot open the pinned link", link_path.display()))?;
            let link = aya::programs::xdp::XdpLink::try_from(FdLink::from(pinned))
                .with_context(|| format!("{}: not an XDP link", link_path.display()))?;
            let id = self
                .program()
                .attach_to_link(link)
                .context("cannot swap the program into the pinned link")?;
            // Ours to keep open or drop: the pin keeps the link alive.
            let owned = self.program().take_link(id)?;
            drop(owned);
            return Ok(Attached {
                mode: "pinned",
                adopted: true,
            });
        }
        let (id, name) = self.attach_link(iface, mode)?;
        let owned = self.program().take_link(id)?;
        let fd_link = FdLink::try_from(owned).map_err(|e| {
            anyhow!("the kernel attached XDP without a BPF link, which cannot be pinned: {e}")
        })?;
        fd_link
            .pin(&link_path)
            .with_context(|| format!("{}: cannot pin the link", link_path.display()))?;
        Ok(Attached {
            mode: name,
            adopted: false,
        })
    }

    /// Attaches to `iface` for as long as this classifier lives; returns the
    /// mode that worked.
    pub fn attach(&mut self, iface: &str, mode: AttachMode) -> Result<&'static str> {
        Ok(self.attach_link(iface, mode)?.1)
    }

    fn attach_link(
        &mut self,
        iface: &str,
        mode: AttachMode,
    ) -> Result<(aya::programs::xdp::XdpLinkId, &'static str)> {
        let tries: &[(XdpMode, &str)] = match mode {
            AttachMode::Auto => &[(XdpMode::Driver, "driver"), (XdpMode::Skb, "generic")],
            AttachMode::Drv => &[(XdpMode::Driver, "driver")],
            AttachMode::Skb => &[(XdpMode::Skb, "generic")],
        };
        let mut last = None;
        for (m, name) in tries {
            match self.program().attach(iface, *m) {
                Ok(id) => return Ok((id, name)),
                Err(e) => last = Some(e),
            }
        }
        Err(anyhow!(
            "cannot attach XDP to {iface}: {}",
            last.map(|e| e.to_string()).unwrap_or_default()
        ))
    }

    /// Monitors `device` as device number `index` (0..`DEVICE_CAPACITY`),
    /// the number every event of its packets carries (`EventHead::device`).
    /// Adding a listed device again gives it the new index.
    pub fn add_device(&mut self, index: u8, device: impl Into<Device>) -> Result<()> {
        let addr: Device = device.into();
        if index as u32 >= DEVICE_CAPACITY {
            bail!("cannot add device {addr}: index {index} is not below {DEVICE_CAPACITY}");
        }
        let key = addr.key();
        // The filter's bit first: the kernel never sees the device without it.
        let bits = self.device_filter()? | device_filter_bit(&key);
        self.set_device_filter(bits)?;
        let mut devices: HashMap<_, [u8; 16], u8> = HashMap::try_from(self.map(maps::DEVICES)?)?;
        devices
            .insert(key, index, 0)
            .with_context(|| format!("cannot add device {addr}"))?;
        Ok(())
    }

    fn device_filter(&mut self) -> Result<u64> {
        let filter: Array<_, u64> = Array::try_from(self.map(maps::DEVICE_FILTER)?)?;
        Ok(filter.get(&0, 0)?)
    }

    fn set_device_filter(&mut self, bits: u64) -> Result<()> {
        let mut filter: Array<_, u64> = Array::try_from(self.map(maps::DEVICE_FILTER)?)?;
        filter
            .set(0, bits, 0)
            .context("cannot update the device filter")?;
        Ok(())
    }

    /// Makes the monitored set exactly `addrs`, device `i` being `addrs[i]`
    /// (adding before removing, so a device in both the old and new sets is
    /// never unwatched).
    pub fn set_devices(&mut self, addrs: &[Device]) -> Result<()> {
        if addrs.len() > DEVICE_CAPACITY as usize {
            bail!(
                "{} devices given; at most {DEVICE_CAPACITY} can be monitored",
                addrs.len()
            );
        }
        for (i, a) in addrs.iter().enumerate() {
            self.add_device(i as u8, *a)?;
        }
        let want: Vec<[u8; 16]> = addrs.iter().map(Device::key).collect();
        let mut devices: HashMap<_, [u8; 16], u8> = HashMap::try_from(self.map(maps::DEVICES)?)?;
        let stale: Vec<[u8; 16]> = devices
            .keys()
            .filter_map(|k| k.ok())
            .filter(|k| !want.contains(k))
            .collect();
        for k in stale {
            devices.remove(&k)?;
        }
        // Bits cleared only once their devices are gone.
        let bits = want.iter().fold(0, |b, k| b | device_filter_bit(k));
        self.set_device_filter(bits)
    }

    pub fn set_microphone(&mut self, on: bool) -> Result<()> {
        self.update_config(|c| c.microphone = on as u32)
    }

    /// Turns on the kernel's per-program run-time statistics for as long as
    /// this classifier lives (they cost two clock reads per packet).
    pub fn enable_run_stats(&mut self) -> Result<()> {
        let fd = aya::sys::enable_stats(aya::sys::Stats::RunTime)
            .map_err(|e| anyhow!("cannot enable BPF run-time statistics: {e}"))?;
        self.stats = Some(fd);
        Ok(())
    }

    /// Total run time and run count of this program (since it was loaded),
    /// when statistics are on.
    pub fn run_stats(&mut self) -> Option<(std::time::Duration, u64)> {
        self.stats.as_ref()?;
        let info = self.program().info().ok()?;
        Some((info.run_time(), info.run_count()))
    }

    /// Loads a compiled tree without disturbing packets in flight: the nodes
    /// go into the slot not in use, then the active-slot index flips (one
    /// aligned u32 write). `version` (non-zero) is what events carry.
    /// Returns the slot now in use.
    pub fn load_tree(&mut self, nodes: &[Node], version: u32) -> Result<u32> {
        if version == 0 {
            bail!("model version 0 is reserved for \"no model\"");
        }
        if nodes.is_empty() || nodes.len() > TREE_CAPACITY as usize {
            bail!(
                "a tree must have 1 to {TREE_CAPACITY} nodes, not {}",
                nodes.len()
            );
        }
        let active = self.active_slot()?;
        let slot = (active + 1) % MODEL_SLOTS;
        if let Some(since) = self.last_flip.map(|t| t.elapsed()) {
            if since < SLOT_GRACE {
                std::thread::sleep(SLOT_GRACE - since);
            }
        }
        {
            let mut tree: Array<_, Node> = Array::try_from(self.map(maps::TREE)?)?;
            for (i, n) in nodes.iter().enumerate() {
                tree.set(slot * TREE_CAPACITY + i as u32, n, 0)?;
            }
        }
        let mut models: Array<_, u32> = Array::try_from(self.map(maps::MODELS)?)?;
        models.set(slot, version, 0)?;
        let mut active_map: Array<_, u32> = Array::try_from(self.map(maps::ACTIVE)?)?;
        active_map.set(0, slot, 0)?;
        self.last_flip = Some(std::time::Instant::now());
        Ok(slot)
    }

    fn active_slot(&self) -> Result<u32> {
        let map = self.ebpf.map(maps::ACTIVE).context("no ACTIVE map")?;
        let active: Array<_, u32> = Array::try_from(map)?;
        Ok(active.get(&0, 0)? % MODEL_SLOTS)
    }

    /// The first `len` nodes of the tree in the active slot, as the kernel
    /// walks them (for tests that check no half-written tree is in use).
    pub fn active_tree(&self, len: usize) -> Result<Vec<Node>> {
        let slot = self.active_slot()?;
        let map = self.ebpf.map(maps::TREE).context("no TREE map")?;
        let tree: Array<_, Node> = Array::try_from(map)?;
        (0..len.min(TREE_CAPACITY as usize) as u32)
            .map(|i| Ok(tree.get(&(slot * TREE_CAPACITY + i), 0)?))
            .collect()
    }

    /// Version of the model in use, 0 when none.
    pub fn model_version(&self) -> Result<u32> {
        let slot = self.active_slot()?;
        let map = self.ebpf.map(maps::MODELS).context("no MODELS map")?;
        let models: Array<_, u32> = Array::try_from(map)?;
        Ok(models.get(&slot, 0)?)
    }

    /// Per-class packets and bytes by action, summed over CPUs; the last
    /// row counts packets no model classified.
    pub fn class_action_stats(&self) -> Result<ClassActionStats> {
        let map = self
            .ebpf
            .map(maps::CLASS_STATS)
            .context("no CLASS_STATS map")?;
        let stats: PerCpuArray<_, ClassStat> = PerCpuArray::try_from(map)?;
        let mut out = [[ClassStat::default(); action::COUNT]; NUM_CLASSES + 1];
        for (row, by_action) in out.iter_mut().enumerate() {
            for (a, slot) in by_action.iter_mut().enumerate() {
                for s in stats.get(&stat_index(row as u32, a as u8), 0)?.iter() {
                    slot.packets += s.packets;
                    slot.bytes += s.bytes;
                }
            }
        }
        Ok(out)
    }

    /// The counters, summed over CPUs, indexed by `alexa_common::counter`.
    pub fn counters(&self) -> Result<[u64; counter::COUNT as usize]> {
        let map = self.ebpf.map(maps::COUNTERS).context("no COUNTERS map")?;
        let counters: PerCpuArray<_, u64> = PerCpuArray::try_from(map)?;
        let mut out = [0u64; counter::COUNT as usize];
        for (i, slot) in out.iter_mut().enumerate() {
            *slot = counters.get(&(i as u32), 0)?.iter().sum();
        }
        Ok(out)
    }

    /// Live entries in the flow map (a full walk: for tests and benchmarks).
    pub fn flow_count(&self) -> Result<usize> {
        let map = self.ebpf.map(maps::FLOWS).context("no FLOWS map")?;
        let flows: HashMap<_, alexa_common::FlowKey, alexa_common::FlowState> =
            HashMap::try_from(map)?;
        Ok(flows.keys().filter_map(|k| k.ok()).count())
    }

    /// Takes the ring buffer out (once), for the agent's reader.
    pub fn take_events(&mut self) -> Result<RingBuf<MapData>> {
        let map = self
            .ebpf
            .take_map(maps::EVENTS)
            .context("events already taken")?;
        Ok(RingBuf::try_from(map)?)
    }

    /// The map in which the agent announces until when it polls the ring
    /// buffer on its own (`maps::POLLING`), so the classifier wakes nobody.
    pub fn take_polling(&mut self) -> Result<Array<MapData, u64>> {
        let map = self
            .ebpf
            .take_map(maps::POLLING)
            .context("polling map already taken")?;
        Ok(Array::try_from(map)?)
    }

    /// Runs the program once on `frame` in the kernel (`BPF_PROG_TEST_RUN`);
    /// returns the XDP action and the average run time in nanoseconds.
    pub fn test_run(&mut self, frame: &[u8], repeat: u32) -> Result<(u32, u64)> {
        let opts = TestRunOptions {
            data_in: Some(frame),
            repeat,
            ..TestRunOptions::default()
        };
        let result = self
            .program()
            .test_run(opts)
            .context("BPF_PROG_TEST_RUN failed")?;
        Ok((result.return_value, result.duration.as_nanos() as u64))
    }

    fn map(&mut self, name: &str) -> Result<&mut aya::maps::Map> {
        self.ebpf
            .map_mut(name)
            .with_context(|| format!("no {name} map in the object"))
    }
}

/// The verifier's log is long; keep its last lines, where the reason is.
fn verifier_message(e: &aya::programs::ProgramError) -> String {
    let text = format!("{e:#}");
    if let Some(path) = std::env::var_os("ALEXA_VERIFIER_LOG") {
        let _ = std::fs::write(path, &text);
    }
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines.len().saturating_sub(6);
    lines[tail..].join(" | ")
}
