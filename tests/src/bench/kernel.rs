//! Kernel cost per packet through `BPF_PROG_TEST_RUN`, and the flow map at
//! scale. Every measurement runs the classifier's own object; the reference
//! programs (`alexa-ebpf/src/bench.rs`) are in it.

use std::{
    net::IpAddr,
    os::fd::{AsFd as _, AsRawFd as _, RawFd},
    sync::atomic::{AtomicBool, Ordering},
};

use alexa::{classifier::OBJECT, model::Model, record::ip_to_mapped};
use alexa_common::{
    counter, flow, maps, Config, FlowKey, FlowState, FLOW_CAPACITY, IPPROTO_TCP, PROGRAM_NAME,
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

/// The classifier's object loaded for measuring: chosen programs loaded
/// (not attached), maps filled as `alexa run` fills them.
pub struct Object {
    pub ebpf: Ebpf,
}

impl Object {
    /// `flow_capacity` overrides the flow map's size for this load only.
    pub fn load(flow_capacity: Option<u32>, programs: &[&str]) -> Result<Object> {
        if OBJECT.is_empty() {
            bail!("built without the XDP object (AYA_BUILD_SKIP)");
        }
        let mut loader = EbpfLoader::new();
        if let Some(c) = flow_capacity {
            loader.map_max_entries(maps::FLOWS, c);
        }
        let mut ebpf = loader
            .load(OBJECT)
            .map_err(|e| anyhow!("cannot load the object: {e}"))?;
        for name in programs {
            let p: &mut Xdp = ebpf
                .program_mut(name)
                .with_context(|| format!("no program {name} in the object"))?
                .try_into()?;
            p.load()
                .map_err(|e| anyhow!("the verifier refused {name}: {e:#}"))?;
        }
        let mut obj = Object { ebpf };
        obj.set_microphone(true)?;
        Ok(obj)
    }

    /// Loaded the way `alexa run` loads it: devices, microphone on, shipped model.
    pub fn classifier(flow_capacity: Option<u32>, programs: &[&str]) -> Result<Object> {
        let mut obj = Object::load(flow_capacity, programs)?;
        for (i, d) in frames::devices().into_iter().enumerate() {
            obj.add_device(i as u8, d)?;
        }
        obj.load_model(&alexa::model::load(std::path::Path::new(MODEL))?)?;
        Ok(obj)
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

    /// Monitors `addr` as device number `index`, as `Classifier::add_device` does.
    pub fn add_device(&mut self, index: u8, addr: IpAddr) -> Result<()> {
        let key = ip_to_mapped(addr);
        let mut filter: Array<_, u64> = Array::try_from(self.map_mut(maps::DEVICE_FILTER)?)?;
        let bits = filter.get(&0, 0)? | alexa_common::device_filter_bit(&key);
        filter.set(0, bits, 0)?;
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
    /// Empties the ring, then sleeps 1 ms: a busy agent's pattern, where
    /// the kernel finds the consumer behind and wakes it once per batch.
    Batched,
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
    let done = AtomicBool::new(false);
    let mut drained = 0u64;
    let result = std::thread::scope(|s| {
        let worker = s.spawn(|| {
            let r = work();
            done.store(true, Ordering::Release);
            r
        });
        loop {
            let finished = done.load(Ordering::Acquire);
            while ring.next().is_some() {
                drained += 1;
            }
            if finished {
                break;
            }
            match drain {
                Drain::Batched => std::thread::sleep(std::time::Duration::from_millis(1)),
                Drain::CaughtUp => std::hint::spin_loop(),
            }
        }
        worker.join().expect("test-run thread")
    });
    (result, drained)
}

const XDP_PASS: u32 = 2;

/// Section 1: cost per packet of each program on each kind of frame.
pub fn cost(plan: &Plan) -> Result<Table> {
    let programs = [BARE, PARSE, PROGRAM_NAME];
    let mut obj = Object::classifier(None, &programs)?;
    let fds: Vec<RawFd> = programs
        .iter()
        .map(|p| obj.prog_fd(p))
        .collect::<Result<_>>()?;
    let mut ring = obj.take_events()?;
    let kinds = frames::kinds();
    let mut ns = vec![vec![Vec::new(); programs.len()]; kinds.len()];
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
            for (p, fd) in fds.iter().enumerate() {
                let (r, n) = with_drain(&mut ring, Drain::Batched, || {
                    test_run(*fd, frame, plan.repeat)
                });
                drained += n;
                let (action, avg) = r?;
                if action != XDP_PASS {
                    bail!("{} returned XDP action {action}", programs[p]);
                }
                ns[k][p].push(avg as f64);
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
            "full, consumer caught up (ns)",
        ],
    );
    t.intro = format!(
        "Average time per run the kernel reports for `repeat` = {} on one frame, median of {} rounds; \
         the three programs are in the same object and run side by side on the same frames. \
         *bare* returns XDP_PASS and nothing else (the floor of the test-run loop); *parse + features* \
         is the shared parser, the device lookup and `flow::features` without the flow map, tree, \
         counters or events; *full* is `alexa_classify` with the shipped tree (`models/echo.json`) \
         and event emission, while another thread empties the ring buffer every millisecond (as a \
         busy agent does). The last column is the full classifier again ({} runs) with a \
         consumer spinning on the ring, always caught up, as for an idle agent: the classifier \
         wakes it at most once per 250 µs per CPU (`WAKE_INTERVAL_NS`), so this costs about \
         what the batched consumer does.",
        super::thousands(plan.repeat as f64),
        plan.rounds,
        super::thousands(woken_repeat as f64),
    );
    for (k, (name, _)) in kinds.iter().enumerate() {
        let m: Vec<f64> = (0..programs.len()).map(|p| median(&mut ns[k][p])).collect();
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
            format!("{:.0}", woken[k]),
        ]);
    }
    t.note(format!(
        "Events: {} classified, {} drained by the consumer thread, {} lost (ring buffer full).",
        super::thousands(classified as f64),
        super::thousands(drained as f64),
        super::thousands(lost as f64)
    ));
    // The kernel counts runs only while statistics are on, whoever turned them on.
    let counted = obj.program(BARE)?.info()?.run_count();
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
        let (insns, xlated, jited) = obj.program_size(p)?;
        sizes.push(format!(
            "`{p}` {insns} instructions verified, {xlated} B translated, {jited} B JIT-compiled"
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
            let mut obj = Object::classifier(Some(capacity), &[BARE, PROGRAM_NAME])?;
            let bare = obj.prog_fd(BARE)?;
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
