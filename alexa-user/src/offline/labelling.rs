//! `alexa label`: the published dataset's labelling rules (the feature
//! contract, "The published labelling rules") applied to every classified
//! packet of a capture, written as a labels file that `alexa extract
//! --labels` joins.

use std::path::Path;

use alexa_common::{class, Features, CLASS_NAMES, NUM_CLASSES};
use anyhow::{Context as _, Result};

use crate::{
    offline::extract::{extract_each, DeviceSet, Tally},
    offline::labels::Label,
    util::atomic_file::AtomicFile,
};

const TCP: u8 = 6;
/// The Echo's sync service: DATA-layer packets to it are `syn`.
const SYNC_PORT: u16 = 4070;
/// Application-data record lengths the published rules call `syn`.
const SYN_RECORD_LENS: [u16; 2] = [41, 28];
/// The TCP-layer payload length the published rules call `syn`.
const SYN_PAYLOAD_LEN: u32 = 11;

/// What the recording's application data was: a property of the
/// recording, not of a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum AppClass {
    /// Someone spoke to the device.
    #[value(name = "expected")]
    Expected,
    /// The device could listen; nobody spoke to it.
    #[value(name = "justified")]
    Justified,
    /// The microphone was muted.
    #[value(name = "not_justified")]
    NotJustified,
}

impl AppClass {
    pub fn class(self) -> u8 {
        match self {
            AppClass::Expected => class::EXPECTED,
            AppClass::Justified => class::JUSTIFIED,
            AppClass::NotJustified => class::NOT_JUSTIFIED,
        }
    }

    pub fn name(self) -> &'static str {
        CLASS_NAMES[self.class() as usize]
    }
}

/// The published rules: the class of one packet with these features in a
/// recording whose application data is `app`. A packet the rules do not
/// name (UDP, HTTP, an SSL segment without a record type, which the
/// contract never produces) is `not_relevant`.
pub fn published_class(f: &Features, app: AppClass) -> u8 {
    if f.proto != TCP {
        return class::NOT_RELEVANT;
    }
    match f.highest_layer {
        // SSL
        0 => match f.content_type {
            20..=22 => class::HANDSHAKE,
            23 if SYN_RECORD_LENS.contains(&f.record_len) => class::SYN,
            23 => app.class(),
            _ => class::NOT_RELEVANT,
        },
        // TCP
        1 => match (f.ack_flag != 0, f.payload_len) {
            (true, 0) => class::ACK,
            (_, SYN_PAYLOAD_LEN) => class::SYN,
            (false, 0) => class::RETRANSMIT,
            _ => class::NOT_RELEVANT,
        },
        // DATA
        2 if f.dstport == SYNC_PORT => class::SYN,
        // DATA elsewhere, HTTP
        _ => class::NOT_RELEVANT,
    }
}

/// `alexa label`: one label per classified packet of `capture`, by the
/// published rules, the microphone as given; returns the extraction's
/// tally and the count per class.
pub fn label_capture(
    capture: &Path,
    devices: DeviceSet,
    app: AppClass,
    microphone: bool,
    out: &Path,
) -> Result<(Tally, [u64; NUM_CLASSES])> {
    let mut file = AtomicFile::create(out)?;
    let mut counts = [0u64; NUM_CLASSES];
    let tally = {
        let mut w = csv::Writer::from_writer(file.writer());
        let tally = extract_each(capture, devices, microphone, None, |frame, row| {
            let c = published_class(&row.features, app);
            counts[c as usize] += 1;
            w.serialize(Label {
                frame,
                timestamp: (row.ts_ns / 1000) as f64 / 1e6,
                context: app.name().to_owned(),
                microphone: microphone as u8,
                class: CLASS_NAMES[c as usize].to_owned(),
            })
            .with_context(|| format!("{}: cannot write", out.display()))
        })?;
        if tally.written == 0 {
            // The header alone, so the file still reads as a labels file.
            w.write_record(crate::offline::labels::LABEL_COLUMNS)
                .with_context(|| format!("{}: cannot write", out.display()))?;
        }
        w.flush()
            .with_context(|| format!("{}: cannot write", out.display()))?;
        tally
    };
    file.commit()?;
    Ok((tally, counts))
}

#[cfg(test)]
mod tests {
    use alexa_common::class_id;

    use super::*;

    /// A TCP packet: an ACK with no payload, before each test changes it.
    fn tcp() -> Features {
        Features {
            proto: TCP,
            highest_layer: 1,
            ack_flag: 1,
            dstport: 443,
            length: 66,
            ..Features::default()
        }
    }

    fn ssl(content_type: u8, record_len: u16) -> Features {
        Features {
            highest_layer: 0,
            content_type,
            record_len,
            payload_len: record_len as u32 + 5,
            ..tcp()
        }
    }

    fn name(f: &Features, app: AppClass) -> &'static str {
        CLASS_NAMES[published_class(f, app) as usize]
    }

    #[test]
    fn app_classes_are_the_contracts() {
        for a in [
            AppClass::Expected,
            AppClass::Justified,
            AppClass::NotJustified,
        ] {
            assert_eq!(class_id(a.name()), Some(a.class()));
            let by_clap = <AppClass as clap::ValueEnum>::from_str(a.name(), false).unwrap();
            assert_eq!(by_clap, a);
        }
    }

    #[test]
    fn ssl_records() {
        let app = AppClass::Justified;
        for ct in [20, 21, 22] {
            assert_eq!(name(&ssl(ct, 100), app), "handshake", "{ct}");
        }
        assert_eq!(name(&ssl(23, 41), app), "syn");
        assert_eq!(name(&ssl(23, 28), app), "syn");
        assert_eq!(name(&ssl(23, 29), app), "justified");
        assert_eq!(name(&ssl(23, 1400), AppClass::Expected), "expected");
        assert_eq!(
            name(&ssl(23, 1400), AppClass::NotJustified),
            "not_justified"
        );
        assert_eq!(name(&ssl(24, 41), app), "not_relevant");
        // Never produced by the contract (SSL ends a record, so has a type).
        assert_eq!(name(&ssl(0, 0), app), "not_relevant");
    }

    #[test]
    fn tcp_segments() {
        let app = AppClass::Expected;
        assert_eq!(name(&tcp(), app), "ack");
        let keepalive = Features {
            payload_len: 11,
            ..tcp()
        };
        assert_eq!(name(&keepalive, app), "syn");
        let keepalive_no_ack = Features {
            ack_flag: 0,
            ..keepalive
        };
        assert_eq!(name(&keepalive_no_ack, app), "syn");
        let syn = Features {
            ack_flag: 0,
            tcp_flags: 0x02,
            ..tcp()
        };
        assert_eq!(name(&syn, app), "retransmit");
        // A segment of a record, or a retransmitted one: TCP with payload.
        let part = Features {
            payload_len: 1200,
            ..tcp()
        };
        assert_eq!(name(&part, app), "not_relevant");
        let part_no_ack = Features {
            ack_flag: 0,
            ..part
        };
        assert_eq!(name(&part_no_ack, app), "not_relevant");
    }

    #[test]
    fn data_http_udp_and_unknown_layers() {
        let app = AppClass::Justified;
        let data = Features {
            highest_layer: 2,
            payload_len: 20,
            dstport: SYNC_PORT,
            ..tcp()
        };
        assert_eq!(name(&data, app), "syn");
        let other = Features {
            dstport: 8080,
            ..data
        };
        assert_eq!(name(&other, app), "not_relevant");
        let http = Features {
            highest_layer: 3,
            payload_len: 300,
            dstport: 80,
            ..tcp()
        };
        assert_eq!(name(&http, app), "not_relevant");
        let layer = Features {
            highest_layer: 9,
            ..tcp()
        };
        assert_eq!(name(&layer, app), "not_relevant");
        // UDP, whatever it looks like: even an empty ACK-free datagram, or
        // DATA to the sync port.
        for f in [data, tcp(), ssl(23, 41)] {
            let udp = Features { proto: 17, ..f };
            assert_eq!(name(&udp, app), "not_relevant");
        }
    }
}
