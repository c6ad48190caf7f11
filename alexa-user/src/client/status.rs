//! `alexa status`: the agent's state as a few lines for a person.

use crate::control::Status;

/// The status as `alexa status` prints it: a few lines for a person.
pub fn summary(s: &Status) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "none".into());
    let _ = writeln!(
        out,
        "agent pid {} up {:.0} s on {} ({} XDP), {} mode, microphone {}",
        s.pid,
        s.uptime_s,
        s.iface,
        s.xdp_mode,
        s.mode,
        if s.microphone { "on" } else { "muted" }
    );
    if s.device_activity.is_empty() {
        let _ = writeln!(
            out,
            "devices: {}",
            if s.devices.is_empty() {
                "none".into()
            } else {
                s.devices.join(", ")
            }
        );
    } else {
        let _ = writeln!(out, "devices:");
        for d in &s.device_activity {
            let _ = writeln!(
                out,
                "  {} ({}): {} packets, last {:.0} s ago{}",
                d.name,
                d.address,
                d.packets,
                d.idle_s,
                if d.silent { "  SILENT" } else { "" }
            );
        }
    }
    let _ = writeln!(
        out,
        "model: {} ({})",
        opt(&s.model_version),
        opt(&s.model_path)
    );
    let _ = writeln!(
        out,
        "kernel: {}",
        s.kernel_ns_per_packet.map_or_else(
            || "cost per packet unavailable (BPF stats off)".into(),
            |ns| format!("{ns:.0} ns per packet")
        )
    );
    let counters: Vec<String> = s.counters.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let _ = writeln!(
        out,
        "counters: {} events_received={}",
        counters.join(" "),
        s.events_received
    );
    let _ = writeln!(
        out,
        "{:<14} {:>10} {:>12} {:>10} {:>10} {:>10}  policy",
        "class", "packets", "bytes", "passed", "alerted", "dropped"
    );
    for c in &s.classes {
        let _ = writeln!(
            out,
            "{:<14} {:>10} {:>12} {:>10} {:>10} {:>10}  {}",
            c.class,
            c.packets,
            c.bytes,
            c.passed,
            c.alerted,
            c.dropped,
            s.policy.get(&c.class).map_or("-", String::as_str)
        );
    }
    if !s.recent.is_empty() {
        let _ = writeln!(out, "latest alerts and drops:");
        for v in &s.recent {
            let _ = writeln!(
                out,
                "  {} {} {}{} {} -> {}:{} len {}",
                v.ts,
                v.class,
                v.action,
                if v.quarantine { " (quarantined)" } else { "" },
                v.src,
                v.dst,
                v.dstport,
                v.length
            );
        }
    }
    out
}
