//! What every CSV reader here shares: the line a record starts on, and a
//! csv error's reason in one line.

use crate::util::text::one_line;

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
