//! `cargo xtask dist`: the release artefacts. Static (musl) `alexa` binaries
//! for x86_64 and aarch64 with the eBPF object and the shipped model inside,
//! built with the `release-lto` profile (release, fat LTO, stripped), into
//! target/dist/<triple>/alexa with target/dist/SHA256SUMS. These are the
//! gateway binaries (no `lab` feature); the full binaries are built beside
//! them (target/dist-full/) only to compare sizes. docs/deploy.md,
//! "Release artefacts".

use std::{
    io::{BufRead as _, BufReader},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Instant,
};

use anyhow::{bail, Context as _, Result};

use crate::{
    setup::DIST_TARGETS,
    util::{cargo, show},
};

/// The cargo profile (workspace Cargo.toml): release with fat LTO and strip.
/// A profile of its own rather than CARGO_PROFILE_RELEASE_* variables, which
/// aya-build would pass on to the eBPF build (a stripped object has no BTF).
const PROFILE: &str = "release-lto";

/// One target's results.
#[derive(Debug)]
pub struct Artefact {
    pub triple: &'static str,
    /// target/dist/<triple>/alexa: the gateway binary.
    pub path: PathBuf,
    pub size: u64,
    /// The full binary's size (lab tools included), when it was built.
    pub full_size: Option<u64>,
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target"))
}

pub fn dist_dir() -> PathBuf {
    target_dir().join("dist")
}

/// The gateway binary of `triple` in target/dist.
pub fn binary(triple: &str) -> PathBuf {
    dist_dir().join(triple).join("alexa")
}

/// The object the binaries embed, built once (for the first target) and
/// handed to the other builds through ALEXA_EBPF_OBJECT (alexa-user/build.rs).
pub fn shared_object() -> PathBuf {
    target_dir().join("dist-ebpf/alexa-classifier")
}

/// Builds the gateway binaries (and the full ones when `full`), writes
/// SHA256SUMS and prints the sizes.
pub fn run(full: bool) -> Result<Vec<Artefact>> {
    let start = Instant::now();
    check_arch_neutral_object()?;
    let mut artefacts = Vec::new();
    for (i, triple) in DIST_TARGETS.into_iter().enumerate() {
        // The first build makes the eBPF object; every later one embeds it.
        let object = (i > 0).then(shared_object);
        let built = build(triple, false, object.as_deref())?;
        if i == 0 {
            match &built.out_dir {
                Some(d) => copy_if_changed(&d.join("alexa-classifier"), &shared_object())?,
                // Cargo names it even when the script did not need to run;
                // should it not, the object from the run that built it stays.
                None if shared_object().is_file() => {}
                None => bail!("cargo reported no build-script output directory for alexa-user"),
            }
        }
        let path = binary(triple);
        copy_if_changed(&built.executable, &path)?;
        check_elf(&path, triple)?;
        let full_size = if full {
            let f = build(triple, true, Some(&shared_object()))?;
            let dest = target_dir().join("dist-full").join(triple).join("alexa");
            copy_if_changed(&f.executable, &dest)?;
            check_elf(&dest, triple)?;
            Some(size(&dest)?)
        } else {
            None
        };
        artefacts.push(Artefact {
            triple,
            size: size(&path)?,
            path,
            full_size,
        });
    }
    check_gateway_build(&binary(DIST_TARGETS[0]))?;
    write_sums(&artefacts)?;
    print!("{}", table(&artefacts));
    eprintln!(
        "xtask dist: done in {:.0} s: {} and SHA256SUMS (check with `cd {} && sha256sum -c SHA256SUMS`)",
        start.elapsed().as_secs_f64(),
        dist_dir().display(),
        dist_dir().display()
    );
    Ok(artefacts)
}

struct Built {
    executable: PathBuf,
    out_dir: Option<PathBuf>,
}

/// `cargo build --profile release-lto --target TRIPLE` of the `alexa` binary, the
/// gateway form unless `full`; what cargo says it made.
fn build(triple: &str, full: bool, object: Option<&Path>) -> Result<Built> {
    let mut cmd = cargo();
    cmd.args([
        "build",
        "--profile",
        PROFILE,
        "--package",
        "alexa-user",
        "--bin",
        "alexa",
        "--target",
        triple,
        "--message-format=json-render-diagnostics",
    ]);
    if !full {
        cmd.arg("--no-default-features");
    }
    // Pure Rust all the way: rustc's bundled lld links the static binary,
    // so no cross C toolchain is needed (docs/deploy.md).
    let linker_var = format!(
        "CARGO_TARGET_{}_LINKER",
        triple.to_uppercase().replace('-', "_")
    );
    cmd.env(linker_var, "rust-lld");
    match object {
        Some(o) => cmd.env("ALEXA_EBPF_OBJECT", o),
        None => cmd.env_remove("ALEXA_EBPF_OBJECT"),
    };
    eprintln!(
        "xtask dist: {} binary for {triple}: {}",
        if full { "full" } else { "gateway" },
        show(&cmd)
    );
    let start = Instant::now();
    let mut child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {}", show(&cmd)))?;
    let mut executable = None;
    let mut out_dir = None;
    let stdout = child.stdout.take().context("cargo's stdout")?;
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        let is_ours = msg["package_id"]
            .as_str()
            .is_some_and(|p| p.contains("alexa-user"));
        match msg["reason"].as_str() {
            Some("build-script-executed") if is_ours => {
                out_dir = msg["out_dir"].as_str().map(PathBuf::from);
            }
            Some("compiler-artifact") if is_ours => {
                if let Some(e) = msg["executable"].as_str() {
                    executable = Some(PathBuf::from(e));
                }
            }
            _ => {}
        }
    }
    let status = child.wait()?;
    if !status.success() {
        bail!("{} failed ({status})", show(&cmd));
    }
    eprintln!(
        "xtask dist: {} binary for {triple} built in {:.0} s",
        if full { "full" } else { "gateway" },
        start.elapsed().as_secs_f64()
    );
    Ok(Built {
        executable: executable.context("cargo reported no alexa executable")?,
        out_dir,
    })
}

/// The object is built once for both targets, which holds while nothing in
/// the XDP program's sources depends on `bpf_target_arch` (the cfg aya-build
/// sets from the binary's architecture; aya-ebpf uses it for kprobe register
/// access, which an XDP program never touches, and aya-ebpf-bindings to pick
/// a per-architecture copy of the same helper stubs: built both ways, the
/// objects differ only in that file's path in the debug info).
fn check_arch_neutral_object() -> Result<()> {
    for dir in ["alexa-ebpf/src", "alexa-common/src"] {
        let mut stack = vec![repo_root().join(dir)];
        while let Some(d) = stack.pop() {
            for e in
                std::fs::read_dir(&d).with_context(|| format!("cannot list {}", d.display()))?
            {
                let p = e?.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    let text = std::fs::read_to_string(&p)?;
                    if text.contains("bpf_target_arch") {
                        bail!(
                            "{} uses bpf_target_arch: the eBPF object now differs by architecture, \
                             so dist may no longer build it once for both (xtask/src/dist.rs)",
                            p.display()
                        );
                    }
                }
            }
        }
    }
    Ok(())
}

/// Copies unless `dest` already has these bytes, so that a warm run leaves
/// timestamps alone (the object's change would rebuild the other targets).
fn copy_if_changed(src: &Path, dest: &Path) -> Result<()> {
    let bytes = std::fs::read(src).with_context(|| format!("cannot read {}", src.display()))?;
    if std::fs::read(dest).is_ok_and(|d| d == bytes) {
        return Ok(());
    }
    let dir = dest.parent().context("no parent directory")?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let tmp = dir.join(".xtask-dist.tmp");
    std::fs::copy(src, &tmp).with_context(|| format!("cannot copy {}", src.display()))?;
    std::fs::rename(&tmp, dest).with_context(|| format!("cannot write {}", dest.display()))
}

fn size(p: &Path) -> Result<u64> {
    Ok(std::fs::metadata(p)
        .with_context(|| format!("cannot stat {}", p.display()))?
        .len())
}

/// The file is an ELF executable for `triple`'s machine that needs no
/// dynamic loader (no PT_INTERP): it runs on a gateway without a libc.
fn check_elf(path: &Path, triple: &str) -> Result<()> {
    let b = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let u16_at = |o: usize| b.get(o..o + 2).map(|s| u16::from_le_bytes([s[0], s[1]]));
    let u32_at = |o: usize| {
        b.get(o..o + 4)
            .map(|s| u32::from_le_bytes(s.try_into().unwrap()))
    };
    let u64_at = |o: usize| {
        b.get(o..o + 8)
            .map(|s| u64::from_le_bytes(s.try_into().unwrap()))
    };
    // 64-bit little-endian ELF.
    if b.get(..6) != Some(b"\x7fELF\x02\x01".as_slice()) {
        bail!("{}: not a 64-bit little-endian ELF file", path.display());
    }
    let want = if triple.starts_with("aarch64") {
        183
    } else {
        62
    };
    let machine = u16_at(18).context("short ELF header")?;
    if machine != want {
        bail!(
            "{}: ELF machine {machine}, not {want} ({triple})",
            path.display()
        );
    }
    let phoff = u64_at(32).context("short ELF header")? as usize;
    let phentsize = u16_at(54).context("short ELF header")? as usize;
    let phnum = u16_at(56).context("short ELF header")? as usize;
    for i in 0..phnum {
        const PT_INTERP: u32 = 3;
        if u32_at(phoff + i * phentsize).context("short program header")? == PT_INTERP {
            bail!(
                "{}: dynamically linked (it names a program interpreter)",
                path.display()
            );
        }
    }
    Ok(())
}

/// The host can run the x86_64 binary: it must say it is the gateway build
/// (cargo puts the full and the gateway binary at the same path in turn).
fn check_gateway_build(x86_64: &Path) -> Result<()> {
    if std::env::consts::ARCH != "x86_64" {
        return Ok(());
    }
    let out = Command::new(x86_64)
        .arg("--version")
        .output()
        .with_context(|| format!("cannot run {}", x86_64.display()))?;
    let v = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() || !v.contains("gateway build") {
        bail!(
            "{} --version says {:?}: not the gateway build",
            x86_64.display(),
            v.trim()
        );
    }
    Ok(())
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// SHA256SUMS in `sha256sum` format, paths relative to target/dist.
fn write_sums(artefacts: &[Artefact]) -> Result<()> {
    let mut sums = String::new();
    for a in artefacts {
        let bytes = std::fs::read(&a.path)?;
        sums.push_str(&format!("{}  {}/alexa\n", sha256_hex(&bytes), a.triple));
    }
    let path = dist_dir().join("SHA256SUMS");
    std::fs::write(&path, sums).with_context(|| format!("cannot write {}", path.display()))
}

fn mib(n: u64) -> String {
    format!("{:.2} MiB", n as f64 / (1024.0 * 1024.0))
}

/// The sizes, as docs/deploy.md shows them.
fn table(artefacts: &[Artefact]) -> String {
    let mut t = format!(
        "{:<28} {:>22} {:>22} {:>6}\n",
        "target", "gateway", "full (lab)", "saved"
    );
    for a in artefacts {
        let (full, saved) = match a.full_size {
            Some(f) => (
                format!("{} ({f} B)", mib(f)),
                format!("{:.0}%", 100.0 * (1.0 - a.size as f64 / f as f64)),
            ),
            None => ("-".into(), "-".into()),
        };
        t.push_str(&format!(
            "{:<28} {:>22} {:>22} {:>6}\n",
            a.triple,
            format!("{} ({} B)", mib(a.size), a.size),
            full,
            saved
        ));
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_elf_knows_a_static_binary_from_a_dynamic_one() {
        // This test binary is dynamically linked against glibc.
        let me = std::env::current_exe().unwrap();
        let e = format!(
            "{:#}",
            check_elf(
                &me,
                &format!("{}-unknown-linux-gnu", std::env::consts::ARCH)
            )
            .unwrap_err()
        );
        assert!(e.contains("dynamically linked"), "{e}");
        let other = if std::env::consts::ARCH == "x86_64" {
            "aarch64-unknown-linux-musl"
        } else {
            "x86_64-unknown-linux-musl"
        };
        let e = format!("{:#}", check_elf(&me, other).unwrap_err());
        assert!(e.contains("ELF machine"), "{e}");
        let e = format!(
            "{:#}",
            check_elf(
                Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")),
                other
            )
            .unwrap_err()
        );
        assert!(e.contains("not a 64-bit little-endian ELF"), "{e}");
    }

    #[test]
    fn sums_are_sha256() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
