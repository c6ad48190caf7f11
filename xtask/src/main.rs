//! `cargo xtask`: the one entry point for setting up, building and testing.

mod bench;
mod demo;
mod deploy;
mod dist;
mod fuzz;
mod lint;
mod setup;
mod test;
mod train_model;
mod util;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Project tasks for alexa")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Make this machine ready: nightly rust-src, bpf-linker, the musl targets, cargo-fuzz, Debian packages (qemu-user-static, tshark, ...). Idempotent.
    Setup {
        /// Only check; report what is missing without installing.
        #[arg(long)]
        check: bool,
    },
    /// Build the agent (with the embedded XDP object).
    Build {
        /// An optimised build (target/release/alexa).
        #[arg(long)]
        release: bool,
    },
    /// Release artefacts: static gateway binaries for x86_64 and aarch64 in
    /// target/dist with SHA256SUMS, and their sizes against the full binary.
    Dist {
        /// Only the gateway binaries (no size comparison with the full ones).
        #[arg(long)]
        gateway_only: bool,
    },
    /// Regenerate the fixture corpus (tests/fixtures) from real traffic in namespaces (needs root).
    Fixtures,
    /// Reproduce models/echo.json (real data: ../shared/data/real) and models/sim.json (simulator), with their figures in models/README.md.
    TrainModel,
    /// The whole product in a virtual home network: a simulated Echo's day through a real gateway, the agent enforcing (needs root).
    Demo {
        /// Passed to the demo: --seed N, --scale X, --gap-cap-ms N.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Install the agent as a systemd service on this gateway (docs/deploy.md).
    Deploy(deploy::DeployArgs),
    /// Run the cargo-fuzz targets (parse, capture, model, csv), memory bounded.
    Fuzz {
        /// One target; all of them when omitted.
        target: Option<String>,
        /// How long each target runs.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
    },
    /// Measure kernel cost, forwarding, the agent, the offline tools and growth with flows and devices (needs root); writes docs/benchmarks.md.
    Bench {
        /// A short smoke run; its report goes to target/bench/, not docs/.
        #[arg(long)]
        quick: bool,
        /// Only these sections (comma-separated: kernel,forward,agent,offline,growth).
        #[arg(long)]
        only: Option<String>,
    },
    /// Check the crates' module structure: no import circle, no import up
    /// the layers of xtask/src/lint/rooms.rs, no file over 500 production
    /// lines without a `//! Size:` reason.
    Lint {
        /// Also list the 10 largest files with their production lines.
        #[arg(long)]
        verbose: bool,
        /// Print the room graph (rooms, layers, imports, circles) as Markdown.
        #[arg(long)]
        report: bool,
        /// Without the temporary allow-lists (KNOWN_CYCLES, KNOWN_LARGE_FILES):
        /// everything the restructure still has to fix.
        #[arg(long)]
        strict: bool,
    },
    /// Run every test, including the privileged ones (needs root), then each fuzz target briefly.
    Test {
        /// Only the release artefacts' checks: dist binaries built, the
        /// aarch64 one under qemu-user, live tests with the x86_64 one.
        #[arg(long)]
        artefacts_only: bool,
        /// Extra arguments for the test binaries (e.g. a test name filter).
        #[arg(trailing_var_arg = true)]
        args: Vec<String>,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result: Result<()> = match cli.command {
        Command::Setup { check } => setup::run(check),
        Command::Build { release } => {
            setup::ensure_for(setup::Need::Build).and_then(|()| util::build(release))
        }
        Command::Dist { gateway_only } => {
            setup::ensure_for(setup::Need::Dist).and_then(|()| dist::run(!gateway_only).map(drop))
        }
        Command::Fixtures => setup::ensure().and_then(|()| {
            util::exec(util::cargo().args([
                "run",
                "--package",
                "alexa-lab",
                "--bin",
                "make-corpus",
                "--",
                "--out",
                "tests/fixtures",
            ]))
        }),
        Command::TrainModel => setup::ensure().and_then(|()| train_model::run()),
        Command::Demo { args } => demo::run(&args),
        Command::Deploy(args) => deploy::run(&args, &mut std::io::stdout()).map(drop),
        Command::Fuzz { target, seconds } => {
            setup::ensure().and_then(|()| fuzz::run(target.as_deref(), seconds).map(|_| ()))
        }
        Command::Bench { quick, only } => setup::ensure().and_then(|()| bench::run(quick, only)),
        Command::Lint {
            verbose,
            report,
            strict,
        } => lint::run(lint::Options {
            verbose,
            report,
            strict,
        }),
        Command::Test {
            artefacts_only,
            args,
        } => setup::ensure().and_then(|()| {
            if artefacts_only {
                test::release_artefacts()
            } else {
                test::run(&args)
            }
        }),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// Every flag, positional argument and task says what it is for: clap
    /// checks the arguments (`help_expected`), the loop the tasks.
    #[test]
    fn every_argument_has_help() {
        let cmd = super::Cli::command().help_expected(true);
        cmd.clone().debug_assert();
        for sub in cmd.get_subcommands() {
            assert!(
                sub.get_about().is_some(),
                "task {} says nothing",
                sub.get_name()
            );
        }
    }
}
