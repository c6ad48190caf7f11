//! The verdict log: JSON lines appended to a file that rotates by size
//! (`FILE` → `FILE.1.gz` → … → `FILE.N.gz`, the oldest dropped), or
//! standard output. Rotated files are gzip-compressed (JSON lines shrink
//! about tenfold: SD cards) on a thread of their own, so the event loop
//! never waits for it; a crash mid-compression leaves `FILE.rotated`,
//! compressed at the next start.

use std::{
    fs::{File, OpenOptions},
    io::{BufWriter, Write},
    path::{Path, PathBuf},
};

use anyhow::{Context as _, Result};

pub struct VerdictLog {
    out: Output,
    /// The compression of the last rotated file, joined before the next.
    compressing: Option<std::thread::JoinHandle<Result<()>>>,
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
        if let (Output::File { path, .. }, true) = (&out, regular) {
            let rotated = rotated_name(path);
            if rotated.exists() {
                super::rotate::shift(path, keep, ".gz")?;
                compress(&rotated, &super::rotate::numbered(path, 1, ".gz"))?;
            }
        }
        Ok(VerdictLog {
            compressing: None,
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
        if self.compressing.as_ref().is_some_and(|j| !j.is_finished()) {
            // Lines come faster than the last file compresses (a flood):
            // waiting would stall the event loop and the control socket,
            // and a second uncompressed file would break the disk bound.
            // This file's lines go; the kernel's counters still count them.
            w.get_ref()
                .set_len(0)
                .with_context(|| format!("{}: cannot truncate", path.display()))?;
            eprintln!(
                "alexa: verdict log: {} bytes of lines discarded: they came faster than {} could be compressed",
                self.written,
                rotated_name(path).display()
            );
            self.written = 0;
            return Ok(());
        }
        if let Some(job) = self.compressing.take() {
            job.join()
                .map_err(|_| anyhow::anyhow!("the log compression thread panicked"))??;
        }
        if self.keep == 0 {
            std::fs::remove_file(&*path).ok();
        } else {
            super::rotate::shift(path, self.keep, ".gz")?;
            let rotated = rotated_name(path);
            std::fs::rename(&*path, &rotated)
                .with_context(|| format!("{}: cannot rotate", path.display()))?;
            let to = super::rotate::numbered(path, 1, ".gz");
            self.compressing = Some(std::thread::spawn(move || {
                idle_priority();
                compress(&rotated, &to)
            }));
        }
        *w = BufWriter::new(open_append(path)?);
        self.written = 0;
        Ok(())
    }

    /// Waits for a compression in progress (at shutdown, and in tests).
    pub fn finish(&mut self) -> Result<()> {
        self.flush()?;
        match self.compressing.take() {
            Some(job) => job
                .join()
                .map_err(|_| anyhow::anyhow!("the log compression thread panicked"))?,
            None => Ok(()),
        }
    }
}

/// Runs the calling thread only when a CPU is otherwise idle: compression
/// must never take a CPU from the event loop (or from forwarding) in a
/// flood. Failure leaves it at normal priority.
fn idle_priority() {
    // SAFETY: integers only (musl adds fields glibc lacks): all zeroes is
    // a valid sched_param, priority 0 as SCHED_IDLE wants.
    let param: libc::sched_param = unsafe { std::mem::zeroed() };
    // SAFETY: pid 0 is this thread; a valid sched_param.
    unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) };
}

/// Where a log waits for its compression.
fn rotated_name(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".rotated");
    PathBuf::from(p)
}

/// Compresses `from` into `to` (through a temporary name, so `to` is whole
/// or absent), then removes `from`.
fn compress(from: &Path, to: &Path) -> Result<()> {
    let mut tmp = to.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let done = (|| -> std::io::Result<()> {
        let mut input = File::open(from)?;
        let mut gz = flate2::write::GzEncoder::new(
            BufWriter::new(File::create(&tmp)?),
            flate2::Compression::fast(),
        );
        std::io::copy(&mut input, &mut gz)?;
        gz.finish()?
            .into_inner()
            .map_err(|e| e.into_error())?
            .sync_all()?;
        std::fs::rename(&tmp, to)?;
        std::fs::remove_file(from)
    })();
    if done.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    done.with_context(|| format!("{}: cannot compress the rotated log", from.display()))
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
    fn rotates_by_size_and_keeps_n_compressed_files() {
        let dir = std::env::temp_dir().join(format!("alexa-log-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("v.jsonl");
        let mut log = VerdictLog::open(Some(&path), 100, 2).unwrap();
        // 10 lines of 40 bytes (with newline): two per file, 5 files' worth,
        // each rotated file compressed before the next rotation.
        for i in 0..10 {
            log.line(format!("{i:039}").as_bytes()).unwrap();
            while log.compressing.as_ref().is_some_and(|j| !j.is_finished()) {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        }
        log.finish().unwrap();
        let read = |p: &Path| std::fs::read_to_string(p).unwrap();
        let gunzip = |p: PathBuf| {
            let mut s = String::new();
            flate2::read::GzDecoder::new(File::open(p).unwrap())
                .read_to_string(&mut s)
                .unwrap();
            s
        };
        let gz = |i| super::super::rotate::numbered(&path, i, ".gz");
        assert_eq!(read(&path).lines().count(), 2);
        assert!(read(&path).starts_with(&format!("{:039}", 8)));
        assert!(gunzip(gz(1)).starts_with(&format!("{:039}", 6)));
        assert_eq!(gunzip(gz(2)).lines().count(), 2);
        assert!(gunzip(gz(2)).starts_with(&format!("{:039}", 4)));
        assert!(!gz(3).exists());
        let names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 3, "only the log and two old files: {names:?}");
        // Lines faster than compression: the file's lines are discarded,
        // nothing waits, and the disk stays bounded.
        let mut fast = VerdictLog::open(Some(&path), 100, 2).unwrap();
        fast.compressing = Some(std::thread::spawn(|| {
            std::thread::sleep(std::time::Duration::from_millis(300));
            Ok(())
        }));
        for i in 0..3 {
            fast.line(format!("{i:039}").as_bytes()).unwrap();
        }
        fast.flush().unwrap();
        assert_eq!(read(&path), format!("{:039}\n", 2), "not truncated");
        assert!(
            gunzip(gz(1)).starts_with(&format!("{:039}", 6)),
            "rotated anyway"
        );
        fast.finish().unwrap();
        // A crash mid-compression: the next start finishes it.
        drop(log);
        std::fs::write(rotated_name(&path), "interrupted\n").unwrap();
        let mut log = VerdictLog::open(Some(&path), 100, 2).unwrap();
        log.finish().unwrap();
        assert!(!rotated_name(&path).exists());
        assert_eq!(gunzip(gz(1)), "interrupted\n");
        assert!(gunzip(gz(2)).starts_with(&format!("{:039}", 6)));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
