//! Work on captures and datasets, away from the kernel: reading captures,
//! extracting the contract's rows, labels, datasets, the model (train,
//! compile, evaluate, safety) and, with the `lab` feature, the simulator,
//! `prepare` and the figures.

pub mod capture;
#[cfg(feature = "lab")]
pub mod compare;
pub mod csv;
pub mod dataset;
pub mod extract;
#[cfg(feature = "lab")]
pub mod figures;
pub mod labelling;
pub mod labels;
pub mod model;
#[cfg(feature = "lab")]
pub mod prepare;
pub mod row;
#[cfg(feature = "lab")]
pub mod simulate;
