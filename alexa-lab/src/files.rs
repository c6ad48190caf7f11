//! The files the lab works with, found from this crate's place in the
//! repository: the models, the Python scripts, the reference XDP object.

/// The shipped model, `models/echo.json` (trained on real traffic).
pub const SHIPPED_MODEL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../models/echo.json");
/// The simulator's model, `models/sim.json`, for replays of simulated sessions.
pub const SIM_MODEL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../models/sim.json");
/// A script of tests/python (the Python side of the offline comparisons,
/// and the helpers tests and the lab run in namespaces), by file name.
pub fn python(script: &str) -> std::path::PathBuf {
    std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/python")).join(script)
}

/// The reference XDP programs (`alexa_bare`, `alexa_parse`, `alexa_sink`:
/// alexa-lab-ebpf), built by build.rs; empty under `AYA_BUILD_SKIP`. Not in
/// the classifier's object: the gateway ships only the classifier.
pub static LAB_OBJECT: &[u8] =
    aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/alexa-lab-programs"));
