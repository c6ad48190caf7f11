//! Kernel features == offline features, on every frame of each corpus.

use alexa_lab::{parity, synth};
use alexa_tests::privileged;

#[test]
fn synthetic_and_hostile_frames() {
    if !privileged() {
        return;
    }
    let frames = synth::frames(7, 20_000);
    let r = parity::check("synthetic seed 7", &synth::devices(), frames);
    eprintln!("parity synthetic: {r:?}");
    assert_eq!(r.frames, 20_000);
    // The generator must have produced every category, or the test proves little.
    assert!(r.classified > 10_000, "{r:?}");
    assert!(
        r.foreign > 500 && r.other > 100 && r.malformed > 300,
        "{r:?}"
    );
}

#[test]
fn kernel_class_equals_user_space_walk() {
    if !privileged() {
        return;
    }
    for seed in [1u64, 2, 3, 4] {
        let tree = if seed == 4 {
            alexa_lab::trees::spine_tree(seed, alexa_common::tree::TREE_MAX_DEPTH as usize)
        } else {
            alexa_lab::trees::random_tree(seed, 4096, 32)
        };
        let frames = synth::frames(100 + seed, 5_000);
        let r = parity::check_with_model(
            &format!("synthetic + tree {seed}"),
            &synth::devices(),
            Some((&tree, seed as u32)),
            frames,
        );
        eprintln!("class parity, tree {seed} ({} nodes): {r:?}", tree.len());
        assert!(r.classified > 2_000);
    }
}

/// Every frame of every committed fixture capture (real TLS, HTTP, UDP,
/// IPv6, VLAN, retransmissions, hand-made edge cases).
#[test]
fn fixture_corpus() {
    if !privileged() {
        return;
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut pcaps: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
        .collect();
    pcaps.sort();
    assert!(
        pcaps.len() >= 10,
        "the fixture corpus is missing: {}",
        dir.display()
    );
    let mut total = parity::ParityReport::default();
    for pcap in &pcaps {
        let devices: Vec<std::net::IpAddr> =
            std::fs::read_to_string(pcap.with_extension("devices"))
                .unwrap_or_else(|e| panic!("{}: no .devices file: {e}", pcap.display()))
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| {
                    l.trim()
                        .parse()
                        .unwrap_or_else(|e| panic!("{}: bad address {l:?}: {e}", pcap.display()))
                })
                .collect();
        let name = pcap.file_name().unwrap().to_string_lossy().into_owned();
        let frames = parity::capture_frames(pcap);
        let tree = alexa_lab::trees::random_tree(9, 1000, 16);
        let r = parity::check_with_model(&name, &devices, Some((&tree, 9)), frames);
        eprintln!("parity {name}: {r:?}");
        assert!(
            r.classified > 0,
            "{name}: no classified frame, the fixture proves nothing"
        );
        total.frames += r.frames;
        total.classified += r.classified;
        total.foreign += r.foreign;
        total.other += r.other;
        total.malformed += r.malformed;
        total.runt += r.runt;
    }
    eprintln!(
        "parity, whole fixture corpus ({} captures): {total:?}",
        pcaps.len()
    );
    assert!(total.classified >= 150, "{total:?}");
}

/// A simulated Echo session (all contexts), every frame, with the shipped
/// model: the kernel's class equals the user-space walk of the same model.
#[test]
fn simulator_capture_with_the_shipped_model() {
    if !privileged() {
        return;
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let model =
        alexa::offline::model::file::load(&root.join("models/echo.json")).expect("shipped model");
    let dir = std::env::temp_dir().join(format!("alexa-parity-sim-{}", std::process::id()));
    let opts = alexa::offline::simulate::SimOptions {
        scenario: "all".parse().unwrap(),
        seed: 3,
        duration_scale: 0.1,
    };
    alexa::offline::simulate::simulate_to_dir(&opts, &dir).expect("simulate");
    let frames = parity::capture_frames(&dir.join("capture.pcap"));
    let devices: Vec<std::net::IpAddr> = vec!["192.168.137.94".parse().unwrap()];
    let n = frames.len() as u64;
    let r = parity::check_with_model(
        "simulate seed 3",
        &devices,
        Some((&model.nodes, model.version_id())),
        frames,
    );
    eprintln!("parity simulator capture: {r:?}");
    assert_eq!(r.frames, n);
    assert!(r.classified > 1_000, "{r:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every frame of the 55 shared real voice-command captures (another LAN
/// host's frames included), one after the other through one kernel, the
/// Echo named by its MAC address, with the shipped model: kernel == offline
/// on every column, record tracking included, and the same class.
#[test]
fn real_voice_command_captures() {
    if !privileged() {
        return;
    }
    let Some(captures) = alexa_lab::real::voice_captures() else {
        return;
    };
    let model =
        alexa::offline::model::file::load(std::path::Path::new(alexa_lab::files::SHIPPED_MODEL))
            .expect("shipped model");
    // Frame numbers stay readable in a failure: file index × 10^6 + frame.
    let frames = captures.iter().enumerate().flat_map(|(i, p)| {
        parity::capture_frames(p)
            .into_iter()
            .map(move |(n, f)| (i as u64 * 1_000_000 + n, f))
    });
    let echo: alexa::kernel::device::Device = alexa_lab::real::VOICE_ECHO_MAC.parse().unwrap();
    let r = parity::check_with_model(
        "voice-command captures (frame = file index × 10^6 + frame)",
        &[echo],
        Some((&model.nodes, model.version_id())),
        frames,
    );
    eprintln!("parity, {} real captures: {r:?}", captures.len());
    assert_eq!(r.frames, 63_388, "{r:?}");
    // Every TCP/UDP packet of the Echo is classified; the other host's are foreign.
    assert!(r.classified > 31_000, "{r:?}");
    assert!(r.foreign >= 1_000, "{r:?}");
}
