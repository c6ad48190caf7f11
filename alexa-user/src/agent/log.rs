//! The verdict log: JSON lines appended to a file that rotates by size
//! (`FILE` → `FILE.1` → … → `FILE.N`, the oldest dropped), or standard output.

use std::{
    fs::{File, OpenOptions},
    io::{BufWriter, Write},
    path::{Path, PathBuf},
};

use anyhow::{Context as _, Result};

pub struct VerdictLog {
    out: Output,
    /// Rotate once the file reaches this many bytes (0: never).
    max_bytes: u64,
    /// Rotated files kept.
    keep: u32,
    written: u64,
}

enum Output {
    Stdout(std::io::Stdout),
    File { path: PathBuf, w: BufWriter<File> },
}

impl VerdictLog {
    /// `None` or `-`: standard output (never rotated).
    pub fn open(path: Option<&Path>, max_bytes: u64, keep: u32) -> Result<Self> {
        let out = match path {
            None => Output::Stdout(std::io::stdout()),
            Some(p) if p.as_os_str() == "-" => Output::Stdout(std::io::stdout()),
            Some(p) => Output::File {
                path: p.to_owned(),
                w: BufWriter::new(open_append(p)?),
            },
        };
        let (written, regular) = match &out {
            Output::File { path, .. } => std::fs::metadata(path)
                .map(|m| (m.len(), m.is_file()))
                .unwrap_or((0, true)),
            Output::Stdout(_) => (0, false),
        };
        Ok(VerdictLog {
            out,
            // Only a regular file is rotated: renaming `/dev/null` or a FIFO
            // away would break whatever else uses it.
            max_bytes: if regular { max_bytes } else { 0 },
            keep,
            written,
        })
    }

    /// Writes one line (without its newline), rotating first when the
    /// line would take the file past the limit.
    pub fn line(&mut self, line: &[u8]) -> Result<()> {
        let len = line.len() as u64 + 1;
        if self.max_bytes > 0 && self.written > 0 && self.written + len > self.max_bytes {
            self.rotate()?;
        }
        let w: &mut dyn Write = match &mut self.out {
            Output::Stdout(s) => s,
            Output::File { w, .. } => w,
        };
        w.write_all(line)?;
        w.write_all(b"\n")?;
        self.written += len;
        Ok(())
    }

    pub fn flush(&mut self) -> Result<()> {
        match &mut self.out {
            Output::Stdout(s) => s.flush()?,
            Output::File { w, .. } => w.flush()?,
        }
        Ok(())
    }

    fn rotate(&mut self) -> Result<()> {
        let Output::File { path, w } = &mut self.out else {
            return Ok(());
        };
        w.flush()?;
        let numbered = |i: u32| {
            let mut p = path.clone().into_os_string();
            p.push(format!(".{i}"));
            PathBuf::from(p)
        };
        if self.keep == 0 {
            std::fs::remove_file(&*path).ok();
        } else {
            std::fs::remove_file(numbered(self.keep)).ok();
            for i in (1..self.keep).rev() {
                let from = numbered(i);
                if from.exists() {
                    std::fs::rename(&from, numbered(i + 1))
                        .with_context(|| format!("{}: cannot rotate", from.display()))?;
                }
            }
            std::fs::rename(&*path, numbered(1))
                .with_context(|| format!("{}: cannot rotate", path.display()))?;
        }
        *w = BufWriter::new(open_append(path)?);
        self.written = 0;
        Ok(())
    }
}

fn open_append(p: &Path) -> Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(p)
        .with_context(|| format!("{}: cannot open the log", p.display()))
}

#[cfg(test)]
mod tests {
    use std::{io::Read, os::unix::fs::OpenOptionsExt};

    use super::*;

    #[test]
    fn never_rotates_what_is_not_a_regular_file() {
        let dir = std::env::temp_dir().join(format!("alexa-log-fifo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fifo = dir.join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        // A reader, so opening the FIFO for writing does not block.
        let reader = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&fifo)
            .unwrap();
        let mut log = VerdictLog::open(Some(&fifo), 10, 2).unwrap();
        for _ in 0..5 {
            log.line(b"0123456789").unwrap();
            log.flush().unwrap();
            let mut buf = [0u8; 64];
            let _ = (&reader).read(&mut buf);
        }
        assert!(fifo.exists(), "the FIFO was renamed away");
        assert!(!dir.join("fifo.1").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn rotates_by_size_and_keeps_n_files() {
        let dir = std::env::temp_dir().join(format!("alexa-log-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("v.jsonl");
        let mut log = VerdictLog::open(Some(&path), 100, 2).unwrap();
        // 10 lines of 40 bytes (with newline): two per file, 5 files' worth.
        for i in 0..10 {
            log.line(format!("{i:039}").as_bytes()).unwrap();
        }
        log.flush().unwrap();
        let read = |p: &Path| std::fs::read_to_string(p).unwrap();
        let one = PathBuf::from(format!("{}.1", path.display()));
        let two = PathBuf::from(format!("{}.2", path.display()));
        assert_eq!(read(&path).lines().count(), 2);
        assert!(read(&path).starts_with(&format!("{:039}", 8)));
        assert!(read(&one).starts_with(&format!("{:039}", 6)));
        assert!(read(&two).starts_with(&format!("{:039}", 4)));
        assert!(!PathBuf::from(format!("{}.3", path.display())).exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
