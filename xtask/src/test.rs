//! `cargo xtask test`: the module-structure lint (`cargo xtask lint`),
//! unit tests, the offline oracle tests, the privileged tests (real XDP in
//! real namespaces), which run one at a time because they share the
//! kernel, the release artefacts (`dist`: built, the aarch64 one run under
//! qemu-user, the x86_64 one in live end-to-end tests), and then a short
//! run of every fuzz target.

use std::{path::Path, process::Command};

use anyhow::{bail, Context as _, Result};

use crate::{
    dist, fuzz,
    util::{cargo, exec, show},
};

/// The integration tests that need no root and no kernel (one binary per
/// file of tests/tests/): they run in parallel. Every other file there is
/// privileged (veths, namespaces, XDP attached, BPF_PROG_TEST_RUN) and runs
/// one test at a time, because they share the kernel. A unit test below
/// checks that every file is named here or is privileged, and that none of
/// these asks for privileges.
pub const OFFLINE_TESTS: &[&str] = &[
    "bad_input",
    "fixtures_valid",
    "objects",
    "pcapng_reader",
    "python_reference",
    "tshark_oracle",
];

/// Every integration-test binary of tests/tests/ not in [`OFFLINE_TESTS`].
fn privileged_tests() -> Result<Vec<String>> {
    let dir = crate::dist::repo_root().join("tests/tests");
    let mut names = Vec::new();
    for e in std::fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let path = e?.path();
        if path.extension().is_some_and(|x| x == "rs") {
            let name = path
                .file_stem()
                .and_then(|s| s.to_str())
                .with_context(|| format!("{}: not UTF-8", path.display()))?
                .to_owned();
            if !OFFLINE_TESTS.contains(&name.as_str()) {
                names.push(name);
            }
        }
    }
    names.sort();
    Ok(names)
}

/// `--test NAME` for each name.
fn test_args<S: AsRef<str>>(names: &[S]) -> Vec<String> {
    names
        .iter()
        .flat_map(|n| ["--test".to_owned(), n.as_ref().to_owned()])
        .collect()
}

pub fn run(args: &[String]) -> Result<()> {
    // First: it takes a second, and a broken layering is cheaper to hear
    // about before the long tests.
    crate::lint::run(crate::lint::Options::default())?;
    exec(
        cargo()
            .args([
                "test",
                "--workspace",
                "--exclude",
                "alexa-ebpf",
                "--exclude",
                "alexa-lab-ebpf",
                "--exclude",
                "alexa-tests",
                "--",
            ])
            .args(args),
    )?;
    exec(
        cargo()
            .args(["test", "--package", "alexa-tests", "--lib"])
            .args(test_args(OFFLINE_TESTS))
            .arg("--")
            .args(args),
    )?;
    exec(
        cargo()
            .args(["test", "--package", "alexa-tests"])
            .args(test_args(&privileged_tests()?))
            .args(["--", "--test-threads=1"])
            .args(args),
    )?;
    if !args.is_empty() {
        // A filter means iterating on some tests; the fuzz smoke run is for the full suite.
        eprintln!(
            "xtask test: test filter given, release artefacts and fuzz targets not checked \
             (`cargo xtask dist`, `cargo xtask fuzz`)"
        );
        return Ok(());
    }
    release_artefacts()?;
    fuzz::run(None, FUZZ_SMOKE_SECONDS).map(|_| ())
}

/// Per fuzz target in the full test run: enough to replay the seeds and
/// catch a regression on the paths they lead to; long runs are `cargo xtask fuzz`.
const FUZZ_SMOKE_SECONDS: u64 = 15;

/// Commands of the gateway binary, and the lab commands it must not have.
const GATEWAY_COMMANDS: &[&str] = &[
    "run", "detach", "config", "mic", "model", "policy", "extract", "classify", "safety", "label",
    "top", "status",
];
const LAB_COMMANDS: &[&str] = &[
    "train", "crossval", "evaluate", "simulate", "prepare", "report",
];

/// The live tests the x86_64 release binary runs (ALEXA_BIN): XDP attached
/// to a veth, real TCP/TLS/UDP, every packet's verdict line; enforce mode
/// dropping what the policy says and passing the rest.
const LIVE_TESTS: &[&str] = &[
    "installed_into_a_root_it_enforces",
    "run_logs_live_device_traffic",
    "enforce_drops_by_policy_monitor_drops_nothing_and_evidence_and_metrics_agree",
];

/// The gateway build without the lab tools stays warning-free, the static
/// binaries build, the aarch64 one starts under qemu-user, and the x86_64
/// one passes live end-to-end tests.
pub fn release_artefacts() -> Result<()> {
    dist::run(false)?;
    exec(
        cargo()
            .args([
                "clippy",
                "--package",
                "alexa-user",
                "--no-default-features",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ])
            // The object dist built: no third eBPF build for this check.
            .env("ALEXA_EBPF_OBJECT", dist::shared_object()),
    )?;
    // The gateway build's own tests (its --version, the embedded model, the
    // CLI errors of the commands it keeps).
    exec(
        cargo()
            .args(["test", "--package", "alexa-user", "--no-default-features"])
            .env("ALEXA_EBPF_OBJECT", dist::shared_object()),
    )?;
    let aarch64 = dist::binary("aarch64-unknown-linux-musl");
    let qemu = |args: &[&str]| -> Result<String> {
        let mut cmd = Command::new("qemu-aarch64-static");
        cmd.arg(&aarch64).args(args);
        run_ok(&mut cmd)
    };
    check_version(&qemu(&["--version"])?)?;
    check_help(&qemu(&["--help"])?)?;
    aarch64_config_check(&aarch64)?;
    eprintln!("xtask test: {} runs under qemu-user", aarch64.display());

    let x86_64 = dist::binary("x86_64-unknown-linux-musl");
    check_version(&run_ok(Command::new(&x86_64).arg("--version"))?)?;
    check_help(&run_ok(Command::new(&x86_64).arg("--help"))?)?;
    exec(
        cargo()
            .args([
                "test",
                "--package",
                "alexa-tests",
                "--test",
                "agent_live",
                "--test",
                "agent_enforce",
                "--test",
                "install",
                "--",
                "--test-threads=1",
                "--exact",
            ])
            .args(LIVE_TESTS)
            .env("ALEXA_BIN", &x86_64),
    )
}

/// The aarch64 binary validates a config file under qemu-user: a good one
/// is described, a bad one is refused with its line and column.
fn aarch64_config_check(aarch64: &Path) -> Result<()> {
    let dir = std::env::temp_dir().join(format!("alexa-qemu-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let good = dir.join("good.toml");
    std::fs::write(
        &good,
        "interface = \"br-lan\"\nmode = \"enforce\"\n[devices]\nkitchen = \"08:7c:39:96:8a:8c\"\n",
    )?;
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "interface = \"br-lan\"\nmode = \"enfrce\"\n")?;
    let qemu = |file: &Path| {
        Command::new("qemu-aarch64-static")
            .arg(aarch64)
            .args(["config", "check", "--config"])
            .arg(file)
            .output()
    };
    let ok = qemu(&good)?;
    let said = String::from_utf8_lossy(&ok.stdout);
    if !ok.status.success()
        || !said
            .contains("ok: interface br-lan, 1 device (kitchen=08:7c:39:96:8a:8c), enforce mode")
    {
        bail!(
            "aarch64 `alexa config check` on a good file: {said}{}",
            String::from_utf8_lossy(&ok.stderr)
        );
    }
    let refused = qemu(&bad)?;
    let err = String::from_utf8_lossy(&refused.stderr);
    if refused.status.success()
        || !err.contains(&format!("{}:2:8: unknown variant `enfrce`", bad.display()))
    {
        bail!("aarch64 `alexa config check` on a bad file: {err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn run_ok(cmd: &mut Command) -> Result<String> {
    let out = cmd
        .output()
        .with_context(|| format!("cannot start {}", show(cmd)))?;
    if !out.status.success() {
        bail!(
            "{} failed ({}): {}",
            show(cmd),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `alexa 0.1.0 (commit 0123456789ab, feature contract v2, gateway build)`.
fn check_version(v: &str) -> Result<()> {
    let want_prefix = format!("alexa {} (commit ", env!("CARGO_PKG_VERSION"));
    if !(v.starts_with(&want_prefix)
        && v.contains(", feature contract v")
        && v.trim_end().ends_with(", gateway build)"))
    {
        bail!("alexa --version printed {v:?}");
    }
    Ok(())
}

fn check_help(help: &str) -> Result<()> {
    let commands: Vec<&str> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let absent: Vec<&&str> = GATEWAY_COMMANDS
        .iter()
        .filter(|c| !commands.contains(c))
        .collect();
    let lab: Vec<&&str> = LAB_COMMANDS
        .iter()
        .filter(|c| commands.contains(c))
        .collect();
    if !absent.is_empty() || !lab.is_empty() {
        bail!(
            "alexa --help of the gateway binary: missing {absent:?}, lab commands present {lab:?}:\n{help}"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The split is explicit: every offline binary exists and never asks
    /// for privileges; every other one is run serialized.
    #[test]
    fn offline_tests_exist_and_ask_for_no_privileges() {
        let dir = crate::dist::repo_root().join("tests/tests");
        for name in OFFLINE_TESTS {
            let path = dir.join(format!("{name}.rs"));
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(
                !text.contains("privileged()"),
                "{} asks for privileges: list it as privileged (remove it from OFFLINE_TESTS)",
                path.display()
            );
        }
        let privileged = privileged_tests().unwrap();
        assert!(privileged.iter().any(|n| n == "parity"), "{privileged:?}");
        assert!(privileged
            .iter()
            .all(|n| !OFFLINE_TESTS.contains(&n.as_str())));
    }

    #[test]
    fn help_and_version_checks_tell_gateway_from_full() {
        let gateway = "Usage: alexa <COMMAND>\n\nCommands:\n  run  Run\n  detach  x\n  config  x\n  mic  x\n  \
            model  x\n  policy  x\n  extract  x\n  classify  x\n  safety  x\n  label  x\n  top  x\n  \
            status  x\n  help  x\n\nOptions:\n  -h, --help\n";
        check_help(gateway).unwrap();
        let full = gateway.replace("  help  x", "  train  x\n  help  x");
        assert!(format!("{:#}", check_help(&full).unwrap_err()).contains("[\"train\"]"));
        let without_run = gateway.replace("  run  Run\n", "");
        assert!(
            format!("{:#}", check_help(&without_run).unwrap_err()).contains("missing [\"run\"]")
        );

        let v = format!(
            "alexa {} (commit 0123456789ab-dirty, feature contract v2, gateway build)\n",
            env!("CARGO_PKG_VERSION")
        );
        check_version(&v).unwrap();
        check_version(&v.replace("gateway build", "full build")).unwrap_err();
        check_version("alexa 0.1.0\n").unwrap_err();
    }
}
