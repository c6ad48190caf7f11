//! The demo's testbed, asserted: a simulated Echo session (seed 1, 3% of the
//! default length, idle gaps capped at 100 ms), and a real Echo's
//! voice-command capture (vendored, `tests/fixtures/voice-commands`),
//! replayed from the `echo` namespace through a real forwarding gateway, the
//! agent on the gateway's LAN interface, every frame counted again in the
//! `cloud` namespace and joined to its label by its IPv4 identification.

use std::{
    collections::HashMap,
    net::Ipv4Addr,
    path::{Path, PathBuf},
    sync::atomic::AtomicBool,
    time::Duration,
};

use alexa::{
    kernel::device::Device,
    offline::labelling::{published_class, AppClass},
};
use alexa_common::Class;
use alexa_lab::{
    agent::{alexa_bin, Agent},
    real,
    session::{self, Outcome, Session, SessionConfig},
    testbed::{self, Testbed},
};
use alexa_tests::privileged;

const CONFIG: SessionConfig = SessionConfig {
    seed: 1,
    scale: 0.03,
    gap_cap: Duration::from_millis(100),
};

/// A vendored real capture: 448 frames from the Echo over 118 s, five
/// "flip a coin" commands (tests/fixtures/voice-commands/NOTICE.md).
const VOICE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fixtures/voice-commands/flip_a_coin_5_30s.pcap"
);

/// The simulated day is judged with the simulator's model (models/README.md).
fn model() -> String {
    alexa_lab::files::SIM_MODEL.to_owned()
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("alexa-demo-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The simulated session through a fresh testbed with the agent in `mode`.
fn run(tag: &str, mode: &str) -> (Outcome, Session, Vec<u16>) {
    let dir = temp_dir(tag);
    let sim = session::simulate(&CONFIG, &dir.join("sim"));
    let (outcome, evidence) = through_gateway(
        tag,
        &dir,
        &sim,
        &["--mode", mode, "--model", &model()],
        CONFIG.gap_cap,
    );
    let _ = std::fs::remove_dir_all(&dir);
    (outcome, sim, evidence)
}

/// `sim` replayed through a fresh testbed, the agent watching the session's
/// device with `args`; the outcome and the evidence capture's frames.
fn through_gateway(
    tag: &str,
    dir: &Path,
    sim: &Session,
    args: &[&str],
    gap_cap: Duration,
) -> (Outcome, Vec<u16>) {
    let bed = Testbed::for_test(tag);
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
    let mut all = vec!["--device", sim.device.as_str()];
    all.extend_from_slice(args);
    agent.start(testbed::LAN_IF, &all);
    assert!(bed.xdp_attached(), "XDP on the gateway's LAN interface");
    let run = session::replay(
        &bed,
        sim,
        gap_cap,
        &agent.socket,
        &AtomicBool::new(false),
        &mut |_| {},
    )
    .expect("replay");
    let outcome = Outcome::collect(sim, &run, &agent);
    eprintln!(
        "{tag} ({}): {} frames in {:.1} s, latest {} µs behind its time\n{}misclassified: {}",
        args.join(" "),
        run.sent.frames.len(),
        run.sent.elapsed.as_secs_f64(),
        run.sent.max_late().as_micros(),
        outcome.table(),
        outcome.confusion_line()
    );
    agent.stop();
    let evidence = evidence_ids(&agent.evidence, sim.device_ip);
    drop(agent);
    (outcome, evidence)
}

/// The IPv4 identifications (= label indices) of the evidence capture's frames.
fn evidence_ids(path: &Path, device: Ipv4Addr) -> Vec<u16> {
    if !path.exists() {
        return Vec::new();
    }
    let mut r = alexa::offline::capture::CaptureReader::open(path).expect("evidence capture");
    let mut ids = Vec::new();
    while let Some(f) = r.next_frame().expect("evidence frame") {
        ids.push(alexa_lab::replay::ipv4_id_from(f.data, device).expect("a device frame"));
    }
    ids.sort_unstable();
    ids
}

/// Every frame accounted for, whatever the mode: each one classified once,
/// the cloud got exactly the cloud-bound frames the gateway passed.
fn assert_accounted(o: &Outcome, sim: &Session) {
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

    let (nj_dropped, nj) = o.dropped_of(Class::NotJustified);
    assert!(
        nj > 0 && o.hidden.0 > 0,
        "the session has hidden uploads, muted and not"
    );
    assert!(
        nj_dropped * 1000 >= nj * 999,
        "not_justified dropped: {nj_dropped} of {nj} (want ≥ 99.9%)"
    );
    assert_eq!(
        o.dropped_of(Class::Expected).0,
        0,
        "expected packets dropped"
    );
    assert_eq!(
        o.hidden.1, o.hidden.0,
        "hidden uploads with the microphone muted"
    );

    // Counted at the cloud: not one not_justified frame arrived there.
    let nj_row = o.row(Class::NotJustified);
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
        .filter(|(_, f)| f.class == Class::NotJustified as u8)
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

/// The vendored capture through a fresh testbed, the agent enforcing the
/// shipped model (trained on real traffic) on the Echo named by its MAC; the
/// application data labelled `expected` with the microphone on, and
/// `not_justified` muted (the replay then says `mic off` to the agent
/// first). `quarantine` false: `--quarantine 0,0,0`, the classifier's
/// per-packet verdicts alone; true: the default quarantine.
fn real_run(tag: &str, microphone: bool, quarantine: bool) -> (Outcome, Session) {
    let dir = temp_dir(tag);
    let app = if microphone {
        AppClass::Expected
    } else {
        AppClass::NotJustified
    };
    let sim = session::real(
        Path::new(VOICE),
        real::VOICE_ECHO_MAC,
        app,
        microphone,
        &dir.join("session"),
    );
    let mut args = vec![
        "--mode",
        "enforce",
        "--model",
        alexa_lab::files::SHIPPED_MODEL,
    ];
    if !quarantine {
        args.extend(["--quarantine", "0,0,0"]);
    }
    let (outcome, _) = through_gateway(tag, &dir, &sim, &args, CONFIG.gap_cap);
    let _ = std::fs::remove_dir_all(&dir);
    (outcome, sim)
}

/// The published rules on the features the product extracts from the
/// vendored capture, every application-data record an upload: frame → class.
fn muted_labels() -> HashMap<u64, Class> {
    let device = Device::Mac(alexa::kernel::device::parse_mac(real::VOICE_ECHO_MAC).unwrap());
    let mut rules = HashMap::new();
    alexa::offline::extract::extract_each(
        Path::new(VOICE),
        Some([device.key()].into()),
        false,
        None,
        |frame, row| {
            rules.insert(
                frame,
                published_class(&row.features, AppClass::NotJustified),
            );
            Ok(())
        },
    )
    .expect("extract");
    rules
}

const NETWORK: [Class; 4] = [Class::Handshake, Class::Ack, Class::Syn, Class::Retransmit];

/// What `cargo xtask demo` shows of a real Echo: its voice commands pass
/// untouched with the microphone on; muted, the same traffic is a hidden
/// upload and the gateway drops the uploads, and only them.
#[test]
fn a_real_voice_command_passes_and_muted_its_uploads_are_dropped() {
    if !privileged() {
        return;
    }
    // Microphone on: a legitimate interaction, nothing dropped, the cloud
    // gets every frame the Echo sent.
    let (on, sim) = real_run("dtr1", true, false);
    assert_accounted(&on, &sim);
    assert!(
        (300..1000).contains(&sim.frames.len()),
        "a few hundred device frames, not {}",
        sim.frames.len()
    );
    assert_eq!(on.total.lan_local, 0, "the capture's frames all go out");
    assert_eq!(on.total.dropped, 0, "microphone on: frames dropped");
    assert_eq!(on.status["counters"]["dropped"], 0);
    assert_eq!(
        on.total.received, on.total.cloud_bound,
        "microphone on: every frame the Echo sent reached the cloud"
    );
    assert_eq!(on.total.received, on.total.sent);
    assert!(
        on.verdicts
            .iter()
            .flatten()
            .all(|v| v.class != Class::NotJustified as u8),
        "microphone on: a packet was called not_justified"
    );

    // Muted: the same traffic is a hidden upload. The labels are the
    // published rules on the extracted features, recomputed here.
    let (muted, sim) = real_run("dtr0", false, false);
    assert_accounted(&muted, &sim);
    let rules = muted_labels();
    assert_eq!(rules.len(), sim.frames.len(), "labelled frames");
    for f in &sim.frames {
        assert_eq!(
            rules.get(&f.frame).map(|c| *c as u8),
            Some(f.class),
            "frame {}",
            f.frame
        );
    }
    let (uploads_dropped, uploads) = muted.dropped_of(Class::NotJustified);
    assert!(uploads > 200, "the capture has uploads: {uploads}");
    assert_eq!(muted.hidden, (uploads, uploads_dropped), "all muted");
    assert!(
        uploads_dropped * 100 >= uploads * 95,
        "muted: {uploads_dropped} of {uploads} uploads dropped (want ≥ 95%)"
    );
    for c in NETWORK {
        assert_eq!(
            muted.row(c).dropped,
            0,
            "muted: {c} packets dropped ({} sent)",
            muted.row(c).sent
        );
    }
    // Not one dropped upload reached the cloud; every other frame did.
    let nj = muted.row(Class::NotJustified);
    assert_eq!(nj.received, uploads - uploads_dropped);
    assert_eq!(muted.total.received, muted.total.sent - uploads_dropped);
    eprintln!(
        "microphone on: {} of {} packets dropped; muted: {uploads_dropped} of {uploads} uploads dropped, {} of {} handshake/ack/syn/retransmit",
        on.total.dropped,
        on.total.sent,
        NETWORK.iter().map(|c| muted.row(*c).dropped).sum::<u64>(),
        NETWORK.iter().map(|c| muted.row(*c).sent).sum::<u64>(),
    );
}

/// The same muted replay with the default quarantine (20 not_justified
/// packets of a flow within 2 s: the flow dropped for 60 s): every upload
/// dropped, and the rest of the upload connection with them, never a packet
/// the classifier itself took for an upload, never another connection.
#[test]
fn muted_with_the_default_quarantine_the_upload_connection_is_cut() {
    if !privileged() {
        return;
    }
    let (o, sim) = real_run("dtrq", false, true);
    assert_accounted(&o, &sim);
    let (dropped, uploads) = o.dropped_of(Class::NotJustified);
    assert_eq!(dropped, uploads, "every upload dropped");
    let flow = |f: &alexa_lab::replay::ReplayFrame| (f.key.dst, f.key.srcport, f.key.dstport);
    let mut leaking = std::collections::HashSet::new();
    let mut cut = 0;
    for f in &sim.frames {
        let v = o.verdicts[f.index as usize].as_ref().expect("verdict");
        if f.class == Class::NotJustified as u8 {
            leaking.insert(flow(f));
            continue;
        }
        assert_ne!(
            v.class,
            Class::NotJustified as u8,
            "frame {} ({}) called not_justified",
            f.frame,
            session::name(f.class)
        );
        if v.action == "drop" {
            assert!(
                v.quarantine,
                "frame {}: dropped outside quarantine",
                f.frame
            );
            assert!(
                leaking.contains(&flow(f)),
                "frame {}: quarantined before its flow carried an upload",
                f.frame
            );
            cut += 1;
        }
    }
    assert!(o.status["counters"]["quarantined_flows"].as_u64() >= Some(1));
    eprintln!(
        "default quarantine: {dropped} of {uploads} uploads dropped, and {cut} other packets of the upload connection ({})",
        NETWORK
            .iter()
            .chain(&[Class::NotRelevant])
            .map(|c| format!("{c} {}", o.row(*c).dropped))
            .collect::<Vec<_>>()
            .join(", ")
    );
}
