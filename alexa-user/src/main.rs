//! `alexa`: the smart-speaker privacy firewall's agent and offline tools.

use std::{collections::HashSet, path::PathBuf, process::ExitCode};

use alexa::{
    agent::{
        self,
        args::{self, ModelCommand, OnOff, PolicyCommand, RunArgs, SocketArg},
        control,
    },
    device::Device,
    extract, labels, prepare, replay, report, simulate,
};
use anyhow::Result;
use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "alexa",
    version,
    about = "In-kernel privacy firewall for smart speakers"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the agent: classify (and in enforce mode, drop) the devices' packets on an interface.
    Run(#[command(flatten)] Box<RunArgs>),
    /// Remove the pinned classifier (program link and maps) left attached by `alexa run`.
    Detach {
        #[arg(long, value_name = "DIR", default_value = agent::DEFAULT_PIN_DIR)]
        pin_dir: PathBuf,
        #[command(flatten)]
        socket: SocketArg,
    },
    /// Tell the running agent the microphone's state.
    Mic {
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
    /// Train a decision tree on a labelled dataset CSV and write MODEL.json.
    Train {
        dataset: PathBuf,
        #[arg(short = 'o', long = "out", value_name = "MODEL.json")]
        out: PathBuf,
        #[arg(long, default_value_t = 20)]
        max_depth: u32,
        /// Least (class-weighted) samples in a leaf.
        #[arg(long, default_value_t = 1)]
        min_samples_leaf: u32,
        /// `paper` (first seven), `extended` (all but srcport and flow_index), `all` (twelve) or a comma-separated list.
        #[arg(long, default_value = "extended")]
        features: String,
        #[arg(long, value_enum, default_value_t = ClassWeightArg::Balanced)]
        class_weight: ClassWeightArg,
        /// Also write the training-set confusion matrix and feature importances as PNG.
        #[arg(long, value_name = "DIR")]
        report: Option<PathBuf>,
    },
    /// Evaluate MODEL.json on a labelled dataset CSV (the compiled tree, as the kernel walks it).
    Evaluate {
        model: PathBuf,
        dataset: PathBuf,
        /// Also write the confusion matrix and feature importances as PNG.
        #[arg(long, value_name = "DIR")]
        report: Option<PathBuf>,
    },
    /// Classify a capture in user space with a model: the dataset columns plus `predicted`.
    Classify {
        #[arg(long, value_name = "MODEL.json")]
        model: PathBuf,
        #[command(flatten)]
        input: CaptureInput,
    },
    /// Simulate an Echo's traffic: DIR/capture.pcap, DIR/labels.csv, DIR/devices.txt.
    Simulate {
        /// mic-off, no-wake-word, conversation, streaming or all.
        #[arg(long, default_value = "all")]
        scenario: simulate::Scenario,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Scales every context's duration (and so the counts).
        #[arg(long, default_value_t = 1.0)]
        duration_scale: f64,
    },
    /// Send the device's frames of a capture (those in LABELS.csv) out of an
    /// interface in real time, long idle gaps shortened (docs/demo.md).
    Replay {
        capture: PathBuf,
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
    /// Count the frames of a replay arriving on an interface, by IPv4
    /// identification, until SIGINT or SIGTERM; writes them as JSON.
    #[command(hide = true)]
    Arrivals {
        #[arg(long)]
        iface: String,
        /// The replayed device's address.
        #[arg(long, value_name = "ADDR")]
        device: std::net::Ipv4Addr,
        #[arg(short = 'o', long = "out", value_name = "FILE.json")]
        out: PathBuf,
    },
    /// The paper's section 5 steps: NaN content type to 0, drop date/dstip/synchronized, down-sample acks.
    Prepare {
        dataset: PathBuf,
        #[arg(short = 'o', long = "out", value_name = "PREPARED.csv")]
        out: PathBuf,
        /// Share of `ack` rows kept.
        #[arg(long, default_value_t = 0.05)]
        ack_keep: f64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// The paper's figures (PNG) and summary.md from a dataset CSV.
    Report {
        dataset: PathBuf,
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Share of `ack` rows kept for the "after down-sampling" figures.
        #[arg(long, default_value_t = 0.05)]
        ack_keep: f64,
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

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ClassWeightArg {
    Balanced,
    None,
}

/// A capture and how to read it: shared by `extract` and `classify`.
#[derive(clap::Args)]
struct CaptureInput {
    capture: PathBuf,
    /// Monitored device, by IP or MAC address (repeat for several); every
    /// host when none is named.
    #[arg(long = "device", value_name = "ADDR|MAC")]
    devices: Vec<Device>,
    /// Microphone state for packets with no label.
    #[arg(long, value_enum, default_value_t = OnOff::On)]
    microphone: OnOff,
    /// Ground truth: only the labelled frames, with their class (classify also reports metrics).
    #[arg(long, value_name = "LABELS.csv")]
    labels: Option<PathBuf>,
    #[arg(short = 'o', long = "out", value_name = "OUT.csv")]
    out: PathBuf,
}

impl CaptureInput {
    fn labels(&self) -> Result<Option<(PathBuf, Vec<labels::CheckedLabel>)>> {
        self.labels
            .as_ref()
            .map(|p| labels::read_labels(p).map(|l| (p.clone(), l)))
            .transpose()
    }
}

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
                input.microphone == OnOff::On,
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
        Command::Train {
            dataset,
            out,
            max_depth,
            min_samples_leaf,
            features,
            class_weight,
            report,
        } => {
            use alexa::model::{self, train};
            let opts = train::TrainOptions {
                max_depth,
                min_samples_leaf,
                features: train::parse_features(&features)?,
                class_weight: match class_weight {
                    ClassWeightArg::Balanced => train::ClassWeight::Balanced,
                    ClassWeightArg::None => train::ClassWeight::None,
                },
            };
            let t = train::train_file(&dataset, &opts)?;
            model::file::save(t.file(), &out)?;
            let f = t.file();
            eprintln!(
                "alexa train: {} nodes, depth {}, {} leaves; training accuracy {:.4}, macro-F1 {:.4}; wrote {}",
                f.tree.nodes.len(),
                f.tree.depth,
                f.tree.leaves,
                f.training.metrics.accuracy,
                f.training.metrics.macro_f1,
                out.display()
            );
            if let Some(dir) = report {
                let c = model::evaluate_file(&t.model, &dataset)?;
                model::write_report(&dir, &t.model, &c, "training set")?;
            }
            Ok(())
        }
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
        } => {
            use alexa::model;
            let m = model::load(&model_path)?;
            let labels = input.labels()?;
            let out = &input.out;
            let (tally, c) = model::classify_capture(
                &m,
                &input.capture,
                device_set(&input.devices),
                input.microphone == OnOff::On,
                labels.as_ref().map(|(p, l)| (p.as_path(), l.as_slice())),
                out,
            )?;
            eprintln!(
                "alexa classify: {} frames, {} rows written to {}",
                tally.frames,
                tally.written,
                out.display()
            );
            if c.total() > 0 {
                eprintln!(
                    "alexa classify: against the labels: accuracy {:.4}, macro-F1 {:.4}",
                    c.accuracy(),
                    c.macro_f1()
                );
            }
            Ok(())
        }
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
        Command::Report {
            dataset,
            out,
            ack_keep,
            seed,
        } => {
            report::report(&dataset, &out, &prepare::PrepareOptions { ack_keep, seed })?;
            eprintln!(
                "alexa report: figures and summary.md written to {}",
                out.display()
            );
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
            }
            Ok(())
        }
    }
}

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
