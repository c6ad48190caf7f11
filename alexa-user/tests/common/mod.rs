//! The real Echo data recorded by others (`../shared/data/real`, see its
//! README), beside the repository, never in it. In CI (`CI` set) a test
//! that needs it fails when it is missing; elsewhere it skips, saying so.

#![allow(dead_code, reason = "each test file uses part of it")]

use std::path::{Path, PathBuf};

/// The voice-command captures' Echo.
pub const VOICE_ECHO_MAC: &str = "c4:95:00:e3:93:2f";

/// `../shared/data/real`, or `$ALEXA_REAL_DATA`; `None` (skip) when it is
/// missing outside CI.
pub fn real_data() -> Option<PathBuf> {
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

/// The published dataset's 13 files, sorted (`context/NN.csv`).
pub fn published_files(real: &Path) -> Vec<PathBuf> {
    let root = real.join("paper-dataset");
    let mut out = Vec::new();
    for ctx in std::fs::read_dir(&root).unwrap_or_else(|e| panic!("{}: {e}", root.display())) {
        let ctx = ctx.unwrap().path();
        if !ctx.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&ctx).unwrap() {
            let f = f.unwrap().path();
            if f.extension().is_some_and(|x| x == "csv") {
                out.push(f);
            }
        }
    }
    out.sort();
    assert_eq!(out.len(), 13, "{}: expected 13 files", root.display());
    out
}

/// A fresh scratch directory, removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Self {
        let d = std::env::temp_dir().join(format!("alexa-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Scratch(d)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs the `alexa` binary; (success, stdout, stderr).
pub fn alexa(args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_alexa"))
        .args(args)
        .output()
        .expect("run alexa");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `alexa` and insists it succeeds; (stdout, stderr).
pub fn alexa_ok(args: &[&str]) -> (String, String) {
    let (ok, out, err) = alexa(args);
    assert!(ok, "alexa {args:?} failed: {err}");
    (out, err)
}
