//! The agent as an operator runs it, end to end in namespaces: enforce and
//! monitor modes, flow quarantine, SIGKILL and restart, a broken model, the
//! root-only control socket, metrics, the local API and the evidence file.
//! The model is trained by `alexa train` on a rule the tests can predict
//! (see `alexa_lab::traffic`), so every expected count is exact.

use std::{collections::HashMap, process::Command, time::Duration};

use alexa_lab::{
    agent::{wait_for, Agent},
    netns::{veth_pair, Netns},
    traffic::{rule_model, segments_script, SegmentSink, BIG, MID, SMALL},
};
use alexa_tests::privileged;
use serde_json::Value;

const DEV: &str = "10.79.0.2";
const GW: &str = "10.79.0.1";
const JUSTIFIED_PORT: u16 = 5555;

struct Bed {
    dev: Netns,
    gw: Netns,
    agent: Agent,
    model: std::path::PathBuf,
}

fn bed(tag: &str) -> Bed {
    let dev = Netns::new(&format!("{tag}d"));
    let gw = Netns::new(&format!("{tag}g"));
    veth_pair(
        &dev,
        "edev0",
        &[&format!("{DEV}/24")],
        &gw,
        "egw0",
        &[&format!("{GW}/24")],
    );
    let agent = Agent::new(tag, &gw);
    let model = rule_model(&agent.dir);
    Bed {
        dev,
        gw,
        agent,
        model,
    }
}

impl Bed {
    fn start(&mut self, args: &[&str]) {
        let model = self.model.to_str().unwrap().to_owned();
        let mut all = vec!["--device", DEV, "--model", &model];
        all.extend_from_slice(args);
        self.agent.start("egw0", &all);
    }
    fn sink(&self, ports: &[u16]) -> SegmentSink {
        SegmentSink::start(&self.gw, ports, &self.agent.dir.join("sink.json"))
    }
    fn send(&self, sport: u16, dport: u16, len: usize, count: usize) {
        self.dev
            .exec(&segments_script(None, GW, sport, dport, len, count, 2));
    }
    fn xdp_attached(&self) -> bool {
        let out = self.gw.exec("ip link show egw0");
        String::from_utf8_lossy(&out.stdout).contains("xdp")
    }
}

fn class<'a>(status: &'a Value, name: &str) -> &'a Value {
    status["classes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["class"] == name)
        .unwrap_or_else(|| panic!("no class {name} in status"))
}

/// Waits until the agent has logged `n` lines.
fn logged(agent: &Agent, n: usize) -> Vec<Value> {
    wait_for(Duration::from_secs(5), || agent.lines().len() >= n);
    agent.lines()
}

#[test]
fn enforce_drops_by_policy_monitor_drops_nothing_and_evidence_and_metrics_agree() {
    if !privileged() {
        return;
    }
    let mut bed = bed("enf");
    bed.start(&["--mode", "enforce", "--quarantine", "0,0,0"]);
    let sink = bed.sink(&[4444, JUSTIFIED_PORT, 6666]);
    bed.send(41000, 4444, BIG, 30);
    bed.send(41001, JUSTIFIED_PORT, MID, 30);
    bed.send(41002, 6666, SMALL, 30);
    let got = sink.settled();
    assert_eq!(
        got,
        HashMap::from([(4444, 0), (JUSTIFIED_PORT, 30), (6666, 30)]),
        "enforce mode: what reached the other side"
    );
    let s = bed.agent.status();
    assert_eq!(s["mode"], "enforce");
    let nj = class(&s, "not_justified");
    assert_eq!(
        (nj["packets"].as_u64(), nj["dropped"].as_u64()),
        (Some(30), Some(30))
    );
    let j = class(&s, "justified");
    assert_eq!(
        (j["alerted"].as_u64(), j["dropped"].as_u64()),
        (Some(30), Some(0))
    );
    let e = class(&s, "expected");
    assert_eq!(
        (e["passed"].as_u64(), e["dropped"].as_u64()),
        (Some(30), Some(0))
    );
    assert_eq!(s["counters"]["dropped"], 30);

    let lines = logged(&bed.agent, 90);
    assert_eq!(lines.len(), 90, "one log line per device packet");
    for l in &lines {
        let want = match l["dstport"].as_u64() {
            Some(4444) => ("not_justified", "drop"),
            Some(5555) => ("justified", "alert"),
            _ => ("expected", "pass"),
        };
        assert_eq!(
            (l["class"].as_str().unwrap(), l["action"].as_str().unwrap()),
            want,
            "{l}"
        );
        assert!(l["model"].is_string());
    }

    // Metrics: parsed by a Prometheus parser, equal to the kernel's counters.
    let text = bed.gw.exec("curl -sf http://127.0.0.1:9464/metrics").stdout;
    let text = String::from_utf8(text).unwrap();
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned())))
        .expect("the exposition parses");
    let value = |name: &str, labels: &[(&str, &str)]| -> f64 {
        let s = scrape
            .samples
            .iter()
            .find(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
            .unwrap_or_else(|| panic!("no sample {name} {labels:?} in\n{text}"));
        match s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            _ => panic!("{name}: not a number"),
        }
    };
    assert_eq!(value("alexa_dropped_packets_total", &[]), 30.0);
    assert_eq!(
        value(
            "alexa_classified_packets_total",
            &[("class", "not_justified"), ("action", "drop")]
        ),
        30.0
    );
    assert_eq!(
        value(
            "alexa_classified_packets_total",
            &[("class", "justified"), ("action", "alert")]
        ),
        30.0
    );
    assert_eq!(value("alexa_microphone_on", &[]), 1.0);
    assert_eq!(value("alexa_enforcing", &[]), 1.0);
    assert_eq!(value("alexa_ringbuf_lost_events_total", &[]), 0.0);
    let version = s["model_version"].as_str().unwrap();
    assert_eq!(value("alexa_model_info", &[("version", version)]), 1.0);

    // Evidence: the 30 dropped frames, as tshark reads them.
    let out = Command::new("tshark")
        .arg("-r")
        .arg(&bed.agent.evidence)
        .args([
            "-T",
            "fields",
            "-e",
            "frame.len",
            "-e",
            "frame.cap_len",
            "-e",
            "tcp.dstport",
            "-e",
            "frame.comment",
        ])
        .output()
        .expect("run tshark");
    assert!(
        out.status.success(),
        "tshark: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(rows.len(), 30, "evidence frames:\n{}", rows.join("\n"));
    for r in &rows {
        let f: Vec<&str> = r.split('\t').collect();
        assert_eq!(f[0], (BIG + 20 + 20 + 14).to_string(), "{r}");
        assert_eq!(f[1], "128", "snap length: {r}");
        assert_eq!(f[2], "4444", "{r}");
        assert!(f[3].contains("class=not_justified action=drop"), "{r}");
    }

    // Monitor mode (the restarted agent adopts the pinned classifier): nothing dropped.
    bed.agent.stop();
    assert!(bed.xdp_attached(), "the classifier left with the agent");
    bed.start(&["--mode", "monitor"]);
    bed.send(41003, 4444, BIG, 30);
    let got = sink.settled();
    assert_eq!(got[&4444], 30, "monitor mode dropped packets");
    let s = bed.agent.status();
    assert_eq!(s["mode"], "monitor");
    assert_eq!(s["counters"]["dropped"], 30, "no new drop in monitor mode");
    assert_eq!(class(&s, "not_justified")["alerted"], 30);
    let lines = logged(&bed.agent, 120);
    let monitored: Vec<&Value> = lines.iter().filter(|l| l["srcport"] == 41003).collect();
    assert_eq!(monitored.len(), 30);
    for l in monitored {
        assert_eq!(l["action"], "alert", "{l}");
        assert_eq!(l["would_drop"], true, "{l}");
    }
    bed.agent.stop();
    let out = bed.agent.detach();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!bed.xdp_attached(), "XDP still attached after alexa detach");
    assert!(!bed.agent.pin_dir.exists(), "pins left after alexa detach");
}

#[test]
fn quarantine_blocks_a_flow_and_releases_it_after_q() {
    if !privileged() {
        return;
    }
    let mut bed = bed("qua");
    // K=5 not_justified packets within 2 s quarantine the flow for 1.5 s.
    bed.start(&["--mode", "enforce", "--quarantine", "5,2000,1500"]);
    let sink = bed.sink(&[6666]);
    // One flow: a burst of uploads, then small (expected) packets.
    bed.send(42000, 6666, BIG, 5);
    bed.send(42000, 6666, SMALL, 10);
    // Another flow, same server: not quarantined.
    bed.send(42001, 6666, SMALL, 10);
    assert_eq!(
        sink.settled()[&6666],
        10,
        "only the other flow's packets got through"
    );
    let s = bed.agent.status();
    assert_eq!(s["counters"]["quarantined_flows"], 1);
    // The 5th upload started the quarantine and is its first drop.
    assert_eq!(s["counters"]["quarantine_drops"], 11);
    assert_eq!(s["counters"]["dropped"], 15);
    let lines = logged(&bed.agent, 25);
    let held: Vec<&Value> = lines
        .iter()
        .filter(|l| l["srcport"] == 42000 && l["class"] == "expected")
        .collect();
    assert_eq!(held.len(), 10);
    assert!(held
        .iter()
        .all(|l| l["action"] == "drop" && l["quarantine"] == true));
    // Released after Q.
    std::thread::sleep(Duration::from_millis(1700));
    bed.send(42000, 6666, SMALL, 10);
    assert_eq!(
        sink.settled()[&6666],
        20,
        "the flow was not released after Q"
    );
    assert_eq!(bed.agent.counter("quarantine_drops"), 11);
}

#[test]
fn sigkill_and_restart_keep_enforcement_and_counters() {
    if !privileged() {
        return;
    }
    let mut bed = bed("kil");
    bed.start(&[
        "--mode",
        "enforce",
        "--quarantine",
        "0,0,0",
        "--microphone",
        "off",
    ]);
    let sink = bed.sink(&[4444, 6666]);
    bed.send(43000, 4444, BIG, 10);
    assert_eq!(sink.settled()[&4444], 0);
    let before = bed.agent.status();
    bed.agent.kill();
    assert!(bed.xdp_attached(), "SIGKILL took the classifier away");
    // While no agent runs: still enforcing.
    bed.send(43001, 4444, BIG, 10);
    bed.send(43002, 6666, SMALL, 10);
    let got = sink.settled();
    assert_eq!(
        (got[&4444], got[&6666]),
        (0, 10),
        "enforcement stopped with the agent"
    );
    bed.start(&["--mode", "enforce"]);
    let after = bed.agent.status();
    for (name, v) in before["counters"].as_object().unwrap() {
        assert!(
            after["counters"][name].as_u64() >= v.as_u64(),
            "counter {name} went backwards: {v} -> {}",
            after["counters"][name]
        );
    }
    assert_eq!(
        after["counters"]["dropped"], 20,
        "drops while the agent was down were counted"
    );
    assert_eq!(
        after["microphone"], false,
        "the restarted agent reset the microphone state"
    );
    assert_eq!(after["model_version"], before["model_version"]);
    // The events queued while the agent was down reach the log.
    let lines = logged(&bed.agent, 40);
    assert_eq!(
        lines
            .iter()
            .filter(|l| l["srcport"] == 43001 && l["action"] == "drop")
            .count(),
        10,
        "events from the downtime were lost"
    );
    assert_eq!(after["counters"]["ringbuf_lost"], 0);
}

#[test]
fn broken_model_changes_nothing_and_control_socket_is_root_only() {
    if !privileged() {
        return;
    }
    let mut bed = bed("ctl");
    bed.start(&["--mode", "enforce"]);
    let version = bed.agent.status()["model_version"].clone();
    assert!(version.is_string());

    let model_text = std::fs::read_to_string(&bed.model).unwrap();
    let broken = bed.agent.dir.join("broken.json");
    for (what, text) in [
        ("truncated", model_text[..model_text.len() / 2].to_owned()),
        (
            "a cycle",
            model_text.replacen("\"left\": 1", "\"left\": 0", 1),
        ),
        ("not a model", "[1, 2, 3]".to_owned()),
    ] {
        std::fs::write(&broken, &text).unwrap();
        // Through the client (which validates first) ...
        let out = bed.agent.ctl(&["model", "load", broken.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{what}: model load succeeded");
        assert_eq!(err.trim().lines().count(), 1, "{what}: not one line: {err}");
        assert!(
            err.contains("broken.json"),
            "{what}: error does not name the file: {err}"
        );
        // ... and straight to the agent, which validates again.
        let req = serde_json::json!({"cmd": "model_load", "path": broken}).to_string();
        let answer = bed.gw.exec(&format!(
            "python3 '{}' '{}' '{req}'",
            alexa_lab::files::python("control_request.py").display(),
            bed.agent.socket.display(),
        ));
        let answer: Value = serde_json::from_slice(&answer.stdout).expect("agent answer");
        assert_eq!(
            answer["ok"], false,
            "{what}: the agent accepted it: {answer}"
        );
        assert_eq!(
            bed.agent.status()["model_version"],
            version,
            "{what}: the model changed"
        );
    }
    // A valid model does load.
    let shipped = alexa_lab::files::SHIPPED_MODEL;
    let out = bed.agent.ctl(&["model", "load", shipped]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_ne!(bed.agent.status()["model_version"], version);

    // Microphone and policy through the control socket.
    assert!(bed.agent.ctl(&["mic", "off"]).status.success());
    assert_eq!(bed.agent.status()["microphone"], false);
    assert!(bed
        .agent
        .ctl(&["policy", "set", "justified=drop", "ack=alert"])
        .status
        .success());
    let p = bed.agent.status()["policy"].clone();
    assert_eq!(
        (p["justified"].as_str(), p["ack"].as_str()),
        (Some("drop"), Some("alert"))
    );
    let out = bed.agent.ctl(&["policy", "set", "voice=drop"]);
    assert!(!out.status.success());
    assert_eq!(
        bed.agent.status()["policy"],
        p,
        "a bad rule changed the policy"
    );

    // The local API: microphone state from home automation, with the token
    // only; reads open; nothing else.
    let api = |args: &str| {
        let out = Command::new("ip")
            .args(["netns", "exec", &bed.gw.name, "sh", "-c"])
            .arg(format!("curl -s -o /dev/null -w '%{{http_code}}' {args}"))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let token = std::fs::read_to_string(bed.agent.token_file()).unwrap();
    let token = token.trim();
    assert_eq!(token.len(), 64);
    let mic = "http://127.0.0.1:9465/api/microphone";
    assert_eq!(api(&format!("-X PUT -d on {mic}")), "401", "no token");
    assert_eq!(
        api(&format!(
            "-X PUT -H 'Authorization: Bearer {}' -d on {mic}",
            "0".repeat(64)
        )),
        "401",
        "wrong token"
    );
    assert_eq!(
        api(&format!(
            "-X POST -H 'Authorization: Bearer {}' -d on {mic}",
            &token[..63]
        )),
        "401",
        "a prefix of the token"
    );
    assert_eq!(
        bed.agent.status()["microphone"],
        false,
        "a refused change held"
    );
    let bearer = format!("-H 'Authorization: Bearer {token}'");
    assert_eq!(api(&format!("-X PUT {bearer} -d on {mic}")), "200");
    assert_eq!(bed.agent.status()["microphone"], true);
    assert_eq!(api(mic), "200", "reading needs no token");
    assert_eq!(api("http://127.0.0.1:9465/api/status"), "200");
    assert_eq!(api(&format!("-X PUT {bearer} -d maybe {mic}")), "400");
    assert_eq!(
        api(&format!(
            "-X PUT {bearer} -d \"$(head -c 5000 /dev/zero | tr '\\0' a)\" {mic}"
        )),
        "413"
    );
    assert_eq!(api("http://127.0.0.1:9465/api/model"), "404");
    assert_eq!(api("-X DELETE http://127.0.0.1:9465/api/status"), "405");
    // The status shows root the token, and never carries it itself.
    let out = bed.agent.ctl(&["status"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("api token: {token}")));
    assert!(!serde_json::to_string(&bed.agent.status())
        .unwrap()
        .contains(token));

    // A non-root client: the socket's mode keeps it out ...
    let nobody = |args: &[&str]| {
        Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&bed.agent.bin)
            .args(args)
            .arg("--control-socket")
            .arg(&bed.agent.socket)
            .output()
            .unwrap()
    };
    let out = nobody(&["mic", "off"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("Permission denied"),
        "{err}"
    );
    // ... and with the mode opened up, the agent's own uid check does.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&bed.agent.socket, std::fs::Permissions::from_mode(0o666)).unwrap();
    let out = nobody(&["mic", "off"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("root-only"), "{err}");
    assert_eq!(
        bed.agent.status()["microphone"],
        true,
        "a non-root client changed state"
    );
}
