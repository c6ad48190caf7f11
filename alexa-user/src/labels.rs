//! `labels.csv`: one row per frame a device sent, with the ground truth the
//! simulator knows (or a researcher wrote): frame number, time, context,
//! microphone state, class.

use std::path::Path;

use alexa_common::Class;
use anyhow::{bail, Context as _, Result};
use serde::{Deserialize, Serialize};

use crate::text::one_line;

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
    let file =
        std::fs::File::open(path).with_context(|| format!("{}: cannot read", path.display()))?;
    read_labels_from(path, file)
}

/// [`read_labels`] from any reader; `path` only names it in errors.
pub fn read_labels_from(path: &Path, input: impl std::io::Read) -> Result<Vec<CheckedLabel>> {
    let mut reader = csv::ReaderBuilder::new().from_reader(input);
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
    let header = header.clone();
    let mut out = Vec::new();
    let mut last = 0;
    let mut record = csv::StringRecord::new();
    let mut line = 1;
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => line = record_line(record.position(), line),
            Err(e) => bail!(
                "{}: line {}: {}",
                path.display(),
                record_line(e.position(), line),
                csv_reason(&e)
            ),
        }
        let label: Label = record
            .deserialize(Some(&header))
            .map_err(|e| anyhow::anyhow!("{}: line {line}: {}", path.display(), csv_reason(&e)))?;
        let class = label.class.parse::<Class>().ok().with_context(|| {
            format!(
                "{}: line {line}: unknown class `{}`",
                path.display(),
                one_line(&label.class)
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
            class: class as u8,
            line,
        });
    }
    Ok(out)
}

/// The line a record starts on, given the previous record's. The csv crate
/// counts `\n` only, so in a file whose lines end in a bare `\r` every
/// record would be "line 1"; a record is always at least one line further.
pub fn record_line(pos: Option<&csv::Position>, previous: u64) -> u64 {
    pos.map_or(previous + 1, |p| p.line()).max(previous + 1)
}

/// The part of a csv error worth a one-line message.
pub fn csv_reason(e: &csv::Error) -> String {
    one_line(&csv_reason_text(e)).into_owned()
}

fn csv_reason_text(e: &csv::Error) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A quoted CSV cell may hold a line break; the error quoting it must not.
    #[test]
    fn an_unknown_class_with_a_line_break_is_quoted_on_one_line() {
        let text = "frame,timestamp,context,microphone,class\n1,0,idle,1,\"ac\nk\"\n";
        let e = read_labels_from(Path::new("l.csv"), text.as_bytes()).unwrap_err();
        let e = format!("{e:#}");
        assert_eq!(e, "l.csv: line 2: unknown class `ac\\nk`");
    }
}
