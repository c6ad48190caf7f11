//! Helpers for the privileged tests.
