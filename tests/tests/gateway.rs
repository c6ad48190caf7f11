//! What a gateway's owner relies on between reboots, live on veths in
//! namespaces: the device followed by MAC across an address change (a DHCP
//! renew) and IPv6, a silent device reported, run-time changes kept in the
//! config file across a restart, READY sent to systemd only once attached,
//! and another tool's XDP program named and left alone.

use std::{
    os::unix::net::UnixDatagram,
    time::{Duration, Instant},
};

use alexa_lab::{
    agent::{wait_for, Agent},
    netns::{veth_pair, Netns},
    traffic::segments_script,
};
use alexa_tests::privileged;
use serde_json::Value;

fn mac_of(ns: &Netns, iface: &str) -> String {
    let out = ns.exec(&format!("cat /sys/class/net/{iface}/address"));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The status entry of device `name`.
fn activity(agent: &Agent, name: &str) -> Value {
    agent.status()["device_activity"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no device {name} in the status"))
}

/// Classified lines from `src`.
fn classified_from(agent: &Agent, src: &str) -> Vec<Value> {
    agent
        .lines()
        .into_iter()
        .filter(|l| l["src"] == src && !l["class"].is_null())
        .collect()
}

#[test]
fn device_followed_by_mac_silence_reported_changes_survive_restart() {
    if !privileged() {
        return;
    }
    let dev = Netns::new("gwdev");
    let gw = Netns::new("gwgw");
    veth_pair(
        &dev,
        "dev0",
        &["10.79.0.2/24", "fd79::2/64"],
        &gw,
        "gw0",
        &["10.79.0.1/24", "fd79::1/64"],
    );
    let mac = mac_of(&dev, "dev0");
    let mut agent = Agent::new("gateway", &gw);
    let config = agent.dir.join("alexa.toml");
    std::fs::write(
        &config,
        format!(
            "# the owner's comment\n\
             interface = \"gw0\"\n\
             mode = \"monitor\"\n\
             model = \"{model}\"\n\
             silence_minutes = 0.05\n\
             \n\
             [devices]\n\
             kitchen = \"{mac}\"\n\
             den = \"10.79.0.99\"\n",
            model = std::fs::canonicalize(alexa_lab::files::SHIPPED_MODEL)
                .unwrap()
                .display()
        ),
    )
    .unwrap();
    let out = std::process::Command::new(&agent.bin)
        .args(["config", "check", "--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("kitchen="),
        "{out:?}"
    );
    // systemd's side of Type=notify: a datagram socket READY=1 arrives on.
    let notify_path = agent.dir.join("notify.sock");
    let notify = UnixDatagram::bind(&notify_path).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    agent.env = vec![("NOTIFY_SOCKET".into(), notify_path.display().to_string())];
    agent.start("gw0", &["--config", config.to_str().unwrap()]);
    let mut buf = [0u8; 512];
    let n = notify.recv(&mut buf).expect("READY=1 from the agent");
    let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(
        msg.lines().any(|l| l == "READY=1") && msg.contains("STATUS=monitor on gw0"),
        "{msg}"
    );
    assert!(
        String::from_utf8_lossy(&gw.exec("ip link show gw0").stdout).contains("xdp"),
        "READY before the program was attached"
    );

    // The address the config never named: matched by MAC.
    dev.exec(&segments_script(None, "10.79.0.1", 40100, 443, 200, 5, 20));
    assert!(
        wait_for(Duration::from_secs(10), || classified_from(
            &agent,
            "10.79.0.2"
        )
        .len()
            >= 5),
        "packets from the device's first address were not classified:\n{}",
        agent.stderr()
    );
    let line = &classified_from(&agent, "10.79.0.2")[0];
    assert_eq!(line["device"], "kitchen");
    assert_eq!(line["event_type"], "verdict");
    assert_eq!(line["in_iface"], "gw0");
    let ts = line["timestamp"].as_str().unwrap();
    assert!(
        ts.len() == 27 && ts.ends_with('Z') && ts.as_bytes()[10] == b'T',
        "{ts}"
    );
    assert!(line.get("dstport").is_some() && line.get("highest_layer").is_some());

    // A DHCP renew hands the Echo another address; IPv6 comes on too.
    dev.exec("ip addr flush dev dev0 scope global && ip addr add 10.79.0.33/24 dev dev0 && ip addr add fd79::33/64 dev dev0 nodad");
    dev.exec(&segments_script(None, "10.79.0.1", 40101, 443, 200, 5, 20));
    dev.exec(&format!(
        "python3 '{}' fd79::1 9",
        alexa_lab::files::python("tcp_connect.py").display()
    ));
    assert!(
        wait_for(Duration::from_secs(10), || {
            classified_from(&agent, "10.79.0.33").len() >= 5
                && !classified_from(&agent, "fd79::33").is_empty()
        }),
        "the renewed or IPv6 address went unclassified: {:?}",
        agent.status()["counters"]
    );
    assert!(classified_from(&agent, "fd79::33")
        .iter()
        .all(|l| l["device"] == "kitchen"));
    // The gateway's own packets stay foreign: never classified.
    assert!(classified_from(&agent, "10.79.0.1").is_empty());
    assert!(classified_from(&agent, "fd79::1").is_empty());

    // Silence: 3 s without a packet is reported, and the return too.
    assert!(
        wait_for(Duration::from_secs(20), || agent.status()
            ["device_activity"][0]["silent"]
            == true),
        "the silent device was not reported: {}",
        agent.status()["device_activity"]
    );
    assert!(
        agent.stderr().contains("device kitchen"),
        "{}",
        agent.stderr()
    );
    assert!(agent.stderr().contains("has sent nothing"));
    let metrics = gw.exec("curl -s http://127.0.0.1:9464/metrics");
    let metrics = String::from_utf8_lossy(&metrics.stdout);
    assert!(
        metrics.contains(&format!(
            "alexa_device_silent{{device=\"kitchen\",address=\"{mac}\"}} 1"
        )),
        "{metrics}"
    );
    dev.exec(&segments_script(None, "10.79.0.1", 40102, 443, 200, 3, 20));
    assert!(wait_for(Duration::from_secs(10), || activity(
        &agent, "kitchen"
    )["silent"]
        == false));
    // The other listed device never sent: silent all along, and its
    // index (0, before kitchen's 1) named no packet of kitchen's.
    assert_eq!(activity(&agent, "den")["silent"], true);
    assert_eq!(activity(&agent, "den")["packets"], 0);
    assert!(activity(&agent, "kitchen")["packets"].as_u64().unwrap() >= 14);
    assert!(
        agent.stderr().contains("device kitchen (") && agent.stderr().contains("is sending again")
    );

    // Run-time changes, kept in the config file through a restart.
    assert!(agent.ctl(&["mic", "off"]).status.success());
    assert!(agent
        .ctl(&["policy", "set", "justified=drop"])
        .status
        .success());
    let sim = std::fs::canonicalize(alexa_lab::files::SIM_MODEL).unwrap();
    let out = agent.ctl(&["model", "load", sim.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.starts_with("# the owner's comment\n"), "{text}");
    assert!(text.contains("microphone = \"off\""), "{text}");
    assert!(text.contains("\"justified=drop\""), "{text}");
    assert!(
        text.contains(&format!("model = \"{}\"", sim.display())),
        "{text}"
    );
    // The next start adopts the pinned maps; take them away so that only
    // the file can bring the changes back.
    assert!(
        agent.status()["kernel_runs"].is_null(),
        "BPF statistics on without --kernel-stats"
    );
    agent.stop();
    let out = agent.ctl(&["detach", "--pin-dir", agent.pin_dir.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    let started = Instant::now();
    agent.start(
        "gw0",
        &["--config", config.to_str().unwrap(), "--kernel-stats"],
    );
    let s = agent.status();
    assert!(
        s["kernel_runs"].is_u64(),
        "--kernel-stats: {}",
        s["kernel_runs"]
    );
    assert_eq!(s["microphone"], false);
    assert_eq!(s["policy"]["justified"], "drop");
    assert_eq!(s["model_path"], sim.display().to_string());
    assert_eq!(s["config"], config.display().to_string());
    assert!(started.elapsed() < Duration::from_secs(15));
    agent.stop();
}

#[test]
fn another_xdp_program_is_named_and_left_alone() {
    if !privileged() {
        return;
    }
    let dev = Netns::new("xdpdev");
    let gw = Netns::new("xdpgw");
    veth_pair(
        &dev,
        "dev0",
        &["10.80.0.2/24"],
        &gw,
        "gw0",
        &["10.80.0.1/24"],
    );
    // Another tool's program (here the bench's bare XDP_PASS) holds gw0.
    let mut other = alexa_lab::bench::kernel::Object::lab(&[alexa_lab::bench::kernel::BARE])
        .expect("load the other program");
    {
        let _inside = gw.enter();
        other
            .attach(alexa_lab::bench::kernel::BARE, "gw0")
            .or_else(|_| {
                // veth without native XDP on this kernel: generic mode.
                other
                    .program(alexa_lab::bench::kernel::BARE)?
                    .attach("gw0", aya::programs::XdpMode::Skb)
                    .map(drop)
                    .map_err(|e| anyhow::anyhow!("{e}"))
            })
            .expect("attach the other program");
    }
    let agent = Agent::new("xdpbusy", &gw);
    let out = std::process::Command::new("nsenter")
        .arg(format!("--net=/run/netns/{}", gw.name))
        .arg(&agent.bin)
        .args([
            "run",
            "--iface",
            "gw0",
            "--device",
            "10.80.0.2",
            "--api-addr",
            "none",
            "--metrics-addr",
            "none",
        ])
        .arg("--pin-dir")
        .arg(&agent.pin_dir)
        .arg("--control-socket")
        .arg(&agent.socket)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("gw0 already has an XDP program, \"alexa_bare\"") && err.lines().count() == 1,
        "{err}"
    );
    // Still the other program, and nothing of ours left behind.
    let link = String::from_utf8_lossy(&gw.exec("ip -d link show gw0").stdout).into_owned();
    assert!(link.contains("alexa_bare"), "{link}");
    assert!(!agent.pin_dir.exists(), "pins left behind");
}
