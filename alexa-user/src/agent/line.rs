//! The verdict log's line, written by hand: the agent writes one per
//! packet, and serde's derived serializer (with `flatten` for the keys in
//! front) took two thirds of the agent's CPU in the bench, which capped the
//! events it could log without loss. The derived `JsonRow` stays the one
//! definition of the keys: the test below holds this writer to it on
//! random events.

use std::{io::Write as _, time::Instant};

use alexa_common::{class_name, flag, Event, CLASS_NONE};
use anyhow::Result;

use super::{policy, WallClock};
use crate::{
    offline::row::{date_bytes, model_hex},
    util::net::ip_from_mapped,
};

/// What a verdict line says besides the event: where it was seen and by
/// which listed device.
pub struct LineMeta {
    pub clock: WallClock,
    /// When `clock` was last anchored.
    pub anchored: Instant,
    pub iface: String,
    /// Device names by the index the kernel tags events with.
    pub devices: Vec<String>,
    /// `iface` and the names as JSON strings, quoted once.
    iface_json: String,
    devices_json: Vec<String>,
}

/// How often the wall clock is re-read: on a gateway without a real-time
/// clock, NTP may set the time long after the agent started.
const REANCHOR: std::time::Duration = std::time::Duration::from_secs(10);

fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

impl LineMeta {
    pub fn new(iface: &str, devices: Vec<String>) -> Self {
        LineMeta {
            clock: WallClock::now(),
            anchored: Instant::now(),
            iface: iface.to_owned(),
            iface_json: quoted(iface),
            devices_json: devices.iter().map(|d| quoted(d)).collect(),
            devices,
        }
    }

    pub(super) fn reanchor_if_due(&mut self) {
        if self.anchored.elapsed() >= REANCHOR {
            self.clock = WallClock::now();
            self.anchored = Instant::now();
        }
    }

    /// The listed device that sent `ev`.
    pub fn device(&self, ev: &Event) -> &str {
        self.devices
            .get(ev.device as usize)
            .map_or("", String::as_str)
    }
}

/// Appends the verdict line of `ev` (without its newline) to `out`: the
/// conventional keys of a network-security event log first (`timestamp`,
/// `event_type`, `in_iface`), the device's name, then the dataset's columns
/// (`JsonRow`'s keys, in its order) and what the kernel did. The agent and
/// the bench both write lines through this.
pub fn log_line(ev: &Event, meta: &LineMeta, out: &mut Vec<u8>) -> Result<()> {
    let f = &ev.features;
    let ts = meta.clock.wall_ns(ev.ts_ns);
    let date = date_bytes(ts);
    let mut n = itoa::Buffer::new();
    let mut num = |out: &mut Vec<u8>, key: &[u8], v: u64| {
        out.extend_from_slice(key);
        out.extend_from_slice(n.format(v).as_bytes());
    };
    out.extend_from_slice(b"{\"timestamp\":\"");
    out.extend_from_slice(&date[..10]);
    out.push(b'T');
    out.extend_from_slice(&date[11..]);
    out.extend_from_slice(b"Z\",\"event_type\":\"verdict\",\"in_iface\":");
    out.extend_from_slice(meta.iface_json.as_bytes());
    out.extend_from_slice(b",\"device\":");
    match meta.devices_json.get(ev.device as usize) {
        Some(d) => out.extend_from_slice(d.as_bytes()),
        None => out.extend_from_slice(b"\"\""),
    }
    out.extend_from_slice(b",\"date\":\"");
    out.extend_from_slice(&date);
    out.push(b'"');
    num(out, b",\"length\":", f.length.into());
    write!(out, ",\"dstip\":\"{}\"", ip_from_mapped(ev.dst))?;
    num(out, b",\"dstport\":", f.dstport.into());
    num(out, b",\"highest_layer\":", f.highest_layer.into());
    num(out, b",\"delta\":", f.delta.into());
    num(out, b",\"ack_flag\":", f.ack_flag.into());
    num(out, b",\"microphone\":", f.microphone.into());
    if f.content_type != 0 {
        num(out, b",\"content_type\":", f.content_type.into());
    } else {
        out.extend_from_slice(b",\"content_type\":null");
    }
    out.extend_from_slice(b",\"synchronized\":1,\"class\":");
    match (ev.class != CLASS_NONE)
        .then(|| class_name(ev.class))
        .flatten()
    {
        Some(c) => {
            out.push(b'"');
            out.extend_from_slice(c.as_bytes());
            out.push(b'"');
        }
        None => out.extend_from_slice(b"null"),
    }
    num(out, b",\"payload_len\":", f.payload_len.into());
    num(out, b",\"delta_us\":", f.delta_us);
    num(out, b",\"record_len\":", f.record_len.into());
    write!(out, ",\"src\":\"{}\"", ip_from_mapped(ev.src))?;
    num(out, b",\"srcport\":", f.srcport.into());
    num(out, b",\"proto\":", f.proto.into());
    num(out, b",\"tcp_flags\":", f.tcp_flags.into());
    num(out, b",\"flow_index\":", f.flow_index.into());
    num(out, b",\"tcp_retrans\":", f.tcp_retrans.into());
    if ev.model_version != 0 {
        out.extend_from_slice(b",\"model\":\"");
        out.extend_from_slice(&model_hex(ev.model_version).0);
        out.push(b'"');
    } else {
        out.extend_from_slice(b",\"model\":null");
    }
    out.extend_from_slice(b",\"action\":\"");
    out.extend_from_slice(policy::action_name(ev.action).as_bytes());
    out.push(b'"');
    if ev.flags & flag::QUARANTINE != 0 {
        out.extend_from_slice(b",\"quarantine\":true");
    }
    if ev.flags & flag::WOULD_DROP != 0 {
        out.extend_from_slice(b",\"would_drop\":true");
    }
    out.push(b'}');
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::event_row;

    /// The line as serde derives it from `JsonRow`, with the keys in front:
    /// the definition the hand-written line is held to.
    #[derive(serde::Serialize)]
    struct Oracle<'a> {
        timestamp: crate::offline::row::Ascii<27>,
        event_type: &'static str,
        in_iface: &'a str,
        device: &'a str,
        #[serde(flatten)]
        row: crate::offline::row::JsonRow<'a>,
    }

    /// The keys in order: the agent's in front, the dataset's columns as
    /// `record` names them, then the JSON row's own.
    fn key_order() -> Vec<&'static str> {
        let mut keys = vec!["timestamp", "event_type", "in_iface", "device"];
        keys.extend(crate::offline::row::PAPER_COLUMNS);
        keys.extend([
            "payload_len",
            "delta_us",
            "record_len",
            "src",
            "srcport",
            "proto",
            "tcp_flags",
            "flow_index",
            "tcp_retrans",
            "model",
            "action",
            "quarantine",
            "would_drop",
        ]);
        keys
    }

    fn oracle(ev: &Event, meta: &LineMeta) -> serde_json::Value {
        let row = event_row(ev, &meta.clock);
        let mut json = row.json();
        json.action = Some(policy::action_name(ev.action));
        json.quarantine = ev.flags & flag::QUARANTINE != 0;
        json.would_drop = ev.flags & flag::WOULD_DROP != 0;
        let line = Oracle {
            timestamp: crate::offline::row::Ascii(crate::offline::row::rfc3339_bytes(row.ts_ns)),
            event_type: "verdict",
            in_iface: &meta.iface,
            device: meta.device(ev),
            row: json,
        };
        serde_json::to_value(&line).unwrap()
    }

    #[test]
    fn hand_written_line_equals_the_derived_one() {
        let meta = LineMeta::new("br-lan", vec!["kitchen".into(), "den \"2\"".into()]);
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut line = Vec::new();
        for i in 0..5000 {
            let mut ev = Event::default();
            let h = &mut ev.head;
            h.ts_ns = next() % (1 << 50);
            let f = &mut h.features;
            f.length = next() as u32;
            f.payload_len = next() as u32;
            f.delta = next() as u32;
            f.delta_us = next();
            f.flow_index = next() as u32;
            f.dstport = next() as u16;
            f.srcport = next() as u16;
            f.record_len = next() as u16;
            f.highest_layer = next() as u8;
            f.content_type = if i % 3 == 0 { 0 } else { next() as u8 };
            f.ack_flag = next() as u8 & 1;
            f.microphone = next() as u8 & 1;
            f.proto = next() as u8;
            f.tcp_flags = next() as u8;
            f.tcp_retrans = next() as u8 & 1;
            h.src = if i % 2 == 0 {
                crate::util::net::ip_to_mapped([10, 0, 0, next() as u8].into())
            } else {
                (next() as u128 | (next() as u128) << 64).to_be_bytes()
            };
            h.dst = crate::util::net::ip_to_mapped(std::net::Ipv4Addr::from(next() as u32).into());
            h.model_version = if i % 5 == 0 { 0 } else { next() as u32 };
            h.class = if i % 7 == 0 {
                CLASS_NONE
            } else {
                (next() % 8) as u8
            };
            h.action = (next() % 3) as u8;
            h.flags = next() as u8;
            h.device = (next() % 3) as u8;
            line.clear();
            log_line(&ev, &meta, &mut line).unwrap();
            let got: serde_json::Value = serde_json::from_slice(&line)
                .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&line)));
            assert_eq!(
                got,
                oracle(&ev, &meta),
                "{}",
                String::from_utf8_lossy(&line)
            );
            // The keys in the documented order, not only the same object.
            let text = String::from_utf8_lossy(&line).into_owned();
            let mut at = 0;
            for k in key_order() {
                if let Some(pos) = text[at..].find(&format!("\"{k}\":")) {
                    at += pos;
                } else {
                    assert!(
                        matches!(k, "quarantine" | "would_drop"),
                        "{k} missing or out of order in {text}"
                    );
                }
            }
        }
    }
}
