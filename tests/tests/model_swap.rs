//! Hot swap: models replaced many times while real traffic crosses the
//! attached program; every event must carry a version that was loaded and
//! the class that exactly that tree gives its features (never a mix).

use std::{collections::HashMap, time::Duration};

use alexa::kernel::{decode_event, AttachMode, Probe};
use alexa_common::{tree::classify_slice, CLASS_NONE};
use alexa_lab::{
    agent::Running,
    netns::{veth_pair, Netns},
    trees::random_tree,
};
use alexa_tests::privileged;

#[test]
fn swapping_models_under_traffic_never_mixes_trees() {
    if !privileged() {
        return;
    }
    let dev = Netns::new("swapdev");
    let gw = Netns::new("swapgw");
    veth_pair(
        &dev,
        "sdev0",
        &["10.78.0.2/24"],
        &gw,
        "sgw0",
        &["10.78.0.1/24"],
    );
    let trees: Vec<_> = (1..=4u64).map(|s| random_tree(50 + s, 2000, 20)).collect();

    let entered = gw.enter();
    let mut classifier = Probe::load().expect("load");
    classifier
        .add_device(0, "10.78.0.2".parse::<std::net::IpAddr>().unwrap())
        .unwrap();
    classifier.attach("sgw0", AttachMode::Auto).expect("attach");
    drop(entered);
    let mut ring = classifier.take_events().unwrap();

    // A steady stream of varied TCP segments from the device (UDP would be
    // not_relevant by rule, whatever the tree).
    let mut traffic = Running::spawn(
        std::process::Command::new("ip")
            .args(["netns", "exec", &dev.name, "python3"])
            .args(alexa_lab::traffic::varied_segments_args("10.78.0.1", 30)),
    );

    let mut seen: HashMap<u32, u64> = HashMap::new();
    let mut checked = 0u64;
    let mut versions = Vec::new();
    for round in 0..200u32 {
        let which = (round % 4) as usize;
        let version = round + 1;
        classifier
            .load_tree(&trees[which], version)
            .expect("load tree");
        versions.push((version, which));
        std::thread::sleep(Duration::from_millis(5));
        while let Some(item) = ring.next() {
            let ev = decode_event(&item).expect("event");
            let Some(&(_, tree)) = versions.iter().find(|(v, _)| *v == ev.model_version) else {
                panic!(
                    "event with version {} that was never loaded",
                    ev.model_version
                );
            };
            let want = classify_slice(&trees[tree], &ev.features).unwrap_or(CLASS_NONE);
            assert_eq!(
                ev.class, want,
                "version {} classified a packet unlike its own tree",
                ev.model_version
            );
            *seen.entry(ev.model_version).or_default() += 1;
            checked += 1;
        }
    }
    let _ = traffic.terminate(Duration::from_secs(1));
    eprintln!(
        "hot swap: {checked} events checked across {} model versions",
        seen.len()
    );
    assert!(
        checked > 2_000,
        "too little traffic to prove anything: {checked}"
    );
    assert!(
        seen.len() > 100,
        "events spread over too few versions: {}",
        seen.len()
    );
}
