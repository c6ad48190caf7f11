//! Numbered old files (`FILE.1` newest … `FILE.N` oldest), shared by the
//! verdict log and the evidence capture, so the disk they take is bounded
//! by their size cap times the files kept.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

/// `FILE.i` followed by `suffix` (e.g. `.gz`).
pub fn numbered(path: &Path, i: u32, suffix: &str) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(format!(".{i}{suffix}"));
    PathBuf::from(p)
}

/// Frees slot 1: drops `FILE.keep`, moves every other numbered file up one.
pub fn shift(path: &Path, keep: u32, suffix: &str) -> Result<()> {
    if keep == 0 {
        return Ok(());
    }
    let _ = std::fs::remove_file(numbered(path, keep, suffix));
    for i in (1..keep).rev() {
        let from = numbered(path, i, suffix);
        if from.exists() {
            std::fs::rename(&from, numbered(path, i + 1, suffix))
                .with_context(|| format!("{}: cannot rotate", from.display()))?;
        }
    }
    Ok(())
}

/// Moves a non-empty `path` to `FILE.1` (the others shifted up), or removes
/// it when none are kept.
pub fn retire(path: &Path, keep: u32) -> Result<()> {
    if std::fs::metadata(path).map_or(true, |m| m.len() == 0) {
        return Ok(());
    }
    if keep == 0 {
        return std::fs::remove_file(path)
            .with_context(|| format!("{}: cannot remove", path.display()));
    }
    shift(path, keep, "")?;
    std::fs::rename(path, numbered(path, 1, ""))
        .with_context(|| format!("{}: cannot rotate", path.display()))
}

/// Counts the bytes written through it, so a size cap needs no `stat`.
pub struct Counting<W> {
    pub inner: W,
    pub bytes: u64,
}

impl<W: std::io::Write> std::io::Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retire_keeps_n_newest() {
        let dir = std::env::temp_dir().join(format!("alexa-rotate-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("e.pcapng");
        for i in 0..5 {
            std::fs::write(&path, format!("{i}")).unwrap();
            retire(&path, 3).unwrap();
            assert!(!path.exists());
        }
        let read = |i| std::fs::read_to_string(numbered(&path, i, "")).unwrap();
        assert_eq!(
            (read(1), read(2), read(3)),
            ("4".into(), "3".into(), "2".into())
        );
        assert!(!numbered(&path, 4, "").exists());
        // Empty files are not worth a slot.
        std::fs::write(&path, "").unwrap();
        retire(&path, 3).unwrap();
        assert_eq!(read(1), "4");
        std::fs::write(&path, "x").unwrap();
        retire(&path, 0).unwrap();
        assert!(!path.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
