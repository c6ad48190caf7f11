//! What one module's items say about its dependencies: the names it
//! defines, its `use` entries (for following re-exports) and every path it
//! names — in `use` items, in code and types (through `syn::visit`), and in
//! macro arguments, which syn leaves as tokens.

use proc_macro2::{Spacing, TokenStream, TokenTree};
use syn::{visit::Visit, Attribute, Item, UseTree};

/// A path as written, with where it is.
#[derive(Clone, Debug)]
pub struct Ref {
    pub segs: Vec<String>,
    pub line: usize,
    /// Inside `#[cfg(test)]` code.
    pub test: bool,
}

/// One name a module-level `use` brings in (`None` for a glob), and from where.
#[derive(Clone, Debug)]
pub struct UseEntry {
    pub name: Option<String>,
    pub segs: Vec<String>,
}

/// `#[cfg(test)]`, `#[cfg(all(test, …))]` or `#[test]`: code only tests build.
pub fn is_test(attrs: &[Attribute]) -> bool {
    attrs.iter().any(|a| {
        if a.path().is_ident("test") {
            return true;
        }
        if !a.path().is_ident("cfg") {
            return false;
        }
        let Ok(list) = a.meta.require_list() else {
            return false;
        };
        let mut toks = list.tokens.clone().into_iter();
        match toks.next() {
            Some(TokenTree::Ident(i)) if i == "test" => toks.next().is_none(),
            Some(TokenTree::Ident(i)) if i == "all" => match toks.next() {
                Some(TokenTree::Group(g)) => g
                    .stream()
                    .into_iter()
                    .any(|t| matches!(t, TokenTree::Ident(ref i) if i == "test")),
                _ => false,
            },
            _ => false,
        }
    })
}

/// The name an item defines in its module's namespace, if any.
pub fn item_name(item: &Item) -> Option<String> {
    let ident = match item {
        Item::Const(i) => &i.ident,
        Item::Enum(i) => &i.ident,
        Item::ExternCrate(i) => i.rename.as_ref().map_or(&i.ident, |(_, r)| r),
        Item::Fn(i) => &i.sig.ident,
        Item::Macro(i) => i.ident.as_ref()?,
        Item::Mod(i) => &i.ident,
        Item::Static(i) => &i.ident,
        Item::Struct(i) => &i.ident,
        Item::Trait(i) => &i.ident,
        Item::TraitAlias(i) => &i.ident,
        Item::Type(i) => &i.ident,
        Item::Union(i) => &i.ident,
        _ => return None,
    };
    Some(ident.to_string())
}

/// Flattens a `use` tree: `use a::{b as c, d::*}` gives (c, a::b) and (*, a::d),
/// each with the line of its last segment.
pub fn flatten_use(tree: &UseTree, prefix: &mut Vec<String>, out: &mut Vec<(UseEntry, usize)>) {
    match tree {
        UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            flatten_use(&p.tree, prefix, out);
            prefix.pop();
        }
        UseTree::Name(n) => {
            let line = n.ident.span().start().line;
            if n.ident == "self" {
                out.push((
                    UseEntry {
                        name: prefix.last().cloned(),
                        segs: prefix.clone(),
                    },
                    line,
                ));
            } else {
                let mut segs = prefix.clone();
                segs.push(n.ident.to_string());
                out.push((
                    UseEntry {
                        name: Some(n.ident.to_string()),
                        segs,
                    },
                    line,
                ));
            }
        }
        UseTree::Rename(r) => {
            let mut segs = prefix.clone();
            if r.ident != "self" {
                segs.push(r.ident.to_string());
            }
            out.push((
                UseEntry {
                    name: Some(r.rename.to_string()),
                    segs,
                },
                r.ident.span().start().line,
            ));
        }
        UseTree::Glob(g) => out.push((
            UseEntry {
                name: None,
                segs: prefix.clone(),
            },
            g.star_token.spans[0].start().line,
        )),
        UseTree::Group(g) => {
            for t in &g.items {
                flatten_use(t, prefix, out);
            }
        }
    }
}

/// Collects the paths named inside one item (not in nested modules: those
/// are modules of their own).
pub struct PathVisitor<'a> {
    pub refs: &'a mut Vec<Ref>,
    pub test: bool,
}

impl PathVisitor<'_> {
    fn push(&mut self, segs: Vec<String>, line: usize) {
        self.refs.push(Ref {
            segs,
            line,
            test: self.test,
        });
    }

    /// `a::b::c` sequences in a macro's tokens (`format!("{}", crate::x::y())`).
    fn scan_tokens(&mut self, tokens: TokenStream) {
        let toks: Vec<TokenTree> = tokens.into_iter().collect();
        let is_colon = |t: Option<&TokenTree>, spacing: Spacing| matches!(t, Some(TokenTree::Punct(p)) if p.as_char() == ':' && p.spacing() == spacing);
        let mut i = 0;
        while i < toks.len() {
            match &toks[i] {
                TokenTree::Group(g) => {
                    self.scan_tokens(g.stream());
                    i += 1;
                }
                TokenTree::Ident(first)
                    if !(i > 0 && is_colon(toks.get(i - 1), Spacing::Alone)) =>
                {
                    let line = first.span().start().line;
                    let mut segs = vec![first.to_string()];
                    let mut j = i + 1;
                    while is_colon(toks.get(j), Spacing::Joint)
                        && is_colon(toks.get(j + 1), Spacing::Alone)
                    {
                        match toks.get(j + 2) {
                            Some(TokenTree::Ident(next)) => {
                                segs.push(next.to_string());
                                j += 3;
                            }
                            _ => break,
                        }
                    }
                    if segs.len() > 1 {
                        self.push(segs, line);
                    }
                    i = j.max(i + 1);
                }
                _ => i += 1,
            }
        }
    }
}

impl<'ast> Visit<'ast> for PathVisitor<'_> {
    fn visit_path(&mut self, p: &'ast syn::Path) {
        if p.leading_colon.is_none() && p.segments.len() > 1 {
            let line = p.segments[0].ident.span().start().line;
            self.push(
                p.segments.iter().map(|s| s.ident.to_string()).collect(),
                line,
            );
        }
        syn::visit::visit_path(self, p);
    }

    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        if u.leading_colon.is_some() {
            return;
        }
        let mut out = Vec::new();
        flatten_use(&u.tree, &mut Vec::new(), &mut out);
        for (entry, line) in out {
            self.push(entry.segs, line);
        }
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        self.visit_path(&m.path);
        self.scan_tokens(m.tokens.clone());
    }

    fn visit_item_mod(&mut self, _: &'ast syn::ItemMod) {
        // A module inside a function body: rare, and not a room's module.
    }

    fn visit_attribute(&mut self, _: &'ast Attribute) {
        // Doc comments and cfgs name no module of ours.
    }
}
