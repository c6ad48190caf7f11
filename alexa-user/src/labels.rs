//! `labels.csv`: one row per frame a device sent, with the ground truth the
//! simulator knows (or a researcher wrote): frame number, time, context,
//! microphone state, class.

use std::path::Path;

use alexa_common::class_id;
use anyhow::{bail, Context as _, Result};
use serde::{Deserialize, Serialize};

pub const LABEL_COLUMNS: [&str; 5] = ["frame", "timestamp", "context", "microphone", "class"];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Label {
    /// 1-based frame number in the capture.
    pub frame: u64,
    /// Seconds since the Unix epoch, as in the capture.
    pub timestamp: f64,
    pub context: String,
    /// 1 on, 0 muted.
    pub microphone: u8,
    pub class: String,
}

/// A label whose class name has been checked, with the line it came from.
#[derive(Clone, Debug)]
pub struct CheckedLabel {
    pub frame: u64,
    pub microphone: bool,
    pub class: u8,
    pub line: u64,
}

/// Reads and checks a labels file: the exact header, known classes,
/// microphone 0/1, frame numbers strictly increasing.
pub fn read_labels(path: &Path) -> Result<Vec<CheckedLabel>> {
    let mut reader = csv::ReaderBuilder::new()
        .from_path(path)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    let header = reader
        .headers()
        .with_context(|| format!("{}: line 1: cannot read the header", path.display()))?;
    if header.iter().collect::<Vec<_>>() != LABEL_COLUMNS {
        bail!(
            "{}: line 1: header must be `{}`",
            path.display(),
            LABEL_COLUMNS.join(",")
        );
    }
    let mut out = Vec::new();
    let mut last = 0;
    for record in reader.deserialize::<Label>() {
        let label = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            anyhow::anyhow!("{}: line {line}: {}", path.display(), csv_reason(&e))
        })?;
        let line = out.len() as u64 + 2;
        let class = class_id(&label.class).with_context(|| {
            format!(
                "{}: line {line}: unknown class `{}`",
                path.display(),
                label.class
            )
        })?;
        if label.microphone > 1 {
            bail!("{}: line {line}: microphone must be 0 or 1", path.display());
        }
        if label.frame <= last {
            bail!(
                "{}: line {line}: frame {} does not follow frame {last}",
                path.display(),
                label.frame
            );
        }
        last = label.frame;
        out.push(CheckedLabel {
            frame: label.frame,
            microphone: label.microphone == 1,
            class,
            line,
        });
    }
    Ok(out)
}

/// The part of a csv error worth a one-line message.
pub fn csv_reason(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Deserialize { err, .. } => match err.field() {
            Some(field) => format!("field {}: {}", field + 1, err.kind()),
            None => err.kind().to_string(),
        },
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("{len} fields where the header has {expected_len}")
        }
        _ => e.to_string(),
    }
}
