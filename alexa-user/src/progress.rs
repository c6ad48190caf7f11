//! Progress on a terminal for long runs; silent when stderr is not a terminal.

use std::{
    io::{IsTerminal as _, Write as _},
    time::{Duration, Instant},
};

pub struct Progress {
    what: &'static str,
    total: u64,
    last: Instant,
    shown: bool,
    enabled: bool,
}

impl Progress {
    pub fn new(what: &'static str, total: u64) -> Self {
        Progress {
            what,
            total,
            last: Instant::now(),
            shown: false,
            enabled: std::io::stderr().is_terminal(),
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
        eprint!(
            "\r{}: {pct:3}% ({} of {} MiB)",
            self.what,
            done >> 20,
            self.total >> 20
        );
        let _ = std::io::stderr().flush();
    }

    pub fn finish(&mut self) {
        if self.shown {
            eprintln!("\r{}: done{:30}", self.what, "");
        }
    }
}
