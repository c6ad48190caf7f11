//! The real agent under load: `alexa run` attached to a veth in a namespace
//! the bench creates, its verdict log a FIFO the bench reads (as a log
//! shipper would), and the kernel fed through `BPF_PROG_TEST_RUN` on the
//! very program the agent attached (found by its id on the interface), so
//! events go through the agent's own ring buffer, decoding, policy,
//! evidence, batching and log writer.

use std::{
    io::Read as _,
    os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd, RawFd},
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc, Mutex,
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};

use anyhow::{anyhow, bail, Context as _, Result};

use crate::{
    agent::Agent,
    netns::{veth_pair, Netns},
};

/// The agent's interface in the bench's namespace.
pub const IFACE: &str = "lan0";

/// What the FIFO reader saw.
#[derive(Default)]
pub struct LogStats {
    pub lines: AtomicU64,
    /// While set, each line's latency (µs: read time minus the line's timestamp).
    pub recording: AtomicBool,
    pub latencies_us: Mutex<Vec<u64>>,
    /// Monotonic time of the last line read.
    pub last_line: Mutex<Option<Instant>>,
    /// The last complete line read.
    pub last: Mutex<Vec<u8>>,
}

pub struct Live {
    pub agent: Agent,
    /// The program the agent attached, opened by id.
    pub prog: OwnedFd,
    pub log: Arc<LogStats>,
    stop: Arc<AtomicBool>,
    reader: Option<JoinHandle<()>>,
    // Dropped last: the agent detaches before its namespace goes.
    _peer: Netns,
    _ns: Netns,
}

/// Microseconds since midnight UTC of a log line's `timestamp`, its first
/// key (`{"timestamp":"YYYY-MM-DDThh:mm:ss.ffffffZ",...`).
fn line_time_us(line: &[u8]) -> Option<u64> {
    if !line.starts_with(b"{\"timestamp\":\"") {
        return None;
    }
    let d = line.get(14..40)?;
    let num = |r: std::ops::Range<usize>| -> Option<u64> {
        d.get(r)?.iter().try_fold(0u64, |acc, b| {
            b.is_ascii_digit().then(|| acc * 10 + (b - b'0') as u64)
        })
    };
    let (h, m, s, us) = (num(11..13)?, num(14..16)?, num(17..19)?, num(20..26)?);
    Some(((h * 60 + m) * 60 + s) * 1_000_000 + us)
}

fn realtime_us_of_day() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid timespec to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
    (ts.tv_sec as u64 % 86_400) * 1_000_000 + ts.tv_nsec as u64 / 1000
}

/// Reads the FIFO until `stop`: counts lines and, while recording, takes
/// each line's latency at the moment its bytes arrive.
fn read_log(mut fifo: std::fs::File, stats: Arc<LogStats>, stop: Arc<AtomicBool>) {
    let mut buf = vec![0u8; 1 << 20];
    let mut partial: Vec<u8> = Vec::new();
    let day = 86_400_000_000u64;
    while !stop.load(Ordering::Acquire) {
        let n = match fifo.read(&mut buf) {
            // No writer (yet, or any more): the agent opens it at start.
            Ok(0) => {
                std::thread::sleep(Duration::from_millis(1));
                continue;
            }
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(1));
                continue;
            }
            Err(_) => return,
        };
        let now = realtime_us_of_day();
        let recording = stats.recording.load(Ordering::Acquire);
        let mut lats = Vec::new();
        let mut lines = 0u64;
        let mut data = &buf[..n];
        let mut last: Option<Vec<u8>> = None;
        let last_newline = data.iter().rposition(|&b| b == b'\n');
        let mut offset = 0usize;
        while let Some(i) = data.iter().position(|&b| b == b'\n') {
            let line: &[u8] = if partial.is_empty() {
                &data[..i]
            } else {
                partial.extend_from_slice(&data[..i]);
                &partial
            };
            lines += 1;
            if recording {
                if let Some(t) = line_time_us(line) {
                    lats.push((now + day - t) % day);
                }
            }
            if Some(offset + i) == last_newline {
                last = Some(line.to_vec());
            }
            partial.clear();
            data = &data[i + 1..];
            offset += i + 1;
        }
        partial.extend_from_slice(data);
        if let Some(l) = last {
            *stats.last.lock().unwrap_or_else(|p| p.into_inner()) = l;
        }
        if lines > 0 {
            stats.lines.fetch_add(lines, Ordering::AcqRel);
            *stats.last_line.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
        }
        if !lats.is_empty() {
            stats
                .latencies_us
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend(lats);
        }
    }
}

/// BPF_PROG_GET_FD_BY_ID.
fn prog_fd_by_id(id: u32) -> Result<OwnedFd> {
    #[repr(C)]
    struct Attr {
        id: u32,
        next_id: u32,
        open_flags: u32,
    }
    let mut attr = Attr {
        id,
        next_id: 0,
        open_flags: 0,
    };
    // SAFETY: bpf(2) with an attribute block of the size given.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            13 as libc::c_long,
            &mut attr as *mut Attr,
            std::mem::size_of::<Attr>(),
        )
    };
    if fd < 0 {
        bail!(
            "BPF_PROG_GET_FD_BY_ID {id}: {}",
            std::io::Error::last_os_error()
        );
    }
    // SAFETY: the kernel just returned this descriptor to us.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// The id of the XDP program attached to `iface` in `ns`.
fn attached_prog_id(ns: &Netns) -> Result<u32> {
    let out = std::process::Command::new("ip")
        .args(["-n", &ns.name, "-j", "-d", "link", "show", "dev", IFACE])
        .output()?;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .with_context(|| format!("ip -j link show: {}", String::from_utf8_lossy(&out.stdout)))?;
    let xdp = &v[0]["xdp"];
    xdp["prog"]["id"]
        .as_u64()
        .or_else(|| xdp["attached"][0]["prog"]["id"].as_u64())
        .map(|id| id as u32)
        .ok_or_else(|| anyhow!("no XDP program on {IFACE}: {xdp}"))
}

impl Live {
    /// `alexa run` on a fresh veth, monitoring `devices`, with `args` more.
    pub fn start(alexa: &Path, tag: &str, devices: &[String], args: &[&str]) -> Result<Live> {
        let ns = Netns::new(&format!("b{tag}"));
        let peer = Netns::new(&format!("p{tag}"));
        veth_pair(&ns, IFACE, &[], &peer, "wire0", &[]);
        let id = format!("bench-{tag}-{}", std::process::id());
        // tmpfs: the evidence file must not measure a disk.
        let dir = PathBuf::from(format!("/dev/shm/alexa-{id}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let mut agent = Agent::at(
            alexa.to_owned(),
            &ns,
            dir,
            PathBuf::from(format!("/sys/fs/bpf/alexa-{id}")),
            false,
        );
        let fifo = agent.log.clone();
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes())?;
        // SAFETY: a valid NUL-terminated path.
        if unsafe { libc::mkfifo(c.as_ptr(), 0o600) } != 0 {
            bail!(
                "mkfifo {}: {}",
                fifo.display(),
                std::io::Error::last_os_error()
            );
        }
        // Opened before the agent, without blocking, so that its open for
        // writing finds a reader; 1 MiB of pipe so that the reader's
        // scheduling does not throttle the agent.
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&fifo)?;
        // SAFETY: fcntl on a descriptor we own.
        unsafe {
            libc::fcntl(file.as_raw_fd(), libc::F_SETPIPE_SZ, 1 << 20);
            let flags = libc::fcntl(file.as_raw_fd(), libc::F_GETFL);
            libc::fcntl(file.as_raw_fd(), libc::F_SETFL, flags & !libc::O_NONBLOCK);
        }
        let log = Arc::new(LogStats::default());
        let stop = Arc::new(AtomicBool::new(false));
        let reader = {
            let (log, stop) = (log.clone(), stop.clone());
            std::thread::spawn(move || read_log(file, log, stop))
        };
        let mut full: Vec<&str> = Vec::new();
        for d in devices {
            full.extend(["--device", d.as_str()]);
        }
        full.extend(["--log-max-bytes", "0"]);
        full.extend(args);
        let started = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            agent.start(IFACE, &full);
        }));
        if started.is_err() {
            stop.store(true, Ordering::Release);
            bail!("the agent did not start: {}", agent.stderr().trim());
        }
        let prog = prog_fd_by_id(attached_prog_id(&ns)?)?;
        Ok(Live {
            agent,
            prog,
            log,
            stop,
            reader: Some(reader),
            _peer: peer,
            _ns: ns,
        })
    }

    pub fn fd(&self) -> RawFd {
        self.prog.as_raw_fd()
    }

    /// One of the kernel's counters, as `alexa status` reports it.
    pub fn counter(&self, name: &str) -> Result<u64> {
        let out = self.agent.ctl(&["status", "--json"]);
        if !out.status.success() {
            bail!(
                "alexa status failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
        v["counters"][name]
            .as_u64()
            .ok_or_else(|| anyhow!("alexa status has no counter {name}"))
    }

    /// The agent's resident and peak resident memory, KiB.
    pub fn rss_kib(&self) -> Result<(u64, u64)> {
        let pid = self
            .agent
            .process
            .as_ref()
            .context("agent not running")?
            .child
            .id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
                .unwrap_or(0)
        };
        Ok((field("VmRSS:"), field("VmHWM:")))
    }

    pub fn lines(&self) -> u64 {
        self.log.lines.load(Ordering::Acquire)
    }

    /// Waits until the log holds `lines` lines, or `limit` passes.
    pub fn wait_lines(&self, lines: u64, limit: Duration) -> bool {
        crate::agent::wait_for(limit, || self.lines() >= lines)
    }

    /// Runs the log reader at real-time priority (SCHED_FIFO) or back at
    /// the default: while set, a line's latency is the agent's, not the
    /// reader's wait for a CPU on this shared machine.
    pub fn reader_realtime(&self, on: bool) -> Result<()> {
        use std::os::unix::thread::JoinHandleExt as _;
        let Some(r) = &self.reader else {
            bail!("no log reader");
        };
        let (policy, priority) = if on {
            (libc::SCHED_FIFO, 10)
        } else {
            (libc::SCHED_OTHER, 0)
        };
        let param = libc::sched_param {
            sched_priority: priority,
        };
        // SAFETY: the thread is alive (joined only on drop); param is valid.
        let rc = unsafe { libc::pthread_setschedparam(r.as_pthread_t(), policy, &param) };
        if rc != 0 {
            bail!(
                "pthread_setschedparam: {}",
                std::io::Error::from_raw_os_error(rc)
            );
        }
        Ok(())
    }

    pub fn pin_dir(&self) -> &Path {
        &self.agent.pin_dir
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        if self.agent.process.is_some() {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.agent.stop()));
        }
        self.stop.store(true, Ordering::Release);
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }
}

use std::os::unix::fs::OpenOptionsExt as _;

#[cfg(test)]
mod tests {
    use super::line_time_us;

    #[test]
    fn a_log_lines_date_is_read_at_its_place() {
        let line = br#"{"timestamp":"2026-12-02T01:02:03.456789Z","event_type":"verdict"}"#;
        assert_eq!(
            line_time_us(line),
            Some(((60 + 2) * 60 + 3) * 1_000_000 + 456_789)
        );
        assert_eq!(line_time_us(br#"{"timestamp":"garbage"}"#), None);
        assert_eq!(
            line_time_us(br#"{"date":"2026-12-02 01:02:03.456789"}"#),
            None
        );
    }
}
