//! `alexa train`: a CART tree (`cart`) on dataset CSVs, compiled to the
//! kernel's form and written as MODEL.json.

use std::{collections::BTreeMap, path::Path};

use super::{
    cart,
    compile::{compile, FloatTree},
    evaluate::{round6, Confusion},
    file::{
        self, feature_spec, DataInfo, FileInfo, Model, ModelFile, NodeSpec, Params, Training,
        TreeSpec,
    },
};
use crate::offline::dataset::{
    common_features, load_dataset, load_distinct, Columns, DatasetFiles, DatasetRow,
};
use alexa_common::{
    tree::{classify_slice, TREE_MAX_DEPTH},
    Feature, CLASS_NAMES, NUM_CLASSES, NUM_FEATURES, NUM_PAPER_FEATURES,
};
use anyhow::{bail, Context as _, Result};

/// The learner named in model files.
pub const LEARNER: &str = "CART, alexa (weighted gini)";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClassWeight {
    /// Each class weighs n / (k × n_class): every class present counts the same.
    Balanced,
    None,
}

impl ClassWeight {
    pub fn name(self) -> &'static str {
        match self {
            ClassWeight::Balanced => "balanced",
            ClassWeight::None => "none",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct TrainOptions {
    pub max_depth: u32,
    /// Least (weighted) samples in a leaf.
    pub min_samples_leaf: u32,
    pub features: Vec<Feature>,
    pub class_weight: ClassWeight,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            max_depth: 20,
            min_samples_leaf: 1,
            features: extended_features(),
            class_weight: ClassWeight::Balanced,
        }
    }
}

/// The paper's seven features plus the kernel's behavioural extras. Not
/// `srcport`: an ephemeral port names a connection instance, not a behaviour
/// (the reason the paper drops `dstip`); a tree that splits on it learns the
/// training capture's ports and fails on any other capture (held-out syn F1
/// fell to 0 with it, docs/model.md). Not `flow_index` either: it measures
/// how long a connection has been up, which depends on when the capture (or
/// the agent) started, not on what the device does; a tree trained with it
/// told wake-word audio from a hidden upload by the voice connection having
/// carried 1,413 packets, so on any session shorter than the training one,
/// or after an agent restart, it dropped the audio and quarantined the
/// voice connection (docs/model.md).
pub fn extended_features() -> Vec<Feature> {
    Feature::ALL
        .iter()
        .copied()
        .filter(|f| *f != Feature::Srcport && *f != Feature::FlowIndex)
        .collect()
}

/// `paper` (the first seven), `extended` (all but `srcport` and
/// `flow_index`), `all` (all twelve), or a comma-separated list of feature
/// names.
pub fn parse_features(s: &str) -> Result<Vec<Feature>> {
    match s {
        "paper" => return Ok(Feature::ALL[..NUM_PAPER_FEATURES].to_vec()),
        "extended" => return Ok(extended_features()),
        "all" => return Ok(Feature::ALL.to_vec()),
        _ => {}
    }
    let mut out: Vec<Feature> = Vec::new();
    for name in s.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let f = Feature::from_name(name).with_context(|| {
            format!(
                "--features: unknown feature `{name}` (known: paper, extended, or names from {:?})",
                alexa_common::FEATURE_NAMES
            )
        })?;
        if !out.contains(&f) {
            out.push(f);
        }
    }
    if out.is_empty() {
        bail!("--features: no feature named");
    }
    out.sort_by_key(|f| *f as u8);
    Ok(out)
}

pub use crate::offline::dataset::row_features;

/// Everything training made.
pub struct Trained {
    pub float: FloatTree,
    pub model: Model,
}

impl Trained {
    pub fn file(&self) -> &ModelFile {
        &self.model.file
    }
}

/// Per-class weights (index = class id).
pub fn class_weights(rows: &[DatasetRow], how: ClassWeight) -> [f64; NUM_CLASSES] {
    let mut counts = [0u64; NUM_CLASSES];
    for r in rows {
        if let Some(c) = r.class {
            counts[c as usize] += 1;
        }
    }
    let n: u64 = counts.iter().sum();
    let k = counts.iter().filter(|&&c| c > 0).count() as f64;
    let mut w = [0.0; NUM_CLASSES];
    for c in 0..NUM_CLASSES {
        if counts[c] > 0 {
            w[c] = match how {
                ClassWeight::Balanced => n as f64 / (k * counts[c] as f64),
                ClassWeight::None => 1.0,
            };
        }
    }
    w
}

/// Weighted impurity decrease per feature (mean decrease in impurity, each
/// split weighted by the share of training weight reaching it), normalised.
fn importance(
    t: &FloatTree,
    rows: &[&DatasetRow],
    w: &[f64; NUM_CLASSES],
    total: f64,
    acc: &mut [f64; NUM_FEATURES],
) {
    if let FloatTree::Split {
        feature,
        split,
        impurity_decrease,
        left,
        right,
    } = t
    {
        let here: f64 = rows.iter().map(|r| w[r.class.unwrap_or(0) as usize]).sum();
        acc[*feature as usize] += here / total * impurity_decrease;
        let (l, r): (Vec<&DatasetRow>, Vec<&DatasetRow>) = rows
            .iter()
            .partition(|r| (r.values[*feature as usize] as f64) < *split);
        importance(left, &l, w, total, acc);
        importance(right, &r, w, total, acc);
    }
}

/// Trains on `rows` (all must have a class).
pub fn train_rows(rows: &[DatasetRow], opts: &TrainOptions, data: DataInfo) -> Result<Trained> {
    if rows.is_empty() {
        bail!("no rows to train on");
    }
    if opts.max_depth == 0 || opts.max_depth > TREE_MAX_DEPTH {
        bail!(
            "--max-depth {} is outside 1..={TREE_MAX_DEPTH} (the kernel's TREE_MAX_DEPTH)",
            opts.max_depth
        );
    }
    let cw = class_weights(rows, opts.class_weight);
    let samples = rows
        .iter()
        .map(|r| {
            let class = r
                .class
                .with_context(|| format!("line {}: no class", r.line))?;
            Ok(cart::Sample {
                values: opts
                    .features
                    .iter()
                    .map(|f| r.values[*f as usize])
                    .collect(),
                class,
                weight: cw[class as usize],
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let float = cart::fit(
        &samples,
        &opts.features,
        &cart::Params {
            max_depth: opts.max_depth,
            min_weight_leaf: opts.min_samples_leaf.max(1) as f64,
        },
    );
    let compiled = compile(&float)?;

    // Rows reaching each node, and the training metrics of the compiled tree.
    let mut samples = vec![0u64; compiled.nodes.len()];
    let mut confusion = Confusion::default();
    for r in rows {
        let f = row_features(&r.values);
        let mut i = 0usize;
        loop {
            samples[i] += 1;
            let n = compiled.nodes[i];
            if n.is_leaf() {
                break;
            }
            i = if f.get(n.feature) <= n.threshold {
                n.left
            } else {
                n.right
            } as usize;
        }
        let p = classify_slice(&compiled.nodes, &f).expect("compiled tree walks");
        confusion.add(r.class.unwrap_or(0), p);
    }

    let total_w: f64 = rows.iter().map(|r| cw[r.class.unwrap_or(0) as usize]).sum();
    let mut imp = [0.0; NUM_FEATURES];
    let refs: Vec<&DatasetRow> = rows.iter().collect();
    importance(&float, &refs, &cw, total_w, &mut imp);
    let sum: f64 = imp.iter().sum();
    let feature_importance: BTreeMap<String, f64> = opts
        .features
        .iter()
        .map(|f| {
            let v = if sum > 0.0 {
                imp[*f as usize] / sum
            } else {
                0.0
            };
            (f.name().to_owned(), round6(v))
        })
        .collect();

    let nodes: Vec<NodeSpec> = compiled
        .nodes
        .iter()
        .zip(&compiled.splits)
        .enumerate()
        .map(|(i, (n, split))| {
            if n.is_leaf() {
                NodeSpec {
                    id: i as u32,
                    class: Some(CLASS_NAMES[n.class as usize].to_owned()),
                    samples: samples[i],
                    ..NodeSpec::default()
                }
            } else {
                NodeSpec {
                    id: i as u32,
                    feature: Some(Feature::ALL[n.feature as usize].name().to_owned()),
                    threshold: Some(n.threshold),
                    split: *split,
                    left: Some(n.left),
                    right: Some(n.right),
                    samples: samples[i],
                    ..NodeSpec::default()
                }
            }
        })
        .collect();
    let leaves = compiled.nodes.iter().filter(|n| n.is_leaf()).count() as u32;
    let file = ModelFile {
        format: file::FORMAT.to_owned(),
        version: file::VERSION,
        contract: alexa_common::CONTRACT_VERSION,
        features: opts.features.iter().map(|f| feature_spec(*f)).collect(),
        classes: CLASS_NAMES.iter().map(|s| s.to_string()).collect(),
        tree: TreeSpec {
            rule: file::RULE.to_owned(),
            depth: compiled.depth,
            leaves,
            nodes,
        },
        training: Training {
            learner: LEARNER.to_owned(),
            data,
            params: Params {
                max_depth: opts.max_depth,
                min_samples_leaf: opts.min_samples_leaf,
                class_weight: opts.class_weight.name().to_owned(),
                split_quality: "gini".to_owned(),
            },
            class_weights: cw.iter().map(|w| round6(*w)).collect(),
            metrics: confusion.metrics(),
            feature_importance,
        },
    };
    let model = file::validate(file).context("the trained model does not validate")?;
    Ok(Trained { float, model })
}

pub use crate::offline::dataset::sha256_hex;

/// Checks that `rows`, read from `path` with `cols`, can train or test a
/// model on `features`: every feature has a column, every row a class, and
/// there is a row.
pub fn check_labelled(
    path: &Path,
    cols: &Columns,
    rows: &[DatasetRow],
    features: &[Feature],
) -> Result<()> {
    for f in features {
        if !cols.has(*f) {
            bail!(
                "{}: line 1: no `{}` column (a feature the model uses)",
                path.display(),
                f.name()
            );
        }
    }
    if cols.class.is_none() {
        bail!("{}: line 1: no `class` column", path.display());
    }
    if let Some(r) = rows.iter().find(|r| r.class.is_none()) {
        bail!("{}: line {}: empty class", path.display(), r.line);
    }
    if rows.is_empty() {
        bail!("{}: line 2: no data rows after the header", path.display());
    }
    Ok(())
}

/// Loads a dataset CSV whose rows all carry a class and the given features.
pub fn load_labelled(path: &Path, features: &[Feature]) -> Result<Vec<DatasetRow>> {
    let (cols, rows) = load_dataset(path)?;
    check_labelled(path, &cols, &rows, features)?;
    Ok(rows)
}

/// The features to train on: `spec` as `--features` gives it, or by
/// default the features every file has ([`common_features`]).
pub fn resolve_features(spec: Option<&str>, files: &DatasetFiles) -> Result<Vec<Feature>> {
    match spec {
        Some(s) => parse_features(s),
        None => {
            let f = common_features(&files.files);
            if f.is_empty() {
                let names: Vec<&str> = files.files.iter().map(|f| f.name.as_str()).collect();
                bail!(
                    "{}: line 1: no feature column common to every file (name some with --features)",
                    names.join(", ")
                );
            }
            Ok(f)
        }
    }
}

/// `training.data` for `files`: one entry per file given, byte-identical
/// copies marked and not counted.
pub fn data_info(files: &DatasetFiles) -> DataInfo {
    let mut class_counts = BTreeMap::new();
    let mut rows = 0;
    for f in &files.files {
        for r in &f.rows {
            *class_counts
                .entry(CLASS_NAMES[r.class.unwrap_or(0) as usize].to_owned())
                .or_insert(0) += 1;
        }
        rows += f.rows.len() as u64;
    }
    let mut list: Vec<FileInfo> = files
        .files
        .iter()
        .map(|f| FileInfo {
            file: f.name.clone(),
            sha256: f.sha256.clone(),
            rows: f.rows.len() as u64,
            duplicate_of: None,
        })
        .collect();
    list.extend(files.duplicates.iter().map(|d| FileInfo {
        file: d.name.clone(),
        sha256: d.sha256.clone(),
        rows: d.rows,
        duplicate_of: Some(d.same_as.clone()),
    }));
    let (file, sha256) = file::data_identity(&list);
    DataInfo {
        file,
        sha256,
        rows,
        class_counts,
        files: list,
    }
}

/// `alexa train`: trains on `path`; the caller writes the file.
pub fn train_file(path: &Path, opts: &TrainOptions) -> Result<Trained> {
    train_files(&load_distinct(&[path.to_owned()])?, opts)
}

/// `alexa train` on several files: their rows together, in the order given,
/// each distinct file once.
pub fn train_files(files: &DatasetFiles, opts: &TrainOptions) -> Result<Trained> {
    for f in &files.files {
        check_labelled(&f.path, &f.columns, &f.rows, &opts.features)?;
    }
    let rows: Vec<DatasetRow> = files
        .files
        .iter()
        .flat_map(|f| f.rows.iter().cloned())
        .collect();
    let data = data_info(files);
    let what = match files.files.as_slice() {
        [one] => one.path.display().to_string(),
        _ => data.file.clone(),
    };
    train_rows(&rows, opts, data).map_err(|e| anyhow::anyhow!("{what}: {e:#}"))
}
