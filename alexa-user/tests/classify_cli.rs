//! `alexa simulate` → `alexa classify --labels` with the simulator's model: one
//! row per labelled frame, each with a prediction, and predictions that are
//! mostly right (the held-out metrics live in models/README.md).

use std::process::Command;

fn alexa(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_alexa"))
        .args(args)
        .output()
        .expect("run alexa");
    assert!(
        out.status.success(),
        "alexa {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn classify_a_simulated_capture_with_the_simulators_model() {
    let dir = std::env::temp_dir().join(format!("alexa-classify-{}", std::process::id()));
    let d = dir.to_str().unwrap();
    alexa(&["simulate", "--scenario", "all", "--seed", "5", "--out", d]);
    // A simulated capture: the simulator's model (models/README.md).
    let model = concat!(env!("CARGO_MANIFEST_DIR"), "/../models/sim.json");
    let out = format!("{d}/classified.csv");
    let log = alexa(&[
        "classify",
        &format!("{d}/capture.pcap"),
        "--model",
        model,
        "--device",
        "192.168.137.94",
        "--labels",
        &format!("{d}/labels.csv"),
        "-o",
        &out,
    ]);
    let labels = std::fs::read_to_string(format!("{d}/labels.csv"))
        .unwrap()
        .lines()
        .count()
        - 1;
    let csv = std::fs::read_to_string(&out).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(header.last(), Some(&"predicted"));
    let class_col = header.iter().position(|c| *c == "class").unwrap();
    let (mut rows, mut right) = (0, 0);
    for l in lines {
        let cells: Vec<&str> = l.split(',').collect();
        let predicted = *cells.last().unwrap();
        assert!(
            predicted.parse::<alexa_common::Class>().is_ok(),
            "bad prediction {predicted:?}"
        );
        rows += 1;
        right += (cells[class_col] == predicted) as usize;
    }
    assert_eq!(rows, labels, "one row per labelled frame");
    assert!(
        right * 100 >= rows * 95,
        "only {right} of {rows} right; {log}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
