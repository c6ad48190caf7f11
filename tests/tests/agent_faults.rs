//! Faults and hostile models against the running agent: SIGKILL in the
//! middle of model swaps under a steady upload never lets a packet through
//! or a half-written tree into use; a model can change classes only, never
//! which hosts are watched or that other traffic passes.

use std::{process::Command, time::Duration};

use alexa::kernel::Probe;
use alexa_lab::{
    agent::{alexa_bin, Agent, Running},
    netns::{veth_pair, Netns},
    synth::Rng,
    traffic::{rule_model, segments_script, SegmentSink, BIG, SMALL},
};
use alexa_tests::privileged;

const DEV: &str = "10.81.0.2";
const OTHER: &str = "10.81.0.3";
const GW: &str = "10.81.0.1";

/// A model whose every packet is `not_justified`: trained on such rows only.
fn everything_leaks(dir: &std::path::Path) -> std::path::PathBuf {
    let mut csv = alexa::offline::row::csv_header();
    csv.push('\n');
    for len in [0, 10, 100, 1000, 1400] {
        csv.push_str(&format!(
            "2026-01-01 00:00:00.000000,{},10.0.0.1,443,2,0,1,1,,1,not_justified,{len},1000,0,40000,6,24,1,0\n",
            54 + len
        ));
    }
    let data = dir.join("leaks.csv");
    std::fs::write(&data, csv).unwrap();
    let model = dir.join("leaks.json");
    let out = Command::new(alexa_bin())
        .arg("train")
        .arg(&data)
        .arg("--out")
        .arg(&model)
        .args(["--features", "length"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    model
}

fn testbed(tag: &str) -> (Netns, Netns, Agent) {
    let dev = Netns::new(&format!("{tag}d"));
    let gw = Netns::new(&format!("{tag}g"));
    veth_pair(
        &dev,
        "fdev0",
        &[&format!("{DEV}/24"), &format!("{OTHER}/24")],
        &gw,
        "fgw0",
        &[&format!("{GW}/24")],
    );
    let agent = Agent::new(tag, &gw);
    (dev, gw, agent)
}

#[test]
fn a_hostile_model_changes_classes_never_who_is_watched() {
    if !privileged() {
        return;
    }
    let (dev, gw, mut agent) = testbed("hos");
    let model = everything_leaks(&agent.dir);
    agent.start(
        "fgw0",
        &[
            "--device",
            DEV,
            "--model",
            model.to_str().unwrap(),
            "--mode",
            "enforce",
        ],
    );
    let sink = SegmentSink::start(&gw, &[7000, 7001], &agent.dir.join("sink.json"));
    // The device's packets: all dropped, as the model says.
    dev.exec(&segments_script(None, GW, 44000, 7000, SMALL, 20, 2));
    // Another host on the same LAN, same sizes, same server: untouched.
    dev.exec(&segments_script(Some(OTHER), GW, 44001, 7001, SMALL, 20, 2));
    let got = sink.settled();
    assert_eq!(
        got[&7000], 0,
        "the device's packets passed a drop-everything model"
    );
    assert_eq!(got[&7001], 20, "a non-device host's packets were dropped");
    // ARP and ICMP are not classified: the device still reaches the gateway.
    dev.exec(&format!("ping -c 2 -W 2 -I {DEV} {GW} >/dev/null"));
    let s = agent.status();
    assert_eq!(s["counters"]["dropped"], 20);
    assert!(s["counters"]["foreign"].as_u64().unwrap() >= 20);
    assert_eq!(s["devices"], serde_json::json!([DEV]));
}

#[test]
fn sigkill_during_model_swaps_under_an_upload_never_lets_it_through() {
    if !privileged() {
        return;
    }
    let (dev, gw, mut agent) = testbed("swk");
    let a = rule_model(&agent.dir);
    let b = everything_leaks(&agent.dir);
    let nodes = |p: &std::path::Path| alexa::offline::model::file::load(p).unwrap();
    let (ma, mb) = (nodes(&a), nodes(&b));
    agent.start(
        "fgw0",
        &[
            "--device",
            DEV,
            "--model",
            a.to_str().unwrap(),
            "--mode",
            "enforce",
            "--quarantine",
            "0,0,0",
        ],
    );
    let sink = SegmentSink::start(&gw, &[7000], &agent.dir.join("sink.json"));
    // A steady upload both models call not_justified, for the whole test.
    let upload = Running::spawn(
        Command::new("ip")
            .args(["netns", "exec", &dev.name, "sh", "-c"])
            .arg(segments_script(None, GW, 44002, 7000, BIG, 0, 1)),
    );
    let mut rng = Rng::new(7);
    let mut last = agent.status()["counters"].clone();
    for round in 0..12 {
        let target = if round % 2 == 0 { &b } else { &a };
        let mut load = Running::spawn(
            Command::new(&agent.bin)
                .args([
                    "model",
                    "load",
                    target.to_str().unwrap(),
                    "--control-socket",
                ])
                .arg(&agent.socket),
        );
        std::thread::sleep(Duration::from_micros(rng.below(20_000)));
        agent.kill();
        let _ = load.child.wait();
        // Whatever the kill interrupted, the kernel runs exactly one of the
        // two trees, and the version it reports is that tree's.
        {
            let pinned = Probe::load_pinned(&agent.pin_dir).expect("open the pinned maps");
            let version = pinned.model_version().unwrap();
            let m = [&ma, &mb]
                .into_iter()
                .find(|m| m.version_id() == version)
                .unwrap_or_else(|| panic!("round {round}: unknown model version {version:08x}"));
            assert_eq!(
                pinned.active_tree(m.nodes.len()).unwrap(),
                m.nodes,
                "round {round}: the active tree is not the model its version names"
            );
        }
        agent.start(
            "fgw0",
            &["--device", DEV, "--no-model", "--mode", "enforce"],
        );
        let now = agent.status()["counters"].clone();
        for (name, v) in last.as_object().unwrap() {
            assert!(
                now[name].as_u64() >= v.as_u64(),
                "round {round}: counter {name} went backwards"
            );
        }
        last = now;
    }
    drop(upload);
    let got = sink.settled();
    assert_eq!(
        got[&7000], 0,
        "upload packets got through during kills and swaps"
    );
    assert!(
        last["dropped"].as_u64().unwrap() > 1000,
        "the upload was barely running: {last}"
    );
}
