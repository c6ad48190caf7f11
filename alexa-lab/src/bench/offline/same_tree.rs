//! The same tree on both sides: the shipped model exported to scikit-learn,
//! predictions compared on every row, then batch prediction timed.

use super::*;

/// The shipped tree on every row of the published dataset, in alexa and in
/// scikit-learn: predictions compared, then batch prediction timed.
pub(super) fn same_tree(t: &mut Table, dir: &Path) -> Result<()> {
    let model = alexa::offline::model::load(Path::new(crate::bench::kernel::MODEL))?;
    let Some(data) = crate::real::data_dir() else {
        bail!("no published dataset (../shared/data/real)");
    };
    let mut files: Vec<PathBuf> = Vec::new();
    for context in std::fs::read_dir(data.join("paper-dataset"))? {
        for f in std::fs::read_dir(context?.path())? {
            files.push(f?.path());
        }
    }
    files.sort();
    let mut rows = Vec::new();
    for f in &files {
        rows.extend(alexa::offline::dataset::load_dataset(f)?.1);
    }
    let n = rows.len();
    let features: Vec<alexa_common::Features> =
        rows.iter().map(|r| row_features(&r.values)).collect();
    let tiled: Vec<alexa_common::Features> = (0..TILE).flat_map(|_| features.clone()).collect();
    let rows_file = dir.join("published.f32");
    {
        let mut out = BufWriter::new(std::fs::File::create(&rows_file)?);
        for _ in 0..TILE {
            for r in &rows {
                for f in &model.features {
                    out.write_all(&(r.values[*f as usize] as f32).to_le_bytes())?;
                }
            }
        }
        out.flush()?;
    }
    let runs = 5;
    say("offline: the shipped tree in alexa, published rows");
    let mut ours_s = f64::INFINITY;
    let mut ours = Vec::with_capacity(tiled.len());
    for _ in 0..runs {
        ours.clear();
        let start = Instant::now();
        for f in &tiled {
            ours.push(model.predict(std::hint::black_box(f)));
        }
        ours_s = ours_s.min(start.elapsed().as_secs_f64());
    }
    say("offline: the shipped tree in scikit-learn, published rows");
    let predictions = dir.join("published-sklearn.u8");
    let out = run_ok(
        Command::new(PYTHON)
            .arg(crate::files::python("tree_bench.py"))
            .arg(crate::bench::kernel::MODEL)
            .arg(&rows_file)
            .arg(&predictions)
            .arg(runs.to_string()),
    )?;
    let sk: serde_json::Value = serde_json::from_slice(&out)?;
    let sk_s = sk["predict_s"].as_f64().unwrap_or(f64::NAN);
    let theirs = std::fs::read(&predictions)?;
    if theirs.len() != ours.len() {
        bail!(
            "scikit-learn predicted {} rows, alexa {}",
            theirs.len(),
            ours.len()
        );
    }
    let differ = ours[..n]
        .iter()
        .zip(&theirs[..n])
        .filter(|(a, b)| a != b)
        .count();
    let m = tiled.len() as f64;
    t.row(vec![
        format!(
            "the shipped tree ({} nodes, depth {}) on the published dataset: {} rows, {} files",
            model.nodes.len(),
            model.file.tree.depth,
            thousands(n as f64),
            files.len()
        ),
        format!(
            "alexa's compiled tree (`Model::predict`, the walk `alexa classify` and the kernel run): same class on {} of {} rows",
            thousands((n - differ) as f64),
            thousands(n as f64)
        ),
        format!(
            "scikit-learn {} `DecisionTreeClassifier`, `tree_` written from models/echo.json ({} nodes, depth {})",
            sk["version"].as_str().unwrap_or("?"),
            sk["nodes"],
            sk["depth"]
        ),
        String::new(),
        "every row predicted the same".into(),
        verdict(differ == 0),
    ]);
    t.row(vec![
        format!(
            "batch prediction, the published rows × {TILE} ({} rows) prepared as numbers",
            thousands(m)
        ),
        format!("{:.1} ms, {} rows/s", ours_s * 1e3, thousands(m / ours_s)),
        format!(
            "`predict` on a float32 array: {:.1} ms, {} rows/s",
            sk_s * 1e3,
            thousands(m / sk_s)
        ),
        format!("{:.1}×", sk_s / ours_s),
        "faster than scikit-learn".into(),
        verdict(ours_s < sk_s),
    ]);
    t.target(
        "the shipped tree in scikit-learn: same class on every published row",
        format!(
            "{} of {} rows differ",
            thousands(differ as f64),
            thousands(n as f64)
        ),
        "0 differ",
        differ == 0,
    );
    t.target(
        "batch prediction, same tree, same prepared rows: alexa against scikit-learn",
        format!(
            "{:.1}× faster ({:.1} ms vs {:.1} ms)",
            sk_s / ours_s,
            ours_s * 1e3,
            sk_s * 1e3
        ),
        "faster than scikit-learn",
        ours_s < sk_s,
    );
    Ok(())
}
