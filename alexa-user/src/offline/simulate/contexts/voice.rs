//! The voice service: the long-lived connection, its keep-alives and the
//! interactions (utterances up, answers down), the second keep-alive, the
//! synchronisation channel and the silent LAN peer.

use super::*;

#[derive(Clone, Copy, Debug)]
pub(super) enum Voice {
    Ping,
    Event,
    MusicUpload,
    Interaction,
}

/// The voice service: one long-lived connection without TCP timestamps. A
/// keep-alive record every 30 s; state reports while idle; what the Echo
/// uploads while music plays; conversations.
pub(super) fn voice(sim: &mut Sim) {
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
                    t = sim.dev_tcp(&mut c, t, ACK, &[], "ack") + sim.rng.gen_range(20..400);
                    pending = false;
                }
                let rec = tls::record(tls::APPLICATION_DATA, 46, &mut sim.rng);
                let seq = c.dev_next;
                let mut t = sim.dev_tcp(&mut c, t, ACK | PSH, &rec, "syn");
                if sim.rng.gen_bool(PING_A_RETRY_P) {
                    t += us(sample(PING_RETRY_MS, &mut sim.rng));
                    sim.dev_tcp_at_seq(&mut c, t, ACK | PSH, &rec, "not_relevant", seq);
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
pub(super) fn interaction(sim: &mut Sim, c: &mut Conn, t: u64, rtt: u64, u: f64) -> u64 {
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
    let t = sim.dev_tcp(c, t + r, ACK, &[], "ack") + tiny(sim);
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
        sim.dev_tcp(c, t + d, ACK, &[], "ack");
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
pub(super) fn ping_b(sim: &mut Sim) {
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
        sim.dev_tcp(&mut c, t, ACK | PSH, &rec, "syn");
        let mut answered = t;
        if sim.rng.gen_bool(PING_B_RETRY_P) {
            answered += us(sample(PING_RETRY_MS, &mut sim.rng));
            sim.dev_tcp_at_seq(&mut c, answered, ACK | PSH, &rec, "not_relevant", seq);
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
pub(super) fn sync_channel(sim: &mut Sim) {
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
            sim.dev_tcp(&mut c, t, ACK | PSH, &msg, "syn");
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
                sim.dev_tcp(&mut c, when, ACK | PSH, &msg, "syn");
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
                sim.dev_tcp(&mut c, t, ACK | PSH, &msg, "syn");
                let lag = us(sample(SYNC_443_ACK_MS, &mut sim.rng));
                let acked = ack_answer(sim, &mut c, t + lag - 300, 300);
                t = acked + us(sample(SYNC_443_AFTER_MS, &mut sim.rng));
            }
        }
    }
}

/// A LAN peer on TCP 55443 that never answers: every ~1,000 s, five
/// attempts 20 s apart, each a SYN repeated after 1, 2 and 4 s.
pub(super) fn lan_peer(sim: &mut Sim) {
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
                sim.dev_tcp_at_seq(&mut c, at, SYN, &[], "retransmit", seq);
                let late = sample(LAN_RETRY_LATE_MS[(k as usize).min(2)], &mut sim.rng);
                at += us(1_000.0 * f64::from(1u32 << k) + late + sim.rng.gen_range(0.0..1.0));
            }
        }
        t += around(sim, LAN_EPISODE_GAP_S);
    }
}
