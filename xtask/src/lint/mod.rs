//! `cargo xtask lint`: the crates' module structure kept true. Each crate's
//! sources are read as Rust (syn), every path a module names is resolved to
//! the module defining it, and the rules in `checks` are held against the
//! table in `rooms`: no import circle, no import running up the layers, no
//! file over the size limit without a reason. docs/development.md.

mod checks;
mod collect;
mod lines;
mod report;
mod resolve;
mod rooms;
#[cfg(test)]
mod tests;
mod tree;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};

use self::{
    checks::Rules,
    rooms::{CrateRooms, CRATES, KNOWN_CYCLES, KNOWN_LARGE_FILES, MAX_PRODUCTION_LINES},
    tree::Crate,
};

/// A rule broken, where.
#[derive(Clone, Debug)]
pub struct Problem {
    pub file: PathBuf,
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file.display(), self.line, self.message)
    }
}

/// The table's own text, to point table problems at their line.
const TABLE_SOURCE: &str = include_str!("rooms.rs");

/// The rules for one crate; `strict` without the temporary allow-lists.
fn rules(rooms: &'static CrateRooms, strict: bool) -> Rules<'static> {
    Rules {
        rooms,
        known_cycles: KNOWN_CYCLES
            .iter()
            .filter(|(dir, _)| *dir == rooms.dir && !strict)
            .map(|(_, set)| *set)
            .collect(),
        max_lines: MAX_PRODUCTION_LINES,
        known_large: if strict {
            Vec::new()
        } else {
            KNOWN_LARGE_FILES.to_vec()
        },
        table_source: TABLE_SOURCE,
    }
}

/// What to print besides problems, and whether to drop the allow-lists.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    pub verbose: bool,
    pub report: bool,
    pub strict: bool,
}

pub fn run(opts: Options) -> Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("xtask has no parent directory")?;
    let mut problems = Vec::new();
    let mut crates = Vec::new();
    for rooms in CRATES {
        let dir = root.join(rooms.dir);
        let sources = tree::read_sources(&dir)
            .with_context(|| format!("cannot read {}", dir.join("src").display()))?;
        let c = Crate::build(rooms.dir, rooms.lib_name, &sources);
        let edges = c.edges();
        problems.extend(checks::check(&c, &edges, &rules(rooms, opts.strict)));
        crates.push((c, edges, rooms));
    }
    if opts.report {
        println!("## Rooms\n");
        for (c, edges, rooms) in &crates {
            print!("{}", report::markdown(c, edges, &rules(rooms, opts.strict)));
        }
    }
    if opts.verbose {
        println!("Largest files (production lines):");
        let all: Vec<&Crate> = crates.iter().map(|(c, _, _)| c).collect();
        print!("{}", report::largest(&all, 10, KNOWN_LARGE_FILES));
    }
    for p in &problems {
        eprintln!("{p}");
    }
    let files: usize = crates.iter().map(|(c, _, _)| c.files.len()).sum();
    if !problems.is_empty() {
        bail!("lint: {} problem(s) in {files} files", problems.len());
    }
    eprintln!(
        "xtask lint: {files} files of {} crates: no circle, upward import or oversized file (beyond the temporary KNOWN_CYCLES and KNOWN_LARGE_FILES)",
        crates.len()
    );
    Ok(())
}
