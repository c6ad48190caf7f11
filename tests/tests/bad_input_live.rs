//! Bad input against the agent (needs root): `alexa run` given a missing
//! interface, a bad model or log path must fail in one line and leave no
//! XDP program attached; and a running agent is left exactly as it was by
//! every failing command (a second agent on its interface, bad models,
//! offline commands beside it). The offline commands' cases are in
//! `bad_input`; both share `cli_cases`.

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use alexa_lab::{
    agent::{alexa_bin, wait_for, Agent},
    netns::{veth_pair, Netns},
};
use alexa_tests::privileged;

mod cli_cases;
use cli_cases::{as_nobody, case, check, models, run_cases, Case, Scratch};

#[test]
fn run_refuses_bad_input_in_one_line() {
    if !privileged() {
        return;
    }
    let bin = alexa_bin();
    let dir = Scratch::new("run");
    let s = |p: &Path| p.to_str().unwrap().to_owned();
    let models = models(&dir);
    let mut cases = vec![
        case(
            "no such interface",
            &[
                "run",
                "--iface",
                "nosuch0",
                "--device",
                "10.0.0.2",
                "--no-model",
            ],
            &["no such interface: nosuch0"],
        ),
        as_nobody(case(
            "not root",
            &["run", "--iface", "lo", "--device", "10.0.0.2", "--no-model"],
            &["alexa run needs root"],
        )),
        case(
            "missing model",
            &[
                "run",
                "--iface",
                "lo",
                "--device",
                "10.0.0.2",
                "--model",
                "nosuch.json",
            ],
            &["nosuch.json", "cannot read", "No such file or directory"],
        ),
        case(
            "log in a missing directory",
            &[
                "run",
                "--iface",
                "lo",
                "--device",
                "10.0.0.2",
                "--no-model",
                "--log",
                "/nonexistent-alexa-dir/v.jsonl",
            ],
            &["/nonexistent-alexa-dir/v.jsonl", "cannot open the log"],
        ),
    ];
    for (path, say) in &models {
        let p = s(path);
        let mut must = vec![p.as_str()];
        must.extend(say.iter().map(String::as_str));
        cases.push(case(
            &format!("model {}", path.file_name().unwrap().to_string_lossy()),
            &[
                "run", "--iface", "lo", "--device", "10.0.0.2", "--model", &p,
            ],
            &must,
        ));
    }
    let failures = run_cases(&bin, &dir, &cases);
    check(&cases, failures);
    let link = Command::new("ip")
        .args(["link", "show", "lo"])
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&link.stdout).contains("xdp"),
        "a failed `alexa run` left XDP attached to lo"
    );
}

/// The XDP program id on `iface` in `ns`, if one is attached.
fn xdp_prog_id(ns: &Netns, iface: &str) -> Option<u64> {
    let out = ns.exec(&format!("ip -d -j link show {iface}"));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    v[0]["xdp"]["prog"]["id"].as_u64()
}

fn lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

/// A running agent is left exactly as it was by every failing command:
/// same program attached, still logging, and it still exits cleanly.
#[test]
fn a_running_agent_is_left_unchanged() {
    if !privileged() {
        return;
    }
    let bin = alexa_bin();
    let dir = Scratch::new("agent");
    let dev = Netns::new("bdev");
    let gw = Netns::new("bgw");
    veth_pair(
        &dev,
        "bdev0",
        &["10.78.0.2/24"],
        &gw,
        "bgw0",
        &["10.78.0.1/24"],
    );
    // Its own socket and pin directory: nothing here may reach an agent
    // that runs on this machine for real.
    let mut agent = Agent::new("bad", &gw);
    agent.start(
        "bgw0",
        &[
            "--device",
            "10.78.0.2",
            "--model",
            alexa_lab::files::SHIPPED_MODEL,
        ],
    );
    let log = agent.log.clone();
    assert!(
        xdp_prog_id(&gw, "bgw0").is_some(),
        "the agent did not attach"
    );
    let prog = xdp_prog_id(&gw, "bgw0");
    let send = |port: u16| {
        dev.exec(&format!(
            "python3 '{}' 10.78.0.1 {port} 7",
            alexa_lab::files::python("udp_send.py").display()
        ));
    };
    let logged = |port: u16| {
        wait_for(Duration::from_secs(3), || {
            lines(&log).iter().any(|v| v["dstport"] == port)
        })
    };
    send(5001);
    assert!(logged(5001), "the agent logged nothing before the test");

    let models = models(&dir);
    let s = |p: &Path| p.to_str().unwrap().to_owned();
    let (pins, socket) = (s(&agent.pin_dir), s(&agent.socket));
    let in_gw = |args: &[&str]| -> Vec<String> {
        let mut v = vec![format!("--net=/run/netns/{}", gw.name), s(&bin)];
        v.extend(args.iter().map(|a| a.to_string()));
        v.extend([
            "--pin-dir".into(),
            pins.clone(),
            "--control-socket".into(),
            socket.clone(),
        ]);
        v
    };
    let mut cases = Vec::new();
    // A second agent on the same interface, and agents with bad input.
    let second = in_gw(&[
        "run",
        "--iface",
        "bgw0",
        "--device",
        "10.78.0.2",
        "--no-model",
    ]);
    cases.push(Case {
        name: "a second agent on the same interface".into(),
        args: second,
        as_nobody: false,
        must_say: vec!["another agent".into()],
    });
    for (path, say) in models.iter().take(4) {
        let p = s(path);
        let mut must = vec![p.clone()];
        must.extend(say.iter().cloned());
        cases.push(Case {
            name: format!("run with model {}", path.display()),
            args: in_gw(&[
                "run",
                "--iface",
                "bgw0",
                "--device",
                "10.78.0.2",
                "--model",
                &p,
            ]),
            as_nobody: false,
            must_say: must,
        });
    }
    cases.push(Case {
        name: "run on a missing interface".into(),
        args: in_gw(&[
            "run",
            "--iface",
            "nosuch0",
            "--device",
            "10.78.0.2",
            "--no-model",
        ]),
        as_nobody: false,
        must_say: vec!["no such interface: nosuch0".into()],
    });
    // The cases run `nsenter --net=… alexa …`: `nsenter` is the program.
    let nsenter = ["/usr/bin/nsenter", "/bin/nsenter"]
        .map(PathBuf::from)
        .into_iter()
        .find(|p| p.exists())
        .expect("nsenter (util-linux)");
    let mut failures = run_cases(&nsenter, &dir, &cases);
    // Offline commands with bad input, beside the agent.
    let offline = vec![
        case(
            "extract a missing capture",
            &["extract", "nosuch.pcap", "-o", "o.csv"],
            &["nosuch.pcap"],
        ),
        case(
            "classify with a cyclic model",
            &[
                "classify",
                "nosuch.pcap",
                "--model",
                &s(&models[0].0),
                "-o",
                "o.csv",
            ],
            &["cycle.json"],
        ),
    ];
    failures.extend(run_cases(&bin, &dir, &offline));
    cases.extend(offline);

    assert_eq!(
        xdp_prog_id(&gw, "bgw0"),
        prog,
        "the agent's XDP program was replaced or detached"
    );
    assert!(agent.is_running(), "the agent exited");
    send(5002);
    assert!(logged(5002), "the agent stopped logging");
    for v in lines(&log) {
        assert_eq!(v["src"], "10.78.0.2", "a line for another host: {v}");
        assert!(v["class"].is_string(), "the agent lost its model: {v}");
    }
    check(&cases, failures);
    agent.stop();
}
