#![no_std]
// Intentionally empty: see Cargo.toml ([[bin]] alexa-lab-programs is the object).
