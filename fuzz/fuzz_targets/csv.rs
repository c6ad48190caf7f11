//! The labels and dataset CSV readers over arbitrary bytes. Errors must be
//! one line naming the file and a line; what loads must keep the readers'
//! promises (labels strictly increasing, rows with real line numbers).
#![no_main]

use std::path::Path;

use alexa::{offline::dataset::read_dataset_from, offline::labels::read_labels_from};
use alexa_common::NUM_CLASSES;
use libfuzzer_sys::fuzz_target;

fn check_error(e: &anyhow::Error) {
    let text = format!("{e:#}");
    assert!(!text.contains('\n'), "multi-line error: {text:?}");
    assert!(
        text.starts_with("fuzz.csv: "),
        "error does not name the file: {text:?}"
    );
    assert!(text.contains(": line "), "error names no line: {text:?}");
}

fuzz_target!(|data: &[u8]| {
    let name = Path::new("fuzz.csv");
    match read_labels_from(name, data) {
        Ok(labels) => {
            for w in labels.windows(2) {
                assert!(w[0].frame < w[1].frame);
                assert!(w[0].line < w[1].line);
            }
            assert!(labels
                .iter()
                .all(|l| (l.class as usize) < NUM_CLASSES && l.line >= 2));
        }
        Err(e) => check_error(&e),
    }
    let mut last_line = 1;
    let read = read_dataset_from(name, data, |_, row| {
        assert!(
            row.line > last_line,
            "line {} after line {last_line}",
            row.line
        );
        last_line = row.line;
        assert!(row.class.is_none_or(|c| (c as usize) < NUM_CLASSES));
        Ok(())
    });
    if let Err(e) = read {
        check_error(&e);
    }
});
