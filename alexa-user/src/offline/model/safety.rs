//! The safety checks of a model on real captures (`alexa safety`): a
//! firewall must never break a real conversation, and must stop a muted
//! device's uploads.
//!
//! Each capture is read twice, as `alexa label` labels it:
//! - **microphone on**, the recording's application data `expected` (someone
//!   spoke to the device): every packet the model calls `not_justified` is a
//!   packet enforce mode would drop, and the agent's quarantine rule is run
//!   over those verdicts per connection, as the kernel runs it;
//! - **microphone muted**, its application data labelled `not_justified`:
//!   how much of it the model catches, and how many of the device's
//!   handshake, ack, retransmit and syn packets it would drop with it.

use std::{collections::HashMap, path::Path};

use alexa_common::{
    class,
    policy::{self, action, mode, Quarantine, QuarantineRule},
};
use anyhow::Result;

use super::Model;
use crate::{
    offline::extract::{extract_each, DeviceSet},
    offline::labelling::{published_class, AppClass},
};

/// What the checks found on one capture or on several (added up).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Safety {
    /// Device packets classified (microphone on).
    pub on_packets: u64,
    /// Of those, called `not_justified`.
    pub on_not_justified: u64,
    /// Connections the quarantine rule would have cut (microphone on).
    pub on_quarantined: u64,
    /// Muted: application-data packets (labelled `not_justified`).
    pub muted_app: u64,
    /// Of those, called `not_justified`.
    pub muted_app_caught: u64,
    /// Muted: handshake, ack, retransmit and syn packets.
    pub muted_network: u64,
    /// Of those, called `not_justified`.
    pub muted_network_dropped: u64,
}

impl Safety {
    pub fn add(&mut self, o: &Safety) {
        self.on_packets += o.on_packets;
        self.on_not_justified += o.on_not_justified;
        self.on_quarantined += o.on_quarantined;
        self.muted_app += o.muted_app;
        self.muted_app_caught += o.muted_app_caught;
        self.muted_network += o.muted_network;
        self.muted_network_dropped += o.muted_network_dropped;
    }

    /// Share of a legitimate session's packets called `not_justified`.
    pub fn on_share(&self) -> f64 {
        ratio(self.on_not_justified, self.on_packets)
    }

    /// Share of a muted session's uploads caught.
    pub fn muted_caught_share(&self) -> f64 {
        ratio(self.muted_app_caught, self.muted_app)
    }

    /// Share of a muted session's network packets dropped with them.
    pub fn muted_network_share(&self) -> f64 {
        ratio(self.muted_network_dropped, self.muted_network)
    }

    /// The targets (issue 12): at most 0.1% of a legitimate session's
    /// packets `not_justified` and no connection quarantined; at least 95% of
    /// a muted session's uploads caught, at most 1% of its network packets.
    pub fn failures(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.on_share() > 0.001 {
            out.push(format!(
                "microphone on: {:.3}% of the device's packets not_justified (at most 0.1%)",
                100.0 * self.on_share()
            ));
        }
        if self.on_quarantined > 0 {
            out.push(format!(
                "microphone on: {} connection(s) quarantined (none allowed)",
                self.on_quarantined
            ));
        }
        if self.muted_caught_share() < 0.95 {
            out.push(format!(
                "muted: {:.2}% of the uploads caught (at least 95%)",
                100.0 * self.muted_caught_share()
            ));
        }
        if self.muted_network_share() > 0.01 {
            out.push(format!(
                "muted: {:.2}% of handshake/ack/retransmit/syn packets not_justified (at most 1%)",
                100.0 * self.muted_network_share()
            ));
        }
        out
    }

    pub fn summary(&self) -> String {
        format!(
            "microphone on: {} of {} packets not_justified ({:.3}%), {} connection(s) quarantined; \
             muted: {} of {} uploads caught ({:.2}%), {} of {} handshake/ack/retransmit/syn \
             packets not_justified ({:.2}%)",
            self.on_not_justified,
            self.on_packets,
            100.0 * self.on_share(),
            self.on_quarantined,
            self.muted_app_caught,
            self.muted_app,
            100.0 * self.muted_caught_share(),
            self.muted_network_dropped,
            self.muted_network,
            100.0 * self.muted_network_share()
        )
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// Both checks on one capture, the device(s) named by `devices`, the
/// quarantine rule `rule` (the agent's default: `policy::default_rule()`).
pub fn check_capture(
    model: &Model,
    capture: &Path,
    devices: &DeviceSet,
    rule: &QuarantineRule,
) -> Result<Safety> {
    let mut s = Safety::default();
    // Microphone on: verdicts, and the quarantine rule per connection.
    let mut flows: HashMap<([u8; 16], u16, u16, u8), Quarantine> = HashMap::new();
    extract_each(capture, devices.clone(), true, None, |_, row| {
        s.on_packets += 1;
        let p = model.predict(&row.features);
        if p == class::NOT_JUSTIFIED {
            s.on_not_justified += 1;
        }
        let f = &row.features;
        let q = flows
            .entry((row.dst, f.srcport, f.dstport, f.proto))
            .or_default();
        let d = policy::decide(
            action::PASS,
            p == policy::QUARANTINE_CLASS,
            q,
            rule,
            mode::ENFORCE,
            row.ts_ns,
        );
        if d.flags & policy::flag::QUARANTINE_START != 0 {
            s.on_quarantined += 1;
        }
        Ok(())
    })?;
    // Muted: the published labels with the application class not_justified.
    extract_each(capture, devices.clone(), false, None, |_, row| {
        let label = published_class(&row.features, AppClass::NotJustified);
        let caught = model.predict(&row.features) == class::NOT_JUSTIFIED;
        if label == class::NOT_JUSTIFIED {
            s.muted_app += 1;
            s.muted_app_caught += caught as u64;
        } else if is_network(label) {
            s.muted_network += 1;
            s.muted_network_dropped += caught as u64;
        }
        Ok(())
    })?;
    Ok(s)
}

fn is_network(c: u8) -> bool {
    matches!(
        c,
        class::HANDSHAKE | class::ACK | class::RETRANSMIT | class::SYN
    )
}
