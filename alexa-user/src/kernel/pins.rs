//! The bpffs directory an agent pins its maps and XDP link in: made ready
//! (mounting bpffs where a minimal system did not), locked so one agent uses
//! one set of pins, and removed by `alexa detach`.

use std::path::Path;

use alexa_common::maps;
use anyhow::{bail, Context as _, Result};

/// File name of the pinned XDP link for `iface` in the pin directory.
pub(super) fn link_pin_name(iface: &str) -> String {
    format!("link_{iface}")
}

/// `statfs` magic of a BPF filesystem.
const BPF_FS_MAGIC: i64 = 0xcafe4a11;

fn is_bpffs(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt as _;
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: a valid path and a zeroed statfs to fill.
    unsafe {
        let mut st: libc::statfs = std::mem::zeroed();
        libc::statfs(c.as_ptr(), &mut st) == 0 && st.f_type as i64 == BPF_FS_MAGIC
    }
}

fn mount_bpffs(at: &Path) -> Result<()> {
    use std::os::unix::ffi::OsStrExt as _;
    let target = std::ffi::CString::new(at.as_os_str().as_bytes())?;
    // SAFETY: valid NUL-terminated strings; no data argument beyond the mode.
    let rc = unsafe {
        libc::mount(
            c"bpf".as_ptr(),
            target.as_ptr(),
            c"bpf".as_ptr(),
            0,
            c"mode=0700".as_ptr().cast(),
        )
    };
    if rc != 0 {
        bail!(
            "{}: cannot mount a BPF filesystem: {}",
            at.display(),
            std::io::Error::last_os_error()
        );
    }
    Ok(())
}

/// Makes `dir` (a directory on a bpffs) ready to hold pins.
pub(super) fn prepare_pin_dir(dir: &Path) -> Result<()> {
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !is_bpffs(dir) && !is_bpffs(parent) && parent == Path::new("/sys/fs/bpf") {
        // What systemd does at boot; some minimal systems do not.
        mount_bpffs(parent)?;
    }
    if !is_bpffs(dir) && !is_bpffs(parent) {
        bail!(
            "{}: not on a BPF filesystem (mount one with `mount -t bpf bpf {}`)",
            dir.display(),
            parent.display()
        );
    }
    std::fs::create_dir_all(dir)
        .with_context(|| format!("{}: cannot create the pin directory", dir.display()))?;
    Ok(())
}

/// An exclusive `flock` on the pin directory, held for as long as the
/// returned file is open: a second agent (or `alexa detach`) on the same pins
/// is refused instead of sharing the ring buffer or pulling the maps away.
pub(super) fn lock_pin_dir(dir: &Path) -> Result<std::fs::File> {
    use std::os::fd::AsRawFd as _;
    let f = std::fs::File::open(dir)
        .with_context(|| format!("{}: cannot open the pin directory", dir.display()))?;
    // SAFETY: flock on an fd we own.
    if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        bail!(
            "{}: another agent is using these pins (stop it first)",
            dir.display()
        );
    }
    Ok(f)
}

/// Removes everything an agent pinned in `dir`: the XDP link (which detaches
/// the program), every map, and the directory. Returns what was removed.
pub fn detach(dir: &Path) -> Result<Vec<String>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => bail!("{}: cannot read the pin directory: {e}", dir.display()),
    };
    let _lock = lock_pin_dir(dir)?;
    let known: Vec<&str> = maps::ALL.to_vec();
    let mut removed = Vec::new();
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    // Links first: the program stops seeing packets before its maps go.
    names.sort_by_key(|n| !n.starts_with("link_"));
    for name in names {
        if !name.starts_with("link_") && !known.contains(&name.as_str()) {
            bail!(
                "{}: unexpected entry {name:?}; not an alexa pin directory?",
                dir.display()
            );
        }
        let path = dir.join(&name);
        std::fs::remove_file(&path)
            .with_context(|| format!("{}: cannot remove", path.display()))?;
        removed.push(name);
    }
    std::fs::remove_dir(dir).with_context(|| format!("{}: cannot remove", dir.display()))?;
    Ok(removed)
}
