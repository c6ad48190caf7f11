//! Bad files and commands: every subcommand of the real `alexa` binary,
//! given a missing, unreadable or corrupted input, must fail with exactly
//! one line on stderr that names the problem and the file (and the line,
//! byte offset or tree node where there is one), exit non-zero, and leave
//! no output or temporary file behind. (`alexa run` and a running agent:
//! `bad_input_live`.)
//!
//! "Unreadable" is a file with mode 000 read by user nobody (root reads
//! anything), and a directory where a file should be.

use std::{
    os::unix::fs::PermissionsExt as _,
    path::{Path, PathBuf},
};

use alexa::offline::model::file::save;
use alexa_lab::agent::alexa_bin;

mod cli_cases;
use cli_cases::{as_nobody, case, check, is_root, models, run_cases, small_model, Case, Scratch};

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
