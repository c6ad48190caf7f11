//! `alexa run`: load the classifier, attach it, and write one JSON line per
//! classified packet until Ctrl-C or SIGTERM, then detach.

use std::{io::Write, net::IpAddr, path::PathBuf};

use alexa_common::{counter, Event};
use anyhow::{bail, Context as _, Result};
use tokio::{
    io::unix::AsyncFd,
    signal::unix::{signal, SignalKind},
};

use crate::{
    classifier::{decode_event, AttachMode, Classifier},
    record::Row,
};

pub struct RunOptions {
    pub iface: String,
    pub devices: Vec<IpAddr>,
    /// `None` or `-`: standard output.
    pub log: Option<PathBuf>,
    pub mode: AttachMode,
    pub microphone: bool,
    /// The model to classify with; `None` logs packets unclassified.
    pub model: Option<PathBuf>,
}

/// Fails unless the process may load BPF programs and attach XDP.
pub fn require_root(what: &str) -> Result<()> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        bail!("{what} needs root (CAP_BPF and CAP_NET_ADMIN): run it with sudo");
    }
    Ok(())
}

pub fn require_interface(iface: &str) -> Result<u32> {
    let name =
        std::ffi::CString::new(iface).with_context(|| format!("bad interface name {iface:?}"))?;
    // SAFETY: a valid NUL-terminated string.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    if index == 0 {
        bail!("no such interface: {iface}");
    }
    Ok(index)
}

/// Turns kernel monotonic timestamps into wall-clock ones.
#[derive(Clone, Copy)]
pub struct WallClock {
    offset_ns: i128,
}

impl WallClock {
    pub fn now() -> Self {
        let read = |clock| {
            let mut ts = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            // SAFETY: a valid timespec to fill.
            unsafe { libc::clock_gettime(clock, &mut ts) };
            ts.tv_sec as i128 * 1_000_000_000 + ts.tv_nsec as i128
        };
        let mono = read(libc::CLOCK_MONOTONIC);
        let real = read(libc::CLOCK_REALTIME);
        WallClock {
            offset_ns: real - mono,
        }
    }

    pub fn wall_ns(&self, mono_ns: u64) -> u64 {
        (mono_ns as i128 + self.offset_ns).max(0) as u64
    }
}

pub fn event_row(ev: &Event, clock: &WallClock) -> Row {
    Row {
        ts_ns: clock.wall_ns(ev.ts_ns),
        src: ev.src,
        dst: ev.dst,
        features: ev.features,
        class: (ev.class != alexa_common::CLASS_NONE).then_some(ev.class),
        model: ev.model_version,
    }
}

pub async fn run(opts: RunOptions) -> Result<()> {
    require_root("alexa run")?;
    if opts.devices.is_empty() {
        bail!("no device given: name the smart speaker's address with --device ADDR");
    }
    require_interface(&opts.iface)?;
    // Validate the model before anything reaches the kernel.
    let model = opts
        .model
        .as_deref()
        .map(crate::model::file::load)
        .transpose()?;
    let mut classifier = Classifier::load()?;
    if let Some(m) = &model {
        classifier.load_tree(&m.nodes, m.version_id())?;
    }
    for d in &opts.devices {
        classifier.add_device(*d)?;
    }
    classifier.set_microphone(opts.microphone)?;
    let mut out: Box<dyn Write> = match opts.log.as_deref() {
        None => Box::new(std::io::stdout()),
        Some(p) if p.as_os_str() == "-" => Box::new(std::io::stdout()),
        // Buffered: serde_json writes a line in dozens of small pieces, each
        // a system call on a bare File (docs/benchmarks.md, section 3). The
        // loop flushes after every batch, so nothing waits in the buffer.
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .with_context(|| format!("{}: cannot open the log", p.display()))?,
        )),
    };
    let ring = classifier.take_events()?;
    let mode = classifier.attach(&opts.iface, opts.mode)?;
    let devices: Vec<String> = opts.devices.iter().map(|d| d.to_string()).collect();
    let with_model = match (&model, opts.model.as_deref()) {
        (Some(m), Some(p)) => format!("model {} (version {:08x})", p.display(), m.version_id()),
        _ => "no model: packets are logged unclassified".to_owned(),
    };
    eprintln!(
        "alexa: classifying packets from {} on {} ({mode} XDP), {with_model}; Ctrl-C to stop",
        devices.join(", "),
        opts.iface
    );
    let clock = WallClock::now();
    // SAFETY: the ring buffer owns its map fd, which stays open and the same
    // for as long as the AsyncFd owns the ring buffer.
    let mut ring = unsafe { AsyncFd::register_with_interest(ring, tokio::io::Interest::READABLE) }
        .map_err(|e| anyhow::anyhow!("cannot poll the ring buffer: {e}"))?;
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut bad_items = 0u64;
    loop {
        tokio::select! {
            _ = sigint.recv() => break,
            _ = sigterm.recv() => break,
            guard = ring.readable_mut() => {
                let mut guard = guard?;
                let events = guard.get_inner_mut();
                while let Some(item) = events.next() {
                    match decode_event(&item) {
                        Some(ev) => {
                            serde_json::to_writer(&mut out, &event_row(&ev, &clock).json())?;
                            out.write_all(b"\n")?;
                        }
                        None => bad_items += 1,
                    }
                }
                out.flush()?;
                guard.clear_ready();
            }
        }
    }
    let c = classifier.counters()?;
    let summary: Vec<String> = counter::NAMES
        .iter()
        .zip(c)
        .filter(|(n, _)| **n != "reserved")
        .map(|(n, v)| format!("{n}={v}"))
        .collect();
    eprintln!("alexa: detached from {}; {}", opts.iface, summary.join(" "));
    if bad_items > 0 {
        eprintln!("alexa: {bad_items} ring-buffer items had the wrong size and were skipped");
    }
    Ok(())
}
