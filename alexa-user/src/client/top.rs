//! `alexa top`: a terminal dashboard for the running agent.
//!
//! The dashboard is split so that all of it but the terminal can be tested:
//! a data source (any `FnMut() -> Result<Status>`, the control socket in
//! practice), a [`TopState`] that turns successive snapshots into rates, and
//! [`draw`], a pure function of that state.

use std::{
    collections::{BTreeMap, VecDeque},
    io::IsTerminal as _,
    time::{Duration, Instant},
};

use anyhow::{bail, Result};
use crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use ratatui::{
    layout::{Constraint, Layout, Rect},
    style::{Color, Modifier, Style, Stylize as _},
    text::{Line, Span, Text},
    widgets::{Block, Cell, Paragraph, Row, Sparkline, Table, Wrap},
    Frame,
};

use crate::control::status::Status;

/// The smallest terminal the layout is made for; below it nothing would be
/// cut off silently, the dashboard says so instead.
pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;

/// Seconds of history the rate graphs show.
pub const WINDOW_S: f64 = 60.0;

/// Samples older than this are dropped; a little more than the window so the
/// left edge of the graph always has a sample covering it.
const KEEP_S: f64 = WINDOW_S + 30.0;

/// The classes the graphs single out: the paper's voice classes, the ones a
/// privacy firewall is about.
const GRAPHED: [&str; 2] = ["not_justified", "justified"];

/// Rates over the interval that ended at `at`.
#[derive(Clone, Debug)]
struct Sample {
    /// Start of the interval the rates cover.
    from: f64,
    at: f64,
    total: f64,
    per_class: BTreeMap<String, f64>,
}

/// What the dashboard knows: the latest status, the rates computed from
/// successive ones, and the last error, all stamped with the caller's clock
/// (seconds from any origin) so tests need no real time.
#[derive(Clone, Debug)]
pub struct TopState {
    /// Where the data comes from, for messages (the socket's path).
    pub source: String,
    pub interval: Duration,
    latest: Option<(f64, Status)>,
    history: VecDeque<Sample>,
    /// The last fetch's error and when it happened; cleared by a success.
    error: Option<(f64, String)>,
    now: f64,
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
    fn series(&self, series: Option<&str>, bars: usize) -> Vec<Option<f64>> {
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
fn rates(prev_at: f64, prev: &Status, at: f64, cur: &Status) -> Option<Sample> {
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

pub struct TopOptions {
    pub interval: Duration,
    /// Shown in messages: where the status comes from.
    pub source: String,
}

/// Runs the dashboard on the terminal until q, Esc or Ctrl-C, fetching a
/// status every interval. A failing fetch is shown and retried, never fatal.
pub fn run(opts: &TopOptions, mut fetch: impl FnMut() -> Result<Status>) -> Result<()> {
    if !std::io::stdout().is_terminal() {
        bail!("alexa top needs a terminal; for a script, use `alexa status --json`");
    }
    let mut terminal = ratatui::try_init()?;
    let result = event_loop(&mut terminal, opts, &mut fetch);
    ratatui::restore();
    result
}

fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    opts: &TopOptions,
    fetch: &mut dyn FnMut() -> Result<Status>,
) -> Result<()> {
    let origin = Instant::now();
    let mut state = TopState::new(opts.source.clone(), opts.interval);
    let mut next = origin;
    loop {
        if Instant::now() >= next {
            let result = fetch();
            state.update(origin.elapsed().as_secs_f64(), result);
            // From the end of the fetch, so a slow agent is not asked again at once.
            next = Instant::now() + opts.interval;
            terminal.draw(|f| draw(f, &state))?;
        }
        if !event::poll(next.saturating_duration_since(Instant::now()))? {
            continue;
        }
        match event::read()? {
            Event::Key(k) if k.kind == KeyEventKind::Press => {
                let ctrl_c =
                    k.modifiers.contains(KeyModifiers::CONTROL) && k.code == KeyCode::Char('c');
                if ctrl_c || matches!(k.code, KeyCode::Char('q') | KeyCode::Esc) {
                    return Ok(());
                }
            }
            Event::Resize(..) => {
                terminal.draw(|f| draw(f, &state))?;
            }
            _ => {}
        }
    }
}

/// Draws the whole dashboard for `state`.
pub fn draw(frame: &mut Frame, state: &TopState) {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        draw_too_small(frame, area);
        return;
    }
    let Some(status) = state.status() else {
        draw_waiting(frame, area, state);
        return;
    };
    let classes = status.classes.len().max(1) as u16;
    // Table rows plus its header and borders; a taller terminal also gives
    // the graphs more height.
    let middle = (classes + 3).max((area.height - 2) / 2);
    let [header, mid, bottom] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Length(middle),
        Constraint::Min(0),
    ])
    .areas(area);
    draw_header(frame, header, state, status);
    let wide = area.width >= 110;
    let (table, table_width) = class_table(state, status, wide);
    let [left, right] =
        Layout::horizontal([Constraint::Length(table_width + 2), Constraint::Min(0)]).areas(mid);
    frame.render_widget(
        table.block(Block::bordered().title(" packets by class ")),
        left,
    );
    draw_rates(frame, right, state);
    match &state.error {
        Some((_, e)) => draw_error(frame, bottom, state, e),
        None => draw_recent(frame, bottom, status, wide),
    }
}

fn draw_too_small(frame: &mut Frame, area: Rect) {
    let text = Text::from(vec![
        Line::from("terminal too small".bold()),
        Line::from(format!(
            "{}x{}: alexa top needs {MIN_WIDTH}x{MIN_HEIGHT}",
            area.width, area.height
        )),
        Line::from("q to quit"),
    ]);
    let h = (text.lines.len() as u16).min(area.height);
    let [_, mid, _] = Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(h),
        Constraint::Fill(1),
    ])
    .areas(area);
    frame.render_widget(
        Paragraph::new(text).centered().wrap(Wrap { trim: true }),
        mid,
    );
}

fn draw_waiting(frame: &mut Frame, area: Rect, state: &TopState) {
    let [title, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
    frame.render_widget(
        Paragraph::new(format!(
            " alexa top: waiting for the agent at {}",
            state.source
        ))
        .style(Style::new().add_modifier(Modifier::REVERSED)),
        title,
    );
    let mut lines = Vec::new();
    if let Some((_, e)) = &state.error {
        lines.push(Line::from(e.clone()).red());
        lines.push(Line::from(""));
    }
    lines.push(Line::from(format!(
        "retrying every {}; q to quit",
        seconds(state.interval)
    )));
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: true })
            .block(Block::bordered().title(" agent unreachable ")),
        body,
    );
}

fn draw_header(frame: &mut Frame, area: Rect, state: &TopState, s: &Status) {
    let width = area.width as usize;
    let mode = if s.mode.is_empty() { "?" } else { &s.mode };
    let mode_style = match mode {
        "enforce" => Style::new().fg(Color::Red).bold(),
        _ => Style::new().fg(Color::Yellow).bold(),
    };
    let frames = format!("frames {}", count(s.counter("frames")));
    let fixed = format!(
        " alexa  {} ({})  {}  devices   {frames} ",
        s.iface, s.xdp_mode, mode
    );
    let devices = fit_list(&s.devices, width.saturating_sub(fixed.chars().count()));
    let line1 = Line::from(vec![
        Span::raw(" alexa  ").bold(),
        Span::raw(format!("{} ({})  ", s.iface, s.xdp_mode)),
        // The same word as `alexa status` and the API: `monitor` or `enforce`.
        Span::styled(mode.to_owned(), mode_style),
        Span::raw(format!("  devices {devices}  {frames}")),
    ])
    .style(Style::new().add_modifier(Modifier::REVERSED));

    let (mic, mic_style) = if s.microphone {
        ("ON", Style::new().fg(Color::Green).bold())
    } else {
        ("MUTED", Style::new().fg(Color::Red).bold())
    };
    let model = s
        .model_version
        .as_deref()
        .map_or_else(|| "none".to_owned(), str::to_owned);
    let kernel = s
        .kernel_ns_per_packet
        .map_or_else(|| "n/a".to_owned(), |ns| format!("{ns:.0} ns/pkt"));
    let mut rest = format!(
        "  model {model}  kernel {kernel}  up {}  lost {}",
        uptime(s.uptime_s),
        count(s.counter("ringbuf_lost"))
    );
    if let Some((at, _)) = &state.error {
        let age = state
            .latest
            .as_ref()
            .map_or(0.0, |(seen, _)| (at - seen).max(0.0));
        rest.push_str(&format!("  STALE {}", uptime(age)));
    }
    let line2 = Line::from(vec![
        Span::raw(" mic "),
        Span::styled(mic, mic_style),
        Span::raw(rest),
    ]);
    frame.render_widget(Paragraph::new(vec![line1, line2]), area);
}

/// The class table and its inner width.
fn class_table<'a>(state: &TopState, s: &'a Status, wide: bool) -> (Table<'a>, u16) {
    let name_w = s
        .classes
        .iter()
        .map(|c| c.class.chars().count())
        .max()
        .unwrap_or(0)
        .max(13) as u16;
    let mut header = vec!["class", "pkt/s", "total", "dropped", " policy"];
    let mut widths = vec![name_w, 6, 6, 7, 7];
    if wide {
        header.splice(3..3, ["alerted", "bytes"]);
        widths.splice(3..3, [7, 8]);
    }
    let rows: Vec<Row> = s
        .classes
        .iter()
        .map(|c| {
            let policy = s.policy.get(&c.class).map_or("", String::as_str);
            let style = match policy {
                "drop" => Style::new().fg(Color::Red),
                "alert" => Style::new().fg(Color::Yellow),
                _ => Style::new(),
            };
            let mut cells = vec![
                c.class.clone(),
                state.rate(&c.class).map_or_else(|| "-".into(), rate),
                count(c.packets),
                count(c.dropped),
                format!(" {policy}"),
            ];
            if wide {
                cells.splice(3..3, [count(c.alerted), bytes(c.bytes)]);
            }
            Row::new(aligned(cells)).style(style)
        })
        .collect();
    let spacing = 1u16;
    let inner = widths.iter().sum::<u16>() + spacing * (widths.len() as u16 - 1);
    let table = Table::new(rows, widths.into_iter().map(Constraint::Length))
        .header(Row::new(aligned(header)).bold())
        .column_spacing(spacing);
    (table, inner)
}

/// Table cells with the numbers, every column but the first and last,
/// right-aligned so their digits line up.
fn aligned<'a>(cells: Vec<impl Into<String>>) -> Vec<Cell<'a>> {
    let n = cells.len();
    cells
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            let line = Line::from(c.into());
            Cell::from(if i == 0 || i + 1 == n {
                line
            } else {
                line.right_aligned()
            })
        })
        .collect()
}

fn draw_rates(frame: &mut Frame, area: Rect, state: &TopState) {
    let block = Block::bordered().title(format!(" pkt/s, last {WINDOW_S:.0} s "));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let series: Vec<(String, Option<&str>, Color)> =
        std::iter::once(("all classes".to_owned(), None, Color::Cyan))
            .chain(
                GRAPHED
                    .iter()
                    .zip([Color::Red, Color::Yellow])
                    .map(|(c, color)| ((*c).to_owned(), Some(*c), color)),
            )
            .collect();
    let each = inner.height / series.len() as u16;
    if each < 2 || inner.width == 0 {
        return;
    }
    let spare = inner.height as usize % series.len();
    let heights = (0..series.len()).map(|i| Constraint::Length(each + u16::from(i < spare)));
    let slots = Layout::vertical(heights).split(inner);
    for ((label, class, color), slot) in series.into_iter().zip(slots.iter()) {
        let values = state.series(class, inner.width as usize);
        let now = match class {
            None => state.total_rate(),
            Some(c) => state.rate(c),
        };
        let peak = values.iter().flatten().fold(0.0f64, |a, b| a.max(*b));
        let [title, bars] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(*slot);
        frame.render_widget(
            Paragraph::new(Line::from(vec![
                Span::styled(label, Style::new().fg(color).bold()),
                Span::raw(format!(
                    " {}/s  peak {}/s",
                    now.map_or_else(|| "-".into(), rate),
                    rate(peak)
                )),
            ])),
            title,
        );
        // Sparklines take integers: tenths of a packet per second keep slow
        // classes visible.
        let data: Vec<Option<u64>> = values
            .iter()
            .map(|v| v.map(|r| (r * 10.0).round() as u64))
            .collect();
        let max = data.iter().flatten().copied().max().unwrap_or(0).max(1);
        frame.render_widget(
            Sparkline::default()
                .data(data)
                .max(max)
                .style(Style::new().fg(color)),
            bars,
        );
    }
}

fn draw_recent(frame: &mut Frame, area: Rect, s: &Status, wide: bool) {
    let block = Block::bordered()
        .title(" latest alerts and drops (UTC) ")
        .title_top(Line::from(" q quit ").right_aligned());
    if s.recent.is_empty() {
        frame.render_widget(Paragraph::new("no alerts or drops yet").block(block), area);
        return;
    }
    let mut header = vec!["time", "class", "action", "destination", "len"];
    let mut widths = vec![
        Constraint::Length(8),
        Constraint::Length(13),
        Constraint::Length(7),
        Constraint::Min(21),
        Constraint::Length(5),
    ];
    if wide {
        header.insert(3, "source");
        widths.insert(3, Constraint::Length(39));
    }
    let rows = s.recent.iter().rev().map(|v| {
        let (action, style) = match v.action.as_str() {
            "drop" => ("DROP", Style::new().fg(Color::Red)),
            "alert" => ("ALERT", Style::new().fg(Color::Yellow)),
            other => (other, Style::new()),
        };
        let action = if v.quarantine {
            format!("{action} Q")
        } else {
            action.to_owned()
        };
        let dst = if v.dst.contains(':') {
            format!("[{}]:{}", v.dst, v.dstport)
        } else {
            format!("{}:{}", v.dst, v.dstport)
        };
        let mut cells = vec![
            clock(&v.ts),
            v.class.clone(),
            action,
            dst,
            v.length.to_string(),
        ];
        if wide {
            cells.insert(3, v.src.clone());
        }
        Row::new(cells).style(style)
    });
    frame.render_widget(
        Table::new(rows, widths)
            .header(Row::new(header).bold())
            .column_spacing(1)
            .block(block),
        area,
    );
}

fn draw_error(frame: &mut Frame, area: Rect, state: &TopState, error: &str) {
    let lines = vec![
        Line::from(error.to_owned()).red(),
        Line::from(format!(
            "showing the last status received; retrying every {}; q to quit",
            seconds(state.interval)
        )),
    ];
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: true }).block(
            Block::bordered()
                .title(" agent unreachable ")
                .border_style(Style::new().fg(Color::Red)),
        ),
        area,
    );
}

/// As many of `items` as fit in `width` columns, then `+N` for the rest.
fn fit_list(items: &[String], width: usize) -> String {
    let mut out = String::new();
    for (i, item) in items.iter().enumerate() {
        let more = items.len() - i - 1;
        let sep = if out.is_empty() { "" } else { ", " };
        let tail = if more > 0 {
            format!(" +{more}")
        } else {
            String::new()
        };
        if out.chars().count() + sep.len() + item.chars().count() + tail.len() > width {
            let rest = items.len() - i;
            if !out.is_empty() {
                return format!("{out} +{rest}");
            }
            // Not even one fits: the start of the first still tells which.
            let keep = width.saturating_sub(tail.len() + 1);
            return if keep >= 4 {
                format!("{}…{tail}", item.chars().take(keep).collect::<String>())
            } else {
                format!("({})", items.len())
            };
        }
        out.push_str(sep);
        out.push_str(item);
    }
    if out.is_empty() {
        "none".into()
    } else {
        out
    }
}

/// `n` with a decimal unit prefix ("999.9k", "12.0 MB"), rounded so that it
/// never spills into one more column ("1000.0k").
fn scaled(n: u64, plain_below: u64, sep: &str, suffix: &str) -> String {
    if n < plain_below {
        return format!("{n}{sep}{suffix}");
    }
    let mut v = n as f64 / 1e3;
    for unit in ["k", "M", "G", "T", "P"] {
        if v < 999.95 {
            return format!("{v:.1}{sep}{unit}{suffix}");
        }
        v /= 1e3;
    }
    format!("{v:.1}{sep}E{suffix}")
}

/// A count in at most 6 columns.
fn count(n: u64) -> String {
    scaled(n, 100_000, "", "")
}

/// Bytes in at most 8 columns.
fn bytes(n: u64) -> String {
    scaled(n, 10_000, " ", "B")
}

/// A rate in at most 6 columns.
fn rate(r: f64) -> String {
    if r < 9.95 {
        format!("{r:.1}")
    } else if r < 99_999.5 {
        format!("{r:.0}")
    } else {
        count(r as u64)
    }
}

fn uptime(s: f64) -> String {
    let s = s.max(0.0) as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        3600..86_400 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d{:02}h", s / 86_400, s % 86_400 / 3600),
    }
}

fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0} s")
    } else {
        format!("{s:.1} s")
    }
}

/// The time of day of an RFC 3339 stamp, as HH:MM:SS in UTC.
fn clock(ts: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(ts).map_or_else(
        |_| ts.chars().take(8).collect(),
        |t| t.with_timezone(&chrono::Utc).format("%H:%M:%S").to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::status::{ClassCount, RecentVerdict};
    use alexa_common::contract::CLASS_NAMES;
    use ratatui::{backend::TestBackend, Terminal};

    fn classes() -> Vec<&'static str> {
        CLASS_NAMES
            .iter()
            .copied()
            .chain(["unclassified"])
            .collect()
    }

    /// A status of an agent `t` seconds old whose classes have seen
    /// `(i + 1) * 10 * t` packets each, so every rate is known.
    fn status(t: f64) -> Status {
        let policy = |c: &str| match c {
            "not_justified" => "drop",
            "justified" => "alert",
            _ => "pass",
        };
        Status {
            iface: "enp3s0".into(),
            xdp_mode: "driver".into(),
            mode: "enforce".into(),
            model_version: Some("9f1ff9d0".into()),
            model_path: Some("/usr/local/share/alexa/models/echo.json".into()),
            microphone: false,
            devices: vec!["192.168.1.50".into(), "fd00::50".into()],
            uptime_s: t,
            pid: 777,
            classes: classes()
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let packets = ((i as f64 + 1.0) * 10.0 * t) as u64;
                    let dropped = if policy(c) == "drop" { packets } else { 0 };
                    let alerted = if policy(c) == "alert" { packets } else { 0 };
                    ClassCount {
                        class: (*c).into(),
                        packets,
                        bytes: packets * 200,
                        passed: packets - dropped,
                        alerted,
                        dropped,
                    }
                })
                .collect(),
            policy: classes()
                .iter()
                .map(|c| ((*c).to_owned(), policy(c).to_owned()))
                .collect(),
            counters: [
                ("frames", 123_456u64),
                ("classified", 100_000),
                ("ringbuf_lost", 0),
                ("quarantined_flows", 2),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
            events_received: 100_000,
            kernel_ns_per_packet: Some(87.4),
            recent: (0..20)
                .map(|i| RecentVerdict {
                    ts: format!("2025-03-01T12:00:{i:02}Z"),
                    class: if i % 2 == 0 {
                        "not_justified"
                    } else {
                        "justified"
                    }
                    .into(),
                    action: if i % 2 == 0 { "drop" } else { "alert" }.into(),
                    src: "192.168.1.50".into(),
                    dst: if i == 19 {
                        "2600:1f18:4a3:6902::1234".into()
                    } else {
                        "52.94.233.12".into()
                    },
                    dstport: 443,
                    length: 1000 + i,
                    quarantine: i % 4 == 0,
                })
                .collect(),
            ..Default::default()
        }
    }

    fn state_after(seconds: u32) -> TopState {
        let mut st = TopState::new("/run/alexa/control.sock", Duration::from_secs(1));
        for t in 0..=seconds {
            st.update(t as f64, Ok(status(100.0 + t as f64)));
        }
        st
    }

    fn render(st: &TopState, w: u16, h: u16) -> Vec<String> {
        let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
        term.draw(|f| draw(f, st)).unwrap();
        let buf = term.backend().buffer().clone();
        (0..h)
            .map(|y| (0..w).map(|x| buf[(x, y)].symbol().to_owned()).collect())
            .collect()
    }

    fn has(screen: &[String], needle: &str) -> bool {
        screen.iter().any(|l| l.contains(needle))
    }

    #[test]
    fn top_80x24_shows_everything_uncut() {
        let st = state_after(70);
        let screen = render(&st, 80, 24);
        let text = screen.join("\n");
        for needle in [
            "enp3s0 (driver)",
            "enforce",
            "mic MUTED",
            "model 9f1ff9d0",
            "kernel 87 ns/pkt",
            "up 2m50s",
            "frames 123.5k",
            "192.168.1.50, fd00::50",
            "packets by class",
            "pkt/s",
            "dropped",
            "policy",
            "all classes",
            "latest alerts and drops",
            "DROP Q",
            "ALERT",
            "52.94.233.12:443",
            "12:00:19",
            "[2600:1f18:4a3:6902::1234]:443",
            "q quit",
        ] {
            assert!(text.contains(needle), "no {needle:?} in\n{text}");
        }
        // Every class name whole, with its current rate (10·(i+1) pkt/s).
        for (i, c) in classes().iter().enumerate() {
            let rate = format!("{}", (i + 1) * 10);
            assert!(
                screen.iter().any(|l| {
                    let mut w = l
                        .split_whitespace()
                        .skip_while(|w| w.trim_matches('│') != *c);
                    w.next().is_some() && w.next() == Some(rate.as_str())
                }),
                "class {c} with rate {rate} not whole in\n{text}"
            );
        }
        // The graphs name the two voice classes and have bars.
        assert!(has(&screen, "not_justified 70/s"), "{text}");
        assert!(has(&screen, "justified 60/s"), "{text}");
        assert!(text.contains('█'), "no sparkline bars in\n{text}");
        // Newest verdict first.
        let first = screen.iter().position(|l| l.contains("12:00:19")).unwrap();
        let older = screen.iter().position(|l| l.contains("12:00:18")).unwrap();
        assert!(first < older);
        // Every line's right border is in the last column: nothing spilled.
        for l in &screen[2..] {
            let last = l.chars().last().unwrap();
            assert!("│┐┘".contains(last), "line not closed: {l:?}\n{text}");
        }
    }

    #[test]
    fn top_header_fits_long_names() {
        let mut st = TopState::new("s", Duration::from_secs(1));
        let mut s = status(100.0);
        s.iface = "enp0s20f0u1u2c2".into();
        s.xdp_mode = "generic".into();
        s.devices = (1..=5)
            .map(|i| format!("2001:db8:aaaa:bbbb::{i}"))
            .collect();
        s.counters.insert("frames".into(), 987_654_321_000);
        s.uptime_s = 86_400.0 * 400.0;
        s.kernel_ns_per_packet = None;
        s.model_version = None;
        st.update(0.0, Ok(s));
        let screen = render(&st, 80, 24);
        let text = screen.join("\n");
        for needle in [
            "enp0s20f0u1u2c2 (generic)",
            "devices 2001:db8",
            "frames 987.7G",
            "model none",
            "kernel n/a",
            "up 400d00h",
            "lost 0",
        ] {
            assert!(text.contains(needle), "no {needle:?} in\n{text}");
        }
        // Before a second status there is no rate yet, and it says so.
        assert!(has(&screen, "handshake"), "{text}");
        assert!(
            screen
                .iter()
                .any(|l| l.contains("syn ") && l.contains(" - ")),
            "{text}"
        );
    }

    #[test]
    fn top_uses_a_larger_terminal() {
        let st = state_after(70);
        let screen = render(&st, 140, 40);
        let text = screen.join("\n");
        for needle in ["alerted", "bytes", "source", "192.168.1.50"] {
            assert!(text.contains(needle), "no {needle:?} in\n{text}");
        }
        let rows = screen.iter().filter(|l| l.contains("12:00:")).count();
        assert!(
            rows > 8,
            "a taller terminal should list more verdicts:\n{text}"
        );
    }

    #[test]
    fn top_too_small() {
        let st = state_after(3);
        for (w, h) in [(79, 24), (80, 23), (20, 5)] {
            let text = render(&st, w, h).join("\n");
            assert!(text.contains("too small"), "{w}x{h}:\n{text}");
        }
        let text = render(&st, 40, 10).join("\n");
        assert!(text.contains("needs 80x24"), "{text}");
    }

    #[test]
    fn top_unreachable_agent_is_shown_not_fatal() {
        let mut st = TopState::new("/run/alexa/control.sock", Duration::from_secs(1));
        let err = "cannot reach the agent at /run/alexa/control.sock: Connection refused (os error 111) (is `alexa run` running? are you root?)";
        st.update(0.0, Err(anyhow::anyhow!(err)));
        let text = render(&st, 80, 24).join("\n");
        assert!(text.contains("waiting for the agent"), "{text}");
        assert!(text.contains("Connection refused"), "{text}");
        assert!(text.contains("are you root?"), "the error is cut:\n{text}");
        assert!(text.contains("retrying every 1 s"), "{text}");

        // Then it comes, then it goes: the last data stays, marked stale.
        st.update(1.0, Ok(status(10.0)));
        st.update(2.0, Ok(status(11.0)));
        st.update(7.0, Err(anyhow::anyhow!(err)));
        let text = render(&st, 80, 24).join("\n");
        assert!(text.contains("STALE 5s"), "{text}");
        assert!(text.contains("agent unreachable"), "{text}");
        assert!(text.contains("are you root?"), "{text}");
        assert!(text.contains("not_justified"), "{text}");
        st.update(8.0, Ok(status(17.0)));
        let text = render(&st, 80, 24).join("\n");
        assert!(
            !text.contains("STALE") && !text.contains("unreachable"),
            "{text}"
        );
    }

    #[test]
    fn top_rates_from_successive_snapshots() {
        let mut st = TopState::new("s", Duration::from_secs(1));
        st.update(0.0, Ok(status(1.0)));
        assert_eq!(st.rate("syn"), None, "one snapshot gives no rate");
        st.update(1.0, Ok(status(3.0)));
        // syn is class 1: 20 packets per agent second, over 2 agent seconds.
        assert_eq!(st.rate("syn"), Some(20.0));
        assert_eq!(
            st.total_rate(),
            Some((1..=9).map(|i| i as f64 * 10.0).sum())
        );

        // A restarted agent (new pid, counters from zero) gives no rate, not a negative one.
        let mut restarted = status(0.5);
        restarted.pid = 778;
        st.update(2.0, Ok(restarted));
        assert_eq!(st.rate("syn"), None);
        st.update(3.0, Ok(status(1.5)));
        assert_eq!(
            st.rate("syn"),
            None,
            "pid changed back: still not comparable"
        );

        // The graph: the whole window is known after 60 s of samples.
        let st = state_after(61);
        let all = st.series(None, 30);
        assert_eq!(all.len(), 30);
        assert!(all.iter().all(|v| *v == Some(450.0)), "{all:?}");
        let nj = st.series(Some("not_justified"), 60);
        assert!(nj.iter().all(|v| *v == Some(70.0)), "{nj:?}");
        // Only 5 s of history: the older part of the window is absent.
        let st = state_after(5);
        let v = st.series(None, 60);
        assert_eq!(v.iter().filter(|v| v.is_some()).count(), 5, "{v:?}");
        assert!(v[59].is_some() && v[0].is_none());
    }

    #[test]
    fn top_history_is_bounded() {
        let st = state_after(1000);
        assert!(
            st.history.len() <= KEEP_S as usize + 1,
            "{}",
            st.history.len()
        );
    }

    #[test]
    fn top_formats_fit_their_columns() {
        for n in [
            0,
            9_999,
            99_999,
            100_000,
            999_949,
            999_999,
            1_000_000,
            999_999_999,
            u64::MAX,
        ] {
            assert!(count(n).len() <= 6, "{n}: {}", count(n));
            assert!(bytes(n).len() <= 8, "{n}: {}", bytes(n));
        }
        assert_eq!(
            (count(999_999), bytes(999_999)),
            ("1.0M".into(), "1.0 MB".into())
        );
        assert_eq!(bytes(9_999), "9999 B");
        for r in [
            0.0, 0.05, 9.99, 9.96, 10.0, 99_999.0, 99_999.9, 1e6, 1e9, 1e12,
        ] {
            assert!(rate(r).len() <= 6, "{r}: {}", rate(r));
        }
        assert_eq!(uptime(3725.0), "1h02m");
        assert_eq!(uptime(200_000.0), "2d07h");
        assert_eq!(clock("2025-03-01T12:00:19.123Z"), "12:00:19");
        assert_eq!(clock("2025-03-01T14:00:19+02:00"), "12:00:19");
        let many: Vec<String> = (1..=9).map(|i| format!("192.168.1.{i}")).collect();
        let fitted = fit_list(&many, 30);
        assert!(fitted.len() <= 30 && fitted.ends_with(" +7"), "{fitted}");
        let cut = fit_list(&many, 12);
        assert_eq!(cut, "192.168.… +8");
        assert_eq!(fit_list(&many, 5), "(9)");
        assert_eq!(fit_list(&[], 20), "none");
    }

    /// Prints the 80×24 screen, for docs/top-80x24.txt when the real agent
    /// cannot be captured: `cargo test -p alexa-user top_print -- --ignored --nocapture`.
    #[test]
    #[ignore = "prints a screen for the docs"]
    fn top_print_80x24() {
        println!("{}", render(&state_after(70), 80, 24).join("\n"));
    }
}
