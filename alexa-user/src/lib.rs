//! The `alexa` agent and offline tools, as a library for the binary and the tests.
//!
//! Without the `lab` feature (a gateway build) the modules only the offline
//! and lab tools use are left out; docs/deploy.md, "Release artefacts".

pub mod agent;
pub mod build_info;
pub mod capture;
pub mod classifier;
#[cfg(feature = "lab")]
pub mod compare;
pub mod dataset;
pub mod device;
pub mod extract;
pub mod labelling;
pub mod labels;
pub mod model;
pub mod output;
#[cfg(feature = "lab")]
pub mod prepare;
pub mod progress;
pub mod record;
#[cfg(feature = "lab")]
pub mod replay;
#[cfg(feature = "lab")]
pub mod report;
#[cfg(feature = "lab")]
pub mod simulate;
pub mod status;
pub mod text;
pub mod top;
