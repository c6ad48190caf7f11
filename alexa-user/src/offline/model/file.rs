//! MODEL.json: the schema (docs/model.md), writing, and loading with full
//! validation. Every load error is one line naming the file and the problem.

use std::{collections::BTreeMap, path::Path};

use alexa_common::{
    class_id,
    tree::{Node, LEAF, TREE_CAPACITY, TREE_MAX_DEPTH},
    Feature, CLASS_NAMES, CONTRACT_VERSION, NUM_FEATURES,
};
use anyhow::{bail, Context as _, Result};
use serde::{Deserialize, Serialize};

use super::compile::{int_split, IntSplit};
use crate::util::atomic_file::AtomicFile;

/// `format` of every model file.
pub const FORMAT: &str = "alexa-decision-tree";
/// Schema version this build writes and reads (2: with `contract`).
pub const VERSION: u32 = 2;
/// The comparison every split makes.
pub const RULE: &str = "left when value <= threshold";

/// The whole file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelFile {
    pub format: String,
    pub version: u32,
    /// Version of the feature contract the model's features follow
    /// (`alexa_common::CONTRACT_VERSION`); absent (0) in files written
    /// before contract version 2.
    #[serde(default)]
    pub contract: u32,
    /// The features the model was trained on (a split may use only these).
    pub features: Vec<FeatureSpec>,
    /// Class names, index = class id; must be the contract's eight in order.
    pub classes: Vec<String>,
    pub tree: TreeSpec,
    pub training: Training,
}

/// One input feature: how the kernel's integer is made.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureSpec {
    /// `contract::Feature` id, the number a node's `feature` compiles to.
    pub id: u8,
    pub name: String,
    /// Unit of the integer the tree compares.
    pub unit: String,
    /// Integer = dataset column value × scale (1 for every feature of
    /// contract version 2, whose columns are all integers).
    pub scale: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TreeSpec {
    /// Always [`RULE`].
    pub rule: String,
    /// Most splits on a root-to-leaf path.
    pub depth: u32,
    pub leaves: u32,
    /// Node 0 is the root; children come after their parent.
    pub nodes: Vec<NodeSpec>,
}

/// A split (`feature`, `threshold`, `left`, `right`, `split`) or a leaf (`class`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSpec {
    pub id: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature: Option<String>,
    /// Integer threshold: left when the feature's integer value is `<= threshold`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<u64>,
    /// The trained float split (`value < split` goes left), for audit; the
    /// threshold is `ceil(split) - 1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub left: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub right: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// Training rows that reach this node.
    #[serde(default)]
    pub samples: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Training {
    /// Learner, crate and version.
    pub learner: String,
    pub data: DataInfo,
    pub params: Params,
    /// Per-class weights used (index = class id; 0 for a class absent from the data).
    pub class_weights: Vec<f64>,
    /// Metrics of the compiled tree on the training data.
    pub metrics: Metrics,
    /// Weighted impurity decrease per feature name, normalised to sum 1.
    pub feature_importance: BTreeMap<String, f64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataInfo {
    /// The training file's name; with several files, their names joined
    /// by ` + ` (copies left out).
    pub file: String,
    /// SHA-256 of the training file's bytes, hex; with several files, the
    /// SHA-256 of their digests (see [`data_identity`]).
    pub sha256: String,
    /// Rows trained on (each distinct file once).
    pub rows: u64,
    pub class_counts: BTreeMap<String, u64>,
    /// Every file given, in order, copies last; absent in files written
    /// before models were trained on several files.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileInfo>,
}

/// One training file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileInfo {
    /// Its name: the shortest ending of its path that tells the files apart.
    pub file: String,
    /// SHA-256 of its bytes, hex.
    pub sha256: String,
    pub rows: u64,
    /// Set on a byte-identical copy of an earlier file (same `sha256`),
    /// whose rows were not trained on a second time: that file's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate_of: Option<String>,
}

/// `training.data.file` and `.sha256` for a file list: the one distinct
/// file's name and digest, or for several the names joined by ` + ` and
/// the SHA-256 of their hex digests, each followed by a newline, in order.
pub fn data_identity(files: &[FileInfo]) -> (String, String) {
    let distinct: Vec<&FileInfo> = files.iter().filter(|f| f.duplicate_of.is_none()).collect();
    match distinct.as_slice() {
        [one] => (one.file.clone(), one.sha256.clone()),
        many => {
            let names: Vec<&str> = many.iter().map(|f| f.file.as_str()).collect();
            let digests: String = many.iter().map(|f| format!("{}\n", f.sha256)).collect();
            (
                names.join(" + "),
                crate::offline::dataset::sha256_hex(digests.as_bytes()),
            )
        }
    }
}

/// The checks on `training.data` when it lists its files: digests are
/// SHA-256 hex, a copy names an earlier distinct file with its digest, the
/// distinct files differ, and the totals add up.
fn validate_data(d: &DataInfo) -> Result<()> {
    if d.files.is_empty() {
        return Ok(());
    }
    let hex = |s: &str| {
        s.len() == 64
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    let mut rows = 0u64;
    for (i, f) in d.files.iter().enumerate() {
        let at = || format!("training.data.files[{i}]");
        if !hex(&f.sha256) {
            bail!("{}: sha256 is not 64 lowercase hex digits", at());
        }
        let earlier = &d.files[..i];
        match &f.duplicate_of {
            None => {
                if earlier.iter().any(|e| e.sha256 == f.sha256) {
                    bail!(
                        "{}: same sha256 as an earlier file but no duplicate_of",
                        at()
                    );
                }
                rows += f.rows;
            }
            Some(name) => {
                let ok = earlier
                    .iter()
                    .any(|e| e.duplicate_of.is_none() && &e.file == name && e.sha256 == f.sha256);
                if !ok {
                    bail!(
                        "{}: duplicate_of {name:?} names no earlier file with the same sha256",
                        at()
                    );
                }
            }
        }
    }
    if rows != d.rows {
        bail!(
            "training.data.rows is {}, the files' rows add up to {rows}",
            d.rows
        );
    }
    let counted: u64 = d.class_counts.values().sum();
    if counted != d.rows {
        bail!(
            "training.data.class_counts add up to {counted}, not rows ({})",
            d.rows
        );
    }
    if (d.file.clone(), d.sha256.clone()) != data_identity(&d.files) {
        bail!("training.data.file/sha256 do not match its files");
    }
    Ok(())
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub max_depth: u32,
    pub min_samples_leaf: u32,
    /// `balanced` or `none`.
    pub class_weight: String,
    /// `gini`.
    pub split_quality: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metrics {
    pub accuracy: f64,
    pub macro_f1: f64,
    /// Per class name: precision, recall, f1, support.
    pub per_class: BTreeMap<String, ClassMetrics>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassMetrics {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub support: u64,
}

/// The unit and scale of each feature's integer.
pub fn feature_spec(f: Feature) -> FeatureSpec {
    let (unit, scale) = match f {
        Feature::Length => ("frame bytes: 14 + IP length", 1),
        Feature::PayloadLen => ("bytes of L4 payload", 1),
        Feature::Dstport | Feature::Srcport => ("port number", 1),
        Feature::HighestLayer => ("0 SSL, 1 TCP, 2 DATA, 3 HTTP", 1),
        Feature::Delta => ("whole milliseconds, SSL/TCP-layer clock", 1),
        Feature::DeltaUs => ("microseconds", 1),
        Feature::RecordLen => ("TLS record length, 0 none", 1),
        Feature::AckFlag | Feature::Microphone | Feature::TcpRetrans => ("0/1", 1),
        Feature::ContentType => ("TLS record content type, 0 none", 1),
        Feature::Proto => ("IP protocol number", 1),
        Feature::TcpFlags => ("TCP flag bits", 1),
        Feature::FlowIndex => ("packet index in its flow, from 1", 1),
    };
    FeatureSpec {
        id: f as u8,
        name: f.name().to_owned(),
        unit: unit.to_owned(),
        scale,
    }
}

/// A model file checked and compiled for walking.
#[derive(Clone, Debug)]
pub struct Model {
    pub file: ModelFile,
    pub nodes: Vec<Node>,
    pub features: Vec<Feature>,
}

impl Model {
    /// The model's identity in events and logs: the first 32 bits of the
    /// SHA-256 of its canonical JSON (never 0, which means "no model").
    pub fn version_id(&self) -> u32 {
        use sha2::Digest as _;
        let json = serde_json::to_vec(&self.file).unwrap_or_default();
        let digest = sha2::Sha256::digest(&json);
        u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]).max(1)
    }

    pub fn predict(&self, f: &alexa_common::Features) -> u8 {
        // Validated: every walk ends at a leaf within the depth bound.
        alexa_common::tree::classify_slice(&self.nodes, f).unwrap_or(alexa_common::CLASS_NONE)
    }
}

pub fn save(model: &ModelFile, path: &Path) -> Result<()> {
    use std::io::Write as _;
    let mut out = AtomicFile::create(path)?;
    serde_json::to_writer_pretty(out.writer(), model)
        .with_context(|| format!("{}: cannot write", path.display()))?;
    writeln!(out)?;
    out.commit()
}

pub fn load(path: &Path) -> Result<Model> {
    let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
    from_slice(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// A model from the bytes of a MODEL.json, fully validated; the error says
/// what is wrong and where (line and column for JSON errors), not the file.
pub fn from_slice(bytes: &[u8]) -> Result<Model> {
    let file: ModelFile = serde_json::from_slice(bytes).map_err(|e| {
        anyhow::anyhow!(
            "line {} column {}: {}",
            e.line(),
            e.column(),
            crate::util::text::one_line(strip_position(&e.to_string()))
        )
    })?;
    validate(file)
}

fn strip_position(msg: &str) -> &str {
    msg.rsplit_once(" at line ").map_or(msg, |(m, _)| m)
}

/// Every check a loader makes; the error does not name the file.
pub fn validate(file: ModelFile) -> Result<Model> {
    if file.format != FORMAT {
        bail!("format is {:?}, not {FORMAT:?}", file.format);
    }
    if file.version != VERSION || file.contract != CONTRACT_VERSION {
        let contract = if file.contract == 0 { 1 } else { file.contract };
        bail!(
            "the model follows feature contract version {contract} (schema version {}); this alexa \
             computes contract version {CONTRACT_VERSION} features (schema version {VERSION}): retrain it \
             on data extracted by this alexa (`alexa train`)",
            file.version
        );
    }
    if file.classes != CLASS_NAMES {
        bail!(
            "classes must be exactly {CLASS_NAMES:?} in that order, found {:?}",
            file.classes
        );
    }
    if file.tree.rule != RULE {
        bail!("tree.rule is {:?}, not {RULE:?}", file.tree.rule);
    }
    let mut features = Vec::new();
    let mut allowed = [false; NUM_FEATURES];
    for (i, spec) in file.features.iter().enumerate() {
        let f = Feature::from_name(&spec.name)
            .with_context(|| format!("features[{i}]: unknown feature {:?}", spec.name))?;
        if spec.id != f as u8 {
            bail!(
                "features[{i}]: `{}` has id {}, the contract says {}",
                spec.name,
                spec.id,
                f as u8
            );
        }
        let want = feature_spec(f);
        if spec.scale != want.scale {
            bail!(
                "features[{i}]: `{}` has scale {}, the kernel uses {}",
                spec.name,
                spec.scale,
                want.scale
            );
        }
        if allowed[f as usize] {
            bail!("features[{i}]: `{}` listed twice", spec.name);
        }
        allowed[f as usize] = true;
        features.push(f);
    }
    validate_data(&file.training.data)?;
    let specs = &file.tree.nodes;
    let n = specs.len();
    if n == 0 {
        bail!("tree.nodes is empty");
    }
    if n > TREE_CAPACITY as usize {
        bail!("tree has {n} nodes, over the kernel's TREE_CAPACITY ({TREE_CAPACITY})");
    }
    let mut nodes = Vec::with_capacity(n);
    let mut parents = vec![0u32; n];
    for (i, s) in specs.iter().enumerate() {
        let at = || format!("tree.nodes[{i}]");
        if s.id as usize != i {
            bail!("{}: id is {}, expected {i}", at(), s.id);
        }
        match (&s.feature, &s.class) {
            (Some(name), None) => {
                let f = Feature::from_name(name)
                    .with_context(|| format!("{}: unknown feature {name:?}", at()))?;
                if !allowed[f as usize] {
                    bail!(
                        "{}: feature `{name}` is not in the model's feature list",
                        at()
                    );
                }
                let (Some(t), Some(l), Some(r)) = (s.threshold, s.left, s.right) else {
                    bail!("{}: a split needs threshold, left and right", at());
                };
                for (side, c) in [("left", l), ("right", r)] {
                    if c as usize <= i || c as usize >= n {
                        bail!(
                            "{}: {side} child {c} must come after the node and be below {n} (children only forward)",
                            at()
                        );
                    }
                    parents[c as usize] += 1;
                }
                if l == r {
                    bail!("{}: left and right are both node {l}", at());
                }
                if let Some(split) = s.split {
                    let ok = matches!(int_split(split), Ok(IntSplit::LeftIfLe(x)) if x == t);
                    if !ok {
                        bail!("{}: threshold {t} does not match split {split} (expected ceil(split) - 1)", at());
                    }
                }
                nodes.push(Node::split(f as u8, t, l, r));
            }
            (None, Some(name)) => {
                let c =
                    class_id(name).with_context(|| format!("{}: unknown class {name:?}", at()))?;
                if s.threshold.is_some()
                    || s.left.is_some()
                    || s.right.is_some()
                    || s.split.is_some()
                {
                    bail!(
                        "{}: a leaf (class) has no threshold, split, left or right",
                        at()
                    );
                }
                nodes.push(Node::leaf(c));
            }
            (Some(_), Some(_)) => bail!(
                "{}: has both feature and class; a node is a split or a leaf",
                at()
            ),
            (None, None) => bail!("{}: has neither feature nor class", at()),
        }
    }
    if let Some(i) = (1..n).find(|&i| parents[i] != 1) {
        bail!(
            "tree.nodes[{i}]: referenced by {} splits, must be exactly 1",
            parents[i]
        );
    }
    // Depth: children come later, so one forward pass.
    let mut depth = vec![0u32; n];
    let mut max = 0;
    let mut leaves = 0;
    for i in 0..n {
        let node = nodes[i];
        if node.feature == LEAF {
            leaves += 1;
            max = max.max(depth[i]);
        } else {
            depth[node.left as usize] = depth[i] + 1;
            depth[node.right as usize] = depth[i] + 1;
        }
    }
    if max > TREE_MAX_DEPTH {
        bail!("tree is {max} splits deep, over the kernel's TREE_MAX_DEPTH ({TREE_MAX_DEPTH})");
    }
    if max != file.tree.depth || leaves != file.tree.leaves {
        bail!(
            "tree.depth/leaves say {}/{}, the nodes make {max}/{leaves}",
            file.tree.depth,
            file.tree.leaves
        );
    }
    Ok(Model {
        file,
        nodes,
        features,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> ModelFile {
        let leaf = |id, class: &str| NodeSpec {
            id,
            class: Some(class.into()),
            ..NodeSpec::default()
        };
        ModelFile {
            format: FORMAT.into(),
            version: VERSION,
            contract: CONTRACT_VERSION,
            features: vec![feature_spec(Feature::Length), feature_spec(Feature::Delta)],
            classes: CLASS_NAMES.iter().map(|s| s.to_string()).collect(),
            tree: TreeSpec {
                rule: RULE.into(),
                depth: 1,
                leaves: 2,
                nodes: vec![
                    NodeSpec {
                        id: 0,
                        feature: Some("length".into()),
                        threshold: Some(99),
                        split: Some(99.5),
                        left: Some(1),
                        right: Some(2),
                        ..NodeSpec::default()
                    },
                    leaf(1, "syn"),
                    leaf(2, "expected"),
                ],
            },
            training: Training::default(),
        }
    }

    fn err(f: impl FnOnce(&mut ModelFile)) -> String {
        let mut m = small();
        f(&mut m);
        validate(m).unwrap_err().to_string()
    }

    #[test]
    fn a_good_file_loads_and_round_trips() {
        let dir = std::env::temp_dir().join(format!("alexa-model-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("m.json");
        save(&small(), &path).unwrap();
        let m = load(&path).unwrap();
        assert_eq!(m.file, small());
        assert_eq!(m.nodes[0], Node::split(0, 99, 1, 2));
        assert_eq!(m.nodes[2], Node::leaf(7));
        std::fs::write(&path, "{\n  \"format\": 3\n}").unwrap();
        let e = load(&path).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("{}: line 2 column", path.display())),
            "{e}"
        );
        assert!(!e.contains('\n'));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Found by the `model` fuzz target: serde quotes an unknown key as it
    /// is, so an escaped newline in a key split the error over two lines.
    #[test]
    fn json_errors_quoting_the_file_stay_on_one_line() {
        let e = from_slice(b"{\n \"\\/\\\\\\ni\": 1}")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("line 2 column"), "{e}");
        assert!(e.contains(r"unknown field `/\\ni`"), "{e}");
        assert!(!e.contains('\n'), "{e:?}");
    }

    #[test]
    fn every_defect_is_named() {
        assert!(err(|m| m.version = 3).contains("schema version 3"));
        // A version 1 file (no `contract`): named, with what to do.
        let v1 = err(|m| {
            m.version = 1;
            m.contract = 0;
        });
        assert!(
            v1.contains("contract version 1") && v1.contains("retrain"),
            "{v1}"
        );
        assert!(err(|m| m.contract = 3).contains("contract version 3"));
        assert!(err(|m| m.classes.swap(0, 1)).contains("classes"));
        assert!(err(|m| m.tree.nodes[0].feature = Some("dstip".into())).contains("unknown feature"));
        assert!(err(|m| m.tree.nodes[0].feature = Some("dstport".into()))
            .contains("not in the model's feature list"));
        assert!(err(|m| m.tree.nodes[1].class = Some("app_data".into())).contains("unknown class"));
        assert!(err(|m| m.tree.nodes[0].left = Some(0)).contains("only forward"));
        assert!(err(|m| m.tree.nodes[0].right = Some(3)).contains("only forward"));
        assert!(err(|m| m.tree.nodes[0].threshold = Some(100)).contains("does not match split"));
        assert!(err(|m| m.tree.depth = 5).contains("tree.depth"));
        assert!(err(|m| m.features[1].scale = 1000).contains("scale"));
        assert!(err(|m| m.tree.nodes[2].id = 7).contains("id is 7"));
        assert!(err(|m| m.tree.nodes[2].threshold = Some(1)).contains("a leaf"));
        let e = err(|m| {
            let leaf = m.tree.nodes[1].clone();
            m.tree.nodes = (0..=TREE_CAPACITY)
                .map(|i| NodeSpec {
                    id: i,
                    ..leaf.clone()
                })
                .collect();
        });
        assert!(e.contains("TREE_CAPACITY"), "{e}");
    }

    fn listed() -> ModelFile {
        let file = |name: &str, digit: char, rows, dup: Option<&str>| FileInfo {
            file: name.into(),
            sha256: std::iter::repeat_n(digit, 64).collect(),
            rows,
            duplicate_of: dup.map(Into::into),
        };
        let files = vec![
            file("a.csv", '1', 3, None),
            file("b.csv", '2', 2, None),
            file("c.csv", '1', 3, Some("a.csv")),
        ];
        let (name, sha256) = data_identity(&files);
        let mut m = small();
        m.training.data = DataInfo {
            file: name,
            sha256,
            rows: 5,
            class_counts: [("ack".to_owned(), 4), ("syn".to_owned(), 1)].into(),
            files,
        };
        m
    }

    #[test]
    fn training_files_are_checked() {
        let m = listed();
        assert_eq!(m.training.data.file, "a.csv + b.csv");
        let digests = format!("{}\n{}\n", "1".repeat(64), "2".repeat(64));
        assert_eq!(
            m.training.data.sha256,
            crate::offline::dataset::sha256_hex(digests.as_bytes())
        );
        validate(m).unwrap();
        let bad = |f: fn(&mut DataInfo)| {
            let mut m = listed();
            f(&mut m.training.data);
            validate(m).unwrap_err().to_string()
        };
        assert!(bad(|d| d.rows = 8).contains("add up to 5"));
        assert!(bad(|d| d.files[1].sha256 = "2".repeat(63)).contains("files[1]: sha256"));
        assert!(bad(|d| d.files[1].sha256 = "1".repeat(64)).contains("no duplicate_of"));
        assert!(bad(|d| d.files[2].duplicate_of = Some("b.csv".into())).contains("files[2]"));
        assert!(bad(|d| {
            d.class_counts.insert("ack".into(), 9);
        })
        .contains("class_counts"));
        assert!(bad(|d| d.file = "a.csv".into()).contains("file/sha256"));
        // One file with a copy: that file's own name and digest.
        let mut m = listed();
        let d = &mut m.training.data;
        d.files.remove(1);
        d.rows = 3;
        d.class_counts = [("ack".to_owned(), 3)].into();
        (d.file, d.sha256) = data_identity(&d.files);
        assert_eq!(
            (d.file.as_str(), d.sha256.as_str()),
            ("a.csv", "1".repeat(64).as_str())
        );
        validate(m).unwrap();
        // A file from before training files were listed loads as it is.
        let mut m = small();
        m.training.data.rows = 7;
        validate(m).unwrap();
    }

    #[test]
    fn too_deep_is_refused() {
        let mut m = small();
        let d = TREE_MAX_DEPTH + 1;
        m.tree.nodes.clear();
        for i in 0..d {
            m.tree.nodes.push(NodeSpec {
                id: 2 * i,
                feature: Some("length".into()),
                threshold: Some(i as u64),
                left: Some(2 * i + 1),
                right: Some(2 * i + 2),
                ..NodeSpec::default()
            });
            m.tree.nodes.push(NodeSpec {
                id: 2 * i + 1,
                class: Some("ack".into()),
                ..NodeSpec::default()
            });
        }
        m.tree.nodes.push(NodeSpec {
            id: 2 * d,
            class: Some("syn".into()),
            ..NodeSpec::default()
        });
        m.tree.depth = d;
        m.tree.leaves = d + 1;
        let e = validate(m).unwrap_err().to_string();
        assert!(e.contains("TREE_MAX_DEPTH"), "{e}");
    }
}
