//! What `--report` and `--verbose` print: the room graph as Markdown (for
//! docs and issue notes) and the largest files.

use std::{collections::BTreeMap, fmt::Write as _};

use super::{
    checks::{circles, level, scopes, Rules},
    resolve::Edge,
    tree::Crate,
};

/// The crate's rooms with their layers and sizes, the imports between
/// rooms with their counts, and its circles.
pub fn markdown(c: &Crate, edges: &[Edge], rules: &Rules) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "### {}\n", c.dir);
    let mut rooms: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for f in &c.files {
        let r = rooms.entry(c.room(f.module)).or_default();
        r.0 += 1;
        r.1 += f.production_lines;
    }
    let mut by_level: Vec<(Option<usize>, &str, usize, usize)> = rooms
        .iter()
        .map(|(&room, &(files, lines))| (level(c, rules.rooms, room), room, files, lines))
        .collect();
    by_level.sort();
    let _ = writeln!(out, "| layer | room | files | production lines |");
    let _ = writeln!(out, "|---|---|---|---|");
    for (lv, room, files, lines) in &by_level {
        let lv = match lv {
            Some(l) if *l >= usize::MAX - 1 => "root".to_owned(),
            Some(l) => (l + 1).to_string(),
            None => "unplaced".to_owned(),
        };
        let _ = writeln!(out, "| {lv} | `{room}` | {files} | {lines} |");
    }

    let graphs = scopes(c, edges, rules.rooms.nested_cycles);
    let _ = writeln!(
        out,
        "\nImports between rooms (each path named counts once):\n"
    );
    let _ = writeln!(out, "| from | to | imports | in tests |");
    let _ = writeln!(out, "|---|---|---|---|");
    if let Some(rooms) = graphs.get("") {
        for ((a, b), es) in rooms {
            let tests = es.iter().filter(|e| e.test).count();
            let _ = writeln!(out, "| `{a}` | `{b}` | {} | {tests} |", es.len());
        }
    }
    let mut found = Vec::new();
    for (scope, graph) in &graphs {
        for set in circles(graph) {
            let names: Vec<String> = set.iter().map(|s| format!("`{s}`")).collect();
            let known = rules
                .known_cycles
                .iter()
                .any(|k| k.len() == set.len() && k.iter().all(|m| set.contains(*m)));
            let within = if scope.is_empty() {
                String::new()
            } else {
                format!(" (inside `{scope}`)")
            };
            let tag = if known {
                ", allowed by KNOWN_CYCLES"
            } else {
                ""
            };
            found.push(format!("{}{within}{tag}", names.join(" ↔ ")));
        }
    }
    if found.is_empty() {
        let _ = writeln!(out, "\nCircles: none.\n");
    } else {
        let _ = writeln!(out, "\nCircles:\n");
        for f in found {
            let _ = writeln!(out, "- {f}");
        }
        out.push('\n');
    }
    out
}

/// The `n` largest files of all crates by production lines, one a line.
/// `known` (KNOWN_LARGE_FILES) are marked as such.
pub fn largest(crates: &[&Crate], n: usize, known: &[&str]) -> String {
    let mut files: Vec<_> = crates.iter().flat_map(|c| &c.files).collect();
    files.sort_by(|a, b| {
        b.production_lines
            .cmp(&a.production_lines)
            .then(a.path.cmp(&b.path))
    });
    let mut out = String::new();
    for f in files.into_iter().take(n) {
        let reason = match &f.size_reason {
            Some(r) => format!("  (Size: {r})"),
            None if known.iter().any(|k| f.path == std::path::Path::new(k)) => {
                "  (KNOWN_LARGE_FILES)".to_owned()
            }
            None => String::new(),
        };
        let _ = writeln!(
            out,
            "{:>6}  {}{reason}",
            f.production_lines,
            f.path.display()
        );
    }
    out
}
