//! `cargo xtask bench`: the measurements behind docs/benchmarks.md. A
//! benchmark, not a test: it reports what this machine does and never fails
//! on a slow one. Sections: kernel cost per packet (`kernel`), forwarding
//! through a gateway namespace (`forward`), the agent's ring-buffer
//! consumption (`agent`), the offline tools against tshark and scikit-learn
//! (`offline`), and growth with flows and devices (`growth`).

pub mod agent;
pub mod forward;
pub mod frames;
pub mod growth;
pub mod kernel;
pub mod live;
pub mod offline;

use std::time::Duration;

/// How long and how often: the full run, or a smoke run (`--quick`).
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    pub quick: bool,
    /// `BPF_PROG_TEST_RUN` repeat count per measurement.
    pub repeat: u32,
    /// Rounds of each kernel measurement; the median is reported.
    pub rounds: usize,
    /// Length of one forwarding measurement, and how many per setup.
    pub forward_secs: f64,
    pub forward_rounds: usize,
    /// Length of one agent rate step.
    pub agent_step: Duration,
    /// Packets in the offline capture.
    pub offline_packets: u64,
    /// Flow counts of the growth section.
    pub flow_counts: &'static [u32],
    /// Device counts of the growth section.
    pub device_counts: &'static [u32],
    /// Frames (one per random flow) behind each random-flow cost.
    pub random_frames: usize,
}

impl Plan {
    pub fn full() -> Plan {
        Plan {
            quick: false,
            repeat: 1_000_000,
            rounds: 5,
            forward_secs: 3.0,
            forward_rounds: 5,
            agent_step: Duration::from_secs(2),
            // tshark with reassembly on (the oracle) spends ~0.4 ms of CPU
            // per frame of the simulated capture: more would take hours.
            offline_packets: 100_000,
            flow_counts: &[1_000, 100_000, 1_000_000],
            device_counts: &[1, 8, 64],
            random_frames: 20_000,
        }
    }

    pub fn quick() -> Plan {
        Plan {
            quick: true,
            repeat: 100_000,
            rounds: 1,
            forward_secs: 1.0,
            forward_rounds: 1,
            agent_step: Duration::from_millis(300),
            offline_packets: 20_000,
            flow_counts: &[1_000, 100_000],
            device_counts: &[1, 8],
            random_frames: 2_000,
        }
    }
}

/// One table of the report: a heading, columns, rows and notes under it.
#[derive(Clone, Debug, Default)]
pub struct Table {
    pub title: String,
    pub intro: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub notes: Vec<String>,
    /// The section's figures that have a target, for the report's summary.
    pub targets: Vec<Target>,
}

/// One figure against its target.
#[derive(Clone, Debug)]
pub struct Target {
    pub what: String,
    pub result: String,
    pub target: String,
    pub met: bool,
}

impl Table {
    pub fn new(title: &str, columns: &[&str]) -> Table {
        Table {
            title: title.to_owned(),
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
            ..Table::default()
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    pub fn target(&mut self, what: &str, result: String, target: &str, met: bool) {
        self.targets.push(Target {
            what: what.to_owned(),
            result,
            target: target.to_owned(),
            met,
        });
    }

    pub fn markdown(&self) -> String {
        let mut s = format!("## {}\n\n", self.title);
        if !self.intro.is_empty() {
            s.push_str(&self.intro);
            s.push_str("\n\n");
        }
        s.push_str(&format!("| {} |\n", self.columns.join(" | ")));
        s.push_str(&format!(
            "|{}\n",
            self.columns.iter().map(|_| "---|").collect::<String>()
        ));
        for r in &self.rows {
            s.push_str(&format!("| {} |\n", r.join(" | ")));
        }
        if !self.notes.is_empty() {
            s.push('\n');
            for n in &self.notes {
                s.push_str(&format!("- {n}\n"));
            }
        }
        s
    }
}

pub fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

/// The value at quantile `q` (0..=1) of sorted `values`.
pub fn quantile(sorted: &[u64], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i]
}

/// "met" or "NOT met", for the target column.
pub fn verdict(met: bool) -> String {
    if met { "met" } else { "**not met**" }.to_owned()
}

/// Thousands separators, for packet and event rates.
pub fn thousands(n: f64) -> String {
    let s = format!("{:.0}", n);
    let (sign, digits) = s.strip_prefix('-').map_or(("", s.as_str()), |d| ("-", d));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    format!("{sign}{out}")
}

/// CLOCK_MONOTONIC in nanoseconds: the clock `bpf_ktime_get_ns` reads.
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid timespec to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Progress on standard error: a run takes minutes.
pub fn say(what: impl AsRef<str>) {
    eprintln!("bench: {}", what.as_ref());
}
