//! Evidence: the frames of packets the kernel dropped or flagged, as a
//! pcapng file Wireshark opens, each with its verdict as the packet comment.
//! The kernel ships only the first `SNAP_LEN` bytes; `original_len` keeps
//! the frame's real length, as a capture with a snap length does.

use std::{
    borrow::Cow,
    fs::File,
    io::BufWriter,
    path::{Path, PathBuf},
    time::Duration,
};

use alexa_common::{event::SNAP_LEN, Event};
use anyhow::{Context as _, Result};

use super::rotate::{self, Counting};
use pcap_file::{
    pcapng::{
        blocks::{
            enhanced_packet::{EnhancedPacketBlock, EnhancedPacketOption},
            interface_description::{InterfaceDescriptionBlock, InterfaceDescriptionOption},
        },
        PcapNgWriter,
    },
    DataLink,
};

pub struct Evidence {
    w: PcapNgWriter<Counting<BufWriter<File>>>,
    pub written: u64,
}

impl Evidence {
    /// Starts a new file (an existing one is replaced: a pcapng section is
    /// not appended to safely after a crash mid-block).
    pub fn create(path: &Path, iface: &str) -> Result<Self> {
        let file = File::create(path)
            .with_context(|| format!("{}: cannot create the evidence capture", path.display()))?;
        let mut w = PcapNgWriter::new(Counting {
            inner: BufWriter::new(file),
            bytes: 0,
        })
        .with_context(|| format!("{}: cannot write", path.display()))?;
        w.write_pcapng_block(InterfaceDescriptionBlock {
            linktype: DataLink::ETHERNET,
            snaplen: SNAP_LEN as u32,
            options: vec![
                InterfaceDescriptionOption::IfName(Cow::Owned(iface.to_owned())),
                // Timestamps in nanoseconds (the writer stores Duration::as_nanos).
                InterfaceDescriptionOption::IfTsResol(9),
            ],
        })
        .with_context(|| format!("{}: cannot write", path.display()))?;
        Ok(Evidence { w, written: 0 })
    }

    /// Writes the event's frame bytes, with `comment`; `wall_ns` is its
    /// wall-clock time.
    pub fn write(&mut self, ev: &Event, wall_ns: u64, comment: String) -> Result<()> {
        let n = (ev.snap_len as usize).min(SNAP_LEN);
        self.w.write_pcapng_block(EnhancedPacketBlock {
            interface_id: 0,
            timestamp: Duration::from_nanos(wall_ns),
            original_len: ev.frame_len,
            data: Cow::Borrowed(&ev.snap[..n]),
            options: vec![EnhancedPacketOption::Comment(Cow::Owned(comment))],
        })?;
        self.written += 1;
        Ok(())
    }

    pub fn flush(&mut self) -> Result<()> {
        use std::io::Write as _;
        self.w.get_mut().flush()?;
        Ok(())
    }

    /// Bytes written so far (headers included).
    pub fn bytes(&self) -> u64 {
        self.w.get_ref().bytes
    }
}

/// The evidence capture with its disk bounded: a new file when the current
/// one reaches `max_bytes`, the `keep` newest old ones kept as `FILE.1`….
/// A restarted agent moves the previous run's file into that line too.
pub struct EvidenceFiles {
    path: PathBuf,
    iface: String,
    max_bytes: u64,
    keep: u32,
    /// Opened at the first evidence packet, so a restart without any does
    /// not push a good file out for an empty one.
    current: Option<Evidence>,
}

impl EvidenceFiles {
    pub fn new(path: PathBuf, iface: String, max_bytes: u64, keep: u32) -> Self {
        EvidenceFiles {
            path,
            iface,
            max_bytes,
            keep,
            current: None,
        }
    }

    pub fn write(&mut self, ev: &Event, wall_ns: u64, comment: String) -> Result<()> {
        if self
            .current
            .as_ref()
            .is_some_and(|e| self.max_bytes > 0 && e.bytes() >= self.max_bytes)
        {
            if let Some(mut old) = self.current.take() {
                old.flush()?;
            }
        }
        let e = match &mut self.current {
            Some(e) => e,
            None => {
                rotate::retire(&self.path, self.keep)?;
                self.current
                    .insert(Evidence::create(&self.path, &self.iface)?)
            }
        };
        e.write(ev, wall_ns, comment)
    }

    pub fn flush(&mut self) -> Result<()> {
        match &mut self.current {
            Some(e) => e.flush(),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The capture rotates at its cap, keeps N old files, and each file is
    /// a whole pcapng capture.
    #[test]
    fn bounded_by_cap_times_files() {
        let dir = std::env::temp_dir().join(format!("alexa-evidence-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("evidence.pcapng");
        std::fs::write(&path, b"the previous run's").unwrap();
        let mut files = EvidenceFiles::new(path.clone(), "eth1".into(), 4096, 2);
        let ev = Event {
            head: alexa_common::EventHead {
                snap_len: SNAP_LEN as u16,
                frame_len: 1500,
                ..Default::default()
            },
            ..Default::default()
        };
        for i in 0..200 {
            files.write(&ev, i, format!("packet {i}")).unwrap();
        }
        files.flush().unwrap();
        let size = |p: &Path| std::fs::metadata(p).unwrap().len();
        assert!(size(&path) < 4096 + 512, "{}", size(&path));
        for i in 1..=2 {
            let old = rotate::numbered(&path, i, "");
            assert!(size(&old) >= 4096 && size(&old) < 4096 + 512);
            let f = std::fs::File::open(&old).unwrap();
            let mut r = pcap_file::pcapng::PcapNgReader::new(f).unwrap();
            let mut n = 0;
            while let Some(b) = r.next_block() {
                b.unwrap();
                n += 1;
            }
            assert!(n > 10, "{n} blocks");
        }
        assert!(!rotate::numbered(&path, 3, "").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
