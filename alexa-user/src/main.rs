//! `alexa`: the smart-speaker privacy firewall's agent and offline tools.

use std::{collections::HashSet, net::IpAddr, path::PathBuf, process::ExitCode};

use alexa::{
    agent::{self, RunOptions},
    classifier::AttachMode,
    extract, labels, prepare,
    record::ip_to_mapped,
    report, simulate,
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

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum OnOff {
    On,
    Off,
}

#[derive(Subcommand)]
enum Command {
    /// Attach the XDP classifier to an interface and log every device packet as JSON lines.
    Run {
        /// Interface the device's packets arrive on (the gateway's LAN side).
        #[arg(long)]
        iface: String,
        /// Address of a monitored device (repeat for several).
        #[arg(long = "device", value_name = "ADDR", required = true)]
        devices: Vec<IpAddr>,
        /// Where to write the JSON lines (`-`: standard output).
        #[arg(long, value_name = "FILE|-")]
        log: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = AttachMode::Auto)]
        xdp_mode: AttachMode,
        /// The microphone's state at start.
        #[arg(long, value_enum, default_value_t = OnOff::On)]
        microphone: OnOff,
    },
    /// Compute the per-packet features of a capture (pcap or pcapng) into a dataset CSV.
    Extract {
        capture: PathBuf,
        /// Monitored device addresses; every host when none is named.
        #[arg(long = "device", value_name = "ADDR")]
        devices: Vec<IpAddr>,
        /// Microphone state for packets with no label.
        #[arg(long, value_enum, default_value_t = OnOff::On)]
        microphone: OnOff,
        /// Ground truth: emit exactly the labelled frames, with their class.
        #[arg(long, value_name = "LABELS.csv")]
        labels: Option<PathBuf>,
        #[arg(short = 'o', long = "out", value_name = "OUT.csv")]
        out: PathBuf,
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
}

fn device_set(devices: &[IpAddr]) -> extract::DeviceSet {
    (!devices.is_empty()).then(|| {
        devices
            .iter()
            .map(|d| ip_to_mapped(*d))
            .collect::<HashSet<_>>()
    })
}

fn main() -> ExitCode {
    env_logger::init();
    match dispatch(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("alexa: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn dispatch(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Run {
            iface,
            devices,
            log,
            xdp_mode,
            microphone,
        } => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(agent::run(RunOptions {
                iface,
                devices,
                log,
                mode: xdp_mode,
                microphone: microphone == OnOff::On,
            })),
        Command::Extract {
            capture,
            devices,
            microphone,
            labels,
            out,
        } => {
            let labels = labels
                .map(|p| labels::read_labels(&p).map(|l| (p, l)))
                .transpose()?;
            let tally = extract::extract_to_csv(
                &capture,
                device_set(&devices),
                microphone == OnOff::On,
                labels.as_ref().map(|(p, l)| (p.as_path(), l.as_slice())),
                &out,
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
    }
}
