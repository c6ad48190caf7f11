//! The Echo's behaviour. Background processes run over the whole timeline
//! (synchronisation records, the 3-minute server lookup, the Fire Stick,
//! DNS/NTP/SSDP/mDNS, down-channel pushes); each context adds its own
//! (uploads nobody asked for, wake-word verification, conversations, music).
//!
//! Activities that share a TCP connection are scheduled first and emitted in
//! time order, so sequence and acknowledgement numbers stay consistent.

use std::net::Ipv4Addr;

use rand::Rng;

use super::{
    calibration::*,
    frames::{ACK, FIN, PSH, RST, SYN},
    hosts, tls, Conn, Context, Sim,
};

const MS: u64 = 1_000;
const S: u64 = 1_000_000;

fn around(sim: &mut Sim, mean_s: f64) -> u64 {
    (sim.rng.gen_range(0.5..1.5) * mean_s * 1e6) as u64
}

fn between(sim: &mut Sim, (lo, hi): (u32, u32)) -> u32 {
    sim.rng.gen_range(lo..=hi)
}

fn rtt(sim: &mut Sim) -> u64 {
    sim.rng.gen_range(18 * MS..42 * MS)
}

fn server(last: u8) -> super::frames::Host {
    hosts::remote(Ipv4Addr::new(203, 0, 113, last))
}

/// Runs every process over the timeline.
pub fn run(sim: &mut Sim) {
    let t0 = sim.start();
    sync_records(
        sim,
        t0 + 1_200 * MS,
        SYNC_A_PERIOD_US,
        SYNC_A_LEN,
        server(20),
    );
    sync_records(
        sim,
        t0 + 2_700 * MS,
        SYNC_B_PERIOD_US,
        SYNC_B_LEN,
        server(21),
    );
    lookups(sim);
    fire_stick(sim);
    udp_misc(sim);
    voice_service(sim);
    bulk_uploads(sim);
    streaming(sim);
}

/// Opens `c` with a TCP handshake and a TLS handshake (full or resumed);
/// returns when the Echo may send application data.
fn open_tls(sim: &mut Sim, c: &mut Conn, t: u64, resume: bool) -> u64 {
    let t = open_tcp(sim, c, t);
    let r = rtt(sim);
    let len = sim.rng.gen_range(230..=560);
    let hello = tls::client_hello(len, resume, &mut sim.rng);
    let t = sim.dev_tcp(c, t + 150, ACK | PSH, &hello, "handshake");
    if resume {
        let mut flight = tls::record(tls::HANDSHAKE, 95, &mut sim.rng);
        flight.extend(tls::record(tls::CHANGE_CIPHER_SPEC, 6, &mut sim.rng));
        flight.extend(tls::record(tls::HANDSHAKE, 45, &mut sim.rng));
        let t = sim.srv_tcp(c, t + r, ACK | PSH, &flight);
        let ccs = tls::record(tls::CHANGE_CIPHER_SPEC, 6, &mut sim.rng);
        let t = sim.dev_tcp(c, t + 300, ACK | PSH, &ccs, "handshake");
        let fin = tls::record(tls::HANDSHAKE, 45, &mut sim.rng);
        return sim.dev_tcp(c, t + 120, ACK | PSH, &fin, "handshake");
    }
    // ServerHello, Certificate, ServerKeyExchange, ServerHelloDone.
    let total = sim.rng.gen_range(3_200..4_300usize);
    let mut flight = tls::record(tls::HANDSHAKE, total, &mut sim.rng);
    let mut t = t + r;
    let mut n = 0;
    while !flight.is_empty() {
        let seg: Vec<u8> = flight.drain(..flight.len().min(AMAZON_SEGMENT)).collect();
        let last = flight.is_empty();
        t = sim.srv_tcp(c, t, if last { ACK | PSH } else { ACK }, &seg) + 400;
        n += 1;
        if n % 2 == 0 && !last {
            sim.dev_tcp(c, t, ACK, &[], "ack");
        }
    }
    let cke = tls::record(tls::HANDSHAKE, 75, &mut sim.rng);
    let t = sim.dev_tcp(c, t + 2 * MS, ACK | PSH, &cke, "handshake");
    let ccs = tls::record(tls::CHANGE_CIPHER_SPEC, 6, &mut sim.rng);
    let t = sim.dev_tcp(c, t + 90, ACK | PSH, &ccs, "handshake");
    let fin = tls::record(tls::HANDSHAKE, 45, &mut sim.rng);
    let t = sim.dev_tcp(c, t + 80, ACK | PSH, &fin, "handshake");
    let mut flight = tls::record(tls::CHANGE_CIPHER_SPEC, 6, &mut sim.rng);
    flight.extend(tls::record(tls::HANDSHAKE, 45, &mut sim.rng));
    sim.srv_tcp(c, t + r, ACK | PSH, &flight) + 200
}

/// SYN (in `retransmit`, see docs/simulator.md), SYN-ACK, ACK.
fn open_tcp(sim: &mut Sim, c: &mut Conn, t: u64) -> u64 {
    let r = rtt(sim);
    sim.dev_tcp(c, t, SYN, &[], "retransmit");
    let t = sim.srv_tcp(c, t + r, SYN | ACK, &[]);
    sim.dev_tcp(c, t + 120, ACK, &[], "ack")
}

/// Close: the Echo's close_notify (TLS only) and FIN; the server's
/// close_notify and FIN; the Echo's RST (socket gone) or last ACK.
fn close(sim: &mut Sim, c: &mut Conn, t: u64, tls_alert: bool) -> u64 {
    let r = rtt(sim);
    let mut t = t;
    if tls_alert {
        let alert = tls::record(tls::ALERT, 31, &mut sim.rng);
        t = sim.dev_tcp(c, t, ACK | PSH, &alert, "handshake") + 60;
    }
    sim.dev_tcp(c, t, FIN | ACK, &[], "not_relevant");
    let mut t = t + r;
    if tls_alert {
        let alert = tls::record(tls::ALERT, 31, &mut sim.rng);
        t = sim.srv_tcp(c, t, ACK | PSH, &alert);
        if sim.rng.gen_bool(RST_AFTER_CLOSE_P) {
            return sim.dev_tcp(c, t + 90, RST | ACK, &[], "not_relevant");
        }
    }
    let t = sim.srv_tcp(c, t + 50, FIN | ACK, &[]);
    sim.dev_tcp(c, t + 110, ACK, &[], "ack")
}

/// Server data of `bytes` in `seg`-byte segments every `gap` µs; the Echo
/// acks every `ack_every`-th segment and the last. Returns the end time.
fn download(
    sim: &mut Sim,
    c: &mut Conn,
    t: u64,
    bytes: usize,
    seg: usize,
    gap: u64,
    ack_every: u32,
) -> u64 {
    let mut left = bytes;
    let mut t = t;
    let mut n = 0u32;
    let filler = vec![0x5au8; seg];
    while left > 0 {
        let len = left.min(seg);
        left -= len;
        let flags = if left == 0 { ACK | PSH } else { ACK };
        sim.srv_tcp(c, t, flags, &filler[..len]);
        n += 1;
        if n.is_multiple_of(ack_every) || left == 0 {
            let d = if left == 0 {
                sim.rng.gen_range(200..40 * MS)
            } else {
                sim.rng.gen_range(60..400)
            };
            sim.dev_tcp(c, t + d, ACK, &[], "ack");
            if left == 0 {
                return t + d;
            }
        }
        t += gap + sim.rng.gen_range(0..gap / 4 + 1);
    }
    t
}

/// A server's pure ACK of what the Echo sent.
fn server_ack(sim: &mut Sim, c: &mut Conn, t: u64) -> u64 {
    let r = rtt(sim);
    sim.srv_tcp(c, t + r, ACK, &[])
}

/// Synchronisation records (section 4.1) on their own long-lived connection:
/// one record of `len` bytes every `period` µs exactly. The server answers
/// with a pure ACK, so the Echo sends nothing else on the flow and `delta`
/// is the period.
fn sync_records(sim: &mut Sim, start: u64, period: u64, len: usize, srv: super::frames::Host) {
    let end = sim.end();
    let mut c = sim.conn(srv, 443);
    let mut t = open_tls(sim, &mut c, start, false) + 500 * MS;
    while t < end {
        let rec = tls::record(tls::APPLICATION_DATA, len, &mut sim.rng);
        sim.dev_tcp(&mut c, t, ACK | PSH, &rec, "syn");
        server_ack(sim, &mut c, t);
        t += period;
    }
}

const LOOKUP_NAMES: [&str; 3] = [
    "bob-dispatch-prod-eu.amazon.com",
    "device-metrics-us.amazon.com",
    "api.amazonalexa.com",
];

/// Every 3 minutes the Echo looks for a server: (DNS when the answer has
/// expired), TCP and TLS handshake, close.
fn lookups(sim: &mut Sim) {
    let (start, end) = (sim.start(), sim.end());
    let mut t = start + 20 * S;
    let mut dns_at = [None::<u64>; 3];
    let mut i = 0usize;
    while t < end {
        let which = i % LOOKUP_NAMES.len();
        let mut at = t + sim.rng.gen_range(0..400 * MS);
        if dns_at[which].is_none_or(|d| at.saturating_sub(d) >= DNS_TTL_US) {
            at = dns(sim, at, LOOKUP_NAMES[which]) + 2 * MS;
            dns_at[which] = Some(at);
        }
        let mut c = sim.conn(server(10 + which as u8), 443);
        let resume = sim.rng.gen_bool(LOOKUP_RESUME_P);
        let ready = open_tls(sim, &mut c, at, resume);
        let idle = sim.rng.gen_range(800 * MS..2_500 * MS);
        close(sim, &mut c, ready + idle, true);
        t += LOOKUP_PERIOD_US;
        i += 1;
    }
}

/// A DNS query for `name` to the gateway and its answer; returns the answer's time.
fn dns(sim: &mut Sim, t: u64, name: &str) -> u64 {
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
    sim.dev_udp(t, hosts::GATEWAY, sport, 53, &q, "not_relevant");
    let mut a = q.clone();
    a[2] = 0x81;
    a[3] = 0x80;
    a[7] = 1;
    a.extend_from_slice(&[
        0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 203, 0, 113, 10,
    ]);
    let r = sim.rng.gen_range(2 * MS..30 * MS);
    sim.srv_udp(t + r, hosts::GATEWAY, 53, sport, &a);
    t + r
}

/// The Echo tries to reach the Fire Stick, which never answers: a SYN and
/// its retransmissions with exponential back-off (1, 2, 4, ... s).
fn fire_stick(sim: &mut Sim) {
    let (start, end) = (sim.start(), sim.end());
    let mut t = start + around(sim, FIRE_STICK_GAP_S) / 2;
    while t < end {
        let mut c = sim.conn(hosts::FIRE_STICK, FIRE_STICK_PORT);
        let seq = c.dev_isn;
        let mut at = t;
        for k in 0..=SYN_RETRIES {
            sim.dev_tcp_at_seq(&mut c, at, SYN, &[], "retransmit", seq);
            at += (1u64 << k) * S + sim.rng.gen_range(0..3 * MS);
        }
        t += around(sim, FIRE_STICK_GAP_S);
    }
}

/// NTP, SSDP and mDNS: what else an idle Echo sends.
fn udp_misc(sim: &mut Sim) {
    let (start, end) = (sim.start(), sim.end());
    let ntp = hosts::remote(Ipv4Addr::new(192, 0, 2, 123));
    let ssdp = super::frames::Host {
        mac: [0x01, 0x00, 0x5e, 0x7f, 0xff, 0xfa],
        ip: Ipv4Addr::new(239, 255, 255, 250),
    };
    let mdns = super::frames::Host {
        mac: [0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb],
        ip: Ipv4Addr::new(224, 0, 0, 251),
    };
    let mut t = start + 5 * S;
    while t < end {
        let mut pkt = vec![0u8; 48];
        pkt[0] = 0x23; // LI 0, version 4, client
        let sport = sim.ephemeral_port();
        sim.dev_udp(t, ntp, sport, 123, &pkt, "not_relevant");
        pkt[0] = 0x24;
        let r = rtt(sim);
        sim.srv_udp(t + r, ntp, 123, sport, &pkt);
        t += around(sim, NTP_GAP_S);
    }
    let mut t = start + 40 * S;
    while t < end {
        let msg = b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 3\r\nST: urn:dial-multiscreen-org:service:dial:1\r\n\r\n";
        sim.dev_udp(t, ssdp, 50_000, 1900, msg, "not_relevant");
        t += around(sim, SSDP_GAP_S);
    }
    let mut t = start + 70 * S;
    while t < end {
        let mut q = vec![0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        for label in ["_amzn-wplay", "_tcp", "local"] {
            q.push(label.len() as u8);
            q.extend_from_slice(label.as_bytes());
        }
        q.extend_from_slice(&[0, 0, 12, 0, 1]);
        sim.dev_udp(t, mdns, 5353, 5353, &q, "not_relevant");
        t += around(sim, MDNS_GAP_S);
    }
}

/// What happens on the voice service's long-lived connection.
#[derive(Clone, Copy, Debug)]
enum Voice {
    /// The service pushes something (directives, content) the Echo acks.
    Push,
    /// Cloud wake-word verification of a near-trigger: audio paced in real time.
    Verify,
    /// A request (one of four kinds) and its response.
    Interaction(u8),
}

fn schedule(
    sim: &mut Sim,
    ctx: Option<Context>,
    mean_gap_s: f64,
    what: Voice,
    out: &mut Vec<(u64, Voice)>,
) {
    for (s, e, c) in sim.timeline.clone() {
        if ctx.is_some_and(|x| x != c) {
            continue;
        }
        let mut t = s + around(sim, mean_gap_s) / 2;
        while t < e {
            out.push((t, what));
            t += around(sim, mean_gap_s);
        }
    }
}

/// The voice service (one long-lived TLS connection): down-channel pushes in
/// every context, wake-word verification while idle with the microphone
/// on (`justified`), conversations (`expected`).
fn voice_service(sim: &mut Sim) {
    let mut plan = Vec::new();
    schedule(sim, None, PUSH_GAP_S, Voice::Push, &mut plan);
    schedule(
        sim,
        Some(Context::NoWakeWord),
        JUSTIFIED_GAP_S,
        Voice::Verify,
        &mut plan,
    );
    let mut k = 0u8;
    for (s, e, c) in sim.timeline.clone() {
        if c != Context::Conversation {
            continue;
        }
        let mut t = s + 10 * S;
        while t < e {
            plan.push((t, Voice::Interaction(k % 4)));
            k = k.wrapping_add(1);
            t += around(sim, INTERACTION_GAP_S);
        }
    }
    plan.sort_by_key(|p| p.0);
    let end = sim.end();
    let mut c = sim.conn(server(30), 443);
    let mut free = open_tls(sim, &mut c, sim.start() + 600 * MS, false) + 100 * MS;
    for (at, what) in plan {
        let t = at.max(free);
        if t >= end {
            break;
        }
        free = match what {
            Voice::Push => {
                let n = between(sim, PUSH_SEGMENTS) as usize;
                let bytes = n * AMAZON_SEGMENT - sim.rng.gen_range(0..AMAZON_SEGMENT - 40);
                download(sim, &mut c, t, bytes, AMAZON_SEGMENT, 1_100, 2)
            }
            Voice::Verify => {
                let n = between(sim, JUSTIFIED_RECORDS);
                let mut t = t;
                for _ in 0..n {
                    let len = sim.rng.gen_range(950..=1_360);
                    let rec = tls::record(tls::APPLICATION_DATA, len, &mut sim.rng);
                    sim.dev_tcp(&mut c, t, ACK | PSH, &rec, "justified");
                    server_ack(sim, &mut c, t);
                    t += sim.rng.gen_range(20 * MS..60 * MS);
                }
                respond(sim, &mut c, t, 1)
            }
            Voice::Interaction(kind) => interaction(sim, &mut c, t, kind),
        } + 5 * MS;
    }
}

/// The service's answer of `n` segments and the Echo's acks.
fn respond(sim: &mut Sim, c: &mut Conn, t: u64, n: u32) -> u64 {
    let r = rtt(sim) + sim.rng.gen_range(50 * MS..400 * MS);
    let bytes = (n as usize - 1) * AMAZON_SEGMENT + sim.rng.gen_range(60..AMAZON_SEGMENT);
    download(sim, c, t + r, bytes, AMAZON_SEGMENT, 1_100, 2)
}

/// A conversation turn (weather, a football fixture, a shopping-list item,
/// arithmetic): the Recognize event, the utterance streamed as it is spoken
/// (small records every 20-40 ms), the spoken answer, playback events.
fn interaction(sim: &mut Sim, c: &mut Conn, t: u64, kind: u8) -> u64 {
    let event_len = 420 + 90 * kind as usize + sim.rng.gen_range(0..200);
    let ev = tls::record(tls::APPLICATION_DATA, event_len, &mut sim.rng);
    let mut t = sim.dev_tcp(c, t, ACK | PSH, &ev, "expected") + 15 * MS;
    let n = between(sim, UTTERANCE_RECORDS);
    for _ in 0..n {
        let len = sim.rng.gen_range(140..=720);
        let rec = tls::record(tls::APPLICATION_DATA, len, &mut sim.rng);
        sim.dev_tcp(c, t, ACK | PSH, &rec, "expected");
        server_ack(sim, c, t);
        t += sim.rng.gen_range(20 * MS..40 * MS);
    }
    let n = between(sim, RESPONSE_SEGMENTS);
    let mut t = respond(sim, c, t, n);
    for _ in 0..sim.rng.gen_range(2..=4) {
        t += sim.rng.gen_range(300 * MS..2_000 * MS);
        let len = sim.rng.gen_range(90..=380);
        let rec = tls::record(tls::APPLICATION_DATA, len, &mut sim.rng);
        sim.dev_tcp(c, t, ACK | PSH, &rec, "expected");
        server_ack(sim, c, t);
    }
    t
}

/// Uploads nothing explains (`not_justified`): in bulk, back-to-back records
/// of the maximum size on their own long-lived connection, with the
/// microphone muted and, less often, on.
fn bulk_uploads(sim: &mut Sim) {
    let mut plan = Vec::new();
    for (s, e, ctx) in sim.timeline.clone() {
        let gap = match ctx {
            Context::MicOff => NJ_GAP_MUTED_S,
            Context::NoWakeWord => NJ_GAP_IDLE_S,
            _ => continue,
        };
        let mut t = s + around(sim, gap) / 2;
        while t < e {
            plan.push(t);
            t += around(sim, gap);
        }
    }
    if plan.is_empty() {
        return;
    }
    let end = sim.end();
    let mut c = sim.conn(server(80), 443);
    let mut free = open_tls(sim, &mut c, sim.start() + 3_900 * MS, false) + 100 * MS;
    for at in plan {
        let mut t = at.max(free);
        if t >= end {
            break;
        }
        let n = between(sim, NJ_RECORDS);
        for i in 0..n {
            let last = i + 1 == n;
            let len = if last {
                sim.rng.gen_range(200..tls::MAX_DEVICE_RECORD)
            } else {
                tls::MAX_DEVICE_RECORD
            };
            let rec = tls::record(tls::APPLICATION_DATA, len, &mut sim.rng);
            sim.dev_tcp(
                &mut c,
                t,
                if last { ACK | PSH } else { ACK },
                &rec,
                "not_justified",
            );
            if i % 2 == 1 || last {
                server_ack(sim, &mut c, t);
            }
            t += sim.rng.gen_range(80..600);
        }
        free = respond(sim, &mut c, t, 1) + 5 * MS;
    }
}

/// Music: tracks alternate between Amazon Music (TLS on 443, Figure 1) and
/// Spotify (HTTP on 80, Figure 2, with its access point on 4070).
fn streaming(sim: &mut Sim) {
    for (s, e, ctx) in sim.timeline.clone() {
        if ctx != Context::Streaming {
            continue;
        }
        let mut ap: Option<Conn> = None;
        let mut t = s + 8 * S;
        let mut k = 0u32;
        // A track starts only if it has time to download and play to its end
        // inside the context.
        while t + (TRACK_PLAY_S.0 * 1e6) as u64 + 20 * S < e {
            let play = (sim.rng.gen_range(TRACK_PLAY_S.0..TRACK_PLAY_S.1) * 1e6) as u64;
            let stop = (t + play).min(e - 20 * S);
            if k.is_multiple_of(2) {
                amazon_track(sim, t, stop);
            } else {
                spotify_track(sim, t, stop);
                let c = match ap.as_mut() {
                    Some(c) => c,
                    None => {
                        let mut c = sim.conn(
                            hosts::remote(Ipv4Addr::new(198, 51, 100, 40)),
                            SPOTIFY_AP_PORT,
                        );
                        open_tcp(sim, &mut c, t.saturating_sub(400 * MS));
                        ap.insert(c)
                    }
                };
                let mut at = t + 200 * MS;
                while at < stop {
                    let len = sim.rng.gen_range(24..=160);
                    let mut msg = vec![0xb2u8; len];
                    msg[0] = 0x4a + (sim.rng.gen_range(0..3u8));
                    msg[1..3].copy_from_slice(&((len - 3) as u16).to_be_bytes());
                    sim.dev_tcp(c, at, ACK | PSH, &msg, "expected");
                    let r = rtt(sim);
                    if sim.rng.gen_bool(0.5) {
                        let reply = vec![0x4bu8; sim.rng.gen_range(20..90)];
                        sim.srv_tcp(c, at + r, ACK | PSH, &reply);
                        sim.dev_tcp(c, at + r + 40 * MS, ACK, &[], "ack");
                    } else {
                        sim.srv_tcp(c, at + r, ACK, &[]);
                    }
                    at += around(sim, SPOTIFY_AP_GAP_S);
                }
            }
            t = stop + sim.rng.gen_range(S..3 * S);
            k += 1;
        }
        if let Some(mut c) = ap {
            close(sim, &mut c, e.saturating_sub(2 * S).max(t), false);
        }
    }
}

fn amazon_track(sim: &mut Sim, t: u64, stop: u64) {
    let mut c = sim.conn(server(150), 443);
    let resume = sim.rng.gen_bool(0.5);
    let t = open_tls(sim, &mut c, t, resume);
    let req = tls::record(
        tls::APPLICATION_DATA,
        sim.rng.gen_range(560..=680),
        &mut sim.rng,
    );
    let t = sim.dev_tcp(&mut c, t, ACK | PSH, &req, "expected");
    let bytes = between(sim, AMAZON_TRACK_BYTES) as usize;
    let mut t = t + rtt(sim);
    let mut left = bytes;
    while left > 0 {
        let part = left.min(WINDOW_UPDATE_EVERY as usize);
        left -= part;
        t = download(sim, &mut c, t, part, AMAZON_SEGMENT, 1_150, 2);
        if left > 0 {
            let wu = tls::record(tls::APPLICATION_DATA, 42, &mut sim.rng);
            t = sim.dev_tcp(&mut c, t + 150, ACK | PSH, &wu, "expected") + rtt(sim);
        }
    }
    let ev = tls::record(
        tls::APPLICATION_DATA,
        sim.rng.gen_range(300..=660),
        &mut sim.rng,
    );
    let t = sim.dev_tcp(&mut c, stop.max(t + S), ACK | PSH, &ev, "expected");
    let t = server_ack(sim, &mut c, t);
    close(sim, &mut c, t + 200 * MS, true);
}

fn spotify_track(sim: &mut Sim, t: u64, stop: u64) {
    let mut c = sim.conn(hosts::remote(Ipv4Addr::new(198, 51, 100, 20)), 80);
    let mut t = open_tcp(sim, &mut c, t);
    let bytes = between(sim, SPOTIFY_TRACK_BYTES) as usize;
    let file: u64 = sim.rng.gen();
    let mut off = 0usize;
    while off < bytes {
        let part = (bytes - off).min(SPOTIFY_CHUNK as usize);
        let req = format!(
            "GET /audio/{file:016x} HTTP/1.1\r\nHost: audio.cdn.example\r\nRange: bytes={off}-{}\r\nUser-Agent: Spotify/8.5 Linux\r\nConnection: keep-alive\r\n\r\n",
            off + part - 1
        );
        t = sim.dev_tcp(&mut c, t + 300, ACK | PSH, req.as_bytes(), "expected");
        let r = rtt(sim);
        t = download(sim, &mut c, t + r, part + 180, SPOTIFY_SEGMENT, 2_000, 1);
        off += part;
    }
    close(sim, &mut c, stop.max(t + S), false);
}
