//! Generates the fixture corpus: `make-corpus --out tests/fixtures`
//! (root: the live captures use network namespaces), or with `--edge-only`
//! just the hand-made edge cases (no root needed). See docs/corpus.md.

use std::path::PathBuf;

use alexa_lab::corpus;
use anyhow::{bail, Context, Result};

fn main() {
    if let Err(e) = run() {
        eprintln!("make-corpus: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let mut out: Option<PathBuf> = None;
    let mut edge_only = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--out" => out = Some(args.next().context("--out needs a directory")?.into()),
            "--edge-only" => edge_only = true,
            "-h" | "--help" => {
                println!("usage: make-corpus --out DIR [--edge-only]");
                return Ok(());
            }
            other => {
                bail!("unknown argument `{other}` (usage: make-corpus --out DIR [--edge-only])")
            }
        }
    }
    let out = out.context("missing --out DIR")?;
    std::fs::create_dir_all(&out).with_context(|| format!("{}: cannot create", out.display()))?;
    let started = std::time::Instant::now();
    eprintln!("edge cases:");
    for f in corpus::edge::all() {
        f.write(&out)?;
        eprintln!("  {}: {} frames", f.name, f.frames.len());
    }
    if !edge_only {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            bail!(
                "live captures need root (network namespaces, tcpdump); use --edge-only without it"
            );
        }
        eprintln!("live captures:");
        corpus::live::generate(&out)?;
    }
    corpus::write_manifest(&out)?;
    eprintln!("done in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}
