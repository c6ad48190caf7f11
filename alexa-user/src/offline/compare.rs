//! `alexa report --compare`: how far a dataset's per-class `length` and
//! `delta` distributions are from a reference's (the published dataset):
//! the two-sample Kolmogorov–Smirnov statistic D, per class and column.
//!
//! The reference is read as the project reads the published dataset
//! (models/README.md): byte-identical files count once, and a row labelled
//! `not_justified` with the microphone on counts as `justified`. Only TCP
//! rows are compared (the published files hold nothing else): a row whose
//! `proto` column says otherwise is left out, on either side.

use std::{collections::BTreeMap, fmt::Write as _, path::Path, path::PathBuf};

use alexa_common::{Feature, CLASS_NAMES};
use anyhow::{bail, Result};

use crate::offline::dataset::{load_distinct, read_dataset, Columns, DatasetRow};

const IPPROTO_TCP: u64 = 6;

/// Two-sample Kolmogorov–Smirnov statistic: the largest distance between
/// the two empirical distribution functions, evaluated after every distinct
/// value (ties are whole steps, as for discrete data). 0 for identical
/// samples, 1 for samples with no overlap; `None` when either is empty.
pub fn ks_statistic(a: &[u64], b: &[u64]) -> Option<f64> {
    if a.is_empty() || b.is_empty() {
        return None;
    }
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort_unstable();
    b.sort_unstable();
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let (mut i, mut j) = (0usize, 0usize);
    let mut d: f64 = 0.0;
    while i < a.len() || j < b.len() {
        let v = match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) => *x.min(y),
            (Some(x), None) => *x,
            (None, Some(y)) => *y,
            (None, None) => break,
        };
        while i < a.len() && a[i] == v {
            i += 1;
        }
        while j < b.len() && b[j] == v {
            j += 1;
        }
        d = d.max((i as f64 / na - j as f64 / nb).abs());
    }
    Some(d)
}

/// The two samples of one class.
#[derive(Clone, Debug, Default)]
pub struct Samples {
    pub length: Vec<u64>,
    pub delta: Vec<u64>,
}

/// One class's distances.
#[derive(Clone, Debug, PartialEq)]
pub struct ClassDistance {
    pub class: &'static str,
    /// Rows of the compared dataset and of the reference.
    pub rows: u64,
    pub reference_rows: u64,
    /// KS D of `length` and of `delta`; `None` when a side has no row.
    pub length: Option<f64>,
    pub delta: Option<f64>,
}

/// The comparison of a dataset with a reference.
#[derive(Clone, Debug, Default)]
pub struct Comparison {
    pub classes: Vec<ClassDistance>,
    /// Distinct reference files read, and the ones skipped as byte-identical copies.
    pub reference_files: usize,
    pub duplicates: Vec<String>,
    /// Reference rows counted as `justified` (not_justified, microphone on).
    pub relabelled: u64,
    /// Rows left out because they are not TCP (dataset, reference).
    pub not_tcp: (u64, u64),
}

fn tcp(cols: &Columns, r: &DatasetRow) -> bool {
    !cols.has(Feature::Proto) || r.values[Feature::Proto as usize] == IPPROTO_TCP
}

fn need(cols: &Columns, path: &Path) -> Result<()> {
    for f in [Feature::Length, Feature::Delta] {
        if !cols.has(f) {
            bail!("{}: line 1: no `{}` column", path.display(), f.name());
        }
    }
    if cols.class.is_none() {
        bail!("{}: line 1: no `class` column", path.display());
    }
    Ok(())
}

fn push(by: &mut [Samples], class: u8, r: &DatasetRow) {
    let s = &mut by[class as usize];
    s.length.push(r.values[Feature::Length as usize]);
    s.delta.push(r.values[Feature::Delta as usize]);
}

/// Per-class samples of a dataset CSV (TCP rows with a class); the count of
/// rows left out as not TCP.
pub fn dataset_samples(path: &Path) -> Result<(Vec<Samples>, u64)> {
    let mut by = vec![Samples::default(); CLASS_NAMES.len()];
    let mut not_tcp = 0;
    let cols = read_dataset(path, |cols, r| {
        if !tcp(cols, &r) {
            not_tcp += 1;
        } else if let Some(c) = r.class {
            push(&mut by, c, &r);
        }
        Ok(())
    })?;
    need(&cols, path)?;
    Ok((by, not_tcp))
}

/// Per-class samples of the reference files, read as the module's header says.
pub fn reference_samples(paths: &[PathBuf]) -> Result<(Vec<Samples>, Comparison)> {
    let files = load_distinct(paths)?;
    let justified = alexa_common::class_id("justified").expect("a class");
    let not_justified = alexa_common::class_id("not_justified").expect("a class");
    let mut by = vec![Samples::default(); CLASS_NAMES.len()];
    let mut info = Comparison {
        reference_files: files.files.len(),
        duplicates: files.notes(),
        ..Comparison::default()
    };
    for f in &files.files {
        need(&f.columns, &f.path)?;
        if !f.columns.has(Feature::Microphone) {
            bail!("{}: line 1: no `microphone` column", f.path.display());
        }
        for r in &f.rows {
            if !tcp(&f.columns, r) {
                info.not_tcp.1 += 1;
                continue;
            }
            let Some(mut c) = r.class else { continue };
            if c == not_justified && r.values[Feature::Microphone as usize] == 1 {
                c = justified;
                info.relabelled += 1;
            }
            push(&mut by, c, r);
        }
    }
    Ok((by, info))
}

/// Compares `dataset` with the reference files, class by class.
pub fn compare(dataset: &Path, reference: &[PathBuf]) -> Result<Comparison> {
    let (sim, not_tcp) = dataset_samples(dataset)?;
    let (reference, mut out) = reference_samples(reference)?;
    out.not_tcp.0 = not_tcp;
    out.classes = distances(&sim, &reference);
    Ok(out)
}

/// Per-class distances between two sets of samples, in the report's class order.
pub fn distances(a: &[Samples], reference: &[Samples]) -> Vec<ClassDistance> {
    let order = [
        "ack",
        "expected",
        "syn",
        "justified",
        "handshake",
        "retransmit",
        "not_relevant",
        "not_justified",
    ];
    order
        .iter()
        .map(|name| {
            let i = alexa_common::class_id(name).expect("a class") as usize;
            ClassDistance {
                class: CLASS_NAMES[i],
                rows: a[i].length.len() as u64,
                reference_rows: reference[i].length.len() as u64,
                length: ks_statistic(&a[i].length, &reference[i].length),
                delta: ks_statistic(&a[i].delta, &reference[i].delta),
            }
        })
        .collect()
}

fn d(x: Option<f64>) -> String {
    x.map_or_else(|| "–".to_owned(), |v| format!("{v:.3}"))
}

impl Comparison {
    /// The table, as Markdown.
    pub fn table(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "| class | rows | reference rows | D length | D delta |\n|---|---:|---:|---:|---:|"
        );
        for c in &self.classes {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} |",
                c.class,
                c.rows,
                c.reference_rows,
                d(c.length),
                d(c.delta)
            );
        }
        s
    }

    /// What was read, one line each (for standard error and summary.md).
    pub fn notes(&self) -> Vec<String> {
        let mut v = vec![format!(
            "reference: {} distinct file(s); {} row(s) not_justified with the microphone on counted as justified",
            self.reference_files, self.relabelled
        )];
        v.extend(self.duplicates.iter().cloned());
        if self.not_tcp.0 + self.not_tcp.1 > 0 {
            v.push(format!(
                "left out as not TCP: {} row(s) of the dataset, {} of the reference",
                self.not_tcp.0, self.not_tcp.1
            ));
        }
        v
    }

    /// Per-class rows, for a count table.
    pub fn counts(&self) -> BTreeMap<&'static str, (u64, u64)> {
        self.classes
            .iter()
            .map(|c| (c.class, (c.rows, c.reference_rows)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ks_of_identical_disjoint_and_shifted_samples() {
        assert_eq!(ks_statistic(&[1, 2, 3], &[3, 2, 1]), Some(0.0));
        assert_eq!(ks_statistic(&[1, 2], &[3, 4]), Some(1.0));
        assert_eq!(ks_statistic(&[], &[1]), None);
        // After 1: F_a = 1/2, F_b = 1/4; after 2: 1 and 1/2 (the largest gap).
        let d = ks_statistic(&[1, 2], &[1, 2, 3, 3]).unwrap();
        assert!((d - 0.5).abs() < 1e-12, "{d}");
        // Ties across samples are whole steps: no gap inside a tie.
        assert_eq!(ks_statistic(&[5, 5, 5, 5], &[5]), Some(0.0));
        // Matches scipy.stats.ks_2samp([0,0,1,10],[0,1,1,2,30]).statistic = 0.3.
        let d = ks_statistic(&[0, 0, 1, 10], &[0, 1, 1, 2, 30]).unwrap();
        assert!((d - 0.3).abs() < 1e-12, "{d}");
    }

    #[test]
    fn reference_counts_duplicates_once_relabels_and_keeps_tcp_only() {
        let dir = std::env::temp_dir().join(format!("alexa-compare-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("a")).unwrap();
        std::fs::create_dir_all(dir.join("b")).unwrap();
        let body = "length,delta,microphone,class\n66,0,1,ack\n300,0,1,not_justified\n300,1,0,not_justified\n";
        std::fs::write(dir.join("a/x.csv"), body).unwrap();
        std::fs::write(dir.join("b/x.csv"), body).unwrap();
        let sim = dir.join("sim.csv");
        std::fs::write(
            &sim,
            "length,delta,microphone,class,proto\n66,0,1,ack,6\n80,0,1,not_relevant,17\n300,0,1,justified,6\n300,2,0,not_justified,6\n",
        )
        .unwrap();
        let c = compare(&sim, &[dir.join("a/x.csv"), dir.join("b/x.csv")]).unwrap();
        assert_eq!(c.reference_files, 1);
        assert_eq!(c.duplicates.len(), 1);
        assert_eq!(c.relabelled, 1);
        assert_eq!(c.not_tcp, (1, 0));
        let by: BTreeMap<_, _> = c.classes.iter().map(|x| (x.class, x)).collect();
        assert_eq!(by["ack"].length, Some(0.0));
        assert_eq!(by["justified"].reference_rows, 1);
        assert_eq!(by["not_justified"].delta, Some(1.0));
        assert_eq!(by["not_relevant"].length, None);
        assert!(
            c.table().contains("| ack | 1 | 1 | 0.000 | 0.000 |"),
            "{}",
            c.table()
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
