//! Kernel cost per packet: the classifier against the bare program, on the
//! bench's frames and on a real-capture mix, in interleaved rounds.

use super::*;

pub(super) const XDP_PASS: u32 = 2;

/// The device index the bench gives the voice-command captures' Echo (by
/// its MAC); the synthetic devices of `frames::devices()` come first.
pub(super) const REAL_DEVICE: u8 = 2;

/// Another build of the object, measured beside this one.
pub(super) struct Baseline {
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
pub(super) struct MixRound {
    device: (f64, f64),
    other: (f64, f64),
    device_frames: u64,
    other_frames: u64,
}

/// Frames of the 55 shared voice-command captures, in name then capture
/// order; `None` (said on standard error) without the shared data.
pub(super) fn real_mix() -> Option<Vec<Vec<u8>>> {
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
pub(super) fn mix_round(
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
            p.set(0, super::super::monotonic_ns() + 2_000_000, 0)?;
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
pub(super) fn clear<V: aya::Pod>(map: &mut aya::maps::Map) -> Result<()> {
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
        super::super::thousands(plan.repeat as f64),
        plan.rounds,
        super::super::thousands(woken_repeat as f64),
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
                super::super::thousands(df as f64)
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
                super::super::thousands(of as f64)
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
            super::super::thousands((df + of) as f64),
        ));
    }
    t.note(format!(
        "Events: {} classified, {} drained by the consumer thread, {} lost (ring buffer full).",
        super::super::thousands(classified as f64),
        super::super::thousands(drained as f64),
        super::super::thousands(lost as f64)
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
