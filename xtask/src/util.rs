use std::process::Command;

use anyhow::{bail, Context as _, Result};

/// Runs `cmd`, echoing it first; fails naming the command.
pub fn exec(cmd: &mut Command) -> Result<()> {
    eprintln!("xtask: running {}", show(cmd));
    let status = cmd
        .status()
        .with_context(|| format!("cannot start {}", show(cmd)))?;
    if !status.success() {
        bail!("{} failed ({status})", show(cmd));
    }
    Ok(())
}

/// Runs `cmd` quietly and returns its stdout, or `None` if it cannot run or fails.
pub fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

pub fn show(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

pub fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

pub fn build(release: bool) -> Result<()> {
    let mut cmd = cargo();
    cmd.args(["build", "--package", "alexa-user"]);
    if release {
        cmd.arg("--release");
    }
    exec(&mut cmd)
}

/// `cargo build --release` of the `alexa` binary, as deploy installs it.
pub fn release_build() -> Command {
    let mut cmd = cargo();
    cmd.args([
        "build",
        "--release",
        "--package",
        "alexa-user",
        "--bin",
        "alexa",
    ]);
    cmd
}

/// Builds, in release mode, the `alexa` binary and one driver binary of
/// alexa-lab (the bench, the demo), which run the agent as users do.
pub fn build_release_with_driver(driver: &str) -> Result<()> {
    exec(release_build().args(["--package", "alexa-lab", "--bin", driver]))
}
