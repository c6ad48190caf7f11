//! Reading dataset CSVs: the full form `alexa extract` writes and the
//! prepared form `alexa prepare` writes (without `date`, `dstip`,
//! `synchronized`). Columns are found by name, so either form loads; every
//! error names the file and the line.

use std::path::{Path, PathBuf};

use alexa_common::{Class, Feature, Features, NUM_FEATURES};
use anyhow::{bail, Context as _, Result};

use crate::{offline::csv::Records, util::text::one_line};

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
    read_records_from(path, input, |cols, row, _| each(cols, row))
}

/// Opens a dataset CSV; `each` gets every row parsed and as its raw cells
/// (for a writer that keeps every original column).
pub fn read_dataset_records(
    path: &Path,
    each: impl FnMut(&Columns, DatasetRow, &csv::StringRecord) -> Result<()>,
) -> Result<Columns> {
    let file =
        std::fs::File::open(path).with_context(|| format!("{}: cannot read", path.display()))?;
    read_records_from(path, file, each)
}

/// [`read_dataset_records`] from any reader; `path` only names it in errors.
pub fn read_records_from(
    path: &Path,
    input: impl std::io::Read,
    mut each: impl FnMut(&Columns, DatasetRow, &csv::StringRecord) -> Result<()>,
) -> Result<Columns> {
    let mut records = Records::from_reader(path, input)?;
    let header = records.header().clone();
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
    while let Some((line, record)) = records.next_record()? {
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
        let class =
            match cols.class.and_then(|i| record.get(i)) {
                None | Some("") => None,
                Some(name) => Some(name.parse::<Class>().map(|c| c as u8).ok().with_context(
                    || {
                        format!(
                            "{}: line {line}: unknown class `{}`",
                            path.display(),
                            one_line(name)
                        )
                    },
                )?),
            };
        each(
            &cols,
            DatasetRow {
                values,
                class,
                line,
            },
            record,
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

/// SHA-256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// One dataset file read whole, with the digest of its bytes.
#[derive(Clone, Debug)]
pub struct DatasetFile {
    pub path: PathBuf,
    /// Its name in reports and model files (see [`short_names`]).
    pub name: String,
    /// SHA-256 of the file's bytes, hex.
    pub sha256: String,
    pub columns: Columns,
    pub rows: Vec<DatasetRow>,
}

/// A file given again byte for byte (the same SHA-256 as an earlier one):
/// the same recording, so it is read once and counted once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Duplicate {
    pub path: PathBuf,
    pub name: String,
    pub sha256: String,
    /// Name of the earlier file it repeats.
    pub same_as: String,
    /// Rows it holds (the earlier file's count).
    pub rows: u64,
}

/// Several dataset files, each distinct recording once, in the order given.
#[derive(Clone, Debug, Default)]
pub struct DatasetFiles {
    pub files: Vec<DatasetFile>,
    pub duplicates: Vec<Duplicate>,
}

impl DatasetFiles {
    /// One line per duplicate, for standard error.
    pub fn notes(&self) -> Vec<String> {
        self.duplicates
            .iter()
            .map(|d| {
                format!(
                    "{} is byte-identical to {} (SHA-256 {}…): counted once",
                    d.name,
                    d.same_as,
                    &d.sha256[..12]
                )
            })
            .collect()
    }
}

/// Reads every file in `paths`; a file whose bytes equal an earlier one's
/// (same SHA-256) is not read again and becomes a [`Duplicate`].
pub fn load_distinct(paths: &[PathBuf]) -> Result<DatasetFiles> {
    let names = short_names(paths);
    let mut out = DatasetFiles::default();
    for (path, name) in paths.iter().zip(names) {
        let bytes =
            std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
        let sha256 = sha256_hex(&bytes);
        if let Some(first) = out.files.iter().find(|f| f.sha256 == sha256) {
            out.duplicates.push(Duplicate {
                path: path.clone(),
                name,
                same_as: first.name.clone(),
                rows: first.rows.len() as u64,
                sha256,
            });
            continue;
        }
        let mut rows = Vec::new();
        let columns = read_dataset_from(path, bytes.as_slice(), |_, r| {
            rows.push(r);
            Ok(())
        })?;
        out.files.push(DatasetFile {
            path: path.clone(),
            name,
            sha256,
            columns,
            rows,
        });
    }
    Ok(out)
}

/// Names that tell the given files apart: each path's last component when
/// those differ, else its last two (`music_stream/01.csv`), and so on. The
/// same path given twice keeps one name.
pub fn short_names(paths: &[PathBuf]) -> Vec<String> {
    let parts: Vec<Vec<std::path::Component<'_>>> =
        paths.iter().map(|p| p.components().collect()).collect();
    let longest = parts.iter().map(Vec::len).max().unwrap_or(0);
    for k in 1..=longest {
        let names: Vec<String> = parts
            .iter()
            .map(|c| {
                let tail: PathBuf = c[c.len().saturating_sub(k)..].iter().collect();
                tail.display().to_string()
            })
            .collect();
        let clash = (0..paths.len())
            .any(|i| (i + 1..paths.len()).any(|j| names[i] == names[j] && paths[i] != paths[j]));
        if !clash {
            return names;
        }
    }
    paths.iter().map(|p| p.display().to_string()).collect()
}

/// The features every file has a column for, in the contract's order,
/// without `srcport` and `flow_index`, which are never default features
/// (`train::extended_features` says why).
pub fn common_features(files: &[DatasetFile]) -> Vec<Feature> {
    Feature::ALL
        .iter()
        .copied()
        .filter(|f| *f != Feature::Srcport && *f != Feature::FlowIndex)
        .filter(|f| files.iter().all(|file| file.columns.has(*f)))
        .collect()
}

/// Whether `path` looks like a dataset CSV rather than a capture: its name
/// ends in `.csv`, or its first line is a CSV header naming a feature
/// column. Unreadable files are not datasets (the capture reader then says
/// what is wrong with them).
pub fn looks_like_dataset(path: &Path) -> bool {
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
    {
        return true;
    }
    let mut head = Vec::with_capacity(4096);
    let read = std::fs::File::open(path).and_then(|f| {
        use std::io::Read as _;
        f.take(4096).read_to_end(&mut head)
    });
    if read.is_err() {
        return false;
    }
    let first = head
        .split(|b| *b == b'\n' || *b == b'\r')
        .next()
        .unwrap_or_default();
    let Ok(first) = std::str::from_utf8(first) else {
        return false;
    };
    first
        .split(',')
        .any(|c| Feature::from_name(c.trim().trim_matches('"')).is_some())
}

/// A cell as the integer the kernel uses. Every column of contract version
/// 2 is an integer; the published files write some as floats (`3.0`,
/// `23.0`) and `content_type` as empty or NaN when there is none (0).
pub fn parse_feature(f: Feature, cell: &str) -> Result<u64> {
    let cell = cell.trim();
    if f == Feature::ContentType && (cell.is_empty() || cell.eq_ignore_ascii_case("nan")) {
        return Ok(0);
    }
    let int = cell.strip_suffix(".0").unwrap_or(cell);
    let v = int
        .parse::<u64>()
        .map_err(|_| anyhow::anyhow!("not a non-negative integer"))?;
    if v > f.max_value() {
        bail!(
            "more than the kernel's {}-bit field holds",
            64 - f.max_value().leading_zeros()
        );
    }
    Ok(v)
}

/// A row's values as the kernel's feature record.
pub fn row_features(values: &[u64; NUM_FEATURES]) -> Features {
    let v = |f: Feature| values[f as usize];
    Features {
        delta_us: v(Feature::DeltaUs),
        length: v(Feature::Length) as u32,
        payload_len: v(Feature::PayloadLen) as u32,
        delta: v(Feature::Delta) as u32,
        flow_index: v(Feature::FlowIndex) as u32,
        dstport: v(Feature::Dstport) as u16,
        srcport: v(Feature::Srcport) as u16,
        record_len: v(Feature::RecordLen) as u16,
        highest_layer: v(Feature::HighestLayer) as u8,
        content_type: v(Feature::ContentType) as u8,
        ack_flag: v(Feature::AckFlag) as u8,
        microphone: v(Feature::Microphone) as u8,
        proto: v(Feature::Proto) as u8,
        tcp_flags: v(Feature::TcpFlags) as u8,
        tcp_retrans: v(Feature::TcpRetrans) as u8,
        _pad: 0,
        _pad2: 0,
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
    fn short_names_take_as_much_of_the_path_as_tells_the_files_apart() {
        let p = |v: &[&str]| v.iter().map(PathBuf::from).collect::<Vec<_>>();
        assert_eq!(
            short_names(&p(&["/x/a.csv", "/y/b.csv"])),
            ["a.csv", "b.csv"]
        );
        assert_eq!(
            short_names(&p(&[
                "/d/mute/01.csv",
                "/d/music/01.csv",
                "/d/music/02.csv"
            ])),
            ["mute/01.csv", "music/01.csv", "music/02.csv"]
        );
        // The same path twice keeps its short name.
        assert_eq!(short_names(&p(&["a/x.csv", "a/x.csv"])), ["x.csv", "x.csv"]);
        // Relative and absolute spellings of different files.
        assert_eq!(short_names(&p(&["x.csv", "/x.csv"])), ["x.csv", "/x.csv"]);
    }

    #[test]
    fn identical_files_are_read_once_and_features_are_the_common_columns() {
        let dir = std::env::temp_dir().join(format!("alexa-dataset-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("b")).unwrap();
        std::fs::create_dir_all(dir.join("x")).unwrap();
        let a = dir.join("x").join("a.csv");
        let a2 = dir.join("b").join("a.csv");
        let c = dir.join("x").join("c");
        std::fs::write(&a, "length,srcport,delta_us,class\n1,2,3,ack\n").unwrap();
        std::fs::write(&a2, "length,srcport,delta_us,class\n1,2,3,ack\n").unwrap();
        std::fs::write(
            &c,
            "srcport,length,flow_index,dstport,class\n5,6,7,8,syn\n9,9,9,9,\n",
        )
        .unwrap();
        let files = load_distinct(&[a.clone(), a2.clone(), c.clone()]).unwrap();
        assert_eq!(files.files.len(), 2);
        assert_eq!(files.files[0].name, "x/a.csv");
        assert_eq!(files.files[1].name, "x/c");
        assert_eq!(files.files[1].rows.len(), 2);
        assert_eq!(
            files.duplicates,
            [Duplicate {
                path: a2.clone(),
                name: "b/a.csv".into(),
                sha256: files.files[0].sha256.clone(),
                same_as: "x/a.csv".into(),
                rows: 1,
            }]
        );
        assert_eq!(files.notes().len(), 1);
        assert!(files.notes()[0].starts_with("b/a.csv is byte-identical to x/a.csv"));
        // srcport is common, but never a default feature.
        assert_eq!(common_features(&files.files), [Feature::Length]);
        assert!(looks_like_dataset(&c), "a header naming features");
        assert!(looks_like_dataset(&dir.join("missing.CSV")), "by its name");
        std::fs::write(dir.join("t"), "this is not a capture\n").unwrap();
        assert!(!looks_like_dataset(&dir.join("t")));
        assert!(!looks_like_dataset(&dir.join("missing")));
        assert!(!looks_like_dataset(&dir.join("b")), "a directory");
        let e = load_distinct(&[a, dir.join("missing")]).unwrap_err();
        assert!(format!("{e:#}").contains("missing: cannot read"), "{e:#}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn content_type_nan_is_zero() {
        assert_eq!(parse_feature(Feature::ContentType, "NaN").unwrap(), 0);
        assert_eq!(parse_feature(Feature::ContentType, "23.0").unwrap(), 23);
        assert_eq!(parse_feature(Feature::ContentType, "").unwrap(), 0);
        assert_eq!(parse_feature(Feature::HighestLayer, "3.0").unwrap(), 3);
        assert_eq!(parse_feature(Feature::Delta, "30000").unwrap(), 30_000);
        assert!(parse_feature(Feature::Delta, "0.5").is_err());
        assert_eq!(
            parse_feature(Feature::Delta, "4294967295").unwrap(),
            u32::MAX as u64
        );
        let e = parse_feature(Feature::Delta, "4294967296").unwrap_err();
        assert!(e.to_string().contains("32-bit"), "{e}");
        assert!(parse_feature(Feature::AckFlag, "256").is_err());
        assert!(parse_feature(Feature::Length, "-1").is_err());
    }
}
