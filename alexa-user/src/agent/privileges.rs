//! After loading and attaching, the agent needs no privilege beyond the
//! file descriptors it already holds: map reads and updates, the ring
//! buffer and program info all go through them. So it gives up every
//! capability (kernel 6.x checks `CAP_BPF` when a map or program is
//! created or opened, not when an open map fd is used), keeping only what
//! the running system proves it still needs, and forbids regaining any
//! (`no_new_privs`). It stays uid 0, so the root-owned log, evidence and
//! socket files remain its own.

use anyhow::{anyhow, bail, Result};
use caps::{CapSet, Capability, CapsHashSet};

/// Capabilities kept after start-up (none, see the module comment).
pub const KEPT: &[Capability] = &[];

pub fn drop_privileges() -> Result<()> {
    let keep: CapsHashSet = KEPT.iter().copied().collect();
    let fail = |what: &str, e: caps::errors::CapsError| anyhow!("cannot drop {what}: {e}");
    for cap in caps::all() {
        if !keep.contains(&cap) {
            // Unknown to this kernel: nothing to drop.
            let _ = caps::drop(None, CapSet::Bounding, cap);
        }
    }
    caps::clear(None, CapSet::Ambient).map_err(|e| fail("ambient capabilities", e))?;
    caps::set(None, CapSet::Inheritable, &keep).map_err(|e| fail("inheritable capabilities", e))?;
    caps::set(None, CapSet::Effective, &keep).map_err(|e| fail("effective capabilities", e))?;
    caps::set(None, CapSet::Permitted, &keep).map_err(|e| fail("permitted capabilities", e))?;
    // SAFETY: prctl with constant arguments.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Err(anyhow!(
            "cannot set no_new_privs: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

/// The effective capabilities of this thread, by name (for `status`).
pub fn effective() -> Vec<String> {
    let mut v: Vec<String> = caps::read(None, CapSet::Effective)
        .map(|s| s.iter().map(|c| c.to_string()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// Refuses early, with the reason, when not run as root.
pub fn require_root(what: &str) -> Result<()> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        bail!("{what} needs root (CAP_BPF and CAP_NET_ADMIN): run it with sudo");
    }
    Ok(())
}
