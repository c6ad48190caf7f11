//! The integration tests' own rules (the tests are in tests/, one binary per
//! feature; their toolkit is the alexa-lab crate): when a privileged test
//! may skip, and where the committed fixtures are.

/// True when privileged tests can run. Outside CI without root they skip
/// (saying so); in CI (`CI` set) they must run, so this panics instead.
pub fn privileged() -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        if std::env::var_os("CI").is_some() {
            panic!("privileged test cannot run: not root, and CI requires it");
        }
        eprintln!(
            "SKIPPED: this test needs root (BPF, network namespaces); run `sudo cargo xtask test`"
        );
    }
    root
}
