//! `alexa replay`: sends a device's frames from a capture out of a real
//! interface, in real time, so the XDP classifier on a gateway sees them as
//! it would see the device; and the counting side, [`ArrivalCounter`], that
//! attributes each frame arriving behind the gateway to its label.
//!
//! Timing follows the capture, except that idle gaps longer than a cap are
//! shortened to the cap: a simulated day then lasts minutes while the
//! spacing inside bursts (what `delta` sees of uploads, voice, music) is the
//! capture's. Each frame waits for its gap after the previous frame was
//! really sent, never for a point on a fixed timeline: a late frame then
//! makes one gap longer instead of squeezing the next frames together, which
//! would turn paced audio into what looks like a bulk upload.
//!
//! Every frame's IPv4 identification is set to its index in the labels, so a
//! receiver can tell which labelled frame arrived (the IP ID is not covered
//! by TCP/UDP checksums; the header checksum is recomputed).

use std::{
    net::Ipv4Addr,
    path::{Path, PathBuf},
    sync::atomic::{AtomicBool, Ordering},
    time::{Duration, Instant},
};

use alexa_common::parse::{parse, Verdict};
use anyhow::{bail, Context as _, Result};

use alexa::{
    control,
    offline::{capture::CaptureReader, labels, simulate::frames::checksum},
};

/// The IPv4 identification field numbers the frames: 16 bits.
pub const MAX_FRAMES: usize = 1 << 16;

/// Default idle-gap cap.
pub const DEFAULT_GAP_CAP: Duration = Duration::from_millis(250);

/// How long before a frame's time the pacing loop stops sleeping and spins:
/// a sleep can overshoot by tens of microseconds, more than the sub-millisecond
/// gaps of an upload's records.
const SPIN: Duration = Duration::from_micros(200);

/// What identifies a frame in the agent's verdict log (its columns).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FrameKey {
    pub dst: Ipv4Addr,
    pub proto: u8,
    pub srcport: u16,
    pub dstport: u16,
    /// L4 payload bytes (the dataset's `length`).
    pub length: u32,
    pub tcp_flags: u8,
}

/// One labelled frame, ready to send.
#[derive(Clone, Debug)]
pub struct ReplayFrame {
    /// Position in the labels, and the frame's IPv4 identification.
    pub index: u16,
    /// 1-based frame number in the capture.
    pub frame: u64,
    /// Capture time, nanoseconds since the Unix epoch.
    pub ts_ns: u64,
    pub class: u8,
    pub microphone: bool,
    pub key: FrameKey,
    /// The frame, identification already set.
    pub data: Vec<u8>,
}

/// Reads the frames `labels` names from `capture` and numbers them.
pub fn load(capture: &Path, labels_path: &Path) -> Result<Vec<ReplayFrame>> {
    let labels = labels::read_labels(labels_path)?;
    if labels.len() > MAX_FRAMES {
        bail!(
            "{}: {} labelled frames; a replay numbers frames in the 16-bit IPv4 identification, so at most {MAX_FRAMES} (simulate a shorter session)",
            labels_path.display(),
            labels.len()
        );
    }
    let mut reader = CaptureReader::open(capture)?;
    let mut out = Vec::with_capacity(labels.len());
    let mut next = labels.iter().peekable();
    while let Some(label) = next.peek() {
        let Some(f) = reader.next_frame()? else {
            bail!(
                "{}: line {}: frame {} is not in {}: the capture ends before it",
                labels_path.display(),
                label.line,
                label.frame,
                capture.display(),
            );
        };
        if f.number != label.frame {
            continue;
        }
        let index = out.len() as u16;
        let mut data = f.data.to_vec();
        let bad = |what: &str| {
            anyhow::anyhow!(
                "{}: frame {} (labels line {}): {what}; only IPv4 TCP/UDP frames can be replayed and counted",
                capture.display(),
                f.number,
                label.line
            )
        };
        let key = match parse(&data[..], |_| true) {
            Verdict::Packet(p) => {
                let dst = p.key.dst;
                if dst[..12] != alexa_common::parse::map_v4([0; 4])[..12] {
                    return Err(bad("not IPv4"));
                }
                FrameKey {
                    dst: Ipv4Addr::new(dst[12], dst[13], dst[14], dst[15]),
                    proto: p.key.proto,
                    srcport: p.key.src_port,
                    dstport: p.key.dst_port,
                    length: p.payload_len,
                    tcp_flags: p.tcp_flags,
                }
            }
            _ => return Err(bad("not a TCP or UDP packet")),
        };
        set_ipv4_id(&mut data, index).map_err(|e| bad(&e))?;
        out.push(ReplayFrame {
            index,
            frame: f.number,
            ts_ns: f.ts_ns,
            class: label.class,
            microphone: label.microphone,
            key,
            data,
        });
        next.next();
    }
    Ok(out)
}

/// Offset of the IPv4 header (after up to two VLAN tags).
fn ipv4_offset(data: &[u8]) -> Option<usize> {
    let mut off = 12;
    for _ in 0..3 {
        let ethertype = u16::from_be_bytes(data.get(off..off + 2)?.try_into().ok()?);
        match ethertype {
            0x0800 => return Some(off + 2),
            0x8100 | 0x88a8 => off += 4,
            _ => return None,
        }
    }
    None
}

/// Sets the IPv4 identification and recomputes the header checksum.
pub fn set_ipv4_id(data: &mut [u8], id: u16) -> Result<(), String> {
    let off = ipv4_offset(data).ok_or("not IPv4")?;
    let ihl = (*data.get(off).ok_or("truncated")? & 0x0f) as usize * 4;
    let header = data
        .get_mut(off..off + ihl)
        .ok_or("truncated IPv4 header")?;
    if ihl < 20 {
        return Err("bad IPv4 header length".into());
    }
    header[4..6].copy_from_slice(&id.to_be_bytes());
    header[10..12].copy_from_slice(&[0, 0]);
    let sum = checksum(&[header]);
    header[10..12].copy_from_slice(&sum.to_be_bytes());
    Ok(())
}

/// The IPv4 identification of a frame, if it is IPv4 from `src`.
pub fn ipv4_id_from(data: &[u8], src: Ipv4Addr) -> Option<u16> {
    let off = ipv4_offset(data)?;
    let h = data.get(off..off + 20)?;
    (h[0] >> 4 == 4 && h[12..16] == src.octets()).then(|| u16::from_be_bytes([h[4], h[5]]))
}

/// The IPv4 source address of a frame, if it is IPv4: what a receiver
/// counts a device's frames by ([`ArrivalCounter`]).
pub fn ipv4_src(data: &[u8]) -> Option<Ipv4Addr> {
    let off = ipv4_offset(data)?;
    let h = data.get(off..off + 20)?;
    (h[0] >> 4 == 4).then(|| Ipv4Addr::new(h[12], h[13], h[14], h[15]))
}

/// The gap before each frame: the capture's, capped.
pub fn gaps(frames: &[ReplayFrame], cap: Duration) -> Vec<Duration> {
    let mut prev = None;
    frames
        .iter()
        .map(|f| {
            let gap = prev.map_or(Duration::ZERO, |p: u64| {
                Duration::from_nanos(f.ts_ns.saturating_sub(p)).min(cap)
            });
            prev = Some(f.ts_ns);
            gap
        })
        .collect()
}

/// How long a replay with this cap takes, at the least.
pub fn planned(frames: &[ReplayFrame], cap: Duration) -> Duration {
    gaps(frames, cap).iter().sum()
}

#[derive(Clone, Debug)]
pub struct SendOptions {
    pub iface: String,
    pub gap_cap: Duration,
    /// Replaces the destination of unicast frames (group addresses are kept).
    pub dst_mac: Option<[u8; 6]>,
    /// Replaces the source of every frame.
    pub src_mac: Option<[u8; 6]>,
    /// The agent to tell when the labels' microphone state changes.
    pub control_socket: Option<PathBuf>,
    /// Pause after the agent confirmed a microphone change.
    pub mic_settle: Duration,
    /// Run the sending thread under SCHED_FIFO (needs root; skipped if refused).
    pub realtime: bool,
}

impl SendOptions {
    pub fn new(iface: &str) -> Self {
        SendOptions {
            iface: iface.to_owned(),
            gap_cap: DEFAULT_GAP_CAP,
            dst_mac: None,
            src_mac: None,
            control_socket: None,
            mic_settle: Duration::from_millis(5),
            realtime: true,
        }
    }
}

/// One frame as sent.
#[derive(Clone, Copy, Debug)]
pub struct SentFrame {
    pub index: u16,
    /// Since the first frame.
    pub at: Duration,
    /// How much later than its gap asked the frame left.
    pub late: Duration,
}

#[derive(Clone, Debug, Default)]
pub struct Sent {
    pub frames: Vec<SentFrame>,
    /// (index of the first frame in the new state, microphone on).
    pub mic_changes: Vec<(u16, bool)>,
    pub elapsed: Duration,
    /// The send loop ran under SCHED_FIFO.
    pub realtime: bool,
    /// Stopped early by the caller.
    pub interrupted: bool,
}

impl Sent {
    pub fn max_late(&self) -> Duration {
        self.frames.iter().map(|f| f.late).max().unwrap_or_default()
    }
}

/// Sends `frames` out of `opts.iface` (in the calling thread's network
/// namespace), paced as described in the module documentation. `progress`
/// is called with the number of frames sent after each one; `stop` ends the
/// replay early.
pub fn send(
    frames: &[ReplayFrame],
    opts: &SendOptions,
    stop: &AtomicBool,
    progress: &mut dyn FnMut(usize),
) -> Result<Sent> {
    let sock = PacketSocket::open(&opts.iface, 0)?;
    let realtime = opts.realtime && make_realtime();
    let gaps = gaps(frames, opts.gap_cap);
    let mut sent = Sent {
        frames: Vec::with_capacity(frames.len()),
        realtime,
        ..Sent::default()
    };
    let mut mic: Option<bool> = None;
    let mut buf = Vec::with_capacity(2048);
    let mut start = Instant::now();
    let mut last = start;
    for (i, (f, gap)) in frames.iter().zip(gaps).enumerate() {
        if stop.load(Ordering::Relaxed) {
            sent.interrupted = true;
            break;
        }
        if mic != Some(f.microphone) {
            if let Some(socket) = &opts.control_socket {
                control::call(socket, &control::Request::Mic { on: f.microphone })
                    .context("telling the agent the microphone's state")?;
                std::thread::sleep(opts.mic_settle);
                sent.mic_changes.push((f.index, f.microphone));
            }
            mic = Some(f.microphone);
        }
        if i == 0 {
            // The clock starts at the first frame, after the agent was told
            // the microphone's first state.
            start = Instant::now();
            last = start;
        }
        let due = last + gap;
        wait_until(due);
        buf.clear();
        buf.extend_from_slice(&f.data);
        rewrite_macs(&mut buf, opts.src_mac, opts.dst_mac);
        let now = Instant::now();
        sock.send(&buf)
            .with_context(|| format!("sending frame {} on {}", f.frame, opts.iface))?;
        last = now;
        sent.frames.push(SentFrame {
            index: f.index,
            at: now - start,
            late: now.saturating_duration_since(due),
        });
        progress(sent.frames.len());
    }
    sent.elapsed = start.elapsed();
    Ok(sent)
}

fn wait_until(due: Instant) {
    let now = Instant::now();
    if due > now + SPIN {
        std::thread::sleep(due - now - SPIN);
    }
    while Instant::now() < due {
        std::hint::spin_loop();
    }
}

/// SCHED_FIFO for this thread, and no timer slack: other workloads on the
/// machine then cannot delay a frame by a scheduler tick, which would show
/// in the classifier's `delta`.
fn make_realtime() -> bool {
    // SAFETY: sched_param is plain integers, for which zero is valid; musl's
    // has more fields than glibc's, hence no struct literal.
    let mut param: libc::sched_param = unsafe { std::mem::zeroed() };
    param.sched_priority = 10;
    // SAFETY: plain syscalls on the calling thread with valid arguments.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1, 0, 0, 0);
        libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) == 0
    }
}

fn rewrite_macs(frame: &mut [u8], src: Option<[u8; 6]>, dst: Option<[u8; 6]>) {
    if let Some(d) = dst {
        if frame[0] & 1 == 0 {
            frame[..6].copy_from_slice(&d);
        }
    }
    if let Some(s) = src {
        frame[6..12].copy_from_slice(&s);
    }
}

/// `aa:bb:cc:dd:ee:ff`.
pub use alexa::kernel::device::parse_mac;

/// An AF_PACKET socket bound to one interface (of the calling thread's
/// network namespace).
pub struct PacketSocket {
    fd: std::os::fd::OwnedFd,
}

impl PacketSocket {
    /// `protocol` 0 sends only; `ETH_P_ALL` receives every frame.
    pub fn open(iface: &str, protocol: u16) -> Result<Self> {
        let (fd, _) = crate::wire::bind_here(iface, protocol).map_err(|e| {
            anyhow::anyhow!("cannot open a packet socket on {iface}: {e} (root needed)")
        })?;
        Ok(PacketSocket { fd })
    }

    fn raw(&self) -> i32 {
        use std::os::fd::AsRawFd;
        self.fd.as_raw_fd()
    }

    pub fn send(&self, frame: &[u8]) -> std::io::Result<()> {
        loop {
            // SAFETY: a valid buffer of the length given.
            let n = unsafe { libc::send(self.raw(), frame.as_ptr().cast(), frame.len(), 0) };
            if n == frame.len() as isize {
                return Ok(());
            }
            let e = std::io::Error::last_os_error();
            match e.raw_os_error() {
                // The device queue is momentarily full: the frame was not sent.
                Some(libc::ENOBUFS) | Some(libc::EAGAIN) => {
                    std::thread::sleep(Duration::from_micros(20))
                }
                Some(libc::EINTR) => {}
                _ if n >= 0 => {
                    return Err(std::io::Error::other(format!(
                        "sent {n} of {} bytes",
                        frame.len()
                    )))
                }
                _ => return Err(e),
            }
        }
    }

    fn set_option<T>(&self, level: i32, name: i32, value: &T) -> std::io::Result<()> {
        // SAFETY: `value` points to a T of the size given.
        let rc = unsafe {
            libc::setsockopt(
                self.raw(),
                level,
                name,
                (value as *const T).cast(),
                std::mem::size_of::<T>() as u32,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    }

    /// Frames the kernel could not queue to this socket since the last call.
    fn drops(&self) -> std::io::Result<u64> {
        // SAFETY: tpacket_stats is plain data; the kernel fills it.
        let mut st: libc::tpacket_stats = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::tpacket_stats>() as u32;
        // SAFETY: a valid buffer and its length.
        let rc = unsafe {
            libc::getsockopt(
                self.raw(),
                libc::SOL_PACKET,
                libc::PACKET_STATISTICS,
                (&mut st as *mut libc::tpacket_stats).cast(),
                &mut len,
            )
        };
        if rc == 0 {
            Ok(u64::from(st.tp_drops))
        } else {
            Err(std::io::Error::last_os_error())
        }
    }
}

/// Counts, on one interface, the frames of a replay that arrive there: IPv4
/// frames from the device, by identification (= label index).
pub struct ArrivalCounter {
    sock: PacketSocket,
    device: Ipv4Addr,
}

/// What arrived.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Arrivals {
    /// Frames seen per identification (= label index), all 65,536.
    pub by_id: Vec<u32>,
    /// Frames from the device in all.
    pub frames: u64,
    /// Frames the kernel could not queue to the counting socket: the counts
    /// are exact only when this is 0.
    pub socket_drops: u64,
}

impl ArrivalCounter {
    /// Ready to count once this returns (in the calling thread's namespace).
    pub fn open(iface: &str, device: Ipv4Addr) -> Result<Self> {
        let sock = PacketSocket::open(iface, libc::ETH_P_ALL as u16)?;
        // Room for bursts: the counting thread may be descheduled for a while.
        let _ = sock.set_option(libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, &(32i32 << 20));
        let timeout = libc::timeval {
            tv_sec: 0,
            tv_usec: 50_000,
        };
        sock.set_option(libc::SOL_SOCKET, libc::SO_RCVTIMEO, &timeout)
            .context("SO_RCVTIMEO")?;
        Ok(ArrivalCounter { sock, device })
    }

    /// Counts until `stop` is set; `seen` follows the number of device frames.
    pub fn run(self, stop: &AtomicBool, seen: &std::sync::atomic::AtomicU64) -> Result<Arrivals> {
        let mut a = Arrivals {
            by_id: vec![0; MAX_FRAMES],
            frames: 0,
            socket_drops: self.sock.drops().context("PACKET_STATISTICS")?,
        };
        let mut buf = vec![0u8; 65_536];
        loop {
            // SAFETY: sockaddr_ll is plain data; the kernel fills it.
            let mut from: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
            let mut len = std::mem::size_of::<libc::sockaddr_ll>() as u32;
            // SAFETY: valid buffers and lengths.
            let n = unsafe {
                libc::recvfrom(
                    self.sock.raw(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    0,
                    (&mut from as *mut libc::sockaddr_ll).cast(),
                    &mut len,
                )
            };
            if n < 0 {
                let e = std::io::Error::last_os_error();
                match e.raw_os_error() {
                    Some(libc::EAGAIN) | Some(libc::EINTR) => {
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        continue;
                    }
                    _ => return Err(e).context("receiving"),
                }
            }
            if from.sll_pkttype == libc::PACKET_OUTGOING {
                continue;
            }
            if let Some(id) = ipv4_id_from(&buf[..n as usize], self.device) {
                a.by_id[id as usize] += 1;
                a.frames += 1;
                seen.store(a.frames, Ordering::Relaxed);
            }
            if stop.load(Ordering::Relaxed) {
                break;
            }
        }
        a.socket_drops += self.sock.drops().context("PACKET_STATISTICS")?;
        Ok(a)
    }
}

/// Frames sent per class.
pub fn per_class(frames: &[ReplayFrame], sent: &Sent) -> [u64; alexa_common::NUM_CLASSES] {
    let mut n = [0u64; alexa_common::NUM_CLASSES];
    for s in &sent.frames {
        if let Some(c) = frames.get(s.index as usize).map(|f| f.class as usize) {
            if let Some(slot) = n.get_mut(c) {
                *slot += 1;
            }
        }
    }
    n
}

/// One CSV line per frame sent: what a receiver's counts are joined with.
pub fn write_record(path: &Path, frames: &[ReplayFrame], sent: &Sent) -> Result<()> {
    use std::io::Write as _;
    let mut file = alexa::util::atomic_file::AtomicFile::create(path)?;
    let w = file.writer();
    writeln!(
        w,
        "index,frame,class,microphone,dst,proto,srcport,dstport,length,tcp_flags,sent_s,late_us"
    )?;
    for s in &sent.frames {
        let f = &frames[s.index as usize];
        writeln!(
            w,
            "{},{},{},{},{},{},{},{},{},{},{:.6},{}",
            f.index,
            f.frame,
            alexa_common::class_name(f.class).unwrap_or(""),
            u8::from(f.microphone),
            f.key.dst,
            f.key.proto,
            f.key.srcport,
            f.key.dstport,
            f.key.length,
            f.key.tcp_flags,
            s.at.as_secs_f64(),
            s.late.as_micros()
        )
        .with_context(|| format!("{}: cannot write", path.display()))?;
    }
    file.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(ts_ms: u64) -> ReplayFrame {
        ReplayFrame {
            index: 0,
            frame: 1,
            ts_ns: ts_ms * 1_000_000,
            class: 0,
            microphone: true,
            key: FrameKey {
                dst: Ipv4Addr::LOCALHOST,
                proto: 6,
                srcport: 1,
                dstport: 2,
                length: 0,
                tcp_flags: 0,
            },
            data: Vec::new(),
        }
    }

    #[test]
    fn long_gaps_are_capped_and_short_ones_kept() {
        let f: Vec<_> = [0, 1, 31_000, 31_000, 31_200].map(frame).into();
        let g = gaps(&f, Duration::from_millis(250));
        let ms = |n| Duration::from_millis(n);
        assert_eq!(g, vec![ms(0), ms(1), ms(250), ms(0), ms(200)]);
        assert_eq!(planned(&f, ms(250)), ms(451));
    }

    #[test]
    fn the_identification_is_set_and_the_header_checksum_stays_valid() {
        // A real IPv4 header (checksum 0xb861) behind an Ethernet header.
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x00]);
        f.extend_from_slice(&[
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ]);
        set_ipv4_id(&mut f, 0).unwrap();
        assert_eq!(&f[24..26], &[0xb8, 0x61], "same id, same checksum");
        set_ipv4_id(&mut f, 0xbeef).unwrap();
        assert_eq!(checksum(&[&f[14..34]]), 0, "a valid header sums to 0");
        let src = Ipv4Addr::new(192, 168, 0, 1);
        assert_eq!(ipv4_src(&f), Some(src));
        assert_eq!(ipv4_id_from(&f, src), Some(0xbeef));
        assert_eq!(ipv4_id_from(&f, Ipv4Addr::new(10, 0, 0, 1)), None);
    }

    #[test]
    fn group_destinations_keep_their_address() {
        let mut f = vec![0u8; 14];
        f[0] = 0x01;
        rewrite_macs(&mut f, Some([2; 6]), Some([4; 6]));
        assert_eq!(f[0], 0x01);
        assert_eq!(&f[6..12], &[2; 6]);
        let mut f = vec![0u8; 14];
        rewrite_macs(&mut f, None, Some([4; 6]));
        assert_eq!(&f[..6], &[4; 6]);
    }

    #[test]
    fn macs_parse() {
        assert_eq!(
            parse_mac("02:00:5e:00:89:01").unwrap(),
            [2, 0, 0x5e, 0, 0x89, 1]
        );
        assert!(parse_mac("02:00:5e:00:89").is_err());
        assert!(parse_mac("zz:00:5e:00:89:01").is_err());
    }
}
