//! Checks made before the agent touches the kernel, each failing with a
//! sentence a gateway's owner can act on rather than an error from deep in
//! the loader: the kernel's version, and another XDP program already on the
//! interface.

use anyhow::{bail, Context as _, Result};

/// `bpf_xdp_load_bytes`, which the parser reads headers at computed offsets
/// with, came in Linux 5.18.
pub const MIN_KERNEL: (u32, u32) = (5, 18);

/// The running kernel's release string (`uname -r`).
pub fn kernel_release() -> Result<String> {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .context("cannot read the kernel's release (/proc/sys/kernel/osrelease)")
}

/// Fails on a kernel older than [`MIN_KERNEL`], naming both.
pub fn check_kernel(release: &str) -> Result<()> {
    let mut parts = release
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse::<u32>().ok());
    let (Some(Some(major)), Some(Some(minor))) = (parts.next(), parts.next()) else {
        bail!("cannot tell the kernel's version from its release {release:?}");
    };
    let (min_major, min_minor) = MIN_KERNEL;
    if (major, minor) < MIN_KERNEL {
        bail!(
            "kernel {release} is too old: alexa needs Linux {min_major}.{min_minor} or later (bpf_xdp_load_bytes); Debian 12's 6.1 and OpenWrt 24.10's 6.6 work, see docs/deploy.md"
        );
    }
    Ok(())
}

/// The XDP program attached to `iface`, as `ip -details -json link` shows
/// it: `(name, id)`. `None` when none is attached, or when `ip` cannot tell
/// (then attaching is the check).
pub fn attached_xdp(iface: &str) -> Option<(String, u64)> {
    let out = std::process::Command::new("ip")
        .args(["-details", "-json", "link", "show", "dev", iface])
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let links: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    xdp_program(links.get(0)?.get("xdp")?)
}

/// The program in `ip`'s `xdp` object: a single program (`prog`) or the
/// first of several attached in different modes (`attached`).
fn xdp_program(xdp: &serde_json::Value) -> Option<(String, u64)> {
    let prog = xdp.get("prog").or_else(|| {
        xdp.get("attached")?
            .as_array()?
            .iter()
            .find_map(|a| a.get("prog"))
    })?;
    Some((
        prog.get("name")?.as_str().unwrap_or("").to_owned(),
        prog.get("id")?.as_u64()?,
    ))
}

/// Fails when an XDP program other than alexa's holds `iface`: attaching
/// would be refused, or a forced attach would silently remove the other
/// tool's program (xdp-dispatcher, a load balancer, a DDoS filter).
pub fn check_interface_free(iface: &str, ours: &str) -> Result<()> {
    if let Some((name, id)) = attached_xdp(iface) {
        if name != ours {
            bail!(
                "{iface} already has an XDP program, {name:?} (id {id}), put there by another tool (xdp-loader/libxdp, a firewall): alexa will not replace it. Remove it (`xdp-loader unload {iface} --all`, or `ip link set dev {iface} xdp off`) or run alexa on another interface; see docs/deploy.md"
            );
        }
    }
    Ok(())
}

/// The interface's index, or an error naming it.
pub fn require_interface(iface: &str) -> Result<u32> {
    let name =
        std::ffi::CString::new(iface).with_context(|| format!("bad interface name {iface:?}"))?;
    // SAFETY: a valid NUL-terminated string.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    if index == 0 {
        bail!("no such interface: {iface}");
    }
    Ok(index)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_versions() {
        for ok in ["5.18.0", "6.1.0-27-amd64", "6.18.44-fc-v669", "10.0"] {
            check_kernel(ok).unwrap();
        }
        for old in ["5.10.0-30-amd64", "5.15.167", "4.19.0"] {
            let e = check_kernel(old).unwrap_err().to_string();
            assert!(e.contains("too old") && e.contains("5.18"), "{e}");
        }
        assert!(check_kernel("weird").is_err());
    }

    #[test]
    fn ip_json_shapes() {
        let one: serde_json::Value = serde_json::from_str(
            r#"{"mode":1,"prog":{"id":42,"name":"xdp_dispatcher","tag":"x","jited":1}}"#,
        )
        .unwrap();
        assert_eq!(xdp_program(&one), Some(("xdp_dispatcher".into(), 42)));
        let multi: serde_json::Value = serde_json::from_str(
            r#"{"mode":4,"attached":[{"mode":2,"prog":{"id":7,"name":"alexa_classify"}}]}"#,
        )
        .unwrap();
        assert_eq!(xdp_program(&multi), Some(("alexa_classify".into(), 7)));
        assert_eq!(xdp_program(&serde_json::json!({})), None);
    }

    #[test]
    fn loopback_has_no_xdp_program() {
        if std::process::Command::new("ip").arg("-V").output().is_err() {
            eprintln!("skipped: no `ip` here");
            return;
        }
        assert_eq!(attached_xdp("lo"), None);
        check_interface_free("lo", "alexa_classify").unwrap();
    }
}
