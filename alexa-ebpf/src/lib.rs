#![no_std]
// The classifier is the [[bin]] alexa-classifier (src/main.rs, see
// Cargo.toml); the lib holds what another XDP object must read frames with.
mod frame;

pub use frame::XdpFrame;
