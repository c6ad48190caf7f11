#![no_std]
// Intentionally empty: see Cargo.toml ([[bin]] alexa-classifier is the program).
