//! The lab commands (the `lab` feature): train, crossval, evaluate,
//! simulate, replay, arrivals, prepare, report.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::{
    offline::{compare, dataset, figures, model, prepare as prep, simulate as sim},
    util::atomic_file::AtomicFile,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ClassWeightArg {
    Balanced,
    None,
}

/// The tree options `train` and `crossval` share.
#[derive(clap::Args)]
pub struct TreeArgs {
    /// Deepest the tree may grow (the kernel walks at most 32 levels).
    #[arg(long, default_value_t = 20)]
    max_depth: u32,
    /// Least (class-weighted) samples in a leaf.
    #[arg(long, default_value_t = 1)]
    min_samples_leaf: u32,
    /// `paper` (first seven), `extended` (all but srcport and flow_index),
    /// `all` or a comma-separated list; default: the feature columns every
    /// file has, but never srcport or flow_index.
    #[arg(long)]
    pub features: Option<String>,
    /// balanced: each class weighs the same in total (rare uploads count); none: every row weighs 1.
    #[arg(long, value_enum, default_value_t = ClassWeightArg::Balanced)]
    class_weight: ClassWeightArg,
}

impl TreeArgs {
    /// Checks `--features` before any file is read.
    fn check(&self) -> Result<()> {
        if let Some(f) = &self.features {
            model::train::parse_features(f)?;
        }
        Ok(())
    }

    fn options(&self, files: &dataset::DatasetFiles) -> Result<model::train::TrainOptions> {
        use model::train;
        Ok(train::TrainOptions {
            max_depth: self.max_depth,
            min_samples_leaf: self.min_samples_leaf,
            features: train::resolve_features(self.features.as_deref(), files)?,
            class_weight: match self.class_weight {
                ClassWeightArg::Balanced => train::ClassWeight::Balanced,
                ClassWeightArg::None => train::ClassWeight::None,
            },
        })
    }
}

/// `alexa train`.
pub fn train(
    datasets: &[PathBuf],
    out: &Path,
    tree: &TreeArgs,
    report: Option<&Path>,
) -> Result<()> {
    use model::train;
    tree.check()?;
    let files = dataset::load_distinct(datasets)?;
    for n in files.notes() {
        eprintln!("alexa train: note: {n}");
    }
    let opts = tree.options(&files)?;
    if tree.features.is_none() {
        eprintln!(
            "alexa train: features (the columns every file has): {}",
            feature_names(&opts.features)
        );
    }
    let t = train::train_files(&files, &opts)?;
    model::file::save(t.file(), out)?;
    let f = t.file();
    eprintln!(
        "alexa train: {} rows from {} file(s); {} nodes, depth {}, {} leaves; training accuracy {:.4}, macro-F1 {:.4}; wrote {}",
        f.training.data.rows,
        files.files.len(),
        f.tree.nodes.len(),
        f.tree.depth,
        f.tree.leaves,
        f.training.metrics.accuracy,
        f.training.metrics.macro_f1,
        out.display()
    );
    if let Some(dir) = report {
        let mut c = model::evaluate::Confusion::default();
        for r in files.files.iter().flat_map(|f| &f.rows) {
            c.add(
                r.class.unwrap_or(0),
                t.model.predict(&train::row_features(&r.values)),
            );
        }
        figures::model::write_report(dir, &t.model, &c, "training set")?;
    }
    Ok(())
}

/// `alexa crossval`.
pub fn crossval(
    datasets: &[PathBuf],
    tree: &TreeArgs,
    prepare: prep::PrepareOptions,
    jobs: Option<usize>,
) -> Result<()> {
    use model::crossval;
    tree.check()?;
    let files = dataset::load_distinct(datasets)?;
    for n in files.notes() {
        eprintln!("alexa crossval: note: {n}");
    }
    let opts = crossval::CrossvalOptions {
        train: tree.options(&files)?,
        prepare,
        threads: jobs.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        }),
    };
    let n = files.files.len();
    eprintln!(
        "alexa crossval: {n} folds, features {}",
        feature_names(&opts.train.features)
    );
    let done = std::sync::atomic::AtomicUsize::new(0);
    let cv = crossval::crossval(&files, &opts, &|_, f| {
        let k = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        eprintln!(
            "alexa crossval: [{k}/{n}] held out {}: trained on {} rows, macro-F1 {:.4} on its {} rows",
            f.name,
            f.train_rows,
            f.confusion.macro_f1(),
            f.rows
        );
    })?;
    println!("{}", cv.report());
    Ok(())
}

/// `alexa evaluate`.
pub fn evaluate(model_path: &Path, dataset: &Path, report: Option<&Path>) -> Result<()> {
    let m = model::load(model_path)?;
    let c = model::evaluate_file(&m, dataset)?;
    let names: Vec<&str> = m.features.iter().map(|f| f.name()).collect();
    println!(
        "model: {} ({} nodes, depth {}; features: {})",
        model_path.display(),
        m.nodes.len(),
        m.file.tree.depth,
        names.join(",")
    );
    println!("dataset: {}", dataset.display());
    if let Some(dir) = report {
        let what = dataset
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        figures::model::write_report(dir, &m, &c, &what)?;
    }
    println!("{}", c.report());
    Ok(())
}

/// `alexa simulate`.
pub fn simulate(opts: &sim::SimOptions, out: &Path) -> Result<()> {
    let w = sim::simulate_to_dir(opts, out)?;
    eprintln!(
        "alexa simulate: {} frames over {:.0} s, {} sent by the device, written to {}",
        w.frames,
        w.seconds,
        w.labelled,
        out.display()
    );
    Ok(())
}

/// `alexa prepare`.
pub fn prepare(dataset: &Path, out: &Path, ack_keep: f64, seed: u64) -> Result<()> {
    let p = prep::prepare(dataset, out, &prep::PrepareOptions { ack_keep, seed })?;
    print!("{}", p.table());
    eprintln!(
        "alexa prepare: {} rows in, {} written to {} ({} NaN content types set to 0)",
        p.rows_in,
        p.rows_out,
        out.display(),
        p.nan_fixed
    );
    Ok(())
}

/// `alexa report`.
pub fn report(
    dataset: &Path,
    out: &Path,
    compare: &[PathBuf],
    ack_keep: f64,
    seed: u64,
) -> Result<()> {
    // The comparison first: a bad reference file fails before any figure.
    let cmp = (!compare.is_empty())
        .then(|| compare::compare(dataset, compare))
        .transpose()?;
    figures::report(dataset, out, &prep::PrepareOptions { ack_keep, seed })?;
    eprintln!(
        "alexa report: figures and summary.md written to {}",
        out.display()
    );
    if let Some(c) = cmp {
        for n in c.notes() {
            eprintln!("alexa report: {n}");
        }
        let mut md = format!(
            "# `{}` against {} reference file(s): two-sample Kolmogorov–Smirnov D per class\n\n",
            dataset.display(),
            c.reference_files
        );
        md.push_str(&c.table());
        md.push('\n');
        for n in c.notes() {
            md.push_str(&format!("- {n}\n"));
        }
        let path = out.join("compare.md");
        let mut f = AtomicFile::create(&path)?;
        std::io::Write::write_all(&mut f, md.as_bytes())?;
        f.commit()?;
        print!("{}", c.table());
        eprintln!("alexa report: comparison written to {}", path.display());
    }
    Ok(())
}

fn feature_names(features: &[alexa_common::Feature]) -> String {
    let names: Vec<&str> = features.iter().map(|f| f.name()).collect();
    names.join(",")
}
