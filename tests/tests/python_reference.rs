//! The bench's Python reference (tests/python) computes what alexa computes,
//! so that section 4 of docs/benchmarks.md compares like with like:
//! models/echo.json written into scikit-learn predicts the same class as
//! alexa's compiled tree on every row of the published dataset, and the
//! tshark + pandas + scikit-learn pipeline gives the same dataset columns
//! and the same `predicted` as `alexa classify` on a real capture.
//!
//! Needs Debian's python3-sklearn and python3-pandas and tshark (`cargo
//! xtask setup`) and the shared real data: without them the test skips,
//! saying so, unless `CI` is set: then it fails.

use std::{
    io::Write as _,
    path::{Path, PathBuf},
    process::Command,
};

use alexa::offline::model::train::row_features;

const PYTHON: &str = "/usr/bin/python3";

/// Whether the Python side and tshark can run; in CI they must.
fn tools() -> bool {
    let ok = Command::new(PYTHON)
        .arg(alexa_lab::files::python("stack.py"))
        .status()
        .is_ok_and(|s| s.success())
        && Command::new("tshark")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "python3-sklearn, python3-pandas or tshark missing: CI runs `cargo xtask setup`"
        );
        eprintln!("SKIPPED: python3-sklearn, python3-pandas or tshark missing (cargo xtask setup)");
    }
    ok
}

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("alexa-pyref-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn the_shipped_tree_in_scikit_learn_predicts_every_published_row_as_alexa_does() {
    if !tools() {
        return;
    }
    let Some(data) = alexa_lab::real::data_dir() else {
        return;
    };
    let model = alexa::offline::model::load(Path::new(alexa_lab::files::SHIPPED_MODEL)).unwrap();
    let mut rows = Vec::new();
    for context in std::fs::read_dir(data.join("paper-dataset")).unwrap() {
        for f in std::fs::read_dir(context.unwrap().path()).unwrap() {
            rows.extend(
                alexa::offline::dataset::load_dataset(&f.unwrap().path())
                    .unwrap()
                    .1,
            );
        }
    }
    assert_eq!(rows.len(), 62_630, "the published dataset's rows");
    let dir = temp_dir("tree");
    let input = dir.join("rows.f32");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&input).unwrap());
    for r in &rows {
        for f in &model.features {
            out.write_all(&(r.values[*f as usize] as f32).to_le_bytes())
                .unwrap();
        }
    }
    drop(out);
    let predictions = dir.join("predicted.u8");
    let run = Command::new(PYTHON)
        .arg(alexa_lab::files::python("tree_bench.py"))
        .arg(alexa_lab::files::SHIPPED_MODEL)
        .arg(&input)
        .arg(&predictions)
        .arg("1")
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "tree_bench.py: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let info: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(info["nodes"].as_u64(), Some(model.nodes.len() as u64));
    let theirs = std::fs::read(&predictions).unwrap();
    assert_eq!(theirs.len(), rows.len());
    let mut classes_seen = std::collections::BTreeSet::new();
    for (i, (r, p)) in rows.iter().zip(&theirs).enumerate() {
        let ours = model.predict(&row_features(&r.values));
        classes_seen.insert(ours);
        assert_eq!(
            ours, *p,
            "row {i} (line {}): alexa {ours}, scikit-learn {p}",
            r.line
        );
    }
    // Agreement on a tree that only ever said one class would prove little.
    assert!(
        classes_seen.len() >= 5,
        "classes predicted: {classes_seen:?}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The CSV's lines after the header, split at commas.
fn rows(path: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect()
}

#[test]
fn the_python_pipeline_classifies_a_real_capture_as_alexa_classify_does() {
    if !tools() {
        return;
    }
    let Some(dir) = alexa_lab::real::voice_dir() else {
        return;
    };
    let capture = dir.join("alexa_5_30s.pcap");
    let out = temp_dir("pipeline");
    let ours = out.join("alexa.csv");
    let theirs = out.join("python.csv");
    // What `alexa classify CAPTURE --model echo.json --device IP -o OUT` runs.
    let model = alexa::offline::model::load(Path::new(alexa_lab::files::SHIPPED_MODEL)).unwrap();
    let echo: alexa::kernel::device::Device = alexa_lab::real::VOICE_ECHO_IP.parse().unwrap();
    let devices = Some([echo.key()].into_iter().collect());
    alexa::offline::model::classify_capture(&model, &capture, devices, true, None, &ours).unwrap();
    let run = Command::new(PYTHON)
        .arg(alexa_lab::files::python("pipeline.py"))
        .arg(&capture)
        .arg(alexa_lab::real::VOICE_ECHO_IP)
        .arg(&theirs)
        .args(["--model", alexa_lab::files::SHIPPED_MODEL])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let (a, p) = (rows(&ours), rows(&theirs));
    assert!(a.len() > 500, "{} rows", a.len());
    assert_eq!(
        a.len(),
        p.len(),
        "rows: alexa {}, pipeline {}",
        a.len(),
        p.len()
    );
    for (i, (a, p)) in a.iter().zip(&p).enumerate() {
        // date … synchronized: the dataset's ten columns; then `predicted`.
        assert_eq!(a[..10], p[..10], "row {}: dataset columns", i + 1);
        assert_eq!(a.last(), p.last(), "row {}: predicted", i + 1);
    }
    std::fs::remove_dir_all(&out).unwrap();
}
