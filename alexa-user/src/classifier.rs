//! The XDP classifier as user space holds it: the embedded object, loaded
//! into the kernel, its maps filled, attached to an interface, and run on
//! single frames through `BPF_PROG_TEST_RUN` for tests and benchmarks.

use std::net::IpAddr;

use alexa_common::{
    counter, maps, ClassStat, Config, Event, Node, EVENT_SIZE, MODEL_SLOTS, NUM_CLASSES,
    PROGRAM_NAME, TREE_CAPACITY,
};
use anyhow::{anyhow, bail, Context as _, Result};
use aya::{
    maps::{Array, HashMap, MapData, PerCpuArray, RingBuf},
    programs::{TestRun, TestRunOptions, Xdp, XdpMode},
    Ebpf,
};

use crate::record::ip_to_mapped;

/// The compiled XDP object, built by build.rs with the nightly toolchain.
pub static OBJECT: &[u8] =
    aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/alexa-classifier"));

/// How to attach: `auto` asks for driver mode and falls back to generic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
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
}

/// Far longer than any XDP run (microseconds, inside one softirq) takes.
const SLOT_GRACE: std::time::Duration = std::time::Duration::from_millis(10);

impl Classifier {
    /// Loads the program into the kernel (not attached yet).
    pub fn load() -> Result<Self> {
        if OBJECT.is_empty() {
            bail!("this alexa binary was built without the XDP object (AYA_BUILD_SKIP); rebuild with `cargo xtask build`");
        }
        let mut ebpf =
            Ebpf::load(OBJECT).map_err(|e| anyhow!("cannot load the XDP object: {e}"))?;
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
        let mut classifier = Classifier {
            ebpf,
            last_flip: None,
        };
        classifier.set_microphone(true)?;
        Ok(classifier)
    }

    fn program(&mut self) -> &mut Xdp {
        self.ebpf
            .program_mut(PROGRAM_NAME)
            .expect("checked at load")
            .try_into()
            .expect("checked at load")
    }

    /// Attaches to `iface`; returns the mode that worked.
    pub fn attach(&mut self, iface: &str, mode: AttachMode) -> Result<&'static str> {
        let tries: &[(XdpMode, &str)] = match mode {
            AttachMode::Auto => &[(XdpMode::Driver, "driver"), (XdpMode::Skb, "generic")],
            AttachMode::Drv => &[(XdpMode::Driver, "driver")],
            AttachMode::Skb => &[(XdpMode::Skb, "generic")],
        };
        let mut last = None;
        for (m, name) in tries {
            match self.program().attach(iface, *m) {
                Ok(_) => return Ok(name),
                Err(e) => last = Some(e),
            }
        }
        Err(anyhow!(
            "cannot attach XDP to {iface}: {}",
            last.map(|e| e.to_string()).unwrap_or_default()
        ))
    }

    pub fn add_device(&mut self, addr: IpAddr) -> Result<()> {
        let mut devices: HashMap<_, [u8; 16], u8> = HashMap::try_from(self.map(maps::DEVICES)?)?;
        devices
            .insert(ip_to_mapped(addr), 1, 0)
            .with_context(|| format!("cannot add device {addr}"))?;
        Ok(())
    }

    pub fn set_microphone(&mut self, on: bool) -> Result<()> {
        let mut config: Array<_, Config> = Array::try_from(self.map(maps::CONFIG)?)?;
        let mut c = config.get(&0, 0)?;
        c.microphone = on as u32;
        config.set(0, c, 0)?;
        Ok(())
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

    /// Version of the model in use, 0 when none.
    pub fn model_version(&self) -> Result<u32> {
        let slot = self.active_slot()?;
        let map = self.ebpf.map(maps::MODELS).context("no MODELS map")?;
        let models: Array<_, u32> = Array::try_from(map)?;
        Ok(models.get(&slot, 0)?)
    }

    /// Per-class packets and bytes, summed over CPUs; the last entry counts
    /// packets no model classified.
    pub fn class_stats(&self) -> Result<[ClassStat; NUM_CLASSES + 1]> {
        let map = self
            .ebpf
            .map(maps::CLASS_STATS)
            .context("no CLASS_STATS map")?;
        let stats: PerCpuArray<_, ClassStat> = PerCpuArray::try_from(map)?;
        let mut out = [ClassStat::default(); NUM_CLASSES + 1];
        for (i, slot) in out.iter_mut().enumerate() {
            for s in stats.get(&(i as u32), 0)?.iter() {
                slot.packets += s.packets;
                slot.bytes += s.bytes;
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

    /// Takes the ring buffer out (once), for the agent's reader.
    pub fn take_events(&mut self) -> Result<RingBuf<MapData>> {
        let map = self
            .ebpf
            .take_map(maps::EVENTS)
            .context("events already taken")?;
        Ok(RingBuf::try_from(map)?)
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

/// Decodes a ring-buffer item, refusing any of the wrong size.
pub fn decode_event(bytes: &[u8]) -> Option<Event> {
    if bytes.len() != EVENT_SIZE {
        return None;
    }
    // SAFETY: exactly EVENT_SIZE bytes, read unaligned, and Event (repr(C),
    // integers and byte arrays only) accepts any bit pattern.
    Some(unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast::<Event>()) })
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
