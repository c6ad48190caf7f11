//! Builds the XDP object with the nightly toolchain (`-Z build-std=core`,
//! target bpfel) into OUT_DIR, where `include_bytes_aligned!` embeds it.
//! `AYA_BUILD_SKIP=1` skips it (the binary then cannot load the classifier).
use anyhow::Context as _;

fn main() -> anyhow::Result<()> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
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
