//! Kernel cost per packet through `BPF_PROG_TEST_RUN`, and the flow map at
//! scale. Every measurement runs the classifier's own object (the one the
//! gateway embeds); the reference programs are in the lab's object
//! (alexa-lab-ebpf, [`crate::LAB_OBJECT`]), loaded beside it.

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
pub const MODEL: &str = crate::SHIPPED_MODEL;

/// An XDP object loaded for measuring: chosen programs loaded (not
/// attached); the classifier's maps filled as `alexa run` fills them.
pub struct Object {
    pub ebpf: Ebpf,
}

impl Object {
    /// The lab's reference programs ([`BARE`], [`PARSE`], [`SINK`]), with
    /// the bench's devices in its DEVICES map as in the classifier's.
    pub fn lab(programs: &[&str]) -> Result<Object> {
        if crate::LAB_OBJECT.is_empty() {
            bail!("built without the lab's XDP object (AYA_BUILD_SKIP)");
        }
        let mut obj = Object::load_bytes(crate::LAB_OBJECT, None, programs)?;
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

const XDP_PASS: u32 = 2;

/// The device index the bench gives the voice-command captures' Echo (by
/// its MAC); the synthetic devices of `frames::devices()` come first.
const REAL_DEVICE: u8 = 2;

/// Another build of the object, measured beside this one.
struct Baseline {
    path: String,
    obj: Object,
    fd: RawFd,
    ring: RingBuf<MapData>,
    polling: Option<Array<MapData, u64>>,
    /// Full classifier, per frame kind, per round.
    ns: Vec<Vec<f64>>,
    mix: Vec<MixRound>,
    size: (u32, u32, u32),
}

/// Per-round means of the real-capture replay: full and bare, on the
/// Echo's frames and on every other frame.
#[derive(Default)]
struct MixRound {
    device: (f64, f64),
    other: (f64, f64),
    device_frames: u64,
    other_frames: u64,
}

/// Frames of the 55 shared voice-command captures, in name then capture
/// order; `None` (said on standard error) without the shared data.
fn real_mix() -> Option<Vec<Vec<u8>>> {
    let caps = crate::real::voice_captures()?;
    Some(
        caps.iter()
            .flat_map(|c| crate::parity::capture_frames(c))
            .map(|(_, f)| f)
            .filter(|f| f.len() >= 14)
            .collect(),
    )
}

/// One replay of the captures through `full` (one `BPF_PROG_TEST_RUN` per
/// frame, `repeat` = 1, so the flow state and the record walk advance as on
/// the wire) and `bare` on the same frame, alternately first. A frame is the
/// Echo's when the classifier's event names device [`REAL_DEVICE`]. The flow
/// and quarantine maps are emptied first, so every round replays the same
/// packet sequence.
fn mix_round(
    obj: &mut Object,
    ring: &mut RingBuf<MapData>,
    mut polling: Option<&mut Array<MapData, u64>>,
    full: RawFd,
    bare: RawFd,
    frames: &[Vec<u8>],
) -> Result<MixRound> {
    clear::<FlowState>(obj.map_mut(maps::FLOWS)?)?;
    clear::<Quarantine>(obj.map_mut(maps::QUARANTINE)?)?;
    while ring.next().is_some() {}
    let mut r = MixRound::default();
    let (mut dev_full, mut dev_bare, mut oth_full, mut oth_bare) = (0u64, 0u64, 0u64, 0u64);
    for (i, f) in frames.iter().enumerate() {
        if let (0, Some(p)) = (i % 1024, polling.as_deref_mut()) {
            // A consumer reading after every frame: it announces its polls.
            p.set(0, super::monotonic_ns() + 2_000_000, 0)?;
        }
        let (full_ns, bare_ns) = if i % 2 == 0 {
            let a = test_run(full, f, 1)?;
            let b = test_run(bare, f, 1)?;
            (a.1, b.1)
        } else {
            let b = test_run(bare, f, 1)?;
            let a = test_run(full, f, 1)?;
            (a.1, b.1)
        };
        let mut device = false;
        while let Some(item) = ring.next() {
            let ev = alexa::kernel::decode_event(&item).context("event of a wrong size")?;
            device |= ev.device == REAL_DEVICE;
        }
        if device {
            dev_full += full_ns as u64;
            dev_bare += bare_ns as u64;
            r.device_frames += 1;
        } else {
            oth_full += full_ns as u64;
            oth_bare += bare_ns as u64;
            r.other_frames += 1;
        }
    }
    let d = r.device_frames.max(1) as f64;
    let o = r.other_frames.max(1) as f64;
    r.device = (dev_full as f64 / d, dev_bare as f64 / d);
    r.other = (oth_full as f64 / o, oth_bare as f64 / o);
    Ok(r)
}

/// Empties a hash map keyed by flow.
fn clear<V: aya::Pod>(map: &mut aya::maps::Map) -> Result<()> {
    let mut m: HashMap<_, FlowKey, V> = HashMap::try_from(map)?;
    let keys: Vec<FlowKey> = m.keys().filter_map(|k| k.ok()).collect();
    for k in keys {
        m.remove(&k)?;
    }
    Ok(())
}

/// Section 1: cost per packet of each program on each kind of frame.
pub fn cost(plan: &Plan) -> Result<Table> {
    let programs = [BARE, PARSE, PROGRAM_NAME];
    let mut obj = Object::classifier(None, &[PROGRAM_NAME])?;
    let mut lab = Object::lab(&[BARE, PARSE])?;
    let fds: Vec<RawFd> = vec![
        lab.prog_fd(BARE)?,
        lab.prog_fd(PARSE)?,
        obj.prog_fd(PROGRAM_NAME)?,
    ];
    let mut ring = obj.take_events()?;
    let mut polling = obj.take_polling()?;
    let kinds = frames::kinds();
    // (program, consumer): the full classifier twice, with the consumer
    // announcing its polls (the agent) and without (the kernel's paced
    // wake-ups alone), interleaved with the references.
    let runs = [
        (0, Drain::Batched),
        (1, Drain::Batched),
        (2, Drain::Batched),
        (2, Drain::BatchedWoken),
    ];
    let mut ns = vec![vec![Vec::new(); runs.len()]; kinds.len()];
    let mix = real_mix();
    if mix.is_some() {
        obj.add_device_mac(
            REAL_DEVICE,
            alexa::kernel::device::parse_mac(crate::real::VOICE_ECHO_MAC)?,
        )?;
    }
    let mut mix_rounds = Vec::new();
    // ALEXA_BENCH_BASELINE=OBJECT: another build of the classifier's object
    // (e.g. the commit before a change), loaded the same way and run
    // interleaved with this one: an A/B comparison within one run, which
    // this shared machine's load makes the only fair one.
    let mut baseline = match std::env::var_os("ALEXA_BENCH_BASELINE") {
        Some(path) => {
            let bytes = std::fs::read(&path)
                .with_context(|| format!("cannot read {}", path.to_string_lossy()))?;
            let mut b = Object::classifier_from(&bytes, None, &[PROGRAM_NAME])?;
            if mix.is_some() {
                b.add_device_mac(
                    REAL_DEVICE,
                    alexa::kernel::device::parse_mac(crate::real::VOICE_ECHO_MAC)?,
                )?;
            }
            let fd = b.prog_fd(PROGRAM_NAME)?;
            let ring = b.take_events()?;
            let polling = b.take_polling().ok();
            let size = b.program_size(PROGRAM_NAME)?;
            Some(Baseline {
                path: path.to_string_lossy().into_owned(),
                obj: b,
                fd,
                ring,
                polling,
                ns: vec![Vec::new(); kinds.len()],
                mix: Vec::new(),
                size,
            })
        }
        None => None,
    };
    let before = obj.counters()?;
    let stats_before = bpf_stats();
    let mut drained = 0;
    for round in 0..plan.rounds {
        say(format!(
            "kernel cost, round {}/{} ({} repeats per run)",
            round + 1,
            plan.rounds,
            plan.repeat
        ));
        for (k, (_, frame)) in kinds.iter().enumerate() {
            for (i, &(p, drain)) in runs.iter().enumerate() {
                let fd = fds[p];
                let (r, n) = with_drain_polling(&mut ring, Some(&mut polling), drain, || {
                    test_run(fd, frame, plan.repeat)
                });
                drained += n;
                let (action, avg) = r?;
                if action != XDP_PASS {
                    bail!("{} returned XDP action {action}", programs[p]);
                }
                ns[k][i].push(avg as f64);
            }
            if let Some(b) = baseline.as_mut() {
                let fd = b.fd;
                let (r, _) =
                    with_drain_polling(&mut b.ring, b.polling.as_mut(), Drain::Batched, || {
                        test_run(fd, frame, plan.repeat)
                    });
                b.ns[k].push(r?.1 as f64);
            }
        }
        if let Some(mix) = &mix {
            mix_rounds.push(mix_round(
                &mut obj,
                &mut ring,
                Some(&mut polling),
                fds[2],
                fds[0],
                mix,
            )?);
            if let Some(b) = baseline.as_mut() {
                b.mix.push(mix_round(
                    &mut b.obj,
                    &mut b.ring,
                    b.polling.as_mut(),
                    b.fd,
                    fds[0],
                    mix,
                )?);
            }
        }
    }
    // A consumer always caught up: measured once, on fewer runs.
    let woken_repeat = (plan.repeat / 10).max(1);
    let mut woken = Vec::new();
    for (_, frame) in &kinds {
        let (r, n) = with_drain(&mut ring, Drain::CaughtUp, || {
            test_run(fds[2], frame, woken_repeat)
        });
        drained += n;
        woken.push(r?.1 as f64);
    }
    let stats_after = bpf_stats();
    let after = obj.counters()?;
    let lost = after[counter::RINGBUF_LOST as usize] - before[counter::RINGBUF_LOST as usize];
    let classified = after[counter::CLASSIFIED as usize] - before[counter::CLASSIFIED as usize];

    let mut t = Table::new(
        "1. Kernel cost per packet (BPF_PROG_TEST_RUN)",
        &[
            "frame",
            "bare XDP_PASS (ns)",
            "parse + features (ns)",
            "full classifier (ns)",
            "parse − bare",
            "full − bare",
            "target",
            "",
            "full, no polls announced (ns)",
            "full, consumer caught up (ns)",
        ],
    );
    t.intro = format!(
        "Average time per run the kernel reports for `repeat` = {} on one frame, median of {} rounds; \
         the three programs run side by side on the same frames (the references from the lab's own \
         object, with the same devices in its DEVICES map). \
         *bare* returns XDP_PASS and nothing else (the floor of the test-run loop); *parse + features* \
         is the shared parser, the device lookup and `flow::features` without the flow map, tree, \
         counters or events; *full* is `alexa_classify` with the shipped tree (`models/echo.json`) \
         and event emission, while another thread empties the ring buffer every millisecond and \
         announces that it polls (the `POLLING` map, as a busy agent does: the classifier then \
         wakes nobody). *full, no polls announced* is the same consumer without the \
         announcement: the classifier wakes it at most once per 250 µs per CPU \
         (`WAKE_INTERVAL_NS`), each wake-up an `irq_work` self-IPI. The last column is the full \
         classifier again ({} runs) with a consumer spinning on the ring, always caught up and \
         announcing nothing.",
        super::thousands(plan.repeat as f64),
        plan.rounds,
        super::thousands(woken_repeat as f64),
    );
    for (k, (name, _)) in kinds.iter().enumerate() {
        let m: Vec<f64> = (0..runs.len()).map(|i| median(&mut ns[k][i])).collect();
        let foreign = name.starts_with("non-device");
        let (limit, target) = if foreign {
            (30.0, "full − bare ≤ 30 ns")
        } else {
            (150.0, "full − bare ≤ 150 ns")
        };
        t.row(vec![
            (*name).to_owned(),
            format!("{:.0}", m[0]),
            format!("{:.0}", m[1]),
            format!("{:.0}", m[2]),
            format!("{:+.0}", m[1] - m[0]),
            format!("**{:+.0}**", m[2] - m[0]),
            target.to_owned(),
            verdict(m[2] - m[0] <= limit),
            format!("{:.0}", m[3]),
            format!("{:.0}", woken[k]),
        ]);
    }
    if !mix_rounds.is_empty() {
        let n = mix_rounds.len();
        let (df, of) = (mix_rounds[0].device_frames, mix_rounds[0].other_frames);
        let pick = |f: &dyn Fn(&MixRound) -> f64| {
            let mut v: Vec<f64> = mix_rounds.iter().map(f).collect();
            median(&mut v)
        };
        let dev_full = pick(&|r| r.device.0);
        let dev_bare = pick(&|r| r.device.1);
        let dev_diff = pick(&|r| r.device.0 - r.device.1);
        let oth_full = pick(&|r| r.other.0);
        let oth_bare = pick(&|r| r.other.1);
        let oth_diff = pick(&|r| r.other.0 - r.other.1);
        t.row(vec![
            format!(
                "real captures: the Echo's {} classified frames",
                super::thousands(df as f64)
            ),
            format!("{dev_bare:.0}"),
            "—".into(),
            format!("{dev_full:.0}"),
            "—".into(),
            format!("**{dev_diff:+.0}**"),
            "full − bare ≤ 150 ns".into(),
            verdict(dev_diff <= 150.0),
            "—".into(),
            "—".into(),
        ]);
        t.row(vec![
            format!(
                "real captures: the {} frames without an event (other hosts; the Echo's ARP, ICMP…)",
                super::thousands(of as f64)
            ),
            format!("{oth_bare:.0}"),
            "—".into(),
            format!("{oth_full:.0}"),
            "—".into(),
            format!("**{oth_diff:+.0}**"),
            "full − bare ≤ 30 ns".into(),
            verdict(oth_diff <= 30.0),
            "—".into(),
            "—".into(),
        ]);
        t.note(format!(
            "Real captures: the {} frames of the 55 shared voice-command captures \
             (`echo-voice-commands/*.pcap`, in name then capture order; the Echo by its MAC \
             address as device {REAL_DEVICE}, the shipped model), each run once through the full \
             classifier (`repeat` = 1, so flow state, retransmission checks and the TLS record \
             walk advance as they do on the wire) and once through the bare program, alternately \
             first; the flow and quarantine maps are emptied before each replay. Mean per frame \
             of each replay, median of {n} replays (one per round, interleaved with the rows \
             above). Single runs include the kernel's two clock reads around the program (both \
             columns alike) and cold caches after each system call.",
            super::thousands((df + of) as f64),
        ));
    }
    t.note(format!(
        "Events: {} classified, {} drained by the consumer thread, {} lost (ring buffer full).",
        super::thousands(classified as f64),
        super::thousands(drained as f64),
        super::thousands(lost as f64)
    ));
    // The kernel counts runs only while statistics are on, whoever turned them on.
    let counted = lab.program(BARE)?.info()?.run_count();
    let bare_runs = (plan.rounds * kinds.len()) as u64 * plan.repeat as u64;
    t.note(format!(
        "Per-program statistics were on for {:.0} % of the bare program's runs \
         (kernel.bpf_stats_enabled {stats_before} before, {stats_after} after; they can also be \
         turned on through `BPF_ENABLE_STATS` by any process, e.g. another job on this shared \
         machine). They add two clock reads to every run of every program, about 30 ns here: \
         the differences to *bare* stay comparable, the absolute numbers do not.",
        counted as f64 * 100.0 / bare_runs.max(1) as f64
    ));
    let mut sizes = Vec::new();
    for p in programs {
        let owner = if p == PROGRAM_NAME {
            &mut obj
        } else {
            &mut lab
        };
        let (insns, xlated, jited) = owner.program_size(p)?;
        sizes.push(format!(
            "`{p}` {insns} instructions verified, {xlated} B translated, {jited} B JIT-compiled"
        ));
    }
    if let Some(b) = baseline.as_mut() {
        let mut parts = Vec::new();
        for (k, (name, _)) in kinds.iter().enumerate() {
            let bare = median(&mut ns[k][0]);
            let this = median(&mut ns[k][2]) - bare;
            let base = median(&mut b.ns[k]) - bare;
            parts.push(format!("{name} {base:+.0} → {this:+.0}"));
        }
        if !b.mix.is_empty() && !mix_rounds.is_empty() {
            let pick = |v: &[MixRound]| {
                let mut d: Vec<f64> = v.iter().map(|r| r.device.0 - r.device.1).collect();
                median(&mut d)
            };
            parts.push(format!(
                "real captures, the Echo's frames {:+.0} → {:+.0}",
                pick(&b.mix),
                pick(&mix_rounds)
            ));
        }
        t.note(format!(
            "A/B in this run: full − bare of the baseline object `{}` (ALEXA_BENCH_BASELINE; \
             {} instructions verified, {} B translated, {} B JIT-compiled; {}) → this build, \
             interleaved: {}.",
            b.path,
            b.size.0,
            b.size.1,
            b.size.2,
            if b.polling.is_some() {
                "polls announced to both"
            } else {
                "the baseline has no `POLLING` map: it paces its wake-ups alone"
            },
            parts.join("; ")
        ));
    }
    t.note(format!(
        "Program sizes (from the kernel's program info): {}.",
        sizes.join("; ")
    ));
    Ok(t)
}

/// The flow of frame `frames::flow_frame(i)`.
fn flow_key(i: u32) -> FlowKey {
    FlowKey::new(
        ip_to_mapped(IpAddr::from(crate::synth::DEVICE_V4)),
        ip_to_mapped(IpAddr::from(frames::flow_server(i))),
        frames::FLOW_SPORT,
        frames::FLOW_DPORT,
        IPPROTO_TCP,
    )
}

/// A flow in the state a TLS connection is in after its handshake.
fn flow_state(now_us: u64) -> FlowState {
    FlowState {
        last_ns: now_us * 1000,
        clock_ns: now_us * 1000,
        next_seq: frames::FLOW_SEQ,
        syn_seq: frames::FLOW_SEQ - 1,
        packets: 10,
        flags: flow::HAS_SEQ | flow::HAS_SYN | flow::HAS_CLOCK,
        stream: flow::stream::TLS,
        ..FlowState::default()
    }
}

/// A small xorshift: the random flows must not change between runs.
fn xorshift(state: &mut u64) -> u64 {
    let mut x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    x
}

/// Section 5: the classifier's cost and the flow map's memory with many
/// live flows, at the shipped capacity and at a bench-only larger one.
pub fn scale(plan: &Plan) -> Result<Table> {
    let mut t = Table::new(
        "5. Scale: live flows in the flow map",
        &[
            "map capacity",
            "flows inserted",
            "flows in map",
            "FLOWS memlock",
            "same flow: full − bare (ns)",
            "random flows: full − bare (ns)",
            "random flows: full (ns)",
        ],
    );
    t.intro = format!(
        "The LRU flow map is filled from user space with N established TLS flows, then the full \
         classifier runs (a) one frame of an existing flow, `repeat` = {}, and (b) {} frames each \
         of a random one of the N flows, one `BPF_PROG_TEST_RUN` each (`repeat` = 1; the kernel's \
         per-run time, cold caches included); the bare program on the same frames is subtracted. \
         Capacity {} is the shipped `FLOW_CAPACITY`; 2^20 is set at load time by the bench only \
         (`EbpfLoader::map_max_entries`), to show what a larger map would cost.",
        super::thousands(plan.repeat as f64),
        super::thousands(plan.random_frames as f64),
        super::thousands(FLOW_CAPACITY as f64),
    );
    let now_us = super::monotonic_ns() / 1000;
    for capacity in [FLOW_CAPACITY, 1 << 20] {
        for &n in plan.flow_counts {
            say(format!("scale: capacity {capacity}, {n} flows"));
            let mut obj = Object::classifier(Some(capacity), &[PROGRAM_NAME])?;
            let mut lab = Object::lab(&[BARE])?;
            let bare = lab.prog_fd(BARE)?;
            let full = obj.prog_fd(PROGRAM_NAME)?;
            let mut ring = obj.take_events()?;
            let mut flows = obj.take_flows()?;
            for i in 0..n {
                flows.insert(flow_key(i), flow_state(now_us), 0)?;
            }
            let in_map = flows.keys().filter(|k| k.is_ok()).count();
            let mem = memlock(flows.map().fd().as_fd().as_raw_fd());
            let hot_frame = frames::flow_frame(0);
            let hot = |fd| -> Result<f64> {
                let mut v = Vec::new();
                for _ in 0..plan.rounds.min(3) {
                    v.push(test_run(fd, &hot_frame, plan.repeat)?.1 as f64);
                }
                Ok(median(&mut v))
            };
            let (hot_full, _) = with_drain(&mut ring, Drain::Batched, || hot(full));
            let hot_bare = hot(bare)?;
            let mut seed = 0x9e37_79b9_7f4a_7c15u64;
            let random: Vec<Vec<u8>> = (0..plan.random_frames)
                .map(|_| frames::flow_frame((xorshift(&mut seed) % n as u64) as u32))
                .collect();
            let cold = |fd| -> Result<f64> {
                let mut sum = 0u64;
                for f in &random {
                    sum += test_run(fd, f, 1)?.1 as u64;
                }
                Ok(sum as f64 / random.len() as f64)
            };
            let (cold_full, _) = with_drain(&mut ring, Drain::Batched, || cold(full));
            let cold_bare = cold(bare)?;
            let (hot_full, cold_full) = (hot_full?, cold_full?);
            t.row(vec![
                super::thousands(capacity as f64),
                super::thousands(n as f64),
                super::thousands(in_map as f64),
                format!("{:.1} MiB", mem as f64 / (1 << 20) as f64),
                format!("{:+.0}", hot_full - hot_bare),
                format!("{:+.0}", cold_full - cold_bare),
                format!("{:.0}", cold_full),
            ]);
        }
    }
    t.note(
        "An LRU hash map is preallocated: its memory is fixed by its capacity, not by the live \
         flows. Past capacity the kernel evicts the least recently used flows (the \"flows in map\" \
         column); a frame of an evicted flow then starts a new one (delta 0, index 1).",
    );
    Ok(t)
}
