//! The bearer token that guards the HTTP API's state-changing endpoints.
//!
//! The control socket trusts root only (file mode and peer uid), but a TCP
//! port on loopback is open to every local account: without a secret, any
//! user on the gateway could turn the microphone "on" and let uploads
//! through. The token is made once, at the first start, into a file only
//! root can read; whoever may read it may change state over HTTP. Reads
//! (`/api/status`, `GET /api/microphone`, `/metrics`) stay open on loopback.

use std::{
    io::Write as _,
    os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _},
    path::Path,
};

use anyhow::{bail, Context as _, Result};

pub const DEFAULT_TOKEN_FILE: &str = alexa_common::install::TOKEN_FILE;
/// Random bytes in a token (shown as twice as many hex digits).
const TOKEN_BYTES: usize = 32;

/// Reads the token at `path`, or makes a new one there (mode 0600, its
/// directory 0700 when created). Refuses a file others may read: that token
/// is no longer a secret.
pub fn load_or_create(path: &Path) -> Result<String> {
    match std::fs::metadata(path) {
        Ok(meta) => {
            if meta.permissions().mode() & 0o077 != 0 {
                bail!(
                    "{}: the API token file is readable by other users (mode {:o}): `chmod 600` it, or delete it for a new token",
                    path.display(),
                    meta.permissions().mode() & 0o777
                );
            }
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("{}: cannot read the API token", path.display()))?;
            let token = text.trim();
            if token.len() < 2 * TOKEN_BYTES || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
                bail!(
                    "{}: not an API token (want {} hex digits): delete it for a new one",
                    path.display(),
                    2 * TOKEN_BYTES
                );
            }
            Ok(token.to_owned())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create(path),
        Err(e) => Err(e).with_context(|| format!("{}: cannot read the API token", path.display())),
    }
}

fn create(path: &Path) -> Result<String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("{}: cannot create", dir.display()))?;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
    }
    let mut bytes = [0u8; TOKEN_BYTES];
    getrandom::getrandom(&mut bytes)
        .map_err(|e| anyhow::anyhow!("no randomness for the API token: {e}"))?;
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    // create_new: two agents starting at once cannot overwrite each other's.
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("{}: cannot create the API token", path.display()))?;
    f.write_all(format!("{token}\n").as_bytes())
        .and_then(|()| f.sync_all())
        .with_context(|| format!("{}: cannot write the API token", path.display()))?;
    Ok(token)
}

/// Whether an `Authorization` header value carries `token`, compared in
/// time independent of where the first difference lies.
pub fn authorizes(header: Option<&[u8]>, token: &str) -> bool {
    let Some(given) = header.and_then(|h| h.strip_prefix(b"Bearer ")) else {
        return false;
    };
    let given = given.trim_ascii();
    given.len() == token.len()
        && given
            .iter()
            .zip(token.as_bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(tag: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("alexa-token-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d.join("state").join("api-token")
    }

    #[test]
    fn made_once_private_and_read_back() {
        let path = temp("once");
        let t = load_or_create(&path).unwrap();
        assert_eq!(t.len(), 64);
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        assert_eq!(load_or_create(&path).unwrap(), t);
        let other = load_or_create(&temp("other")).unwrap();
        assert_ne!(other, t, "two tokens alike");
    }

    #[test]
    fn a_token_others_can_read_is_refused() {
        let path = temp("open");
        load_or_create(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = load_or_create(&path).unwrap_err().to_string();
        assert!(e.contains("readable by other users (mode 644)"), "{e}");
    }

    #[test]
    fn garbage_is_refused() {
        let path = temp("garbage");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "hunter2\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let e = load_or_create(&path).unwrap_err().to_string();
        assert!(e.contains("not an API token"), "{e}");
    }

    #[test]
    fn only_the_exact_bearer_token_authorizes() {
        let t = "ab".repeat(32);
        assert!(authorizes(Some(format!("Bearer {t}").as_bytes()), &t));
        assert!(!authorizes(None, &t));
        assert!(!authorizes(Some(t.as_bytes()), &t), "no scheme");
        assert!(!authorizes(Some(format!("Basic {t}").as_bytes()), &t));
        assert!(!authorizes(
            Some(format!("Bearer {}", &t[1..]).as_bytes()),
            &t
        ));
        assert!(!authorizes(Some(format!("Bearer {t}0").as_bytes()), &t));
        assert!(!authorizes(Some(b"Bearer "), &t));
        let mut wrong = t.clone().into_bytes();
        wrong[63] = b'c';
        assert!(!authorizes(
            Some(&[b"Bearer ".as_slice(), &wrong].concat()),
            &t
        ));
    }
}
