//! A crate's module tree, read the way rustc finds it: from each target's
//! root (`src/lib.rs`, `src/main.rs`, `src/bin/*.rs`) through its `mod`
//! declarations (`a/b.rs` or `a/b/mod.rs`, `#[path]`, inline modules), so a
//! file no `mod` declares is noticed rather than guessed at.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

use syn::Item;

use super::{
    collect::{flatten_use, is_test, item_name, PathVisitor, Ref, UseEntry},
    lines::{item_attrs, production_lines, size_reason},
    Problem,
};

/// A crate's `.rs` files under `src/`, by path relative to the crate.
pub type Sources = BTreeMap<PathBuf, String>;

#[derive(Debug)]
pub struct Module {
    pub target: usize,
    /// Empty for a target's root.
    pub path: Vec<String>,
    /// The file holding its items (an inline module's enclosing file).
    pub file: PathBuf,
    /// Declared under `#[cfg(test)]` (itself or an ancestor).
    pub test: bool,
    pub children: BTreeMap<String, usize>,
    pub items: BTreeSet<String>,
    pub uses: Vec<UseEntry>,
    pub refs: Vec<Ref>,
}

#[derive(Debug)]
pub struct Target {
    /// The root's room: `lib.rs`, `main.rs`, `bin/NAME.rs`; above every room.
    pub room: String,
    pub root: usize,
    pub is_lib: bool,
}

#[derive(Debug)]
pub struct SourceFile {
    /// Relative to the workspace root (`alexa-user/src/top.rs`).
    pub path: PathBuf,
    pub module: usize,
    pub production_lines: usize,
    pub size_reason: Option<String>,
}

#[derive(Debug)]
pub struct Crate {
    /// The package's directory, as the table names it.
    pub dir: String,
    pub lib_name: String,
    pub targets: Vec<Target>,
    pub modules: Vec<Module>,
    pub files: Vec<SourceFile>,
    pub problems: Vec<Problem>,
}

impl Crate {
    pub fn build(dir: &str, lib_name: &str, sources: &Sources) -> Crate {
        let mut c = Crate {
            dir: dir.to_owned(),
            lib_name: lib_name.to_owned(),
            targets: Vec::new(),
            modules: Vec::new(),
            files: Vec::new(),
            problems: Vec::new(),
        };
        let mut loaded = BTreeSet::new();
        let mut roots: Vec<(PathBuf, String, bool)> = Vec::new();
        for (rel, room, is_lib) in [
            ("src/lib.rs", "lib.rs", true),
            ("src/main.rs", "main.rs", false),
        ] {
            if sources.contains_key(Path::new(rel)) {
                roots.push((rel.into(), room.into(), is_lib));
            }
        }
        for rel in sources.keys() {
            let Ok(under) = rel.strip_prefix("src/bin") else {
                continue;
            };
            let parts: Vec<_> = under.components().collect();
            let single = parts.len() == 1;
            let nested_main = parts.len() == 2 && rel.file_name() == Some("main.rs".as_ref());
            if single || nested_main {
                roots.push((rel.clone(), format!("bin/{}", under.display()), false));
            }
        }
        for (rel, room, is_lib) in roots {
            let target = c.targets.len();
            let root = c.new_module(target, Vec::new(), &rel, false);
            c.targets.push(Target { room, root, is_lib });
            c.load_file(sources, &rel, root, true, &mut loaded);
        }
        for rel in sources.keys() {
            if !loaded.contains(rel) {
                c.problem(
                    rel,
                    1,
                    "no `mod` declaration reaches this file from the crate's roots: declare it or delete it"
                        .into(),
                );
            }
        }
        c
    }

    fn problem(&mut self, rel: &Path, line: usize, message: String) {
        self.problems.push(Problem {
            file: Path::new(&self.dir).join(rel),
            line,
            message,
        });
    }

    fn new_module(&mut self, target: usize, path: Vec<String>, rel: &Path, test: bool) -> usize {
        self.modules.push(Module {
            target,
            path,
            file: Path::new(&self.dir).join(rel),
            test,
            children: BTreeMap::new(),
            items: BTreeSet::new(),
            uses: Vec::new(),
            refs: Vec::new(),
        });
        self.modules.len() - 1
    }

    /// Parses `rel` as the body of `module`. A `mod.rs`-like file (a root,
    /// `mod.rs`, a `#[path]` target) keeps its children beside it; `a/b.rs`
    /// keeps them in `a/b/`.
    fn load_file(
        &mut self,
        sources: &Sources,
        rel: &Path,
        module: usize,
        mod_rs: bool,
        loaded: &mut BTreeSet<PathBuf>,
    ) {
        if !loaded.insert(rel.to_owned()) {
            return;
        }
        let src = &sources[rel];
        let file = match syn::parse_file(src) {
            Ok(f) => f,
            Err(e) => {
                let line = e.span().start().line;
                self.problem(rel, line, format!("cannot parse: {e}"));
                return;
            }
        };
        let test = self.modules[module].test;
        self.files.push(SourceFile {
            path: Path::new(&self.dir).join(rel),
            module,
            production_lines: if test {
                0
            } else {
                production_lines(src, &file.items)
            },
            size_reason: size_reason(&file.attrs),
        });
        let file_dir = rel.parent().unwrap_or(Path::new("")).to_owned();
        let child_dir = if mod_rs {
            file_dir.clone()
        } else {
            file_dir.join(rel.file_stem().unwrap_or_default())
        };
        self.walk(
            sources,
            &file.items,
            module,
            rel,
            &file_dir,
            &child_dir,
            loaded,
        );
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "the walk's position: module, file, and the two directories `mod` resolves against"
    )]
    fn walk(
        &mut self,
        sources: &Sources,
        items: &[Item],
        module: usize,
        rel: &Path,
        path_base: &Path,
        child_dir: &Path,
        loaded: &mut BTreeSet<PathBuf>,
    ) {
        for item in items {
            if let Some(name) = item_name(item) {
                self.modules[module].items.insert(name);
            }
            let test = self.modules[module].test || is_test(item_attrs(item));
            match item {
                Item::Use(u) if u.leading_colon.is_none() => {
                    let mut out = Vec::new();
                    flatten_use(&u.tree, &mut Vec::new(), &mut out);
                    for (entry, line) in out {
                        self.modules[module].refs.push(Ref {
                            segs: entry.segs.clone(),
                            line,
                            test,
                        });
                        self.modules[module].uses.push(entry);
                    }
                }
                Item::Mod(m) => {
                    let name = m.ident.to_string();
                    let mut path = self.modules[module].path.clone();
                    path.push(name.clone());
                    let target = self.modules[module].target;
                    let child = self.new_module(target, path, rel, test);
                    self.modules[module].children.insert(name.clone(), child);
                    let path_attr = path_attr(&m.attrs);
                    let line = m.ident.span().start().line;
                    match &m.content {
                        Some((_, inner)) => {
                            let dir = child_dir.join(path_attr.as_deref().unwrap_or(&name));
                            self.walk(sources, inner, child, rel, &dir, &dir, loaded);
                        }
                        None => {
                            let found = match &path_attr {
                                Some(p) => Some((normalize(&path_base.join(p)), true)),
                                None => [
                                    (child_dir.join(format!("{name}.rs")), false),
                                    (child_dir.join(&name).join("mod.rs"), true),
                                ]
                                .into_iter()
                                .find(|(p, _)| sources.contains_key(p)),
                            };
                            match found {
                                Some((p, mod_rs)) if sources.contains_key(&p) => {
                                    self.modules[child].file = Path::new(&self.dir).join(&p);
                                    self.load_file(sources, &p, child, mod_rs, loaded);
                                }
                                _ => self.problem(
                                    rel,
                                    line,
                                    format!("`mod {name};` names no file under src/"),
                                ),
                            }
                        }
                    }
                }
                _ => {
                    let mut refs = std::mem::take(&mut self.modules[module].refs);
                    syn::visit::Visit::visit_item(
                        &mut PathVisitor {
                            refs: &mut refs,
                            test,
                        },
                        item,
                    );
                    self.modules[module].refs = refs;
                }
            }
        }
    }
}

/// `a/b/../c` as `a/c`, without touching the disk (the sources are a map).
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}

fn path_attr(attrs: &[syn::Attribute]) -> Option<String> {
    attrs.iter().find_map(|a| match &a.meta {
        syn::Meta::NameValue(nv) if nv.path.is_ident("path") => match &nv.value {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) => Some(s.value()),
            _ => None,
        },
        _ => None,
    })
}

/// Every `.rs` file under `crate_dir/src`, keyed relative to `crate_dir`.
pub fn read_sources(crate_dir: &Path) -> std::io::Result<Sources> {
    fn walk(base: &Path, dir: &Path, out: &mut Sources) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.is_dir() {
                walk(base, &path, out)?;
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(base).unwrap_or(&path).to_owned();
                out.insert(rel, std::fs::read_to_string(&path)?);
            }
        }
        Ok(())
    }
    let mut out = Sources::new();
    walk(crate_dir, &crate_dir.join("src"), &mut out)?;
    Ok(out)
}
