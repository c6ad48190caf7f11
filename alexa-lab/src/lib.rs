//! The lab: what the integration tests, the bench and the demo share.
//! Network namespaces and veths created and removed by the caller, the real
//! `alexa` binary run as an agent, traffic and raw frames onto links, the
//! kernel objects loaded for measuring, the fixture corpus maker, and the
//! reference XDP programs' own object ([`files::LAB_OBJECT`]). The gateway binary
//! never depends on this crate.

pub mod agent;
pub mod bench;
pub mod blast;
pub mod corpus;
pub mod files;
pub mod netns;
pub mod parity;
pub mod real;
pub mod replay;
pub mod session;
pub mod synth;
pub mod testbed;
pub mod traffic;
pub mod trees;
pub mod wire;
