//! Load and faults on the gateway testbed (`fld` device LAN → `flg` gateway,
//! forwarding → `flc` cloud): the project's AF_PACKET blaster floods the
//! gateway's LAN veth as fast as this machine sends, with the device's
//! uploads and small packets and another LAN host's traffic over many
//! distinct flows, while the agent enforces. The agent stays up and answers,
//! its memory stays bounded, no `not_justified` packet passes, and every
//! packet the kernel classified is an event the agent received or a loss the
//! kernel counted, exactly. Then the agent is killed in the middle of a
//! flood: enforcement goes on without it, and the restarted agent finds every
//! counter where it was or further.
//!
//! Smoke size always (4 s, 20,000 device flows); `ALEXA_LONG=1`: 60 s and
//! 1,000,000 device flows.

use std::{
    net::Ipv4Addr,
    time::{Duration, Instant},
};

use alexa_common::maps::{self, counter};
use alexa_lab::{
    agent::{wait_for, Agent},
    bench::kernel::{Object, SINK},
    blast::{blast, mac},
    netns::{veth_pair, Netns},
    traffic::rule_model,
};
use alexa_tests::privileged;
use aya::maps::{Map, MapData, PerCpuArray};
use etherparse::PacketBuilder;

const DEV: Ipv4Addr = Ipv4Addr::new(10, 86, 0, 2);
const OTHER: Ipv4Addr = Ipv4Addr::new(10, 86, 0, 3);
const CLOUD: Ipv4Addr = Ipv4Addr::new(10, 87, 0, 2);
/// Destination ports per source port: flows = source ports × this.
const PORTS: u32 = 16;
/// The agent's resident memory may not pass this, whatever the flood.
const RSS_LIMIT_KIB: u64 = 256 * 1024;

fn long() -> bool {
    std::env::var("ALEXA_LONG").is_ok_and(|v| v == "1")
}

/// (flood seconds, distinct device flows).
fn plan() -> (f64, u32) {
    if long() {
        (60.0, 1_000_000)
    } else {
        (4.0, 20_000)
    }
}

/// A TCP segment (ACK, PSH) of `len` zero bytes: TCP, since the contract
/// classifies UDP `not_relevant` by rule, without the model.
fn segment(
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
    src: Ipv4Addr,
    sport: u16,
    dport: u16,
    len: usize,
) -> Vec<u8> {
    let mut f = Vec::with_capacity(54 + len);
    PacketBuilder::ethernet2(src_mac, dst_mac)
        .ipv4(src.octets(), CLOUD.octets(), 64)
        .tcp(sport, dport, 1000, 65535)
        .ack(1)
        .psh()
        .write(&mut f, &vec![0u8; len])
        .expect("frame");
    f
}

/// The flood: each device flow once, one in 16 an upload the rule model
/// calls `not_justified` (1,000 bytes), the rest small; between them a
/// non-device host's packets, one for every two device packets.
fn frames(src_mac: [u8; 6], dst_mac: [u8; 6], flows: u32) -> Vec<Vec<u8>> {
    let mut out = Vec::with_capacity(flows as usize * 3 / 2);
    for i in 0..flows {
        let sport = 1024 + (i / PORTS) as u16;
        let dport = 9000 + (i % PORTS) as u16;
        let len = if i % PORTS == 0 { 1000 } else { 18 };
        out.push(segment(src_mac, dst_mac, DEV, sport, dport, len));
        if i % 2 == 0 {
            out.push(segment(src_mac, dst_mac, OTHER, sport, dport, 18));
        }
    }
    out
}

/// VmHWM (peak resident set) and VmRSS of a process, in KiB.
fn memory_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("agent status");
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in /proc/{pid}/status"))
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// The kernel's `dropped` counter, from the pinned counters map.
fn pinned_dropped(pin_dir: &std::path::Path) -> u64 {
    let data = MapData::from_pin(pin_dir.join(maps::COUNTERS)).expect("the pinned counters");
    let counters: PerCpuArray<_, u64> =
        PerCpuArray::try_from(Map::PerCpuArray(data)).expect("a per-CPU array");
    counters
        .get(&counter::DROPPED, 0)
        .expect("the dropped counter")
        .iter()
        .sum()
}

fn counters(agent: &Agent) -> serde_json::Value {
    agent.status()["counters"].clone()
}

fn n(v: &serde_json::Value, name: &str) -> u64 {
    v[name]
        .as_u64()
        .unwrap_or_else(|| panic!("no counter {name} in {v}"))
}

/// Packets of `class` (dropped, passed or alerted), from `alexa status --json`.
fn class_actions(status: &serde_json::Value, class: &str) -> (u64, u64) {
    let row = status["classes"]
        .as_array()
        .expect("classes")
        .iter()
        .find(|r| r["class"] == class)
        .unwrap_or_else(|| panic!("no class {class} in {status}"));
    let get = |k: &str| row[k].as_u64().unwrap_or(0);
    (get("dropped"), get("passed") + get("alerted"))
}

#[test]
fn a_flood_of_many_flows_keeps_the_agent_up_bounded_and_every_event_counted() {
    if !privileged() {
        return;
    }
    let (secs, flows) = plan();
    let dev = Netns::new("fld");
    let gw = Netns::new("flg");
    let cloud = Netns::new("flc");
    for ns in [&dev, &gw, &cloud] {
        ns.exec("sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1");
    }
    veth_pair(
        &dev,
        "fld0",
        &["10.86.0.2/24", "10.86.0.3/24"],
        &gw,
        "flg0",
        &["10.86.0.1/24"],
    );
    veth_pair(
        &gw,
        "flw0",
        &["10.87.0.1/24"],
        &cloud,
        "flc0",
        &["10.87.0.2/24"],
    );
    gw.exec("sysctl -qw net.ipv4.ip_forward=1");
    let cloud_mac = mac(&cloud, "flc0").unwrap();
    gw.exec(&format!(
        "ip neigh replace {CLOUD} lladdr {} dev flw0 nud permanent",
        cloud_mac.map(|b| format!("{b:02x}")).join(":")
    ));
    // The cloud drops everything on arrival: its stack would otherwise spend
    // the CPUs the gateway and agent are measured on.
    let mut sink = Object::lab(&[SINK]).unwrap();
    {
        let _inside = cloud.enter();
        sink.attach(SINK, "flc0").unwrap();
    }
    let started = Instant::now();
    let frames = frames(mac(&dev, "fld0").unwrap(), mac(&gw, "flg0").unwrap(), flows);
    eprintln!(
        "flood: {} frames built in {:?}",
        frames.len(),
        started.elapsed()
    );

    let mut agent = Agent::new("fld", &gw);
    let model = rule_model(&agent.dir);
    let dev_arg = DEV.to_string();
    let args = [
        "--device",
        dev_arg.as_str(),
        "--model",
        model.to_str().unwrap(),
        "--mode",
        "enforce",
        // A flood logs a line per packet: small caps, so that rotation,
        // compression and the bounds on disk are exercised.
        "--log-max-bytes",
        "4194304",
        "--log-keep",
        "2",
        "--evidence-max-bytes",
        "262144",
        "--evidence-keep",
        "2",
    ];
    agent.start("flg0", &args);
    let pid = agent.process.as_ref().unwrap().child.id();
    let before = counters(&agent);

    // Phase 1: the flood, the agent up throughout and answering mid-flood.
    let sent = std::thread::scope(|s| {
        let sender = s.spawn(|| blast(&dev, "fld0", &frames, secs).unwrap());
        std::thread::sleep(Duration::from_secs_f64(secs / 2.0));
        let mid = agent.status();
        assert!(
            n(&mid["counters"], "classified") > n(&before, "classified"),
            "nothing classified half-way through the flood: {mid}"
        );
        sender.join().unwrap()
    });
    // Every event is either received by the agent or a counted loss; wait
    // until the agent has drained what the flood left in the ring buffer.
    let mut last = serde_json::Value::Null;
    let settled = wait_for(Duration::from_secs(60), || {
        let s = agent.status();
        let c = &s["counters"];
        let ok =
            n(c, "classified") == s["events_received"].as_u64().unwrap() + n(c, "ringbuf_lost");
        last = s;
        ok
    });
    let c = &last["counters"];
    let (peak_kib, rss_kib) = memory_kib(pid);
    let classified = n(c, "classified") - n(&before, "classified");
    eprintln!(
        "flood: {secs} s, {} device flows, {} frames offered ({:.0}/s); kernel: frames {}, \
         classified {classified}, foreign {}, dropped {}, ringbuf_lost {}, flow_update_failed {}; \
         agent: events_received {}; agent memory: peak {} KiB, now {} KiB",
        flows,
        sent,
        sent as f64 / secs,
        n(c, "frames"),
        n(c, "foreign"),
        n(c, "dropped"),
        n(c, "ringbuf_lost"),
        n(c, "flow_update_failed"),
        last["events_received"],
        peak_kib,
        rss_kib
    );
    assert!(
        settled,
        "kernel and agent disagree: classified {} != events_received {} + ringbuf_lost {}",
        n(c, "classified"),
        last["events_received"],
        n(c, "ringbuf_lost")
    );
    assert!(
        agent.is_running(),
        "the agent died in the flood:\n{}",
        agent.stderr()
    );
    assert!(
        peak_kib < RSS_LIMIT_KIB,
        "the agent's peak resident memory {peak_kib} KiB passed {RSS_LIMIT_KIB} KiB"
    );
    // Enough of the flood reached the classifier to mean something, and the
    // accounting of frames holds: each one landed in exactly one bucket.
    assert!(
        classified >= flows as u64 / 2,
        "only {classified} classified"
    );
    assert_eq!(
        n(c, "frames"),
        n(c, "classified") + n(c, "foreign") + n(c, "other") + n(c, "malformed")
    );
    assert!(
        n(c, "foreign") > 0,
        "the non-device host's packets were not seen"
    );
    let (nj_dropped, nj_passed) = class_actions(&last, "not_justified");
    assert_eq!(nj_passed, 0, "not_justified packets passed in enforce mode");
    assert!(nj_dropped > 0, "no upload was classified");
    assert_eq!(
        n(c, "dropped"),
        nj_dropped,
        "something else than not_justified was dropped"
    );

    // The disk stayed within the caps: the log, a rotated one being
    // compressed, and two compressed; the evidence and two old files.
    let bytes_of = |prefix: &std::path::Path| -> (u64, Vec<String>) {
        let dir = prefix.parent().unwrap();
        let stem = prefix.file_name().unwrap().to_string_lossy().into_owned();
        let mut total = 0;
        let mut names = Vec::new();
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with(&stem) {
                total += e.metadata().unwrap().len();
                names.push(name);
            }
        }
        names.sort();
        (total, names)
    };
    let (log_bytes, log_files) = bytes_of(&agent.log);
    eprintln!("flood: log files {log_files:?}, {log_bytes} bytes");
    assert!(
        log_bytes <= 2 * 4_194_304 + 2 * 4_194_304 / 4,
        "the log took {log_bytes} bytes: {log_files:?}"
    );
    assert!(
        log_files
            .iter()
            .any(|f| f.ends_with(".gz") || f.ends_with(".rotated")),
        "the log never rotated: {log_files:?}"
    );
    // The log, one rotated file (and its compressed copy in the making),
    // and the two kept.
    assert!(log_files.len() <= 5, "{log_files:?}");
    let (ev_bytes, ev_files) = bytes_of(&agent.evidence);
    eprintln!("flood: evidence files {ev_files:?}, {ev_bytes} bytes");
    assert!(
        ev_bytes <= 3 * (262_144 + 4096),
        "the evidence took {ev_bytes} bytes: {ev_files:?}"
    );
    assert!(ev_files.len() <= 3, "{ev_files:?}");

    // Phase 2: SIGKILL in the middle of a flood, then a restart.
    // Long enough that a loaded machine's slow status call and kill still
    // leave flood for the pinned program to drop.
    let phase = (secs / 2.0).max(4.0);
    std::thread::scope(|s| {
        let sender = s.spawn(|| blast(&dev, "fld0", &frames, phase).unwrap());
        std::thread::sleep(Duration::from_secs_f64(phase / 4.0));
        let at_kill = counters(&agent);
        agent.kill();
        // No agent: the pinned program goes on classifying and dropping.
        // (Read from the pinned map alone: loading the program again would
        // take the verifier seconds, longer than the flood lasts.)
        let dropped_at_kill = pinned_dropped(&agent.pin_dir);
        let enforcing = wait_for(Duration::from_secs_f64(phase * 0.6), || {
            pinned_dropped(&agent.pin_dir) > dropped_at_kill
        });
        assert!(enforcing, "nothing was dropped while the agent was down");
        assert!(
            String::from_utf8_lossy(&gw.exec("ip -j link show dev flg0").stdout)
                .contains("\"xdp\""),
            "the classifier left the interface with the agent"
        );
        agent.start("flg0", &args);
        let now = counters(&agent);
        for (name, v) in at_kill.as_object().unwrap() {
            assert!(
                now[name].as_u64() >= v.as_u64(),
                "counter {name} went backwards over the restart: {v} → {}",
                now[name]
            );
        }
        sender.join().unwrap();
    });
    let s = agent.status();
    let (_, nj_passed) = class_actions(&s, "not_justified");
    assert_eq!(
        nj_passed, 0,
        "not_justified packets passed around the restart"
    );
    agent.stop();
    drop(sink);
}
