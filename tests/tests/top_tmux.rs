//! `alexa top` in a real 80×24 terminal (tmux) against the real agent,
//! attached to a veth in namespaces the test creates, with real traffic
//! from the "device" namespace. The capture must show the header, every
//! class and a frame count that moved.
//!
//! `ALEXA_UPDATE_DOCS=1` also saves the capture as docs/top-80x24.txt.

use std::{process::Command, time::Duration};

use alexa_common::contract::CLASS_NAMES;
use alexa_lab::{
    agent::{wait_for, Agent},
    netns::{veth_pair, Netns},
};
use alexa_tests::privileged;

/// A tmux server of the test's own (`-L`), killed on drop.
struct Tmux(String);

impl Tmux {
    fn cmd(&self) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.0]);
        c
    }

    fn capture(&self) -> String {
        let out = self.cmd().args(["capture-pane", "-p"]).output().unwrap();
        assert!(out.status.success(), "tmux capture-pane failed");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd().arg("kill-server").output();
    }
}

/// The number after `frames ` in the header.
fn frames(capture: &str) -> Option<u64> {
    let rest = &capture[capture.find("frames ")? + "frames ".len()..];
    let figure: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.' || c.is_ascii_alphabetic())
        .collect();
    let (num, mult) = match figure.chars().last()? {
        'k' => (&figure[..figure.len() - 1], 1e3),
        'M' => (&figure[..figure.len() - 1], 1e6),
        'G' => (&figure[..figure.len() - 1], 1e9),
        _ => (figure.as_str(), 1.0),
    };
    num.parse::<f64>().ok().map(|n| (n * mult) as u64)
}

fn send_traffic(dev: &Netns) {
    dev.exec(&format!(
        "python3 '{}' 10.78.0.1 5353 10 40 20 && python3 '{}' 10.78.0.1 8080",
        alexa_lab::files::python("udp_send.py").display(),
        alexa_lab::files::python("tcp_connect.py").display()
    ));
}

#[test]
fn top_shows_the_live_agent_in_80x24() {
    if !privileged() {
        return;
    }
    assert!(
        Command::new("tmux").arg("-V").output().is_ok(),
        "tmux is missing: run `cargo xtask setup`"
    );
    let dev = Netns::new("topdev");
    let gw = Netns::new("topgw");
    veth_pair(
        &dev,
        "dev0",
        &["10.78.0.2/24"],
        &gw,
        "gw0",
        &["10.78.0.1/24"],
    );
    let mut agent = Agent::new("top", &gw);
    agent.start(
        "gw0",
        &[
            "--device",
            "10.78.0.2",
            "--model",
            alexa_lab::files::SHIPPED_MODEL,
        ],
    );
    let socket = agent.socket.clone();
    let status = alexa::control::fetch_status(&socket).unwrap();
    send_traffic(&dev);

    let tmux = Tmux(format!("alexa-top-{}", std::process::id()));
    let started = tmux
        .cmd()
        .args(["new-session", "-d", "-x", "80", "-y", "24"])
        .arg(format!(
            "{} top --control-socket {} --interval-ms 500",
            agent.bin.display(),
            socket.display()
        ))
        .status()
        .unwrap();
    assert!(started.success(), "tmux new-session failed");
    // More traffic while top watches, so its rates have something to show.
    send_traffic(&dev);
    std::thread::sleep(Duration::from_secs(3));
    let capture = tmux.capture();
    let lines: Vec<&str> = capture.lines().collect();

    assert!(lines.len() <= 24, "more than 24 lines:\n{capture}");
    for l in &lines {
        assert!(l.chars().count() <= 80, "line wider than 80: {l:?}");
    }
    let version = status.model_version.expect("the agent runs a model");
    for needle in [
        "gw0 (",
        "monitor",
        "mic ON",
        &format!("model {version}"),
        "kernel ",
        "up ",
        "10.78.0.2",
        "packets by class",
        "latest alerts and drops",
    ] {
        assert!(capture.contains(needle), "no {needle:?} in\n{capture}");
    }
    assert!(
        capture.contains("ns/pkt") || capture.contains("kernel n/a"),
        "no kernel cost in\n{capture}"
    );
    for class in CLASS_NAMES.iter().chain(&["unclassified"]) {
        assert!(
            lines.iter().any(|l| l
                .split(|c: char| c.is_whitespace() || c == '│')
                .any(|w| w == *class)),
            "class {class} not whole in\n{capture}"
        );
    }
    assert!(
        !capture.contains("unreachable") && !capture.contains("waiting"),
        "top did not reach the agent:\n{capture}"
    );
    let n = frames(&capture).unwrap_or_else(|| panic!("no frames figure in\n{capture}"));
    assert!(n > 0, "frames 0 after traffic:\n{capture}");

    if std::env::var_os("ALEXA_UPDATE_DOCS").is_some() {
        std::fs::write(
            concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/top-80x24.txt"),
            &capture,
        )
        .unwrap();
    }

    // q quits.
    let _ = tmux.cmd().args(["send-keys", "q"]).status();
    assert!(
        wait_for(Duration::from_secs(3), || !tmux
            .cmd()
            .args(["has-session"])
            .output()
            .is_ok_and(|o| o.status.success())),
        "alexa top did not quit on q"
    );
    agent.stop();
    drop(tmux);
}

#[test]
fn frames_figure_parses() {
    assert_eq!(frames(" alexa  gw0  frames 1234 \n"), Some(1234));
    assert_eq!(frames("frames 123.5k"), Some(123_500));
    assert_eq!(frames("frames 2.0M "), Some(2_000_000));
    assert_eq!(frames("no figure"), None);
}
