//! Small helpers every room may use; they import nothing else of the crate.

pub mod atomic_file;
pub mod build_info;
pub mod net;
pub mod progress;
pub mod text;
