//! The demo's testbed, asserted: a simulated Echo session (seed 1, 3% of the
//! default length, idle gaps capped at 100 ms) replayed from the `echo`
//! namespace through a real forwarding gateway, the agent with the shipped
//! model on the gateway's LAN interface, every frame counted again in the
//! `cloud` namespace and joined to its label by its IPv4 identification.

use std::{path::PathBuf, sync::atomic::AtomicBool, time::Duration};

use alexa_tests::{
    agent::{alexa_bin, Agent},
    privileged,
    session::{self, Outcome, SessionConfig, Simulated},
    testbed::{self, Testbed},
};

const CONFIG: SessionConfig = SessionConfig {
    seed: 1,
    scale: 0.03,
    gap_cap: Duration::from_millis(100),
};

/// The simulated day is judged with the simulator's model (models/README.md).
fn model() -> String {
    alexa_tests::SIM_MODEL.to_owned()
}

/// One session through a fresh testbed with the agent in `mode`.
fn run(tag: &str, mode: &str) -> (Outcome, Simulated, Vec<u16>) {
    let bed = Testbed::for_test(tag);
    let dir = std::env::temp_dir().join(format!("alexa-demo-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let sim = session::simulate(&CONFIG, &dir.join("sim"));
    let mut agent = Agent::at(
        alexa_bin(),
        &bed.gw,
        dir.join("agent"),
        PathBuf::from(format!(
            "/sys/fs/bpf/alexa-test-{tag}-{}",
            std::process::id()
        )),
        false,
    );
    agent.start(
        testbed::LAN_IF,
        &[
            "--device",
            testbed::ECHO_IP,
            "--mode",
            mode,
            "--model",
            &model(),
        ],
    );
    assert!(bed.xdp_attached(), "XDP on the gateway's LAN interface");
    let run = session::replay(
        &bed,
        &sim,
        CONFIG.gap_cap,
        &agent.socket,
        &AtomicBool::new(false),
        &mut |_| {},
    )
    .expect("replay");
    let outcome = Outcome::collect(&sim, &run, &agent);
    eprintln!(
        "{mode}: {} frames in {:.1} s, latest {} µs behind its time\n{}misclassified: {}",
        run.sent.frames.len(),
        run.sent.elapsed.as_secs_f64(),
        run.sent.max_late().as_micros(),
        outcome.table(),
        outcome.confusion_line()
    );
    agent.stop();
    let evidence = evidence_ids(&agent.evidence);
    drop(agent);
    let _ = std::fs::remove_dir_all(&dir);
    (outcome, sim, evidence)
}

/// The IPv4 identifications (= label indices) of the evidence capture's frames.
fn evidence_ids(path: &std::path::Path) -> Vec<u16> {
    if !path.exists() {
        return Vec::new();
    }
    let device = testbed::ECHO_IP.parse().unwrap();
    let mut r = alexa::capture::CaptureReader::open(path).expect("evidence capture");
    let mut ids = Vec::new();
    while let Some(f) = r.next_frame().expect("evidence frame") {
        ids.push(alexa::replay::ipv4_id_from(f.data, device).expect("a device frame"));
    }
    ids.sort_unstable();
    ids
}

/// Every frame accounted for, whatever the mode: each one classified once,
/// the cloud got exactly the cloud-bound frames the gateway passed.
fn assert_accounted(o: &Outcome, sim: &Simulated) {
    assert_eq!(o.socket_drops, 0, "the cloud-side counter lost frames");
    assert_eq!(o.status["counters"]["ringbuf_lost"], 0);
    assert_eq!(o.total.sent, sim.frames.len() as u64, "every frame sent");
    assert_eq!(
        o.status["counters"]["classified"].as_u64(),
        Some(o.total.sent),
        "the kernel classified exactly the frames the device sent"
    );
    assert!(
        o.unclassified.is_empty(),
        "frames without a verdict: {:?}",
        o.unclassified
    );
    assert_eq!(o.unmatched_lines, 0, "verdicts about no frame sent");
    assert!(
        o.unexpected_arrivals.is_empty(),
        "frames counted in the cloud twice, or LAN-local ones there: {:?}",
        o.unexpected_arrivals
    );
    assert!(
        o.dropped_but_arrived.is_empty(),
        "frames dropped by the gateway reached the cloud: {:?}",
        o.dropped_but_arrived
    );
    assert!(
        o.passed_but_missing.is_empty(),
        "frames the gateway passed never reached the cloud: {:?}",
        o.passed_but_missing
    );
    for (name, r) in alexa_common::CLASS_NAMES.iter().zip(&o.rows) {
        assert_eq!(
            r.received,
            r.cloud_bound - r.cloud_bound_dropped,
            "{name}: received by the cloud = sent to it − dropped"
        );
    }
    assert_eq!(
        o.total.received,
        o.total.cloud_bound - o.total.cloud_bound_dropped
    );
    assert!(o.consistent());
}

#[test]
fn enforce_blocks_hidden_uploads_and_the_cloud_gets_exactly_the_rest() {
    if !privileged() {
        return;
    }
    let (o, sim, evidence) = run("dte", "enforce");
    assert_accounted(&o, &sim);

    let (nj_dropped, nj) = o.dropped_of("not_justified");
    assert!(
        nj > 0 && o.hidden.0 > 0,
        "the session has hidden uploads, muted and not"
    );
    assert!(
        nj_dropped * 1000 >= nj * 999,
        "not_justified dropped: {nj_dropped} of {nj} (want ≥ 99.9%)"
    );
    assert_eq!(o.dropped_of("expected").0, 0, "expected packets dropped");
    assert_eq!(
        o.hidden.1, o.hidden.0,
        "hidden uploads with the microphone muted"
    );

    // Counted at the cloud: not one not_justified frame arrived there.
    let nj_row = o.row("not_justified");
    assert_eq!(
        nj_row.received,
        nj_row.cloud_bound - nj_row.cloud_bound_dropped
    );
    assert_eq!(nj_row.received, 0);

    // The agent's own numbers agree with the per-frame join.
    assert_eq!(
        o.status["counters"]["dropped"].as_u64(),
        Some(o.total.dropped),
        "the kernel's drop counter"
    );
    // The evidence capture holds exactly the dropped frames: in enforce mode
    // every not_justified verdict is a drop, and every drop is kept.
    let mut dropped: Vec<u16> = o
        .verdicts
        .iter()
        .enumerate()
        .filter(|(_, v)| v.as_ref().is_some_and(|v| v.action == "drop"))
        .map(|(i, _)| i as u16)
        .collect();
    dropped.sort_unstable();
    assert_eq!(evidence, dropped, "evidence = dropped frames");
}

#[test]
fn monitor_delivers_every_frame() {
    if !privileged() {
        return;
    }
    let (o, sim, _) = run("dtm", "monitor");
    assert_accounted(&o, &sim);
    assert_eq!(o.total.dropped, 0, "monitor mode dropped frames");
    assert_eq!(o.status["counters"]["dropped"], 0);
    assert_eq!(
        o.total.received, o.total.cloud_bound,
        "every cloud-bound frame arrived"
    );
    // What enforce mode would have dropped is flagged, not dropped.
    let (nj, flagged) = o
        .verdicts
        .iter()
        .zip(&sim.frames)
        .filter(|(_, f)| alexa_common::class_name(f.class) == Some("not_justified"))
        .fold((0, 0), |(n, w), (v, _)| {
            (
                n + 1,
                w + u64::from(v.as_ref().is_some_and(|v| v.would_drop)),
            )
        });
    assert!(
        flagged * 1000 >= nj * 999,
        "not_justified flagged would_drop: {flagged} of {nj}"
    );
}
