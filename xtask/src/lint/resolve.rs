//! From paths as written to the module that defines what they name:
//! `crate::`, `super::`, `self::`, a child module's name, or (from a
//! binary) the library's crate name; through `use` re-exports and globs, so
//! `crate::FlowKey` re-exported by the root counts against `flow`, where it
//! lives. Names that come from other crates or are not found resolve to
//! nothing or to the deepest module the path reaches.

use std::path::PathBuf;

use super::tree::Crate;

/// One module naming another.
#[derive(Clone, Debug)]
pub struct Edge {
    pub from: usize,
    pub to: usize,
    pub file: PathBuf,
    pub line: usize,
    /// Inside `#[cfg(test)]` code.
    pub test: bool,
    /// The path as written.
    pub what: String,
}

/// How deep re-exports are followed (a `use` cycle stops here).
const MAX_REEXPORTS: usize = 8;

impl Crate {
    pub fn edges(&self) -> Vec<Edge> {
        let mut out = Vec::new();
        for (from, m) in self.modules.iter().enumerate() {
            for r in &m.refs {
                let Some(to) = self.resolve(from, &r.segs) else {
                    continue;
                };
                if to != from {
                    out.push(Edge {
                        from,
                        to,
                        file: m.file.clone(),
                        line: r.line,
                        test: r.test,
                        what: r.segs.join("::"),
                    });
                }
            }
        }
        out
    }

    pub fn resolve(&self, from: usize, segs: &[String]) -> Option<usize> {
        let (target, abs) = self.absolute(from, segs)?;
        self.find(target, &abs, 0)
            .or_else(|| Some(self.deepest(target, &abs)))
    }

    /// `segs` written in module `from`, as (target, path from its root);
    /// `None` for anything not of this crate.
    fn absolute(&self, from: usize, segs: &[String]) -> Option<(usize, Vec<String>)> {
        let m = &self.modules[from];
        let first = segs.first()?.as_str();
        let mut path = m.path.clone();
        let rest = match first {
            "crate" => {
                path.clear();
                &segs[1..]
            }
            "self" => &segs[1..],
            "super" => {
                let ups = segs.iter().take_while(|s| *s == "super").count();
                for _ in 0..ups {
                    path.pop()?;
                }
                &segs[ups..]
            }
            _ if m.children.contains_key(first) => segs,
            _ if first == self.lib_name && !self.targets[m.target].is_lib => {
                let lib = self.targets.iter().position(|t| t.is_lib)?;
                return Some((lib, segs[1..].to_vec()));
            }
            _ => return None,
        };
        path.extend(rest.iter().cloned());
        Some((m.target, path))
    }

    /// The module defining `abs`'s first non-module segment, or `None` if
    /// no module of the crate has it.
    fn find(&self, target: usize, abs: &[String], depth: usize) -> Option<usize> {
        if depth > MAX_REEXPORTS {
            return None;
        }
        let mut m = self.targets[target].root;
        let mut i = 0;
        while let Some(&c) = abs.get(i).and_then(|s| self.modules[m].children.get(s)) {
            m = c;
            i += 1;
        }
        let Some(name) = abs.get(i) else {
            return Some(m);
        };
        let module = &self.modules[m];
        if module.items.contains(name) {
            return Some(m);
        }
        for u in module.uses.iter().filter(|u| u.name.as_ref() == Some(name)) {
            let Some((t, mut a)) = self.absolute(m, &u.segs) else {
                // From another crate, brought in here.
                return Some(m);
            };
            a.extend(abs[i + 1..].iter().cloned());
            if let Some(d) = self.find(t, &a, depth + 1) {
                return Some(d);
            }
        }
        for u in module.uses.iter().filter(|u| u.name.is_none()) {
            if let Some((t, mut a)) = self.absolute(m, &u.segs) {
                a.extend(abs[i..].iter().cloned());
                if let Some(d) = self.find(t, &a, depth + 1) {
                    return Some(d);
                }
            }
        }
        None
    }

    fn deepest(&self, target: usize, abs: &[String]) -> usize {
        let mut m = self.targets[target].root;
        for s in abs {
            match self.modules[m].children.get(s) {
                Some(&c) => m = c,
                None => break,
            }
        }
        m
    }

    /// A module's room: its top-level module, or its target's root (for
    /// the root itself and for a root's `#[cfg(test)] mod tests`).
    pub fn room(&self, m: usize) -> &str {
        let module = &self.modules[m];
        let target = &self.targets[module.target];
        match module.path.first() {
            Some(r) if !self.modules[self.modules[target.root].children[r]].test => r,
            _ => &target.room,
        }
    }

    pub fn name(&self, m: usize) -> String {
        let module = &self.modules[m];
        if module.path.is_empty() {
            self.targets[module.target].room.clone()
        } else {
            module.path.join("::")
        }
    }
}
