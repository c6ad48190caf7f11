//! The command line: the clap tree, and one small `run` per command in the
//! room named for its kind (agent and its clients, offline tools, lab tools).

mod agent_cmds;
#[cfg(feature = "lab")]
mod lab;
mod offline;

use std::{path::PathBuf, process::ExitCode};

use anyhow::Result;
use clap::{Parser, Subcommand};

#[cfg(feature = "lab")]
use crate::offline::simulate;
use agent_cmds::{ModelCommand, PolicyCommand, SocketArg};

use crate::{
    agent::{
        self,
        {args::RunArgs, config::OnOff},
    },
    kernel::Device,
    offline::labelling,
};

#[derive(Parser)]
#[command(
    name = "alexa",
    version = crate::util::build_info::long_version(),
    about = "In-kernel privacy firewall for smart speakers"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
pub enum ConfigCommand {
    /// Read and validate the file: every mistake is reported with its line.
    Check {
        /// The config file.
        #[arg(long, value_name = "FILE", default_value = agent::config::DEFAULT_CONFIG)]
        config: PathBuf,
    },
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the agent: classify (and in enforce mode, drop) the devices' packets on an interface.
    Run(#[command(flatten)] Box<RunArgs>),
    /// Remove the pinned classifier (program link and maps) left attached by `alexa run`.
    Detach {
        /// bpffs directory the agent pinned the program and maps in.
        #[arg(long, value_name = "DIR", default_value = agent::DEFAULT_PIN_DIR)]
        pin_dir: PathBuf,
        #[command(flatten)]
        socket: SocketArg,
    },
    /// Check the agent's config file (`alexa run --config FILE`).
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Tell the running agent the microphone's state.
    Mic {
        /// on, or off (muted): with the microphone muted, uploads are not_justified.
        #[arg(value_enum)]
        state: OnOff,
        #[command(flatten)]
        socket: SocketArg,
    },
    /// Manage the running agent's model.
    Model {
        #[command(subcommand)]
        command: ModelCommand,
        #[command(flatten)]
        socket: SocketArg,
    },
    /// Manage the running agent's policy.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
        #[command(flatten)]
        socket: SocketArg,
    },
    /// Compute the per-packet features of a capture (pcap or pcapng) into a dataset CSV.
    Extract {
        #[command(flatten)]
        input: offline::CaptureInput,
    },
    #[cfg(feature = "lab")]
    /// Train a decision tree on labelled dataset CSVs (together) and write MODEL.json.
    Train {
        /// Byte-identical files count once.
        #[arg(required = true, value_name = "DATASET.csv")]
        datasets: Vec<PathBuf>,
        /// Where to write the model (whole or not at all).
        #[arg(short = 'o', long = "out", value_name = "MODEL.json")]
        out: PathBuf,
        #[command(flatten)]
        tree: lab::TreeArgs,
        /// Also write the training-set confusion matrix and feature importances as PNG.
        #[arg(long, value_name = "DIR")]
        report: Option<PathBuf>,
    },
    #[cfg(feature = "lab")]
    /// Leave-one-file-out cross-validation: train on the other files
    /// (prepared as `alexa prepare` does), test on every row of the held-out one.
    Crossval {
        /// One recording per file; byte-identical files are one recording.
        #[arg(required = true, num_args = 2.., value_name = "DATASET.csv")]
        datasets: Vec<PathBuf>,
        #[command(flatten)]
        tree: lab::TreeArgs,
        /// Share of the training part's `ack` rows kept (as `alexa prepare`).
        #[arg(long, default_value_t = 0.05)]
        ack_keep: f64,
        /// Seed of the ack down-sampling.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Folds trained at once (default: one per CPU).
        #[arg(long, value_name = "N")]
        jobs: Option<usize>,
    },
    /// A model's safety on real captures of legitimate sessions: with the
    /// microphone on, how many packets it would drop and which connections
    /// it would quarantine; muted, how much of the uploads it catches.
    Safety {
        /// Captures (pcap or pcapng) of legitimate sessions; a name with
        /// "mute" or "mic_off" is a muted recording.
        #[arg(required = true, value_name = "CAPTURE")]
        captures: Vec<PathBuf>,
        /// The model to check.
        #[arg(long, value_name = "MODEL.json")]
        model: PathBuf,
        /// The recorded device, by IP or MAC address (repeat for several).
        #[arg(long = "device", value_name = "ADDR|MAC", required = true)]
        devices: Vec<Device>,
    },
    /// Label every packet a device sent in a capture by the published
    /// dataset's rules: LABELS.csv for `extract --labels`.
    Label {
        /// The recording (pcap or pcapng).
        capture: PathBuf,
        /// The recorded device, by IP or MAC address (repeat for several).
        #[arg(long = "device", value_name = "ADDR|MAC", required = true)]
        devices: Vec<Device>,
        /// What the recording's application data was.
        #[arg(long, value_enum)]
        app_class: labelling::AppClass,
        /// The microphone's state during the recording.
        #[arg(long, value_enum)]
        microphone: OnOff,
        /// Where to write the labels.
        #[arg(short = 'o', long = "out", value_name = "LABELS.csv")]
        out: PathBuf,
    },
    #[cfg(feature = "lab")]
    /// Evaluate MODEL.json on a labelled dataset CSV (the compiled tree, as the kernel walks it).
    Evaluate {
        /// The model to evaluate.
        model: PathBuf,
        /// A labelled dataset CSV (published or `alexa extract --labels`).
        dataset: PathBuf,
        /// Also write the confusion matrix and feature importances as PNG.
        #[arg(long, value_name = "DIR")]
        report: Option<PathBuf>,
    },
    /// Classify a capture (or a dataset CSV) in user space with a model: the
    /// dataset columns plus `predicted`.
    Classify {
        /// The model to classify with.
        #[arg(long, value_name = "MODEL.json")]
        model: PathBuf,
        #[command(flatten)]
        input: offline::CaptureInput,
    },
    #[cfg(feature = "lab")]
    /// Simulate an Echo's traffic: DIR/capture.pcap, DIR/labels.csv, DIR/devices.txt.
    Simulate {
        /// mic-off, no-wake-word, conversation, streaming or all.
        #[arg(long, default_value = "all")]
        scenario: simulate::Scenario,
        /// Seed of the simulation: the same seed, the same traffic.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Directory to write into (created).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Scales every context's duration (and so the counts).
        #[arg(long, default_value_t = 1.0)]
        duration_scale: f64,
    },
    #[cfg(feature = "lab")]
    /// The paper's section 5 steps: NaN content type to 0, drop date/dstip/synchronized, down-sample acks.
    Prepare {
        /// A dataset CSV.
        dataset: PathBuf,
        /// Where to write the prepared dataset.
        #[arg(short = 'o', long = "out", value_name = "PREPARED.csv")]
        out: PathBuf,
        /// Share of `ack` rows kept.
        #[arg(long, default_value_t = 0.05)]
        ack_keep: f64,
        /// Seed of the ack down-sampling.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    #[cfg(feature = "lab")]
    /// The paper's figures (PNG) and summary.md from a dataset CSV.
    Report {
        /// A dataset CSV.
        dataset: PathBuf,
        /// Directory for the figures and summary.md (created).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Also compare the dataset's per-class `length` and `delta` with
        /// these files' (two-sample Kolmogorov–Smirnov D): printed and
        /// written to DIR/compare.md. Byte-identical files count once;
        /// not_justified with the microphone on counts as justified.
        #[arg(long, value_name = "REFERENCE.csv", num_args = 1..)]
        compare: Vec<PathBuf>,
        /// Share of `ack` rows kept for the "after down-sampling" figures.
        #[arg(long, default_value_t = 0.05)]
        ack_keep: f64,
        /// Seed of the ack down-sampling.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },

    // ---- Clients of the running agent's control socket (`crate::client`) ----
    /// Live dashboard of the running agent: per-class rates, alerts and drops, microphone, model.
    Top {
        #[command(flatten)]
        socket: SocketArg,
        /// How often to ask the agent, in milliseconds.
        #[arg(long, value_name = "N", default_value_t = 1000,
              value_parser = clap::value_parser!(u64).range(100..=60_000))]
        interval_ms: u64,
    },
    /// Print the running agent's status once.
    Status {
        #[command(flatten)]
        socket: SocketArg,
        /// The status as one JSON object, as the agent sent it.
        #[arg(long)]
        json: bool,
    },
    // ---- end of control-socket clients ----
}

/// Parses the command line and runs the command; an error is one line on
/// standard error and a failing exit status.
pub fn main() -> ExitCode {
    env_logger::init();
    match dispatch(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line, whatever the error quotes (see util::text).
            eprintln!(
                "alexa: error: {}",
                crate::util::text::one_line(&format!("{e:#}"))
            );
            ExitCode::FAILURE
        }
    }
}

fn dispatch(cli: Cli) -> Result<()> {
    use crate::control::Request;
    match cli.command {
        Command::Run(args) => agent_cmds::run(*args),
        Command::Detach { pin_dir, socket } => agent_cmds::detach(&pin_dir, &socket.path),
        Command::Config {
            command: ConfigCommand::Check { config },
        } => agent_cmds::config_check(&config),
        Command::Mic { state, socket } => agent_cmds::send(
            &socket.path,
            Request::Mic {
                on: state == OnOff::On,
            },
        ),
        Command::Model {
            command: ModelCommand::Load { file },
            socket,
        } => agent_cmds::model_load(&socket.path, file),
        Command::Policy {
            command: PolicyCommand::Set { rules },
            socket,
        } => agent_cmds::send(&socket.path, Request::PolicySet { rules }),
        Command::Top {
            socket,
            interval_ms,
        } => agent_cmds::top(&socket.path, interval_ms),
        Command::Status { socket, json } => agent_cmds::status(&socket.path, json),

        Command::Extract { input } => offline::extract(&input),
        Command::Classify { model, input } => offline::classify(&model, &input),
        Command::Safety {
            captures,
            model,
            devices,
        } => offline::safety(&captures, &model, &devices),
        Command::Label {
            capture,
            devices,
            app_class,
            microphone,
            out,
        } => offline::label(&capture, &devices, app_class, microphone == OnOff::On, &out),

        #[cfg(feature = "lab")]
        Command::Train {
            datasets,
            out,
            tree,
            report,
        } => lab::train(&datasets, &out, &tree, report.as_deref()),
        #[cfg(feature = "lab")]
        Command::Crossval {
            datasets,
            tree,
            ack_keep,
            seed,
            jobs,
        } => lab::crossval(
            &datasets,
            &tree,
            crate::offline::prepare::PrepareOptions { ack_keep, seed },
            jobs,
        ),
        #[cfg(feature = "lab")]
        Command::Evaluate {
            model,
            dataset,
            report,
        } => lab::evaluate(&model, &dataset, report.as_deref()),
        #[cfg(feature = "lab")]
        Command::Simulate {
            scenario,
            seed,
            out,
            duration_scale,
        } => lab::simulate(
            &simulate::SimOptions {
                scenario,
                seed,
                duration_scale,
            },
            &out,
        ),
        #[cfg(feature = "lab")]
        Command::Prepare {
            dataset,
            out,
            ack_keep,
            seed,
        } => lab::prepare(&dataset, &out, ack_keep, seed),
        #[cfg(feature = "lab")]
        Command::Report {
            dataset,
            out,
            compare,
            ack_keep,
            seed,
        } => lab::report(&dataset, &out, &compare, ack_keep, seed),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// Every flag, positional argument and command says what it is for:
    /// clap checks the arguments at every depth (`help_expected`), the
    /// walk the commands.
    #[test]
    fn every_argument_has_help() {
        fn commands_say_what_they_do(cmd: &clap::Command, path: &str) {
            for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
                let path = format!("{path} {}", sub.get_name());
                assert!(sub.get_about().is_some(), "`{path}` has no help text");
                commands_say_what_they_do(sub, &path);
            }
        }
        let cmd = super::Cli::command().help_expected(true);
        cmd.clone().debug_assert();
        commands_say_what_they_do(&cmd, "alexa");
    }
}
