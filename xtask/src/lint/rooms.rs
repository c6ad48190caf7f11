//! The rooms `cargo xtask lint` holds each crate to: data, not code.
//!
//! A room is a crate's top-level module (`agent` for `src/agent/…`). Each
//! crate lists its rooms in layers, lowest first; a module may import only
//! from its own room or from a lower layer. Rooms sharing a layer (one inner
//! list) may not import each other. The roots (`lib.rs`, `main.rs`) sit above
//! every layer.
//!
//! To add a room: put its name in the layer it belongs to. A module in a room
//! no layer names is an error, and so is a name here with no module, so the
//! table stays the crate's true map. To add a crate: a new `CrateRooms`
//! entry. `cargo xtask lint --report` prints the resulting graph, and
//! `--strict` what the two temporary allow-lists below still hide.

pub struct CrateRooms {
    /// The package's directory under the workspace root.
    pub dir: &'static str,
    /// The library's crate name, as the package's binaries import it.
    pub lib_name: &'static str,
    /// Rooms, lowest layer first.
    pub layers: &'static [&'static [&'static str]],
    /// Also no circle between sibling modules at any depth (`a::x` ↔ `a::y`),
    /// not only between rooms.
    pub nested_cycles: bool,
}

/// Above this many production lines (code, less comments, blank lines and
/// `#[cfg(test)]` items) a file must say why at its top: `//! Size: …`.
pub const MAX_PRODUCTION_LINES: usize = 500;

pub const CRATES: &[CrateRooms] = &[
    CrateRooms {
        dir: "alexa-common",
        lib_name: "alexa_common",
        layers: &[
            &["contract", "frame", "flow_key", "install"],
            &["parse", "policy"],
            &["flow", "maps"],
            &["features"],
            &["tree", "event"],
            &["pod"],
        ],
        nested_cycles: true,
    },
    CrateRooms {
        dir: "alexa-user",
        lib_name: "alexa",
        layers: &[
            &["util"],
            &["offline"],
            &["kernel"],
            &["control"],
            &["agent"],
            &["client"],
            &["cli"],
        ],
        nested_cycles: true,
    },
    CrateRooms {
        dir: "alexa-lab",
        lib_name: "alexa_lab",
        layers: &[
            &["files", "netns", "real", "parity"],
            &["wire", "agent", "testbed", "corpus"],
            &["replay", "synth", "traffic", "blast"],
            &["trees"],
            &["session"],
            // The demo binary's modules (src/bin/demo/) sit above the lib.
            &["bench", "config"],
            &["view", "report"],
        ],
        nested_cycles: true,
    },
];

/// Import circles allowed for now: empty since issue 15's restructure, and
/// an entry is a debt its author names in a closing note. Each entry is one
/// crate's set of rooms (or, with `nested_cycles`, of sibling module paths)
/// that import each other; a circle with any other members fails, and so
/// does an entry whose circle is gone, so the list only shrinks.
pub const KNOWN_CYCLES: &[(&str, &[&str])] = &[];

/// Files over `MAX_PRODUCTION_LINES` without a `//! Size:` reason, allowed
/// for now: empty since issue 15's restructure, and like `KNOWN_CYCLES` a
/// debt when not. A listed file back under the limit fails, so the list
/// only shrinks.
pub const KNOWN_LARGE_FILES: &[&str] = &[];
