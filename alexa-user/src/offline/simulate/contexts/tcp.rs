//! TCP and TLS exchanges every activity is built from: opening, flights,
//! handshakes, closing.

use super::*;

/// SYN (`retransmit` by the published rules: no ACK flag), SYN-ACK, ACK;
/// returns the ACK's time.
pub(super) fn open_tcp(sim: &mut Sim, c: &mut Conn, t: u64, rtt: u64) -> u64 {
    sim.dev_tcp(c, t, SYN, &[], "retransmit");
    let r = rt(sim, rtt);
    sim.srv_tcp(c, t + r, SYN | ACK, &[]);
    let d = sim.rng.gen_range(50..400);
    sim.dev_tcp(c, t + r + d, ACK, &[], "ack")
}

/// The server's handshake flight of `k` segments from `t`; the Echo acks
/// each one. Returns the last ACK's time.
pub(super) fn flight(sim: &mut Sim, c: &mut Conn, t: u64, k: u32) -> u64 {
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
        last = sim.dev_tcp(c, t + d, ACK, &[], "ack");
        t = last + sim.rng.gen_range(10..200);
    }
    last
}

/// A full TLS 1.2 handshake from the ClientHello (`hello` bytes of frame);
/// returns when the Echo has acknowledged the server's Finished flight
/// (two segments: session ticket, ChangeCipherSpec + Finished).
pub(super) fn tls_full(
    sim: &mut Sim,
    c: &mut Conn,
    t: u64,
    rtt: u64,
    hello: usize,
    plain: bool,
) -> u64 {
    let ch = tls::client_hello(payload_for(c, hello), false, &mut sim.rng);
    let at = t + hello_lag(sim);
    let t = sim.dev_tcp(c, at, ACK | PSH, &ch, "handshake");
    let k = if plain {
        sim.rng.gen_range(3..=4)
    } else {
        pick(FLIGHT_ACKS, &mut sim.rng)
    };
    let r = rt(sim, rtt);
    let t = flight(sim, c, t + r, k);
    let t = t + us(sample(KEY_EXCHANGE_MS, &mut sim.rng));
    let cke = tls::record(tls::HANDSHAKE, 75, &mut sim.rng);
    let t = sim.dev_tcp(c, t, ACK | PSH, &cke, "handshake");
    let ccs = tls::record(tls::CHANGE_CIPHER_SPEC, 6, &mut sim.rng);
    let fin = tls::record(tls::HANDSHAKE, 45, &mut sim.rng);
    let t = if !plain && sim.rng.gen_bool(CCS_FIN_TOGETHER_P) {
        let mut both = ccs;
        both.extend(fin);
        let when = t + tiny(sim);
        sim.dev_tcp(c, when, ACK | PSH, &both, "handshake")
    } else {
        let when = t + tiny(sim);
        let t = sim.dev_tcp(c, when, ACK | PSH, &ccs, "handshake");
        let when = t + tiny(sim);
        sim.dev_tcp(c, when, ACK | PSH, &fin, "handshake")
    };
    let r = rt(sim, rtt);
    srv_bytes(sim, c, t + r, 200);
    let when = t + r + sim.rng.gen_range(50..400);
    let t = sim.dev_tcp(c, when, ACK, &[], "ack");
    if plain {
        return t;
    }
    let mut flight = tls::record(tls::CHANGE_CIPHER_SPEC, 6, &mut sim.rng);
    flight.extend(tls::record(tls::HANDSHAKE, 45, &mut sim.rng));
    sim.srv_tcp(c, t + 100, ACK | PSH, &flight);
    let when = t + 100 + sim.rng.gen_range(50..500);
    sim.dev_tcp(c, when, ACK, &[], "ack")
}

/// An abbreviated-looking handshake (content delivery): a ~210-byte
/// ClientHello, a short server flight, then ClientKeyExchange,
/// ChangeCipherSpec and Finished in one segment. Returns its time.
pub(super) fn tls_cdn(sim: &mut Sim, c: &mut Conn, t: u64, rtt: u64, hello: usize) -> u64 {
    let ch = tls::client_hello(payload_for(c, hello), true, &mut sim.rng);
    let at = t + hello_lag(sim);
    let t = sim.dev_tcp(c, at, ACK | PSH, &ch, "handshake");
    let r = rt(sim, rtt);
    let k = sim.rng.gen_range(3..=5);
    let t = flight(sim, c, t + r, k);
    let t = t + us(sample(KEY_EXCHANGE_MS, &mut sim.rng) * 0.45);
    let mut all = tls::record(tls::HANDSHAKE, 75, &mut sim.rng);
    all.extend(tls::record(tls::CHANGE_CIPHER_SPEC, 6, &mut sim.rng));
    all.extend(tls::record(tls::HANDSHAKE, 45, &mut sim.rng));
    sim.dev_tcp(c, t, ACK | PSH, &all, "handshake")
}

/// The Echo closes: FIN (an `ack` by the published rules: ACK flag, no
/// payload), the server's FIN, the last ACK.
pub(super) fn close(sim: &mut Sim, c: &mut Conn, t: u64, rtt: u64) -> u64 {
    let t = sim.dev_tcp(c, t, FIN | ACK, &[], "ack");
    let r = rt(sim, rtt);
    if sim.rng.gen_bool(RST_AFTER_CLOSE_P) {
        // The server still had something to say: the socket is gone, each
        // segment gets a RST (`retransmit`: no ACK flag).
        for k in 0..sim.rng.gen_range(1..=2u64) {
            let at = t + r + k * 300;
            sim.srv_tcp(c, at, ACK | PSH, &[0x17; 31]);
            let seq = c.dev_next;
            sim.dev_tcp_at_seq(c, at + 60, RST, &[], "retransmit", seq);
        }
        return t + r + MS;
    }
    sim.srv_tcp(c, t + r, FIN | ACK, &[]);
    t + r
}

/// The server closes an idle session: its close_notify and FIN, which the
/// Echo acknowledges (one ACK, its socket then gone).
pub(super) fn server_closes(sim: &mut Sim, c: &mut Conn, t: u64) -> u64 {
    let alert = tls::record(tls::ALERT, 31, &mut sim.rng);
    sim.srv_tcp(c, t, ACK | PSH, &alert);
    sim.srv_tcp(c, t + 50, FIN | ACK, &[]);
    let when = t + sim.rng.gen_range(100..900);
    sim.dev_tcp(c, when, ACK, &[], "ack")
}
