//! The benchmark driver behind `cargo xtask bench` (needs root). Prints the
//! report as Markdown on standard output, progress on standard error.
//!
//! bench [--quick] [--alexa PATH] [--work DIR] [--only kernel,forward,agent,offline,growth]

use std::{path::PathBuf, process::Command};

use alexa_lab::bench::{self, Plan, Table};
use anyhow::{bail, Context as _, Result};

const USAGE: &str =
    "usage: bench [--quick] [--alexa PATH] [--work DIR] [--only kernel,forward,agent,offline,growth]";

/// One section of the report, run when selected.
type Section<'a> = Box<dyn Fn() -> Result<Table> + 'a>;

struct Args {
    quick: bool,
    alexa: PathBuf,
    work: PathBuf,
    only: Option<Vec<String>>,
}

fn args() -> Result<Args> {
    let exe = std::env::current_exe()?;
    let release = exe.parent().context("no directory")?.to_path_buf();
    let mut a = Args {
        quick: false,
        alexa: release.join("alexa"),
        work: release
            .parent()
            .context("no target directory")?
            .join("bench"),
        only: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--help" | "-h" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            "--quick" => a.quick = true,
            "--alexa" => a.alexa = it.next().context("--alexa PATH")?.into(),
            "--work" => a.work = it.next().context("--work DIR")?.into(),
            "--only" => {
                a.only = Some(
                    it.next()
                        .context("--only LIST")?
                        .split(',')
                        .map(str::to_owned)
                        .collect(),
                )
            }
            other => bail!("unknown argument {other} (see bench --help)"),
        }
    }
    Ok(a)
}

fn sh(cmd: &str) -> String {
    Command::new("sh")
        .args(["-c", cmd])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

fn machine() -> String {
    let model = sh("lscpu | sed -n 's/^Model name: *//p'");
    let cpus = sh("nproc");
    let mem_kib: f64 = sh("sed -n 's/^MemTotal: *\\([0-9]*\\) kB/\\1/p' /proc/meminfo")
        .parse()
        .unwrap_or(0.0);
    let virt = sh("lscpu | sed -n 's/^Hypervisor vendor: *//p'");
    format!(
        "- Machine: {model}, {cpus} CPUs{}, {:.0} GiB RAM\n\
         - Kernel: Linux {} ({}), BPF JIT {}\n\
         - Date: {}\n\
         - Commit: {}\n\
         - Load average at start (1, 5, 15 min; the machine is shared): {}\n",
        if virt.is_empty() {
            String::new()
        } else {
            format!(" (virtual, {virt})")
        },
        mem_kib / 1024.0 / 1024.0,
        sh("uname -r"),
        sh("uname -m"),
        if sh("cat /proc/sys/net/core/bpf_jit_enable") == "1" {
            "on"
        } else {
            "off"
        },
        sh("date -u '+%Y-%m-%d %H:%M UTC'"),
        provenance(),
        sh("cut -d' ' -f1-3 /proc/loadavg"),
    )
}

/// The exact commit and whether the working tree differed from it, taken
/// when the bench starts (the report is written into the tree afterwards).
fn provenance() -> String {
    let commit = sh("git rev-parse HEAD 2>/dev/null");
    if commit.is_empty() {
        return "unknown (not a git checkout)".into();
    }
    let status = sh("git status --porcelain 2>/dev/null");
    let changed: Vec<&str> = status.lines().collect();
    if changed.is_empty() {
        return format!("`{commit}`, working tree clean");
    }
    let shown: Vec<String> = changed
        .iter()
        .take(10)
        .map(|l| format!("`{}`", l.trim()))
        .collect();
    format!(
        "`{commit}`, working tree **dirty** ({} paths differ: {}{})",
        changed.len(),
        shown.join(", "),
        if changed.len() > 10 { ", …" } else { "" }
    )
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(0) => std::process::ExitCode::SUCCESS,
        Ok(_) => std::process::ExitCode::FAILURE,
        Err(e) => {
            eprintln!("bench: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Result<usize> {
    let a = args()?;
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        bail!("the bench loads BPF programs and creates network namespaces: run it as root");
    }
    if !a.alexa.exists() {
        bail!(
            "{} does not exist: build it (cargo build --release -p alexa-user)",
            a.alexa.display()
        );
    }
    std::fs::create_dir_all(&a.work)?;
    let plan = if a.quick { Plan::quick() } else { Plan::full() };
    let want = |s: &str| a.only.as_ref().is_none_or(|o| o.iter().any(|x| x == s));
    let target = a
        .work
        .parent()
        .context("work dir has no parent")?
        .to_path_buf();
    let mut out = String::new();
    out.push_str(&machine());
    out.push_str(&format!(
        "- Run: `cargo xtask bench{}`, all sections in one process, one after another\n\n",
        if a.quick { " --quick" } else { "" }
    ));
    let sections: [(&str, Section); 5] = [
        ("kernel", Box::new(|| bench::kernel::cost(&plan))),
        (
            "forward",
            Box::new(|| bench::forward::run(&plan, &a.alexa, &a.work)),
        ),
        ("agent", Box::new(|| bench::agent::run(&plan, &a.alexa))),
        (
            "offline",
            Box::new(|| bench::offline::run(&plan, &a.alexa, &a.work.join("offline"), &target)),
        ),
        (
            "growth",
            Box::new(|| bench::growth::run(&plan, &a.alexa, &a.work)),
        ),
    ];
    let mut failed = 0;
    let mut body = String::new();
    let mut summary = Table::new(
        "Targets of the sections below",
        &["section", "figure", "this run", "target", ""],
    );
    for (name, section) in sections.iter() {
        if !want(name) {
            continue;
        }
        match section() {
            Ok(t) => {
                let md = t.markdown();
                eprintln!("{md}");
                body.push_str(&md);
                for g in &t.targets {
                    summary.row(vec![
                        name.to_string(),
                        g.what.clone(),
                        g.result.clone(),
                        g.target.clone(),
                        bench::verdict(g.met),
                    ]);
                }
            }
            Err(e) => {
                failed += 1;
                eprintln!("bench: section {name} failed: {e:#}");
                body.push_str(&format!("## {name}\n\nThis section failed: {e:#}\n"));
            }
        }
        body.push('\n');
    }
    if !summary.rows.is_empty() {
        summary.intro = "Each figure also sits next to its target in its own section.".into();
        out.push_str(&summary.markdown());
        out.push('\n');
    }
    out.push_str(&body);
    out.push_str(&format!(
        "Load average at the end: {}.\n",
        sh("cut -d' ' -f1-3 /proc/loadavg")
    ));
    print!("{out}");
    Ok(failed)
}
