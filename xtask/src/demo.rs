//! `cargo xtask demo`: the whole product on one machine, no Echo and no
//! gateway needed. Sets the machine up, builds, and runs the `demo` binary
//! of `alexa-lab` (the testbed, the agent, the replayed sessions, the
//! summary and the teardown live there, shared with the end-to-end tests):
//! a simulated day with the simulator's model, then a real Echo's voice
//! commands with the shipped model, microphone on and muted.
//! See docs/demo.md.

use std::{process::Command, time::Instant};

use anyhow::{bail, Context as _, Result};

use crate::{setup, util::show};

/// The real Echo's capture replayed after the simulated day, microphone on
/// then muted (vendored, MIT: tests/fixtures/voice-commands/NOTICE.md).
const REAL_CAPTURE: &str = "tests/fixtures/voice-commands/set_volume_to_five_5_30s.pcap";

pub fn run(args: &[String]) -> Result<()> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        bail!("the demo needs root (network namespaces, XDP): run `sudo cargo xtask demo`");
    }
    setup::run(false)?;
    crate::util::build_release_with_driver("demo")?;
    let mut cmd = Command::new("target/release/demo");
    cmd.args(["--alexa", "target/release/alexa"])
        .args(["--model", "models/sim.json"])
        .args(["--out", "target/demo"])
        .args(["--real", REAL_CAPTURE])
        .args(["--real-model", "models/echo.json"])
        .args(args);
    eprintln!("xtask: running {}", show(&cmd));
    let started = Instant::now();
    let mut child = cmd.spawn().context("cannot start the demo")?;
    // Ctrl-C reaches the demo as well (same process group): it stops, tears
    // everything down and exits. xtask must outlive it to report, not die first.
    // SAFETY: ignoring SIGINT in this process only; the child was spawned before.
    let previous = unsafe { libc::signal(libc::SIGINT, libc::SIG_IGN) };
    let status = child.wait();
    // SAFETY: restores the disposition saved above.
    unsafe { libc::signal(libc::SIGINT, previous) };
    let status = status.context("waiting for the demo")?;
    let secs = started.elapsed().as_secs_f64();
    match status.code() {
        Some(0) => {
            eprintln!("xtask demo: done in {secs:.0} s");
            Ok(())
        }
        Some(130) => bail!("the demo was interrupted after {secs:.0} s (and cleaned up)"),
        _ => bail!("the demo failed after {secs:.0} s ({status})"),
    }
}
