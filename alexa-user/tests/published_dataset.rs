//! Every reader takes the paper authors' published dataset as it is
//! (`3.0`, `23.0`, empty content types): all 13 files, with the totals the
//! data's README states (62,630 rows; per class as in the paper).

mod common;

use std::collections::BTreeMap;

use alexa::{
    offline::dataset::{load_dataset, load_distinct},
    offline::figures,
    offline::model::{self, train},
    offline::prepare::{self, PrepareOptions},
};
use alexa_common::{Feature, CLASS_NAMES, NUM_PAPER_FEATURES};
use common::{published_files, real_data, Scratch};

const TOTAL_ROWS: u64 = 62_630;
const CLASS_TOTALS: [(&str, u64); 8] = [
    ("ack", 48_252),
    ("expected", 4_813),
    ("syn", 2_888),
    ("handshake", 1_751),
    ("retransmit", 1_457),
    ("not_justified", 1_361),
    ("justified", 1_316),
    ("not_relevant", 792),
];

fn totals() -> BTreeMap<String, u64> {
    CLASS_TOTALS
        .iter()
        .map(|(c, n)| (c.to_string(), *n))
        .collect()
}

#[test]
fn every_reader_takes_all_13_published_files() {
    let Some(real) = real_data() else { return };
    let files = published_files(&real);
    let scratch = Scratch::new("published");
    let paper = &Feature::ALL[..NUM_PAPER_FEATURES];

    // The dataset reader (train, evaluate, crossval, classify).
    let mut by_class: BTreeMap<String, u64> = BTreeMap::new();
    let mut rows = 0u64;
    let mut prepared_in = 0u64;
    let mut summarized = 0u64;
    for f in &files {
        let (cols, r) = load_dataset(f).unwrap_or_else(|e| panic!("{e:#}"));
        for feature in paper {
            assert!(cols.has(*feature), "{}: no {}", f.display(), feature.name());
        }
        assert!(cols.class.is_some());
        for row in &r {
            let class = row
                .class
                .unwrap_or_else(|| panic!("{}: line {}: no class", f.display(), row.line));
            *by_class
                .entry(CLASS_NAMES[class as usize].to_owned())
                .or_default() += 1;
            assert!(row.values[Feature::HighestLayer as usize] <= 3);
            assert!([0, 20, 21, 22, 23, 24].contains(&row.values[Feature::ContentType as usize]));
        }
        rows += r.len() as u64;
        // The loader for training and evaluation.
        let labelled = train::load_labelled(f, paper).unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(labelled.len(), r.len());
        // `alexa prepare` (everything kept) and `alexa report`'s reader.
        let out = scratch.path("prepared.csv");
        let all = PrepareOptions {
            ack_keep: 1.0,
            seed: 1,
        };
        let p = prepare::prepare(f, &out, &all).unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(p.rows_in, r.len() as u64);
        assert_eq!(p.rows_out, p.rows_in);
        prepared_in += p.rows_in;
        let s =
            figures::summarize(f, &PrepareOptions::default()).unwrap_or_else(|e| panic!("{e:#}"));
        summarized += s.rows;
    }
    assert_eq!(rows, TOTAL_ROWS);
    assert_eq!(by_class, totals());
    assert_eq!(prepared_in, TOTAL_ROWS);
    assert_eq!(summarized, TOTAL_ROWS);

    // Several files at once: the copy (microphone_mute/03 = no_wake_word/05) is read once.
    let distinct = load_distinct(&files).unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(distinct.files.len(), 12);
    assert_eq!(distinct.duplicates.len(), 1);
    let d = &distinct.duplicates[0];
    assert_eq!(
        (d.name.as_str(), d.same_as.as_str(), d.rows),
        ("no_wake_word/05.csv", "microphone_mute/03.csv", 2_413)
    );
    let distinct_rows: u64 = distinct.files.iter().map(|f| f.rows.len() as u64).sum();
    assert_eq!(distinct_rows, TOTAL_ROWS - 2_413);
    // By default every file's columns: the paper's seven.
    let features = train::resolve_features(None, &distinct).unwrap();
    assert_eq!(features, paper);

    // Classifying a dataset CSV: every row, every column, plus `predicted`.
    let opts = train::TrainOptions {
        features: features.clone(),
        max_depth: 8,
        ..train::TrainOptions::default()
    };
    let t = train::train_file(&files[0], &opts).unwrap_or_else(|e| panic!("{e:#}"));
    let mut classified = 0;
    for f in &files {
        let out = scratch.path("classified.csv");
        let (n, c) = model::classify_dataset(&t.model, f, &out).unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(c.total(), n);
        let text = std::fs::read_to_string(&out).unwrap();
        let input = std::fs::read_to_string(f).unwrap();
        let mut lines = text.lines();
        let mut want = input.lines();
        assert_eq!(
            lines.next().unwrap(),
            format!("{},predicted", want.next().unwrap())
        );
        for (got, orig) in lines.zip(want) {
            let (kept, predicted) = got.rsplit_once(',').unwrap();
            assert_eq!(kept, orig, "{}", f.display());
            assert!(alexa_common::class_id(predicted).is_some(), "{predicted:?}");
        }
        classified += n;
    }
    assert_eq!(classified, TOTAL_ROWS);
}
