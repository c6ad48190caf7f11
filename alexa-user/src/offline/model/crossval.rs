//! `alexa crossval`: leave-one-file-out cross-validation over dataset files,
//! each file one recording. Each fold trains on the other files prepared as
//! the paper does (`alexa prepare`'s seeded share of the `ack` rows, every
//! other row) and tests on every row of the held-out file, acks included, as
//! the kernel would see them. The confusion matrices are pooled over folds.

use std::{
    fmt::Write as _,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Mutex,
    },
};

use alexa_common::{class_id, Feature};
use anyhow::{bail, Result};

use super::{
    evaluate::Confusion,
    file::DataInfo,
    train::{check_labelled, row_features, train_rows, TrainOptions},
};
use crate::{
    offline::dataset::{DatasetFile, DatasetFiles, DatasetRow},
    offline::prepare::{ack_keep_mask, PrepareOptions},
};

#[derive(Clone, Debug)]
pub struct CrossvalOptions {
    /// As `alexa train` takes them, the features resolved.
    pub train: TrainOptions,
    /// The preparation of each fold's training part.
    pub prepare: PrepareOptions,
    /// Folds trained at once (at least 1).
    pub threads: usize,
}

/// One fold: a file held out.
#[derive(Clone, Debug)]
pub struct Fold {
    pub name: String,
    /// Rows tested (every row of the held-out file).
    pub rows: u64,
    /// Rows trained on, after preparation.
    pub train_rows: u64,
    pub nodes: usize,
    pub depth: u32,
    pub confusion: Confusion,
}

#[derive(Clone, Debug)]
pub struct Crossval {
    pub options: CrossvalOptions,
    /// In the order of the files given.
    pub folds: Vec<Fold>,
    /// The folds' confusion matrices added up.
    pub pooled: Confusion,
}

/// The training part of the fold holding out `files[held_out]`: the other
/// files' rows in order, down-sampled as `alexa prepare` does over them
/// together (the same seeded share of their `ack` rows).
pub fn prepared_training(
    files: &[DatasetFile],
    held_out: usize,
    opts: &PrepareOptions,
) -> Vec<DatasetRow> {
    let ack = class_id("ack");
    let rows = || {
        files
            .iter()
            .enumerate()
            .filter(move |(i, _)| *i != held_out)
            .flat_map(|(_, f)| f.rows.iter())
    };
    let acks = rows().filter(|r| r.class == ack).count();
    let keep = ack_keep_mask(acks, opts);
    let mut k = 0;
    rows()
        .filter(|r| {
            if r.class != ack {
                return true;
            }
            k += 1;
            keep[k - 1]
        })
        .cloned()
        .collect()
}

fn fold(files: &[DatasetFile], i: usize, opts: &CrossvalOptions) -> Result<Fold> {
    let training = prepared_training(files, i, &opts.prepare);
    let held = &files[i];
    let t = train_rows(&training, &opts.train, DataInfo::default())
        .map_err(|e| anyhow::anyhow!("fold holding out {}: {e:#}", held.path.display()))?;
    let mut confusion = Confusion::default();
    for r in &held.rows {
        let p = t.model.predict(&row_features(&r.values));
        confusion.add(r.class.unwrap_or(0), p);
    }
    Ok(Fold {
        name: held.name.clone(),
        rows: held.rows.len() as u64,
        train_rows: training.len() as u64,
        nodes: t.model.nodes.len(),
        depth: t.model.file.tree.depth,
        confusion,
    })
}

/// Runs every fold; `progress` hears of each fold as it ends (from any of
/// the worker threads).
pub fn crossval(
    files: &DatasetFiles,
    opts: &CrossvalOptions,
    progress: &(dyn Fn(usize, &Fold) + Sync),
) -> Result<Crossval> {
    if !(0.0..=1.0).contains(&opts.prepare.ack_keep) {
        bail!(
            "--ack-keep must be between 0 and 1, not {}",
            opts.prepare.ack_keep
        );
    }
    let files = &files.files;
    if files.len() < 2 {
        bail!(
            "leave-one-file-out needs at least two distinct files, got {}",
            files.len()
        );
    }
    for f in files {
        check_labelled(&f.path, &f.columns, &f.rows, &opts.train.features)?;
    }
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<Fold>>>> =
        Mutex::new((0..files.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..opts.threads.clamp(1, files.len()) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= files.len() {
                    break;
                }
                let r = fold(files, i, opts);
                if let Ok(f) = &r {
                    progress(i, f);
                }
                results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(r);
            });
        }
    });
    let mut folds = Vec::with_capacity(files.len());
    let mut pooled = Confusion::default();
    for r in results.into_inner().unwrap_or_else(|e| e.into_inner()) {
        let f = r.expect("every fold ran")?;
        for (t, row) in f.confusion.m.iter().enumerate() {
            for (p, n) in row.iter().enumerate() {
                pooled.m[t][p] += n;
            }
        }
        folds.push(f);
    }
    Ok(Crossval {
        options: opts.clone(),
        folds,
        pooled,
    })
}

impl Crossval {
    /// What `alexa crossval` prints: the setting, one line per fold, the
    /// pooled per-class table and confusion matrix, and last
    /// `macro-F1 0.xxxx` (pooled).
    pub fn report(&self) -> String {
        let o = &self.options;
        let names: Vec<&str> = o.train.features.iter().map(|f| Feature::name(*f)).collect();
        let mut s = String::new();
        let _ = writeln!(
            s,
            "leave-one-file-out over {} recordings; features: {}",
            self.folds.len(),
            names.join(",")
        );
        let _ = writeln!(
            s,
            "each fold: trained on the other files (max depth {}, min samples leaf {}, class weight {}; \
             {}% of their ack rows, seed {}), tested on every row of the held-out file\n",
            o.train.max_depth,
            o.train.min_samples_leaf,
            o.train.class_weight.name(),
            o.prepare.ack_keep * 100.0,
            o.prepare.seed
        );
        let w = self
            .folds
            .iter()
            .map(|f| f.name.len())
            .max()
            .unwrap_or(0)
            .max(8);
        let _ = writeln!(
            s,
            "{:<w$} {:>8} {:>10} {:>6} {:>5} {:>9} {:>9}",
            "held out", "rows", "trained on", "nodes", "depth", "accuracy", "macro-F1"
        );
        for f in &self.folds {
            let _ = writeln!(
                s,
                "{:<w$} {:>8} {:>10} {:>6} {:>5} {:>9.4} {:>9.4}",
                f.name,
                f.rows,
                f.train_rows,
                f.nodes,
                f.depth,
                f.confusion.accuracy(),
                f.confusion.macro_f1()
            );
        }
        let p = &self.pooled;
        let _ = writeln!(
            s,
            "\npooled over the folds: accuracy {:.4} ({} of {} rows)\n",
            p.accuracy(),
            p.correct(),
            p.total()
        );
        s += &p.tables();
        let _ = write!(s, "\nmacro-F1 {:.4}", p.macro_f1());
        s
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use alexa_common::NUM_FEATURES;

    use super::*;
    use crate::offline::dataset::Columns;

    fn file(name: &str, classes: &[u8]) -> DatasetFile {
        DatasetFile {
            path: PathBuf::from(name),
            name: name.into(),
            sha256: String::new(),
            columns: Columns::default(),
            rows: classes
                .iter()
                .enumerate()
                .map(|(i, c)| DatasetRow {
                    values: [i as u64; NUM_FEATURES],
                    class: Some(*c),
                    line: i as u64 + 2,
                })
                .collect(),
        }
    }

    #[test]
    fn the_training_part_leaves_out_the_held_out_file_and_thins_only_acks() {
        let ack = class_id("ack").unwrap();
        let syn = class_id("syn").unwrap();
        let files = [
            file("a", &[ack, ack, syn, ack]),
            file("b", &[syn, syn]),
            file("c", &[ack, syn, ack, ack]),
        ];
        let all = PrepareOptions {
            ack_keep: 1.0,
            seed: 1,
        };
        let t = prepared_training(&files, 1, &all);
        assert_eq!(t.len(), 8);
        let none = PrepareOptions {
            ack_keep: 0.0,
            seed: 1,
        };
        let t = prepared_training(&files, 0, &none);
        let lines: Vec<u64> = t.iter().map(|r| r.line).collect();
        // b's two syns, then c's syn (line 3); no ack.
        assert_eq!(lines, [2, 3, 3]);
        // Holding out c: half of a's three acks (b has none), 1.5 rounded to 2.
        let half = PrepareOptions {
            ack_keep: 0.5,
            seed: 7,
        };
        let t = prepared_training(&files, 2, &half);
        assert_eq!(t.iter().filter(|r| r.class == Some(ack)).count(), 2);
        assert_eq!(t.iter().filter(|r| r.class == Some(syn)).count(), 3);
        assert_eq!(
            t,
            prepared_training(&files, 2, &half),
            "seeded, so repeatable"
        );
    }
}
