//! Section 4: the offline tools against what a user would run without them,
//! like for like. `alexa extract` against tshark (contract v2's oracle
//! fields) and against tshark + pandas writing the same dataset columns;
//! the shipped tree in alexa against the same tree written into
//! scikit-learn's `tree_` (predictions checked equal on every row of the
//! published dataset, then batch prediction timed on the same prepared
//! rows); and the whole `alexa classify` against the whole Python pipeline
//! (tests/python/pipeline.py: tshark, pandas, scikit-learn) on the same
//! captures. Every timing is the best of the same number of runs.

mod same_tree;

use same_tree::same_tree;

use std::{
    io::{BufRead as _, BufReader, BufWriter, Write as _},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Instant,
};

use alexa::offline::model::train::row_features;
use anyhow::{bail, Context as _, Result};
use pcap_file::pcap::{PcapReader, PcapWriter};

use super::{say, thousands, verdict, Plan, Table};

const DEVICE: &str = "192.168.137.94";
/// Frames of the simulator's default capture at `--duration-scale 1`
/// (seed 1; 107,616 since its calibration to the published dataset), rounded down.
const FRAMES_AT_SCALE_1: f64 = 105_000.0;
/// The Debian interpreter, whose scikit-learn and pandas `cargo xtask setup`
/// installs (python3-sklearn, python3-pandas): fixed versions per Debian
/// release, unlike whatever a package index serves on the day.
const PYTHON: &str = "/usr/bin/python3";
/// The dataset columns every side writes (features.md), `date` to `synchronized`.
const DATASET_COLUMNS: usize = 10;
/// Times the published rows are repeated for the batch-prediction timing,
/// so that one prediction takes milliseconds, not tens of microseconds.
const TILE: usize = 16;

fn run_ok(cmd: &mut Command) -> Result<Vec<u8>> {
    let out = cmd
        .stderr(Stdio::piped())
        .output()
        .with_context(|| format!("cannot start {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(out.stdout)
}

/// Wall-clock and CPU (user + system, children included: tshark under the
/// Python pipeline) seconds `cmd` takes, each the best of `runs`.
fn timed(runs: usize, mut cmd: impl FnMut() -> Command) -> Result<(f64, f64)> {
    let (mut wall, mut cpu) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..runs {
        let mut c = cmd();
        let err = tempfile_path("stderr");
        c.stdout(Stdio::null()).stderr(std::fs::File::create(&err)?);
        let start = Instant::now();
        let child = c.spawn().with_context(|| format!("cannot start {c:?}"))?;
        let mut status = 0;
        // SAFETY: rusage is plain data; zeroed is valid.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: waits for our own child and fills the two out-parameters.
        let rc = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
        let elapsed = start.elapsed().as_secs_f64();
        let messages = std::fs::read_to_string(&err).unwrap_or_default();
        let _ = std::fs::remove_file(&err);
        if rc < 0 || !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
            bail!("{c:?} failed: {}", messages.trim());
        }
        let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
        wall = wall.min(elapsed);
        cpu = cpu.min(secs(usage.ru_utime) + secs(usage.ru_stime));
    }
    Ok((wall, cpu))
}

fn tempfile_path(what: &str) -> PathBuf {
    std::env::temp_dir().join(format!("alexa-bench-{}-{what}", std::process::id()))
}

/// The simulator's capture cut to exactly `packets` frames.
fn simulated(alexa: &Path, dir: &Path, packets: u64) -> Result<PathBuf> {
    let sim = dir.join("sim");
    let scale = (packets as f64 / FRAMES_AT_SCALE_1 * 1.02).max(1.0);
    say(format!(
        "offline: simulating (duration scale {scale:.2}) for a {packets}-packet capture"
    ));
    run_ok(
        Command::new(alexa)
            .args(["simulate", "--scenario", "all", "--seed", "1", "--out"])
            .arg(&sim)
            .args(["--duration-scale", &format!("{scale:.2}")])
            .stdout(Stdio::null()),
    )?;
    let pcap = dir.join("capture.pcap");
    let mut reader = PcapReader::new(std::fs::File::open(sim.join("capture.pcap"))?)?;
    let header = reader.header();
    let mut writer =
        PcapWriter::with_header(BufWriter::new(std::fs::File::create(&pcap)?), header)?;
    let mut n = 0u64;
    while n < packets {
        let Some(pkt) = reader.next_packet() else {
            bail!("the simulator wrote only {n} frames");
        };
        writer.write_packet(&pkt?)?;
        n += 1;
    }
    drop(writer);
    let _ = std::fs::remove_dir_all(&sim);
    Ok(pcap)
}

/// The 55 real voice-command captures merged in time order into one pcap.
fn voice(dir: &Path) -> Result<Option<(PathBuf, u64)>> {
    let Some(captures) = crate::real::voice_captures() else {
        return Ok(None);
    };
    let out = dir.join("voice.pcap");
    run_ok(
        Command::new("mergecap")
            .args(["-F", "pcap", "-w"])
            .arg(&out)
            .args(&captures),
    )?;
    let mut reader = PcapReader::new(std::fs::File::open(&out)?)?;
    let mut n = 0u64;
    while let Some(p) = reader.next_packet() {
        p?;
        n += 1;
    }
    Ok(Some((out, n)))
}

/// The Python stack's versions (`sklearn 1.2.1`, ...), or why it cannot run.
fn python() -> Result<String> {
    let out = Command::new(PYTHON)
        .arg(crate::files::python("stack.py"))
        .stderr(Stdio::null())
        .output()?;
    if !out.status.success() {
        bail!(
            "{PYTHON} cannot import scikit-learn, pandas and numpy: run `cargo xtask setup` \
             (Debian python3-sklearn, python3-pandas)"
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `module`'s version in [`python`]'s answer, `?` if it is not there.
fn python_version(stack: &str, module: &str) -> String {
    stack
        .lines()
        .find_map(|l| l.strip_prefix(module)?.strip_prefix(' '))
        .unwrap_or("?")
        .to_owned()
}

/// The CSV's lines after the header, each split at commas (no dataset
/// column holds a comma or quotes).
fn csv_rows(path: &Path) -> Result<Vec<Vec<String>>> {
    let mut out = Vec::new();
    for line in BufReader::new(std::fs::File::open(path)?).lines().skip(1) {
        out.push(line?.split(',').map(str::to_owned).collect());
    }
    Ok(out)
}

/// The dataset's column names, `date` to `synchronized` (the paper's
/// columns before `class`).
const COLUMN_NAMES: &[&str] = alexa::offline::row::PAPER_COLUMNS
    .split_at(DATASET_COLUMNS)
    .0;

/// Rows equal on all the dataset columns, rows whose last columns
/// (`predicted`) agree, and how many rows differ in each column.
fn agreement(alexa: &[Vec<String>], python: &[Vec<String>]) -> (usize, usize, String) {
    let mut same_columns = 0;
    let mut same_last = 0;
    let mut differ = [0usize; DATASET_COLUMNS];
    for (a, p) in alexa.iter().zip(python) {
        let mut same = a.len() >= DATASET_COLUMNS && p.len() >= DATASET_COLUMNS;
        for (c, d) in differ.iter_mut().enumerate() {
            if a.get(c) != p.get(c) {
                *d += 1;
                same = false;
            }
        }
        if same {
            same_columns += 1;
        }
        if a.last() == p.last() {
            same_last += 1;
        }
    }
    let by_column: Vec<String> = differ
        .iter()
        .zip(COLUMN_NAMES)
        .filter(|(d, _)| **d > 0)
        .map(|(d, name)| format!("{name} {}", thousands(*d as f64)))
        .collect();
    (same_columns, same_last, by_column.join(", "))
}

fn secs(wall: f64, cpu: f64) -> String {
    format!("{wall:.2} s ({cpu:.2} s CPU)")
}

/// Extraction and the whole classification, on one capture.
fn capture_rows(
    t: &mut Table,
    runs: usize,
    alexa: &Path,
    dir: &Path,
    (name, pcap, device, frames): (&str, &Path, &str, u64),
) -> Result<()> {
    let script = crate::files::python("pipeline.py");
    let model = super::kernel::MODEL;
    let tag = name.split_whitespace().next().unwrap_or("capture");
    let ours = dir.join(format!("{tag}-extract.csv"));
    let theirs = dir.join(format!("{tag}-pandas.csv"));
    let fields = dir.join(format!("{tag}-tshark.tsv"));

    say(format!("offline: {name}: alexa extract"));
    let extract = timed(runs, || {
        let mut c = Command::new(alexa);
        c.arg("extract")
            .arg(pcap)
            .args(["--device", device, "-o"])
            .arg(&ours);
        c
    })?;
    say(format!("offline: {name}: tshark, the oracle's fields"));
    let argv: Vec<String> = serde_json::from_slice(&run_ok(
        Command::new(PYTHON)
            .arg(&script)
            .arg(pcap)
            .arg(device)
            .arg("-")
            .arg("--print-tshark"),
    )?)?;
    let tshark = timed(runs, || {
        let mut c = Command::new("sh");
        let quoted: Vec<String> = argv.iter().map(|a| format!("'{a}'")).collect();
        c.args([
            "-c",
            &format!("exec {} > '{}'", quoted.join(" "), fields.display()),
        ]);
        c
    })?;
    say(format!(
        "offline: {name}: tshark + pandas, the dataset columns"
    ));
    let pandas = timed(runs, || {
        let mut c = Command::new(PYTHON);
        c.arg(&script).arg(pcap).arg(device).arg(&theirs);
        c
    })?;
    let (a, p) = (csv_rows(&ours)?, csv_rows(&theirs)?);
    let (same, _, differ) = agreement(&a, &p);
    let rate = |s: f64| thousands(frames as f64 / s);
    t.row(vec![
        format!("{name}: capture → dataset CSV"),
        format!(
            "`alexa extract`: {}, {} frames/s, {} rows",
            secs(extract.0, extract.1),
            rate(extract.0),
            thousands(a.len() as f64)
        ),
        format!(
            "tshark alone (the oracle's {} fields, no dataset yet): {}, {} frames/s",
            argv.iter().filter(|a| *a == "-e").count(),
            secs(tshark.0, tshark.1),
            rate(tshark.0)
        ),
        format!(
            "{:.1}× wall, {:.1}× CPU",
            tshark.0 / extract.0,
            tshark.1 / extract.1
        ),
        "≥ 50×".into(),
        verdict(tshark.0 / extract.0 >= 50.0),
    ]);
    t.row(vec![
        format!("{name}: capture → dataset CSV"),
        "(the same run)".into(),
        format!(
            "tshark + pandas (`pipeline.py`), the same columns: {}, {} frames/s, {} rows, {} equal to alexa's on all ten columns{}",
            secs(pandas.0, pandas.1),
            rate(pandas.0),
            thousands(p.len() as f64),
            thousands(same as f64),
            if differ.is_empty() {
                String::new()
            } else {
                format!(" (rows differing: {differ})")
            }
        ),
        format!(
            "{:.1}× wall, {:.1}× CPU",
            pandas.0 / extract.0,
            pandas.1 / extract.1
        ),
        "≥ 50×".into(),
        verdict(pandas.0 / extract.0 >= 50.0),
    ]);

    t.target(
        &format!("`alexa extract` against tshark + pandas, {name}"),
        format!(
            "{:.1}× (tshark alone: {:.1}×)",
            pandas.0 / extract.0,
            tshark.0 / extract.0
        ),
        "≥ 50×",
        pandas.0 / extract.0 >= 50.0,
    );

    say(format!("offline: {name}: alexa classify"));
    let ours = dir.join(format!("{tag}-classify.csv"));
    let theirs = dir.join(format!("{tag}-sklearn.csv"));
    let classify = timed(runs, || {
        let mut c = Command::new(alexa);
        c.arg("classify")
            .arg(pcap)
            .args(["--model", model, "--device", device, "-o"])
            .arg(&ours);
        c
    })?;
    say(format!("offline: {name}: tshark + pandas + scikit-learn"));
    let pipeline = timed(runs, || {
        let mut c = Command::new(PYTHON);
        c.arg(&script)
            .arg(pcap)
            .arg(device)
            .arg(&theirs)
            .args(["--model", model]);
        c
    })?;
    let (a, p) = (csv_rows(&ours)?, csv_rows(&theirs)?);
    let (_, agree, _) = agreement(&a, &p);
    t.row(vec![
        format!("{name}: whole classification, capture → CSV with `predicted`"),
        format!(
            "`alexa classify`: {}, {} frames/s",
            secs(classify.0, classify.1),
            rate(classify.0)
        ),
        format!(
            "tshark + pandas + scikit-learn (`pipeline.py --model`): {}, {} frames/s; `predicted` equal on {} of {} rows (alexa: {})",
            secs(pipeline.0, pipeline.1),
            rate(pipeline.0),
            thousands(agree as f64),
            thousands(p.len() as f64),
            thousands(a.len() as f64),
        ),
        format!(
            "{:.1}× wall, {:.1}× CPU",
            pipeline.0 / classify.0,
            pipeline.1 / classify.1
        ),
        "faster than the Python pipeline".into(),
        verdict(classify.0 < pipeline.0),
    ]);
    t.target(
        &format!("`alexa classify` against tshark + pandas + scikit-learn, {name}"),
        format!(
            "{:.1}× faster; `predicted` equal on {} of {} rows",
            pipeline.0 / classify.0,
            thousands(agree as f64),
            thousands(p.len() as f64)
        ),
        "faster than the Python pipeline",
        classify.0 < pipeline.0,
    );
    Ok(())
}

pub fn run(plan: &Plan, alexa: &Path, dir: &Path, _target: &Path) -> Result<Table> {
    std::fs::create_dir_all(dir)?;
    let stack = python()?;
    let runs = if plan.quick { 1 } else { 2 };
    let mut t = Table::new(
        "4. Offline tools",
        &[
            "task",
            "alexa",
            "reference",
            "reference / alexa",
            "target",
            "",
        ],
    );
    t.intro = format!(
        "Every time is the best of {runs} run(s) of the whole process (wall clock, and user + \
         system CPU including child processes), output written to files; every side reads the \
         same capture. tshark {} with its default preferences (reassembly on), as contract \
         version 2's oracle; Python {}, pandas {}, scikit-learn {} (Debian packages). The \
         Python code is `tests/python/` (`pipeline.py`: tshark's fields → the dataset's columns \
         → the tree; `echo_tree.py`: models/echo.json as a scikit-learn tree).",
        run_ok(Command::new("tshark").arg("--version"))
            .map(|o| String::from_utf8_lossy(&o)
                .split_whitespace()
                .nth(2)
                .unwrap_or("?")
                .to_owned())
            .unwrap_or_default(),
        run_ok(Command::new(PYTHON).arg("--version"))
            .map(|o| String::from_utf8_lossy(&o)
                .split_whitespace()
                .nth(1)
                .unwrap_or("?")
                .to_owned())
            .unwrap_or_default(),
        python_version(&stack, "pandas"),
        python_version(&stack, "sklearn"),
    );
    same_tree(&mut t, dir)?;
    let sim = simulated(alexa, dir, plan.offline_packets)?;
    let sim_name = format!(
        "simulated capture ({} frames, `alexa simulate --seed 1`)",
        thousands(plan.offline_packets as f64)
    );
    capture_rows(
        &mut t,
        runs,
        alexa,
        dir,
        (&sim_name, &sim, DEVICE, plan.offline_packets),
    )?;
    if let Some((pcap, frames)) = voice(dir)? {
        let name = format!(
            "real voice-command captures (55 merged, {} frames)",
            thousands(frames as f64)
        );
        capture_rows(
            &mut t,
            runs,
            alexa,
            dir,
            (&name, &pcap, crate::real::VOICE_ECHO_IP, frames),
        )?;
    }
    t.note(
        "Like for like: batch prediction starts, on both sides, from the same rows already \
         prepared as numbers (no parsing timed); the capture rows time whole commands, parsing \
         and writing included. The first reference row of each capture is tshark alone, \
         printing the fields the dataset is computed from; the second adds what a user must \
         still do to get the dataset (pandas: the device's rows, frame length, the layer \
         rule, delta per connection, dates), and is the like-for-like comparison.",
    );
    Ok(t)
}
