//! The one way this crate reads a CSV file: [`Records`] checks the header,
//! then yields each record with the line it starts on, and turns every csv
//! error into one line naming the file and the line.

use std::{
    fs::File,
    io::Read,
    path::{Path, PathBuf},
};

use anyhow::{anyhow, Context as _, Result};
use csv::StringRecord;

use crate::util::text::one_line;

/// A CSV file's records, read one at a time into one buffer.
pub struct Records<R> {
    reader: csv::Reader<R>,
    header: StringRecord,
    record: StringRecord,
    path: PathBuf,
    line: u64,
}

impl Records<File> {
    /// Opens `path` and reads its header.
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).with_context(|| format!("{}: cannot read", path.display()))?;
        Self::from_reader(path, file)
    }
}

impl<R: Read> Records<R> {
    /// Reads the header from `input`; `path` only names it in errors.
    pub fn from_reader(path: &Path, input: R) -> Result<Self> {
        let mut reader = csv::ReaderBuilder::new().from_reader(input);
        let header = reader
            .headers()
            .with_context(|| format!("{}: line 1: cannot read the header", path.display()))?
            .clone();
        Ok(Records {
            reader,
            header,
            record: StringRecord::new(),
            path: path.to_owned(),
            line: 1,
        })
    }

    pub fn header(&self) -> &StringRecord {
        &self.header
    }

    /// The index of the column named `name`.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }

    /// The next record and the line it starts on; `None` at the end.
    pub fn next_record(&mut self) -> Result<Option<(u64, &StringRecord)>> {
        match self.reader.read_record(&mut self.record) {
            Ok(false) => Ok(None),
            Ok(true) => {
                self.line = record_line(self.record.position(), self.line);
                Ok(Some((self.line, &self.record)))
            }
            Err(e) => Err(anyhow!(
                "{}: line {}: {}",
                self.path.display(),
                record_line(e.position(), self.line),
                csv_reason(&e)
            )),
        }
    }

    /// The current record deserialized by the header's names.
    pub fn deserialize<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        self.record.deserialize(Some(&self.header)).map_err(|e| {
            anyhow!(
                "{}: line {}: {}",
                self.path.display(),
                self.line,
                csv_reason(&e)
            )
        })
    }
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
