//! The `alexa` agent and offline tools, as a library for the binary, the lab
//! crate and the tests.
//!
//! Rooms, lowest first; each imports only from its own room and lower ones
//! (`cargo xtask lint` checks it):
//! - [`util`]: atomic files, progress, one-line text, addresses, build info.
//! - [`offline`]: captures, rows, labels, datasets, the model.
//! - [`kernel`]: the XDP program as user space holds it: load, attach,
//!   pins, maps, events.
//! - [`control`]: the control socket's protocol and its client.
//! - [`agent`]: `alexa run`.
//! - [`client`]: `alexa status` and `alexa top`.
//! - [`cli`]: the command line, one small `run` per command.
//!
//! Without the `lab` feature (a gateway build) the modules only the offline
//! and lab tools use are left out; docs/deploy.md, "Release artefacts".

pub mod agent;
pub mod cli;
pub mod client;
pub mod control;
pub mod kernel;
pub mod offline;
pub mod util;
