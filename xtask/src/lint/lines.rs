//! Production lines of a file: lines holding a token of code, less
//! comments, doc comments, blank lines and `#[cfg(test)]` / `#[test]` items.
//! Counted from the token stream, so a `//` inside a string is code and a
//! commented-out line is not.

use std::collections::BTreeSet;

use proc_macro2::{Delimiter, TokenStream, TokenTree};
use syn::{spanned::Spanned, Item};

use super::collect::is_test;

/// How many production lines `src` has; `items` is its parsed form.
pub fn production_lines(src: &str, items: &[Item]) -> usize {
    let Ok(tokens) = src.parse::<TokenStream>() else {
        return 0;
    };
    let mut code = BTreeSet::new();
    code_lines(tokens, &mut code);
    let mut test = BTreeSet::new();
    test_lines(items, &mut test);
    code.difference(&test).count()
}

fn mark(code: &mut BTreeSet<usize>, span: proc_macro2::Span) {
    code.extend(span.start().line..=span.end().line);
}

fn code_lines(tokens: TokenStream, code: &mut BTreeSet<usize>) {
    let toks: Vec<TokenTree> = tokens.into_iter().collect();
    let mut i = 0;
    while i < toks.len() {
        if let Some(len) = doc_comment_len(&toks[i..]) {
            i += len;
            continue;
        }
        match &toks[i] {
            TokenTree::Group(g) => {
                if g.delimiter() != Delimiter::None {
                    mark(code, g.span_open());
                    mark(code, g.span_close());
                }
                code_lines(g.stream(), code);
            }
            t => mark(code, t.span()),
        }
        i += 1;
    }
}

/// The lexer turns `/// text` into `# [doc = "text"]` (and `//!` into
/// `# ! [...]`): that many tokens, to skip.
fn doc_comment_len(toks: &[TokenTree]) -> Option<usize> {
    let TokenTree::Punct(p) = toks.first()? else {
        return None;
    };
    if p.as_char() != '#' {
        return None;
    }
    let mut at = 1;
    if matches!(toks.get(1), Some(TokenTree::Punct(b)) if b.as_char() == '!') {
        at = 2;
    }
    let TokenTree::Group(g) = toks.get(at)? else {
        return None;
    };
    let inner: Vec<TokenTree> = g.stream().into_iter().collect();
    let is_doc = g.delimiter() == Delimiter::Bracket
        && matches!(inner.first(), Some(TokenTree::Ident(i)) if i == "doc")
        && matches!(inner.get(1), Some(TokenTree::Punct(p)) if p.as_char() == '=')
        && inner.len() == 3;
    is_doc.then_some(at + 1)
}

/// Lines of test-only items, attributes included; into inline modules.
fn test_lines(items: &[Item], test: &mut BTreeSet<usize>) {
    for item in items {
        let attrs = item_attrs(item);
        if is_test(attrs) {
            let start = attrs
                .iter()
                .map(|a| a.span().start().line)
                .chain([item.span().start().line])
                .min()
                .unwrap_or(0);
            test.extend(start..=item.span().end().line);
        } else if let Item::Mod(m) = item {
            if let Some((_, inner)) = &m.content {
                test_lines(inner, test);
            }
        } else if let Item::Impl(i) = item {
            for it in &i.items {
                if let syn::ImplItem::Fn(f) = it {
                    if is_test(&f.attrs) {
                        test.extend(f.span().start().line..=f.span().end().line);
                    }
                }
            }
        }
    }
}

pub fn item_attrs(item: &Item) -> &[syn::Attribute] {
    match item {
        Item::Const(i) => &i.attrs,
        Item::Enum(i) => &i.attrs,
        Item::ExternCrate(i) => &i.attrs,
        Item::Fn(i) => &i.attrs,
        Item::ForeignMod(i) => &i.attrs,
        Item::Impl(i) => &i.attrs,
        Item::Macro(i) => &i.attrs,
        Item::Mod(i) => &i.attrs,
        Item::Static(i) => &i.attrs,
        Item::Struct(i) => &i.attrs,
        Item::Trait(i) => &i.attrs,
        Item::TraitAlias(i) => &i.attrs,
        Item::Type(i) => &i.attrs,
        Item::Union(i) => &i.attrs,
        Item::Use(i) => &i.attrs,
        _ => &[],
    }
}

/// The reason after `Size:` in the file's top doc comment (`//! Size: …`).
pub fn size_reason(attrs: &[syn::Attribute]) -> Option<String> {
    attrs
        .iter()
        .filter(|a| matches!(a.style, syn::AttrStyle::Inner(_)) && a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) => Some(s.value()),
                _ => None,
            },
            _ => None,
        })
        .flat_map(|doc| doc.lines().map(str::to_owned).collect::<Vec<_>>())
        .find_map(|line| {
            let reason = line.trim().strip_prefix("Size:")?.trim().to_owned();
            (!reason.is_empty()).then_some(reason)
        })
}
