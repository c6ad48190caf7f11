//! `alexa simulate`: a deterministic Echo traffic simulator that writes a
//! capture, the ground truth of every frame the device sent, and the device's
//! addresses. Labels are true by construction: every device frame is pushed
//! with the class the generator sent it for.
//!
//! - [`frames`]: Ethernet/IPv4/TCP/UDP builders with real checksums, pcap writer;
//! - [`tls`]: TLS record payloads;
//! - [`contexts`]: the Echo's behaviour, background and per context;
//! - [`calibration`]: every rate, size and duration, calibrated to the
//!   published dataset (docs/simulator.md).

pub mod calibration;
pub mod contexts;
pub mod frames;
pub mod tls;

use std::{fmt, net::Ipv4Addr, path::Path, str::FromStr};

use anyhow::{bail, Context as _, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::{offline::labels::Label, util::atomic_file::AtomicFile};
use frames::{Host, TcpFields, FIN, RST, SYN};

/// The paper's four capture contexts (section 4), in the paper's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Context {
    MicOff,
    Streaming,
    NoWakeWord,
    Conversation,
}

impl Context {
    pub const ALL: [Context; 4] = [
        Context::MicOff,
        Context::Streaming,
        Context::NoWakeWord,
        Context::Conversation,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Context::MicOff => "mic-off",
            Context::Streaming => "streaming",
            Context::NoWakeWord => "no-wake-word",
            Context::Conversation => "conversation",
        }
    }

    pub fn microphone(self) -> bool {
        self != Context::MicOff
    }

    /// The class of the application data the Echo sends in this context
    /// (the published dataset's rule, docs/simulator.md): muted, nothing
    /// explains it; listening, nobody spoke to it; otherwise the user asked
    /// (a conversation, or music the user asked for).
    pub fn app_class(self) -> &'static str {
        match self {
            Context::MicOff => "not_justified",
            Context::NoWakeWord => "justified",
            Context::Streaming | Context::Conversation => "expected",
        }
    }
}

/// The class name [`Sim`] resolves to the context's [`Context::app_class`]
/// at the frame's time.
pub const APP: &str = "app";

impl fmt::Display for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which contexts to simulate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    One(Context),
    All,
}

impl Scenario {
    pub fn contexts(self) -> Vec<Context> {
        match self {
            Scenario::One(c) => vec![c],
            Scenario::All => Context::ALL.to_vec(),
        }
    }
}

impl FromStr for Scenario {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "all" {
            return Ok(Scenario::All);
        }
        Context::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .map(Scenario::One)
            .ok_or_else(|| {
                format!(
                    "unknown scenario `{s}` (mic-off, no-wake-word, conversation, streaming, all)"
                )
            })
    }
}

#[derive(Clone, Copy, Debug)]
pub struct SimOptions {
    pub scenario: Scenario,
    pub seed: u64,
    /// Multiplies every context's duration (and so the counts).
    pub duration_scale: f64,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            scenario: Scenario::All,
            seed: 1,
            duration_scale: 1.0,
        }
    }
}

/// Ground truth of one device frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Truth {
    pub context: Context,
    pub microphone: bool,
    /// Class id (`alexa_common::CLASS_NAMES`).
    pub class: u8,
}

/// One frame of the simulated capture.
#[derive(Clone, Debug)]
pub struct SimFrame {
    pub ts_us: u64,
    order: u64,
    pub data: Vec<u8>,
    /// Set on every frame the device sent, never on others.
    pub truth: Option<Truth>,
}

/// The simulated network: who is who.
pub mod hosts {
    use super::*;
    /// The Echo, as in the paper's traces.
    pub const ECHO: Host = Host {
        mac: [0x68, 0x54, 0xfd, 0x3a, 0x5e, 0x94],
        ip: Ipv4Addr::new(192, 168, 137, 94),
    };
    /// The gateway (also the LAN's DNS resolver); every off-LAN frame goes through it.
    pub const GATEWAY: Host = Host {
        mac: [0x02, 0x00, 0x5e, 0x00, 0x89, 0x01],
        ip: Ipv4Addr::new(192, 168, 137, 1),
    };
    /// The Fire Stick the Echo tries to reach and that never answers.
    pub const FIRE_STICK: Host = Host {
        mac: [0x74, 0xc2, 0x46, 0x1b, 0x22, 0x33],
        ip: Ipv4Addr::new(192, 168, 137, 51),
    };
    /// A remote server behind the gateway (documentation address space only).
    pub fn remote(ip: Ipv4Addr) -> Host {
        Host {
            mac: GATEWAY.mac,
            ip,
        }
    }
}

/// What the generator produced, in capture order.
pub struct Simulation {
    pub frames: Vec<SimFrame>,
    pub devices: Vec<Ipv4Addr>,
}

/// The simulator's state: clock-free (every frame carries its own time),
/// one seeded RNG, the timeline of contexts.
pub struct Sim {
    pub rng: ChaCha8Rng,
    frames: Vec<SimFrame>,
    order: u64,
    ip_id: u16,
    next_port: u16,
    /// (start µs, end µs, context), consecutive.
    pub timeline: Vec<(u64, u64, Context)>,
}

/// A TCP connection from the Echo, both sides' numbers kept.
#[derive(Clone, Debug)]
pub struct Conn {
    pub server: Host,
    pub dev_port: u16,
    pub srv_port: u16,
    pub dev_next: u32,
    pub srv_next: u32,
    pub dev_isn: u32,
    /// Server frames are sent from the server's LAN-side next hop (`server.mac`).
    pub dev_window: u16,
    /// Both sides use TCP timestamps (the Echo always offers them in its
    /// SYN; some servers refuse them, and then no segment carries them).
    pub ts: bool,
}

impl Sim {
    pub fn new(seed: u64, timeline: Vec<(u64, u64, Context)>) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let ip_id = rng.gen();
        let next_port = rng.gen_range(32_768..50_000);
        Sim {
            rng,
            frames: Vec::new(),
            order: 0,
            ip_id,
            next_port,
            timeline,
        }
    }

    pub fn start(&self) -> u64 {
        self.timeline.first().map_or(0, |t| t.0)
    }

    pub fn end(&self) -> u64 {
        self.timeline.last().map_or(0, |t| t.1)
    }

    /// The context at `ts_us` (the last one past the end).
    pub fn context_at(&self, ts_us: u64) -> Context {
        self.timeline
            .iter()
            .find(|(s, e, _)| ts_us >= *s && ts_us < *e)
            .or(self.timeline.last())
            .map(|t| t.2)
            .expect("a timeline")
    }

    fn push(&mut self, ts_us: u64, data: Vec<u8>, truth: Option<Truth>) {
        self.order += 1;
        self.frames.push(SimFrame {
            ts_us,
            order: self.order,
            data,
            truth,
        });
    }

    fn truth(&self, ts_us: u64, class: &str) -> Truth {
        let context = self.context_at(ts_us);
        let class = if class == APP {
            context.app_class()
        } else {
            class
        };
        Truth {
            context,
            microphone: context.microphone(),
            class: alexa_common::class_id(class).expect("a class name"),
        }
    }

    fn next_id(&mut self) -> u16 {
        self.ip_id = self.ip_id.wrapping_add(1);
        self.ip_id
    }

    /// A fresh ephemeral port (Linux's range).
    pub fn ephemeral_port(&mut self) -> u16 {
        self.next_port = if self.next_port >= 60_999 {
            32_768
        } else {
            self.next_port + 1 + self.rng.gen_range(0..7)
        };
        self.next_port.min(60_999)
    }

    /// A new, not yet opened connection to `server:port` with TCP timestamps.
    pub fn conn(&mut self, server: Host, port: u16) -> Conn {
        self.conn_ts(server, port, true)
    }

    /// A new, not yet opened connection; `ts`: the server accepts TCP timestamps.
    pub fn conn_ts(&mut self, server: Host, port: u16, ts: bool) -> Conn {
        let dev_isn: u32 = self.rng.gen();
        let srv_isn: u32 = self.rng.gen();
        Conn {
            server,
            dev_port: self.ephemeral_port(),
            srv_port: port,
            dev_next: dev_isn,
            srv_next: srv_isn,
            dev_isn,
            dev_window: 502,
            ts,
        }
    }

    /// The Echo sends a TCP segment on `c`; returns its time.
    pub fn dev_tcp(
        &mut self,
        c: &mut Conn,
        ts_us: u64,
        flags: u8,
        payload: &[u8],
        class: &str,
    ) -> u64 {
        self.dev_tcp_at_seq(c, ts_us, flags, payload, class, c.dev_next)
    }

    /// A pure ACK reporting `blocks` SACK blocks (a duplicate ACK after a loss).
    pub fn dev_sack(&mut self, c: &mut Conn, ts_us: u64, blocks: u8, class: &str) -> u64 {
        let seq = c.dev_next;
        self.dev_segment(c, ts_us, frames::ACK, &[], class, seq, blocks)
    }

    /// As [`Sim::dev_tcp`] with an explicit sequence number (a repeated SYN).
    pub fn dev_tcp_at_seq(
        &mut self,
        c: &mut Conn,
        ts_us: u64,
        flags: u8,
        payload: &[u8],
        class: &str,
        seq: u32,
    ) -> u64 {
        self.dev_segment(c, ts_us, flags, payload, class, seq, 0)
    }

    #[allow(clippy::too_many_arguments)]
    fn dev_segment(
        &mut self,
        c: &mut Conn,
        ts_us: u64,
        flags: u8,
        payload: &[u8],
        class: &str,
        seq: u32,
        sack: u8,
    ) -> u64 {
        let t = TcpFields {
            src_port: c.dev_port,
            dst_port: c.srv_port,
            seq,
            ack: c.srv_next,
            flags,
            window: c.dev_window,
            // A RST carries no options (the published resets are 54 bytes).
            timestamps: ((c.ts || flags & SYN != 0) && flags & RST == 0)
                .then_some(((ts_us / 1_000) as u32, 0)),
            sack,
        };
        let id = self.next_id();
        let f = frames::tcp_frame(&hosts::ECHO, &c.server, &t, payload, id, 64);
        let end = seq
            .wrapping_add(payload.len() as u32)
            .wrapping_add(u32::from(flags & (SYN | FIN) != 0));
        if frames::seq_after(end, c.dev_next) {
            c.dev_next = end;
        }
        let truth = self.truth(ts_us, class);
        self.push(ts_us, f, Some(truth));
        ts_us
    }

    /// The server sends a segment on `c` (not labelled: not the device's).
    pub fn srv_tcp(&mut self, c: &mut Conn, ts_us: u64, flags: u8, payload: &[u8]) -> u64 {
        let t = TcpFields {
            src_port: c.srv_port,
            dst_port: c.dev_port,
            seq: c.srv_next,
            ack: c.dev_next,
            flags,
            window: 1_050,
            timestamps: c
                .ts
                .then_some(((ts_us / 1_000) as u32 ^ 0x5a5a_0000, (ts_us / 1_000) as u32)),
            sack: 0,
        };
        let id = self.rng.gen();
        let f = frames::tcp_frame(&c.server, &hosts::ECHO, &t, payload, id, 231);
        c.srv_next = c
            .srv_next
            .wrapping_add(payload.len() as u32)
            .wrapping_add(u32::from(flags & (SYN | FIN) != 0));
        self.push(ts_us, f, None);
        ts_us
    }

    /// The Echo sends a UDP datagram.
    pub fn dev_udp(
        &mut self,
        ts_us: u64,
        dst: Host,
        sport: u16,
        dport: u16,
        payload: &[u8],
        class: &str,
    ) {
        let id = self.next_id();
        let f = frames::udp_frame(
            &hosts::ECHO,
            &dst,
            sport,
            dport,
            payload,
            id,
            if dst.ip.is_multicast() { 255 } else { 64 },
        );
        let truth = self.truth(ts_us, class);
        self.push(ts_us, f, Some(truth));
    }

    /// A server answers over UDP.
    pub fn srv_udp(&mut self, ts_us: u64, src: Host, sport: u16, dport: u16, payload: &[u8]) {
        let id = self.rng.gen();
        let f = frames::udp_frame(&src, &hosts::ECHO, sport, dport, payload, id, 64);
        self.push(ts_us, f, None);
    }

    /// Every frame, in capture order (time, then generation order).
    pub fn finish(mut self) -> Vec<SimFrame> {
        self.frames.sort_by_key(|f| (f.ts_us, f.order));
        self.frames
    }
}

/// The timeline for a scenario: contexts back to back from the fixed start.
pub fn timeline(opts: &SimOptions) -> Vec<(u64, u64, Context)> {
    let mut t = calibration::START_US;
    opts.scenario
        .contexts()
        .into_iter()
        .map(|c| {
            let d = (calibration::duration_s(c) * opts.duration_scale * 1e6) as u64;
            let span = (t, t + d, c);
            t += d;
            span
        })
        .collect()
}

/// Runs the generator in memory.
pub fn generate(opts: &SimOptions) -> Result<Simulation> {
    if !(opts.duration_scale.is_finite()
        && opts.duration_scale > 0.0
        && opts.duration_scale <= 100.0)
    {
        bail!(
            "--duration-scale must be a number above 0 and at most 100, not {}",
            opts.duration_scale
        );
    }
    let mut sim = Sim::new(opts.seed, timeline(opts));
    contexts::run(&mut sim);
    Ok(Simulation {
        frames: sim.finish(),
        devices: vec![hosts::ECHO.ip],
    })
}

/// What `simulate` wrote.
#[derive(Clone, Copy, Debug, Default)]
pub struct Written {
    pub frames: u64,
    pub labelled: u64,
    pub seconds: f64,
}

/// `alexa simulate`: writes `DIR/capture.pcap`, `DIR/labels.csv` and
/// `DIR/devices.txt`, each whole or not at all.
pub fn simulate_to_dir(opts: &SimOptions, dir: &Path) -> Result<Written> {
    use std::io::Write as _;
    let sim = generate(opts)?;
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    let pcap_path = dir.join("capture.pcap");
    let labels_path = dir.join("labels.csv");
    let devices_path = dir.join("devices.txt");

    let mut pcap = AtomicFile::create(&pcap_path)?;
    let mut labels = AtomicFile::create(&labels_path)?;
    let mut written = Written::default();
    {
        let mut out = frames::PcapOut::new(pcap.writer())
            .with_context(|| format!("{}: cannot write", pcap_path.display()))?;
        let mut csv = csv::Writer::from_writer(labels.writer());
        for (i, f) in sim.frames.iter().enumerate() {
            out.frame(f.ts_us, &f.data)
                .with_context(|| format!("{}: cannot write", pcap_path.display()))?;
            if let Some(t) = f.truth {
                csv.serialize(Label {
                    frame: i as u64 + 1,
                    timestamp: f.ts_us as f64 / 1e6,
                    context: t.context.name().to_owned(),
                    microphone: t.microphone as u8,
                    class: alexa_common::class_name(t.class).unwrap_or("").to_owned(),
                })
                .with_context(|| format!("{}: cannot write", labels_path.display()))?;
                written.labelled += 1;
            }
        }
        csv.flush()
            .with_context(|| format!("{}: cannot write", labels_path.display()))?;
        written.frames = sim.frames.len() as u64;
        if let (Some(a), Some(b)) = (sim.frames.first(), sim.frames.last()) {
            written.seconds = (b.ts_us - a.ts_us) as f64 / 1e6;
        }
    }
    let mut devices = AtomicFile::create(&devices_path)?;
    for d in &sim.devices {
        writeln!(devices, "{d}")?;
    }
    pcap.commit()?;
    labels.commit()?;
    devices.commit()?;
    Ok(written)
}
