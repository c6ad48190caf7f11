//! [`draw`]: the dashboard as a pure function of its state.

use ratatui::{
    layout::{Constraint, Layout, Rect},
    style::{Color, Modifier, Style, Stylize as _},
    text::{Line, Span, Text},
    widgets::{Block, Cell, Paragraph, Row, Sparkline, Table, Wrap},
    Frame,
};

use super::{format::*, state::*};
use crate::control::status::Status;

/// The smallest terminal the layout is made for; below it nothing would be
/// cut off silently, the dashboard says so instead.
pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;

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

pub(super) fn draw_too_small(frame: &mut Frame, area: Rect) {
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

pub(super) fn draw_waiting(frame: &mut Frame, area: Rect, state: &TopState) {
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

pub(super) fn draw_header(frame: &mut Frame, area: Rect, state: &TopState, s: &Status) {
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
pub(super) fn class_table<'a>(state: &TopState, s: &'a Status, wide: bool) -> (Table<'a>, u16) {
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
pub(super) fn aligned<'a>(cells: Vec<impl Into<String>>) -> Vec<Cell<'a>> {
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

pub(super) fn draw_rates(frame: &mut Frame, area: Rect, state: &TopState) {
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

pub(super) fn draw_recent(frame: &mut Frame, area: Rect, s: &Status, wide: bool) {
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

pub(super) fn draw_error(frame: &mut Frame, area: Rect, state: &TopState, error: &str) {
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
pub(super) fn fit_list(items: &[String], width: usize) -> String {
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
