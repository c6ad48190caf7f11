//! The XDP classifier as user space holds it: the embedded object, loaded
//! into the kernel, its maps filled, attached to an interface, and run on
//! single frames through `BPF_PROG_TEST_RUN` for tests and benchmarks.

use std::net::IpAddr;

use alexa_common::{counter, maps, Config, Event, EVENT_SIZE, PROGRAM_NAME};
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
}

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
        let mut classifier = Classifier { ebpf };
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
