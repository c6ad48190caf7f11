//! Progress on a terminal for long runs; silent when stderr is not a terminal.

use std::{
    io::{IsTerminal as _, Write as _},
    time::{Duration, Instant},
};

pub struct Progress {
    what: &'static str,
    total: u64,
    /// Counted units, or `None` for bytes shown in MiB.
    unit: Option<&'static str>,
    last: Instant,
    shown: bool,
    enabled: bool,
}

impl Progress {
    pub fn new(what: &'static str, total: u64) -> Self {
        Progress {
            what,
            total,
            unit: None,
            last: Instant::now(),
            shown: false,
            enabled: std::io::stderr().is_terminal(),
        }
    }

    /// Progress over `total` things counted one by one (frames, rows).
    pub fn counting(what: &'static str, total: u64, unit: &'static str) -> Self {
        Progress {
            unit: Some(unit),
            ..Progress::new(what, total)
        }
    }

    /// `done` units of `total` are done; redraws at most a few times a second.
    pub fn update(&mut self, done: u64) {
        if !self.enabled || self.last.elapsed() < Duration::from_millis(250) {
            return;
        }
        self.last = Instant::now();
        self.shown = true;
        let pct = (done * 100).checked_div(self.total).unwrap_or(0);
        match self.unit {
            None => eprint!(
                "\r{}: {pct:3}% ({} of {} MiB)",
                self.what,
                done >> 20,
                self.total >> 20
            ),
            Some(unit) => eprint!(
                "\r{}: {pct:3}% ({done} of {} {unit})",
                self.what, self.total
            ),
        }
        let _ = std::io::stderr().flush();
    }

    pub fn finish(&mut self) {
        if self.shown {
            eprintln!("\r{}: done{:30}", self.what, "");
        }
    }
}
