//! `alexa run` on a real veth in namespaces the test creates: real TCP,
//! TLS (openssl), HTTP and UDP over IPv4 and IPv6 from the "device"
//! namespace; the JSON lines must describe exactly those packets.

use std::{process::Command, time::Duration};

use alexa_lab::{
    agent::{wait_for, Agent, Running},
    netns::{veth_pair, Netns},
};
use alexa_tests::privileged;
use serde_json::Value;

fn lines(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

#[test]
fn run_logs_live_device_traffic() {
    if !privileged() {
        return;
    }
    let dev = Netns::new("dev");
    let gw = Netns::new("gw");
    veth_pair(
        &dev,
        "dev0",
        &["10.77.0.2/24", "fd77::2/64"],
        &gw,
        "gw0",
        &["10.77.0.1/24", "fd77::1/64"],
    );
    let dir = std::env::temp_dir().join(format!("alexa-live-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("verdicts.jsonl");
    let _ = std::fs::remove_file(&log);

    // Servers in the gateway namespace: TLS (openssl), HTTP (python), UDP sink.
    gw.exec(&format!(
        "openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=alexa-test -days 1 \
         -keyout {d}/key.pem -out {d}/cert.pem 2>/dev/null",
        d = dir.display()
    ));
    let mut servers = Running::spawn(Command::new("ip").args(["netns", "exec", &gw.name, "sh", "-c"]).arg(format!(
        "openssl s_server -quiet -accept 4433 -naccept 1 -cert {d}/cert.pem -key {d}/key.pem >/dev/null 2>&1 &
         python3 '{py}' ; wait",
        d = dir.display(),
        py = alexa_lab::files::python("live_servers.py").display()
    )));

    let mut agent = Agent::new("live", &gw);
    agent.log = log.clone();
    agent.start(
        "gw0",
        &[
            "--device",
            "10.77.0.2",
            "--device",
            "fd77::2",
            "--model",
            alexa_lab::files::SHIPPED_MODEL,
        ],
    );
    assert!(
        String::from_utf8_lossy(&gw.exec("ip link show gw0").stdout).contains("xdp"),
        "the agent did not attach XDP to gw0"
    );
    std::thread::sleep(Duration::from_millis(300));

    dev.exec(&format!(
        "python3 '{}' 10.77.0.1 fd77::1",
        alexa_lab::files::python("live_client.py").display()
    ));
    dev.exec("echo ping | timeout 10 openssl s_client -connect 10.77.0.1:4433 -quiet >/dev/null 2>&1 || true");

    // Every packet's line must show up promptly.
    let have = |pred: &dyn Fn(&Value) -> bool| lines(&log).iter().any(pred);
    let expect = |what: &str, pred: &dyn Fn(&Value) -> bool| {
        assert!(
            wait_for(Duration::from_secs(3), || have(pred)),
            "no JSON line for {what}; log:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    };
    expect("the HTTP SYN", &|v| {
        v["dstport"] == 8080 && v["tcp_flags"] == 2 && v["flow_index"] == 1 && v["delta"] == 0
    });
    expect("the HTTP request", &|v| {
        v["dstport"] == 8080
            && v["highest_layer"] == 3
            && v["payload_len"] == 34
            && v["src"] == "10.77.0.2"
    });
    expect("the IPv4 UDP datagram", &|v| {
        v["dstport"] == 5353
            && v["proto"] == 17
            && v["payload_len"] == 10
            && v["length"] == 14 + 20 + 8 + 10
            && v["highest_layer"] == 2
            && v["ack_flag"] == 0
    });
    expect("the IPv6 UDP datagram", &|v| {
        v["dstip"] == "fd77::1"
            && v["payload_len"] == 26
            && v["length"] == 14 + 40 + 8 + 26
            && v["src"] == "fd77::2"
    });
    expect("the TLS ClientHello", &|v| {
        v["dstport"] == 4433
            && v["content_type"] == 22
            && v["record_len"].as_u64().is_some_and(|n| n > 0)
            && v["highest_layer"] == 0
    });
    expect("a pure ACK", &|v| {
        v["payload_len"] == 0
            && v["ack_flag"] == 1
            && v["highest_layer"] == 1
            && v["content_type"].is_null()
    });

    let all = lines(&log);
    for v in &all {
        assert!(
            v["src"] == "10.77.0.2" || v["src"] == "fd77::2",
            "a line for a non-device packet: {v}"
        );
        assert!(
            v["class"].is_string(),
            "the shipped model gave no class: {v}"
        );
        assert!(v["model"].is_string(), "no model version: {v}");
        for key in [
            "date",
            "dstip",
            "dstport",
            "delta",
            "delta_us",
            "payload_len",
            "record_len",
            "microphone",
            "synchronized",
            "srcport",
            "flow_index",
            "tcp_retrans",
        ] {
            assert!(v.get(key).is_some(), "line without {key}: {v}");
        }
    }
    // Within a flow, flow_index counts 1, 2, 3... and delta is never negative.
    let http: Vec<&Value> = all.iter().filter(|v| v["dstport"] == 8080).collect();
    for (i, v) in http.iter().enumerate() {
        assert_eq!(v["flow_index"], (i + 1) as u64, "HTTP flow index: {v}");
    }

    // Stopping the agent leaves the classifier pinned and attached; only
    // `alexa detach` removes it.
    agent.stop();
    let attached = || String::from_utf8_lossy(&gw.exec("ip link show gw0").stdout).contains("xdp");
    assert!(attached(), "XDP went away with the agent");
    let out = agent.detach();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!attached(), "XDP still attached after alexa detach");
    let _ = servers.terminate(Duration::from_secs(1));
    let _ = std::fs::remove_dir_all(&dir);
}
