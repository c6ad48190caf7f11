//! `cargo xtask train-model`: reproduces the shipped models and writes
//! their figures into `models/README.md`.
//!
//! - `models/echo.json`, the default: trained on the authors' published
//!   dataset (`../shared/data/real/paper-dataset`), each recording once,
//!   judged leave-one-recording-out and by the safety checks on the 55 real
//!   voice-command captures of another Echo (`alexa safety`).
//! - `models/sim.json`: trained on the simulator (seed 1, held out: seed 2),
//!   for the simulated day of the demo and the tests that replay it.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{bail, Context as _, Result};

use crate::util::{build, exec};

/// The shipped model's recipe, judged by the checks below (models/README.md).
const DEPTH: &str = "8";
const FEATURES: &str = "paper";
/// The voice-command captures' Echo.
const VOICE_ECHO_MAC: &str = "c4:95:00:e3:93:2f";

fn alexa() -> PathBuf {
    PathBuf::from("target/release/alexa")
}

fn run_alexa(args: &[&str]) -> Result<()> {
    exec(Command::new(alexa()).args(args))
}

/// An `alexa` command's standard output (its figures), failing on failure
/// unless `may_fail` (`alexa safety` exits 1 when a target is missed, and
/// the report says so).
fn alexa_output(args: &[String], may_fail: bool) -> Result<String> {
    let mut cmd = Command::new(alexa());
    cmd.args(args);
    eprintln!("xtask: running {}", crate::util::show(&cmd));
    let out = cmd.output().context("cannot run alexa")?;
    if !out.status.success() && !may_fail {
        bail!(
            "{} failed: {}",
            crate::util::show(&cmd),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn s(p: &Path) -> Result<String> {
    p.to_str().map(str::to_owned).context("non-UTF-8 path")
}

/// `../shared/data/real` (or `$ALEXA_REAL_DATA`).
fn real_data() -> Result<PathBuf> {
    let dir = std::env::var_os("ALEXA_REAL_DATA")
        .map_or_else(|| PathBuf::from("../shared/data/real"), PathBuf::from);
    if !dir.join("README.md").is_file() {
        bail!(
            "no real data at {} (the shared folder beside the repository; or set ALEXA_REAL_DATA)",
            dir.display()
        );
    }
    Ok(dir)
}

/// The published recordings, each once (byte-identical files are one
/// recording), copied into `out` with the one relabelling documented in
/// models/README.md: a `not_justified` row with the microphone on becomes
/// `justified`. Returns the copies and how many rows were relabelled.
fn published(real: &Path, out: &Path) -> Result<(Vec<PathBuf>, u64)> {
    let root = real.join("paper-dataset");
    let mut files: Vec<PathBuf> = Vec::new();
    for ctx in std::fs::read_dir(&root).with_context(|| format!("{}", root.display()))? {
        let ctx = ctx?.path();
        if ctx.is_dir() {
            for f in std::fs::read_dir(&ctx)? {
                let f = f?.path();
                if f.extension().is_some_and(|e| e == "csv") {
                    files.push(f);
                }
            }
        }
    }
    files.sort();
    std::fs::create_dir_all(out)?;
    let mut seen: BTreeMap<Vec<u8>, PathBuf> = BTreeMap::new();
    let mut copies = Vec::new();
    let mut relabelled = 0;
    for f in files {
        let bytes = std::fs::read(&f).with_context(|| format!("{}", f.display()))?;
        if let Some(first) = seen.get(&bytes) {
            eprintln!(
                "xtask train-model: {} is {} again: one recording",
                f.display(),
                first.display()
            );
            continue;
        }
        seen.insert(bytes.clone(), f.clone());
        let text =
            String::from_utf8(bytes).with_context(|| format!("{}: not UTF-8", f.display()))?;
        let mut lines = text.lines();
        let header = lines.next().context("empty file")?;
        let cols: Vec<&str> = header.split(',').collect();
        let at = |n: &str| cols.iter().position(|c| *c == n).context("no such column");
        let (mic, class) = (at("microphone")?, at("class")?);
        let mut body = format!("{header}\n");
        for line in lines {
            let mut cells: Vec<&str> = line.split(',').collect();
            if cells.get(mic) == Some(&"1") && cells.get(class) == Some(&"not_justified") {
                cells[class] = "justified";
                relabelled += 1;
            }
            body.push_str(&cells.join(","));
            body.push('\n');
        }
        let ctx = f.parent().and_then(Path::file_name).context("path")?;
        let name = format!(
            "{}_{}",
            ctx.to_string_lossy(),
            f.file_name().context("path")?.to_string_lossy()
        );
        let copy = out.join(name);
        std::fs::write(&copy, body)?;
        copies.push(copy);
    }
    Ok((copies, relabelled))
}

/// simulate → extract (with labels) → prepare, for one seed.
fn simulated(work: &Path, seed: u32) -> Result<(PathBuf, PathBuf)> {
    let dir = work.join(format!("seed{seed}"));
    let d = s(&dir)?;
    let seed_s = seed.to_string();
    run_alexa(&[
        "simulate",
        "--scenario",
        "all",
        "--seed",
        &seed_s,
        "--out",
        &d,
    ])?;
    let full = dir.join("full.csv");
    let prepared = dir.join("prepared.csv");
    run_alexa(&[
        "extract",
        &format!("{d}/capture.pcap"),
        "--labels",
        &format!("{d}/labels.csv"),
        "-o",
        &s(&full)?,
    ])?;
    run_alexa(&[
        "prepare",
        &s(&full)?,
        "-o",
        &s(&prepared)?,
        "--seed",
        &seed_s,
    ])?;
    Ok((full, prepared))
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

pub fn run() -> Result<()> {
    let real = real_data()?;
    build(true)?;
    let work = PathBuf::from("target/train-model");
    if work.exists() {
        std::fs::remove_dir_all(&work)?;
    }
    let mut sections: Vec<(String, String)> = Vec::new();

    // The shipped model: the published recordings, prepared as the paper
    // prepares them (5% of acks), the paper's seven features, depth 8.
    let (recordings, relabelled) = published(&real, &work.join("published"))?;
    let prepared_dir = work.join("prepared");
    std::fs::create_dir_all(&prepared_dir)?;
    let mut prepared = Vec::new();
    for r in &recordings {
        let p = prepared_dir.join(r.file_name().context("path")?);
        run_alexa(&["prepare", &s(r)?, "-o", &s(&p)?, "--seed", "1"])?;
        prepared.push(s(&p)?);
    }
    let shipped = PathBuf::from("models/echo.json");
    let mut train = strings(&["train"]);
    train.extend(prepared.iter().cloned());
    train.extend(strings(&[
        "--features",
        FEATURES,
        "--max-depth",
        DEPTH,
        "-o",
        &s(&shipped)?,
    ]));
    alexa_output(&train, false)?;
    eprintln!(
        "xtask train-model: {} recordings, {relabelled} not_justified rows with the microphone on relabelled justified",
        recordings.len()
    );

    let rec: Vec<String> = recordings.iter().map(|r| s(r)).collect::<Result<_>>()?;
    let captures: Vec<String> = {
        let dir = real.join("echo-voice-commands");
        let mut v: Vec<String> = std::fs::read_dir(&dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "pcap"))
            .map(|p| s(&p))
            .collect::<Result<_>>()?;
        v.sort();
        v
    };
    let safety = |model: &Path| -> Result<String> {
        let mut args = strings(&["safety", "--model", &s(model)?, "--device", VOICE_ECHO_MAC]);
        args.extend(captures.iter().cloned());
        let out = alexa_output(&args, true)?;
        Ok(out
            .lines()
            .find(|l| l.starts_with("total"))
            .unwrap_or("(no total line)")
            .to_owned())
    };
    // Leave one recording out, and the safety checks, for the shipped recipe
    // and for a deeper tree (the ablation).
    for (depth, what) in [(DEPTH, "shipped recipe"), ("20", "ablation: depth 20")] {
        let mut cv = strings(&["crossval"]);
        cv.extend(rec.iter().cloned());
        cv.extend(strings(&["--features", FEATURES, "--max-depth", depth]));
        let table = alexa_output(&cv, false)?;
        let model = if depth == DEPTH {
            shipped.clone()
        } else {
            let m = work.join(format!("depth{depth}.json"));
            let mut t = strings(&["train"]);
            t.extend(prepared.iter().cloned());
            t.extend(strings(&[
                "--features",
                FEATURES,
                "--max-depth",
                depth,
                "-o",
                &s(&m)?,
            ]));
            alexa_output(&t, false)?;
            m
        };
        sections.push((
            format!(
                "Leave one recording out, {what} (paper's features, depth {depth}; tested on every row)"
            ),
            table,
        ));
        sections.push((
            format!("Safety on the 55 voice-command captures, {what} (`alexa safety`)"),
            safety(&model)?,
        ));
    }

    // The simulator's model, for the simulated day of the demo.
    let sim = work.join("sim");
    let (_, train_prepared) = simulated(&sim, 1)?;
    let (test_full, test_prepared) = simulated(&sim, 2)?;
    let sim_model = PathBuf::from("models/sim.json");
    run_alexa(&["train", &s(&train_prepared)?, "-o", &s(&sim_model)?])?;
    for (what, data) in [("prepared", &test_prepared), ("full", &test_full)] {
        sections.push((
            format!("`sim.json` on the simulator's seed 2, {what}"),
            alexa_output(&strings(&["evaluate", &s(&sim_model)?, &s(data)?]), false)?,
        ));
    }

    let readme = Path::new("models/README.md");
    let text = std::fs::read_to_string(readme).context("models/README.md")?;
    let head = text
        .split("\n## Figures")
        .next()
        .unwrap_or(&text)
        .trim_end();
    let mut out = format!(
        "{head}\n\n## Figures\n\nProduced by `cargo xtask train-model` ({relabelled} rows relabelled).\n"
    );
    for (title, body) in sections {
        out.push_str(&format!("\n### {title}\n\n```\n{}\n```\n", body.trim_end()));
    }
    std::fs::write(readme, out).context("cannot write models/README.md")?;
    eprintln!("xtask train-model: wrote models/echo.json, models/sim.json and models/README.md");
    Ok(())
}
