//! The decision-tree model: training (`train`), the kernel form (`compile`),
//! MODEL.json (`file`), evaluation (`evaluate`; its figures are `offline::figures::model`) and classifying a
//! capture in user space with the same compiled walk the kernel runs.
//! docs/model.md documents the schema and the choices. Training, cross
//! validation and the figures are lab tools (the `lab` feature).

#[cfg(feature = "lab")]
pub mod cart;
pub mod compile;
#[cfg(feature = "lab")]
pub mod crossval;
pub mod embedded;
pub mod evaluate;
pub mod file;
pub mod safety;
#[cfg(feature = "lab")]
pub mod train;

use std::{io::Write as _, path::Path};

use alexa_common::CLASS_NAMES;
use anyhow::{bail, Context as _, Result};

pub use file::{load, Model};

use crate::{
    offline::dataset::{read_dataset_records, Columns},
    offline::extract::{extract_each, DeviceSet, Tally},
    offline::labels::CheckedLabel,
    offline::row::csv_header,
    util::atomic_file::AtomicFile,
};
use evaluate::Confusion;

#[cfg(feature = "lab")]
/// `alexa evaluate`: the compiled tree on every labelled row of `dataset`.
pub fn evaluate_file(model: &Model, dataset: &Path) -> Result<Confusion> {
    let rows = train::load_labelled(dataset, &model.features)?;
    let mut c = Confusion::default();
    for r in &rows {
        let p = model.predict(&train::row_features(&r.values));
        c.add(r.class.unwrap_or(0), p);
    }
    Ok(c)
}

/// `alexa classify`: the contract's columns plus `predicted`, one row per
/// classified packet (per labelled frame with `labels`).
pub fn classify_capture(
    model: &Model,
    capture: &Path,
    devices: DeviceSet,
    microphone: bool,
    labels: Option<(&Path, &[CheckedLabel])>,
    out: &Path,
) -> Result<(Tally, Confusion)> {
    let mut file = AtomicFile::create(out)?;
    writeln!(file, "{},predicted", csv_header())?;
    let mut line = Vec::with_capacity(256);
    let mut confusion = Confusion::default();
    let tally = extract_each(capture, devices, microphone, labels, |_, row| {
        let p = model.predict(&row.features);
        if let Some(t) = row.class {
            confusion.add(t, p);
        }
        line.clear();
        row.write_csv(&mut line)?;
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        let w = file.writer();
        w.write_all(&line)?;
        writeln!(w, ",{}", CLASS_NAMES.get(p as usize).copied().unwrap_or(""))
            .with_context(|| format!("{}: cannot write", out.display()))?;
        Ok(())
    })?;
    file.commit()?;
    Ok((tally, confusion))
}

/// `alexa classify` on a dataset CSV: every row with all its columns, plus
/// `predicted`; the confusion against the `class` column where a row has one.
pub fn classify_dataset(model: &Model, dataset: &Path, out: &Path) -> Result<(u64, Confusion)> {
    let mut file = AtomicFile::create(out)?;
    let mut confusion = Confusion::default();
    let mut rows = 0u64;
    let check = |cols: &Columns| -> Result<()> {
        if cols.all.iter().any(|c| c == "predicted") {
            bail!(
                "{}: line 1: already has a `predicted` column",
                dataset.display()
            );
        }
        if let Some(f) = model.features.iter().find(|f| !cols.has(**f)) {
            bail!(
                "{}: line 1: no `{}` column (a feature the model uses)",
                dataset.display(),
                f.name()
            );
        }
        Ok(())
    };
    let cannot_write = || format!("{}: cannot write", out.display());
    let cols = {
        let mut w = csv::Writer::from_writer(file.writer());
        let cols = read_dataset_records(dataset, |cols, row, record| {
            if rows == 0 {
                check(cols)?;
                let mut header = cols.all.clone();
                header.push("predicted".into());
                w.write_record(&header).with_context(cannot_write)?;
            }
            let p = model.predict(&crate::offline::dataset::row_features(&row.values));
            if let Some(t) = row.class {
                confusion.add(t, p);
            }
            let name = CLASS_NAMES.get(p as usize).copied().unwrap_or("");
            w.write_record(record.iter().chain([name]))
                .with_context(cannot_write)?;
            rows += 1;
            Ok(())
        })?;
        w.flush().with_context(cannot_write)?;
        cols
    };
    check(&cols)?;
    if rows == 0 {
        bail!(
            "{}: line 2: no data rows after the header",
            dataset.display()
        );
    }
    file.commit()?;
    Ok((rows, confusion))
}

#[cfg(all(test, feature = "lab"))]
mod tests;
