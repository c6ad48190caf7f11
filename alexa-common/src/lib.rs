//! What the XDP classifier and the `alexa` agent share: the feature contract
//! (`docs/features.md`) as code, and the plain-old-data types that cross the
//! kernel/user boundary through maps and the ring buffer.
//!
//! The parser and the flow rules are written once, generic over a [`Frame`]
//! byte reader, so the kernel (reading an `xdp_md`) and the offline extractor
//! (reading a pcap record) run the very same decisions on every packet.
#![no_std]

pub mod contract;
pub mod event;
pub mod flow;
pub mod frame;
pub mod parse;
pub mod policy;
pub mod tree;

pub use contract::*;
pub use event::*;
pub use flow::{advance, FlowKey, FlowState, FlowStep};
pub use frame::{Frame, Plain};
pub use parse::{parse, Packet, Payload, Verdict};
pub use policy::{action, flag, mode, Quarantine, QuarantineRule};
pub use tree::{Node, TREE_CAPACITY, TREE_MAX_DEPTH};
