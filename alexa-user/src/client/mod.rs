//! The agent's clients for a person: `alexa status` and `alexa top`, both
//! fed by the control socket's status (`crate::control`).

pub mod status;
pub mod top;
