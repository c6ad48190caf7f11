//! Makes a fresh machine of this kind ready, and checks it before every other
//! task. Recipe and pitfalls: docs/building.md.

use std::{path::PathBuf, process::Command};

use anyhow::{bail, Context as _, Result};

use crate::util::{exec, output};

/// Debian packages the tests, demo and tools use (never needed to build).
pub const DEBIAN_PACKAGES: &[&str] = &[
    // Runs the aarch64 release binary in `cargo xtask test`.
    "qemu-user-static",
    "iproute2",
    "nftables",
    "tcpdump",
    "tshark",
    "openssl",
    "curl",
    "tmux",
    // The bench's Python side (tests/python): scikit-learn and pandas at
    // the versions of this Debian release, for /usr/bin/python3.
    "python3-sklearn",
    "python3-pandas",
    "iputils-ping",
    "util-linux",
];

/// The static release targets `cargo xtask dist` builds.
pub const DIST_TARGETS: [&str; 2] = ["x86_64-unknown-linux-musl", "aarch64-unknown-linux-musl"];

struct Missing {
    what: String,
    fix: &'static str,
}

/// What a task needs, each level including the ones before it: a gateway
/// that only builds never gets the test tools.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Need {
    /// `build`, `deploy`: the eBPF toolchain.
    Build,
    /// `dist`: also the musl targets.
    Dist,
    /// `test`, `bench`, `demo`, `fuzz`...: also cargo-fuzz and the Debian packages.
    Everything,
}

fn missing(need: Need) -> Vec<Missing> {
    let mut out = Vec::new();
    if !has_rust_src() {
        out.push(Missing {
            what: "the nightly toolchain's rust-src (to build the eBPF object with -Z build-std)"
                .into(),
            fix: "rust-src",
        });
    }
    if let Err(e) = bpf_linker_ok() {
        out.push(Missing {
            what: format!("a working bpf-linker ({e})"),
            fix: "bpf-linker",
        });
    }
    if need < Need::Dist {
        return out;
    }
    let targets = absent_targets();
    if !targets.is_empty() {
        out.push(Missing {
            what: format!("rust targets {}", targets.join(" ")),
            fix: "targets",
        });
    }
    if need < Need::Everything {
        return out;
    }
    if !cargo_fuzz_ok() {
        out.push(Missing {
            what: "cargo-fuzz (the fuzz targets in fuzz/)".into(),
            fix: "cargo-fuzz",
        });
    }
    let absent = absent_packages();
    if !absent.is_empty() {
        out.push(Missing {
            what: format!("Debian packages: {}", absent.join(" ")),
            fix: "apt",
        });
    }
    out
}

/// Fails, saying exactly what is missing, unless setup has been done.
pub fn ensure() -> Result<()> {
    ensure_for(Need::Everything)
}

/// Fails, saying exactly what is missing, unless what `need` names is here.
pub fn ensure_for(need: Need) -> Result<()> {
    let missing = missing(need);
    if missing.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = missing.iter().map(|m| m.what.clone()).collect();
    bail!(
        "this machine is not set up: missing {}; run `cargo xtask setup`",
        list.join("; ")
    )
}

pub fn run_setup_step(fix: &str) -> Result<()> {
    match fix {
        "rust-src" => {
            if output(Command::new("rustup").args(["run", "nightly", "rustc", "--version"]))
                .is_none()
            {
                exec(Command::new("rustup").args([
                    "toolchain",
                    "install",
                    "nightly",
                    "--profile",
                    "minimal",
                ]))?;
            }
            exec(Command::new("rustup").args([
                "component",
                "add",
                "rust-src",
                "--toolchain",
                "nightly",
            ]))
        }
        "bpf-linker" => install_bpf_linker(),
        "targets" => exec(
            Command::new("rustup")
                .args(["target", "add"])
                .args(absent_targets()),
        ),
        "cargo-fuzz" => {
            exec(Command::new("cargo").args(["install", "cargo-fuzz", "--locked"]))?;
            if !cargo_fuzz_ok() {
                bail!("cargo-fuzz was installed but `cargo fuzz --version` still fails");
            }
            Ok(())
        }
        "apt" => {
            let absent = absent_packages();
            exec(Command::new("apt-get").args(["update", "-q"]))?;
            exec(
                Command::new("apt-get")
                    .args(["install", "-y", "-q", "--no-install-recommends"])
                    .args(&absent)
                    .env("DEBIAN_FRONTEND", "noninteractive"),
            )
        }
        other => bail!("unknown setup step {other}"),
    }
}

pub fn run(check: bool) -> Result<()> {
    let todo = missing(Need::Everything);
    if todo.is_empty() {
        eprintln!(
            "xtask setup: everything is in place (nightly rust-src, bpf-linker, musl targets, cargo-fuzz, Debian packages)"
        );
        return Ok(());
    }
    if check {
        return ensure();
    }
    for m in &todo {
        eprintln!("xtask setup: installing {}", m.what);
        run_setup_step(m.fix)?;
    }
    ensure().context("setup ran but the machine is still not ready")?;
    eprintln!("xtask setup: done");
    Ok(())
}

/// The dist targets the default toolchain lacks.
fn absent_targets() -> Vec<&'static str> {
    let installed =
        output(Command::new("rustup").args(["target", "list", "--installed"])).unwrap_or_default();
    DIST_TARGETS
        .into_iter()
        .filter(|t| !installed.lines().any(|l| l.trim() == *t))
        .collect()
}

fn cargo_fuzz_ok() -> bool {
    output(Command::new("cargo").args(["fuzz", "--version"])).is_some()
}

fn has_rust_src() -> bool {
    output(Command::new("rustup").args([
        "component",
        "list",
        "--toolchain",
        "nightly",
        "--installed",
    ]))
    .is_some_and(|s| s.lines().any(|l| l.starts_with("rust-src")))
}

/// Where bpf-linker finds rustc's LLVM (it keeps an rpath to this directory).
fn llvm_prefix() -> Result<PathBuf> {
    let home = std::env::var_os("HOME").context("HOME is not set")?;
    Ok(PathBuf::from(home).join(".local/share/rustc-llvm"))
}

/// LLVM major version of the stable rustc, e.g. 22.
fn rustc_llvm_major() -> Result<String> {
    let v = output(Command::new("rustc").arg("-vV")).context("cannot run rustc -vV")?;
    let line = v
        .lines()
        .find_map(|l| l.strip_prefix("LLVM version: "))
        .context("rustc -vV names no LLVM version")?;
    Ok(line.split('.').next().unwrap_or(line).to_owned())
}

fn bpf_linker_ok() -> Result<()> {
    let v = output(Command::new("bpf-linker").arg("--version")).context(
        "bpf-linker is not installed or does not start (its LLVM library may be missing)",
    )?;
    if v.trim().is_empty() {
        bail!("bpf-linker prints no version");
    }
    Ok(())
}

/// The recipe proven on this machine: bpf-linker linked against the LLVM
/// shared library that rustc itself ships (no system LLVM of that version).
fn install_bpf_linker() -> Result<()> {
    let sysroot = output(Command::new("rustc").args(["--print", "sysroot"]))
        .context("rustc --print sysroot")?;
    let libdir = PathBuf::from(sysroot.trim()).join("lib");
    let lib = std::fs::read_dir(&libdir)
        .with_context(|| format!("cannot list {}", libdir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("libLLVM.so.") && n.contains("-rust-"))
        })
        .with_context(|| format!("no libLLVM.so.*-rust-* in {}", libdir.display()))?;
    let prefix = llvm_prefix()?;
    let prefix_lib = prefix.join("lib");
    std::fs::create_dir_all(&prefix_lib)?;
    let soname = lib.file_name().context("library name")?;
    for link in [prefix_lib.join("libLLVM.so"), prefix_lib.join(soname)] {
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&lib, &link)
            .with_context(|| format!("cannot link {} to {}", link.display(), lib.display()))?;
    }
    let feature = format!("llvm-{}", rustc_llvm_major()?);
    exec(
        Command::new("cargo")
            .args([
                "install",
                "bpf-linker",
                "--no-default-features",
                "--features",
                &feature,
            ])
            .env("LLVM_PREFIX", &prefix),
    )?;
    bpf_linker_ok()
}

fn absent_packages() -> Vec<&'static str> {
    DEBIAN_PACKAGES
        .iter()
        .copied()
        .filter(|p| {
            output(Command::new("dpkg-query").args(["-W", "-f=${Status}", p]))
                .is_none_or(|s| !s.contains("install ok installed"))
        })
        .collect()
}
