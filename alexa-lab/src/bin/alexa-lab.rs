//! `alexa-lab`: the lab's command-line tools around a running agent.
//! `replay` sends a capture's device frames out of an interface in real
//! time (docs/demo.md); `arrivals` counts them where they come out.

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
    sync::{atomic::AtomicBool, Arc},
};

use alexa_lab::replay;
use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "alexa-lab",
    about = "The lab's tools around a running agent: replay a capture, count what arrives"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Send the device's frames of a capture (those in LABELS.csv) out of an
    /// interface in real time, long idle gaps shortened (docs/demo.md).
    Replay(ReplayArgs),
    /// Count the frames of a replay arriving on an interface, by IPv4
    /// identification, until SIGINT or SIGTERM; writes them as JSON.
    Arrivals(ArrivalsArgs),
}

#[derive(clap::Args)]
struct ArrivalsArgs {
    /// Interface to count arrivals on.
    #[arg(long)]
    pub iface: String,
    /// The replayed device's address.
    #[arg(long, value_name = "ADDR")]
    pub device: std::net::Ipv4Addr,
    /// Where to write the counts.
    #[arg(short = 'o', long = "out", value_name = "FILE.json")]
    pub out: PathBuf,
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Replay(a) => replay(a),
        Command::Arrivals(a) => arrivals(&a.iface, a.device, &a.out),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!(
                "alexa-lab: error: {}",
                alexa::util::text::one_line(&format!("{e:#}"))
            );
            ExitCode::FAILURE
        }
    }
}

/// A flag SIGINT and SIGTERM set (instead of ending the process), so a
/// replay or a count stops cleanly and still reports.
fn stop_on_signals() -> Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop))?;
    }
    Ok(stop)
}

fn parse_mac(s: &str) -> Result<[u8; 6]> {
    replay::parse_mac(s)
}

#[derive(clap::Args)]
struct ReplayArgs {
    /// The capture to replay (pcap or pcapng).
    pub capture: PathBuf,
    /// Which frames are the device's, with their class and microphone state.
    #[arg(long, value_name = "LABELS.csv")]
    pub labels: PathBuf,
    /// Interface to send on (the device's side of the link).
    #[arg(long)]
    pub iface: String,
    /// Tell the agent there when the labels' microphone state changes.
    #[arg(long, value_name = "PATH")]
    pub control_socket: Option<PathBuf>,
    /// Idle gaps longer than this are shortened to it.
    #[arg(long, value_name = "MS", default_value_t = replay::DEFAULT_GAP_CAP.as_millis() as u64)]
    pub gap_cap_ms: u64,
    /// Destination MAC for unicast frames (default: the capture's).
    #[arg(long, value_name = "MAC", value_parser = parse_mac)]
    pub dst_mac: Option<[u8; 6]>,
    /// Source MAC (default: the capture's).
    #[arg(long, value_name = "MAC", value_parser = parse_mac)]
    pub src_mac: Option<[u8; 6]>,
    /// A progress bar on standard error (on a terminal).
    #[arg(long)]
    pub progress: bool,
    /// One CSV line per frame sent (index = IPv4 identification, class, microphone, destination, time).
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
}

fn replay(a: ReplayArgs) -> Result<()> {
    let ReplayArgs {
        capture,
        labels,
        iface,
        control_socket,
        gap_cap_ms,
        dst_mac,
        src_mac,
        progress,
        record,
    } = a;
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
        eprintln!("alexa-lab replay: the microphone changes state in the labels, but no --control-socket names an agent to tell");
    }
    let stop = stop_on_signals()?;
    let mut bar = progress.then(|| {
        alexa::util::progress::Progress::counting("replay", frames.len() as u64, "frames")
    });
    let sent = replay::send(&frames, &opts, &stop, &mut |n| {
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
            "alexa-lab replay: {} of {} frames sent on {} in {:.1} s ({}), latest frame {} µs behind its time{}; {}",
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

fn arrivals(iface: &str, device: std::net::Ipv4Addr, out: &Path) -> Result<()> {
    let counter = replay::ArrivalCounter::open(iface, device)?;
    let stop = stop_on_signals()?;
    let arrivals = counter.run(&stop, &std::sync::atomic::AtomicU64::new(0))?;
    let mut file = alexa::util::atomic_file::AtomicFile::create(out)?;
    serde_json::to_writer(file.writer(), &arrivals)?;
    file.commit()?;
    eprintln!(
            "alexa-lab arrivals: {} frames from {device} on {iface}, {} lost by the counting socket; written to {}",
            arrivals.frames,
            arrivals.socket_drops,
            out.display()
        );
    Ok(())
}
