//! Reading dataset CSVs: the full form `alexa extract` writes and the
//! prepared form `alexa prepare` writes (without `date`, `dstip`,
//! `synchronized`). Columns are found by name, so either form loads; every
//! error names the file and the line.

use std::path::Path;

use alexa_common::{class_id, Feature, NUM_FEATURES};
use anyhow::{bail, Context as _, Result};

use crate::{
    labels::{csv_reason, record_line},
    text::one_line,
};

/// One dataset row: the integer features present in the file, and the class.
#[derive(Clone, Debug, PartialEq)]
pub struct DatasetRow {
    /// Feature values indexed by `Feature as usize` (delta in microseconds);
    /// 0 where the file has no such column.
    pub values: [u64; NUM_FEATURES],
    /// Class id, `None` when the class cell is empty.
    pub class: Option<u8>,
    /// 1-based line in the file.
    pub line: u64,
}

/// Where each known column sits in a file's header.
#[derive(Clone, Debug, Default)]
pub struct Columns {
    /// For each feature, its column index, if present.
    pub features: [Option<usize>; NUM_FEATURES],
    pub class: Option<usize>,
    pub all: Vec<String>,
}

impl Columns {
    pub fn has(&self, f: Feature) -> bool {
        self.features[f as usize].is_some()
    }
}

/// Opens a dataset CSV; `each` is called for every row in order.
pub fn read_dataset(
    path: &Path,
    each: impl FnMut(&Columns, DatasetRow) -> Result<()>,
) -> Result<Columns> {
    let file =
        std::fs::File::open(path).with_context(|| format!("{}: cannot read", path.display()))?;
    read_dataset_from(path, file, each)
}

/// [`read_dataset`] from any reader; `path` only names it in errors.
pub fn read_dataset_from(
    path: &Path,
    input: impl std::io::Read,
    mut each: impl FnMut(&Columns, DatasetRow) -> Result<()>,
) -> Result<Columns> {
    let mut reader = csv::ReaderBuilder::new().from_reader(input);
    let header = reader
        .headers()
        .with_context(|| format!("{}: line 1: cannot read the header", path.display()))?
        .clone();
    let mut cols = Columns {
        all: header.iter().map(str::to_owned).collect(),
        ..Columns::default()
    };
    for (i, name) in header.iter().enumerate() {
        if let Some(f) = Feature::from_name(name) {
            cols.features[f as usize] = Some(i);
        } else if name == "class" {
            cols.class = Some(i);
        }
    }
    if cols.features.iter().all(Option::is_none) {
        bail!(
            "{}: line 1: no feature columns in the header (expected names like length,dstport,...)",
            path.display()
        );
    }
    let mut record = csv::StringRecord::new();
    let mut line = 1u64;
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let at = record_line(e.position(), line);
                bail!("{}: line {at}: {}", path.display(), csv_reason(&e));
            }
        }
        line = record_line(record.position(), line);
        let mut values = [0u64; NUM_FEATURES];
        for f in Feature::ALL {
            let Some(i) = cols.features[f as usize] else {
                continue;
            };
            let cell = record.get(i).unwrap_or("");
            values[f as usize] = parse_feature(f, cell).with_context(|| {
                format!(
                    "{}: line {line}: column {} (`{}`): bad value {cell:?}",
                    path.display(),
                    i + 1,
                    f.name()
                )
            })?;
        }
        let class = match cols.class.and_then(|i| record.get(i)) {
            None | Some("") => None,
            Some(name) => Some(class_id(name).with_context(|| {
                format!(
                    "{}: line {line}: unknown class `{}`",
                    path.display(),
                    one_line(name)
                )
            })?),
        };
        each(
            &cols,
            DatasetRow {
                values,
                class,
                line,
            },
        )?;
    }
    Ok(cols)
}

/// Reads a whole dataset into memory.
pub fn load_dataset(path: &Path) -> Result<(Columns, Vec<DatasetRow>)> {
    let mut rows = Vec::new();
    let cols = read_dataset(path, |_, r| {
        rows.push(r);
        Ok(())
    })?;
    Ok((cols, rows))
}

/// A cell as the integer the kernel uses. Every column of contract version
/// 2 is an integer; the published files write some as floats (`3.0`,
/// `23.0`) and `content_type` as empty or NaN when there is none (0).
pub fn parse_feature(f: Feature, cell: &str) -> Result<u64> {
    let cell = cell.trim();
    match f {
        Feature::ContentType if cell.is_empty() || cell.eq_ignore_ascii_case("nan") => Ok(0),
        _ => {
            let int = cell.strip_suffix(".0").unwrap_or(cell);
            int.parse::<u64>()
                .map_err(|_| anyhow::anyhow!("not a non-negative integer"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the `csv` fuzz target: the csv crate counts only `\n`, so
    /// with bare `\r` line ends every row was "line 1", the header's line.
    #[test]
    fn rows_of_a_file_with_bare_cr_line_ends_get_their_own_lines() {
        let text = "length,class\r0,syn\r1,ack\rx,ack\r";
        let mut lines = Vec::new();
        let e = read_dataset_from(Path::new("d.csv"), text.as_bytes(), |_, r| {
            lines.push(r.line);
            Ok(())
        })
        .unwrap_err();
        assert_eq!(lines, [2, 3]);
        assert!(
            format!("{e:#}").starts_with("d.csv: line 4: column 1"),
            "{e:#}"
        );
    }

    #[test]
    fn content_type_nan_is_zero() {
        assert_eq!(parse_feature(Feature::ContentType, "NaN").unwrap(), 0);
        assert_eq!(parse_feature(Feature::ContentType, "23.0").unwrap(), 23);
        assert_eq!(parse_feature(Feature::ContentType, "").unwrap(), 0);
        assert_eq!(parse_feature(Feature::HighestLayer, "3.0").unwrap(), 3);
        assert_eq!(parse_feature(Feature::Delta, "30000").unwrap(), 30_000);
        assert!(parse_feature(Feature::Delta, "0.5").is_err());
        assert!(parse_feature(Feature::Length, "-1").is_err());
    }
}
