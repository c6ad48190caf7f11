//! `cargo xtask train-model`: reproduces `models/echo.json` from the
//! simulator and writes its held-out metrics into `models/README.md`.
//!
//! Train on `simulate --seed 1`, evaluate on `simulate --seed 2` (the
//! prepared dataset, and the full one the kernel really sees), for the
//! extended feature set (shipped) and the paper's set (for comparison).

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context as _, Result};

use crate::util::{build, exec};

fn alexa() -> PathBuf {
    PathBuf::from("target/release/alexa")
}

fn run_alexa(args: &[&str]) -> Result<()> {
    exec(Command::new(alexa()).args(args))
}

/// `alexa evaluate` output, for the README.
fn evaluate(model: &Path, dataset: &Path) -> Result<String> {
    let mut cmd = Command::new(alexa());
    cmd.arg("evaluate").arg(model).arg(dataset);
    eprintln!("xtask: running {}", crate::util::show(&cmd));
    let out = cmd.output().context("cannot run alexa evaluate")?;
    anyhow::ensure!(
        out.status.success(),
        "alexa evaluate failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// simulate → extract (with labels) → prepare, for one seed.
fn dataset(work: &Path, seed: u32) -> Result<(PathBuf, PathBuf)> {
    let dir = work.join(format!("seed{seed}"));
    let d = dir.to_str().context("non-UTF-8 path")?;
    let seed_s = seed.to_string();
    run_alexa(&[
        "simulate",
        "--scenario",
        "all",
        "--seed",
        &seed_s,
        "--out",
        d,
    ])?;
    let full = dir.join("full.csv");
    let prepared = dir.join("prepared.csv");
    run_alexa(&[
        "extract",
        &format!("{d}/capture.pcap"),
        "--labels",
        &format!("{d}/labels.csv"),
        "-o",
        full.to_str().context("path")?,
    ])?;
    run_alexa(&[
        "prepare",
        full.to_str().context("path")?,
        "-o",
        prepared.to_str().context("path")?,
        "--seed",
        &seed_s,
    ])?;
    Ok((full, prepared))
}

pub fn run() -> Result<()> {
    build(true)?;
    let work = PathBuf::from("target/train-model");
    std::fs::create_dir_all(&work)?;
    let (_, train_prepared) = dataset(&work, 1)?;
    let (test_full, test_prepared) = dataset(&work, 2)?;
    let shipped = PathBuf::from("models/echo.json");
    let paper = work.join("paper.json");
    let tp = train_prepared.to_str().context("path")?;
    run_alexa(&["train", tp, "-o", shipped.to_str().context("path")?])?;
    run_alexa(&[
        "train",
        tp,
        "--features",
        "paper",
        "-o",
        paper.to_str().context("path")?,
    ])?;

    let sections = [
        ("Extended features (shipped `echo.json`), seed 2 prepared", evaluate(&shipped, &test_prepared)?),
        ("Extended features (shipped `echo.json`), seed 2 full (every ack, as the kernel sees it)", evaluate(&shipped, &test_full)?),
        ("Paper's features only, seed 2 prepared", evaluate(&paper, &test_prepared)?),
        ("Paper's features only, seed 2 full", evaluate(&paper, &test_full)?),
    ];
    let readme = Path::new("models/README.md");
    let text = std::fs::read_to_string(readme).context("models/README.md")?;
    let head = text
        .split("\n## Metrics")
        .next()
        .unwrap_or(&text)
        .trim_end();
    let mut out = format!("{head}\n\n## Metrics\n\nProduced by `cargo xtask train-model` (output of `alexa evaluate`).\n");
    for (title, body) in sections {
        out.push_str(&format!("\n### {title}\n\n```\n{}\n```\n", body.trim_end()));
    }
    std::fs::write(readme, out).context("cannot write models/README.md")?;
    eprintln!("xtask train-model: wrote models/echo.json and its metrics in models/README.md");
    Ok(())
}
