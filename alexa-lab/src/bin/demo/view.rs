//! The live view: the session's counts and the agent's, redrawn while the
//! replay runs.

use std::{
    io::{IsTerminal as _, Write as _},
    path::Path,
    time::{Duration, Instant},
};

use alexa_lab::session::{self, Joiner, LogTail, Session};

/// The scrolling table of the kernel's non-pass verdicts, as the agent logs
/// them, with a progress line under it.
pub(super) struct LiveView<'a> {
    sim: &'a Session,
    tail: LogTail,
    joiner: Joiner,
    started: Instant,
    context: Option<String>,
    dropped: u64,
    alerted: u64,
    passed: u64,
    terminal: bool,
    last_pct: u64,
}

impl<'a> LiveView<'a> {
    pub(super) fn new(sim: &'a Session, log: &Path) -> Self {
        eprintln!(
            "{:>6} {:<3} {:<13} {:<13} {:<6} {:<21} {:>5}",
            "time", "mic", "label", "kernel says", "action", "destination", "bytes"
        );
        LiveView {
            sim,
            tail: LogTail::new(log),
            joiner: Joiner::new(&sim.frames),
            started: Instant::now(),
            context: None,
            dropped: 0,
            alerted: 0,
            passed: 0,
            terminal: std::io::stderr().is_terminal(),
            last_pct: 0,
        }
    }

    pub(super) fn tick(&mut self, sent: usize, planned: Duration) {
        let mut rows = Vec::new();
        for line in self.tail.read() {
            let Some(i) = self.joiner.feed(&line) else {
                continue;
            };
            let f = &self.sim.frames[i as usize];
            let ctx = &self.sim.contexts[i as usize];
            if self.context.as_ref() != Some(ctx) {
                self.context = Some(ctx.clone());
                rows.push(format!(
                    "──── {ctx}: microphone {} ────",
                    if f.microphone { "on" } else { "muted" }
                ));
            }
            let v = self.joiner.verdicts[i as usize]
                .as_ref()
                .expect("just joined");
            match v.action.as_str() {
                "drop" => self.dropped += 1,
                "alert" => self.alerted += 1,
                _ => {
                    self.passed += 1;
                    continue;
                }
            }
            let action = match (v.action.as_str(), v.quarantine) {
                ("drop", true) => "DROP*",
                ("drop", false) => "DROP",
                (a, _) => a,
            };
            rows.push(format!(
                "{:>5.1}s {:<3} {:<13} {:<13} {:<6} {:<21} {:>5}",
                self.started.elapsed().as_secs_f64(),
                if f.microphone { "on" } else { "off" },
                session::name(f.class),
                session::name(v.class),
                action,
                format!("{}:{}", f.key.dst, f.key.dstport),
                f.key.length
            ));
        }
        let total = self.sim.frames.len();
        let pct = (sent * 100).checked_div(total).unwrap_or(100) as u64;
        let left = planned.saturating_sub(self.started.elapsed()).as_secs();
        let status = format!(
            "{pct:3}% {sent}/{total} · {left} s left · dropped {} · alerted {}",
            self.dropped, self.alerted
        );
        let mut err = std::io::stderr().lock();
        if self.terminal {
            let width = 20;
            let full = (pct as usize * width / 100).min(width);
            let bar = format!("[{}{}]", "█".repeat(full), "░".repeat(width - full));
            let _ = write!(err, "\r\x1b[2K");
            for r in rows {
                let _ = writeln!(err, "{r}");
            }
            let _ = write!(err, "{bar} {status}");
        } else {
            for r in rows {
                let _ = writeln!(err, "{r}");
            }
            if pct >= self.last_pct + 10 {
                self.last_pct = pct / 10 * 10;
                let _ = writeln!(err, "{status}");
            }
        }
        let _ = err.flush();
    }

    pub(super) fn finish(&mut self) {
        if self.terminal {
            eprintln!();
        }
    }
}
