//! `cargo xtask test`: unit tests, the offline oracle tests, the
//! privileged tests (real XDP in real namespaces), which run one at a time
//! because they share the kernel, and then a short run of every fuzz target.

use anyhow::Result;

use crate::{
    fuzz,
    util::{cargo, exec},
};

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
    )?;
    if !args.is_empty() {
        // A filter means iterating on some tests; the fuzz smoke run is for the full suite.
        eprintln!("xtask test: test filter given, fuzz targets not run (`cargo xtask fuzz`)");
        return Ok(());
    }
    fuzz::run(None, FUZZ_SMOKE_SECONDS).map(|_| ())
}

/// Per fuzz target in the full test run: enough to replay the seeds and
/// catch a regression on the paths they lead to; long runs are `cargo xtask fuzz`.
const FUZZ_SMOKE_SECONDS: u64 = 15;
