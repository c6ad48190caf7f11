//! Reading captures: classic pcap and pcapng, streamed (memory does not grow
//! with the file), every error naming the file and the byte offset.
//!
//! pcap-file's slice parsers do the decoding; this module adds the streaming
//! buffer, the offsets, the limits and pcapng's `if_tsresol` (which pcap-file
//! 2.0 ignores: it reads every raw timestamp as nanoseconds).

use std::{
    fs::File,
    io::Read,
    path::{Path, PathBuf},
};

use pcap_file::{
    pcap::PcapParser,
    pcapng::{
        blocks::{interface_description::InterfaceDescriptionOption, Block},
        PcapNgParser,
    },
    DataLink, Endianness, PcapError,
};

/// A record claiming more than this is taken as corruption, not buffered.
pub const MAX_RECORD_BYTES: usize = 1 << 20;
const READ_CHUNK: usize = 1 << 16;

#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    // The reason is the source, which `{:#}` prints after the colon.
    #[error("{path}: cannot read")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: byte {offset}: {what}")]
    Corrupt {
        path: PathBuf,
        offset: u64,
        what: String,
    },
}

/// One frame of a capture; `data` borrows the reader's buffer.
#[derive(Debug)]
pub struct CapturedFrame<'a> {
    /// 1-based position in the capture, as Wireshark numbers frames.
    pub number: u64,
    /// Nanoseconds since the Unix epoch.
    pub ts_ns: u64,
    /// Byte offset of the record in the file.
    pub offset: u64,
    pub data: &'a [u8],
}

enum Format {
    Pcap(PcapParser),
    PcapNg(Box<PcapNgParser>),
}

pub struct CaptureReader {
    path: PathBuf,
    input: Box<dyn Read + Send>,
    buf: Vec<u8>,
    /// Start of the unparsed bytes in `buf`.
    pos: usize,
    /// File offset of `buf[0]`.
    base: u64,
    eof: bool,
    format: Format,
    frames: u64,
}

impl CaptureReader {
    pub fn open(path: &Path) -> Result<Self, CaptureError> {
        let io = |source| CaptureError::Io {
            path: path.to_owned(),
            source,
        };
        let file = File::open(path).map_err(io)?;
        Self::from_reader(path, Box::new(file))
    }

    /// A capture read from `input`; `path` only names it in errors.
    pub fn from_reader(path: &Path, input: Box<dyn Read + Send>) -> Result<Self, CaptureError> {
        let mut reader = CaptureReader {
            path: path.to_owned(),
            input,
            buf: Vec::with_capacity(READ_CHUNK * 2),
            pos: 0,
            base: 0,
            eof: false,
            format: Format::Pcap(PcapParser::new(&PCAP_PLACEHOLDER).expect("valid header").1),
            frames: 0,
        };
        loop {
            let parsed = match reader.buf.get(..4) {
                Some([0x0a, 0x0d, 0x0d, 0x0a]) => PcapNgParser::new(&reader.buf)
                    .map(|(rem, p)| (reader.buf.len() - rem.len(), Format::PcapNg(Box::new(p)))),
                Some(m) if is_pcap_magic(m) => PcapParser::new(&reader.buf)
                    .map(|(rem, p)| (reader.buf.len() - rem.len(), Format::Pcap(p))),
                Some(m) => {
                    return Err(reader.corrupt(
                        0,
                        format!(
                            "not a pcap or pcapng file (starts with {:02x}{:02x}{:02x}{:02x})",
                            m[0], m[1], m[2], m[3]
                        ),
                    ))
                }
                None => Err(PcapError::IncompleteBuffer),
            };
            match parsed {
                Ok((used, format)) => {
                    reader.pos = used;
                    reader.format = format;
                    break;
                }
                Err(PcapError::IncompleteBuffer) if !reader.eof => reader.fill()?,
                Err(PcapError::IncompleteBuffer) if reader.buf.is_empty() => {
                    return Err(reader.corrupt(0, "empty file, not a capture".into()))
                }
                Err(PcapError::IncompleteBuffer) => {
                    return Err(reader.corrupt(0, "truncated file header".into()))
                }
                Err(e) => return Err(reader.corrupt(0, format!("bad file header: {e}"))),
            }
        }
        if let Format::Pcap(p) = &reader.format {
            if p.header().datalink != DataLink::ETHERNET {
                let what = format!(
                    "link type {:?} is not supported (Ethernet only)",
                    p.header().datalink
                );
                return Err(reader.corrupt(20, what));
            }
        }
        Ok(reader)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes of the file consumed so far (for progress).
    pub fn position(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// The next frame, or `None` at the end of the capture.
    pub fn next_frame(&mut self) -> Result<Option<CapturedFrame<'_>>, CaptureError> {
        loop {
            let offset = self.position();
            let slice = &self.buf[self.pos..];
            let step = match &mut self.format {
                Format::Pcap(p) => p.next_packet(slice).map(|(rem, pkt)| {
                    let range = sub_range(slice, &pkt.data);
                    (
                        slice.len() - rem.len(),
                        Some((pkt.timestamp.as_nanos() as u64, range)),
                    )
                }),
                Format::PcapNg(p) => match p.next_block(slice) {
                    Ok((rem, block)) => {
                        let used = slice.len() - rem.len();
                        match block {
                            Block::EnhancedPacket(epb) => match p.packet_interface(&epb) {
                                Some(idb) if idb.linktype != DataLink::ETHERNET => {
                                    let what = format!(
                                        "link type {:?} is not supported (Ethernet only)",
                                        idb.linktype
                                    );
                                    return Err(self.corrupt(offset, what));
                                }
                                Some(idb) => {
                                    let raw = epb.timestamp.as_nanos();
                                    let ts = scale_timestamp(raw, tsresol(&idb.options));
                                    Ok((used, Some((ts, sub_range(slice, &epb.data)))))
                                }
                                None => {
                                    let what = format!(
                                        "packet names interface {} which was not described",
                                        epb.interface_id
                                    );
                                    return Err(self.corrupt(offset, what));
                                }
                            },
                            Block::SimplePacket(spb) => {
                                Ok((used, Some((0, sub_range(slice, &spb.data)))))
                            }
                            _ => Ok((used, None)),
                        }
                    }
                    Err(e) => Err(e),
                },
            };
            match step {
                Ok((used, packet)) => {
                    self.pos += used;
                    if let Some((ts_ns, (start, end))) = packet {
                        self.frames += 1;
                        let base = self.pos - used;
                        return Ok(Some(CapturedFrame {
                            number: self.frames,
                            ts_ns,
                            offset,
                            data: &self.buf[base + start..base + end],
                        }));
                    }
                }
                Err(PcapError::IncompleteBuffer) => {
                    let pending = self.buf.len() - self.pos;
                    if pending > MAX_RECORD_BYTES + 64 {
                        let what = format!("record claims more than {MAX_RECORD_BYTES} bytes");
                        return Err(self.corrupt(offset, what));
                    }
                    if self.eof {
                        if pending == 0 {
                            return Ok(None);
                        }
                        let what = match self.claimed_len(&self.buf[self.pos..]) {
                            Some(claim) => format!(
                                "truncated record: it claims {claim} bytes, the file has {pending} left"
                            ),
                            None => format!("truncated record ({pending} bytes left)"),
                        };
                        return Err(self.corrupt(offset, what));
                    }
                    self.fill()?;
                }
                Err(e) => return Err(self.corrupt(offset, format!("bad record: {e}"))),
            }
        }
    }

    fn fill(&mut self) -> Result<(), CaptureError> {
        if self.pos > 0 && self.pos * 2 >= self.buf.len() {
            self.buf.drain(..self.pos);
            self.base += self.pos as u64;
            self.pos = 0;
        }
        let len = self.buf.len();
        self.buf.resize(len + READ_CHUNK, 0);
        let n = self
            .input
            .read(&mut self.buf[len..])
            .map_err(|source| CaptureError::Io {
                path: self.path.clone(),
                source,
            })?;
        self.buf.truncate(len + n);
        if n == 0 {
            self.eof = true;
        }
        Ok(())
    }

    /// The length the record starting `pending` gives itself (header
    /// included), when that much of its header is there.
    fn claimed_len(&self, pending: &[u8]) -> Option<u64> {
        let u32_at = |at: usize, big: bool| {
            let b: [u8; 4] = pending.get(at..at + 4)?.try_into().ok()?;
            Some(u64::from(if big {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            }))
        };
        match &self.format {
            // 16-byte record header, captured length at +8.
            Format::Pcap(p) => u32_at(8, p.header().endianness == Endianness::Big).map(|n| 16 + n),
            // Block total length at +4; a section header brings its own byte order.
            Format::PcapNg(p) => {
                let big = if pending.get(..4) == Some(&[0x0a, 0x0d, 0x0d, 0x0a]) {
                    pending.get(8..12) == Some(&[0x1a, 0x2b, 0x3c, 0x4d])
                } else {
                    p.section().endianness == Endianness::Big
                };
                u32_at(4, big)
            }
        }
    }

    fn corrupt(&self, offset: u64, what: String) -> CaptureError {
        CaptureError::Corrupt {
            path: self.path.clone(),
            offset,
            what,
        }
    }
}

// A valid pcap header, only to give `format` a value before the real one is read.
const PCAP_PLACEHOLDER: [u8; 24] = [
    0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0,
];

fn is_pcap_magic(m: &[u8]) -> bool {
    matches!(
        m,
        [0xa1, 0xb2, 0xc3, 0xd4]
            | [0xd4, 0xc3, 0xb2, 0xa1]
            | [0xa1, 0xb2, 0x3c, 0x4d]
            | [0x4d, 0x3c, 0xb2, 0xa1]
    )
}

/// Where `part` (a borrowed sub-slice of `whole`) lies in it.
fn sub_range(whole: &[u8], part: &[u8]) -> (usize, usize) {
    let start = part.as_ptr() as usize - whole.as_ptr() as usize;
    (start, start + part.len())
}

fn tsresol(options: &[InterfaceDescriptionOption<'_>]) -> u8 {
    options
        .iter()
        .find_map(|o| match o {
            InterfaceDescriptionOption::IfTsResol(r) => Some(*r),
            _ => None,
        })
        .unwrap_or(6)
}

/// A raw pcapng timestamp in units of `resol` (if_tsresol) to nanoseconds.
pub fn scale_timestamp(raw: u128, resol: u8) -> u64 {
    let ns = if resol & 0x80 == 0 {
        let exp = u32::from(resol);
        if exp <= 9 {
            raw * 10u128.pow(9 - exp)
        } else {
            raw / 10u128.pow((exp - 9).min(38))
        }
    } else {
        (raw * 1_000_000_000) >> u32::from(resol & 0x7f).min(127)
    };
    ns.min(u64::MAX as u128) as u64
}
