//! The Echo's behaviour, as the published dataset shows it (2022). Background
//! processes run over the whole timeline: the voice service's long-lived
//! connection and its 30-second keep-alive, a second keep-alive every ~91 s,
//! the synchronisation channel on TCP 4070, a short TLS session to a regional
//! server every 5 minutes, uploads, content-delivery sessions, a LAN peer that
//! never answers. Each context adds its own: music (HTTP and HTTPS downloads),
//! conversations (the utterance streamed as small audio records, the answer
//! streamed back).
//!
//! Activities that share a TCP connection are scheduled first and emitted in
//! time order, so sequence and acknowledgement numbers stay consistent. Every
//! frame the Echo sends gets the class the published labelling rules give it
//! (`alexa label`); application data gets its context's class
//! ([`Context::app_class`]).

mod music;
mod sessions;
mod tcp;
mod udp;
mod voice;

use std::net::Ipv4Addr;

use rand::Rng;

use super::{
    calibration::*,
    frames::{Host, ACK, FIN, PSH, RST, SYN},
    hosts, tls, Conn, Context, Sim, APP,
};

use self::{music::*, sessions::*, tcp::*, udp::*, voice::*};

const MS: u64 = 1_000;
const S: u64 = 1_000_000;

/// Ethernet + IPv4 + TCP headers, without options.
const BASE: usize = 54;
/// The TCP timestamps option.
const TS_OPT: usize = 12;

fn us(ms: f64) -> u64 {
    (ms.max(0.0) * 1e3) as u64
}

fn around(sim: &mut Sim, mean_s: f64) -> u64 {
    (sim.rng.gen_range(0.5..1.5) * mean_s * 1e6) as u64
}

/// A connection's round trip (µs), drawn once per connection.
fn draw_rtt(sim: &mut Sim) -> u64 {
    us(sample(RTT_MS, &mut sim.rng))
}

/// One round trip on a connection whose typical round trip is `rtt`.
fn rt(sim: &mut Sim, rtt: u64) -> u64 {
    (rtt as f64 * sim.rng.gen_range(0.93..1.07)) as u64
}

/// The gap between two segments the Echo sends back to back (µs): mostly
/// inside the same millisecond.
fn tiny(sim: &mut Sim) -> u64 {
    if sim.rng.gen_bool(0.85) {
        sim.rng.gen_range(20..500)
    } else {
        sim.rng.gen_range(500..2_500)
    }
}

/// The gap between two records of a burst (µs), as [`BURST_GAP_MS`].
fn burst_gap(sim: &mut Sim) -> u64 {
    let ms = pick(BURST_GAP_MS, &mut sim.rng);
    u64::from(ms) * MS + sim.rng.gen_range(30..990)
}

/// The ClientHello's lag after the Echo's ACK of the SYN-ACK (µs).
fn hello_lag(sim: &mut Sim) -> u64 {
    sim.rng.gen_range(100..1_600)
}

/// The TCP payload that makes a device frame of `frame` bytes on `c`.
fn payload_for(c: &Conn, frame: usize) -> usize {
    let hdr = BASE + if c.ts { TS_OPT } else { 0 };
    frame.saturating_sub(hdr).max(tls::HEADER + 1)
}

/// An application-data record of `total` bytes (header included) whose
/// length field is not one of the keep-alives' (28, 41: `syn` by the
/// published rules).
fn app_record(sim: &mut Sim, total: usize) -> Vec<u8> {
    let total = match total - tls::HEADER {
        28 | 41 => total + 1,
        _ => total,
    };
    tls::record(tls::APPLICATION_DATA, total, &mut sim.rng)
}

/// One record in one segment, sized so the frame is `frame` bytes.
fn send_record(sim: &mut Sim, c: &mut Conn, t: u64, frame: usize, class: &str) -> u64 {
    let len = payload_for(c, frame).min(MSS);
    let rec = app_record(sim, len);
    sim.dev_tcp(c, t, ACK | PSH, &rec, class)
}

/// One record of `total` bytes over as many segments as it needs: the
/// segments before its last end no record (TCP, `not_relevant` by the
/// published rules); the last gets `class`. Returns the last one's time.
fn send_spanning(sim: &mut Sim, c: &mut Conn, t: u64, total: usize, class: &str) -> u64 {
    let rec = app_record(sim, total);
    let mut t = t;
    let n = rec.len().div_ceil(MSS);
    for (i, seg) in rec.chunks(MSS).enumerate() {
        let last = i + 1 == n;
        if i > 0 {
            t += burst_gap(sim);
        }
        let (flags, cls) = if last {
            (ACK | PSH, class)
        } else {
            (ACK, "not_relevant")
        };
        sim.dev_tcp(c, t, flags, seg, cls);
    }
    t
}

/// The server sends `bytes` (not acknowledged here); returns its time.
fn srv_bytes(sim: &mut Sim, c: &mut Conn, t: u64, bytes: usize) -> u64 {
    let data = vec![0x17u8; bytes.min(MSS)];
    let mut left = bytes;
    let mut t = t;
    while left > 0 {
        let n = left.min(MSS);
        left -= n;
        sim.srv_tcp(c, t, if left == 0 { ACK | PSH } else { ACK }, &data[..n]);
        t += 80;
    }
    t
}

/// The server sends one segment and the Echo acknowledges it `after` µs later.
fn ack_answer(sim: &mut Sim, c: &mut Conn, t: u64, after: u64) -> u64 {
    let bytes = sim.rng.gen_range(40..400);
    srv_bytes(sim, c, t, bytes);
    sim.dev_tcp(c, t + after, ACK, &[], "ack")
}

fn server(last: u8) -> Host {
    hosts::remote(Ipv4Addr::new(203, 0, 113, last))
}

/// Regional servers (documentation addresses; the published probes went to
/// some forty AWS regions).
fn regional(sim: &mut Sim) -> Host {
    server(sim.rng.gen_range(100..140))
}

/// Runs every process over the timeline.
pub fn run(sim: &mut Sim) {
    voice(sim);
    ping_b(sim);
    sync_channel(sim);
    lan_peer(sim);
    probes(sim);
    sessions(sim);
    music(sim);
    udp_misc(sim);
}
