//! The offline commands a gateway keeps: extract, classify, safety, label.

use std::{
    collections::HashSet,
    path::{Path, PathBuf},
};

use anyhow::Result;

use crate::{
    agent::config::OnOff,
    kernel::Device,
    offline::{extract, labelling, labels, model},
};

/// A capture and how to read it: shared by `extract` and `classify`.
#[derive(clap::Args)]
pub struct CaptureInput {
    /// The capture (pcap or pcapng), or for `classify` a dataset CSV.
    pub capture: PathBuf,
    /// Monitored device, by IP or MAC address (repeat for several); every
    /// host when none is named.
    #[arg(long = "device", value_name = "ADDR|MAC")]
    pub devices: Vec<Device>,
    /// Microphone state for packets with no label [default: on].
    #[arg(long, value_enum)]
    pub microphone: Option<OnOff>,
    /// Ground truth: only the labelled frames, with their class (classify also reports metrics).
    #[arg(long, value_name = "LABELS.csv")]
    pub labels: Option<PathBuf>,
    /// Where to write the rows (whole or not at all).
    #[arg(short = 'o', long = "out", value_name = "OUT.csv")]
    pub out: PathBuf,
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

pub fn device_set(devices: &[Device]) -> extract::DeviceSet {
    (!devices.is_empty()).then(|| devices.iter().map(Device::key).collect::<HashSet<_>>())
}

/// `alexa extract`.
pub fn extract(input: &CaptureInput) -> Result<()> {
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

/// `alexa classify`: a dataset CSV row by row, or a capture.
pub fn classify(model_path: &Path, input: &CaptureInput) -> Result<()> {
    let m = model::load(model_path)?;
    let out = &input.out;
    let (confusion, truth) = if crate::offline::dataset::looks_like_dataset(&input.capture) {
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

/// `alexa safety`: one line per capture, the totals, and a non-zero exit
/// when a target is missed.
pub fn safety(captures: &[PathBuf], model: &Path, devices: &[Device]) -> Result<()> {
    use model::safety::{check_capture, Safety};
    let m = model::load(model)?;
    let set = device_set(devices);
    let rule = crate::kernel::default_quarantine_rule();
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

/// `alexa label`.
pub fn label(
    capture: &Path,
    devices: &[Device],
    app_class: labelling::AppClass,
    microphone: bool,
    out: &Path,
) -> Result<()> {
    let (tally, counts) =
        labelling::label_capture(capture, device_set(devices), app_class, microphone, out)?;
    eprintln!(
        "alexa label: {} frames, {} device packets labelled ({}) in {}",
        tally.frames,
        tally.written,
        class_counts(&counts),
        out.display()
    );
    Ok(())
}

/// `ack 12, syn 3, …`: the classes that occur.
pub fn class_counts(counts: &[u64]) -> String {
    let parts: Vec<String> = counts
        .iter()
        .zip(alexa_common::CLASS_NAMES)
        .filter(|(n, _)| **n > 0)
        .map(|(n, c)| format!("{c} {n}"))
        .collect();
    parts.join(", ")
}
