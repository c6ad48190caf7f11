//! `aya::Pod` for every type user space reads from or writes to a map or
//! the ring buffer (the `user` feature): one place to check when a layout
//! changes.

use crate::{
    event::{Event, EventHead},
    features::Features,
    flow::FlowState,
    flow_key::FlowKey,
    maps::{ClassStat, Config},
    policy::Quarantine,
    tree::Node,
};

// SAFETY: all are #[repr(C)], made of integers and byte arrays, with every
// padding byte spelled out (the layout tests check their sizes), so any bit
// pattern is a valid value.
unsafe impl aya::Pod for Features {}
unsafe impl aya::Pod for Event {}
unsafe impl aya::Pod for EventHead {}
unsafe impl aya::Pod for Config {}
unsafe impl aya::Pod for ClassStat {}
unsafe impl aya::Pod for FlowKey {}
unsafe impl aya::Pod for FlowState {}
unsafe impl aya::Pod for Quarantine {}
unsafe impl aya::Pod for Node {}
