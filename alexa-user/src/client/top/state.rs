//! What the dashboard knows, and the rates it derives from successive
//! statuses; no terminal here.

use std::{
    collections::{BTreeMap, VecDeque},
    time::Duration,
};

use anyhow::Result;

use crate::control::status::Status;

/// Seconds of history the rate graphs show.
pub const WINDOW_S: f64 = 60.0;

/// Samples older than this are dropped; a little more than the window so the
/// left edge of the graph always has a sample covering it.
pub(super) const KEEP_S: f64 = WINDOW_S + 30.0;

/// The classes the graphs single out: the paper's voice classes, the ones a
/// privacy firewall is about.
pub(super) const GRAPHED: [&str; 2] = ["not_justified", "justified"];

/// Rates over the interval that ended at `at`.
#[derive(Clone, Debug)]
pub(super) struct Sample {
    /// Start of the interval the rates cover.
    pub(super) from: f64,
    pub(super) at: f64,
    pub(super) total: f64,
    pub(super) per_class: BTreeMap<String, f64>,
}

/// What the dashboard knows: the latest status, the rates computed from
/// successive ones, and the last error, all stamped with the caller's clock
/// (seconds from any origin) so tests need no real time.
#[derive(Clone, Debug)]
pub struct TopState {
    /// Where the data comes from, for messages (the socket's path).
    pub source: String,
    pub interval: Duration,
    pub(super) latest: Option<(f64, Status)>,
    pub(super) history: VecDeque<Sample>,
    /// The last fetch's error and when it happened; cleared by a success.
    pub(super) error: Option<(f64, String)>,
    pub(super) now: f64,
}

impl TopState {
    pub fn new(source: impl Into<String>, interval: Duration) -> TopState {
        TopState {
            source: source.into(),
            interval,
            latest: None,
            history: VecDeque::new(),
            error: None,
            now: 0.0,
        }
    }

    /// Records the result of one fetch made at `at` seconds.
    pub fn update(&mut self, at: f64, result: Result<Status>) {
        self.now = at;
        let status = match result {
            Ok(s) => s,
            Err(e) => {
                self.error = Some((at, format!("{e:#}")));
                return;
            }
        };
        self.error = None;
        if let Some((prev_at, prev)) = &self.latest {
            if let Some(sample) = rates(*prev_at, prev, at, &status) {
                self.history.push_back(sample);
            }
        }
        while self.history.front().is_some_and(|s| s.at < at - KEEP_S) {
            self.history.pop_front();
        }
        self.latest = Some((at, status));
    }

    pub fn status(&self) -> Option<&Status> {
        self.latest.as_ref().map(|(_, s)| s)
    }

    /// Packets per second of `class` over the last interval, if known.
    pub fn rate(&self, class: &str) -> Option<f64> {
        let last = self.history.back()?;
        (last.at == self.latest.as_ref()?.0).then(|| last.per_class.get(class).copied())?
    }

    /// Packets per second over all classes over the last interval, if known.
    pub fn total_rate(&self) -> Option<f64> {
        let last = self.history.back()?;
        (last.at == self.latest.as_ref()?.0).then_some(last.total)
    }

    /// `bars` values of `series` (a class, or `None` for all classes) over
    /// the last [`WINDOW_S`] seconds, oldest first; `None` where no sample
    /// covers that time (before the first one, or while the agent was away).
    pub(super) fn series(&self, series: Option<&str>, bars: usize) -> Vec<Option<f64>> {
        let step = WINDOW_S / bars as f64;
        let start = self.now - WINDOW_S;
        (0..bars)
            .map(|i| {
                let t = start + (i + 1) as f64 * step;
                // The sample whose interval covers t: rates are a step function.
                let s = self.history.iter().find(|s| s.from < t && t <= s.at)?;
                Some(match series {
                    None => s.total,
                    Some(c) => s.per_class.get(c).copied().unwrap_or(0.0),
                })
            })
            .collect()
    }
}

/// The rates between two snapshots, or `None` when they cannot be compared
/// (the agent restarted in between, or no time passed).
pub(super) fn rates(prev_at: f64, prev: &Status, at: f64, cur: &Status) -> Option<Sample> {
    if cur.pid != prev.pid || cur.uptime_s < prev.uptime_s {
        return None;
    }
    // The agent's own clock dates its counters more exactly than the time
    // the reply reached us.
    let dt = match cur.uptime_s - prev.uptime_s {
        d if d > 0.0 => d,
        _ => at - prev_at,
    };
    if dt <= 0.0 {
        return None;
    }
    let before: BTreeMap<&str, u64> = prev
        .classes
        .iter()
        .map(|c| (c.class.as_str(), c.packets))
        .collect();
    let mut per_class = BTreeMap::new();
    for c in &cur.classes {
        let old = before.get(c.class.as_str()).copied().unwrap_or(0);
        if c.packets < old {
            // Counters only grow within one agent: the maps were replaced.
            return None;
        }
        per_class.insert(c.class.clone(), (c.packets - old) as f64 / dt);
    }
    Some(Sample {
        from: prev_at,
        at,
        total: per_class.values().sum(),
        per_class,
    })
}
