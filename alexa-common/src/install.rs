//! Where an installed agent keeps its files. The agent's defaults and
//! `cargo xtask deploy` (the unit, the config it writes) read them here, so
//! the two cannot drift apart.

/// The config file `alexa run --config` reads and writes run-time changes back to.
pub const CONFIG_FILE: &str = "/etc/alexa/alexa.toml";
/// The bpffs directory holding the pinned program link and maps.
pub const PIN_DIR: &str = "/sys/fs/bpf/alexa";
/// The root-only control socket.
pub const CONTROL_SOCKET: &str = "/run/alexa/control.sock";
/// The HTTP API's bearer token (0600, made at first start).
pub const TOKEN_FILE: &str = "/var/lib/alexa/api-token";
