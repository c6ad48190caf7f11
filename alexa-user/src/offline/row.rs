//! One classified packet as the files show it: the dataset CSV (the paper's
//! columns in the paper's order, extras after `class`) and the JSON-lines
//! log. The only place the column names and their formatting live.

use std::{
    io::{self, Write},
    net::IpAddr,
};

use alexa_common::{class_name, Features, FEATURE_NAMES, NUM_PAPER_FEATURES};
use serde::Serialize;

use crate::util::net::ip_from_mapped;

/// The paper's ten columns and `class`, in the contract's order.
pub const PAPER_COLUMNS: [&str; 11] = [
    "date",
    "length",
    "dstip",
    "dstport",
    "highest_layer",
    "delta",
    "ack_flag",
    "microphone",
    "content_type",
    "synchronized",
    "class",
];

/// Extra columns after `class`: the kernel's features beyond the paper's.
pub fn extra_columns() -> &'static [&'static str] {
    &FEATURE_NAMES[NUM_PAPER_FEATURES..]
}

pub fn csv_header() -> String {
    let mut cols: Vec<&str> = PAPER_COLUMNS.to_vec();
    cols.extend_from_slice(extra_columns());
    cols.join(",")
}

/// `YYYY-MM-DD hh:mm:ss.ffffff`, UTC.
///
/// By hand rather than through chrono's strftime, which parses its pattern
/// again for every row: that was a fifth of `alexa extract`'s time
/// (docs/benchmarks.md, section 4). The unit tests hold it to chrono.
pub fn format_date(ts_ns: u64) -> String {
    String::from_utf8_lossy(&date_bytes(ts_ns)).into_owned()
}

/// [`format_date`] without the allocation.
pub fn date_bytes(ts_ns: u64) -> [u8; 26] {
    let us = ts_ns / 1000;
    let (secs, frac) = (us / 1_000_000, us % 1_000_000);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days);
    let mut b = *b"0000-00-00 00:00:00.000000";
    let mut put = |at: usize, width: usize, mut v: u64| {
        for i in (at..at + width).rev() {
            b[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, 4, y);
    put(5, 2, m);
    put(8, 2, d);
    put(11, 2, rem / 3600);
    put(14, 2, rem / 60 % 60);
    put(17, 2, rem % 60);
    put(20, 6, frac);
    b
}

/// RFC 3339 in UTC with microseconds: `2026-12-02T01:02:03.456789Z`.
pub fn rfc3339_bytes(ts_ns: u64) -> [u8; 27] {
    let mut b = [b'Z'; 27];
    b[..26].copy_from_slice(&date_bytes(ts_ns));
    b[10] = b'T';
    b
}

/// (year, month, day) of a day count since 1970-01-01 (proleptic
/// Gregorian; H. Hinnant's `civil_from_days`, for non-negative days).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + (m <= 2) as u64;
    (y, m, d)
}

/// One classified packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// Wall-clock nanoseconds since the Unix epoch.
    pub ts_ns: u64,
    pub src: [u8; 16],
    pub dst: [u8; 16],
    pub features: Features,
    /// Class id, when a label or a model gave one.
    pub class: Option<u8>,
    /// Version of the model that gave `class` (0: none; labels, or no model).
    pub model: u32,
}

impl Row {
    /// One CSV line. Assembled by hand: `writeln!` with sixteen `Display`
    /// arguments was a fifth of `alexa extract`'s time (docs/benchmarks.md,
    /// section 4); the unit tests hold this to the `writeln!` form.
    pub fn write_csv<W: Write>(&self, w: &mut W) -> io::Result<()> {
        let f = &self.features;
        let mut line = Vec::with_capacity(160);
        let mut num = itoa::Buffer::new();
        let mut put = |line: &mut Vec<u8>, v: u64| line.extend_from_slice(num.format(v).as_bytes());
        line.extend_from_slice(&date_bytes(self.ts_ns));
        line.push(b',');
        put(&mut line, f.length as u64);
        line.push(b',');
        match ip_from_mapped(self.dst) {
            IpAddr::V4(v4) => {
                for (i, o) in v4.octets().iter().enumerate() {
                    if i > 0 {
                        line.push(b'.');
                    }
                    put(&mut line, *o as u64);
                }
            }
            v6 => {
                let _ = write!(line, "{v6}");
            }
        }
        for v in [
            f.dstport as u64,
            f.highest_layer as u64,
            f.delta as u64,
            f.ack_flag as u64,
            f.microphone as u64,
        ] {
            line.push(b',');
            put(&mut line, v);
        }
        // No record ended: empty, as the published files' NaN.
        line.push(b',');
        if f.content_type != 0 {
            put(&mut line, f.content_type as u64);
        }
        line.extend_from_slice(b",1,");
        line.extend_from_slice(self.class.and_then(class_name).unwrap_or("").as_bytes());
        for v in [
            f.payload_len as u64,
            f.delta_us,
            f.record_len as u64,
            f.srcport as u64,
            f.proto as u64,
            f.tcp_flags as u64,
            f.flow_index as u64,
            f.tcp_retrans as u64,
        ] {
            line.push(b',');
            put(&mut line, v);
        }
        line.push(b'\n');
        w.write_all(&line)
    }

    pub fn json(&self) -> JsonRow<'_> {
        let f = &self.features;
        JsonRow {
            date: Ascii(date_bytes(self.ts_ns)),
            length: f.length,
            dstip: ip_from_mapped(self.dst),
            dstport: f.dstport,
            highest_layer: f.highest_layer,
            delta: f.delta,
            ack_flag: f.ack_flag,
            microphone: f.microphone,
            content_type: (f.content_type != 0).then_some(f.content_type),
            synchronized: 1,
            class: self.class.and_then(class_name),
            payload_len: f.payload_len,
            delta_us: f.delta_us,
            record_len: f.record_len,
            src: ip_from_mapped(self.src),
            srcport: f.srcport,
            proto: f.proto,
            tcp_flags: f.tcp_flags,
            flow_index: f.flow_index,
            tcp_retrans: f.tcp_retrans,
            model: (self.model != 0).then(|| model_hex(self.model)),
            action: None,
            quarantine: false,
            would_drop: false,
        }
    }
}

/// A JSON log line: the CSV's columns as keys, plus the source address, and
/// what the agent's kernel did with the packet when it logs one. Built for
/// every packet the agent logs, so nothing in it allocates.
#[derive(Serialize)]
pub struct JsonRow<'a> {
    pub date: Ascii<26>,
    pub length: u32,
    pub dstip: IpAddr,
    pub dstport: u16,
    pub highest_layer: u8,
    /// Whole milliseconds (contract version 2).
    pub delta: u32,
    pub ack_flag: u8,
    pub microphone: u8,
    /// null when no record ended in the segment, as the CSV's empty cell.
    pub content_type: Option<u8>,
    pub synchronized: u8,
    pub class: Option<&'a str>,
    pub payload_len: u32,
    pub delta_us: u64,
    pub record_len: u16,
    pub src: IpAddr,
    pub srcport: u16,
    pub proto: u8,
    pub tcp_flags: u8,
    pub flow_index: u32,
    pub tcp_retrans: u8,
    /// Version of the classifying model, as 8 hex digits; null without one.
    pub model: Option<Ascii<8>>,
    /// `pass`, `alert` or `drop` (the agent's log only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<&'static str>,
    /// The flow is quarantined (the agent's log only).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub quarantine: bool,
    /// Monitor mode passed a packet the policy would have dropped.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub would_drop: bool,
}

/// A short ASCII string kept inline, serialized as a string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ascii<const N: usize>(pub [u8; N]);

impl<const N: usize> Ascii<N> {
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("?")
    }
}

impl<const N: usize> Serialize for Ascii<N> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A model version as 8 lowercase hex digits.
pub fn model_hex(version: u32) -> Ascii<8> {
    let mut b = [0u8; 8];
    for (i, d) in b.iter_mut().enumerate() {
        *d = b"0123456789abcdef"[(version >> (28 - 4 * i)) as usize & 0xf];
    }
    Ascii(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::net::ip_to_mapped;

    #[test]
    fn model_hex_is_eight_lowercase_digits() {
        for v in [0u32, 1, 0x46a5fe67, u32::MAX, 0xdeadbeef] {
            assert_eq!(model_hex(v).as_str(), format!("{v:08x}"));
        }
    }

    #[test]
    fn header_is_the_contracts_then_extras() {
        assert_eq!(
            csv_header(),
            "date,length,dstip,dstport,highest_layer,delta,ack_flag,microphone,content_type,\
             synchronized,class,payload_len,delta_us,record_len,srcport,proto,tcp_flags,\
             flow_index,tcp_retrans"
        );
    }

    #[test]
    fn formats() {
        assert_eq!(
            format_date(1_600_000_000_123_456_789),
            "2020-09-13 12:26:40.123456"
        );
        assert_eq!(format_date(0), "1970-01-01 00:00:00.000000");
        assert_eq!(
            format_date(951_782_400_000_000_999),
            "2000-02-29 00:00:00.000000"
        );
        let a = ip_to_mapped("192.168.137.94".parse().unwrap());
        assert_eq!(ip_from_mapped(a).to_string(), "192.168.137.94");
        let b = ip_to_mapped("2001:db8::1".parse().unwrap());
        assert_eq!(ip_from_mapped(b).to_string(), "2001:db8::1");
    }

    #[test]
    fn date_agrees_with_chrono() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..200_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Nanoseconds up to year ~2500, and small deltas too.
            let ts = x % 17_000_000_000_000_000_000;
            let chrono = chrono::DateTime::from_timestamp_micros((ts / 1000) as i64)
                .unwrap_or_default()
                .format("%Y-%m-%d %H:%M:%S%.6f")
                .to_string();
            assert_eq!(format_date(ts), chrono, "{ts}");
        }
    }

    /// The form `write_csv` replaced, kept as its reference.
    fn write_csv_slow(r: &Row) -> String {
        let f = &r.features;
        let content_type = if f.content_type == 0 {
            String::new()
        } else {
            f.content_type.to_string()
        };
        format!(
            "{},{},{},{},{},{},{},{},{},1,{},{},{},{},{},{},{},{},{}\n",
            format_date(r.ts_ns),
            f.length,
            ip_from_mapped(r.dst),
            f.dstport,
            f.highest_layer,
            f.delta,
            f.ack_flag,
            f.microphone,
            content_type,
            r.class.and_then(class_name).unwrap_or(""),
            f.payload_len,
            f.delta_us,
            f.record_len,
            f.srcport,
            f.proto,
            f.tcp_flags,
            f.flow_index,
            f.tcp_retrans,
        )
    }

    #[test]
    fn csv_lines_agree_with_the_slow_form() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for i in 0..50_000u64 {
            let dst = if i % 3 == 0 {
                (next() as u128 | (next() as u128) << 64).to_be_bytes()
            } else {
                ip_to_mapped(IpAddr::from((next() as u32).to_be_bytes()))
            };
            let row = Row {
                ts_ns: next() % 4_000_000_000_000_000_000,
                src: [0; 16],
                dst,
                features: Features {
                    delta_us: if i % 2 == 0 {
                        next() % 5_000_000
                    } else {
                        next() >> 20
                    },
                    length: next() as u32,
                    payload_len: next() as u32,
                    delta: next() as u32,
                    flow_index: next() as u32,
                    dstport: next() as u16,
                    srcport: next() as u16,
                    record_len: next() as u16,
                    highest_layer: next() as u8,
                    content_type: if i % 5 == 0 { 0 } else { next() as u8 },
                    ack_flag: next() as u8 & 1,
                    microphone: next() as u8 & 1,
                    proto: next() as u8,
                    tcp_flags: next() as u8,
                    tcp_retrans: next() as u8 & 1,
                    _pad: 0,
                    _pad2: 0,
                },
                class: (i % 4 != 0).then_some((next() % 9) as u8),
                model: 0,
            };
            let mut fast = Vec::new();
            row.write_csv(&mut fast).unwrap();
            assert_eq!(
                String::from_utf8(fast).unwrap(),
                write_csv_slow(&row),
                "{row:?}"
            );
        }
    }
}
