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

use std::net::Ipv4Addr;

use alexa_common::Class;
use rand::Rng;

use super::{
    calibration::*,
    frames::{Host, ACK, FIN, PSH, RST, SYN},
    hosts, tls, Conn, Context, Sim, SimClass, APP,
};

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
fn send_record(sim: &mut Sim, c: &mut Conn, t: u64, frame: usize, class: SimClass) -> u64 {
    let len = payload_for(c, frame).min(MSS);
    let rec = app_record(sim, len);
    sim.dev_tcp(c, t, ACK | PSH, &rec, class)
}

/// One record of `total` bytes over as many segments as it needs: the
/// segments before its last end no record (TCP, `not_relevant` by the
/// published rules); the last gets `class`. Returns the last one's time.
fn send_spanning(sim: &mut Sim, c: &mut Conn, t: u64, total: usize, class: SimClass) -> u64 {
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
            (ACK, Class::NotRelevant.into())
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
    sim.dev_tcp(c, t + after, ACK, &[], Class::Ack)
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

// ---------------------------------------------------------------- TCP/TLS

/// SYN (`retransmit` by the published rules: no ACK flag), SYN-ACK, ACK;
/// returns the ACK's time.
fn open_tcp(sim: &mut Sim, c: &mut Conn, t: u64, rtt: u64) -> u64 {
    sim.dev_tcp(c, t, SYN, &[], Class::Retransmit);
    let r = rt(sim, rtt);
    sim.srv_tcp(c, t + r, SYN | ACK, &[]);
    let d = sim.rng.gen_range(50..400);
    sim.dev_tcp(c, t + r + d, ACK, &[], Class::Ack)
}

/// The server's handshake flight of `k` segments from `t`; the Echo acks
/// each one. Returns the last ACK's time.
fn flight(sim: &mut Sim, c: &mut Conn, t: u64, k: u32) -> u64 {
    let mut t = t;
    let mut last = t;
    let seg = vec![0x16u8; MSS];
    for i in 0..k {
        let n = if i + 1 == k {
            sim.rng.gen_range(200..1_200)
        } else {
            MSS
        };
        sim.srv_tcp(c, t, ACK, &seg[..n]);
        let d = if sim.rng.gen_bool(0.8) {
            sim.rng.gen_range(30..300)
        } else {
            sim.rng.gen_range(300..2_000)
        };
        last = sim.dev_tcp(c, t + d, ACK, &[], Class::Ack);
        t = last + sim.rng.gen_range(10..200);
    }
    last
}

/// A full TLS 1.2 handshake from the ClientHello (`hello` bytes of frame);
/// returns when the Echo has acknowledged the server's Finished flight
/// (two segments: session ticket, ChangeCipherSpec + Finished).
fn tls_full(sim: &mut Sim, c: &mut Conn, t: u64, rtt: u64, hello: usize, plain: bool) -> u64 {
    let ch = tls::client_hello(payload_for(c, hello), false, &mut sim.rng);
    let at = t + hello_lag(sim);
    let t = sim.dev_tcp(c, at, ACK | PSH, &ch, Class::Handshake);
    let k = if plain {
        sim.rng.gen_range(3..=4)
    } else {
        pick(FLIGHT_ACKS, &mut sim.rng)
    };
    let r = rt(sim, rtt);
    let t = flight(sim, c, t + r, k);
    let t = t + us(sample(KEY_EXCHANGE_MS, &mut sim.rng));
    let cke = tls::record(tls::HANDSHAKE, 75, &mut sim.rng);
    let t = sim.dev_tcp(c, t, ACK | PSH, &cke, Class::Handshake);
    let ccs = tls::record(tls::CHANGE_CIPHER_SPEC, 6, &mut sim.rng);
    let fin = tls::record(tls::HANDSHAKE, 45, &mut sim.rng);
    let t = if !plain && sim.rng.gen_bool(CCS_FIN_TOGETHER_P) {
        let mut both = ccs;
        both.extend(fin);
        let when = t + tiny(sim);
        sim.dev_tcp(c, when, ACK | PSH, &both, Class::Handshake)
    } else {
        let when = t + tiny(sim);
        let t = sim.dev_tcp(c, when, ACK | PSH, &ccs, Class::Handshake);
        let when = t + tiny(sim);
        sim.dev_tcp(c, when, ACK | PSH, &fin, Class::Handshake)
    };
    let r = rt(sim, rtt);
    srv_bytes(sim, c, t + r, 200);
    let when = t + r + sim.rng.gen_range(50..400);
    let t = sim.dev_tcp(c, when, ACK, &[], Class::Ack);
    if plain {
        return t;
    }
    let mut flight = tls::record(tls::CHANGE_CIPHER_SPEC, 6, &mut sim.rng);
    flight.extend(tls::record(tls::HANDSHAKE, 45, &mut sim.rng));
    sim.srv_tcp(c, t + 100, ACK | PSH, &flight);
    let when = t + 100 + sim.rng.gen_range(50..500);
    sim.dev_tcp(c, when, ACK, &[], Class::Ack)
}

/// An abbreviated-looking handshake (content delivery): a ~210-byte
/// ClientHello, a short server flight, then ClientKeyExchange,
/// ChangeCipherSpec and Finished in one segment. Returns its time.
fn tls_cdn(sim: &mut Sim, c: &mut Conn, t: u64, rtt: u64, hello: usize) -> u64 {
    let ch = tls::client_hello(payload_for(c, hello), true, &mut sim.rng);
    let at = t + hello_lag(sim);
    let t = sim.dev_tcp(c, at, ACK | PSH, &ch, Class::Handshake);
    let r = rt(sim, rtt);
    let k = sim.rng.gen_range(3..=5);
    let t = flight(sim, c, t + r, k);
    let t = t + us(sample(KEY_EXCHANGE_MS, &mut sim.rng) * 0.45);
    let mut all = tls::record(tls::HANDSHAKE, 75, &mut sim.rng);
    all.extend(tls::record(tls::CHANGE_CIPHER_SPEC, 6, &mut sim.rng));
    all.extend(tls::record(tls::HANDSHAKE, 45, &mut sim.rng));
    sim.dev_tcp(c, t, ACK | PSH, &all, Class::Handshake)
}

/// The Echo closes: FIN (an `ack` by the published rules: ACK flag, no
/// payload), the server's FIN, the last ACK.
fn close(sim: &mut Sim, c: &mut Conn, t: u64, rtt: u64) -> u64 {
    let t = sim.dev_tcp(c, t, FIN | ACK, &[], Class::Ack);
    let r = rt(sim, rtt);
    if sim.rng.gen_bool(RST_AFTER_CLOSE_P) {
        // The server still had something to say: the socket is gone, each
        // segment gets a RST (`retransmit`: no ACK flag).
        for k in 0..sim.rng.gen_range(1..=2u64) {
            let at = t + r + k * 300;
            sim.srv_tcp(c, at, ACK | PSH, &[0x17; 31]);
            let seq = c.dev_next;
            sim.dev_tcp_at_seq(c, at + 60, RST, &[], Class::Retransmit, seq);
        }
        return t + r + MS;
    }
    sim.srv_tcp(c, t + r, FIN | ACK, &[]);
    t + r
}

/// The server closes an idle session: its close_notify and FIN, which the
/// Echo acknowledges (one ACK, its socket then gone).
fn server_closes(sim: &mut Sim, c: &mut Conn, t: u64) -> u64 {
    let alert = tls::record(tls::ALERT, 31, &mut sim.rng);
    sim.srv_tcp(c, t, ACK | PSH, &alert);
    sim.srv_tcp(c, t + 50, FIN | ACK, &[]);
    let when = t + sim.rng.gen_range(100..900);
    sim.dev_tcp(c, when, ACK, &[], Class::Ack)
}

// --------------------------------------------------------- voice service

#[derive(Clone, Copy, Debug)]
enum Voice {
    Ping,
    Event,
    MusicUpload,
    Interaction,
}

/// The voice service: one long-lived connection without TCP timestamps. A
/// keep-alive record every 30 s; state reports while idle; what the Echo
/// uploads while music plays; conversations.
fn voice(sim: &mut Sim) {
    let (start, end) = (sim.start(), sim.end());
    let mut plan: Vec<(u64, Voice)> = Vec::new();
    let mut t = start + 2 * S;
    while t < end {
        plan.push((t, Voice::Ping));
        // Whole ms of jitter, then a fraction: `delta` is the whole ms.
        let jitter = sample(PING_A_JITTER_MS, &mut sim.rng).floor();
        t += us(PING_A_PERIOD_MS + jitter + sim.rng.gen_range(0.0..0.99));
    }
    for (s, e, ctx) in sim.timeline.clone() {
        if let Some(gap) = voice_event_gap_s(ctx) {
            let mut t = s + around(sim, gap) / 2;
            while t < e {
                plan.push((t, Voice::Event));
                t += (sim.rng.gen_range(0.5..1.5) * gap * 1e6) as u64;
            }
        }
        if ctx == Context::Streaming {
            let mut t = s + around(sim, MUSIC_VOICE_GAP_S) / 2;
            while t < e {
                plan.push((t, Voice::MusicUpload));
                t += (sim.rng.gen_range(0.5..1.5) * MUSIC_VOICE_GAP_S * 1e6) as u64;
            }
        }
        if ctx == Context::Conversation {
            plan.push((s + 3 * S, Voice::Interaction));
        }
    }
    plan.sort_by_key(|p| p.0);
    let mut c = sim.conn_ts(server(30), 443, false);
    let rtt = draw_rtt(sim).max(60 * MS);
    let t0 = open_tcp(sim, &mut c, start + 300 * MS, rtt);
    let hello = pick(PLAIN_HELLO_FRAMES, &mut sim.rng);
    let mut free = tls_full(sim, &mut c, t0, rtt, hello, true) + 200 * MS;
    // After a state report (sometimes after music reports or a turn) the
    // service has something to say just before the next keep-alive: the
    // Echo acknowledges it, then pings (the ping's `delta` is then 0).
    let mut pending = false;
    let (u0, mut turn): (f64, u32) = (sim.rng.gen(), 0);
    let mut i = 0;
    while i < plan.len() {
        let (at, what) = plan[i];
        i += 1;
        let t = at.max(free);
        if t >= end {
            break;
        }
        free = match what {
            Voice::Ping => {
                let mut t = t;
                if pending || sim.rng.gen_bool(PING_A_AFTER_ACK_P) {
                    srv_bytes(sim, &mut c, t.saturating_sub(2 * MS), 60);
                    t = sim.dev_tcp(&mut c, t, ACK, &[], Class::Ack) + sim.rng.gen_range(20..400);
                    pending = false;
                }
                let rec = tls::record(tls::APPLICATION_DATA, 46, &mut sim.rng);
                let seq = c.dev_next;
                let mut t = sim.dev_tcp(&mut c, t, ACK | PSH, &rec, Class::Syn);
                if sim.rng.gen_bool(PING_A_RETRY_P) {
                    t += us(sample(PING_RETRY_MS, &mut sim.rng));
                    sim.dev_tcp_at_seq(&mut c, t, ACK | PSH, &rec, Class::NotRelevant, seq);
                }
                let when = t + rt(sim, rtt);
                sim.srv_tcp(&mut c, when, ACK, &[]);
                t + MS
            }
            Voice::Event => {
                let frame = pick(VOICE_EVENT_FRAMES, &mut sim.rng);
                let mut t = send_record(sim, &mut c, t, frame, APP);
                if sim.rng.gen_bool(VOICE_EVENT_SPAN_P) {
                    let total = 2 * MSS + payload_for(&c, sim.rng.gen_range(300..1_000));
                    let at = t + tiny(sim);
                    t = send_spanning(sim, &mut c, at, total, APP);
                } else if sim.rng.gen_bool(VOICE_EVENT_MORE_P) {
                    let frame = pick(VOICE_EVENT_FRAMES, &mut sim.rng);
                    let at = t + burst_gap(sim);
                    t = send_record(sim, &mut c, at, frame, APP);
                }
                if sim.rng.gen_bool(VOICE_EVENT_TAIL_P) {
                    let at = t + tiny(sim);
                    t = send_record(sim, &mut c, at, 92, APP);
                }
                let r = rt(sim, rtt);
                pending = true;
                let after = sim.rng.gen_range(100..3_000);
                ack_answer(sim, &mut c, t + r, after)
            }
            Voice::MusicUpload => {
                // A burst of reports around a track change: each a record,
                // then a large one across segments or two small ones.
                let mut t = t;
                for g in 0..sim
                    .rng
                    .gen_range(MUSIC_VOICE_GROUPS.0..=MUSIC_VOICE_GROUPS.1)
                {
                    if g > 0 {
                        t += us(sample(MUSIC_VOICE_GROUP_GAP_MS, &mut sim.rng));
                    }
                    let frame = pick(&[(351, 9), (355, 2)], &mut sim.rng);
                    t = send_record(sim, &mut c, t, frame, APP);
                    if sim.rng.gen_bool(MUSIC_VOICE_SPAN_P) {
                        let total = 2 * MSS + payload_for(&c, sim.rng.gen_range(740..940));
                        let at = t + tiny(sim);
                        t = send_spanning(sim, &mut c, at, total, APP);
                    } else {
                        let frame = pick(&[(381, 6), (402, 5), (440, 1)], &mut sim.rng);
                        let at = t + tiny(sim);
                        t = send_record(sim, &mut c, at, frame, APP);
                    }
                    if sim.rng.gen_bool(0.7) {
                        let at = t + tiny(sim);
                        t = send_record(sim, &mut c, at, 92, APP);
                    }
                    let r = rt(sim, rtt);
                    let after = sim.rng.gen_range(100..3_000);
                    t = ack_answer(sim, &mut c, t + r, after);
                }
                pending = sim.rng.gen_bool(PING_A_AFTER_MUSIC_P);
                t
            }
            Voice::Interaction => {
                // Stratified draws (a golden-ratio sequence from a random
                // start): a short context still sees short and long turns.
                turn += 1;
                let u = (u0 + turn as f64 * 0.618_033_988_75).fract();
                let done = interaction(sim, &mut c, t, rtt, u);
                pending = sim.rng.gen_bool(PING_A_AFTER_TURN_P);
                let v = (u0 + 0.5 + turn as f64 * 0.414_213_562_37).fract();
                let gap = INTERACTION_GAP_S.0 + v * (INTERACTION_GAP_S.1 - INTERACTION_GAP_S.0);
                let next = done + (gap * 1e6) as u64;
                if sim.context_at(next) == Context::Conversation && next < end {
                    let at = plan[i..].partition_point(|p| p.0 < next) + i;
                    plan.insert(at, (next, Voice::Interaction));
                }
                done
            }
        } + 5 * MS;
    }
}

/// One conversation turn on the voice connection: the Recognize event (a
/// record, then a large one across segments), the buffered wake word and
/// the utterance as audio records, the end of speech, the answer streamed
/// back with playback events.
fn interaction(sim: &mut Sim, c: &mut Conn, t: u64, rtt: u64, u: f64) -> u64 {
    let first = pick(&[(303usize, 1), (353, 1)], &mut sim.rng);
    let t = send_record(sim, c, t, first, APP) + tiny(sim);
    let big = sim.rng.gen_range(2..=4) * MSS + payload_for(c, sim.rng.gen_range(600..1_420));
    let mut t = send_spanning(sim, c, t, big, APP);
    // The wake word, buffered: records of several audio frames at once.
    for _ in 0..sim.rng.gen_range(PREROLL_RECORDS.0..=PREROLL_RECORDS.1) {
        t += us(f64::from(pick(PREROLL_GAP_MS, &mut sim.rng)) + sim.rng.gen_range(0.0..0.99));
        let frame = pick(PREROLL_FRAMES, &mut sim.rng);
        send_record(sim, c, t, frame, APP);
    }
    let n = sample_at(UTTERANCE_RECORDS, u) as u32;
    for k in 0..n {
        t += us(f64::from(pick(AUDIO_GAP_MS, &mut sim.rng)) + sim.rng.gen_range(0.0..0.99));
        let frame = pick(AUDIO_FRAMES, &mut sim.rng);
        send_record(sim, c, t, frame, APP);
        if k % 9 == 8 {
            // The service acknowledges the stream now and then.
            let when = t + rt(sim, rtt) / 2;
            sim.srv_tcp(c, when, ACK, &[]);
        }
    }
    // End of speech: the service's directive, the Echo's ACK and two events.
    let r = sim.rng.gen_range(10 * MS..40 * MS);
    srv_bytes(sim, c, t + r - 2 * MS, 120);
    let t = sim.dev_tcp(c, t + r, ACK, &[], Class::Ack) + tiny(sim);
    let t = send_record(sim, c, t, 118, APP) + tiny(sim);
    let t = send_record(sim, c, t, 92, APP);
    // The answer: segments the Echo acknowledges, playback events between.
    let mut t = t + rt(sim, rtt) + sim.rng.gen_range(100 * MS..400 * MS);
    let segs =
        ANSWER_SEGMENTS.0 + ((ANSWER_SEGMENTS.1 - ANSWER_SEGMENTS.0) as f64 * (1.0 - u)) as u32;
    let events = sim.rng.gen_range(1..=3);
    let every = segs / events + 1;
    let seg = vec![0x17u8; MSS];
    for k in 0..segs {
        sim.srv_tcp(c, t, ACK, &seg);
        let d = if sim.rng.gen_bool(0.6) {
            sim.rng.gen_range(20..600)
        } else {
            sim.rng.gen_range(600..(rtt / 2).max(700))
        };
        sim.dev_tcp(c, t + d, ACK, &[], Class::Ack);
        t += d + sim.rng.gen_range(50..2_000);
        if k % every == every / 2 {
            t += sim.rng.gen_range(30 * MS..60 * MS);
            let first = pick(PLAYBACK_EVENT_FRAMES, &mut sim.rng);
            t = send_record(sim, c, t, first, APP) + tiny(sim);
            let second = pick(PLAYBACK_SECOND_FRAMES, &mut sim.rng);
            t = send_record(sim, c, t, second, APP) + tiny(sim);
            if sim.rng.gen_bool(0.7) {
                t = send_record(sim, c, t, 92, APP);
            }
            t += rt(sim, rtt);
        }
    }
    t
}

/// The second keep-alive: its own connection with timestamps, a 28-byte
/// record every ~90.87 s, the server's answer acknowledged.
fn ping_b(sim: &mut Sim) {
    let (start, end) = (sim.start(), sim.end());
    let mut c = sim.conn(server(21), 443);
    let rtt = draw_rtt(sim);
    let t0 = open_tcp(sim, &mut c, start + 1_100 * MS, rtt);
    let hello = pick(HELLO_FRAMES, &mut sim.rng);
    let mut t = tls_full(sim, &mut c, t0, rtt, hello, false) + 19 * S;
    let timeline = sim.timeline.clone();
    while t < end {
        // Paused for the rest of a context past its share.
        if let Some((_, e, _)) = timeline.iter().find(|(s, e, ctx)| {
            t >= *s && t < *e && t >= s + ((e - s) as f64 * ping_b_share(*ctx)) as u64
        }) {
            t = *e + us(sample(PING_B_AFTER_MS, &mut sim.rng) / 3.0);
            continue;
        }
        let rec = tls::record(tls::APPLICATION_DATA, 33, &mut sim.rng);
        let seq = c.dev_next;
        sim.dev_tcp(&mut c, t, ACK | PSH, &rec, Class::Syn);
        let mut answered = t;
        if sim.rng.gen_bool(PING_B_RETRY_P) {
            answered += us(sample(PING_RETRY_MS, &mut sim.rng));
            sim.dev_tcp_at_seq(&mut c, answered, ACK | PSH, &rec, Class::NotRelevant, seq);
        }
        let lag = us(sample(PING_B_ACK_MS, &mut sim.rng));
        let acked = ack_answer(sim, &mut c, answered + lag - 500, 500);
        t = acked + us(sample(PING_B_AFTER_MS, &mut sim.rng));
    }
}

/// The synchronisation channel: 11-byte messages on TCP 4070 (DATA) every
/// ~30.8 s while it is up, each answered and acknowledged; a push every two
/// minutes; track metadata while music plays. In no-wake-word it moves to
/// TCP 443 for a while (one published recording), every ~10.2 s.
fn sync_channel(sim: &mut Sim) {
    let srv = hosts::remote(Ipv4Addr::new(198, 51, 100, 124));
    for (s, e, ctx) in sim.timeline.clone() {
        let up = s + ((e - s) as f64 * sync_share(ctx)) as u64;
        let mut c = sim.conn(srv, SYNC_PORT);
        let rtt = draw_rtt(sim).min(120 * MS);
        let mut t = open_tcp(sim, &mut c, s + 700 * MS, rtt) + 300 * MS;
        let mut push = t + around(sim, SYNC_PUSH_PERIOD_S) / 2;
        let mut meta = t + around(sim, SYNC_MUSIC_GAP_S);
        while t < up {
            let msg = vec![0u8; 11];
            sim.dev_tcp(&mut c, t, ACK | PSH, &msg, Class::Syn);
            let lag = us(sample(SYNC_ACK_MS, &mut sim.rng));
            ack_answer(sim, &mut c, t + lag - 300, 300);
            let next = t + us(sample(SYNC_PERIOD_MS, &mut sim.rng));
            if push < next {
                let at = push.max(t + lag + 2 * MS);
                let after = sim.rng.gen_range(200..2_000);
                ack_answer(sim, &mut c, at, after);
                push += (SYNC_PUSH_PERIOD_S * 1e6) as u64;
            }
            if ctx == Context::Streaming && meta < next {
                // The service pushes a few segments, then the Echo reports.
                let mut at = meta.max(t + lag + 5 * MS);
                for _ in 0..sim.rng.gen_range(2..=7) {
                    let after = sim.rng.gen_range(30..300);
                    at = ack_answer(sim, &mut c, at, after);
                }
                let frame = pick(SYNC_MUSIC_FRAMES, &mut sim.rng);
                let msg = vec![1u8; payload_for(&c, frame)];
                let when = at + tiny(sim);
                sim.dev_tcp(&mut c, when, ACK | PSH, &msg, Class::Syn);
                meta += around(sim, SYNC_MUSIC_GAP_S);
            }
            t = next;
        }
        if ctx == Context::NoWakeWord {
            let stop = (up + ((e - s) as f64 * SYNC_443_SHARE) as u64).min(e);
            let mut c = sim.conn(srv, 443);
            let mut t = open_tcp(sim, &mut c, up + 5 * S, rtt);
            // The service opens with a few segments of its own.
            for _ in 0..sim.rng.gen_range(3..=8) {
                let when = t + rt(sim, rtt);
                t = ack_answer(sim, &mut c, when, 300);
            }
            t += 10 * S;
            while t < stop {
                let msg = vec![0u8; 11];
                sim.dev_tcp(&mut c, t, ACK | PSH, &msg, Class::Syn);
                let lag = us(sample(SYNC_443_ACK_MS, &mut sim.rng));
                let acked = ack_answer(sim, &mut c, t + lag - 300, 300);
                t = acked + us(sample(SYNC_443_AFTER_MS, &mut sim.rng));
            }
        }
    }
}

/// A LAN peer on TCP 55443 that never answers: every ~1,000 s, five
/// attempts 20 s apart, each a SYN repeated after 1, 2 and 4 s.
fn lan_peer(sim: &mut Sim) {
    let (start, end) = (sim.start(), sim.end());
    let peer = hosts::FIRE_STICK;
    let mut t = start + around(sim, LAN_EPISODE_GAP_S) / 2;
    while t < end {
        for a in 0..LAN_ATTEMPTS {
            let first = t + us(a as f64 * LAN_ATTEMPT_GAP_MS + sim.rng.gen_range(0.0..40.0));
            let mut c = sim.conn(peer, LAN_PORT);
            let seq = c.dev_isn;
            let mut at = first;
            for k in 0..4u32 {
                sim.dev_tcp_at_seq(&mut c, at, SYN, &[], Class::Retransmit, seq);
                let late = sample(LAN_RETRY_LATE_MS[(k as usize).min(2)], &mut sim.rng);
                at += us(1_000.0 * f64::from(1u32 << k) + late + sim.rng.gen_range(0.0..1.0));
            }
        }
        t += around(sim, LAN_EPISODE_GAP_S);
    }
}

// -------------------------------------------------------- short sessions

/// Every ~5 minutes: a session to a regional server, one 256-byte record.
fn probes(sim: &mut Sim) {
    let (start, end) = (sim.start(), sim.end());
    let mut t = start + sim.rng.gen_range(20 * S..120 * S);
    while t < end {
        let srv = regional(sim);
        let mut c = sim.conn(srv, 443);
        let rtt = draw_rtt(sim);
        let t1 = open_tcp(sim, &mut c, t, rtt);
        let hello = pick(PROBE_HELLO_FRAMES, &mut sim.rng);
        let t1 = tls_full(sim, &mut c, t1, rtt, hello, false);
        let when = t1 + tiny(sim);
        let t1 = send_record(sim, &mut c, when, PROBE_FRAME, APP);
        let r = rt(sim, rtt);
        srv_bytes(sim, &mut c, t1 + r, 2_000);
        let when = t1 + r + sim.rng.gen_range(50..300);
        let a = sim.dev_tcp(&mut c, when, ACK, &[], Class::Ack);
        let when = a + tiny(sim);
        let a = sim.dev_tcp(&mut c, when, ACK, &[], Class::Ack);
        let when = a + rt(sim, rtt);
        close(sim, &mut c, when, rtt);
        t += us(PROBE_PERIOD_S * 1e3 + sim.rng.gen_range(0.0..800.0));
    }
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Upload,
    Cdn,
    Plain,
}

/// Uploads, content-delivery and no-timestamp sessions at their contexts' rates.
fn sessions(sim: &mut Sim) {
    let mut plan: Vec<(u64, Kind)> = Vec::new();
    for (s, e, ctx) in sim.timeline.clone() {
        let gaps = [
            (upload_gap_s(ctx), Kind::Upload),
            (Some(cdn_gap_s(ctx)), Kind::Cdn),
            (Some(plain_gap_s(ctx)), Kind::Plain),
        ];
        for (gap, kind) in gaps {
            let Some(gap) = gap else { continue };
            let mut t = s + (sim.rng.gen_range(0.0..1.0) * gap * 1e6) as u64;
            while t < e {
                plan.push((t, kind));
                t += (sim.rng.gen_range(0.5..1.5) * gap * 1e6) as u64;
            }
        }
    }
    plan.sort_by_key(|p| p.0);
    let mut plains = 0u32;
    let (u0, mut uploads): (f64, u32) = (sim.rng.gen(), 0);
    for (t, kind) in plan {
        match kind {
            Kind::Upload => {
                // Shapes by a golden-ratio sequence: every stretch of
                // uploads has them in their shares (a few dozen per context).
                uploads += 1;
                let u = (u0 + f64::from(uploads) * 0.618_033_988_75).fract();
                upload(sim, t, u)
            }
            Kind::Cdn => cdn(sim, t),
            Kind::Plain => {
                // Every so many of them uploads at length (by count, not by
                // chance: there are few, and the class totals need them).
                plains += 1;
                plain(
                    sim,
                    t,
                    plains % PLAIN_UPLOAD_EVERY == PLAIN_UPLOAD_EVERY - 1,
                )
            }
        }
    }
}

/// The body of an upload, as frame lengths (after the header record).
fn upload_body(sim: &mut Sim, u: f64) -> Vec<usize> {
    let mut v = Vec::new();
    match pick_at(UPLOAD_SHAPES, u) {
        'A' => {
            let n = pick(&[(6usize, 3), (7, 3), (8, 5), (9, 9)], &mut sim.rng);
            v.extend([1_475, 1_475, 1_396].iter().cycle().take(n));
            let full = pick(&[(0usize, 6), (1, 3), (2, 1)], &mut sim.rng);
            v.extend(std::iter::repeat_n(1_506, full));
        }
        'B' => {
            let n = pick(&[(5usize, 1), (7, 1), (9, 8)], &mut sim.rng);
            v.extend([1_475, 764, 1_475, 727].iter().cycle().take(n));
            let full = pick(&[(1usize, 3), (2, 3), (3, 1)], &mut sim.rng);
            v.extend(std::iter::repeat_n(1_506, full));
        }
        'S' => {
            v.push(pick(UPLOAD_SINGLE_FRAMES, &mut sim.rng));
            return v;
        }
        _ => {
            for _ in 0..sim.rng.gen_range(1..=9) {
                v.push(if sim.rng.gen_bool(0.6) { 1_506 } else { 1_475 });
            }
        }
    }
    v.push(sample(UPLOAD_LAST_FRAME, &mut sim.rng) as usize);
    v
}

/// An upload: session, header record, body (ten segments, then a round
/// trip's wait for the window), the server's answer, close.
fn upload(sim: &mut Sim, t: u64, u: f64) {
    let srv = server(sim.rng.gen_range(60..72));
    let mut c = sim.conn(srv, 443);
    let rtt = draw_rtt(sim);
    let t = open_tcp(sim, &mut c, t, rtt);
    let hello = pick(UPLOAD_HELLO_FRAMES, &mut sim.rng);
    let t = tls_full(sim, &mut c, t, rtt, hello, false);
    let header = pick(UPLOAD_HEADER_FRAMES, &mut sim.rng);
    let when = t + tiny(sim);
    let mut t = send_record(sim, &mut c, when, header, APP);
    let body = upload_body(sim, u);
    // The header was the first segment of the window.
    for (sent, frame) in (1..).zip(body) {
        t += if sent % INITIAL_WINDOW == 0 {
            let when = t + rt(sim, rtt) - 500;
            sim.srv_tcp(&mut c, when, ACK, &[]);
            rt(sim, rtt)
        } else {
            burst_gap(sim)
        };
        send_record(sim, &mut c, t, frame, APP);
    }
    let r = rt(sim, rtt);
    srv_bytes(sim, &mut c, t + r, 1_500);
    let when = t + r + sim.rng.gen_range(50..600);
    let a = sim.dev_tcp(&mut c, when, ACK, &[], Class::Ack);
    let when = a + tiny(sim);
    let a = sim.dev_tcp(&mut c, when, ACK, &[], Class::Ack);
    if sim.rng.gen_bool(0.5) {
        let when = a + rt(sim, rtt);
        close(sim, &mut c, when, rtt);
    } else {
        let when = a + rt(sim, rtt);
        server_closes(sim, &mut c, when);
    }
}

/// A content-delivery session: small requests, the answer, close_notify.
fn cdn(sim: &mut Sim, t: u64) {
    let srv = server(sim.rng.gen_range(150..160));
    let mut c = sim.conn(srv, 443);
    let rtt = us(sim.rng.gen_range(12.0..110.0));
    let t = open_tcp(sim, &mut c, t, rtt);
    let hello = pick(CDN_HELLO_FRAMES, &mut sim.rng);
    let t = tls_cdn(sim, &mut c, t, rtt, hello);
    let r = rt(sim, rtt);
    srv_bytes(sim, &mut c, t + r, 250);
    let mut t = t + r + sim.rng.gen_range(200..900);
    let x = sim.rng.gen_range(420..652);
    let mut frames = vec![119];
    if sim.rng.gen_bool(0.5) {
        frames.extend([122, 108]);
    } else {
        frames.push(164);
    }
    frames.extend([x, 104]);
    for f in frames {
        send_record(sim, &mut c, t, f, APP);
        t += burst_gap(sim);
    }
    let when = t + rt(sim, rtt);
    let after = sim.rng.gen_range(100..800);
    let a = ack_answer(sim, &mut c, when, after);
    let when = a + rt(sim, rtt);
    let after = sim.rng.gen_range(100..800);
    let a = ack_answer(sim, &mut c, when, after);
    let when = a + tiny(sim);
    let t = send_record(sim, &mut c, when, x - 24, APP);
    let when = t + rt(sim, rtt);
    let after = sim.rng.gen_range(100..800);
    let a = ack_answer(sim, &mut c, when, after);
    let alert = tls::record(tls::ALERT, 31, &mut sim.rng);
    let when = a + tiny(sim);
    let t = sim.dev_tcp(&mut c, when, ACK | PSH, &alert, Class::Handshake);
    let when = t + tiny(sim);
    close(sim, &mut c, when, rtt);
}

/// A session with a server that refuses TCP timestamps.
fn plain(sim: &mut Sim, t: u64, long: bool) {
    let srv = server(sim.rng.gen_range(80..90));
    let mut c = sim.conn_ts(srv, 443, false);
    let rtt = us(sim.rng.gen_range(100.0..170.0));
    let t = open_tcp(sim, &mut c, t, rtt);
    let hello = pick(PLAIN_HELLO_FRAMES, &mut sim.rng);
    let mut t = tls_full(sim, &mut c, t, rtt, hello, true);
    // Now and then a long upload: records in bursts of a window each.
    let n = if long {
        sim.rng
            .gen_range(PLAIN_UPLOAD_RECORDS.0..=PLAIN_UPLOAD_RECORDS.1)
    } else {
        sim.rng.gen_range(1..=2)
    };
    for k in 0..n {
        let f = pick(PLAIN_RECORD_FRAMES, &mut sim.rng);
        let gap = if k > 0 && k % INITIAL_WINDOW as u32 == 0 {
            let at = t + rt(sim, rtt) - 500;
            sim.srv_tcp(&mut c, at, ACK, &[]);
            rt(sim, rtt)
        } else {
            burst_gap(sim)
        };
        t = send_record(sim, &mut c, t + gap, f, APP);
    }
    let when = t + rt(sim, rtt);
    let after = sim.rng.gen_range(100..900);
    let a = ack_answer(sim, &mut c, when, after);
    let when = a + rt(sim, rtt);
    close(sim, &mut c, when, rtt);
}

// ----------------------------------------------------------------- music

/// Music: in streaming, and at the start of a conversation (the published
/// conversation began while a track was still playing).
fn music(sim: &mut Sim) {
    for (s, e, ctx) in sim.timeline.clone() {
        let stop = match ctx {
            Context::Streaming => e,
            Context::Conversation => s + (e - s) / 9,
            _ => continue,
        };
        let mut t = s + 2 * S;
        while t + 20 * S < stop {
            let play = (sim.rng.gen_range(TRACK_PLAY_S.0..TRACK_PLAY_S.1) * 1e6) as u64;
            let until = (t + play).min(stop - S);
            let https =
                ctx == Context::Streaming && t >= e - ((e - s) as f64 * MUSIC_HTTPS_SHARE) as u64;
            // The music stops with the context: the last track is cut short.
            let gap = sim.rng.gen_range(S / 2..2 * S);
            let last = until + gap + 20 * S >= stop;
            t = if https {
                track_https(sim, t, until, last)
            } else {
                track_http(sim, t, until)
            } + gap;
        }
    }
}

/// A download the Echo acknowledges segment by segment; SACK blocks now and
/// then. Returns the last ACK's time.
fn download(sim: &mut Sim, c: &mut Conn, t: u64, n: u32, sack_p: f64) -> u64 {
    let seg = vec![0x5au8; MUSIC_SEGMENT];
    let mut t = t;
    let mut last = t;
    for _ in 0..n {
        sim.srv_tcp(c, t, ACK, &seg);
        let d = sim.rng.gen_range(20..250);
        last = if sim.rng.gen_bool(sack_p) {
            let blocks = if sim.rng.gen_bool(SACK_TWO_P) { 2 } else { 1 };
            sim.dev_sack(c, t + d, blocks, Class::Ack)
        } else {
            sim.dev_tcp(c, t + d, ACK, &[], Class::Ack)
        };
        t = last + us(sample(SEGMENT_GAP_US, &mut sim.rng) / 1e3);
    }
    last
}

/// A track over HTTP: range requests (HTTP, `not_relevant`) every ~3.4 s.
fn track_http(sim: &mut Sim, t: u64, until: u64) -> u64 {
    let mut c = sim.conn(hosts::remote(Ipv4Addr::new(198, 51, 100, 20)), 80);
    let rtt = us(sim.rng.gen_range(15.0..40.0));
    let mut t = open_tcp(sim, &mut c, t, rtt);
    let file: u64 = sim.rng.gen();
    let mut off = 0usize;
    while t < until {
        let frame = pick(GET_FRAMES, &mut sim.rng);
        let n = sim.rng.gen_range(MUSIC_SEGMENTS.0..=MUSIC_SEGMENTS.1);
        let bytes = n as usize * MUSIC_SEGMENT;
        let mut req = format!(
            "GET /audio/{file:016x}.mp4 HTTP/1.1\r\nHost: music.cdn.example\r\nRange: bytes={off}-{}\r\nUser-Agent: AlexaMediaPlayer/2.1\r\nConnection: keep-alive\r\n",
            off + bytes - 1
        );
        let want = payload_for(&c, frame);
        while req.len() + 2 < want {
            req.push_str("X-Pad: 0\r\n");
        }
        req.truncate(want.saturating_sub(2).max(16));
        req.push_str("\r\n");
        let at = sim.dev_tcp(&mut c, t, ACK | PSH, req.as_bytes(), Class::NotRelevant);
        let when = at + rt(sim, rtt);
        let last = download(sim, &mut c, when, n, SACK_P_HTTP);
        off += bytes;
        t = (at + us(sample(MUSIC_REQUEST_GAP_MS, &mut sim.rng))).max(last + 5 * MS);
    }
    close(sim, &mut c, t, rtt)
}

/// A track over HTTPS (content delivery): request records, downloads with
/// more SACK, and at the end the Echo resets the connection: each segment
/// still in flight gets a RST (`retransmit`: no ACK flag).
fn track_https(sim: &mut Sim, t: u64, until: u64, last: bool) -> u64 {
    let mut c = sim.conn(hosts::remote(Ipv4Addr::new(198, 51, 100, 86)), 443);
    let rtt = us(sim.rng.gen_range(80.0..110.0));
    let t = open_tcp(sim, &mut c, t, rtt);
    let hello = pick(CDN_HELLO_FRAMES, &mut sim.rng);
    let mut t = tls_cdn(sim, &mut c, t, rtt, hello) + rt(sim, rtt);
    // A request asks for ~9 s of music: the last one ends before `until`.
    while t + 10 * S < until {
        let frame = pick(MUSIC_TLS_REQUEST_FRAMES, &mut sim.rng);
        let at = send_record(sim, &mut c, t, frame, APP);
        let n = sim.rng.gen_range(MUSIC_SEGMENTS.0..=MUSIC_SEGMENTS.1) * HTTPS_CHUNKS;
        let when = at + rt(sim, rtt);
        let last = download(sim, &mut c, when, n, SACK_P_HTTPS);
        let gap = sample(MUSIC_REQUEST_GAP_MS, &mut sim.rng) * f64::from(HTTPS_CHUNKS);
        t = (at + us(gap)).max(last + 5 * MS);
    }
    if !last {
        return close(sim, &mut c, t, rtt);
    }
    // The music is stopped: the Echo resets, the server's segments in flight bounce.
    let seg = vec![0x5au8; MUSIC_SEGMENT];
    let n = sim
        .rng
        .gen_range(MUSIC_RST_SEGMENTS.0..=MUSIC_RST_SEGMENTS.1);
    let mut at = t;
    for _ in 0..n {
        sim.srv_tcp(&mut c, at, ACK, &seg);
        let seq = c.dev_next;
        sim.dev_tcp_at_seq(&mut c, at + 40, RST, &[], Class::Retransmit, seq);
        at += sim.rng.gen_range(20..700);
    }
    at
}

// ------------------------------------------------------------------- UDP

/// DNS (names cached for an hour) and NTP (every 3 hours). The published
/// dataset holds TCP only; these are not compared with it.
fn udp_misc(sim: &mut Sim) {
    let (start, end) = (sim.start(), sim.end());
    let ntp = hosts::remote(Ipv4Addr::new(192, 0, 2, 123));
    let mut t = start + 5 * S;
    while t < end {
        let mut pkt = vec![0u8; 48];
        pkt[0] = 0x23; // LI 0, version 4, client
        let sport = sim.ephemeral_port();
        sim.dev_udp(t, ntp, sport, 123, &pkt, Class::NotRelevant);
        pkt[0] = 0x24;
        let r = sim.rng.gen_range(18 * MS..42 * MS);
        sim.srv_udp(t + r, ntp, 123, sport, &pkt);
        t += around(sim, 10_800.0);
    }
    let names = [
        "avs-alexa-eu.amazon.com",
        "device-metrics-us.amazon.com",
        "api.amazonalexa.com",
    ];
    let mut t = start + 3 * S;
    let mut i = 0;
    while t < end {
        dns(sim, t, names[i % names.len()]);
        i += 1;
        t += around(sim, 1_200.0);
    }
}

/// A DNS query for `name` to the gateway and its answer.
fn dns(sim: &mut Sim, t: u64, name: &str) {
    let id: u16 = sim.rng.gen();
    let mut q = Vec::with_capacity(64);
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    let sport = sim.ephemeral_port();
    sim.dev_udp(t, hosts::GATEWAY, sport, 53, &q, Class::NotRelevant);
    let mut a = q.clone();
    a[2] = 0x81;
    a[3] = 0x80;
    a[7] = 1;
    a.extend_from_slice(&[
        0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 203, 0, 113, 10,
    ]);
    let r = sim.rng.gen_range(2 * MS..30 * MS);
    sim.srv_udp(t + r, hosts::GATEWAY, 53, sport, &a);
}
