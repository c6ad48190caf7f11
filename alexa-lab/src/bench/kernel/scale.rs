//! Cost and memory as live flows and devices grow.

use super::*;

/// The flow of frame `frames::flow_frame(i)`.
pub(super) fn flow_key(i: u32) -> FlowKey {
    FlowKey::new(
        ip_to_mapped(IpAddr::from(crate::synth::DEVICE_V4)),
        ip_to_mapped(IpAddr::from(frames::flow_server(i))),
        frames::FLOW_SPORT,
        frames::FLOW_DPORT,
        IPPROTO_TCP,
    )
}

/// A flow in the state a TLS connection is in after its handshake.
pub(super) fn flow_state(now_us: u64) -> FlowState {
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
pub(super) fn xorshift(state: &mut u64) -> u64 {
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
        super::super::thousands(plan.repeat as f64),
        super::super::thousands(plan.random_frames as f64),
        super::super::thousands(FLOW_CAPACITY as f64),
    );
    let now_us = super::super::monotonic_ns() / 1000;
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
                super::super::thousands(capacity as f64),
                super::super::thousands(n as f64),
                super::super::thousands(in_map as f64),
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
