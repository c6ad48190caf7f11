//! Kernel cost per packet through `BPF_PROG_TEST_RUN`, and the flow map at
//! scale. Every measurement runs the classifier's own object (the one the
//! gateway embeds); the reference programs are in the lab's object
//! (alexa-lab-ebpf, [`crate::files::LAB_OBJECT`]), loaded beside it.

mod cost;
mod scale;

pub use cost::cost;
pub use scale::scale;

use std::{
    net::IpAddr,
    os::fd::{AsFd as _, AsRawFd as _, RawFd},
    sync::atomic::{AtomicBool, Ordering},
};

use alexa::{kernel::OBJECT, offline::model::Model, util::net::ip_to_mapped};
use alexa_common::{
    flow,
    maps::{self, counter, device_filter_bit, Config, FLOW_CAPACITY, PROGRAM_NAME},
    policy::Quarantine,
    FlowKey, FlowState, IPPROTO_TCP,
};
use anyhow::{anyhow, bail, Context as _, Result};
use aya::{
    maps::{Array, HashMap, IterableMap as _, MapData, PerCpuArray, RingBuf},
    programs::{Xdp, XdpMode},
    Ebpf, EbpfLoader,
};

use super::{frames, median, say, verdict, Plan, Table};

pub const BARE: &str = "alexa_bare";
pub const PARSE: &str = "alexa_parse";
pub const SINK: &str = "alexa_sink";

/// The shipped model, which every full-classifier measurement walks.
pub const MODEL: &str = crate::files::SHIPPED_MODEL;

/// An XDP object loaded for measuring: chosen programs loaded (not
/// attached); the classifier's maps filled as `alexa run` fills them.
pub struct Object {
    pub ebpf: Ebpf,
}

impl Object {
    /// The lab's reference programs ([`BARE`], [`PARSE`], [`SINK`]), with
    /// the bench's devices in its DEVICES map as in the classifier's.
    pub fn lab(programs: &[&str]) -> Result<Object> {
        if crate::files::LAB_OBJECT.is_empty() {
            bail!("built without the lab's XDP object (AYA_BUILD_SKIP)");
        }
        let mut obj = Object::load_bytes(crate::files::LAB_OBJECT, None, programs)?;
        for (i, d) in frames::devices().into_iter().enumerate() {
            obj.insert_device(i as u8, ip_to_mapped(d))?;
        }
        Ok(obj)
    }

    /// The classifier's object, microphone on, no device and no model.
    /// `flow_capacity` overrides the flow map's size for this load only.
    pub fn load(flow_capacity: Option<u32>, programs: &[&str]) -> Result<Object> {
        if OBJECT.is_empty() {
            bail!("built without the XDP object (AYA_BUILD_SKIP)");
        }
        let mut obj = Object::load_bytes(OBJECT, flow_capacity, programs)?;
        obj.set_microphone(true)?;
        Ok(obj)
    }

    /// Any object's bytes, its `programs` loaded.
    fn load_bytes(object: &[u8], flow_capacity: Option<u32>, programs: &[&str]) -> Result<Object> {
        let mut loader = EbpfLoader::new();
        if let Some(c) = flow_capacity {
            loader.map_max_entries(maps::FLOWS, c);
        }
        let mut ebpf = loader
            .load(object)
            .map_err(|e| anyhow!("cannot load the object: {e}"))?;
        for name in programs {
            let p: &mut Xdp = ebpf
                .program_mut(name)
                .with_context(|| format!("no program {name} in the object"))?
                .try_into()?;
            p.load()
                .map_err(|e| anyhow!("the verifier refused {name}: {e:#}"))?;
        }
        Ok(Object { ebpf })
    }

    /// Loaded the way `alexa run` loads it: devices, microphone on, shipped model.
    pub fn classifier(flow_capacity: Option<u32>, programs: &[&str]) -> Result<Object> {
        Object::classifier_from(OBJECT, flow_capacity, programs)
    }

    /// [`Self::classifier`] for another build of the object (an A/B baseline).
    pub fn classifier_from(
        object: &[u8],
        flow_capacity: Option<u32>,
        programs: &[&str],
    ) -> Result<Object> {
        if object.is_empty() {
            bail!("built without the XDP object (AYA_BUILD_SKIP)");
        }
        let mut obj = Object::load_bytes(object, flow_capacity, programs)?;
        obj.set_microphone(true)?;
        for (i, d) in frames::devices().into_iter().enumerate() {
            obj.add_device(i as u8, d)?;
        }
        obj.load_model(&alexa::offline::model::load(std::path::Path::new(MODEL))?)?;
        Ok(obj)
    }

    /// The names of the programs in the object (loaded or not).
    pub fn program_names(&self) -> Vec<String> {
        self.ebpf.programs().map(|(n, _)| n.to_owned()).collect()
    }

    pub fn program(&mut self, name: &str) -> Result<&mut Xdp> {
        Ok(self
            .ebpf
            .program_mut(name)
            .with_context(|| format!("no program {name}"))?
            .try_into()?)
    }

    /// The program's descriptor, valid while `self` lives; usable from any thread.
    pub fn prog_fd(&mut self, name: &str) -> Result<RawFd> {
        Ok(self.program(name)?.fd()?.as_fd().as_raw_fd())
    }

    pub fn attach(&mut self, name: &str, iface: &str) -> Result<()> {
        self.program(name)?
            .attach(iface, XdpMode::Driver)
            .map_err(|e| anyhow!("cannot attach {name} to {iface}: {e}"))?;
        Ok(())
    }

    fn map_mut(&mut self, name: &str) -> Result<&mut aya::maps::Map> {
        self.ebpf
            .map_mut(name)
            .with_context(|| format!("no {name} map"))
    }

    /// Monitors `addr` as device number `index`, as `Probe::add_device` does.
    pub fn add_device(&mut self, index: u8, addr: IpAddr) -> Result<()> {
        self.add_device_key(index, ip_to_mapped(addr))
    }

    /// Monitors a device by its MAC address (`parse::mac_key`) as device `index`.
    pub fn add_device_mac(&mut self, index: u8, mac: [u8; 6]) -> Result<()> {
        self.add_device_key(index, alexa_common::parse::mac_key(&mac))
    }

    /// The classifier's pre-filter bit and device entry for `key`.
    fn add_device_key(&mut self, index: u8, key: [u8; 16]) -> Result<()> {
        let mut filter: Array<_, u64> = Array::try_from(self.map_mut(maps::DEVICE_FILTER)?)?;
        let bits = filter.get(&0, 0)? | device_filter_bit(&key);
        filter.set(0, bits, 0)?;
        self.insert_device(index, key)
    }

    fn insert_device(&mut self, index: u8, key: [u8; 16]) -> Result<()> {
        let mut devices: HashMap<_, [u8; 16], u8> =
            HashMap::try_from(self.map_mut(maps::DEVICES)?)?;
        devices.insert(key, index, 0)?;
        Ok(())
    }

    pub fn set_microphone(&mut self, on: bool) -> Result<()> {
        let mut config: Array<_, Config> = Array::try_from(self.map_mut(maps::CONFIG)?)?;
        let mut c = config.get(&0, 0)?;
        c.microphone = on as u32;
        config.set(0, c, 0)?;
        Ok(())
    }

    /// Into slot 0, which a fresh object has active.
    pub fn load_model(&mut self, model: &Model) -> Result<()> {
        {
            let mut tree: Array<_, alexa_common::Node> =
                Array::try_from(self.map_mut(maps::TREE)?)?;
            for (i, n) in model.nodes.iter().enumerate() {
                tree.set(i as u32, n, 0)?;
            }
        }
        let mut models: Array<_, u32> = Array::try_from(self.map_mut(maps::MODELS)?)?;
        models.set(0, model.version_id(), 0)?;
        Ok(())
    }

    pub fn counters(&self) -> Result<[u64; counter::COUNT as usize]> {
        let map = self.ebpf.map(maps::COUNTERS).context("no COUNTERS map")?;
        let counters: PerCpuArray<_, u64> = PerCpuArray::try_from(map)?;
        let mut out = [0u64; counter::COUNT as usize];
        for (i, slot) in out.iter_mut().enumerate() {
            *slot = counters.get(&(i as u32), 0)?.iter().sum();
        }
        Ok(out)
    }

    pub fn take_events(&mut self) -> Result<RingBuf<MapData>> {
        let map = self.ebpf.take_map(maps::EVENTS).context("no EVENTS map")?;
        Ok(RingBuf::try_from(map)?)
    }

    pub fn take_polling(&mut self) -> Result<Array<MapData, u64>> {
        let map = self
            .ebpf
            .take_map(maps::POLLING)
            .context("no POLLING map")?;
        Ok(Array::try_from(map)?)
    }

    pub fn take_flows(&mut self) -> Result<HashMap<MapData, FlowKey, FlowState>> {
        let map = self.ebpf.take_map(maps::FLOWS).context("no FLOWS map")?;
        Ok(HashMap::try_from(map)?)
    }

    /// Verified instructions, translated and JIT-compiled bytes of a loaded program.
    pub fn program_size(&mut self, name: &str) -> Result<(u32, u32, u32)> {
        let info = self.program(name)?.info()?;
        Ok((
            info.verified_instruction_count().unwrap_or(0),
            info.size_translated().unwrap_or(0),
            info.size_jitted(),
        ))
    }
}

/// `kernel.bpf_stats_enabled` as the kernel reports it now.
fn bpf_stats() -> String {
    std::fs::read_to_string("/proc/sys/kernel/bpf_stats_enabled")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "?".into())
}

/// Kernel memory charged to a map (`memlock` in its fdinfo).
pub fn memlock(fd: RawFd) -> u64 {
    std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("memlock:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// `union bpf_attr` as `BPF_PROG_TEST_RUN` reads it.
#[repr(C)]
#[derive(Default)]
struct TestRunAttr {
    prog_fd: u32,
    retval: u32,
    data_size_in: u32,
    data_size_out: u32,
    data_in: u64,
    data_out: u64,
    repeat: u32,
    duration: u32,
    ctx_size_in: u32,
    ctx_size_out: u32,
    ctx_in: u64,
    ctx_out: u64,
    flags: u32,
    cpu: u32,
    batch_size: u32,
    _pad: u32,
}

const BPF_PROG_TEST_RUN: libc::c_long = 10;

/// Runs program `fd` on `frame` `repeat` times in the kernel; returns the
/// XDP action and the kernel's average time per run in nanoseconds. Raw, so
/// that a thread holding only the descriptor can drive it while another
/// drains the ring buffer.
pub fn test_run(fd: RawFd, frame: &[u8], repeat: u32) -> Result<(u32, u32)> {
    let mut attr = TestRunAttr {
        prog_fd: fd as u32,
        data_size_in: frame.len() as u32,
        data_in: frame.as_ptr() as u64,
        repeat,
        ..TestRunAttr::default()
    };
    // SAFETY: bpf(2) with an attribute block of the size given; the kernel
    // only reads `frame` (no output buffers are passed).
    let rc = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_PROG_TEST_RUN,
            &mut attr as *mut TestRunAttr,
            std::mem::size_of::<TestRunAttr>(),
        )
    };
    if rc != 0 {
        bail!("BPF_PROG_TEST_RUN: {}", std::io::Error::last_os_error());
    }
    Ok((attr.retval, attr.duration))
}

/// How the consumer thread of [`with_drain`] behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Drain {
    /// Empties the ring, then sleeps 1 ms, and announces in the `POLLING`
    /// map that it polls (as the agent does while events keep coming), so
    /// the classifier wakes nobody: a busy agent's pattern.
    Batched,
    /// The same without the announcement: the classifier wakes the consumer
    /// at most once per `WAKE_INTERVAL_NS` per CPU (an idle agent's first
    /// events, or an agent older than the `POLLING` map).
    BatchedWoken,
    /// Spins on the ring: the consumer is always caught up, so every
    /// submission finds it waiting and queues a wake-up (an idle agent's
    /// pattern, one packet at a time).
    CaughtUp,
}

/// Runs `work` on another thread while this one empties `ring`, so event
/// emission costs what it costs with a consumer, not what a full buffer's
/// failed reservation costs. Returns `work`'s result and the events drained.
pub fn with_drain<R: Send>(
    ring: &mut RingBuf<MapData>,
    drain: Drain,
    work: impl FnOnce() -> R + Send,
) -> (R, u64) {
    with_drain_polling(ring, None, drain, work)
}

/// [`with_drain`], announcing the polls in `polling` (the `POLLING` map)
/// when `drain` is [`Drain::Batched`].
pub fn with_drain_polling<R: Send>(
    ring: &mut RingBuf<MapData>,
    mut polling: Option<&mut Array<MapData, u64>>,
    drain: Drain,
    work: impl FnOnce() -> R + Send,
) -> (R, u64) {
    let done = AtomicBool::new(false);
    let mut drained = 0u64;
    let result = std::thread::scope(|s| {
        let worker = s.spawn(|| {
            let r = work();
            done.store(true, Ordering::Release);
            r
        });
        loop {
            if let (Drain::Batched, Some(p)) = (drain, polling.as_deref_mut()) {
                // Polls for 1 ms more at least: announced 2 ms ahead.
                let _ = p.set(0, super::monotonic_ns() + 2_000_000, 0);
            }
            let finished = done.load(Ordering::Acquire);
            while ring.next().is_some() {
                drained += 1;
            }
            if finished {
                break;
            }
            match drain {
                Drain::Batched | Drain::BatchedWoken => {
                    std::thread::sleep(std::time::Duration::from_millis(1))
                }
                Drain::CaughtUp => std::hint::spin_loop(),
            }
        }
        worker.join().expect("test-run thread")
    });
    (result, drained)
}
