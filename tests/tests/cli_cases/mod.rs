//! What the bad-input tests share (`bad_input`, offline, and
//! `bad_input_live`, privileged): a scratch directory, the cases and their
//! runner that holds `alexa` to its promise (one line on stderr naming the
//! problem, non-zero exit, nothing left behind), and the broken models both
//! feed to it.
#![allow(dead_code, reason = "each test binary uses part of it")]

use std::{
    collections::BTreeSet,
    os::unix::fs::PermissionsExt as _,
    path::{Path, PathBuf},
    process::Command,
};

use alexa::offline::model::file::{
    feature_spec, FeatureSpec, ModelFile, NodeSpec, Training, TreeSpec, FORMAT, RULE, VERSION,
};
use alexa_common::{
    tree::{TREE_CAPACITY, TREE_MAX_DEPTH},
    Feature, CLASS_NAMES,
};

pub const NOBODY: &str = "65534";

/// A scratch directory, removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Scratch {
        let d = std::env::temp_dir().join(format!("alexa-bad-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
        Scratch(d)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    pub fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    /// Every entry under the directory (dotfiles too), recursively.
    pub fn listing(&self) -> BTreeSet<PathBuf> {
        fn walk(d: &Path, out: &mut BTreeSet<PathBuf>) {
            for e in std::fs::read_dir(d).unwrap().flatten() {
                out.insert(e.path());
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    walk(&e.path(), out);
                }
            }
        }
        let mut out = BTreeSet::new();
        walk(&self.0, &mut out);
        out
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One failing invocation and what its error line must say.
pub struct Case {
    pub name: String,
    pub args: Vec<String>,
    pub as_nobody: bool,
    pub must_say: Vec<String>,
}

pub fn case(name: &str, args: &[&str], must_say: &[&str]) -> Case {
    Case {
        name: name.to_owned(),
        args: args.iter().map(|s| s.to_string()).collect(),
        as_nobody: false,
        must_say: must_say.iter().map(|s| s.to_string()).collect(),
    }
}

pub fn as_nobody(mut c: Case) -> Case {
    c.as_nobody = true;
    c
}

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// `bin`, as user nobody when asked and able to switch; a non-root user
/// is already as unprivileged as nobody.
pub fn command(bin: &Path, nobody: bool) -> Command {
    if nobody && is_root() {
        let mut c = Command::new("setpriv");
        c.args([
            &format!("--reuid={NOBODY}"),
            &format!("--regid={NOBODY}"),
            "--clear-groups",
        ])
        .arg(bin);
        c
    } else {
        Command::new(bin)
    }
}

/// Runs every case in `dir`; returns a description of each broken promise.
pub fn run_cases(bin: &Path, dir: &Scratch, cases: &[Case]) -> Vec<String> {
    let mut failures = Vec::new();
    for c in cases {
        let before = dir.listing();
        let out = command(bin, c.as_nobody)
            .args(&c.args)
            .current_dir(&dir.0)
            .env_remove("RUST_LOG")
            .output()
            .expect("run alexa");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = stderr.trim().lines().collect();
        let mut wrong = Vec::new();
        match out.status.code() {
            Some(0) => wrong.push("exit status 0".to_owned()),
            None => wrong.push(format!("killed ({})", out.status)),
            Some(_) => {}
        }
        if lines.len() != 1 {
            wrong.push(format!("{} lines on stderr", lines.len()));
        }
        if !stderr.starts_with("alexa: error: ") {
            wrong.push("stderr does not start with `alexa: error: `".into());
        }
        for s in &c.must_say {
            if !stderr.contains(s.as_str()) {
                wrong.push(format!("does not say {s:?}"));
            }
        }
        let after = dir.listing();
        let new: Vec<_> = after.difference(&before).collect();
        if !new.is_empty() {
            wrong.push(format!("left behind {new:?}"));
        }
        if !wrong.is_empty() {
            failures.push(format!(
                "{} (`alexa {}`{}): {}\n    stderr: {stderr:?}",
                c.name,
                c.args.join(" "),
                if c.as_nobody { " as nobody" } else { "" },
                wrong.join("; ")
            ));
        }
    }
    failures
}

pub fn check(cases: &[Case], failures: Vec<String>) {
    assert!(
        failures.is_empty(),
        "{} of {} bad-input cases broke a promise:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    eprintln!(
        "bad input: {} cases, each one line, non-zero, nothing left",
        cases.len()
    );
}

/// A valid two-feature model: length, then delta.
pub fn small_model() -> ModelFile {
    let leaf = |id, class: &str| NodeSpec {
        id,
        class: Some(class.into()),
        ..NodeSpec::default()
    };
    ModelFile {
        format: FORMAT.into(),
        version: VERSION,
        contract: alexa_common::CONTRACT_VERSION,
        features: vec![feature_spec(Feature::Length), feature_spec(Feature::Delta)],
        classes: CLASS_NAMES.iter().map(|s| s.to_string()).collect(),
        tree: TreeSpec {
            rule: RULE.into(),
            depth: 2,
            leaves: 3,
            nodes: vec![
                NodeSpec {
                    id: 0,
                    feature: Some("length".into()),
                    threshold: Some(99),
                    left: Some(1),
                    right: Some(2),
                    ..NodeSpec::default()
                },
                leaf(1, "syn"),
                NodeSpec {
                    id: 2,
                    feature: Some("delta".into()),
                    threshold: Some(1000),
                    left: Some(3),
                    right: Some(4),
                    ..NodeSpec::default()
                },
                leaf(3, "ack"),
                leaf(4, "expected"),
            ],
        },
        training: Training::default(),
    }
}

/// A chain of `splits` splits on length (each right child the next split).
pub fn chain_model(splits: u32) -> ModelFile {
    let mut m = small_model();
    m.tree.nodes.clear();
    for i in 0..splits {
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
        id: 2 * splits,
        class: Some("syn".into()),
        ..NodeSpec::default()
    });
    m.tree.depth = splits;
    m.tree.leaves = splits + 1;
    m
}

/// Broken models, each with what its error must say.
pub fn models(dir: &Scratch) -> Vec<(PathBuf, Vec<String>)> {
    let json = |m: &ModelFile| serde_json::to_string_pretty(m).unwrap();
    let mut out = Vec::new();
    let mut add = |name: &str, text: String, say: &[&str]| {
        out.push((
            dir.write(name, text),
            say.iter().map(|s| s.to_string()).collect(),
        ));
    };
    let edit = |f: &dyn Fn(&mut ModelFile)| {
        let mut m = small_model();
        f(&mut m);
        json(&m)
    };
    add(
        "cycle.json",
        edit(&|m| m.tree.nodes[2].left = Some(0)),
        &["tree.nodes[2]", "left child 0", "children only forward"],
    );
    add(
        "selfloop.json",
        edit(&|m| m.tree.nodes[2].right = Some(2)),
        &["tree.nodes[2]", "right child 2"],
    );
    add(
        "dangling.json",
        edit(&|m| m.tree.nodes[2].right = Some(9)),
        &["tree.nodes[2]", "right child 9", "below 5"],
    );
    add(
        "shared-child.json",
        edit(&|m| m.tree.nodes[2].left = Some(4)),
        &["tree.nodes[2]", "left and right are both node 4"],
    );
    add(
        "feature-id.json",
        edit(&|m| m.features[1].id = 42),
        &["features[1]", "has id 42", "the contract says 3"],
    );
    add(
        "feature-name.json",
        edit(&|m| m.tree.nodes[2].feature = Some("feature_99".into())),
        &["tree.nodes[2]", "unknown feature \"feature_99\""],
    );
    add(
        "feature-unlisted.json",
        edit(&|m| m.tree.nodes[2].feature = Some("dstport".into())),
        &["tree.nodes[2]", "not in the model's feature list"],
    );
    add(
        "class-name.json",
        edit(&|m| m.tree.nodes[3].class = Some("class_8".into())),
        &["tree.nodes[3]", "unknown class \"class_8\""],
    );
    add(
        "classes.json",
        edit(&|m| m.classes.push("ninth".into())),
        &["classes must be exactly"],
    );
    add(
        "scale.json",
        edit(&|m| {
            m.features[1] = FeatureSpec {
                scale: 1000,
                ..feature_spec(Feature::Delta)
            }
        }),
        &["features[1]", "scale 1000"],
    );
    let mut big = small_model();
    big.tree.nodes = (0..=TREE_CAPACITY)
        .map(|i| NodeSpec {
            id: i,
            class: Some("ack".into()),
            ..NodeSpec::default()
        })
        .collect();
    let too_many = format!("tree has {} nodes", TREE_CAPACITY + 1);
    add(
        "too-many-nodes.json",
        json(&big),
        &[&too_many, "TREE_CAPACITY"],
    );
    add(
        "too-deep.json",
        json(&chain_model(TREE_MAX_DEPTH + 1)),
        &["TREE_MAX_DEPTH"],
    );
    add(
        "not-json.json",
        "hello\n".into(),
        &["line 1 column 1", "expected value"],
    );
    add(
        "cut.json",
        json(&small_model())[..200].to_owned(),
        &["EOF while parsing"],
    );
    add(
        "newline-key.json",
        "{\n \"a\\nb\": 1}".into(),
        &["line 2 column", "unknown field `a\\nb`"],
    );
    add(
        "empty.json",
        String::new(),
        &["line 1 column 0", "EOF while parsing"],
    );
    out
}
