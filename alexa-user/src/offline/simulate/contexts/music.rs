//! Music: tracks downloaded over HTTP and HTTPS.

use super::*;

/// Music: in streaming, and at the start of a conversation (the published
/// conversation began while a track was still playing).
pub(super) fn music(sim: &mut Sim) {
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
pub(super) fn download(sim: &mut Sim, c: &mut Conn, t: u64, n: u32, sack_p: f64) -> u64 {
    let seg = vec![0x5au8; MUSIC_SEGMENT];
    let mut t = t;
    let mut last = t;
    for _ in 0..n {
        sim.srv_tcp(c, t, ACK, &seg);
        let d = sim.rng.gen_range(20..250);
        last = if sim.rng.gen_bool(sack_p) {
            let blocks = if sim.rng.gen_bool(SACK_TWO_P) { 2 } else { 1 };
            sim.dev_sack(c, t + d, blocks, "ack")
        } else {
            sim.dev_tcp(c, t + d, ACK, &[], "ack")
        };
        t = last + us(sample(SEGMENT_GAP_US, &mut sim.rng) / 1e3);
    }
    last
}

/// A track over HTTP: range requests (HTTP, `not_relevant`) every ~3.4 s.
pub(super) fn track_http(sim: &mut Sim, t: u64, until: u64) -> u64 {
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
        let at = sim.dev_tcp(&mut c, t, ACK | PSH, req.as_bytes(), "not_relevant");
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
pub(super) fn track_https(sim: &mut Sim, t: u64, until: u64, last: bool) -> u64 {
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
        sim.dev_tcp_at_seq(&mut c, at + 40, RST, &[], "retransmit", seq);
        at += sim.rng.gen_range(20..700);
    }
    at
}
