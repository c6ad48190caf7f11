//! `alexa`: the smart-speaker privacy firewall's agent and offline tools.

use std::{collections::HashSet, path::PathBuf, process::ExitCode};

use alexa::{
    agent::{
        self,
        args::{self, ModelCommand, OnOff, PolicyCommand, RunArgs, SocketArg},
        control,
    },
    device::Device,
    extract, labelling, labels,
};
#[cfg(feature = "lab")]
use alexa::{prepare, replay, report, simulate};
use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "alexa",
    version = alexa::build_info::long_version(),
    about = "In-kernel privacy firewall for smart speakers"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Read and validate the file: every mistake is reported with its line.
    Check {
        /// The config file.
        #[arg(long, value_name = "FILE", default_value = agent::config::DEFAULT_CONFIG)]
        config: PathBuf,
    },
}

#[derive(Subcommand)]
enum Command {
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
        input: CaptureInput,
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
        tree: TreeArgs,
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
        tree: TreeArgs,
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
        input: CaptureInput,
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
    /// Send the device's frames of a capture (those in LABELS.csv) out of an
    /// interface in real time, long idle gaps shortened (docs/demo.md).
    Replay {
        /// The capture to replay (pcap or pcapng).
        capture: PathBuf,
        /// Which frames are the device's, with their class and microphone state.
        #[arg(long, value_name = "LABELS.csv")]
        labels: PathBuf,
        /// Interface to send on (the device's side of the link).
        #[arg(long)]
        iface: String,
        /// Tell the agent there when the labels' microphone state changes.
        #[arg(long, value_name = "PATH")]
        control_socket: Option<PathBuf>,
        /// Idle gaps longer than this are shortened to it.
        #[arg(long, value_name = "MS", default_value_t = replay::DEFAULT_GAP_CAP.as_millis() as u64)]
        gap_cap_ms: u64,
        /// Destination MAC for unicast frames (default: the capture's).
        #[arg(long, value_name = "MAC", value_parser = parse_mac)]
        dst_mac: Option<[u8; 6]>,
        /// Source MAC (default: the capture's).
        #[arg(long, value_name = "MAC", value_parser = parse_mac)]
        src_mac: Option<[u8; 6]>,
        /// A progress bar on standard error (on a terminal).
        #[arg(long)]
        progress: bool,
        /// One CSV line per frame sent (index = IPv4 identification, class, microphone, destination, time).
        #[arg(long, value_name = "FILE")]
        record: Option<PathBuf>,
    },
    #[cfg(feature = "lab")]
    /// Count the frames of a replay arriving on an interface, by IPv4
    /// identification, until SIGINT or SIGTERM; writes them as JSON.
    #[command(hide = true)]
    Arrivals {
        /// Interface to count arrivals on.
        #[arg(long)]
        iface: String,
        /// The replayed device's address.
        #[arg(long, value_name = "ADDR")]
        device: std::net::Ipv4Addr,
        /// Where to write the counts.
        #[arg(short = 'o', long = "out", value_name = "FILE.json")]
        out: PathBuf,
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

    // ---- Clients of the running agent's control socket (status.rs, top.rs) ----
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

#[cfg(feature = "lab")]
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum ClassWeightArg {
    Balanced,
    None,
}

#[cfg(feature = "lab")]
/// The tree options `train` and `crossval` share.
#[derive(clap::Args)]
struct TreeArgs {
    /// Deepest the tree may grow (the kernel walks at most 32 levels).
    #[arg(long, default_value_t = 20)]
    max_depth: u32,
    /// Least (class-weighted) samples in a leaf.
    #[arg(long, default_value_t = 1)]
    min_samples_leaf: u32,
    /// `paper` (first seven), `extended` (all but srcport and flow_index),
    /// `all` or a comma-separated list; default: the feature columns every
    /// file has, but never srcport or flow_index.
    #[arg(long)]
    features: Option<String>,
    /// balanced: each class weighs the same in total (rare uploads count); none: every row weighs 1.
    #[arg(long, value_enum, default_value_t = ClassWeightArg::Balanced)]
    class_weight: ClassWeightArg,
}

#[cfg(feature = "lab")]
impl TreeArgs {
    /// Checks `--features` before any file is read.
    fn check(&self) -> Result<()> {
        if let Some(f) = &self.features {
            alexa::model::train::parse_features(f)?;
        }
        Ok(())
    }

    fn options(
        &self,
        files: &alexa::dataset::DatasetFiles,
    ) -> Result<alexa::model::train::TrainOptions> {
        use alexa::model::train;
        Ok(train::TrainOptions {
            max_depth: self.max_depth,
            min_samples_leaf: self.min_samples_leaf,
            features: train::resolve_features(self.features.as_deref(), files)?,
            class_weight: match self.class_weight {
                ClassWeightArg::Balanced => train::ClassWeight::Balanced,
                ClassWeightArg::None => train::ClassWeight::None,
            },
        })
    }
}

/// A capture and how to read it: shared by `extract` and `classify`.
#[derive(clap::Args)]
struct CaptureInput {
    /// The capture (pcap or pcapng), or for `classify` a dataset CSV.
    capture: PathBuf,
    /// Monitored device, by IP or MAC address (repeat for several); every
    /// host when none is named.
    #[arg(long = "device", value_name = "ADDR|MAC")]
    devices: Vec<Device>,
    /// Microphone state for packets with no label [default: on].
    #[arg(long, value_enum)]
    microphone: Option<OnOff>,
    /// Ground truth: only the labelled frames, with their class (classify also reports metrics).
    #[arg(long, value_name = "LABELS.csv")]
    labels: Option<PathBuf>,
    /// Where to write the rows (whole or not at all).
    #[arg(short = 'o', long = "out", value_name = "OUT.csv")]
    out: PathBuf,
}

impl CaptureInput {
    fn microphone(&self) -> bool {
        self.microphone != Some(OnOff::Off)
    }

    fn labels(&self) -> Result<Option<(PathBuf, Vec<labels::CheckedLabel>)>> {
        self.labels
            .as_ref()
            .map(|p| labels::read_labels(p).map(|l| (p.clone(), l)))
            .transpose()
    }
}

#[cfg(feature = "lab")]
fn parse_mac(s: &str) -> Result<[u8; 6]> {
    replay::parse_mac(s)
}

fn device_set(devices: &[Device]) -> extract::DeviceSet {
    (!devices.is_empty()).then(|| devices.iter().map(Device::key).collect::<HashSet<_>>())
}

fn main() -> ExitCode {
    env_logger::init();
    match dispatch(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line, whatever the error quotes (see alexa::text).
            eprintln!("alexa: error: {}", alexa::text::one_line(&format!("{e:#}")));
            ExitCode::FAILURE
        }
    }
}

fn dispatch(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Run(args) => {
            let opts = args.options()?;
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?
                .block_on(agent::run(opts))
        }
        Command::Detach { pin_dir, socket } => detach(&pin_dir, &socket.path),
        Command::Config {
            command: ConfigCommand::Check { config },
        } => config_check(&config),
        Command::Mic { state, socket } => args::send(
            &socket.path,
            control::Request::Mic {
                on: state == OnOff::On,
            },
        ),
        Command::Model {
            command: ModelCommand::Load { file },
            socket,
        } => args::model_load(&socket.path, file),
        Command::Policy {
            command: PolicyCommand::Set { rules },
            socket,
        } => args::send(&socket.path, control::Request::PolicySet { rules }),
        Command::Extract { input } => {
            let labels = input.labels()?;
            let out = &input.out;
            let tally = extract::extract_to_csv(
                &input.capture,
                device_set(&input.devices),
                input.microphone(),
                labels.as_ref().map(|(p, l)| (p.as_path(), l.as_slice())),
                out,
            )?;
            eprintln!(
                "alexa extract: {} frames, {} classified, {} rows written to {} ({} from other hosts, {} not classified, {} malformed)",
                tally.frames,
                tally.classified,
                tally.written,
                out.display(),
                tally.foreign,
                tally.other,
                tally.malformed
            );
            Ok(())
        }
        #[cfg(feature = "lab")]
        Command::Train {
            datasets,
            out,
            tree,
            report,
        } => train(&datasets, &out, &tree, report.as_deref()),
        #[cfg(feature = "lab")]
        Command::Crossval {
            datasets,
            tree,
            ack_keep,
            seed,
            jobs,
        } => crossval(
            &datasets,
            &tree,
            prepare::PrepareOptions { ack_keep, seed },
            jobs,
        ),
        Command::Safety {
            captures,
            model,
            devices,
        } => safety(&captures, &model, &devices),
        Command::Label {
            capture,
            devices,
            app_class,
            microphone,
            out,
        } => {
            let (tally, counts) = labelling::label_capture(
                &capture,
                device_set(&devices),
                app_class,
                microphone == OnOff::On,
                &out,
            )?;
            eprintln!(
                "alexa label: {} frames, {} device packets labelled ({}) in {}",
                tally.frames,
                tally.written,
                class_counts(&counts),
                out.display()
            );
            Ok(())
        }
        #[cfg(feature = "lab")]
        Command::Evaluate {
            model: model_path,
            dataset,
            report,
        } => {
            use alexa::model;
            let m = model::load(&model_path)?;
            let c = model::evaluate_file(&m, &dataset)?;
            let names: Vec<&str> = m.features.iter().map(|f| f.name()).collect();
            println!(
                "model: {} ({} nodes, depth {}; features: {})",
                model_path.display(),
                m.nodes.len(),
                m.file.tree.depth,
                names.join(",")
            );
            println!("dataset: {}", dataset.display());
            if let Some(dir) = report {
                let what = dataset
                    .file_name()
                    .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
                model::write_report(&dir, &m, &c, &what)?;
            }
            println!("{}", c.report());
            Ok(())
        }
        Command::Classify {
            model: model_path,
            input,
        } => classify(&model_path, &input),
        #[cfg(feature = "lab")]
        Command::Simulate {
            scenario,
            seed,
            out,
            duration_scale,
        } => {
            let opts = simulate::SimOptions {
                scenario,
                seed,
                duration_scale,
            };
            let w = simulate::simulate_to_dir(&opts, &out)?;
            eprintln!(
                "alexa simulate: {} frames over {:.0} s, {} sent by the device, written to {}",
                w.frames,
                w.seconds,
                w.labelled,
                out.display()
            );
            Ok(())
        }
        #[cfg(feature = "lab")]
        Command::Replay {
            capture,
            labels,
            iface,
            control_socket,
            gap_cap_ms,
            dst_mac,
            src_mac,
            progress,
            record,
        } => {
            let frames = replay::load(&capture, &labels)?;
            let opts = replay::SendOptions {
                gap_cap: std::time::Duration::from_millis(gap_cap_ms),
                dst_mac,
                src_mac,
                control_socket,
                ..replay::SendOptions::new(&iface)
            };
            if opts.control_socket.is_none()
                && frames
                    .windows(2)
                    .any(|w| w[0].microphone != w[1].microphone)
            {
                eprintln!("alexa replay: the microphone changes state in the labels, but no --control-socket names an agent to tell");
            }
            let stop = stop_on_signals();
            let mut bar = progress.then(|| {
                alexa::progress::Progress::counting("replay", frames.len() as u64, "frames")
            });
            let sent = replay::send(&frames, &opts, stop, &mut |n| {
                if let Some(b) = bar.as_mut() {
                    b.update(n as u64);
                }
            })?;
            if let Some(b) = bar.as_mut() {
                b.finish();
            }
            if let Some(path) = &record {
                replay::write_record(path, &frames, &sent)?;
            }
            let counts: Vec<String> = replay::per_class(&frames, &sent)
                .iter()
                .zip(alexa_common::CLASS_NAMES)
                .filter(|(n, _)| **n > 0)
                .map(|(n, c)| format!("{c} {n}"))
                .collect();
            eprintln!(
                "alexa replay: {} of {} frames sent on {} in {:.1} s ({}), latest frame {} µs behind its time{}; {}",
                sent.frames.len(),
                frames.len(),
                iface,
                sent.elapsed.as_secs_f64(),
                counts.join(", "),
                sent.max_late().as_micros(),
                if sent.realtime { "" } else { " (not real-time scheduled)" },
                if sent.interrupted { "interrupted" } else { "done" }
            );
            Ok(())
        }
        #[cfg(feature = "lab")]
        Command::Arrivals { iface, device, out } => {
            let counter = replay::ArrivalCounter::open(&iface, device)?;
            let stop = stop_on_signals();
            let arrivals = counter.run(stop, &std::sync::atomic::AtomicU64::new(0))?;
            let mut file = alexa::output::AtomicFile::create(&out)?;
            serde_json::to_writer(file.writer(), &arrivals)?;
            file.commit()?;
            eprintln!(
                "alexa arrivals: {} frames from {device} on {iface}, {} lost by the counting socket; written to {}",
                arrivals.frames,
                arrivals.socket_drops,
                out.display()
            );
            Ok(())
        }
        #[cfg(feature = "lab")]
        Command::Prepare {
            dataset,
            out,
            ack_keep,
            seed,
        } => {
            let p = prepare::prepare(&dataset, &out, &prepare::PrepareOptions { ack_keep, seed })?;
            print!("{}", p.table());
            eprintln!(
                "alexa prepare: {} rows in, {} written to {} ({} NaN content types set to 0)",
                p.rows_in,
                p.rows_out,
                out.display(),
                p.nan_fixed
            );
            Ok(())
        }
        #[cfg(feature = "lab")]
        Command::Report {
            dataset,
            out,
            compare,
            ack_keep,
            seed,
        } => {
            // The comparison first: a bad reference file fails before any figure.
            let cmp = (!compare.is_empty())
                .then(|| alexa::compare::compare(&dataset, &compare))
                .transpose()?;
            report::report(&dataset, &out, &prepare::PrepareOptions { ack_keep, seed })?;
            eprintln!(
                "alexa report: figures and summary.md written to {}",
                out.display()
            );
            if let Some(c) = cmp {
                for n in c.notes() {
                    eprintln!("alexa report: {n}");
                }
                let mut md = format!(
                    "# `{}` against {} reference file(s): two-sample Kolmogorov–Smirnov D per class\n\n",
                    dataset.display(),
                    c.reference_files
                );
                md.push_str(&c.table());
                md.push('\n');
                for n in c.notes() {
                    md.push_str(&format!("- {n}\n"));
                }
                let path = out.join("compare.md");
                let mut f = alexa::output::AtomicFile::create(&path)?;
                std::io::Write::write_all(&mut f, md.as_bytes())?;
                f.commit()?;
                print!("{}", c.table());
                eprintln!("alexa report: comparison written to {}", path.display());
            }
            Ok(())
        }

        // ---- Clients of the running agent's control socket ----
        Command::Top {
            socket,
            interval_ms,
        } => alexa::top::run(
            &alexa::top::TopOptions {
                interval: std::time::Duration::from_millis(interval_ms),
                source: socket.path.display().to_string(),
            },
            || alexa::status::fetch_status(&socket.path),
        ),
        Command::Status { socket, json } => {
            let status = alexa::status::fetch_status(&socket.path)?;
            if json {
                println!("{}", serde_json::to_string(&status)?);
            } else {
                print!("{}", alexa::status::summary(&status));
                // Root reads the token file; anyone else is told where it is.
                if let Some(file) = &status.api_token_file {
                    match std::fs::read_to_string(file) {
                        Ok(t) => println!(
                            "api token: {} (send \"Authorization: Bearer TOKEN\" to change state over HTTP)",
                            t.trim()
                        ),
                        Err(_) => println!("api token: in {file} (root only)"),
                    }
                }
            }
            Ok(())
        }
    }
}

/// `alexa config check`: the file, then what it points to that can be
/// checked without starting (the model file, the interface).
fn config_check(path: &std::path::Path) -> Result<()> {
    use agent::config;
    let c = config::load(path)?;
    match &c.model {
        Some(config::ModelChoice::File(m)) => drop(alexa::model::file::load(m)?),
        None | Some(config::ModelChoice::Builtin) => drop(alexa::model::embedded::echo()?),
        Some(config::ModelChoice::Off) => {}
    }
    println!("{}: ok: {}", path.display(), config::describe(&c));
    if let Some(iface) = &c.interface {
        if agent::require_interface(iface).is_err() {
            eprintln!("alexa: note: interface {iface} does not exist on this machine (yet)");
        }
    }
    Ok(())
}

#[cfg(feature = "lab")]
/// `alexa train`.
fn train(
    datasets: &[PathBuf],
    out: &std::path::Path,
    tree: &TreeArgs,
    report: Option<&std::path::Path>,
) -> Result<()> {
    use alexa::model::{self, train};
    tree.check()?;
    let files = alexa::dataset::load_distinct(datasets)?;
    for n in files.notes() {
        eprintln!("alexa train: note: {n}");
    }
    let opts = tree.options(&files)?;
    if tree.features.is_none() {
        eprintln!(
            "alexa train: features (the columns every file has): {}",
            feature_names(&opts.features)
        );
    }
    let t = train::train_files(&files, &opts)?;
    model::file::save(t.file(), out)?;
    let f = t.file();
    eprintln!(
        "alexa train: {} rows from {} file(s); {} nodes, depth {}, {} leaves; training accuracy {:.4}, macro-F1 {:.4}; wrote {}",
        f.training.data.rows,
        files.files.len(),
        f.tree.nodes.len(),
        f.tree.depth,
        f.tree.leaves,
        f.training.metrics.accuracy,
        f.training.metrics.macro_f1,
        out.display()
    );
    if let Some(dir) = report {
        let mut c = model::evaluate::Confusion::default();
        for r in files.files.iter().flat_map(|f| &f.rows) {
            c.add(
                r.class.unwrap_or(0),
                t.model.predict(&train::row_features(&r.values)),
            );
        }
        model::write_report(dir, &t.model, &c, "training set")?;
    }
    Ok(())
}

#[cfg(feature = "lab")]
/// `alexa crossval`.
fn crossval(
    datasets: &[PathBuf],
    tree: &TreeArgs,
    prepare: prepare::PrepareOptions,
    jobs: Option<usize>,
) -> Result<()> {
    use alexa::model::crossval;
    tree.check()?;
    let files = alexa::dataset::load_distinct(datasets)?;
    for n in files.notes() {
        eprintln!("alexa crossval: note: {n}");
    }
    let opts = crossval::CrossvalOptions {
        train: tree.options(&files)?,
        prepare,
        threads: jobs.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        }),
    };
    let n = files.files.len();
    eprintln!(
        "alexa crossval: {n} folds, features {}",
        feature_names(&opts.train.features)
    );
    let done = std::sync::atomic::AtomicUsize::new(0);
    let cv = crossval::crossval(&files, &opts, &|_, f| {
        let k = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        eprintln!(
            "alexa crossval: [{k}/{n}] held out {}: trained on {} rows, macro-F1 {:.4} on its {} rows",
            f.name,
            f.train_rows,
            f.confusion.macro_f1(),
            f.rows
        );
    })?;
    println!("{}", cv.report());
    Ok(())
}

/// `alexa classify`: a dataset CSV row by row, or a capture.
fn classify(model_path: &std::path::Path, input: &CaptureInput) -> Result<()> {
    use alexa::model;
    let m = model::load(model_path)?;
    let out = &input.out;
    let (confusion, truth) = if alexa::dataset::looks_like_dataset(&input.capture) {
        if !input.devices.is_empty() || input.labels.is_some() || input.microphone.is_some() {
            anyhow::bail!(
                "{}: a dataset CSV: --device, --microphone and --labels apply to captures only",
                input.capture.display()
            );
        }
        let (rows, c) = model::classify_dataset(&m, &input.capture, out)?;
        eprintln!(
            "alexa classify: {rows} rows of {} written to {} with `predicted`",
            input.capture.display(),
            out.display()
        );
        (c, "its class column")
    } else {
        let labels = input.labels()?;
        let (tally, c) = model::classify_capture(
            &m,
            &input.capture,
            device_set(&input.devices),
            input.microphone(),
            labels.as_ref().map(|(p, l)| (p.as_path(), l.as_slice())),
            out,
        )?;
        eprintln!(
            "alexa classify: {} frames, {} rows written to {}",
            tally.frames,
            tally.written,
            out.display()
        );
        (c, "the labels")
    };
    if confusion.total() > 0 {
        eprintln!(
            "alexa classify: against {truth}: accuracy {:.4}, macro-F1 {:.4}",
            confusion.accuracy(),
            confusion.macro_f1()
        );
    }
    Ok(())
}

#[cfg(feature = "lab")]
fn feature_names(features: &[alexa_common::Feature]) -> String {
    let names: Vec<&str> = features.iter().map(|f| f.name()).collect();
    names.join(",")
}

/// `ack 12, syn 3, …`: the classes that occur.
fn class_counts(counts: &[u64]) -> String {
    let parts: Vec<String> = counts
        .iter()
        .zip(alexa_common::CLASS_NAMES)
        .filter(|(n, _)| **n > 0)
        .map(|(n, c)| format!("{c} {n}"))
        .collect();
    parts.join(", ")
}

#[cfg(feature = "lab")]
/// A flag SIGINT and SIGTERM set (instead of ending the process), so a
/// replay or a count stops cleanly and still reports.
fn stop_on_signals() -> &'static std::sync::atomic::AtomicBool {
    static STOP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    extern "C" fn on_signal(_: libc::c_int) {
        STOP.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as *const () as usize;
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
    &STOP
}

/// Refuses while an agent answers on the socket: it would go on reading an
/// orphaned ring buffer while nothing classifies.
fn detach(pin_dir: &std::path::Path, socket: &std::path::Path) -> Result<()> {
    agent::require_root("alexa detach")?;
    if let Ok(r) = control::request(socket, &control::Request::Status) {
        let pid = r.status.map(|s| s.pid).unwrap_or(0);
        anyhow::bail!(
            "an agent (pid {pid}) is running on {}: stop it first (systemctl stop alexa)",
            socket.display()
        );
    }
    let removed = alexa::classifier::detach(pin_dir)?;
    if removed.is_empty() {
        println!("nothing pinned in {}", pin_dir.display());
    } else {
        println!(
            "detached: removed {} from {}",
            removed.join(", "),
            pin_dir.display()
        );
    }
    Ok(())
}

/// `alexa safety`: one line per capture, the totals, and a non-zero exit
/// when a target is missed.
fn safety(captures: &[PathBuf], model: &std::path::Path, devices: &[Device]) -> Result<()> {
    use alexa::model::safety::{check_capture, Safety};
    let m = alexa::model::load(model)?;
    let set = device_set(devices);
    let rule = alexa::classifier::default_quarantine_rule();
    let mut total = Safety::default();
    for c in captures {
        let s = check_capture(&m, c, &set, &rule)?;
        println!("{}: {}", c.display(), s.summary());
        total.add(&s);
    }
    println!("total ({} captures): {}", captures.len(), total.summary());
    let failures = total.failures();
    if !failures.is_empty() {
        anyhow::bail!("safety targets missed: {}", failures.join("; "));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// Every flag, positional argument and command says what it is for.
    #[test]
    fn every_argument_has_help() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for a in cmd.get_arguments() {
                let id = a.get_id().as_str();
                if a.is_hide_set() || id == "help" || id == "version" {
                    continue;
                }
                if a.get_help().is_none() && a.get_long_help().is_none() {
                    missing.push(format!("{path} {id}"));
                }
            }
            for sub in cmd.get_subcommands() {
                let p = format!("{path} {}", sub.get_name());
                if sub.get_about().is_none() && sub.get_name() != "help" {
                    missing.push(p.clone());
                }
                walk(sub, &p, missing);
            }
        }
        let mut missing = Vec::new();
        walk(&super::Cli::command(), "alexa", &mut missing);
        assert!(missing.is_empty(), "no help text: {missing:#?}");
    }
}
