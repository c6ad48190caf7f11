//! Reading and writing classic pcap files (Ethernet, microsecond
//! timestamps), and the frame edits the corpus needs (VLAN tags).

use std::{borrow::Cow, fs::File, io::BufWriter, path::Path, time::Duration};

use anyhow::{Context, Result};
use pcap_file::{
    pcap::{PcapHeader, PcapPacket, PcapReader, PcapWriter},
    DataLink, Endianness, TsResolution,
};

/// Snap length written in the corpus' file headers.
pub const SNAPLEN: u32 = 262_144;

/// One frame: timestamp (microseconds since the epoch), the length on the
/// wire and the captured bytes (shorter than `orig_len` when truncated).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    pub ts_us: u64,
    pub orig_len: u32,
    pub data: Vec<u8>,
}

impl Frame {
    /// A complete (untruncated) frame.
    pub fn new(ts_us: u64, data: Vec<u8>) -> Frame {
        Frame {
            ts_us,
            orig_len: data.len() as u32,
            data,
        }
    }
}

/// Reads every frame of a classic pcap file.
pub fn read(path: &Path) -> Result<Vec<Frame>> {
    let file = File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let mut reader =
        PcapReader::new(file).with_context(|| format!("{}: not a pcap file", path.display()))?;
    let mut frames = Vec::new();
    while let Some(pkt) = reader.next_packet() {
        let pkt = pkt.with_context(|| format!("{}: corrupt record", path.display()))?;
        frames.push(Frame {
            ts_us: pkt.timestamp.as_micros() as u64,
            orig_len: pkt.orig_len,
            data: pkt.data.into_owned(),
        });
    }
    Ok(frames)
}

/// Writes `frames` as a little-endian, microsecond, Ethernet pcap file.
pub fn write(path: &Path, frames: &[Frame]) -> Result<()> {
    let header = PcapHeader {
        snaplen: SNAPLEN,
        datalink: DataLink::ETHERNET,
        ts_resolution: TsResolution::MicroSecond,
        endianness: Endianness::Little,
        ..PcapHeader::default()
    };
    let file = File::create(path).with_context(|| format!("{}: cannot create", path.display()))?;
    let mut writer = PcapWriter::with_header(BufWriter::new(file), header)
        .with_context(|| format!("{}: cannot write", path.display()))?;
    for f in frames {
        let pkt = PcapPacket {
            timestamp: Duration::from_micros(f.ts_us),
            orig_len: f.orig_len.max(f.data.len() as u32),
            data: Cow::Borrowed(&f.data),
        };
        writer
            .write_packet(&pkt)
            .with_context(|| format!("{}: cannot write a frame", path.display()))?;
    }
    use std::io::Write as _;
    writer
        .into_writer()
        .flush()
        .with_context(|| format!("{}: cannot write", path.display()))?;
    Ok(())
}

/// 802.1Q tag protocol identifier (customer tag).
pub const TPID_8021Q: u16 = 0x8100;
/// 802.1ad tag protocol identifier (service tag, the outer one of two).
pub const TPID_8021AD: u16 = 0x88a8;

/// `data` with VLAN tags inserted after the MAC addresses, outermost first:
/// each tag is (TPID, VLAN id).
pub fn push_vlan_tags(data: &[u8], tags: &[(u16, u16)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 4 * tags.len());
    out.extend_from_slice(&data[..12]);
    for &(tpid, vid) in tags {
        out.extend_from_slice(&tpid.to_be_bytes());
        out.extend_from_slice(&(vid & 0x0fff).to_be_bytes());
    }
    out.extend_from_slice(&data[12..]);
    out
}
