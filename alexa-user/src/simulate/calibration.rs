//! Every number the generator uses, in one place. The paper's own numbers
//! (section 4.1, Figures 1-3) are used as they are; the rest are rates tuned
//! so that `--scenario all` lands on the paper's dataset counts (section 5),
//! checked by `tests/simulate_calibration.rs`.

use super::Context;

/// 2021-03-01 09:00:00 UTC.
pub const START_US: u64 = 1_614_589_200_000_000;

/// Context durations in seconds. Their sum is fixed by the paper's 2,888 `syn`
/// packets (one 100-byte record every 30.002 s plus one 99-byte record every
/// 90.820 s: 65,130 s); the split follows the per-context packet counts.
pub fn duration_s(c: Context) -> f64 {
    match c {
        Context::MicOff => 22_650.0,
        Context::Streaming => 4_330.0,
        Context::NoWakeWord => 31_150.0,
        Context::Conversation => 7_000.0,
    }
}

// Synchronisation packets (section 4.1), exact.
pub const SYNC_A_PERIOD_US: u64 = 30_002_000;
pub const SYNC_A_LEN: usize = 100;
pub const SYNC_B_PERIOD_US: u64 = 90_820_000;
pub const SYNC_B_LEN: usize = 99;

/// The Echo looks for a server every 3 minutes (section 3).
pub const LOOKUP_PERIOD_US: u64 = 180_000_000;
/// Share of lookups that resume a TLS session (abbreviated handshake).
pub const LOOKUP_RESUME_P: f64 = 0.45;
/// Share of closes where the server's close_notify arrives after the Echo
/// closed its socket, so the Echo's kernel answers with a RST.
pub const RST_AFTER_CLOSE_P: f64 = 0.8;
/// DNS answers' time to live.
pub const DNS_TTL_US: u64 = 3_600_000_000;

/// Mean gap between attempts to reach the Fire Stick (each a SYN repeated
/// with back-off 1, 2, 4, 8, 16, 32 s, never answered).
pub const FIRE_STICK_GAP_S: f64 = 470.0;
pub const FIRE_STICK_PORT: u16 = 8009;
pub const SYN_RETRIES: u32 = 6;

/// Down-channel pushes from the voice service while idle: mean gap and the
/// number of 1,428-byte segments per push (the Echo acks every second one).
pub const PUSH_GAP_S: f64 = 72.0;
pub const PUSH_SEGMENTS: (u32, u32) = (6, 22);

pub const NTP_GAP_S: f64 = 10_800.0;
pub const SSDP_GAP_S: f64 = 1_800.0;
pub const MDNS_GAP_S: f64 = 5_400.0;

/// Uploads nothing explains, in bulk (back-to-back full records): mean gap
/// between uploads per context, records per upload.
pub const NJ_GAP_MUTED_S: f64 = 1_025.0;
pub const NJ_GAP_IDLE_S: f64 = 756.0;
pub const NJ_RECORDS: (u32, u32) = (12, 28);
/// Cloud wake-word verification while idle with the microphone on: audio
/// paced in real time.
pub const JUSTIFIED_GAP_S: f64 = 518.0;
pub const JUSTIFIED_RECORDS: (u32, u32) = (14, 30);

/// Conversation: mean gap between interactions; records of the voice upload;
/// response size in segments.
pub const INTERACTION_GAP_S: f64 = 95.0;
pub const UTTERANCE_RECORDS: (u32, u32) = (22, 44);
pub const RESPONSE_SEGMENTS: (u32, u32) = (60, 150);

/// Streaming: play time of a track, Amazon Music bytes per track (1,428-byte
/// segments, Figure 1), Spotify bytes per track (450-byte segments acked one
/// by one, Figure 2).
pub const TRACK_PLAY_S: (f64, f64) = (180.0, 260.0);
pub const AMAZON_TRACK_BYTES: (u32, u32) = (2_750_000, 3_550_000);
pub const SPOTIFY_TRACK_BYTES: (u32, u32) = (1_050_000, 1_370_000);
pub const AMAZON_SEGMENT: usize = 1_428;
pub const SPOTIFY_SEGMENT: usize = 450;
/// Amazon Music: an HTTP/2 WINDOW_UPDATE record every this many bytes.
pub const WINDOW_UPDATE_EVERY: u32 = 32_768;
/// Spotify: bytes per HTTP range request; gap of access-point messages.
pub const SPOTIFY_CHUNK: u32 = 18_000;
pub const SPOTIFY_AP_GAP_S: f64 = 3.3;
pub const SPOTIFY_AP_PORT: u16 = 4070;

/// The paper's numbers (section 5), for the calibration test and the report.
pub mod paper {
    pub const CONTEXT_PACKETS: [(&str, u64); 4] = [
        ("mic-off", 5_436),
        ("streaming", 39_793),
        ("no-wake-word", 9_374),
        ("conversation", 8_027),
    ];
    pub const TOTAL: u64 = 62_630;
    pub const CLASS_PACKETS: [(&str, u64); 8] = [
        ("ack", 48_252),
        ("expected", 4_813),
        ("syn", 2_888),
        ("handshake", 1_751),
        ("retransmit", 1_457),
        ("not_justified", 1_361),
        ("justified", 1_316),
        ("not_relevant", 792),
    ];
    pub const NOT_JUSTIFIED_MIC_ON: u64 = 886;
    pub const NOT_JUSTIFIED_MIC_OFF: u64 = 475;
    pub const JUSTIFIED_MIC_OFF: u64 = 0;
    pub const CONTENT_TYPE_NAN: u64 = 51_563;
    pub const PREPARED_ROWS: u64 = 16_791;
    pub const HIGHEST_LAYER: [(&str, u64); 4] = [
        ("SSL", 11_067),
        ("TCP", 4_418),
        ("DATA", 725),
        ("HTTP", 581),
    ];
    pub const ACK_FLAG_SET: u64 = 15_334;
    pub const ACK_FLAG_NOT_SET: u64 = 1_457;
}
