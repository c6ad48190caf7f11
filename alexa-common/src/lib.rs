//! What the XDP classifier and the `alexa` agent share: the feature contract
//! (`docs/features.md`) as code, and the plain-old-data types that cross the
//! kernel/user boundary through maps and the ring buffer.
//!
//! The parser and the flow rules are written once, generic over a [`Frame`]
//! byte reader, so the kernel (reading an `xdp_md`) and the offline extractor
//! (reading a pcap record) run the very same decisions on every packet.
//!
//! Modules, lowest first; each imports only from modules above it in this
//! list, never from one below (`cargo xtask lint` checks it against
//! its table, `xtask/src/lint/rooms.rs`):
//!
//! 1. [`contract`]: the contract's names and numbers: [`Class`], [`Feature`],
//!    layers, protocol numbers, TCP flags.
//! 2. [`frame`]: the one way packet bytes are read ([`Frame`], [`Plain`]).
//! 3. [`flow_key`]: [`FlowKey`], a connection's 5-tuple.
//! 4. [`install`]: where an installed agent keeps its files.
//! 5. [`parse`]: which frames are classified, and what their headers say.
//! 6. [`flow`]: the per-connection rules ([`FlowState`], `advance`).
//! 7. [`features`]: a packet's [`Features`] record, from the parse and the flow.
//! 8. [`tree`]: the compiled decision tree and its walk.
//! 9. [`policy`]: [`Action`], [`Mode`], the quarantine rule and `decide`.
//! 10. [`maps`]: the program's map names and capacities, `Config`, counters.
//! 11. [`event`]: what the kernel sends the agent ([`Event`]).
//! 12. `pod` (user space only): `aya::Pod` for all of the above.
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
