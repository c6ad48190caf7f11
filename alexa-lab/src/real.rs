//! The real Echo traffic recorded by others (`../shared/data/real`, see its
//! README): the published labelled dataset and the voice-command captures.
//! Kept beside the repository, never in it (licences); CI has it.
//!
//! Std only: `alexa-user`'s integration tests include this same file
//! (`#[path]`), so every test finds the data, and fails without it in CI,
//! the same way.

use std::path::PathBuf;

/// The voice-command captures' Echo.
pub const VOICE_ECHO_IP: &str = "10.63.7.79";
pub const VOICE_ECHO_MAC: &str = "c4:95:00:e3:93:2f";
/// How many voice-command captures the shared folder holds.
pub const VOICE_CAPTURES: usize = 55;

/// `../shared/data/real`, or `$ALEXA_REAL_DATA`. Missing: in CI (`CI` set)
/// the calling test fails; elsewhere it skips, saying so (`None`).
pub fn data_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("ALEXA_REAL_DATA").map_or_else(
        || {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../shared/data/real"
            ))
        },
        PathBuf::from,
    );
    if dir.join("README.md").is_file() {
        return Some(dir);
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "the shared real data is missing at {} (CI must have it; or set ALEXA_REAL_DATA)",
            dir.display()
        );
    }
    eprintln!(
        "SKIPPED: no shared real data at {} (set ALEXA_REAL_DATA)",
        dir.display()
    );
    None
}

/// The voice-command captures' folder.
pub fn voice_dir() -> Option<PathBuf> {
    data_dir().map(|d| d.join("echo-voice-commands"))
}

/// Every voice-command capture, sorted by name (all 55, or the test fails).
pub fn voice_captures() -> Option<Vec<PathBuf>> {
    let dir = voice_dir()?;
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
        .collect();
    out.sort();
    assert_eq!(
        out.len(),
        VOICE_CAPTURES,
        "{}: expected {VOICE_CAPTURES} captures",
        dir.display()
    );
    Some(out)
}
