//! The rules: no import circle, no import running up the layers, no room
//! missing from the table (or listed without a module), no file too big
//! without a reason.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::{resolve::Edge, rooms::CrateRooms, tree::Crate, Problem};

/// Where table problems point: the table's own source.
pub const TABLE_FILE: &str = "xtask/src/lint/rooms.rs";

/// A crate's rules: its table entry, its allowed circles, the size limit.
pub struct Rules<'a> {
    pub rooms: &'a CrateRooms,
    pub known_cycles: Vec<&'a [&'a str]>,
    pub max_lines: usize,
    /// Oversized files allowed for now (paths from the workspace root).
    pub known_large: Vec<&'a str>,
    /// The table's text, to point at the line a table problem is on.
    pub table_source: &'a str,
}

/// Imports between two nodes (rooms, or sibling modules) of one scope.
pub type Scopes<'e> = BTreeMap<String, BTreeMap<(String, String), Vec<&'e Edge>>>;

pub fn check(c: &Crate, edges: &[Edge], rules: &Rules) -> Vec<Problem> {
    let mut problems = c.problems.clone();
    table(c, rules, &mut problems);
    let allowed = cycles(c, edges, rules, &mut problems);
    layers(c, edges, rules, &allowed, &mut problems);
    sizes(c, rules, &mut problems);
    problems
}

/// A problem on the table's line holding `needle`, looked for after the
/// first line holding `anchor` (the crate's entry, or the allow-list).
fn table_problem(rules: &Rules, anchor: &str, needle: &str, message: String) -> Problem {
    let lines: Vec<&str> = rules.table_source.lines().collect();
    let from = lines.iter().position(|l| l.contains(anchor)).unwrap_or(0);
    let line = lines[from..]
        .iter()
        .position(|l| l.contains(needle))
        .map_or(1, |i| from + i + 1);
    Problem {
        file: TABLE_FILE.into(),
        line,
        message,
    }
}

/// A room's layer; the roots above all.
pub fn level(c: &Crate, rooms: &CrateRooms, room: &str) -> Option<usize> {
    if let Some(t) = c.targets.iter().find(|t| t.room == room) {
        return Some(if t.is_lib { usize::MAX - 1 } else { usize::MAX });
    }
    rooms.layers.iter().position(|l| l.contains(&room))
}

fn table(c: &Crate, rules: &Rules, problems: &mut Vec<Problem>) {
    let mut seen = BTreeSet::new();
    for (m, module) in c.modules.iter().enumerate() {
        let room = c.room(m);
        if module.path.len() != 1 || c.targets.iter().any(|t| t.room == room) {
            continue;
        }
        seen.insert(room.to_owned());
        if level(c, rules.rooms, room).is_none() {
            problems.push(Problem {
                file: module.file.clone(),
                line: 1,
                message: format!(
                    "room `{room}` of {} is in no layer of {TABLE_FILE}: place it deliberately",
                    c.dir
                ),
            });
        }
    }
    let mut listed = BTreeSet::new();
    let crate_anchor = format!("dir: \"{}\"", c.dir);
    for room in rules.rooms.layers.iter().flat_map(|l| l.iter()) {
        let quoted = format!("\"{room}\"");
        if !listed.insert(*room) {
            problems.push(table_problem(
                rules,
                &crate_anchor,
                &quoted,
                format!("room `{room}` of {} is listed twice", c.dir),
            ));
        } else if !seen.contains(*room) {
            problems.push(table_problem(
                rules,
                &crate_anchor,
                &quoted,
                format!(
                    "room `{room}` of {} has no module: remove it from the table",
                    c.dir
                ),
            ));
        }
    }
}

/// Imports grouped by scope: "" for rooms; with `nested_cycles`, also one
/// scope per module for imports between its children's subtrees.
pub fn scopes<'e>(c: &Crate, edges: &'e [Edge], nested: bool) -> Scopes<'e> {
    let mut out: Scopes = BTreeMap::new();
    for e in edges {
        let (ra, rb) = (c.room(e.from), c.room(e.to));
        if ra != rb {
            out.entry(String::new())
                .or_default()
                .entry((ra.to_owned(), rb.to_owned()))
                .or_default()
                .push(e);
            continue;
        }
        let (p, q) = (&c.modules[e.from].path, &c.modules[e.to].path);
        if !nested || c.modules[e.from].target != c.modules[e.to].target {
            continue;
        }
        let common = p.iter().zip(q).take_while(|(a, b)| a == b).count();
        if common == 0 || common >= p.len() || common >= q.len() {
            // Different rooms (above), or a module and its own ancestor.
            continue;
        }
        out.entry(p[..common].join("::"))
            .or_default()
            .entry((p[..=common].join("::"), q[..=common].join("::")))
            .or_default()
            .push(e);
    }
    out
}

/// The circles of one scope's graph: its strongly connected sets of more
/// than one node.
pub fn circles(graph: &BTreeMap<(String, String), Vec<&Edge>>) -> Vec<BTreeSet<String>> {
    let mut next: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (a, b) in graph.keys() {
        next.entry(a).or_default().insert(b);
        next.entry(b).or_default();
    }
    let reach = |start: &str| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![start];
        while let Some(n) = todo.pop() {
            for &m in &next[n] {
                if seen.insert(m) {
                    todo.push(m);
                }
            }
        }
        seen
    };
    let reaches: BTreeMap<&str, BTreeSet<&str>> = next.keys().map(|&n| (n, reach(n))).collect();
    let mut out: Vec<BTreeSet<String>> = Vec::new();
    for (&a, ra) in &reaches {
        if !ra.contains(a) || out.iter().any(|s| s.contains(a)) {
            continue;
        }
        let set = ra
            .iter()
            .filter(|&&b| reaches[b].contains(a))
            .map(|b| b.to_string())
            .collect();
        out.push(set);
    }
    out
}

/// The shortest circle through `start` inside the set, as its edges.
fn circle_path<'g, 'e>(
    graph: &'g BTreeMap<(String, String), Vec<&'e Edge>>,
    set: &BTreeSet<String>,
    start: &str,
) -> Vec<(&'g str, &'g str, &'e Edge)> {
    let mut prev: BTreeMap<&str, &(String, String)> = BTreeMap::new();
    let mut queue = VecDeque::from([start]);
    'search: while let Some(n) = queue.pop_front() {
        for key in graph.keys().filter(|(a, b)| a == n && set.contains(b)) {
            let b = key.1.as_str();
            if prev.contains_key(b) {
                continue;
            }
            prev.insert(b, key);
            if b == start {
                break 'search;
            }
            queue.push_back(b);
        }
    }
    let mut path = Vec::new();
    let mut at = start;
    while let Some(&key) = prev.get(at) {
        let first = graph[key]
            .iter()
            .min_by_key(|e| (&e.file, e.line))
            .expect("an import");
        path.push((key.0.as_str(), key.1.as_str(), *first));
        at = &key.0;
        if at == start {
            break;
        }
    }
    path.reverse();
    path
}

/// Reports the circles; returns the allowed ones still exactly as listed.
fn cycles<'r>(
    c: &Crate,
    edges: &[Edge],
    rules: &Rules<'r>,
    problems: &mut Vec<Problem>,
) -> Vec<&'r [&'r str]> {
    let mut known_used = vec![false; rules.known_cycles.len()];
    for (scope, graph) in scopes(c, edges, rules.rooms.nested_cycles) {
        for set in circles(&graph) {
            let known = rules
                .known_cycles
                .iter()
                .position(|k| k.len() == set.len() && k.iter().all(|m| set.contains(*m)));
            if let Some(i) = known {
                known_used[i] = true;
                continue;
            }
            // One line per elementary circle, until each member is on one:
            // `a ↔ b ↔ c` shows as the circles to mend, not one blob.
            let mut covered: BTreeSet<&str> = BTreeSet::new();
            for start in &set {
                if covered.contains(start.as_str()) {
                    continue;
                }
                let path = circle_path(&graph, &set, start);
                covered.extend(path.iter().map(|(a, _, _)| *a));
                problems.push(circle_problem(c, &scope, &set, &path));
            }
        }
    }
    let mut allowed = Vec::new();
    for (i, used) in known_used.into_iter().enumerate() {
        if used {
            allowed.push(rules.known_cycles[i]);
        } else {
            let members = rules.known_cycles[i];
            problems.push(table_problem(
                rules,
                "pub const KNOWN_CYCLES",
                &format!("({:?}", c.dir),
                format!(
                    "KNOWN_CYCLES lists {} for {}, which are no longer exactly a circle: remove or update the entry",
                    members.join(", "),
                    c.dir
                ),
            ));
        }
    }
    allowed
}

fn circle_problem(
    c: &Crate,
    scope: &str,
    set: &BTreeSet<String>,
    path: &[(&str, &str, &Edge)],
) -> Problem {
    let (_, _, first) = path[0];
    let names: Vec<&str> = path.iter().map(|(a, _, _)| *a).chain([path[0].0]).collect();
    let evidence: Vec<String> = path
        .iter()
        .map(|(_, _, e)| {
            format!(
                "{} uses {} from {} at {}:{}",
                c.name(e.from),
                e.what,
                c.name(e.to),
                e.file.display(),
                e.line
            )
        })
        .collect();
    let within = if scope.is_empty() {
        c.dir.clone()
    } else {
        format!("{}'s {scope}", c.dir)
    };
    let among = if set.len() > path.len() {
        let all: Vec<&str> = set.iter().map(String::as_str).collect();
        format!(" (one of the circles among {})", all.join(", "))
    } else {
        String::new()
    };
    Problem {
        file: first.file.clone(),
        line: first.line,
        message: format!(
            "import circle in {within}: {}{among}; {}",
            names.join(" -> "),
            evidence.join("; ")
        ),
    }
}

/// Imports inside a circle still allowed (and still exactly as listed)
/// pass; all others must run down the layers.
fn layers(
    c: &Crate,
    edges: &[Edge],
    rules: &Rules,
    allowed: &[&[&str]],
    problems: &mut Vec<Problem>,
) {
    for e in edges {
        let (ra, rb) = (c.room(e.from), c.room(e.to));
        let known = allowed.iter().any(|k| k.contains(&ra) && k.contains(&rb));
        if ra == rb || known {
            continue;
        }
        let (Some(la), Some(lb)) = (level(c, rules.rooms, ra), level(c, rules.rooms, rb)) else {
            continue; // reported by `table`
        };
        if la > lb {
            continue;
        }
        let how = if la == lb {
            "same layer"
        } else {
            "higher layer"
        };
        problems.push(Problem {
            file: e.file.clone(),
            line: e.line,
            message: format!(
                "upward import: {} (room `{ra}`) uses {} from {} (room `{rb}`, {how})",
                c.name(e.from),
                e.what,
                c.name(e.to)
            ),
        });
    }
}

fn sizes(c: &Crate, rules: &Rules, problems: &mut Vec<Problem>) {
    for f in &c.files {
        let known = rules
            .known_large
            .iter()
            .any(|k| f.path == std::path::Path::new(k));
        let over = f.production_lines > rules.max_lines && f.size_reason.is_none();
        if over && !known {
            problems.push(Problem {
                file: f.path.clone(),
                line: 1,
                message: format!(
                    "{} lines of production code (limit {}): split it, or say why at its top in a `//! Size: …` line",
                    f.production_lines, rules.max_lines
                ),
            });
        } else if known && !over {
            problems.push(table_problem(
                rules,
                "pub const KNOWN_LARGE_FILES",
                &format!("{:?}", f.path.display().to_string()),
                format!(
                    "KNOWN_LARGE_FILES lists {}, which is within the limit now ({} production lines{}): remove the entry",
                    f.path.display(),
                    f.production_lines,
                    if f.size_reason.is_some() { ", or has a Size: reason" } else { "" }
                ),
            ));
        }
    }
    for k in &rules.known_large {
        let ours = std::path::Path::new(k).starts_with(&c.dir);
        if ours && !c.files.iter().any(|f| f.path == std::path::Path::new(k)) {
            problems.push(table_problem(
                rules,
                "pub const KNOWN_LARGE_FILES",
                &format!("{k:?}"),
                format!("KNOWN_LARGE_FILES lists {k}, which is not a source file of {}: remove the entry", c.dir),
            ));
        }
    }
}
