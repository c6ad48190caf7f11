//! Output files that appear whole or not at all: written to a temporary file
//! beside the target and renamed into place only on success.

use std::{
    fs::File,
    io::{BufWriter, Write},
    path::{Path, PathBuf},
};

use anyhow::{bail, Context as _, Result};

pub struct AtomicFile {
    target: PathBuf,
    temp: PathBuf,
    writer: Option<BufWriter<File>>,
}

impl AtomicFile {
    pub fn create(target: &Path) -> Result<Self> {
        // Checked first so no work is done for an output that cannot land
        // (the final rename would fail).
        if target.is_dir() {
            bail!("{}: is a directory, not a file to write", target.display());
        }
        let name = target
            .file_name()
            .with_context(|| format!("{}: not a file path", target.display()))?;
        let mut temp_name = std::ffi::OsString::from(".");
        temp_name.push(name);
        temp_name.push(format!(".tmp{}", std::process::id()));
        let temp = target.with_file_name(temp_name);
        let file =
            File::create(&temp).with_context(|| format!("{}: cannot create", target.display()))?;
        Ok(AtomicFile {
            target: target.to_owned(),
            temp,
            writer: Some(BufWriter::with_capacity(1 << 16, file)),
        })
    }

    pub fn writer(&mut self) -> &mut BufWriter<File> {
        self.writer.as_mut().expect("not committed yet")
    }

    /// Flushes, syncs and moves the file into place; on failure the
    /// temporary file is removed, so nothing is left either way.
    pub fn commit(mut self) -> Result<()> {
        let writer = self.writer.take().expect("committed once");
        let target = &self.target;
        let done = writer
            .into_inner()
            .map_err(|e| e.into_error())
            .and_then(|file| file.sync_all())
            .with_context(|| format!("{}: cannot write", target.display()))
            .and_then(|()| {
                std::fs::rename(&self.temp, target)
                    .with_context(|| format!("{}: cannot move into place", target.display()))
            });
        if done.is_err() {
            let _ = std::fs::remove_file(&self.temp);
        }
        done
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.writer().write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.writer().flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.writer.take().is_some() {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}
