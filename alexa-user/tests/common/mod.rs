//! The real Echo data recorded by others (`../shared/data/real`, see its
//! README), beside the repository, never in it. In CI (`CI` set) a test
//! that needs it fails when it is missing; elsewhere it skips, saying so.

#![allow(dead_code, reason = "each test file uses part of it")]

use std::path::{Path, PathBuf};

#[path = "../../../alexa-lab/src/real.rs"]
mod real;
#[allow(unused_imports, reason = "each test file uses part of it")]
pub use real::{data_dir as real_data, voice_captures, VOICE_ECHO_MAC};

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
