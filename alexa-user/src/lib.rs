//! The `alexa` agent and offline tools, as a library for the binary and the tests.

pub mod agent;
pub mod capture;
pub mod classifier;
pub mod compare;
pub mod dataset;
pub mod device;
pub mod extract;
pub mod labelling;
pub mod labels;
pub mod model;
pub mod output;
pub mod prepare;
pub mod progress;
pub mod record;
pub mod replay;
pub mod report;
pub mod simulate;
pub mod status;
pub mod text;
pub mod top;
