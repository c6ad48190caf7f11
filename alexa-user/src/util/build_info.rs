//! What this binary is: `alexa --version`, and for the status and metrics.
//! build.rs bakes in the git commit.

/// The package version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The commit built (its first 12 hex digits or more), `-dirty` when tracked files differed
/// from it, or `unknown` outside a git checkout. `ALEXA_BUILD_COMMIT` in the
/// build's environment overrides it (a build from a source archive).
pub const COMMIT: &str = env!("ALEXA_BUILD_COMMIT");

/// Whether the offline and lab tools are in this binary (the `lab` feature).
pub const LAB: bool = cfg!(feature = "lab");

/// `alexa --version`: `0.1.0 (commit 1314ab4c0ffe, feature contract v2, gateway build)`.
pub fn long_version() -> &'static str {
    static LONG: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    LONG.get_or_init(|| {
        format!(
            "{VERSION} (commit {COMMIT}, feature contract v{}, {})",
            alexa_common::CONTRACT_VERSION,
            if LAB { "full build" } else { "gateway build" }
        )
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn long_version_names_version_commit_and_contract() {
        let v = super::long_version();
        assert!(v.starts_with(env!("CARGO_PKG_VERSION")), "{v}");
        assert!(v.contains(&format!("commit {}", super::COMMIT)), "{v}");
        assert!(
            v.contains(&format!(
                "feature contract v{}",
                alexa_common::CONTRACT_VERSION
            )),
            "{v}"
        );
        let c = super::COMMIT.trim_end_matches("-dirty");
        assert!(
            c == "unknown" || (c.len() >= 12 && c.bytes().all(|b| b.is_ascii_hexdigit())),
            "{c}"
        );
    }
}
