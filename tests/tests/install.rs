//! A gateway without Rust: the binary (the static release one when
//! `ALEXA_BIN` names it, as `cargo xtask test` does), installed by
//! `cargo xtask deploy --root` into an empty root directory with its config
//! file and unit, checked by `alexa config check`, and started as the unit
//! starts it, in a namespace: uploads dropped, everything else through.

use std::{collections::HashMap, os::unix::fs::PermissionsExt as _, process::Command};

use alexa_lab::{
    agent::Agent,
    netns::{veth_pair, Netns},
    traffic::{rule_model, segments_script, SegmentSink, BIG, MID, SMALL},
};
use alexa_tests::privileged;

#[test]
fn installed_into_a_root_it_enforces() {
    if !privileged() {
        return;
    }
    let dev = Netns::new("insd");
    let gw = Netns::new("insg");
    veth_pair(
        &dev,
        "idev0",
        &["10.82.0.2/24"],
        &gw,
        "igw0",
        &["10.82.0.1/24"],
    );
    let mac = String::from_utf8_lossy(&dev.exec("cat /sys/class/net/idev0/address").stdout)
        .trim()
        .to_owned();
    let mut agent = Agent::new("install", &gw);
    let root = agent.dir.join("root");
    std::fs::create_dir_all(&root).unwrap();

    // What the owner runs on a build machine: `deploy --root` stages the tree.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .args(["run", "--quiet", "--package", "xtask", "--", "deploy"])
        .arg("--root")
        .arg(&root)
        .arg("--binary")
        .arg(&agent.bin)
        .args(["--iface", "igw0", "--device"])
        .arg(format!("kitchen={mac}"))
        .args(["--mode", "enforce"])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "deploy: {log}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let installed = root.join("usr/local/bin/alexa");
    let config = root.join("etc/alexa/alexa.toml");
    let unit = std::fs::read_to_string(root.join("etc/systemd/system/alexa.service")).unwrap();
    assert_eq!(
        std::fs::read(&installed).unwrap(),
        std::fs::read(&agent.bin).unwrap()
    );
    assert_eq!(
        std::fs::metadata(&installed).unwrap().permissions().mode() & 0o777,
        0o755
    );
    assert!(unit
        .lines()
        .any(|l| l == "ExecStart=/usr/local/bin/alexa run --config /etc/alexa/alexa.toml"));
    assert!(unit.lines().any(|l| l == "Type=notify"));

    // The owner's edit: a model of their own (one the test can predict).
    let model = rule_model(&agent.dir);
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("model = \"builtin\""), "{text}");
    std::fs::write(
        &config,
        text.replace(
            "model = \"builtin\"",
            &format!("model = \"{}\"", model.display()),
        ),
    )
    .unwrap();
    let out = Command::new(&installed)
        .args(["config", "check", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success()
            && said.contains(&format!("kitchen={mac}"))
            && said.contains("enforce mode"),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // As the unit starts it, the root standing for `/`: the installed
    // binary and config; the harness's flags keep pins, socket, log and
    // token in the test's own places.
    agent.bin = installed;
    agent.start("igw0", &["--config", config.to_str().unwrap()]);
    let s = agent.status();
    assert_eq!(s["mode"], "enforce");
    assert_eq!(s["model_path"], model.display().to_string());
    let sink = SegmentSink::start(&gw, &[4444, 5555, 6666], &agent.dir.join("sink.json"));
    for (sport, dport, len) in [(41000, 4444, BIG), (41001, 5555, MID), (41002, 6666, SMALL)] {
        dev.exec(&segments_script(
            None,
            "10.82.0.1",
            sport,
            dport,
            len,
            20,
            2,
        ));
    }
    assert_eq!(
        sink.settled(),
        HashMap::from([(4444, 0), (5555, 20), (6666, 20)]),
        "uploads must be dropped, the rest must pass"
    );
    assert!(agent
        .lines()
        .iter()
        .all(|l| l["device"] == "kitchen" && l["in_iface"] == "igw0"));
    agent.stop();
}
