//! `cargo xtask test`: unit tests, the offline oracle tests, and the
//! privileged tests (real XDP in real namespaces), which run one at a time
//! because they share the kernel.

use anyhow::Result;

use crate::util::{cargo, exec};

pub fn run(args: &[String]) -> Result<()> {
    exec(
        cargo()
            .args([
                "test",
                "--workspace",
                "--exclude",
                "alexa-ebpf",
                "--exclude",
                "alexa-tests",
                "--",
            ])
            .args(args),
    )?;
    exec(
        cargo()
            .args(["test", "--package", "alexa-tests", "--", "--test-threads=1"])
            .args(args),
    )
}
