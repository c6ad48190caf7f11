//! `labels.csv`: one row per frame a device sent, with the ground truth the
//! simulator knows (or a researcher wrote): frame number, time, context,
//! microphone state, class.

use std::path::Path;

use alexa_common::class_id;
use anyhow::{bail, Context as _, Result};
use serde::{Deserialize, Serialize};

use crate::{offline::csv::Records, util::text::one_line};

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
    let mut records = Records::from_reader(path, input)?;
    if records.header().iter().collect::<Vec<_>>() != LABEL_COLUMNS {
        bail!(
            "{}: line 1: header must be `{}`",
            path.display(),
            LABEL_COLUMNS.join(",")
        );
    }
    let mut out = Vec::new();
    let mut last = 0;
    while let Some((line, _)) = records.next_record()? {
        let label: Label = records.deserialize()?;
        let class = class_id(&label.class).with_context(|| {
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
            class,
            line,
        });
    }
    Ok(out)
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
