//! The simulator's default dataset against the paper (section 5): simulate →
//! extract with labels → prepare, through the library, measured on the files
//! written. Every number within ±10%.

use std::{
    collections::{BTreeMap, HashSet},
    path::{Path, PathBuf},
};

use alexa::{
    extract, labels,
    prepare::{self, PrepareOptions},
    record::ip_to_mapped,
    simulate::{self, calibration::paper, Context, Scenario, SimOptions},
};

struct Tmp(PathBuf);
impl Tmp {
    fn new(name: &str) -> Tmp {
        let p = std::env::temp_dir().join(format!("alexa-sim-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Tmp(p)
    }
}
impl Drop for Tmp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn devices(dir: &Path) -> extract::DeviceSet {
    let text = std::fs::read_to_string(dir.join("devices.txt")).unwrap();
    Some(
        text.lines()
            .map(|l| ip_to_mapped(l.trim().parse().unwrap()))
            .collect::<HashSet<_>>(),
    )
}

/// Runs the pipeline into `dir`; returns (dataset, prepared).
fn pipeline(dir: &Path, opts: &SimOptions) -> (PathBuf, PathBuf, extract::Tally) {
    simulate::simulate_to_dir(opts, dir).unwrap();
    let labels_path = dir.join("labels.csv");
    let l = labels::read_labels(&labels_path).unwrap();
    let dataset = dir.join("dataset.csv");
    let tally = extract::extract_to_csv(
        &dir.join("capture.pcap"),
        devices(dir),
        true,
        Some((&labels_path, &l)),
        &dataset,
    )
    .unwrap();
    let prepared = dir.join("prepared.csv");
    prepare::prepare(&dataset, &prepared, &PrepareOptions::default()).unwrap();
    (dataset, prepared, tally)
}

fn rows(path: &Path) -> (Vec<String>, Vec<csv::StringRecord>) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let h = r.headers().unwrap().iter().map(str::to_owned).collect();
    (h, r.records().map(Result::unwrap).collect())
}

fn col(h: &[String], name: &str) -> usize {
    h.iter().position(|c| c == name).unwrap()
}

#[test]
fn default_dataset_matches_the_paper_within_ten_percent() {
    let t0 = std::time::Instant::now();
    let tmp = Tmp::new("calib");
    let (dataset, prepared, tally) = pipeline(&tmp.0, &SimOptions::default());
    let elapsed = t0.elapsed();
    let mut checks: Vec<(String, u64, u64)> = Vec::new();

    // Contexts, from labels.csv.
    let (lh, lrows) = rows(&tmp.0.join("labels.csv"));
    let mut per_ctx: BTreeMap<String, u64> = BTreeMap::new();
    for r in &lrows {
        *per_ctx
            .entry(r[col(&lh, "context")].to_owned())
            .or_default() += 1;
    }
    for (c, n) in paper::CONTEXT_PACKETS {
        checks.push((
            format!("context {c}"),
            n,
            per_ctx.get(c).copied().unwrap_or(0),
        ));
    }

    // Classes, NaN and microphone split, from the dataset.
    let (h, data) = rows(&dataset);
    assert_eq!(data.len(), lrows.len(), "one dataset row per label");
    assert_eq!(
        tally.classified, tally.written,
        "every device frame is labelled"
    );
    checks.push(("packets".into(), paper::TOTAL, data.len() as u64));
    let (ci, mi, cti) = (
        col(&h, "class"),
        col(&h, "microphone"),
        col(&h, "content_type"),
    );
    let mut per_class: BTreeMap<&str, u64> = BTreeMap::new();
    let (mut nj_on, mut nj_off, mut j_off, mut nan) = (0, 0, 0, 0);
    for r in &data {
        *per_class.entry(&r[ci]).or_default() += 1;
        match (&r[ci], &r[mi]) {
            ("not_justified", "1") => nj_on += 1,
            ("not_justified", _) => nj_off += 1,
            ("justified", "0") => j_off += 1,
            _ => {}
        }
        nan += r[cti].is_empty() as u64;
    }
    for (c, n) in paper::CLASS_PACKETS {
        checks.push((
            format!("class {c}"),
            n,
            per_class.get(c).copied().unwrap_or(0),
        ));
    }
    checks.push((
        "not_justified, mic on".into(),
        paper::NOT_JUSTIFIED_MIC_ON,
        nj_on,
    ));
    checks.push((
        "not_justified, mic off".into(),
        paper::NOT_JUSTIFIED_MIC_OFF,
        nj_off,
    ));
    checks.push(("content_type NaN".into(), paper::CONTENT_TYPE_NAN, nan));

    // After down-sampling, from the prepared file.
    let (ph, prows) = rows(&prepared);
    checks.push((
        "prepared rows".into(),
        paper::PREPARED_ROWS,
        prows.len() as u64,
    ));
    let (hl, af) = (col(&ph, "highest_layer"), col(&ph, "ack_flag"));
    for (i, (name, n)) in paper::HIGHEST_LAYER.into_iter().enumerate() {
        let got = prows.iter().filter(|r| r[hl] == *i.to_string()).count() as u64;
        checks.push((format!("highest_layer {name}"), n, got));
    }
    let set = prows.iter().filter(|r| &r[af] == "1").count() as u64;
    checks.push(("ack_flag set".into(), paper::ACK_FLAG_SET, set));
    checks.push((
        "ack_flag not set".into(),
        paper::ACK_FLAG_NOT_SET,
        prows.len() as u64 - set,
    ));

    println!("simulate + extract + prepare: {elapsed:.2?}");
    println!(
        "{:<26} {:>8} {:>10} {:>8}",
        "number", "paper", "generated", "diff"
    );
    let mut bad = Vec::new();
    for (name, want, got) in &checks {
        let diff = (*got as f64 - *want as f64) / *want as f64 * 100.0;
        println!("{name:<26} {want:>8} {got:>10} {diff:>+7.1}%");
        if diff.abs() > 10.0 {
            bad.push(name.clone());
        }
    }
    assert_eq!(
        j_off,
        paper::JUSTIFIED_MIC_OFF,
        "justified with the microphone off"
    );
    assert!(bad.is_empty(), "off by more than 10%: {bad:?}");

    // Expected packets are shorter on average than justified / not_justified.
    let li = col(&h, "length");
    let mean = |c: &str| {
        let v: Vec<f64> = data
            .iter()
            .filter(|r| &r[ci] == c)
            .map(|r| r[li].parse().unwrap())
            .collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    assert!(mean("expected") < mean("justified") && mean("expected") < mean("not_justified"));
}

#[test]
fn periodic_packets_have_exact_periods_and_sizes() {
    let tmp = Tmp::new("periodic");
    let opts = SimOptions {
        scenario: Scenario::One(Context::NoWakeWord),
        seed: 7,
        duration_scale: 0.1,
    };
    let (dataset, _, _) = pipeline(&tmp.0, &opts);
    let (h, data) = rows(&dataset);
    let (ci, li, di, dt) = (
        col(&h, "class"),
        col(&h, "payload_len"),
        col(&h, "delta"),
        col(&h, "date"),
    );
    // Payload bytes, and whole milliseconds since the connection's
    // previous SSL/TCP packet (the syn before it: nothing else is sent).
    for (len, period) in [("100", "30002"), ("99", "90820")] {
        let syn: Vec<_> = data
            .iter()
            .filter(|r| &r[ci] == "syn" && &r[li] == len)
            .collect();
        assert!(syn.len() > 10, "{len}-byte syn packets: {}", syn.len());
        for r in &syn[1..] {
            assert_eq!(&r[di], period, "delta of a {len}-byte syn packet");
        }
        let when =
            |s: &str| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").unwrap();
        for w in syn.windows(2) {
            let gap = when(&w[1][dt]) - when(&w[0][dt]);
            assert_eq!(gap.num_milliseconds().to_string(), period);
        }
    }
    // Every syn packet is one of the two sizes.
    assert!(data
        .iter()
        .filter(|r| &r[ci] == "syn")
        .all(|r| &r[li] == "100" || &r[li] == "99"));
}

#[test]
fn labels_line_up_one_to_one_with_the_devices_frames() {
    let tmp = Tmp::new("lineup");
    let opts = SimOptions {
        scenario: Scenario::All,
        seed: 3,
        duration_scale: 0.05,
    };
    simulate::simulate_to_dir(&opts, &tmp.0).unwrap();
    // Every frame the Echo sent, by the capture's own addresses.
    let mut reader = alexa::capture::CaptureReader::open(&tmp.0.join("capture.pcap")).unwrap();
    let echo = [192u8, 168, 137, 94];
    let mut device_frames = Vec::new();
    while let Some(f) = reader.next_frame().unwrap() {
        if f.data.len() >= 34 && f.data[12..14] == [8, 0] && f.data[26..30] == echo {
            device_frames.push(f.number);
        }
    }
    let l = labels::read_labels(&tmp.0.join("labels.csv")).unwrap();
    let labelled: Vec<u64> = l.iter().map(|l| l.frame).collect();
    assert_eq!(device_frames, labelled);
    assert!(labelled.len() > 1_000);
    // Deterministic for a seed.
    let again = Tmp::new("lineup2");
    simulate::simulate_to_dir(&opts, &again.0).unwrap();
    for f in ["capture.pcap", "labels.csv", "devices.txt"] {
        assert_eq!(
            std::fs::read(tmp.0.join(f)).unwrap(),
            std::fs::read(again.0.join(f)).unwrap(),
            "{f}"
        );
    }
}

#[test]
fn report_writes_every_figure_and_the_summary() {
    let tmp = Tmp::new("report");
    let opts = SimOptions {
        scenario: Scenario::All,
        seed: 5,
        duration_scale: 0.02,
    };
    let (dataset, _, _) = pipeline(&tmp.0, &opts);
    let out = tmp.0.join("report");
    let s = alexa::report::report(&dataset, &out, &PrepareOptions::default()).unwrap();
    for f in [
        "fig04_nan.png",
        "fig05_classes.png",
        "fig06_classes_downsampled.png",
        "fig07_length.png",
        "fig08_microphone.png",
        "fig09_synchronized.png",
        "fig10_ack_flag.png",
        "fig11_highest_layer.png",
    ] {
        let bytes = std::fs::read(out.join(f)).unwrap();
        assert_eq!(&bytes[1..4], b"PNG", "{f}");
    }
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(md.contains("| content_type |"), "{md}");
    assert_eq!(
        s.microphone.iter().find(|m| m.0 == "justified").unwrap().2,
        0
    );
}
