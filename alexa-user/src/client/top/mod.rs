//! `alexa top`: a terminal dashboard for the running agent.
//!
//! The dashboard is split so that all of it but the terminal can be tested:
//! a data source (any `FnMut() -> Result<Status>`, the control socket in
//! practice), a [`TopState`] that turns successive snapshots into rates, and
//! [`draw`], a pure function of that state.

mod format;
mod state;
mod view;

use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use std::io::IsTerminal as _;

pub use state::{TopState, WINDOW_S};
pub use view::{draw, MIN_HEIGHT, MIN_WIDTH};

use crate::control::status::Status;

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

#[cfg(test)]
mod tests {
    use super::*;
    use super::{format::*, state::*, view::*};
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
