//! Builds the XDP object with the nightly toolchain (`-Z build-std=core`,
//! target bpfel) into OUT_DIR, where `include_bytes_aligned!` embeds it.
//! `AYA_BUILD_SKIP=1` skips it (the binary then cannot load the classifier).
//! `ALEXA_EBPF_OBJECT=FILE` embeds an object already built instead: the
//! object does not depend on the binary's architecture, so `cargo xtask dist`
//! builds it once for every target (docs/deploy.md, "Release artefacts").
//! Also bakes the git commit into `alexa --version` (`ALEXA_BUILD_COMMIT`).
use std::{path::Path, process::Command};

use anyhow::Context as _;

fn main() -> anyhow::Result<()> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    commit(manifest);
    println!("cargo:rerun-if-env-changed=ALEXA_EBPF_OBJECT");
    if let Some(object) = std::env::var_os("ALEXA_EBPF_OBJECT") {
        let out = Path::new(&std::env::var_os("OUT_DIR").context("OUT_DIR not set")?)
            .join("alexa-classifier");
        std::fs::copy(&object, &out).with_context(|| {
            format!(
                "ALEXA_EBPF_OBJECT={}: cannot copy to {}",
                Path::new(&object).display(),
                out.display()
            )
        })?;
        println!("cargo:rerun-if-changed={}", Path::new(&object).display());
        return Ok(());
    }
    let root = manifest
        .parent()
        .context("alexa-user has no parent directory")?
        .join("alexa-ebpf");
    let root = root.to_str().context("workspace path is not UTF-8")?;
    aya_build::build_ebpf(
        [aya_build::Package {
            name: "alexa-ebpf",
            root_dir: root,
            ..Default::default()
        }],
        aya_build::Toolchain::default(),
    )
}

/// `ALEXA_BUILD_COMMIT`: the commit's 12 first hex digits, `-dirty` when a
/// tracked file differs from it; `unknown` without git. Rerun when HEAD
/// moves or the index changes (a commit, a checkout, `git add`, `git
/// status`): an edit nobody has looked at since may still say clean.
fn commit(manifest: &Path) {
    println!("cargo:rerun-if-env-changed=ALEXA_BUILD_COMMIT");
    if let Ok(c) = std::env::var("ALEXA_BUILD_COMMIT") {
        println!("cargo:rustc-env=ALEXA_BUILD_COMMIT={c}");
        return;
    }
    let git = |args: &[&str]| {
        Command::new("git")
            .current_dir(manifest)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let value = match git(&["rev-parse", "--short=12", "HEAD"]) {
        Some(hash) => {
            // The ref HEAD points to moves on a commit; HEAD itself does not.
            let head_ref = git(&["symbolic-ref", "-q", "HEAD"]);
            let watched = ["HEAD", "index", "packed-refs"]
                .into_iter()
                .chain(head_ref.as_deref());
            for what in watched {
                // A path that does not exist would make cargo rerun this
                // script, and rebuild the crate, on every build.
                if let Some(p) = git(&["rev-parse", "--path-format=absolute", "--git-path", what])
                    .filter(|p| Path::new(p).exists())
                {
                    println!("cargo:rerun-if-changed={p}");
                }
            }
            // Without optional locks, status does not rewrite the index
            // (which would make the next build run this script again).
            let dirty = git(&[
                "--no-optional-locks",
                "status",
                "--porcelain",
                "--untracked-files=no",
            ])
            .is_some_and(|s| !s.is_empty());
            if dirty {
                format!("{hash}-dirty")
            } else {
                hash
            }
        }
        None => "unknown".to_owned(),
    };
    println!("cargo:rustc-env=ALEXA_BUILD_COMMIT={value}");
}
