//! The simulator's default dataset against the paper authors' published
//! dataset (`../shared/data/real/paper-dataset`, the 12 distinct recordings,
//! microphone-on `not_justified` counted as `justified`): simulate → extract
//! with labels (contract version 2) → prepare, through the library, measured
//! on the files written. Counts within ±10% of the published totals; the
//! per-class `length` and `delta` distributions within the bound below of
//! the published rows (two-sample Kolmogorov–Smirnov D).

mod common;

use std::{
    collections::{BTreeMap, HashSet},
    path::{Path, PathBuf},
};

use alexa::{
    offline::compare,
    offline::extract,
    offline::labelling::{self, AppClass},
    offline::labels,
    offline::prepare::{self, PrepareOptions},
    offline::simulate::{self, calibration::published, Context, Scenario, SimOptions},
    util::net::ip_to_mapped,
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

/// The largest KS D a class may show: 0.08, or the two-sample critical
/// value at α = 0.01 for the class's sizes when that is larger (a small
/// class's published rows alone vary that much: a simulator drawing from
/// the very process that made them would exceed it once in a hundred
/// seeds). D is the largest difference, over every threshold v, between
/// the shares of the class's packets at or below v: 0.08 means no split of
/// `length` or `delta` a tree could make sends more than 8% of a class's
/// packets to another side than on the real traffic.
fn ks_bound(n: u64, m: u64) -> f64 {
    let (n, m) = (n as f64, m as f64);
    (1.628 * ((n + m) / (n * m)).sqrt()).max(0.08)
}

#[test]
fn default_dataset_matches_the_published_dataset() {
    let t0 = std::time::Instant::now();
    let tmp = Tmp::new("calib");
    let (dataset, prepared, tally) = pipeline(&tmp.0, &SimOptions::default());
    let elapsed = t0.elapsed();
    let mut checks: Vec<(String, u64, u64)> = Vec::new();

    // The published files are TCP only: so is every count here (the
    // simulator's few DNS and NTP datagrams are left out).
    let (h, data) = rows(&dataset);
    let (lh, lrows) = rows(&tmp.0.join("labels.csv"));
    assert_eq!(data.len(), lrows.len(), "one dataset row per label");
    assert_eq!(
        tally.classified, tally.written,
        "every device frame is labelled"
    );
    let (ci, mi, cti, pi, hl, af) = (
        col(&h, "class"),
        col(&h, "microphone"),
        col(&h, "content_type"),
        col(&h, "proto"),
        col(&h, "highest_layer"),
        col(&h, "ack_flag"),
    );
    let ctx = col(&lh, "context");
    let tcp: Vec<usize> = (0..data.len()).filter(|i| &data[*i][pi] == "6").collect();
    assert!(
        data.len() - tcp.len() < 100,
        "UDP stays rare: {}",
        data.len() - tcp.len()
    );

    let mut per_ctx: BTreeMap<&str, u64> = BTreeMap::new();
    for i in &tcp {
        *per_ctx.entry(&lrows[*i][ctx]).or_default() += 1;
    }
    for (c, n) in published::CONTEXT_ROWS {
        checks.push((
            format!("context {c}"),
            n,
            per_ctx.get(c).copied().unwrap_or(0),
        ));
    }
    checks.push(("packets".into(), published::TOTAL, tcp.len() as u64));
    let mut per_class: BTreeMap<&str, u64> = BTreeMap::new();
    let (mut nj_on, mut j_off, mut nan, mut no_ack) = (0, 0, 0, 0);
    let mut layers = [0u64; 4];
    for i in &tcp {
        let r = &data[*i];
        *per_class.entry(&r[ci]).or_default() += 1;
        match (&r[ci], &r[mi]) {
            ("not_justified", "1") => nj_on += 1,
            ("justified", "0") => j_off += 1,
            _ => {}
        }
        nan += r[cti].is_empty() as u64;
        no_ack += (&r[af] == "0") as u64;
        layers[r[hl].parse::<usize>().unwrap()] += 1;
    }
    for (c, n) in published::CLASS_ROWS {
        checks.push((
            format!("class {c}"),
            n,
            per_class.get(c).copied().unwrap_or(0),
        ));
    }
    for (i, (name, n)) in published::HIGHEST_LAYER.into_iter().enumerate() {
        checks.push((format!("highest_layer {name}"), n, layers[i]));
    }
    checks.push(("content_type NaN".into(), published::CONTENT_TYPE_NAN, nan));
    checks.push((
        "ack_flag not set".into(),
        published::ACK_FLAG_NOT_SET,
        no_ack,
    ));

    println!("simulate + extract + prepare: {elapsed:.2?}");
    println!(
        "{:<26} {:>9} {:>10} {:>8}",
        "number", "published", "generated", "diff"
    );
    let mut bad = Vec::new();
    for (name, want, got) in &checks {
        let diff = (*got as f64 - *want as f64) / *want as f64 * 100.0;
        println!("{name:<26} {want:>9} {got:>10} {diff:>+7.1}%");
        if diff.abs() > 10.0 {
            bad.push(name.clone());
        }
    }
    // The simulator does not invent microphone-on uploads.
    assert_eq!(nj_on, 0, "not_justified with the microphone on");
    assert_eq!(j_off, 0, "justified with the microphone off");
    assert!(bad.is_empty(), "off by more than 10%: {bad:?}");
    let (ph, prows) = rows(&prepared);
    assert!(prows.len() < data.len() / 2 && col(&ph, "class") > 0);

    // The distributions, against the published rows themselves.
    let Some(real) = common::real_data() else {
        return;
    };
    let files = common::published_files(&real);
    let c = compare::compare(&dataset, &files).unwrap();
    assert_eq!(c.reference_files, 12, "the duplicate counted once");
    assert_eq!(c.relabelled, 443);
    println!("\n{}", c.table());
    let mut far = Vec::new();
    for d in &c.classes {
        let bound = ks_bound(d.rows, d.reference_rows);
        for (what, v) in [("length", d.length), ("delta", d.delta)] {
            let v = v.unwrap_or(1.0);
            if v > bound {
                far.push(format!("{} {what}: D {v:.3} > {bound:.3}", d.class));
            }
        }
    }
    assert!(far.is_empty(), "{far:?}");
}

#[test]
fn keep_alives_have_the_published_sizes_and_periods() {
    let tmp = Tmp::new("periodic");
    let opts = SimOptions {
        scenario: Scenario::One(Context::NoWakeWord),
        seed: 7,
        duration_scale: 0.1,
    };
    let (dataset, _, _) = pipeline(&tmp.0, &opts);
    let (h, data) = rows(&dataset);
    let (ci, li, di, ct, hl) = (
        col(&h, "class"),
        col(&h, "length"),
        col(&h, "delta"),
        col(&h, "content_type"),
        col(&h, "highest_layer"),
    );
    let syn = |len: &str| -> Vec<u64> {
        data.iter()
            .filter(|r| &r[ci] == "syn" && &r[li] == len)
            .map(|r| r[di].parse().unwrap())
            .collect()
    };
    // The voice service's keep-alive: 100-byte frames (no TCP timestamps, a
    // 41-byte record) 30 s apart, or 0 right after an ACK of the service.
    let a = syn("100");
    assert!(a.len() > 60, "100-byte keep-alives: {}", a.len());
    let on_time = a
        .iter()
        .filter(|d| (29_300..=30_750).contains(*d) || **d == 0)
        .count();
    assert!(on_time * 10 >= a.len() * 9, "{a:?}");
    // The second: 99-byte frames (timestamps, a 28-byte record) ~90.9 s
    // after the ACK of the previous one's answer.
    let b = syn("99");
    assert!(b.len() > 20, "99-byte keep-alives: {}", b.len());
    assert!(
        b[1..].iter().all(|d| (89_800..=91_000).contains(d)),
        "{b:?}"
    );
    // The sync channel's 11-byte messages: DATA on 4070 (delta 0), TCP on 443.
    let c: Vec<&csv::StringRecord> = data
        .iter()
        .filter(|r| &r[ci] == "syn" && &r[li] == "77")
        .collect();
    assert!(c.iter().any(|r| &r[hl] == "2") && c.iter().any(|r| &r[hl] == "1"));
    assert!(c.iter().filter(|r| &r[hl] == "2").all(|r| &r[di] == "0"));
    // Every syn row is one of them, and the keep-alive records are application data.
    for r in data.iter().filter(|r| &r[ci] == "syn") {
        assert!(["100", "99", "77"].contains(&&r[li]), "{r:?}");
        if &r[hl] == "0" {
            assert_eq!(&r[ct], "23");
        }
    }
    // A pure ACK is 66 bytes with TCP timestamps, 54 without, as published.
    let acks: HashSet<&str> = data
        .iter()
        .filter(|r| &r[ci] == "ack")
        .map(|r| &r[li])
        .collect();
    assert!(acks.contains("66") && acks.contains("54"), "{acks:?}");
}

#[test]
fn every_label_is_the_published_rules_label() {
    for (ctx, app) in [
        (Context::MicOff, AppClass::NotJustified),
        (Context::Streaming, AppClass::Expected),
        (Context::NoWakeWord, AppClass::Justified),
        (Context::Conversation, AppClass::Expected),
    ] {
        let tmp = Tmp::new(&format!("rules-{ctx}"));
        let opts = SimOptions {
            scenario: Scenario::One(ctx),
            seed: 11,
            duration_scale: 0.05,
        };
        simulate::simulate_to_dir(&opts, &tmp.0).unwrap();
        let out = tmp.0.join("rules.csv");
        labelling::label_capture(
            &tmp.0.join("capture.pcap"),
            devices(&tmp.0),
            app,
            ctx.microphone(),
            &out,
        )
        .unwrap();
        let truth = labels::read_labels(&tmp.0.join("labels.csv")).unwrap();
        let rules = labels::read_labels(&out).unwrap();
        assert_eq!(truth.len(), rules.len(), "{ctx}");
        assert!(truth.len() > 100, "{ctx}: {}", truth.len());
        let differ: Vec<String> = truth
            .iter()
            .zip(&rules)
            .filter(|(a, b)| {
                a.frame != b.frame || a.class != b.class || a.microphone != b.microphone
            })
            .take(5)
            .map(|(a, b)| {
                let name = |c: u8| alexa_common::class_name(c).unwrap_or("?");
                format!("frame {}: {} vs {}", a.frame, name(a.class), name(b.class))
            })
            .collect();
        assert!(differ.is_empty(), "{ctx}: {differ:?}");
    }
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
    let mut reader =
        alexa::offline::capture::CaptureReader::open(&tmp.0.join("capture.pcap")).unwrap();
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
    let s = alexa::offline::figures::report(&dataset, &out, &PrepareOptions::default()).unwrap();
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
