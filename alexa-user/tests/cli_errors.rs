//! Bad input gets one line naming the problem and where, a non-zero exit,
//! and no half-written output.

use std::{path::PathBuf, process::Command};

fn alexa(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_alexa"))
        .args(args)
        .output()
        .expect("run alexa");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("alexa-cli-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

/// A pcap with one valid Ethernet/IPv4/UDP frame.
fn good_pcap() -> Vec<u8> {
    let mut v = vec![
        0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0,
    ];
    let mut frame = vec![2u8; 12];
    frame.extend([
        0x08, 0x00, 0x45, 0, 0, 29, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 2, 10, 0, 0, 1,
    ]);
    frame.extend([0x13, 0x88, 0, 53, 0, 9, 0, 0, b'x']);
    for x in [1u32, 0, frame.len() as u32, frame.len() as u32] {
        v.extend(x.to_le_bytes());
    }
    v.extend(frame);
    v
}

fn one_line_error(stderr: &str, must_contain: &[&str]) {
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "not one line: {stderr:?}"
    );
    for s in must_contain {
        assert!(stderr.contains(s), "{stderr:?} does not mention {s:?}");
    }
}

#[test]
fn extract_good_capture_writes_the_csv() {
    let cap = tmp("good.pcap");
    std::fs::write(&cap, good_pcap()).unwrap();
    let out = tmp("good.csv");
    let (code, _, err) = alexa(&[
        "extract",
        cap.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let csv = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(
        lines[1].starts_with(
            "1970-01-01 00:00:01.000000,43,10.0.0.1,53,2,0,0,1,,1,,1,0,0,5000,17,0,1,0"
        ),
        "{}",
        lines[1]
    );
}

#[test]
fn extract_missing_file() {
    let out = tmp("missing.csv");
    let (code, _, err) = alexa(&[
        "extract",
        "/nonexistent/cap.pcap",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_ne!(code, 0);
    one_line_error(&err, &["/nonexistent/cap.pcap", "cannot read"]);
    assert!(!out.exists());
}

#[test]
fn extract_truncated_capture_names_the_byte_and_leaves_no_output() {
    let cap = tmp("trunc.pcap");
    let mut bytes = good_pcap();
    bytes.extend(&good_pcap()[24..50]); // a second record, cut short
    std::fs::write(&cap, &bytes).unwrap();
    let out = tmp("trunc.csv");
    let (code, _, err) = alexa(&[
        "extract",
        cap.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_ne!(code, 0);
    let second_record = good_pcap().len();
    one_line_error(
        &err,
        &["trunc.pcap", &format!("byte {second_record}"), "truncated"],
    );
    assert!(!out.exists(), "a partial output file was left");
    let leftovers: Vec<_> = std::fs::read_dir(out.parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("trunc.csv"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn extract_not_a_capture() {
    let cap = tmp("notes.txt");
    std::fs::write(&cap, b"hello world, not a capture").unwrap();
    let (code, _, err) = alexa(&[
        "extract",
        cap.to_str().unwrap(),
        "-o",
        tmp("x.csv").to_str().unwrap(),
    ]);
    assert_ne!(code, 0);
    one_line_error(&err, &["notes.txt", "byte 0", "not a pcap or pcapng file"]);
}

#[test]
fn extract_labels_with_wrong_header() {
    let cap = tmp("lab.pcap");
    std::fs::write(&cap, good_pcap()).unwrap();
    let labels = tmp("labels.csv");
    std::fs::write(&labels, "frame,when,class\n1,0,ack\n").unwrap();
    let (code, _, err) = alexa(&[
        "extract",
        cap.to_str().unwrap(),
        "--labels",
        labels.to_str().unwrap(),
        "-o",
        tmp("lab.csv").to_str().unwrap(),
    ]);
    assert_ne!(code, 0);
    one_line_error(&err, &["labels.csv", "line 1", "header"]);
}

#[test]
fn extract_label_on_a_frame_not_in_the_capture() {
    let cap = tmp("lab2.pcap");
    std::fs::write(&cap, good_pcap()).unwrap();
    let labels = tmp("labels2.csv");
    std::fs::write(
        &labels,
        "frame,timestamp,context,microphone,class\n1,1.0,idle,1,not_relevant\n5,1.0,idle,1,ack\n",
    )
    .unwrap();
    let out = tmp("lab2.csv");
    let (code, _, err) = alexa(&[
        "extract",
        cap.to_str().unwrap(),
        "--labels",
        labels.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_ne!(code, 0);
    one_line_error(&err, &["labels2.csv", "line 3", "frame 5"]);
    assert!(!out.exists());
}

#[test]
fn run_needs_a_device() {
    let (code, _, err) = alexa(&["run", "--iface", "lo"]);
    assert_ne!(code, 0);
    assert!(err.contains("--device"), "{err}");
}

#[test]
fn run_on_a_missing_interface() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("SKIPPED: needs root to get past the privilege check");
        return;
    }
    let (code, _, err) = alexa(&["run", "--iface", "nosuch0", "--device", "10.0.0.2"]);
    assert_ne!(code, 0);
    one_line_error(&err, &["no such interface: nosuch0"]);
}

#[test]
fn run_without_root() {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let mut cmd = if root {
        let mut c = Command::new("setpriv");
        c.args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            env!("CARGO_BIN_EXE_alexa"),
        ]);
        c
    } else {
        Command::new(env!("CARGO_BIN_EXE_alexa"))
    };
    let out = cmd
        .args(["run", "--iface", "lo", "--device", "10.0.0.2"])
        .output()
        .expect("run");
    assert_ne!(out.status.code(), Some(0));
    one_line_error(&String::from_utf8_lossy(&out.stderr), &["needs root"]);
}
