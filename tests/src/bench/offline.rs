//! Section 4: the offline tools against the tools the paper's authors
//! would have used: `alexa extract` against `tshark -T fields` on the same
//! capture, and the compiled tree `alexa classify` walks against
//! scikit-learn's `DecisionTreeClassifier.predict` on the same rows.

use std::{
    io::{BufRead as _, BufReader, BufWriter, Write as _},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Instant,
};

use alexa::model::train::row_features;
use anyhow::{bail, Context as _, Result};
use pcap_file::pcap::{PcapReader, PcapWriter};

use super::{say, thousands, verdict, Plan, Table};

const DEVICE: &str = "192.168.137.94";
/// Frames of the simulator's default capture at `--duration-scale 1`
/// (seed 1; 107,616 since its calibration to the published dataset), rounded down.
const FRAMES_AT_SCALE_1: f64 = 105_000.0;

/// The columns of the dataset CSV as Wireshark names them (docs/features.md).
const TSHARK_FIELDS: [&str; 15] = [
    "frame.time_epoch",
    "tcp.len",
    "udp.length",
    "ip.dst",
    "tcp.dstport",
    "udp.dstport",
    "frame.protocols",
    "tcp.time_delta",
    "tcp.flags.ack",
    "tls.record.content_type",
    "tcp.srcport",
    "udp.srcport",
    "ip.proto",
    "tcp.flags",
    "tcp.analysis.retransmission",
];

fn run_ok(cmd: &mut Command) -> Result<()> {
    let out = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .with_context(|| format!("cannot start {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// Wall-clock and CPU (user + system) seconds `cmd` takes, each the best
/// of `runs`. CPU time is the steadier of the two on a shared machine.
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

/// The simulator's capture cut to exactly `packets` frames, and its labels.
fn capture(alexa: &Path, dir: &Path, packets: u64) -> Result<(PathBuf, PathBuf)> {
    let sim = dir.join("sim");
    let scale = (packets as f64 / FRAMES_AT_SCALE_1 * 1.02).max(1.0);
    say(format!(
        "offline: simulating (duration scale {scale:.2}) for a {packets}-packet capture"
    ));
    run_ok(
        Command::new(alexa)
            .args(["simulate", "--scenario", "all", "--seed", "1", "--out"])
            .arg(&sim)
            .args(["--duration-scale", &format!("{scale:.2}")]),
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
    let labels = dir.join("labels.csv");
    let mut out = BufWriter::new(std::fs::File::create(&labels)?);
    for (i, line) in BufReader::new(std::fs::File::open(sim.join("labels.csv"))?)
        .lines()
        .enumerate()
    {
        let line = line?;
        let frame: u64 = line.split(',').next().unwrap_or("").parse().unwrap_or(0);
        if i == 0 || (1..=packets).contains(&frame) {
            writeln!(out, "{line}")?;
        }
    }
    out.flush()?;
    let _ = std::fs::remove_dir_all(&sim);
    Ok((pcap, labels))
}

/// A venv under target/ with scikit-learn, made once.
fn python(target: &Path) -> Result<PathBuf> {
    let venv = target.join("bench-venv");
    let py = venv.join("bin/python");
    let ready = |py: &Path| {
        Command::new(py)
            .args(["-c", "import sklearn, numpy"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if ready(&py) {
        return Ok(py);
    }
    say("offline: installing scikit-learn and numpy into target/bench-venv (pip)");
    run_ok(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    run_ok(Command::new(venv.join("bin/pip")).args([
        "install",
        "--quiet",
        "scikit-learn",
        "numpy",
    ]))?;
    if !ready(&py) {
        bail!("scikit-learn does not import after installing it");
    }
    Ok(py)
}

const SKLEARN: &str = r#"
import json, sys, time
import numpy as np
from sklearn.tree import DecisionTreeClassifier
k = int(sys.argv[1])
train = np.fromfile(sys.argv[2], dtype="<f8").reshape(-1, k + 1)
rows = np.fromfile(sys.argv[3], dtype="<f8").reshape(-1, k)
clf = DecisionTreeClassifier(max_depth=20, class_weight="balanced", random_state=0)
t = time.perf_counter(); clf.fit(train[:, :k], train[:, k].astype(np.int64)); fit = time.perf_counter() - t
best = float("inf")
for _ in range(int(sys.argv[4])):
    t = time.perf_counter(); p = clf.predict(rows); best = min(best, time.perf_counter() - t)
import sklearn
print(json.dumps({"rows": int(rows.shape[0]), "fit_s": fit, "predict_s": best,
                  "nodes": int(clf.tree_.node_count), "depth": int(clf.get_depth()),
                  "version": sklearn.__version__, "checksum": int(p.sum())}))
"#;

fn write_f64(path: &Path, values: impl Iterator<Item = f64>) -> Result<()> {
    let mut out = BufWriter::new(std::fs::File::create(path)?);
    for v in values {
        out.write_all(&v.to_le_bytes())?;
    }
    out.flush()?;
    Ok(())
}

pub fn run(plan: &Plan, alexa: &Path, dir: &Path, target: &Path) -> Result<Table> {
    std::fs::create_dir_all(dir)?;
    let packets = plan.offline_packets;
    let (pcap, labels) = capture(alexa, dir, packets)?;
    let runs = if plan.quick { 1 } else { 2 };

    say("offline: alexa extract");
    let (extract_s, extract_cpu) = timed(runs, || {
        let mut c = Command::new(alexa);
        c.arg("extract")
            .arg(&pcap)
            .args(["--device", DEVICE, "-o"])
            .arg(dir.join("extract.csv"));
        c
    })?;
    say("offline: tshark -T fields");
    let tshark_out = dir.join("tshark.tsv");
    let (tshark_s, tshark_cpu) = timed(1, || {
        let mut c = Command::new("sh");
        let mut line = format!(
            "tshark -n -r {} -o tcp.calculate_timestamps:TRUE -o tcp.desegment_tcp_streams:FALSE \
             -o tls.desegment_ssl_records:FALSE -Y 'ip.src=={DEVICE}' -T fields",
            pcap.display()
        );
        for f in TSHARK_FIELDS {
            line.push_str(&format!(" -e {f}"));
        }
        line.push_str(&format!(" > {}", tshark_out.display()));
        c.args(["-c", &format!("exec {line}")]);
        c
    })?;
    let tshark_rows = BufReader::new(std::fs::File::open(&tshark_out)?)
        .lines()
        .count();
    let extract_rows = BufReader::new(std::fs::File::open(dir.join("extract.csv"))?)
        .lines()
        .count()
        .saturating_sub(1);

    say("offline: alexa classify");
    let (classify_s, classify_cpu) = timed(runs, || {
        let mut c = Command::new(alexa);
        c.arg("classify")
            .arg(&pcap)
            .args(["--model", super::kernel::MODEL, "--device", DEVICE, "-o"])
            .arg(dir.join("classified.csv"));
        c
    })?;

    // The same rows for both classifiers: every device packet, labelled.
    let labelled = dir.join("labelled.csv");
    let prepared = dir.join("prepared.csv");
    run_ok(
        Command::new(alexa)
            .arg("extract")
            .arg(&pcap)
            .args(["--device", DEVICE, "--labels"])
            .arg(&labels)
            .arg("-o")
            .arg(&labelled),
    )?;
    run_ok(
        Command::new(alexa)
            .arg("prepare")
            .arg(&labelled)
            .arg("-o")
            .arg(&prepared),
    )?;
    let model = alexa::model::load(Path::new(super::kernel::MODEL))?;
    let feats = model.features.clone();
    let (_, rows) = alexa::dataset::load_dataset(&labelled)?;
    let (_, train) = alexa::dataset::load_dataset(&prepared)?;
    write_f64(
        &dir.join("train.f64"),
        train.iter().flat_map(|r| {
            feats
                .iter()
                .map(|f| r.values[*f as usize] as f64)
                .chain(std::iter::once(r.class.unwrap_or(0) as f64))
        }),
    )?;
    write_f64(
        &dir.join("rows.f64"),
        rows.iter()
            .flat_map(|r| feats.iter().map(|f| r.values[*f as usize] as f64)),
    )?;

    say("offline: the compiled tree on every row");
    let features: Vec<alexa_common::Features> =
        rows.iter().map(|r| row_features(&r.values)).collect();
    let mut walk_s = f64::INFINITY;
    let mut checksum = 0u64;
    for _ in 0..3 {
        let start = Instant::now();
        let mut sum = 0u64;
        for f in &features {
            sum += model.predict(std::hint::black_box(f)) as u64;
        }
        walk_s = walk_s.min(start.elapsed().as_secs_f64());
        checksum = std::hint::black_box(sum);
    }

    say("offline: scikit-learn");
    let py = python(target)?;
    let script = dir.join("sklearn_predict.py");
    std::fs::write(&script, SKLEARN)?;
    let out = Command::new(&py)
        .arg(&script)
        .arg(feats.len().to_string())
        .arg(dir.join("train.f64"))
        .arg(dir.join("rows.f64"))
        .arg("3")
        .output()?;
    if !out.status.success() {
        bail!(
            "scikit-learn run failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let sk: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let sk_s = sk["predict_s"].as_f64().unwrap_or(f64::NAN);

    let mut t = Table::new(
        "4. Offline tools",
        &[
            "task",
            "alexa",
            "reference",
            "alexa / reference",
            "target",
            "",
        ],
    );
    t.intro = format!(
        "One capture of exactly {} packets from `alexa simulate --seed 1` (cut at that count), \
         the Echo's address as the device. Wall-clock and CPU (user + system) times of the whole \
         process, each the best of {runs} run(s), output to files; rates and ratios from wall-clock.",
        thousands(packets as f64)
    );
    let ex_rate = packets as f64 / extract_s;
    let ts_rate = packets as f64 / tshark_s;
    let cpu_ratio = tshark_cpu / extract_cpu;
    t.row(vec![
        "feature extraction, capture → CSV".into(),
        format!(
            "`alexa extract`: {:.2} s ({:.2} s CPU), {} packets/s ({} rows)",
            extract_s,
            extract_cpu,
            thousands(ex_rate),
            thousands(extract_rows as f64)
        ),
        format!(
            "`tshark -T fields` (15 fields, `-Y ip.src==device`): {:.2} s ({:.2} s CPU), {} packets/s ({} rows)",
            tshark_s,
            tshark_cpu,
            thousands(ts_rate),
            thousands(tshark_rows as f64)
        ),
        format!("{:.1}× wall, {:.1}× CPU", ex_rate / ts_rate, cpu_ratio),
        "≥ 50×".into(),
        verdict(ex_rate / ts_rate >= 50.0),
    ]);
    let n = rows.len() as f64;
    t.row(vec![
        format!("classification of {} device packets (batch)", thousands(n)),
        format!(
            "compiled tree (`Model::predict`, what `alexa classify` runs per packet): {:.1} ms, {} rows/s",
            walk_s * 1e3,
            thousands(n / walk_s)
        ),
        format!(
            "scikit-learn {} `DecisionTreeClassifier.predict` on a float64 array: {:.1} ms, {} rows/s",
            sk["version"].as_str().unwrap_or("?"),
            sk_s * 1e3,
            thousands(n / sk_s)
        ),
        format!("{:.1}×", sk_s / walk_s),
        "faster than scikit-learn".into(),
        verdict(walk_s < sk_s),
    ]);
    t.row(vec![
        "whole `alexa classify` (read, extract, classify, write CSV)".into(),
        format!(
            "{:.2} s ({:.2} s CPU), {} packets/s",
            classify_s,
            classify_cpu,
            thousands(packets as f64 / classify_s)
        ),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
    ]);
    t.note(format!(
        "The timings include: `alexa extract`, the whole process (read the pcap, parse, flow state, \
         write the CSV); tshark, the whole process (dissection with TCP analysis for \
         `tcp.time_delta`/retransmissions, the display filter, field output to a file); the \
         classifiers, prediction only, on rows already in memory (the labelled dataset of the \
         same capture, features of the shipped model: {}). scikit-learn's tree is trained on the \
         same prepared dataset (`alexa prepare`) with max_depth 20, balanced class weights: {} \
         nodes, depth {} (fit {:.2} s, not timed against anything). Checksums: alexa {checksum}, \
         scikit-learn {}.",
        feats.iter().map(|f| f.name()).collect::<Vec<_>>().join(", "),
        sk["nodes"],
        sk["depth"],
        sk["fit_s"].as_f64().unwrap_or(0.0),
        sk["checksum"],
    ));
    Ok(t)
}
