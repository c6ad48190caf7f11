//! `cargo xtask fuzz [TARGET] [--seconds N]`: the cargo-fuzz targets in
//! `fuzz/`, each for N seconds with memory bounded. libFuzzer grows its
//! working corpus under `target/fuzz/corpus/<target>` and writes crash
//! inputs to `target/fuzz/artifacts/<target>/`; the committed seeds in
//! `fuzz/corpus/<target>` are only read, so a run never dirties the tree.

use std::{
    io::{BufRead as _, BufReader},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Instant,
};

use anyhow::{bail, Context as _, Result};

use crate::util::show;

pub const TARGETS: &[&str] = &["parse", "capture", "model", "csv"];
/// Any one input may make the process this big...
pub const RSS_LIMIT_MB: u32 = 512;
/// ...and no single allocation may ask for more than this: the readers
/// promise bounded memory whatever a file claims.
pub const MALLOC_LIMIT_MB: u32 = 256;
/// Seconds per input before libFuzzer calls it a hang.
const TIMEOUT_S: u32 = 10;

/// What one run did, from libFuzzer's final statistics.
#[derive(Debug, Default)]
pub struct Stats {
    pub runs: u64,
    pub seconds: f64,
    pub corpus: u64,
    pub peak_rss_mb: u64,
}

pub fn run(target: Option<&str>, seconds: u64) -> Result<Vec<(String, Stats)>> {
    let targets: Vec<&str> = match target {
        None => TARGETS.to_vec(),
        Some(t) if TARGETS.contains(&t) => vec![t],
        Some(t) => bail!(
            "no fuzz target `{t}`; the targets are {}",
            TARGETS.join(", ")
        ),
    };
    seed_lock_file()?;
    let mut all = Vec::new();
    for t in targets {
        let stats = run_one(t, seconds)?;
        eprintln!(
            "xtask fuzz: {t}: {} runs in {:.0} s ({:.0}/s), corpus {} inputs, peak RSS {} MB, no crash",
            stats.runs,
            stats.seconds,
            stats.runs as f64 / stats.seconds.max(1.0),
            stats.corpus,
            stats.peak_rss_mb
        );
        all.push((t.to_owned(), stats));
    }
    Ok(all)
}

/// The fuzz crate is outside the workspace and so has its own lock file;
/// started from the workspace's, it builds the same dependency versions
/// (cargo adds only libfuzzer-sys and what it needs).
fn seed_lock_file() -> Result<()> {
    let lock = Path::new("fuzz/Cargo.lock");
    if !lock.exists() {
        std::fs::copy("Cargo.lock", lock).context("cannot copy Cargo.lock to fuzz/Cargo.lock")?;
    }
    Ok(())
}

fn run_one(target: &str, seconds: u64) -> Result<Stats> {
    let work = PathBuf::from("target/fuzz/corpus").join(target);
    let artifacts = PathBuf::from("target/fuzz/artifacts").join(target);
    for d in [&work, &artifacts] {
        std::fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
    }
    let mut cmd = Command::new("rustup");
    cmd.args([
        "run",
        "nightly",
        "cargo",
        "fuzz",
        "run",
        "--fuzz-dir",
        "fuzz",
        target,
    ])
    .arg(&work)
    .arg(format!("fuzz/corpus/{target}"))
    .arg("--")
    .arg(format!("-max_total_time={seconds}"))
    .arg(format!("-rss_limit_mb={RSS_LIMIT_MB}"))
    .arg(format!("-malloc_limit_mb={MALLOC_LIMIT_MB}"))
    .arg(format!("-timeout={TIMEOUT_S}"))
    .arg(format!("-artifact_prefix={}/", artifacts.display()))
    .arg("-print_final_stats=1");
    // This process runs under the stable toolchain's cargo; its settings
    // must not reach the nightly build cargo-fuzz makes.
    for var in ["CARGO", "RUSTC", "RUSTDOC", "RUSTUP_TOOLCHAIN", "RUSTFLAGS"] {
        cmd.env_remove(var);
    }
    eprintln!("xtask: running {} (for {seconds} s)", show(&cmd));
    let start = Instant::now();
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {}", show(&cmd)))?;
    // libFuzzer reports every new input; keep it all and show it only when
    // something went wrong.
    let mut log = Vec::new();
    let mut stats = Stats::default();
    for line in BufReader::new(child.stderr.take().context("no stderr")?).lines() {
        let line = line.unwrap_or_default();
        if let Some(v) = stat(&line, "stat::number_of_executed_units:") {
            stats.runs = v;
        } else if let Some(v) = stat(&line, "stat::peak_rss_mb:") {
            stats.peak_rss_mb = v;
        } else if let Some(rest) = line.strip_prefix("Done ") {
            // "Done 12345 runs in 15 second(s)": the fuzzing time, without the build.
            let words: Vec<&str> = rest.split_whitespace().collect();
            if let [runs, "runs", "in", secs, ..] = words[..] {
                stats.runs = runs.parse().unwrap_or(stats.runs);
                stats.seconds = secs.parse().unwrap_or(0.0);
            }
        } else if let Some(rest) = line.strip_prefix('#') {
            if let Some(c) = rest.split("corp: ").nth(1) {
                stats.corpus = c
                    .split('/')
                    .next()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(stats.corpus);
            }
        }
        log.push(line);
    }
    let status = child.wait()?;
    if stats.seconds == 0.0 {
        stats.seconds = start.elapsed().as_secs_f64();
    }
    if !status.success() {
        let tail = log.len().saturating_sub(80);
        eprintln!("{}", log[tail..].join("\n"));
        bail!(
            "fuzz target `{target}` failed ({status}); the input is in {}",
            artifacts.display()
        );
    }
    Ok(stats)
}

fn stat(line: &str, key: &str) -> Option<u64> {
    line.strip_prefix(key)?.trim().parse().ok()
}
