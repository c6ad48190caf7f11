//! The capture reader gives the same rows for a pcap and for the pcapng that
//! Wireshark's `editcap` makes of it (also with nanosecond timestamps,
//! if_tsresol = 9), on every fixture.

use std::{path::Path, process::Command};

use alexa::{offline::extract::extract_each, offline::row::Row};

fn rows(capture: &Path) -> Vec<(u64, Row)> {
    let mut out = Vec::new();
    extract_each(capture, None, true, None, |n, r| {
        out.push((n, r.clone()));
        Ok(())
    })
    .unwrap_or_else(|e| panic!("{}: {e:#}", capture.display()));
    out
}

#[test]
fn pcapng_and_pcap_agree_on_every_fixture() {
    let have_editcap = Command::new("editcap").arg("-h").output().is_ok();
    if !have_editcap {
        assert!(
            std::env::var_os("CI").is_none(),
            "editcap (tshark's package) is missing in CI"
        );
        eprintln!("SKIPPED: editcap not installed (cargo xtask setup installs it)");
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let tmp = std::env::temp_dir().join(format!("alexa-pcapng-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let mut compared = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let pcap = entry.unwrap().path();
        if pcap.extension().is_none_or(|x| x != "pcap") {
            continue;
        }
        let want = rows(&pcap);
        for (tag, extra) in [("us", &[][..]), ("ns", &["--set-resolution", "9"][..])] {
            let ng = tmp.join(format!(
                "{}.{tag}.pcapng",
                pcap.file_stem().unwrap().to_string_lossy()
            ));
            let out = Command::new("editcap")
                .args(["-F", "pcapng"])
                .args(extra)
                .arg(&pcap)
                .arg(&ng)
                .output()
                .unwrap();
            if !out.status.success() {
                // Older editcap without --set-resolution: the µs form still counts.
                assert_eq!(
                    tag,
                    "ns",
                    "editcap failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                continue;
            }
            assert_eq!(rows(&ng), want, "{} as pcapng ({tag})", pcap.display());
            compared += want.len();
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    assert!(compared > 150, "too few rows compared: {compared}");
    eprintln!("pcapng reader: {compared} rows identical to their pcap originals");
}
