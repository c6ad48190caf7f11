//! Builds the lab's XDP object (alexa-lab-ebpf: the bench's reference
//! programs) with the nightly toolchain into OUT_DIR, where
//! `include_bytes_aligned!` embeds it, the same way alexa-user/build.rs
//! builds the classifier's. `AYA_BUILD_SKIP=1` skips it (an empty file is
//! embedded; loading it then fails, naming the reason).
use std::path::Path;

use anyhow::Context as _;

fn main() -> anyhow::Result<()> {
    let out = Path::new(&std::env::var_os("OUT_DIR").context("OUT_DIR not set")?)
        .join("alexa-lab-programs");
    if !out.exists() {
        // Replaced by the build below; stays empty when it is skipped.
        std::fs::write(&out, b"")?;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("alexa-lab has no parent directory")?
        .join("alexa-lab-ebpf");
    let root = root.to_str().context("workspace path is not UTF-8")?;
    aya_build::build_ebpf(
        [aya_build::Package {
            name: "alexa-lab-ebpf",
            root_dir: root,
            ..Default::default()
        }],
        aya_build::Toolchain::default(),
    )
}
