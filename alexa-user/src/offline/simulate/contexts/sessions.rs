//! Short sessions: probes, regional TLS sessions, uploads, content delivery
//! and plain HTTP.

use super::*;

/// Every ~5 minutes: a session to a regional server, one 256-byte record.
pub(super) fn probes(sim: &mut Sim) {
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
        let a = sim.dev_tcp(&mut c, when, ACK, &[], "ack");
        let when = a + tiny(sim);
        let a = sim.dev_tcp(&mut c, when, ACK, &[], "ack");
        let when = a + rt(sim, rtt);
        close(sim, &mut c, when, rtt);
        t += us(PROBE_PERIOD_S * 1e3 + sim.rng.gen_range(0.0..800.0));
    }
}

#[derive(Clone, Copy, Debug)]
pub(super) enum Kind {
    Upload,
    Cdn,
    Plain,
}

/// Uploads, content-delivery and no-timestamp sessions at their contexts' rates.
pub(super) fn sessions(sim: &mut Sim) {
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
pub(super) fn upload_body(sim: &mut Sim, u: f64) -> Vec<usize> {
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
pub(super) fn upload(sim: &mut Sim, t: u64, u: f64) {
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
    let a = sim.dev_tcp(&mut c, when, ACK, &[], "ack");
    let when = a + tiny(sim);
    let a = sim.dev_tcp(&mut c, when, ACK, &[], "ack");
    if sim.rng.gen_bool(0.5) {
        let when = a + rt(sim, rtt);
        close(sim, &mut c, when, rtt);
    } else {
        let when = a + rt(sim, rtt);
        server_closes(sim, &mut c, when);
    }
}

/// A content-delivery session: small requests, the answer, close_notify.
pub(super) fn cdn(sim: &mut Sim, t: u64) {
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
    let t = sim.dev_tcp(&mut c, when, ACK | PSH, &alert, "handshake");
    let when = t + tiny(sim);
    close(sim, &mut c, when, rtt);
}

/// A session with a server that refuses TCP timestamps.
pub(super) fn plain(sim: &mut Sim, t: u64, long: bool) {
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
