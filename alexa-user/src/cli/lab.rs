//! The lab commands (the `lab` feature): train, crossval, evaluate,
//! simulate, replay, arrivals, prepare, report.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::{
    offline::{compare, dataset, figures, model, prepare as prep, simulate as sim},
    replay as rp,
    util::atomic_file::AtomicFile,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ClassWeightArg {
    Balanced,
    None,
}

/// The tree options `train` and `crossval` share.
#[derive(clap::Args)]
pub struct TreeArgs {
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
    pub features: Option<String>,
    /// balanced: each class weighs the same in total (rare uploads count); none: every row weighs 1.
    #[arg(long, value_enum, default_value_t = ClassWeightArg::Balanced)]
    class_weight: ClassWeightArg,
}

impl TreeArgs {
    /// Checks `--features` before any file is read.
    fn check(&self) -> Result<()> {
        if let Some(f) = &self.features {
            model::train::parse_features(f)?;
        }
        Ok(())
    }

    fn options(&self, files: &dataset::DatasetFiles) -> Result<model::train::TrainOptions> {
        use model::train;
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

pub fn parse_mac(s: &str) -> Result<[u8; 6]> {
    rp::parse_mac(s)
}

/// `alexa train`.
pub fn train(
    datasets: &[PathBuf],
    out: &Path,
    tree: &TreeArgs,
    report: Option<&Path>,
) -> Result<()> {
    use model::train;
    tree.check()?;
    let files = dataset::load_distinct(datasets)?;
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
        figures::model::write_report(dir, &t.model, &c, "training set")?;
    }
    Ok(())
}

/// `alexa crossval`.
pub fn crossval(
    datasets: &[PathBuf],
    tree: &TreeArgs,
    prepare: prep::PrepareOptions,
    jobs: Option<usize>,
) -> Result<()> {
    use model::crossval;
    tree.check()?;
    let files = dataset::load_distinct(datasets)?;
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

/// `alexa evaluate`.
pub fn evaluate(model_path: &Path, dataset: &Path, report: Option<&Path>) -> Result<()> {
    let m = model::load(model_path)?;
    let c = model::evaluate_file(&m, dataset)?;
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
        figures::model::write_report(dir, &m, &c, &what)?;
    }
    println!("{}", c.report());
    Ok(())
}

/// `alexa simulate`.
pub fn simulate(opts: &sim::SimOptions, out: &Path) -> Result<()> {
    let w = sim::simulate_to_dir(opts, out)?;
    eprintln!(
        "alexa simulate: {} frames over {:.0} s, {} sent by the device, written to {}",
        w.frames,
        w.seconds,
        w.labelled,
        out.display()
    );
    Ok(())
}

// `alexa replay`'s flags (its help is the command's, in cli/mod.rs).
#[derive(clap::Args)]
pub struct ReplayArgs {
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
    #[arg(long, value_name = "MS", default_value_t = rp::DEFAULT_GAP_CAP.as_millis() as u64)]
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

/// `alexa replay`.
pub fn replay(a: ReplayArgs) -> Result<()> {
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
    let frames = rp::load(&capture, &labels)?;
    let opts = rp::SendOptions {
        gap_cap: std::time::Duration::from_millis(gap_cap_ms),
        dst_mac,
        src_mac,
        control_socket,
        ..rp::SendOptions::new(&iface)
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
        crate::util::progress::Progress::counting("replay", frames.len() as u64, "frames")
    });
    let sent = rp::send(&frames, &opts, stop, &mut |n| {
        if let Some(b) = bar.as_mut() {
            b.update(n as u64);
        }
    })?;
    if let Some(b) = bar.as_mut() {
        b.finish();
    }
    if let Some(path) = &record {
        rp::write_record(path, &frames, &sent)?;
    }
    let counts: Vec<String> = rp::per_class(&frames, &sent)
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

/// `alexa arrivals`.
pub fn arrivals(iface: &str, device: std::net::Ipv4Addr, out: &Path) -> Result<()> {
    let counter = rp::ArrivalCounter::open(iface, device)?;
    let stop = stop_on_signals();
    let arrivals = counter.run(stop, &std::sync::atomic::AtomicU64::new(0))?;
    let mut file = AtomicFile::create(out)?;
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

/// `alexa prepare`.
pub fn prepare(dataset: &Path, out: &Path, ack_keep: f64, seed: u64) -> Result<()> {
    let p = prep::prepare(dataset, out, &prep::PrepareOptions { ack_keep, seed })?;
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

/// `alexa report`.
pub fn report(
    dataset: &Path,
    out: &Path,
    compare: &[PathBuf],
    ack_keep: f64,
    seed: u64,
) -> Result<()> {
    // The comparison first: a bad reference file fails before any figure.
    let cmp = (!compare.is_empty())
        .then(|| compare::compare(dataset, compare))
        .transpose()?;
    figures::report(dataset, out, &prep::PrepareOptions { ack_keep, seed })?;
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
        let mut f = AtomicFile::create(&path)?;
        std::io::Write::write_all(&mut f, md.as_bytes())?;
        f.commit()?;
        print!("{}", c.table());
        eprintln!("alexa report: comparison written to {}", path.display());
    }
    Ok(())
}

fn feature_names(features: &[alexa_common::Feature]) -> String {
    let names: Vec<&str> = features.iter().map(|f| f.name()).collect();
    names.join(",")
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
