//! The offline commands on real data: `label` on a real voice capture and
//! `extract --labels` joining the result; `train` on several published
//! files; `crossval` leave-one-file-out on small published files.

mod common;

use std::collections::BTreeMap;

use common::{alexa, alexa_ok, real_data, Scratch, VOICE_ECHO_MAC};

fn column(header: &str, name: &str) -> usize {
    header
        .split(',')
        .position(|c| c == name)
        .unwrap_or_else(|| panic!("no {name} in {header}"))
}

#[test]
fn label_a_real_voice_capture_and_extract_joins_the_labels() {
    let Some(real) = real_data() else { return };
    let capture = real.join("echo-voice-commands/how_many_days_until_christmas_5_30s.pcap");
    let cap = capture.to_str().unwrap();
    let dir = Scratch::new("label-real");
    let labels = dir.path("labels.csv");
    let l = labels.to_str().unwrap();
    let (_, log) = alexa_ok(&[
        "label",
        cap,
        "--device",
        VOICE_ECHO_MAC,
        "--app-class",
        "expected",
        "--microphone",
        "on",
        "-o",
        l,
    ]);
    assert!(log.contains("device packets labelled"), "{log}");
    let text = std::fs::read_to_string(&labels).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("frame,timestamp,context,microphone,class")
    );
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut last = 0u64;
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        assert_eq!(cells.len(), 5, "{line}");
        let frame: u64 = cells[0].parse().unwrap();
        assert!(frame > last, "frames in order: {line}");
        last = frame;
        assert_eq!(cells[2], "expected");
        assert_eq!(cells[3], "1");
        *counts.entry(cells[4].to_owned()).or_default() += 1;
    }
    let n = |c: &str| counts.get(c).copied().unwrap_or(0);
    let total: usize = counts.values().sum();
    // A conversation: voice upload and answers as application data, the
    // TLS handshakes of its connections, pure acks, the sync service.
    assert!(total > 300, "{counts:?}");
    assert!(n("expected") * 100 >= total * 20, "{counts:?}");
    assert!(n("ack") * 100 >= total * 5, "{counts:?}");
    assert!(n("handshake") >= 1, "{counts:?}");
    assert!(n("syn") >= 1, "{counts:?}");
    assert_eq!(n("justified") + n("not_justified"), 0, "{counts:?}");
    assert!(n("not_relevant") * 100 <= total * 20, "{counts:?}");

    // `extract --labels` joins them: one row per label, its class and microphone.
    let out = dir.path("extracted.csv");
    let (_, log) = alexa_ok(&[
        "extract",
        cap,
        "--device",
        VOICE_ECHO_MAC,
        "--labels",
        l,
        "-o",
        out.to_str().unwrap(),
    ]);
    let csv = std::fs::read_to_string(&out).unwrap();
    let mut rows = csv.lines();
    let header = rows.next().unwrap();
    let (class, mic) = (column(header, "class"), column(header, "microphone"));
    let mut joined: BTreeMap<String, usize> = BTreeMap::new();
    for r in rows {
        let cells: Vec<&str> = r.split(',').collect();
        assert_eq!(cells[mic], "1");
        *joined.entry(cells[class].to_owned()).or_default() += 1;
    }
    assert_eq!(joined, counts, "{log}");

    // The same labels by IP address.
    let by_ip = dir.path("by-ip.csv");
    alexa_ok(&[
        "label",
        cap,
        "--device",
        "10.63.7.79",
        "--app-class",
        "expected",
        "--microphone",
        "on",
        "-o",
        by_ip.to_str().unwrap(),
    ]);
    assert_eq!(std::fs::read_to_string(&by_ip).unwrap(), text);
}

#[test]
fn label_errors_name_the_file_and_leave_nothing_behind() {
    let dir = Scratch::new("label-errors");
    let bad = dir.path("bad.pcap");
    std::fs::write(&bad, b"this is not a capture, only text\n").unwrap();
    let out = dir.path("labels.csv");
    let (ok, _, err) = alexa(&[
        "label",
        bad.to_str().unwrap(),
        "--device",
        "10.0.0.2",
        "--app-class",
        "justified",
        "--microphone",
        "off",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("bad.pcap") && err.contains("byte 0"), "{err}");
    assert_eq!(
        std::fs::read_dir(&dir.0).unwrap().count(),
        1,
        "only bad.pcap"
    );
    // Without a device, or with an unknown application class: refused.
    let (ok, _, err) = alexa(&[
        "label",
        bad.to_str().unwrap(),
        "--app-class",
        "expected",
        "--microphone",
        "on",
        "-o",
        "x.csv",
    ]);
    assert!(!ok && err.contains("--device"), "{err}");
    let (ok, _, err) = alexa(&[
        "label",
        bad.to_str().unwrap(),
        "--device",
        "10.0.0.2",
        "--app-class",
        "idle",
        "--microphone",
        "on",
        "-o",
        "x.csv",
    ]);
    assert!(!ok && err.contains("idle"), "{err}");
}

#[test]
fn train_on_several_published_files_records_each_once() {
    let Some(real) = real_data() else { return };
    let d = real.join("paper-dataset");
    let files = [
        d.join("microphone_mute/01.csv"),
        d.join("microphone_mute/03.csv"),
        d.join("no_wake_word/05.csv"),
        d.join("no_wake_word/01.csv"),
    ];
    let f: Vec<&str> = files.iter().map(|p| p.to_str().unwrap()).collect();
    let dir = Scratch::new("train-several");
    let model = dir.path("m.json");
    let m = model.to_str().unwrap();
    let (_, log) = alexa_ok(&["train", f[0], f[1], f[2], f[3], "-o", m, "--max-depth", "8"]);
    assert!(
        log.contains("note: no_wake_word/05.csv is byte-identical to microphone_mute/03.csv"),
        "{log}"
    );
    assert!(log.contains("features (the columns every file has): length,dstport,highest_layer,delta,ack_flag,microphone,content_type"), "{log}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&model).unwrap()).unwrap();
    let data = &json["training"]["data"];
    assert_eq!(data["rows"], 833 + 2413 + 1192);
    let listed: Vec<(String, u64, bool)> = data["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert_eq!(e["sha256"].as_str().unwrap().len(), 64);
            (
                e["file"].as_str().unwrap().to_owned(),
                e["rows"].as_u64().unwrap(),
                e.get("duplicate_of").is_some(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            ("microphone_mute/01.csv".to_owned(), 833, false),
            ("microphone_mute/03.csv".to_owned(), 2413, false),
            ("no_wake_word/01.csv".to_owned(), 1192, false),
            ("no_wake_word/05.csv".to_owned(), 2413, true),
        ]
    );
    let features: Vec<&str> = json["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(features.len(), 7);
    // The model loads and classifies a published file (a dataset CSV).
    let out = dir.path("classified.csv");
    let (_, log) = alexa_ok(&[
        "classify",
        d.join("no_wake_word/04.csv").to_str().unwrap(),
        "--model",
        m,
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(log.contains("1627 rows"), "{log}");
    assert_eq!(std::fs::read_to_string(&out).unwrap().lines().count(), 1628);
}

#[test]
fn crossval_leaves_out_each_recording_once() {
    let Some(real) = real_data() else { return };
    let d = real.join("paper-dataset");
    let files = [
        d.join("microphone_mute/01.csv"),
        d.join("no_wake_word/01.csv"),
        d.join("microphone_mute/03.csv"),
        d.join("no_wake_word/05.csv"),
    ];
    let f: Vec<&str> = files.iter().map(|p| p.to_str().unwrap()).collect();
    let (out, log) = alexa_ok(&["crossval", f[0], f[1], f[2], f[3], "--max-depth", "8"]);
    assert!(
        log.contains("note: no_wake_word/05.csv is byte-identical"),
        "{log}"
    );
    assert!(log.contains("[3/3]"), "progress on stderr: {log}");
    assert!(
        out.contains("leave-one-file-out over 3 recordings"),
        "{out}"
    );
    for name in [
        "microphone_mute/01.csv",
        "no_wake_word/01.csv",
        "microphone_mute/03.csv",
    ] {
        assert!(out.lines().any(|l| l.starts_with(name)), "{name}: {out}");
    }
    assert!(
        !out.lines().any(|l| l.starts_with("no_wake_word/05.csv")),
        "{out}"
    );
    // Every row of every recording tested once.
    assert!(
        out.contains(&format!("of {} rows)", 833 + 1192 + 2413)),
        "{out}"
    );
    assert!(out.contains("confusion matrix"), "{out}");
    let last = out.lines().last().unwrap();
    let f1: f64 = last
        .strip_prefix("macro-F1 ")
        .unwrap_or_else(|| panic!("last line {last:?}"))
        .parse()
        .unwrap();
    assert!((0.0..=1.0).contains(&f1), "{last}");
    assert_eq!(last.len(), "macro-F1 0.0000".len(), "{last}");

    // One recording is not a cross-validation.
    let (ok, _, err) = alexa(&["crossval", f[2], f[3]]);
    assert!(!ok && err.contains("at least two distinct files"), "{err}");
}
