//! Prometheus text exposition of a status snapshot. Every value comes from
//! the kernel's own counters (not from the events the agent happened to
//! receive), so a ring-buffer loss never makes a metric lie.

use std::sync::atomic::AtomicU64;

use anyhow::Result;
use prometheus_client::{
    encoding::text::encode,
    metrics::{counter::Counter, family::Family, gauge::Gauge, info::Info},
    registry::Registry,
};

use crate::control::status::Status;

type Labels = Vec<(String, String)>;

pub fn render(s: &Status) -> Result<String> {
    let mut root = Registry::default();
    // The process collector's conventional name, without the prefix.
    let start = Gauge::<f64, AtomicU64>::default();
    start.set(s.start_time_s);
    root.register(
        "process_start_time_seconds",
        "Start time of the agent since the Unix epoch, in seconds",
        start,
    );
    let reg = root.sub_registry_with_prefix("alexa");
    reg.register(
        "build",
        "The agent's version, commit and feature contract",
        Info::new(vec![
            ("version".to_owned(), env!("CARGO_PKG_VERSION").to_owned()),
            (
                "commit".to_owned(),
                option_env!("ALEXA_GIT_COMMIT")
                    .unwrap_or("unknown")
                    .to_owned(),
            ),
            (
                "contract".to_owned(),
                alexa_common::CONTRACT_VERSION.to_string(),
            ),
        ]),
    );

    let packets = Family::<Labels, Counter>::default();
    let bytes = Family::<Labels, Counter>::default();
    for c in &s.classes {
        for (action, n) in [
            ("pass", c.passed),
            ("alert", c.alerted),
            ("drop", c.dropped),
        ] {
            let l = vec![
                ("class".to_owned(), c.class.clone()),
                ("action".to_owned(), action.to_owned()),
            ];
            packets.get_or_create(&l).inc_by(n);
        }
        // Bytes by action are not split in the snapshot: per class only.
        bytes
            .get_or_create(&vec![("class".to_owned(), c.class.clone())])
            .inc_by(c.bytes);
    }
    reg.register(
        "classified_packets",
        "Device packets classified, by class and the action taken",
        packets,
    );
    reg.register(
        "classified_bytes",
        "Device frame bytes classified, by class",
        bytes,
    );

    let simple = [
        ("frames", "frames", "Frames the XDP program saw"),
        (
            "foreign",
            "foreign_packets",
            "IP packets from hosts that are not monitored devices (never dropped)",
        ),
        (
            "other",
            "other_packets",
            "Device frames the contract does not classify (ARP, ICMP, fragments...)",
        ),
        (
            "malformed",
            "malformed_packets",
            "Frames the parser could not make sense of (passed)",
        ),
        (
            "dropped",
            "dropped_packets",
            "Packets dropped by policy or quarantine",
        ),
        (
            "quarantined_flows",
            "quarantined_flows",
            "Flows put into quarantine",
        ),
        (
            "quarantine_drops",
            "quarantine_dropped_packets",
            "Packets dropped because their flow was quarantined",
        ),
        (
            "ringbuf_lost",
            "ringbuf_lost_events",
            "Events that did not fit in the ring buffer",
        ),
        (
            "flow_update_failed",
            "flow_update_failures",
            "Flow-state updates the flow map refused",
        ),
        (
            "quarantine_update_failed",
            "quarantine_update_failures",
            "Quarantine updates the quarantine map refused",
        ),
    ];
    for (key, name, help) in simple {
        let c = Counter::<u64>::default();
        c.inc_by(s.counters.get(key).copied().unwrap_or(0));
        reg.register(name, help, c);
    }
    let received = Counter::<u64>::default();
    received.inc_by(s.events_received);
    reg.register(
        "events_received",
        "Events the agent read from the ring buffer",
        received,
    );

    let mic = Gauge::<i64>::default();
    mic.set(s.microphone as i64);
    reg.register(
        "microphone_on",
        "1 when the microphone is on, 0 when muted",
        mic,
    );
    let enforce = Gauge::<i64>::default();
    enforce.set((s.mode == "enforce") as i64);
    reg.register("enforcing", "1 in enforce mode, 0 in monitor mode", enforce);
    // Totals, so a rate over any window is `rate(time) / rate(runs)`.
    if let (Some(ns), Some(runs)) = (s.kernel_run_time_ns, s.kernel_runs) {
        let t = Counter::<f64, AtomicU64>::default();
        t.inc_by(ns as f64 / 1e9);
        reg.register(
            "kernel_run_time_seconds",
            "Time the XDP program ran, since it was loaded (BPF statistics)",
            t,
        );
        let n = Counter::<u64>::default();
        n.inc_by(runs);
        reg.register(
            "kernel_runs",
            "Runs of the XDP program, since it was loaded (BPF statistics)",
            n,
        );
    }
    let device_packets = Family::<Labels, Counter>::default();
    let device_silent = Family::<Labels, Gauge>::default();
    let device_idle = Family::<Labels, Gauge<f64, AtomicU64>>::default();
    for d in &s.device_activity {
        let l = vec![
            ("device".to_owned(), d.name.clone()),
            ("address".to_owned(), d.address.clone()),
        ];
        device_packets.get_or_create(&l).inc_by(d.packets);
        device_silent.get_or_create(&l).set(d.silent as i64);
        device_idle.get_or_create(&l).set(d.idle_s);
    }
    reg.register(
        "device_packets",
        "Packets of each listed device the agent received verdicts for",
        device_packets,
    );
    reg.register(
        "device_silent",
        "1 when a listed device has sent nothing for the silence limit",
        device_silent,
    );
    reg.register(
        "device_idle_seconds",
        "Seconds since the device's last packet (or since the agent started)",
        device_idle,
    );
    reg.register(
        "model",
        "The model in use",
        Info::new(vec![(
            "version".to_owned(),
            s.model_version.clone().unwrap_or_else(|| "none".into()),
        )]),
    );
    let uptime = Gauge::<f64, AtomicU64>::default();
    uptime.set(s.uptime_s);
    reg.register(
        "agent_uptime_seconds",
        "Seconds since this agent started",
        uptime,
    );

    let mut out = String::new();
    encode(&mut out, &root)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::status::ClassCount;

    #[test]
    fn exposition_has_conventional_names_and_labels() {
        let mut s = Status {
            mode: "enforce".into(),
            microphone: true,
            model_version: Some("0badf00d".into()),
            kernel_run_time_ns: Some(1_500_000_000),
            kernel_runs: Some(20_000_000),
            start_time_s: 1_764_633_600.5,
            device_activity: vec![crate::control::status::DeviceActivity {
                name: "kitchen".into(),
                address: "08:7c:39:96:8a:8c".into(),
                packets: 42,
                idle_s: 2000.0,
                silent: true,
            }],
            ..Default::default()
        };
        s.classes.push(ClassCount {
            class: "not_justified".into(),
            packets: 7,
            bytes: 700,
            passed: 0,
            alerted: 2,
            dropped: 5,
        });
        s.counters.insert("dropped".into(), 5);
        let text = render(&s).unwrap();
        for want in [
            "alexa_classified_packets_total{class=\"not_justified\",action=\"drop\"} 5",
            "alexa_classified_packets_total{class=\"not_justified\",action=\"alert\"} 2",
            "alexa_classified_bytes_total{class=\"not_justified\"} 700",
            "alexa_dropped_packets_total 5",
            "alexa_microphone_on 1",
            "alexa_enforcing 1",
            "alexa_model_info{version=\"0badf00d\"} 1",
            "alexa_kernel_run_time_seconds_total 1.5",
            "alexa_kernel_runs_total 20000000",
            "process_start_time_seconds 1764633600.5",
            "alexa_build_info{version=\"0.1.0\"",
            "alexa_device_packets_total{device=\"kitchen\",address=\"08:7c:39:96:8a:8c\"} 42",
            "alexa_device_silent{device=\"kitchen\",address=\"08:7c:39:96:8a:8c\"} 1",
            "alexa_device_idle_seconds{device=\"kitchen\",address=\"08:7c:39:96:8a:8c\"} 2000.0",
            "# EOF",
        ] {
            assert!(text.contains(want), "missing {want:?} in\n{text}");
        }
    }
}
