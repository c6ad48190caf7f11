//! Bad files and commands: every subcommand of the real `alexa` binary,
//! given a missing, unreadable or corrupted input, must fail with exactly
//! one line on stderr that names the problem and the file (and the line,
//! byte offset or tree node where there is one), exit non-zero, and leave
//! no output or temporary file behind. A running agent must be left as it
//! was by all of it.
//!
//! "Unreadable" is a file with mode 000 read by user nobody (root reads
//! anything), and a directory where a file should be.

use std::{
    collections::BTreeSet,
    os::unix::fs::PermissionsExt as _,
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use alexa::model::file::{
    feature_spec, save, FeatureSpec, ModelFile, NodeSpec, Training, TreeSpec, FORMAT, RULE, VERSION,
};
use alexa_common::{Feature, CLASS_NAMES, TREE_CAPACITY, TREE_MAX_DEPTH};
use alexa_lab::{
    agent::{alexa_bin, wait_for, Agent},
    netns::{veth_pair, Netns},
};
use alexa_tests::privileged;

const NOBODY: &str = "65534";

/// A scratch directory, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let d = std::env::temp_dir().join(format!("alexa-bad-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
        Scratch(d)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    /// Every entry under the directory (dotfiles too), recursively.
    fn listing(&self) -> BTreeSet<PathBuf> {
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
struct Case {
    name: String,
    args: Vec<String>,
    as_nobody: bool,
    must_say: Vec<String>,
}

fn case(name: &str, args: &[&str], must_say: &[&str]) -> Case {
    Case {
        name: name.to_owned(),
        args: args.iter().map(|s| s.to_string()).collect(),
        as_nobody: false,
        must_say: must_say.iter().map(|s| s.to_string()).collect(),
    }
}

fn as_nobody(mut c: Case) -> Case {
    c.as_nobody = true;
    c
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// `bin`, as user nobody when asked and able to switch; a non-root user
/// is already as unprivileged as nobody.
fn command(bin: &Path, nobody: bool) -> Command {
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
fn run_cases(bin: &Path, dir: &Scratch, cases: &[Case]) -> Vec<String> {
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

fn check(cases: &[Case], failures: Vec<String>) {
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

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(name),
    )
    .expect("fixture")
}

/// Byte offsets of a classic pcap's records.
fn record_offsets(pcap: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut off = 24;
    while off + 16 <= pcap.len() {
        out.push(off);
        let incl = u32::from_le_bytes(pcap[off + 8..off + 12].try_into().unwrap()) as usize;
        off += 16 + incl;
    }
    out
}

/// Broken captures, each with what its error must say.
fn captures(dir: &Scratch) -> Vec<(PathBuf, Vec<String>)> {
    let good = fixture("edge-tls.pcap");
    let recs = record_offsets(&good);
    let second = recs[1];
    let incl = u32::from_le_bytes(good[second + 8..second + 12].try_into().unwrap()) as usize;
    let mut out = Vec::new();
    let mut add = |name: &str, bytes: Vec<u8>, say: &[String]| {
        out.push((dir.write(name, bytes), say.to_vec()));
    };
    add(
        "badmagic.pcap",
        b"this is not a capture, only text\n".to_vec(),
        &["byte 0".into(), "not a pcap or pcapng file".into()],
    );
    add(
        "header-cut.pcap",
        good[..10].to_vec(),
        &["byte 0".into(), "truncated file header".into()],
    );
    add(
        "empty.pcap",
        Vec::new(),
        &["byte 0".into(), "empty file".into()],
    );
    add(
        "record-header-cut.pcap",
        good[..second + 10].to_vec(),
        &[
            format!("byte {second}"),
            "truncated record (10 bytes left)".into(),
        ],
    );
    add(
        "record-data-cut.pcap",
        good[..second + 16 + 5].to_vec(),
        &[
            format!("byte {second}"),
            format!("claims {} bytes, the file has 21 left", 16 + incl),
        ],
    );
    let mut linktype = good.clone();
    linktype[20..24].copy_from_slice(&113u32.to_le_bytes());
    add(
        "linktype.pcap",
        linktype,
        &["byte 20".into(), "not supported (Ethernet only)".into()],
    );
    // pcapng: the third block (the first packet) with a lying length.
    let ng = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/capture/udp.pcapng"),
    )
    .expect("pcapng seed");
    let block_len = |at: usize| u32::from_le_bytes(ng[at + 4..at + 8].try_into().unwrap()) as usize;
    let third = block_len(0) + block_len(block_len(0));
    let len3 = block_len(third);
    for (name, len, say) in [
        (
            "ng-huge.pcapng",
            0xffff_fff0u32,
            format!(
                "claims 4294967280 bytes, the file has {} left",
                ng.len() - third
            ),
        ),
        ("ng-tiny.pcapng", 8, "initial_len < 12".to_owned()),
        ("ng-odd.pcapng", len3 as u32 + 2, "% 4".to_owned()),
    ] {
        let mut b = ng.clone();
        b[third + 4..third + 8].copy_from_slice(&len.to_le_bytes());
        add(name, b, &[format!("byte {third}"), say]);
    }
    let mut b = ng.clone();
    b[third + len3 - 4..third + len3].copy_from_slice(&(len3 as u32 + 4).to_le_bytes());
    add(
        "ng-trailer.pcapng",
        b,
        &[
            format!("byte {third}"),
            "initial_length != trailer_length".into(),
        ],
    );
    out
}

/// A valid two-feature model: length, then delta.
fn small_model() -> ModelFile {
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
fn chain_model(splits: u32) -> ModelFile {
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
fn models(dir: &Scratch) -> Vec<(PathBuf, Vec<String>)> {
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

const DATASET_HEADER: &str =
    "length,dstport,highest_layer,delta,ack_flag,microphone,content_type,class";

/// Broken dataset CSVs, each with what its error must say and the
/// commands that read the broken part (prepare passes feature cells
/// through unread; report reads neither class names nor delta).
fn datasets(dir: &Scratch) -> Vec<(PathBuf, Vec<String>, &'static [&'static str])> {
    const ALL: &[&str] = &["train", "evaluate", "prepare", "report"];
    const MODEL: &[&str] = &["train", "evaluate"];
    const CLASSES: &[&str] = &["train", "evaluate", "prepare"];
    let mut out = Vec::new();
    let mut add = |name: &str, text: &str, say: &[&str], commands: &'static [&'static str]| {
        out.push((
            dir.write(name, text),
            say.iter().map(|s| s.to_string()).collect(),
            commands,
        ));
    };
    let row = "0,443,1,0,0,1,0,syn";
    add(
        "header-only.csv",
        &format!("{DATASET_HEADER}\n"),
        &["line 2", "no data rows"],
        ALL,
    );
    add(
        "bad-value.csv",
        &format!("{DATASET_HEADER}\n{row}\n1,443,1,0.x,0,1,0,ack\n"),
        &["line 3", "column 4 (`delta`)"],
        MODEL,
    );
    add(
        "delta-overflow.csv",
        &format!("{DATASET_HEADER}\n{row}\n1,443,1,4294967296,0,1,0,ack\n"),
        &["line 3", "column 4 (`delta`)", "32-bit"],
        MODEL,
    );
    add(
        "unknown-class.csv",
        &format!("{DATASET_HEADER}\n{row}\n1,443,1,5,0,1,0,bogus\n"),
        &["line 3", "unknown class `bogus`"],
        CLASSES,
    );
    add(
        "ragged.csv",
        &format!("{DATASET_HEADER}\n{row}\n1,443,1\n"),
        &["line 3", "3 fields where the header has 8"],
        ALL,
    );
    add(
        "bare-cr.csv",
        &format!("{DATASET_HEADER}\r{row}\r{row}\r1,443,1,5,0,1,0,bogus\r"),
        &["line 4", "unknown class `bogus`"],
        CLASSES,
    );
    add(
        "quoted-newline.csv",
        &format!("{DATASET_HEADER}\n{row}\n1,443,1,5,0,1,0,\"sy\nn\"\n"),
        &["line 3", "unknown class `sy\\nn`"],
        CLASSES,
    );
    out
}

#[test]
fn every_offline_subcommand_refuses_bad_input_in_one_line() {
    let bin = alexa_bin();
    let dir = Scratch::new("offline");
    let good_pcap = dir.write("good.pcap", fixture("edge-tls.pcap"));
    let good_model = dir.path("good.json");
    save(&small_model(), &good_model).unwrap();
    let good_dataset = dir.write(
        "good.csv",
        format!("{DATASET_HEADER}\n0,443,1,0,0,1,0,syn\n1400,443,0,2,1,1,23,expected\n"),
    );
    std::fs::create_dir(dir.path("adir")).unwrap();
    let locked = dir.write("locked.bin", b"secret");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    // Where user nobody may write, so its failures are about the input.
    let free = dir.path("free");
    std::fs::create_dir(&free).unwrap();
    std::fs::set_permissions(&free, std::fs::Permissions::from_mode(0o777)).unwrap();
    let s = |p: &Path| p.to_str().unwrap().to_owned();
    let (pcap, model, data) = (s(&good_pcap), s(&good_model), s(&good_dataset));
    let free_out = s(&free.join("out.csv"));
    let out_csv = "out.csv";

    let mut cases = Vec::new();
    // Inputs that are not there, not files, or not readable, for every
    // subcommand and every input it takes.
    let missing = |what: &str| -> Vec<String> { vec![what.into(), "cannot read".into()] };
    for (sub, args) in [
        ("extract", vec!["{}", "-o", out_csv]),
        ("classify", vec!["{}", "--model", &model, "-o", out_csv]),
        (
            "classify --model",
            vec![&pcap, "--model", "{}", "-o", out_csv],
        ),
        (
            "extract --labels",
            vec![&pcap, "--labels", "{}", "-o", out_csv],
        ),
        ("train", vec!["{}", "-o", "m.json", "--features", "paper"]),
        ("evaluate MODEL", vec!["{}", &data]),
        ("evaluate DATASET", vec![&model, "{}"]),
        ("prepare", vec!["{}", "-o", out_csv]),
        ("report", vec!["{}", "--out", "rep"]),
    ] {
        let verb = sub.split(' ').next().unwrap();
        let fill = |x: &str| {
            let mut v = vec![verb.to_owned()];
            v.extend(args.iter().map(|a| a.replace("{}", x)));
            v
        };
        let mut c = |name: &str, x: &str, say: Vec<String>, nobody: bool| {
            cases.push(Case {
                name: format!("{sub}: {name}"),
                args: fill(x),
                as_nobody: nobody,
                must_say: say,
            });
        };
        c(
            "missing",
            "nosuch",
            [missing("nosuch"), vec!["No such file or directory".into()]].concat(),
            false,
        );
        c(
            "a directory",
            "adir",
            [missing("adir"), vec!["Is a directory".into()]].concat(),
            false,
        );
        // As nobody, outputs go where nobody may write.
        let mut nobody_args = fill(&s(&locked));
        for a in nobody_args.iter_mut() {
            if a == out_csv {
                *a = free_out.clone();
            }
            if a == "m.json" {
                *a = s(&free.join("m.json"));
            }
            if a == "rep" {
                *a = s(&free.join("rep"));
            }
        }
        cases.push(Case {
            name: format!("{sub}: unreadable"),
            args: nobody_args,
            as_nobody: true,
            must_say: [missing(&s(&locked)), vec!["Permission denied".into()]].concat(),
        });
    }

    // Corrupted captures, through both commands that read them.
    for (path, say) in captures(&dir) {
        let p = s(&path);
        let say: Vec<&str> = say.iter().map(String::as_str).collect();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let mut must = vec![p.as_str()];
        must.extend(&say);
        cases.push(case(
            &format!("extract: {name}"),
            &["extract", &p, "-o", out_csv],
            &must,
        ));
        cases.push(case(
            &format!("classify: {name}"),
            &["classify", &p, "--model", &model, "-o", out_csv],
            &must,
        ));
    }

    // Labels that do not fit.
    for (name, text, say) in [
        (
            "wrong header",
            "frame,when,class\n1,0,ack\n",
            vec![
                "line 1",
                "header must be `frame,timestamp,context,microphone,class`",
            ],
        ),
        (
            "unknown class",
            "frame,timestamp,context,microphone,class\n1,0,idle,1,bogus\n",
            vec!["line 2", "unknown class `bogus`"],
        ),
        (
            "frames out of order",
            "frame,timestamp,context,microphone,class\n3,0,idle,1,ack\n2,0,idle,1,ack\n",
            vec!["line 3", "frame 2 does not follow frame 3"],
        ),
        (
            "frame not in the capture",
            "frame,timestamp,context,microphone,class\n9999,0,idle,1,ack\n",
            vec!["line 2", "frame 9999 is not in"],
        ),
        ("empty", "", vec!["line 1", "header must be"]),
    ] {
        let labels = dir.write(&format!("labels-{}.csv", name.replace(' ', "-")), text);
        let l = s(&labels);
        let mut must = vec![l.as_str()];
        must.extend(&say);
        cases.push(case(
            &format!("extract --labels: {name}"),
            &["extract", &pcap, "--labels", &l, "-o", out_csv],
            &must,
        ));
    }

    // Broken models, through every command that loads one.
    for (path, say) in models(&dir) {
        let p = s(&path);
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let mut must = vec![p.as_str()];
        must.extend(say.iter().map(String::as_str));
        cases.push(case(
            &format!("classify: {name}"),
            &["classify", &pcap, "--model", &p, "-o", out_csv],
            &must,
        ));
        cases.push(case(
            &format!("evaluate: {name}"),
            &["evaluate", &p, &data],
            &must,
        ));
    }

    // Broken datasets, through every command that reads one.
    for (path, say, commands) in datasets(&dir) {
        let p = s(&path);
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let mut must = vec![p.as_str()];
        must.extend(say.iter().map(String::as_str));
        for args in [
            vec!["train", &p, "-o", "m.json", "--features", "paper"],
            vec!["evaluate", &model, &p],
            vec!["prepare", &p, "-o", out_csv],
            vec!["report", &p, "--out", "rep"],
        ] {
            if commands.contains(&args[0]) {
                cases.push(case(&format!("{}: {name}", args[0]), &args, &must));
            }
        }
    }
    for (name, text, say) in [
        (
            "wrong header",
            "foo,bar\n1,2\n",
            vec!["line 1", "no feature columns in the header"],
        ),
        ("zero bytes", "", vec!["line 1", "no feature columns"]),
    ] {
        let f = dir.write(&format!("ds-{}.csv", name.replace(' ', "-")), text);
        let p = s(&f);
        let mut must = vec![p.as_str()];
        must.extend(&say);
        cases.push(case(
            &format!("train: {name}"),
            &["train", &p, "-o", "m.json"],
            &must,
        ));
        cases.push(case(
            &format!("evaluate: {name}"),
            &["evaluate", &model, &p],
            &must,
        ));
        cases.push(case(
            &format!("prepare: {name}"),
            &["prepare", &p, "-o", out_csv],
            &[&p, "line 1", "no `class` column"],
        ));
        cases.push(case(
            &format!("report: {name}"),
            &["report", &p, "--out", "rep"],
            &[&p, "line 1", "no `class` column"],
        ));
    }
    // A dataset without a column the model splits on.
    let no_delta = dir.write("no-delta.csv", "length,class\n1,ack\n");
    cases.push(case(
        "evaluate: a column the model needs is missing",
        &["evaluate", &model, &s(&no_delta)],
        &[&s(&no_delta), "line 1", "no `delta` column"],
    ));

    // Outputs that cannot be written: nothing may be half-done.
    for (sub, args) in [
        ("extract", vec!["extract", &pcap, "-o", "{}"]),
        (
            "classify",
            vec!["classify", &pcap, "--model", &model, "-o", "{}"],
        ),
        (
            "train",
            vec!["train", &data, "-o", "{}", "--features", "paper"],
        ),
        ("prepare", vec!["prepare", &data, "-o", "{}"]),
    ] {
        let fill = |x: &str| -> Vec<String> { args.iter().map(|a| a.replace("{}", x)).collect() };
        let missing_dir = fill("/nonexistent-alexa-dir/out");
        let is_dir = fill("adir");
        for (name, a, say) in [
            (
                "output in a missing directory",
                missing_dir,
                vec!["/nonexistent-alexa-dir/out", "cannot create"],
            ),
            (
                "output is a directory",
                is_dir,
                vec!["adir", "is a directory"],
            ),
        ] {
            cases.push(Case {
                name: format!("{sub}: {name}"),
                args: a,
                as_nobody: false,
                must_say: say.iter().map(|s| s.to_string()).collect(),
            });
        }
    }
    let a_file = s(&good_pcap);
    for (name, args, say) in [
        (
            "report: --out is a file",
            vec!["report", &data, "--out", &a_file],
            vec![a_file.as_str(), "cannot create"],
        ),
        (
            "simulate: --out is a file",
            vec!["simulate", "--duration-scale", "0.01", "--out", &a_file],
            vec![a_file.as_str(), "cannot create"],
        ),
        (
            "simulate: --duration-scale 0",
            vec!["simulate", "--duration-scale", "0", "--out", "sim"],
            vec!["--duration-scale must be a number above 0"],
        ),
        (
            "simulate: --duration-scale NaN",
            vec!["simulate", "--duration-scale", "NaN", "--out", "sim"],
            vec!["--duration-scale must be", "not NaN"],
        ),
        (
            "simulate: --duration-scale 1e9",
            vec!["simulate", "--duration-scale", "1e9", "--out", "sim"],
            vec!["at most 100"],
        ),
        (
            "prepare: --ack-keep 2",
            vec!["prepare", &data, "-o", out_csv, "--ack-keep", "2"],
            vec!["--ack-keep must be between 0 and 1"],
        ),
        (
            "train: unknown feature set",
            vec!["train", &data, "-o", "m.json", "--features", "length,bogus"],
            vec!["--features", "bogus"],
        ),
    ] {
        cases.push(case(name, &args, &say));
    }
    // A non-root user gets the same one-line errors (no privilege needed
    // offline), and nothing in a directory it cannot write.
    if is_root() {
        cases.push(as_nobody(case(
            "extract as nobody: output where nobody may not write",
            &["extract", &pcap, "-o", "nobody.csv"],
            &["nobody.csv", "cannot create", "Permission denied"],
        )));
    }

    let failures = run_cases(&bin, &dir, &cases);
    check(&cases, failures);
}

#[test]
fn run_refuses_bad_input_in_one_line() {
    if !privileged() {
        return;
    }
    let bin = alexa_bin();
    let dir = Scratch::new("run");
    let s = |p: &Path| p.to_str().unwrap().to_owned();
    let models = models(&dir);
    let mut cases = vec![
        case(
            "no such interface",
            &[
                "run",
                "--iface",
                "nosuch0",
                "--device",
                "10.0.0.2",
                "--no-model",
            ],
            &["no such interface: nosuch0"],
        ),
        as_nobody(case(
            "not root",
            &["run", "--iface", "lo", "--device", "10.0.0.2", "--no-model"],
            &["alexa run needs root"],
        )),
        case(
            "missing model",
            &[
                "run",
                "--iface",
                "lo",
                "--device",
                "10.0.0.2",
                "--model",
                "nosuch.json",
            ],
            &["nosuch.json", "cannot read", "No such file or directory"],
        ),
        case(
            "log in a missing directory",
            &[
                "run",
                "--iface",
                "lo",
                "--device",
                "10.0.0.2",
                "--no-model",
                "--log",
                "/nonexistent-alexa-dir/v.jsonl",
            ],
            &["/nonexistent-alexa-dir/v.jsonl", "cannot open the log"],
        ),
    ];
    for (path, say) in &models {
        let p = s(path);
        let mut must = vec![p.as_str()];
        must.extend(say.iter().map(String::as_str));
        cases.push(case(
            &format!("model {}", path.file_name().unwrap().to_string_lossy()),
            &[
                "run", "--iface", "lo", "--device", "10.0.0.2", "--model", &p,
            ],
            &must,
        ));
    }
    let failures = run_cases(&bin, &dir, &cases);
    check(&cases, failures);
    let link = Command::new("ip")
        .args(["link", "show", "lo"])
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&link.stdout).contains("xdp"),
        "a failed `alexa run` left XDP attached to lo"
    );
}

/// The XDP program id on `iface` in `ns`, if one is attached.
fn xdp_prog_id(ns: &Netns, iface: &str) -> Option<u64> {
    let out = ns.exec(&format!("ip -d -j link show {iface}"));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    v[0]["xdp"]["prog"]["id"].as_u64()
}

fn lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

/// A running agent is left exactly as it was by every failing command:
/// same program attached, still logging, and it still exits cleanly.
#[test]
fn a_running_agent_is_left_unchanged() {
    if !privileged() {
        return;
    }
    let bin = alexa_bin();
    let dir = Scratch::new("agent");
    let dev = Netns::new("bdev");
    let gw = Netns::new("bgw");
    veth_pair(
        &dev,
        "bdev0",
        &["10.78.0.2/24"],
        &gw,
        "bgw0",
        &["10.78.0.1/24"],
    );
    // Its own socket and pin directory: nothing here may reach an agent
    // that runs on this machine for real.
    let mut agent = Agent::new("bad", &gw);
    agent.start(
        "bgw0",
        &["--device", "10.78.0.2", "--model", alexa_lab::SHIPPED_MODEL],
    );
    let log = agent.log.clone();
    assert!(
        xdp_prog_id(&gw, "bgw0").is_some(),
        "the agent did not attach"
    );
    let prog = xdp_prog_id(&gw, "bgw0");
    let send = |port: u16| {
        dev.exec(&format!(
            "python3 '{}' 10.78.0.1 {port} 7",
            alexa_lab::python("udp_send.py").display()
        ));
    };
    let logged = |port: u16| {
        wait_for(Duration::from_secs(3), || {
            lines(&log).iter().any(|v| v["dstport"] == port)
        })
    };
    send(5001);
    assert!(logged(5001), "the agent logged nothing before the test");

    let models = models(&dir);
    let s = |p: &Path| p.to_str().unwrap().to_owned();
    let (pins, socket) = (s(&agent.pin_dir), s(&agent.socket));
    let in_gw = |args: &[&str]| -> Vec<String> {
        let mut v = vec![format!("--net=/run/netns/{}", gw.name), s(&bin)];
        v.extend(args.iter().map(|a| a.to_string()));
        v.extend([
            "--pin-dir".into(),
            pins.clone(),
            "--control-socket".into(),
            socket.clone(),
        ]);
        v
    };
    let mut cases = Vec::new();
    // A second agent on the same interface, and agents with bad input.
    let second = in_gw(&[
        "run",
        "--iface",
        "bgw0",
        "--device",
        "10.78.0.2",
        "--no-model",
    ]);
    cases.push(Case {
        name: "a second agent on the same interface".into(),
        args: second,
        as_nobody: false,
        must_say: vec!["another agent".into()],
    });
    for (path, say) in models.iter().take(4) {
        let p = s(path);
        let mut must = vec![p.clone()];
        must.extend(say.iter().cloned());
        cases.push(Case {
            name: format!("run with model {}", path.display()),
            args: in_gw(&[
                "run",
                "--iface",
                "bgw0",
                "--device",
                "10.78.0.2",
                "--model",
                &p,
            ]),
            as_nobody: false,
            must_say: must,
        });
    }
    cases.push(Case {
        name: "run on a missing interface".into(),
        args: in_gw(&[
            "run",
            "--iface",
            "nosuch0",
            "--device",
            "10.78.0.2",
            "--no-model",
        ]),
        as_nobody: false,
        must_say: vec!["no such interface: nosuch0".into()],
    });
    // The cases run `nsenter --net=… alexa …`: `nsenter` is the program.
    let nsenter = ["/usr/bin/nsenter", "/bin/nsenter"]
        .map(PathBuf::from)
        .into_iter()
        .find(|p| p.exists())
        .expect("nsenter (util-linux)");
    let mut failures = run_cases(&nsenter, &dir, &cases);
    // Offline commands with bad input, beside the agent.
    let offline = vec![
        case(
            "extract a missing capture",
            &["extract", "nosuch.pcap", "-o", "o.csv"],
            &["nosuch.pcap"],
        ),
        case(
            "classify with a cyclic model",
            &[
                "classify",
                "nosuch.pcap",
                "--model",
                &s(&models[0].0),
                "-o",
                "o.csv",
            ],
            &["cycle.json"],
        ),
    ];
    failures.extend(run_cases(&bin, &dir, &offline));
    cases.extend(offline);

    assert_eq!(
        xdp_prog_id(&gw, "bgw0"),
        prog,
        "the agent's XDP program was replaced or detached"
    );
    assert!(agent.is_running(), "the agent exited");
    send(5002);
    assert!(logged(5002), "the agent stopped logging");
    for v in lines(&log) {
        assert_eq!(v["src"], "10.78.0.2", "a line for another host: {v}");
        assert!(v["class"].is_string(), "the agent lost its model: {v}");
    }
    check(&cases, failures);
    agent.stop();
}
