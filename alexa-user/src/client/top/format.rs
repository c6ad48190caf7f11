//! Numbers, sizes, rates and times as the dashboard prints them: short,
//! aligned, and never wider than their column.

use std::time::Duration;

/// `n` with a decimal unit prefix ("999.9k", "12.0 MB"), rounded so that it
/// never spills into one more column ("1000.0k").
pub(super) fn scaled(n: u64, plain_below: u64, sep: &str, suffix: &str) -> String {
    if n < plain_below {
        return format!("{n}{sep}{suffix}");
    }
    let mut v = n as f64 / 1e3;
    for unit in ["k", "M", "G", "T", "P"] {
        if v < 999.95 {
            return format!("{v:.1}{sep}{unit}{suffix}");
        }
        v /= 1e3;
    }
    format!("{v:.1}{sep}E{suffix}")
}

/// A count in at most 6 columns.
pub(super) fn count(n: u64) -> String {
    scaled(n, 100_000, "", "")
}

/// Bytes in at most 8 columns.
pub(super) fn bytes(n: u64) -> String {
    scaled(n, 10_000, " ", "B")
}

/// A rate in at most 6 columns.
pub(super) fn rate(r: f64) -> String {
    if r < 9.95 {
        format!("{r:.1}")
    } else if r < 99_999.5 {
        format!("{r:.0}")
    } else {
        count(r as u64)
    }
}

pub(super) fn uptime(s: f64) -> String {
    let s = s.max(0.0) as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        3600..86_400 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d{:02}h", s / 86_400, s % 86_400 / 3600),
    }
}

pub(super) fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0} s")
    } else {
        format!("{s:.1} s")
    }
}

/// The time of day of an RFC 3339 stamp, as HH:MM:SS in UTC.
pub(super) fn clock(ts: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(ts).map_or_else(
        |_| ts.chars().take(8).collect(),
        |t| t.with_timezone(&chrono::Utc).format("%H:%M:%S").to_string(),
    )
}
