//! What the XDP classifier and the `alexa` agent share: the feature contract
//! (`docs/features.md`) as code, and the plain-old-data types that cross the
//! kernel/user boundary through maps and the ring buffer.
//!
//! The parser and the flow rules are written once, generic over a [`Frame`]
//! byte reader, so the kernel (reading an `xdp_md`) and the offline extractor
//! (reading a pcap record) run the very same decisions on every packet.
//!
//! Modules, lowest first; each imports only from modules above it in this
//! list, never from one below (the `layering` test checks it):
//!
//! 1. [`contract`]: the contract's names and numbers: [`Class`], [`Feature`],
//!    layers, protocol numbers, TCP flags.
//! 2. [`frame`]: the one way packet bytes are read ([`Frame`], [`Plain`]).
//! 3. [`flow_key`]: [`FlowKey`], a connection's 5-tuple.
//! 4. [`parse`]: which frames are classified, and what their headers say.
//! 5. [`flow`]: the per-connection rules ([`FlowState`], `advance`).
//! 6. [`features`]: a packet's [`Features`] record, from the parse and the flow.
//! 7. [`tree`]: the compiled decision tree and its walk.
//! 8. [`policy`]: [`Action`], [`Mode`], the quarantine rule and `decide`.
//! 9. [`maps`]: the program's map names and capacities, `Config`, counters.
//! 10. [`event`]: what the kernel sends the agent ([`Event`]).
//! 11. `pod` (user space only): `aya::Pod` for all of the above.
#![no_std]

pub mod contract;
pub mod event;
pub mod features;
pub mod flow;
pub mod flow_key;
pub mod frame;
pub mod install;
pub mod maps;
pub mod parse;
#[cfg(feature = "user")]
mod pod;
pub mod policy;
pub mod tree;

// The vocabulary every caller uses; anything else is imported from the
// module that owns it.
pub use contract::*;
pub use event::{Event, EventHead};
pub use features::Features;
pub use flow::FlowState;
pub use flow_key::FlowKey;
pub use frame::{Frame, Plain};
pub use parse::{parse, Packet, Verdict};
pub use policy::{Action, Mode};
pub use tree::Node;

#[cfg(test)]
mod layering {
    extern crate std;
    use std::{format, vec::Vec};

    /// The modules, lowest first, as the crate doc lists them.
    const LAYERS: [(&str, &str); 11] = [
        ("contract", include_str!("contract.rs")),
        ("frame", include_str!("frame.rs")),
        ("flow_key", include_str!("flow_key.rs")),
        ("parse", include_str!("parse.rs")),
        ("flow", include_str!("flow.rs")),
        ("features", include_str!("features.rs")),
        ("tree", include_str!("tree.rs")),
        ("policy", include_str!("policy.rs")),
        ("maps", include_str!("maps.rs")),
        ("event", include_str!("event.rs")),
        ("pod", include_str!("pod.rs")),
    ];

    /// Modules named after `crate::` in `src` outside its tests (a `use
    /// crate::{a::X, b::Y}` group included), doc comments aside.
    fn uses(src: &str) -> Vec<&str> {
        let code = src.split("#[cfg(test)]").next().unwrap_or(src);
        let mut out = Vec::new();
        for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for (i, _) in line.match_indices("crate::") {
                let rest = &line[i + "crate::".len()..];
                let name: &str = rest
                    .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .next()
                    .unwrap();
                if !name.is_empty() {
                    out.push(name);
                }
            }
        }
        // `use crate::{` groups: the first name of each item at the top
        // level of the braces (`a::{X, Y}` is `a`).
        let mut rest = code;
        while let Some(at) = rest.find("use crate::{") {
            rest = &rest[at + "use crate::{".len()..];
            let mut depth = 0;
            let mut item_start = 0;
            for (i, c) in rest.char_indices() {
                let end_of_item = match c {
                    '{' => {
                        depth += 1;
                        false
                    }
                    '}' if depth > 0 => {
                        depth -= 1;
                        false
                    }
                    '}' => true,
                    ',' => depth == 0,
                    _ => false,
                };
                if end_of_item {
                    let item = rest[item_start..i].trim();
                    let name = item.split("::").next().unwrap_or("").trim();
                    if !name.is_empty() {
                        out.push(name);
                    }
                    item_start = i + 1;
                }
                if c == '}' && depth == 0 && end_of_item {
                    rest = &rest[i..];
                    break;
                }
            }
        }
        out
    }

    #[test]
    fn modules_import_only_from_lower_layers() {
        let level = |m: &str| LAYERS.iter().position(|(n, _)| *n == m);
        let mut wrong = Vec::new();
        for (i, (name, src)) in LAYERS.iter().enumerate() {
            for used in uses(src) {
                match level(used) {
                    Some(j) if j < i => {}
                    Some(j) if j == i => {}
                    Some(_) => wrong.push(format!("{name} imports {used}, a higher layer")),
                    None => wrong.push(format!("{name} imports {used}, which is no listed module")),
                }
            }
        }
        assert!(wrong.is_empty(), "{wrong:?}");
    }

    #[test]
    fn the_check_sees_an_upward_import() {
        let upward =
            "use crate::{\n    contract::Class,\n    event::{Event, EventHead},\n    maps\n};\n";
        assert_eq!(uses(upward), ["contract", "event", "maps"]);
        assert_eq!(uses("fn f() -> crate::maps::Config {}"), ["maps"]);
    }
}
