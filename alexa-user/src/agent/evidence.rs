//! Evidence: the frames of packets the kernel dropped or flagged, as a
//! pcapng file Wireshark opens, each with its verdict as the packet comment.
//! The kernel ships only the first `SNAP_LEN` bytes; `original_len` keeps
//! the frame's real length, as a capture with a snap length does.

use std::{borrow::Cow, fs::File, io::BufWriter, path::Path, time::Duration};

use alexa_common::{Event, SNAP_LEN};
use anyhow::{Context as _, Result};
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
    w: PcapNgWriter<BufWriter<File>>,
    pub written: u64,
}

impl Evidence {
    /// Starts a new file (an existing one is replaced: a pcapng section is
    /// not appended to safely after a crash mid-block).
    pub fn create(path: &Path, iface: &str) -> Result<Self> {
        let file = File::create(path)
            .with_context(|| format!("{}: cannot create the evidence capture", path.display()))?;
        let mut w = PcapNgWriter::new(BufWriter::new(file))
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
}
