//! Helpers for the privileged tests: network namespaces and veths the test
//! creates and removes, and the rule on when such a test may skip.

pub mod agent;
pub mod bench;
pub mod blast;
pub mod netns;
pub mod parity;
pub mod session;
pub mod synth;
pub mod testbed;
pub mod traffic;
pub mod trees;
pub mod wire;

/// The shipped model, `models/echo.json` (trained on real traffic).
pub const SHIPPED_MODEL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../models/echo.json");
/// The simulator's model, `models/sim.json`, for replays of simulated sessions.
pub const SIM_MODEL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../models/sim.json");

/// True when privileged tests can run. Outside CI without root they skip
/// (saying so); in CI (`CI` set) they must run, so this panics instead.
pub fn privileged() -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        if std::env::var_os("CI").is_some() {
            panic!("privileged test cannot run: not root, and CI requires it");
        }
        eprintln!(
            "SKIPPED: this test needs root (BPF, network namespaces); run `sudo cargo xtask test`"
        );
    }
    root
}
pub mod corpus;
pub mod real;
