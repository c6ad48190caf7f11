//! Each rule on small crates written here: a clean one passes, and each
//! broken one fails with the file, line and modules of the fault.

use super::{
    checks::{check, Rules},
    report,
    rooms::CrateRooms,
    tree::{Crate, Sources},
    Problem,
};

const LAYERS: &[&[&str]] = &[&["util"], &["kernel"], &["cli"]];

fn rooms(layers: &'static [&'static [&'static str]], nested: bool) -> CrateRooms {
    CrateRooms {
        dir: "fx",
        lib_name: "fx",
        layers,
        nested_cycles: nested,
    }
}

fn sources(files: &[(&str, &str)]) -> Sources {
    files
        .iter()
        .map(|(p, s)| (p.into(), (*s).to_owned()))
        .collect()
}

fn lint_with(
    files: &[(&str, &str)],
    rooms: &CrateRooms,
    known_cycles: Vec<&[&str]>,
    known_large: Vec<&str>,
) -> (Crate, Vec<Problem>) {
    let c = Crate::build("fx", "fx", &sources(files));
    let edges = c.edges();
    let rules = Rules {
        rooms,
        known_cycles,
        max_lines: 500,
        known_large,
        table_source: "",
    };
    let problems = check(&c, &edges, &rules);
    (c, problems)
}

fn lint(files: &[(&str, &str)]) -> Vec<String> {
    let (_, problems) = lint_with(files, &rooms(LAYERS, false), vec![], vec![]);
    problems.iter().map(ToString::to_string).collect()
}

/// Room-to-room imports as "a -> b".
fn room_edges(files: &[(&str, &str)]) -> Vec<String> {
    let c = Crate::build("fx", "fx", &sources(files));
    let mut out: Vec<String> = c
        .edges()
        .iter()
        .filter(|e| c.room(e.from) != c.room(e.to))
        .map(|e| format!("{} -> {}", c.room(e.from), c.room(e.to)))
        .collect();
    out.sort();
    out.dedup();
    out
}

const LIB: &str = "pub mod cli;\npub mod kernel;\npub mod util;\n";
const UTIL: &str = "pub const NAME: &str = \"x\";\npub struct Buf;\n";
const KERNEL: &str = "\
use crate::util::Buf;
pub mod maps;
pub struct Load(pub Buf);
";
const MAPS: &str = "\
pub fn size() -> usize {
    super::super::util::NAME.len()
}
";
const CLI: &str = "\
pub fn run(l: crate::kernel::Load) -> String {
    drop(l);
    format!(\"{}\", crate::util::NAME)
}
";

fn clean() -> Vec<(&'static str, &'static str)> {
    vec![
        ("src/lib.rs", LIB),
        ("src/util.rs", UTIL),
        ("src/kernel/mod.rs", KERNEL),
        ("src/kernel/maps.rs", MAPS),
        ("src/cli.rs", CLI),
    ]
}

#[test]
fn a_clean_crate_passes_and_its_imports_are_all_seen() {
    assert_eq!(lint(&clean()), Vec::<String>::new());
    // A `use`, a path in an expression two `super`s up, a type, a macro argument.
    assert_eq!(
        room_edges(&clean()),
        ["cli -> kernel", "cli -> util", "kernel -> util"]
    );
}

#[test]
fn a_circle_between_rooms_fails_naming_both_imports() {
    let mut files = clean();
    files[2].1 = "use crate::util::Buf;\npub mod maps;\npub struct Load(pub Buf);\n\
                  pub fn go() { let _ = crate::cli::run; }\n";
    let problems = lint(&files);
    let circle: Vec<&String> = problems.iter().filter(|p| p.contains("circle")).collect();
    assert_eq!(circle.len(), 1, "{problems:#?}");
    assert!(
        circle[0].starts_with("fx/src/cli.rs:1: import circle in fx: cli -> kernel -> cli;"),
        "{}",
        circle[0]
    );
    assert!(circle[0].contains("kernel uses crate::cli::run from cli at fx/src/kernel/mod.rs:4"));
    // The same import also runs up the layers.
    assert!(problems.contains(
        &"fx/src/kernel/mod.rs:4: upward import: kernel (room `kernel`) uses crate::cli::run \
          from cli (room `cli`, higher layer)"
            .to_owned()
    ));
}

#[test]
fn a_circle_through_a_root_reexport_counts_against_the_defining_module() {
    let files = [
        (
            "src/lib.rs",
            "pub mod flow;\npub mod parse;\npub use flow::Key;\n",
        ),
        (
            "src/flow.rs",
            "pub struct Key;\npub fn f() { crate::parse::p(); }\n",
        ),
        (
            "src/parse.rs",
            "use crate::Key;\npub fn p() {}\npub fn k(_: Key) {}\n",
        ),
    ];
    let layers: &'static [&'static [&'static str]] = &[&["flow", "parse"]];
    let (_, problems) = lint_with(&files, &rooms(layers, false), vec![], vec![]);
    assert!(
        problems.iter().any(|p| p
            .to_string()
            .contains("import circle in fx: flow -> parse -> flow")),
        "{problems:#?}"
    );
    // Allowed by name, it passes; the same-layer imports inside it too.
    let (_, problems) = lint_with(
        &files,
        &rooms(layers, false),
        vec![&["flow", "parse"]],
        vec![],
    );
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn a_known_circle_that_is_gone_or_grew_fails() {
    let (_, problems) = lint_with(
        &clean(),
        &rooms(LAYERS, false),
        vec![&["cli", "kernel"]],
        vec![],
    );
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(problems[0]
        .message
        .contains("KNOWN_CYCLES lists cli, kernel"));

    let mut files = clean();
    files[1].1 =
        "pub const NAME: &str = \"x\";\npub struct Buf;\npub fn f() { crate::cli::run; }\n";
    files[2].1 = "use crate::util::Buf;\npub mod maps;\npub struct Load(pub Buf);\n\
                  pub fn go() { let _ = crate::cli::run; }\n";
    let (_, problems) = lint_with(
        &files,
        &rooms(LAYERS, false),
        vec![&["cli", "kernel"]],
        vec![],
    );
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(text.len(), 5, "{text:#?}");
    let among = "(one of the circles among cli, kernel, util)";
    assert!(text[0].starts_with(&format!(
        "fx/src/cli.rs:1: import circle in fx: cli -> kernel -> cli {among};"
    )));
    assert!(text[1].starts_with(&format!(
        "fx/src/util.rs:3: import circle in fx: util -> cli -> util {among};"
    )));
    assert!(text[2].contains("KNOWN_CYCLES lists cli, kernel"));
    // An entry that no longer matches allows nothing, its imports included.
    assert!(text[3].starts_with("fx/src/kernel/mod.rs:4: upward import"));
    assert!(text[4].starts_with("fx/src/util.rs:3: upward import"));
}

#[test]
fn table_problems_point_at_their_line_of_the_table() {
    let table = "\
pub const CRATES = [
    dir: \"other\",
        &[\"gone\"],
    dir: \"fx\",
        &[\"util\"], &[\"kernel\"], &[\"cli\", \"gone\"],
];
pub const KNOWN_CYCLES = [
    (\"other\", &[\"cli\"]),
    (\"fx\", &[\"cli\", \"kernel\"]),
];
";
    let layers: &'static [&'static [&'static str]] = &[&["util"], &["kernel"], &["cli", "gone"]];
    let rooms = rooms(layers, false);
    let c = Crate::build("fx", "fx", &sources(&clean()));
    let rules = Rules {
        rooms: &rooms,
        known_cycles: vec![&["cli", "kernel"]],
        max_lines: 500,
        known_large: vec![],
        table_source: table,
    };
    let text: Vec<String> = check(&c, &c.edges(), &rules)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        text,
        [
            "xtask/src/lint/rooms.rs:5: room `gone` of fx has no module: remove it from the table",
            "xtask/src/lint/rooms.rs:9: KNOWN_CYCLES lists cli, kernel for fx, which are no longer \
             exactly a circle: remove or update the entry"
        ]
    );
}

#[test]
fn an_upward_import_without_a_circle_fails_at_its_line() {
    let mut files = clean();
    files[4].1 = "pub fn run() -> String {\n    format!(\"{}\", crate::util::NAME)\n}\n";
    files[2].1 = "use crate::util::Buf;\npub mod maps;\npub struct Load(pub Buf);\n\
                  pub fn go() -> Option<crate::cli::Cmd> { None }\n";
    assert_eq!(
        lint(&files),
        [
            "fx/src/kernel/mod.rs:4: upward import: kernel (room `kernel`) uses crate::cli::Cmd \
          from cli (room `cli`, higher layer)"
        ]
    );
}

#[test]
fn rooms_sharing_a_layer_may_not_import_each_other() {
    let layers: &'static [&'static [&'static str]] = &[&["util", "kernel"], &["cli"]];
    let (_, problems) = lint_with(&clean(), &rooms(layers, false), vec![], vec![]);
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        [
            "fx/src/kernel/mod.rs:1: upward import: kernel (room `kernel`) uses crate::util::Buf \
             from util (room `util`, same layer)",
            "fx/src/kernel/maps.rs:2: upward import: kernel::maps (room `kernel`) uses \
             super::super::util::NAME from util (room `util`, same layer)"
        ]
    );
}

#[test]
fn test_code_counts_for_circles_and_layers() {
    let mut files = clean();
    files[1].1 = "pub const NAME: &str = \"x\";\npub struct Buf;\n\
                  #[cfg(test)]\nmod tests {\n    use crate::cli::run;\n}\n";
    let problems = lint(&files);
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("fx/src/util.rs:5: upward import")),
        "{problems:#?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("import circle")),
        "{problems:#?}"
    );
}

#[test]
fn a_circle_between_sibling_modules_fails_only_where_asked() {
    let files = [
        ("src/lib.rs", "pub mod util;\n"),
        ("src/util/mod.rs", "pub mod a;\npub mod b;\n"),
        ("src/util/a.rs", "pub fn a() { super::b::b(); }\n"),
        (
            "src/util/b.rs",
            "pub fn b() {}\npub fn c() { super::a::a(); }\n",
        ),
    ];
    let layers: &'static [&'static [&'static str]] = &[&["util"]];
    let (_, problems) = lint_with(&files, &rooms(layers, false), vec![], vec![]);
    assert!(problems.is_empty(), "{problems:#?}");
    let (_, problems) = lint_with(&files, &rooms(layers, true), vec![], vec![]);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(
        problems[0]
            .message
            .starts_with("import circle in fx's util: util::a -> util::b -> util::a"),
        "{}",
        problems[0]
    );
}

#[test]
fn a_room_missing_from_the_table_and_a_table_room_without_module_fail() {
    let mut files = clean();
    files[0].1 = "pub mod cli;\npub mod kernel;\npub mod util;\npub mod extra;\n";
    files.push(("src/extra.rs", ""));
    let layers: &'static [&'static [&'static str]] = &[&["util"], &["kernel"], &["cli", "gone"]];
    let (_, problems) = lint_with(&files, &rooms(layers, false), vec![], vec![]);
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(text.len(), 2, "{text:#?}");
    assert!(text[0].starts_with("fx/src/extra.rs:1: room `extra` of fx is in no layer"));
    assert!(text[1].contains("room `gone` of fx has no module"));
}

#[test]
fn a_file_no_mod_declares_and_a_mod_without_file_fail() {
    let mut files = clean();
    files.push(("src/stray.rs", "pub fn f() {}\n"));
    files[0].1 = "pub mod cli;\npub mod kernel;\npub mod util;\nmod missing;\n";
    let problems = lint(&files);
    assert!(problems.contains(&"fx/src/lib.rs:4: `mod missing;` names no file under src/".into()));
    assert!(problems
        .iter()
        .any(|p| p.starts_with("fx/src/stray.rs:1: no `mod` declaration")));
}

#[test]
fn path_attributes_inline_modules_and_test_modules_of_a_root() {
    let files = [
        (
            "src/lib.rs",
            "pub mod util;\n#[path = \"low/kern.rs\"]\npub mod kernel;\n\
             #[cfg(test)]\nmod tests {\n    use crate::kernel::k;\n}\n",
        ),
        ("src/util.rs", "pub mod inner {\n    pub fn f() {}\n}\n"),
        (
            "src/low/kern.rs",
            "pub fn k() { crate::util::inner::f(); }\n",
        ),
    ];
    let layers: &'static [&'static [&'static str]] = &[&["util"], &["kernel"]];
    let (c, problems) = lint_with(&files, &rooms(layers, false), vec![], vec![]);
    assert!(problems.is_empty(), "{problems:#?}");
    let edges: Vec<String> = c
        .edges()
        .iter()
        .map(|e| format!("{} -> {}", c.name(e.from), c.name(e.to)))
        .collect();
    assert!(
        edges.contains(&"kernel -> util::inner".to_owned()),
        "{edges:?}"
    );
    assert!(edges.contains(&"tests -> kernel".to_owned()), "{edges:?}");
    assert_eq!(
        c.room(c.modules.iter().position(|m| m.path == ["tests"]).unwrap()),
        "lib.rs"
    );
}

#[test]
fn a_binary_importing_the_library_by_its_crate_name_sits_on_top() {
    let mut files = clean();
    files.push((
        "src/main.rs",
        "use fx::cli;\nfn main() { fx::util::NAME.len(); cli::run; }\n",
    ));
    let edges = room_edges(&files);
    assert!(edges.contains(&"main.rs -> cli".into()), "{edges:?}");
    assert!(edges.contains(&"main.rs -> util".into()), "{edges:?}");
    assert_eq!(lint(&files), Vec::<String>::new());
}

/// `n` lines of code.
fn big(n: usize) -> String {
    (0..n)
        .map(|i| format!("pub const C{i}: u32 = {i};\n"))
        .collect()
}

#[test]
fn a_big_file_fails_unless_its_top_says_why() {
    let mut files = clean();
    let body = big(501);
    files[1].1 = &body;
    assert_eq!(
        lint(&files),
        [
            "fx/src/util.rs:1: 501 lines of production code (limit 500): split it, or say why at \
          its top in a `//! Size: …` line"
        ]
    );
    let reasoned = format!("//! Constants.\n//!\n//! Size: one table, generated.\n{body}");
    files[1].1 = &reasoned;
    assert_eq!(lint(&files), Vec::<String>::new());
    // `Size:` with no reason is no reason.
    let empty = format!("//! Size:\n{body}");
    files[1].1 = &empty;
    assert_eq!(lint(&files).len(), 1);
    // Exactly the limit passes.
    let at_limit = big(500);
    files[1].1 = &at_limit;
    assert_eq!(lint(&files), Vec::<String>::new());
}

#[test]
fn known_large_files_pass_until_they_shrink() {
    let mut files = clean();
    let body = big(600);
    files[1].1 = &body;
    let (_, problems) = lint_with(
        &files,
        &rooms(LAYERS, false),
        vec![],
        vec!["fx/src/util.rs"],
    );
    assert!(problems.is_empty(), "{problems:#?}");
    let (_, problems) = lint_with(
        &clean(),
        &rooms(LAYERS, false),
        vec![],
        vec!["fx/src/util.rs"],
    );
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(problems[0]
        .message
        .contains("within the limit now (2 production lines)"));
}

#[test]
fn production_lines_leave_out_comments_blanks_and_test_items() {
    let src = "\
//! Doc.
/// Item doc.
pub fn f() -> &'static str {
    // a comment

    /* a block
       comment */
    \"// not a comment
       still the string\"
}
#[cfg(test)]
mod tests {
    #[test]
    fn t() {}
}
#[test]
fn loose() {}
";
    let file = syn::parse_file(src).unwrap();
    // `pub fn f() …`, the two lines of the string, and `}`.
    assert_eq!(super::lines::production_lines(src, &file.items), 4);
}

#[test]
fn the_report_lists_rooms_layers_imports_and_circles() {
    let (c, _) = lint_with(&clean(), &rooms(LAYERS, false), vec![], vec![]);
    let rooms = rooms(LAYERS, false);
    let rules = Rules {
        rooms: &rooms,
        known_cycles: vec![],
        max_lines: 500,
        known_large: vec![],
        table_source: "",
    };
    let md = report::markdown(&c, &c.edges(), &rules);
    assert!(md.contains("| 1 | `util` | 1 | 2 |"), "{md}");
    assert!(md.contains("| 2 | `kernel` | 2 | 6 |"), "{md}");
    assert!(md.contains("| `cli` | `util` | 1 | 0 |"), "{md}");
    assert!(md.contains("Circles: none."), "{md}");
    let largest = report::largest(&[&c], 2, &["fx/src/cli.rs"]);
    assert_eq!(largest.lines().count(), 2);
    assert!(
        largest.starts_with(
            "     4  fx/src/cli.rs  (KNOWN_LARGE_FILES)\n     3  fx/src/kernel/maps.rs\n"
        ),
        "{largest}"
    );
}

/// The table on main passes on main: the lint `cargo xtask test` runs first.
#[test]
fn the_workspace_passes_its_own_table() {
    super::run(super::Options::default()).unwrap();
}
