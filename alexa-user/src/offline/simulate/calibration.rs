//! Every number the generator uses, in one place, calibrated to the paper
//! authors' published dataset (`../shared/data/real/paper-dataset`: real
//! Echo traffic, 2022, extracted as contract version 2 defines the columns),
//! read as the project reads it: the 12 distinct recordings (the duplicate
//! `microphone_mute/03.csv` = `no_wake_word/05.csv` once) and the 443
//! `not_justified` rows with the microphone on counted as `justified`.
//!
//! The tables are statistics of those rows (frame lengths, gaps between a
//! connection's packets, periods, how many of each per hour of a context),
//! never the rows themselves; `docs/simulator.md` says how each was read.
//! `tests/simulate_calibration.rs` checks the result: the per-class counts
//! and the per-class `length` and `delta` distributions (two-sample
//! Kolmogorov–Smirnov D against the published rows).
//!
//! Size: every calibrated number of the simulator in one table, by design
//! (docs/simulator.md); split, the calibration would be scattered.

use rand::Rng;

use super::Context;

/// 2022-01-15 09:00:00 UTC (the published recordings were made 2022-01-15..21).
pub const START_US: u64 = 1_642_237_200_000_000;

/// Context durations in seconds: the published recordings' durations, the
/// duplicate once and counted with no-wake-word (its microphone is on in
/// every row and its uploads are relabelled `justified`).
///
/// | context | recordings | seconds |
/// |---|---|---:|
/// | mic-off | microphone_mute/01, 02 | 9,987 |
/// | streaming | music_stream/01, 02, 03 | 2,104 |
/// | no-wake-word | no_wake_word/01-04, microphone_mute/03 | 24,660 |
/// | conversation | normal_conversation/01, 02 | 808 |
pub fn duration_s(c: Context) -> f64 {
    match c {
        Context::MicOff => 9_987.0,
        Context::Streaming => 2_104.0,
        Context::NoWakeWord => 24_660.0,
        Context::Conversation => 808.0,
    }
}

/// A distribution given by its quantiles: `(p, value)` pairs, `p` rising
/// from 0 to 1; sampled by linear interpolation of the inverse CDF.
pub type Quantiles = &'static [(f64, f64)];

/// One draw from `q`.
pub fn sample(q: Quantiles, rng: &mut impl Rng) -> f64 {
    sample_at(q, rng.gen())
}

/// The value of `q` at probability `u` (0..1).
pub fn sample_at(q: Quantiles, u: f64) -> f64 {
    for w in q.windows(2) {
        let ((p0, v0), (p1, v1)) = (w[0], w[1]);
        if u <= p1 {
            let f = if p1 > p0 { (u - p0) / (p1 - p0) } else { 0.0 };
            return v0 + f * (v1 - v0);
        }
    }
    q.last().map_or(0.0, |x| x.1)
}

/// A value from a weighted table.
pub fn pick<T: Copy>(table: &[(T, u32)], rng: &mut impl Rng) -> T {
    pick_at(table, rng.gen())
}

/// The value of a weighted table at probability `u` (0..1).
pub fn pick_at<T: Copy>(table: &[(T, u32)], u: f64) -> T {
    let total: u32 = table.iter().map(|x| x.1).sum();
    let mut r = ((u * f64::from(total)) as u32).min(total - 1);
    for (v, w) in table {
        if r < *w {
            return *v;
        }
        r -= w;
    }
    table[table.len() - 1].0
}

// ---- TCP ----

/// Largest TCP payload the Echo sends in one segment (the published 1,494-
/// and 1,506-byte frames: 1,440 bytes after the TCP header and options).
pub const MSS: usize = 1_440;
/// Segments the Echo sends before it waits for an acknowledgement (the
/// initial congestion window: uploads pause one round trip after ten).
pub const INITIAL_WINDOW: usize = 10;

/// Round-trip time to a server, ms: the gap between the Echo's SYN and its
/// ACK of the SYN-ACK in the published sessions. Drawn once per connection.
pub const RTT_MS: Quantiles = &[
    (0.0, 15.0),
    (0.05, 22.0),
    (0.1, 27.0),
    (0.25, 109.0),
    (0.5, 127.0),
    (0.75, 197.0),
    (0.9, 234.0),
    (0.95, 302.0),
    (1.0, 409.0),
];
/// The Echo's time from the server's last handshake segment to its
/// ClientKeyExchange, ms (published `delta` of the 141/129-byte records).
pub const KEY_EXCHANGE_MS: Quantiles = &[
    (0.0, 5.0),
    (0.05, 20.0),
    (0.1, 31.0),
    (0.25, 38.0),
    (0.5, 42.0),
    (0.75, 50.0),
    (0.9, 67.0),
    (0.95, 100.0),
    (1.0, 178.0),
];

// ---- The voice service's connection (no TCP timestamps) ----

/// A 46-byte payload (a 41-byte application-data record) every 30 s: the
/// published 100-byte `syn` rows. Gap = 30 s + this jitter (ms).
pub const PING_A_PERIOD_MS: f64 = 30_000.0;
pub const PING_A_JITTER_MS: Quantiles = &[
    (0.0, -639.0),
    (0.02, -131.0),
    (0.05, -98.0),
    (0.1, -61.0),
    (0.2, -14.0),
    (0.3, -4.0),
    (0.35, -2.0),
    (0.4, -1.0),
    (0.44, -0.5),
    (0.45, 0.0),
    (0.56, 0.4),
    (0.6, 1.0),
    (0.65, 2.0),
    (0.7, 4.0),
    (0.8, 17.0),
    (0.9, 53.0),
    (0.95, 100.0),
    (0.98, 137.0),
    (1.0, 713.0),
];
/// After a state report (or at random, this share of pings) the service
/// has sent something just before the next ping: the Echo acknowledges it,
/// then pings (the ping's `delta` is then 0: 150 of the published 1,245).
pub const PING_A_AFTER_ACK_P: f64 = 0.005;
/// The same after a burst of music reports, and after a conversation turn.
pub const PING_A_AFTER_MUSIC_P: f64 = 0.35;
pub const PING_A_AFTER_TURN_P: f64 = 0.45;
/// Idle events on the voice connection (state reports), per context: mean
/// gap (s); the record sizes (frame lengths on this connection).
pub fn voice_event_gap_s(c: Context) -> Option<f64> {
    match c {
        Context::MicOff => Some(222.0),
        Context::NoWakeWord => Some(265.0),
        Context::Streaming | Context::Conversation => None,
    }
}
pub const VOICE_EVENT_FRAMES: &[(usize, u32)] = &[
    (295, 12),
    (298, 11),
    (278, 11),
    (286, 5),
    (346, 10),
    (347, 27),
    (348, 17),
    (350, 8),
    (351, 12),
    (355, 11),
    (356, 6),
    (371, 2),
    (390, 3),
    (504, 3),
    (662, 6),
    (733, 5),
    (771, 3),
];
/// A state report is sometimes a large record across segments, or two
/// records; then a 92-byte record follows this often.
pub const VOICE_EVENT_SPAN_P: f64 = 0.04;
pub const VOICE_EVENT_MORE_P: f64 = 0.5;
pub const VOICE_EVENT_TAIL_P: f64 = 0.2;

/// The second keep-alive (its own connection, TCP timestamps): a 33-byte
/// payload (a 28-byte record, the published 99-byte `syn` rows) ~90.87 s
/// after the Echo's ACK of the previous one's answer (ms: the published
/// `delta`), that ACK's lag (ms).
pub const PING_B_AFTER_MS: Quantiles = &[
    (0.0, 89_824.0),
    (0.05, 90_729.0),
    (0.1, 90_765.0),
    (0.25, 90_838.0),
    (0.5, 90_868.0),
    (0.75, 90_884.0),
    (0.9, 90_904.0),
    (0.95, 90_929.0),
    (1.0, 90_974.0),
];
/// Keep-alives repeated (lost, sent again one retransmission timeout later:
/// TCP, `not_relevant`): share, and the timeout (ms).
pub const PING_B_RETRY_P: f64 = 0.035;
pub const PING_A_RETRY_P: f64 = 0.005;
pub const PING_RETRY_MS: Quantiles = &[(0.0, 300.0), (0.5, 397.0), (0.8, 700.0), (1.0, 1_300.0)];
/// Share of each context the second keep-alive is up (it pauses in part of
/// the no-wake-word recordings).
pub fn ping_b_share(c: Context) -> f64 {
    match c {
        Context::NoWakeWord => 0.75,
        _ => 1.0,
    }
}
pub const PING_B_ACK_MS: Quantiles = &[
    (0.0, 100.0),
    (0.05, 111.0),
    (0.1, 114.0),
    (0.25, 118.0),
    (0.5, 131.0),
    (0.75, 150.0),
    (0.9, 197.0),
    (0.95, 204.0),
    (1.0, 806.0),
];

/// The synchronisation channel on TCP 4070 (DATA, 11-byte messages, the
/// published 77-byte `syn` rows): period (ms), the Echo's ACK of the answer
/// (ms after), and the share of each context it is up (it is absent from
/// several recordings).
pub const SYNC_PERIOD_MS: Quantiles = &[
    (0.0, 30_600.0),
    (0.05, 30_666.0),
    (0.1, 30_711.0),
    (0.25, 30_762.0),
    (0.5, 30_812.0),
    (0.75, 30_854.0),
    (0.9, 30_882.0),
    (0.95, 30_911.0),
    (1.0, 31_100.0),
];
pub const SYNC_ACK_MS: Quantiles = &[
    (0.0, 30.0),
    (0.05, 36.0),
    (0.1, 41.0),
    (0.25, 42.0),
    (0.5, 61.0),
    (0.75, 68.0),
    (0.9, 98.0),
    (0.95, 124.0),
    (1.0, 400.0),
];
pub const SYNC_PORT: u16 = 4070;
pub fn sync_share(c: Context) -> f64 {
    match c {
        Context::MicOff => 0.26,
        Context::Streaming => 0.7,
        Context::NoWakeWord => 0.41,
        Context::Conversation => 1.0,
    }
}
/// The service sends something every 2 minutes the Echo acknowledges.
pub const SYNC_PUSH_PERIOD_S: f64 = 120.0;
/// In one no-wake-word recording the channel moved to TCP 443, its message
/// ~10.2 s after the previous answer's ACK (on port 443 it is TCP, not DATA,
/// and moves the clock: docs/features.md, the port rule): the share of
/// no-wake-word time it does so (after the 4070 part), that gap (ms) and the
/// ACK's lag (ms).
pub const SYNC_443_SHARE: f64 = 0.135;
pub const SYNC_443_AFTER_MS: Quantiles = &[
    (0.0, 9_920.0),
    (0.05, 9_922.0),
    (0.1, 10_112.0),
    (0.25, 10_152.0),
    (0.5, 10_191.0),
    (0.75, 10_216.0),
    (0.9, 10_240.0),
    (0.95, 10_250.0),
    (1.0, 10_290.0),
];
pub const SYNC_443_ACK_MS: Quantiles = &[(0.0, 100.0), (0.5, 105.0), (0.9, 140.0), (1.0, 160.0)];
/// While music plays the channel carries track metadata too: mean gap (s)
/// and sizes (frame lengths).
pub const SYNC_MUSIC_GAP_S: f64 = 28.0;
pub const SYNC_MUSIC_FRAMES: &[(usize, u32)] = &[
    (79, 12),
    (119, 9),
    (168, 2),
    (169, 10),
    (248, 2),
    (252, 11),
    (255, 9),
    (339, 9),
    (377, 9),
];

// ---- Short TLS sessions (new connection, handshake, records, acks) ----

/// Every ~5 minutes the Echo opens a session to one of many regional
/// servers and sends one 256-byte record (the published 322-byte rows).
pub const PROBE_PERIOD_S: f64 = 300.5;
pub const PROBE_FRAME: usize = 322;
/// Share of closes after which the server still sends (answered by RSTs).
pub const RST_AFTER_CLOSE_P: f64 = 0.04;
/// Full-handshake ClientHello frames (TCP timestamps).
/// (Probes use 501 bytes three times in four, uploads 498 nearly always.)
pub const HELLO_FRAMES: &[(usize, u32)] = &[(498, 171), (501, 124)];
pub const PROBE_HELLO_FRAMES: &[(usize, u32)] = &[(501, 3), (498, 1)];
pub const UPLOAD_HELLO_FRAMES: &[(usize, u32)] = &[(498, 9), (501, 1)];
/// Gaps between the records of an upload's burst (whole ms, weights): the
/// published `delta` inside upload bursts.
pub const BURST_GAP_MS: &[(u32, u32)] = &[(0, 84), (1, 9), (2, 3), (3, 2), (4, 1), (6, 1)];
/// Share of full handshakes that send ChangeCipherSpec and Finished in one
/// segment (the 117-byte rows) instead of two (72 and 111).
pub const CCS_FIN_TOGETHER_P: f64 = 0.12;
/// Server handshake segments the Echo acknowledges, one ACK each.
pub const FLIGHT_ACKS: &[(u32, u32)] = &[(6, 8), (7, 45), (8, 40), (9, 7)];

/// Uploads: sessions with a header record and a body. Mean gap per context
/// (s; none in conversation).
pub fn upload_gap_s(c: Context) -> Option<f64> {
    match c {
        Context::MicOff => Some(330.0),
        Context::NoWakeWord => Some(215.0),
        Context::Streaming => Some(46.0),
        Context::Conversation => None,
    }
}
/// Header record frames.
pub const UPLOAD_HEADER_FRAMES: &[(usize, u32)] = &[(365, 129), (364, 38), (363, 3)];
/// Body shapes, by weight: `A` is (1,475, 1,475, 1,396) repeated, `B` is
/// (1,475, 764, 1,475, 727) repeated then full segments, `S` a single
/// record, `X` full segments only.
pub const UPLOAD_SHAPES: &[(char, u32)] = &[('A', 85), ('B', 55), ('S', 30), ('X', 16)];
pub const UPLOAD_SINGLE_FRAMES: &[(usize, u32)] = &[
    (1226, 11),
    (1228, 4),
    (1230, 4),
    (831, 2),
    (1298, 2),
    (1344, 1),
    (1068, 1),
];
/// The body's last record (frame length).
pub const UPLOAD_LAST_FRAME: Quantiles = &[
    (0.0, 72.0),
    (0.05, 161.0),
    (0.1, 220.0),
    (0.25, 381.0),
    (0.5, 712.0),
    (0.75, 1_062.0),
    (0.9, 1_257.0),
    (0.95, 1_370.0),
    (1.0, 1_493.0),
];

/// Content-delivery sessions (abbreviated ClientHello, key exchange,
/// ChangeCipherSpec and Finished in one segment, small requests, close_notify):
/// mean gap per context (s).
pub fn cdn_gap_s(c: Context) -> f64 {
    match c {
        Context::MicOff => 713.0,
        Context::NoWakeWord => 480.0,
        Context::Streaming => 400.0,
        Context::Conversation => 135.0,
    }
}
pub const CDN_HELLO_FRAMES: &[(usize, u32)] = &[
    (273, 57),
    (276, 11),
    (270, 2),
    (280, 3),
    (283, 2),
    (298, 2),
    (312, 2),
];
/// Sessions without TCP timestamps (the server refused them): full handshake
/// of 404-420-byte ClientHello, 75-byte key exchange, 6 and 45, two records.
pub fn plain_gap_s(c: Context) -> f64 {
    match c {
        Context::MicOff => 2_000.0,
        Context::NoWakeWord => 1_100.0,
        Context::Streaming => 2_104.0,
        Context::Conversation => 808.0,
    }
}
pub const PLAIN_HELLO_FRAMES: &[(usize, u32)] = &[
    (470, 9),
    (473, 3),
    (475, 2),
    (477, 4),
    (478, 3),
    (482, 4),
    (486, 2),
];
/// One in so many of them uploads at length (records).
pub const PLAIN_UPLOAD_EVERY: u32 = 10;
pub const PLAIN_UPLOAD_RECORDS: (u32, u32) = (30, 70);
pub const PLAIN_RECORD_FRAMES: &[(usize, u32)] = &[
    (305, 9),
    (594, 9),
    (1483, 21),
    (1494, 20),
    (779, 17),
    (155, 6),
    (491, 5),
    (523, 4),
    (667, 4),
    (1062, 3),
    (715, 3),
    (640, 3),
    (538, 2),
    (540, 2),
];

// ---- The LAN peer that never answers ----

/// Every ~1,000 s the Echo tries a LAN peer on TCP 55443 five times, 20 s
/// apart; each attempt is a SYN repeated after 1, 2 and 4 s (each repeat
/// lands a few ms late).
pub const LAN_EPISODE_GAP_S: f64 = 1_000.0;
pub const LAN_ATTEMPTS: u32 = 5;
pub const LAN_ATTEMPT_GAP_MS: f64 = 20_000.0;
pub const LAN_PORT: u16 = 55_443;
/// How late each repeat is against 1, 2 and 4 s (ms).
pub const LAN_RETRY_LATE_MS: [Quantiles; 3] = [
    &[
        (0.0, -94.0),
        (0.05, -71.0),
        (0.1, -57.0),
        (0.25, -10.0),
        (0.5, -3.0),
        (0.75, 0.0),
        (0.9, 10.0),
        (0.95, 17.0),
        (1.0, 27.0),
    ],
    &[
        (0.0, -49.0),
        (0.05, -21.0),
        (0.1, -13.0),
        (0.25, 0.0),
        (0.5, 4.0),
        (0.75, 5.0),
        (0.9, 22.0),
        (0.95, 28.0),
        (1.0, 66.0),
    ],
    &[
        (0.0, -61.0),
        (0.05, -17.0),
        (0.1, -11.0),
        (0.25, 3.0),
        (0.5, 7.0),
        (0.75, 11.0),
        (0.9, 17.0),
        (0.95, 27.0),
        (1.0, 76.0),
    ],
];

// ---- Music (streaming) ----

/// Tracks come over HTTP (TCP 80, range requests every ~2.9 s, each answered
/// with ~54 segments the Echo acknowledges one by one) or HTTPS (content
/// delivery, requests are records): the tracks of the context's last share
/// below (music_stream/03's part of the streaming time).
pub const MUSIC_HTTPS_SHARE: f64 = 0.23;
pub const MUSIC_REQUEST_GAP_MS: Quantiles = &[
    (0.0, 1_000.0),
    (0.05, 1_900.0),
    (0.1, 2_100.0),
    (0.25, 2_500.0),
    (0.5, 2_900.0),
    (0.75, 3_300.0),
    (0.9, 3_700.0),
    (1.0, 5_500.0),
];
pub const MUSIC_SEGMENTS: (u32, u32) = (42, 61);
/// HTTPS asks for this many times as much at once (fewer request records).
pub const HTTPS_CHUNKS: u32 = 3;
pub const MUSIC_SEGMENT: usize = 1_428;
/// A track plays this long (s).
pub const TRACK_PLAY_S: (f64, f64) = (150.0, 260.0);
/// GET request frames (TCP timestamps).
pub const GET_FRAMES: &[(usize, u32)] = &[
    (514, 2),
    (516, 4),
    (518, 8),
    (520, 14),
    (521, 6),
    (522, 108),
    (523, 9),
    (524, 218),
    (525, 5),
    (526, 202),
];
/// Share of the Echo's ACKs during a download that carry SACK blocks
/// (one block: 78-byte frame; two: 86), HTTP and HTTPS.
pub const SACK_P_HTTP: f64 = 0.008;
pub const SACK_P_HTTPS: f64 = 0.12;
/// Share of SACK ACKs that report two blocks.
pub const SACK_TWO_P: f64 = 0.08;
/// Gaps between a download's segments (µs): mostly back to back, a few
/// pauses of some ms (the sender's pacing), rarely a round trip.
pub const SEGMENT_GAP_US: Quantiles = &[
    (0.0, 0.0),
    (0.5, 60.0),
    (0.8, 200.0),
    (0.9, 700.0),
    (0.95, 2_500.0),
    (0.98, 6_000.0),
    (0.995, 20_000.0),
    (1.0, 40_000.0),
];
/// HTTPS music: request records (frame lengths), and the segments still in
/// flight when the music is stopped (each answered by a RST: the published
/// muted-music recording ends with 114 of them).
pub const MUSIC_TLS_REQUEST_FRAMES: &[(usize, u32)] = &[(346, 3), (351, 3), (353, 2), (355, 12)];
pub const MUSIC_RST_SEGMENTS: (u32, u32) = (95, 130);
/// What the Echo uploads while music plays, on the voice connection, in
/// bursts around track changes: a record, then one record spanning segments
/// (the first ones end no record: TCP, `not_relevant`) or a small one.
pub const MUSIC_VOICE_GAP_S: f64 = 190.0;
/// Reports per burst, and the gap between them (ms).
pub const MUSIC_VOICE_GROUPS: (u32, u32) = (3, 8);
/// Share of reports with a record across segments.
pub const MUSIC_VOICE_SPAN_P: f64 = 0.35;
pub const MUSIC_VOICE_GROUP_GAP_MS: Quantiles = &[
    (0.0, 45.0),
    (0.4, 52.0),
    (0.6, 70.0),
    (0.8, 800.0),
    (0.95, 3_000.0),
    (1.0, 5_000.0),
];

// ---- Conversation ----

/// An interaction every so often (s from the end of one to the start of the next).
pub const INTERACTION_GAP_S: (f64, f64) = (8.0, 33.0);
/// Audio frames are records of 92 + 80·k bytes (frame lengths on the voice
/// connection): 172 (k = 1) in the utterance, mostly; the wake word,
/// buffered, goes first in records of several frames.
pub const AUDIO_FRAMES: &[(usize, u32)] = &[(172, 3425), (252, 120)];
pub const PREROLL_FRAMES: &[(usize, u32)] = &[(332, 264), (252, 68), (412, 37)];
pub const PREROLL_RECORDS: (u32, u32) = (6, 14);
/// Gaps between those records (whole ms, weights).
pub const PREROLL_GAP_MS: &[(u32, u32)] = &[(0, 3), (5, 2), (10, 5), (15, 1)];
/// Records of an utterance.
pub const UTTERANCE_RECORDS: Quantiles = &[
    (0.0, 5.0),
    (0.05, 9.0),
    (0.1, 25.0),
    (0.25, 52.0),
    (0.5, 90.0),
    (0.75, 119.0),
    (0.9, 242.0),
    (0.95, 272.0),
    (1.0, 360.0),
];
/// Gap between audio records (whole ms, weights): the published `delta` of
/// the 172-byte records (audio is framed in 10 ms steps).
pub const AUDIO_GAP_MS: &[(u32, u32)] = &[
    (0, 254),
    (1, 20),
    (2, 11),
    (3, 22),
    (4, 26),
    (5, 37),
    (6, 51),
    (7, 53),
    (8, 50),
    (9, 95),
    (10, 548),
    (11, 78),
    (12, 43),
    (13, 39),
    (14, 25),
    (15, 21),
    (16, 30),
    (17, 27),
    (18, 32),
    (19, 60),
    (20, 560),
    (21, 189),
    (22, 54),
    (23, 60),
    (24, 40),
    (25, 56),
    (26, 32),
    (27, 36),
    (28, 26),
    (29, 35),
    (30, 231),
    (31, 144),
    (32, 40),
    (33, 30),
    (34, 32),
    (35, 30),
    (36, 19),
    (37, 17),
    (38, 13),
    (39, 13),
    (40, 27),
    (41, 57),
    (42, 16),
    (43, 16),
    (44, 13),
    (45, 10),
    (46, 8),
    (47, 7),
    (48, 8),
    (49, 9),
    (50, 11),
    (51, 12),
    (52, 9),
    (53, 5),
    (54, 9),
    (55, 5),
    (56, 2),
    (57, 5),
    (58, 2),
    (59, 7),
    (60, 1),
    (61, 1),
    (62, 2),
    (65, 2),
    (67, 1),
    (70, 1),
];
/// The answer the service streams back (segments the Echo acknowledges).
pub const ANSWER_SEGMENTS: (u32, u32) = (15, 70);
/// Playback events during the answer: (first record, second record) frames.
pub const PLAYBACK_EVENT_FRAMES: &[(usize, u32)] = &[(353, 92), (303, 17)];
pub const PLAYBACK_SECOND_FRAMES: &[(usize, u32)] = &[
    (464, 14),
    (465, 12),
    (459, 2),
    (461, 5),
    (462, 3),
    (499, 7),
    (500, 6),
    (503, 5),
    (530, 3),
];

/// The published dataset's numbers (computed from the files; see
/// docs/simulator.md), for the calibration test and the report.
pub mod published {
    /// Rows per context, the duplicate once (with no-wake-word).
    pub const CONTEXT_ROWS: [(&str, u64); 4] = [
        ("mic-off", 3_023),
        ("streaming", 39_793),
        ("no-wake-word", 9_374),
        ("conversation", 8_027),
    ];
    pub const TOTAL: u64 = 60_217;
    /// Rows per class, the duplicate once, not_justified with the
    /// microphone on counted as justified.
    pub const CLASS_ROWS: [(&str, u64); 8] = [
        ("ack", 47_111),
        ("expected", 4_813),
        ("syn", 2_485),
        ("justified", 1_759),
        ("handshake", 1_510),
        ("retransmit", 1_283),
        ("not_relevant", 781),
        ("not_justified", 475),
    ];
    /// Rows per `highest_layer` (SSL, TCP, DATA, HTTP).
    pub const HIGHEST_LAYER: [(&str, u64); 4] = [
        ("SSL", 10_151),
        ("TCP", 48_930),
        ("DATA", 555),
        ("HTTP", 581),
    ];
    /// Rows without a content type (the published NaN).
    pub const CONTENT_TYPE_NAN: u64 = 50_066;
    /// Rows without the ACK flag (SYNs and RSTs: the `retransmit` class).
    pub const ACK_FLAG_NOT_SET: u64 = 1_283;
}
