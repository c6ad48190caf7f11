//! `cargo xtask demo` runs this (root): a simulated Echo lives through a
//! compressed day in a virtual home network (`alexa_tests::testbed`), its
//! frames forwarded by a real Linux gateway whose LAN interface carries the
//! XDP classifier, with the agent enforcing the shipped model. Verdicts
//! scroll by as they happen; at the end a per-class summary, then
//! everything is torn down (also on Ctrl-C or failure). See docs/demo.md.
//!
//! usage: demo --alexa BIN --model MODEL.json --out DIR [--seed N]
//!        [--scale X] [--gap-cap-ms N]

use std::{
    io::{IsTerminal as _, Write as _},
    path::{Path, PathBuf},
    sync::atomic::{AtomicBool, Ordering},
    time::{Duration, Instant},
};

use alexa_tests::{
    agent::Agent,
    session::{self, Joiner, LogTail, Outcome, SessionConfig, Session},
    testbed::{self, Testbed},
};
use anyhow::{bail, Context as _, Result};

const NAMESPACES: [&str; 3] = ["alexa-echo", "alexa-gw", "alexa-cloud"];
const PIN_DIR: &str = "/sys/fs/bpf/alexa-demo";

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::Relaxed);
}

struct Args {
    alexa: PathBuf,
    model: PathBuf,
    out: PathBuf,
    config: SessionConfig,
}

fn args() -> Result<Args> {
    let usage = "usage: demo --alexa BIN --model MODEL.json --out DIR [--seed N] [--scale X] [--gap-cap-ms N]";
    let (mut alexa, mut model, mut out) = (None, None, None);
    let mut config = SessionConfig {
        seed: 1,
        scale: 0.05,
        gap_cap: Duration::from_millis(250),
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || {
            it.next()
                .with_context(|| format!("{a} needs a value ({usage})"))
        };
        match a.as_str() {
            "--alexa" => alexa = Some(PathBuf::from(value()?)),
            "--model" => model = Some(PathBuf::from(value()?)),
            "--out" => out = Some(PathBuf::from(value()?)),
            "--seed" => config.seed = value()?.parse().context("--seed")?,
            "--scale" => config.scale = value()?.parse().context("--scale")?,
            "--gap-cap-ms" => {
                config.gap_cap = Duration::from_millis(value()?.parse().context("--gap-cap-ms")?)
            }
            "-h" | "--help" => {
                println!("{usage}");
                std::process::exit(0);
            }
            other => bail!("unknown argument `{other}` ({usage})"),
        }
    }
    let abs = |p: Option<PathBuf>, what: &str| -> Result<PathBuf> {
        let p = p.with_context(|| format!("missing {what} ({usage})"))?;
        std::path::absolute(&p).with_context(|| format!("{}", p.display()))
    };
    Ok(Args {
        alexa: abs(alexa, "--alexa")?,
        model: abs(model, "--model")?,
        out: abs(out, "--out")?,
        config,
    })
}

fn main() {
    // Failures inside the shared harness are panics: say them in one line;
    // unwinding still runs every teardown guard.
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| info.payload().downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        eprintln!("\ndemo: failed: {msg}");
    }));
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: the handler only stores to an atomic.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as *const () as usize;
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
    let code = match std::panic::catch_unwind(run) {
        Ok(Ok(true)) => 0,
        // The shell's convention for "ended by SIGINT".
        Ok(Ok(false)) if STOP.load(Ordering::Relaxed) => 130,
        Ok(Ok(false)) => 1,
        Ok(Err(e)) => {
            eprintln!("demo: error: {e:#}");
            1
        }
        Err(_) => 1,
    };
    std::process::exit(code);
}

/// Everything the demo creates, torn down in this order when dropped:
/// the agent (stopped, classifier detached), then the namespaces.
struct Demo {
    agent: Agent,
    bed: Testbed,
}

fn run() -> Result<bool> {
    let a = args()?;
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        bail!("the demo needs root (network namespaces, XDP): run `sudo cargo xtask demo`");
    }
    let out = &a.out;
    if out.exists() {
        std::fs::remove_dir_all(out).with_context(|| format!("{}: cannot clear", out.display()))?;
    }
    std::fs::create_dir_all(out).with_context(|| format!("{}: cannot create", out.display()))?;
    let pin_dir = PathBuf::from(PIN_DIR);
    // A classifier left pinned by a demo that was killed outright.
    let _ = std::process::Command::new(&a.alexa)
        .args(["detach", "--pin-dir", PIN_DIR, "--control-socket"])
        .arg(out.join("control.sock"))
        .output();

    let sim = session::simulate(&a.config, &out.join("sim"));
    let planned = alexa::replay::planned(&sim.frames, a.config.gap_cap);
    let bed = Testbed::named(NAMESPACES[0], NAMESPACES[1], NAMESPACES[2]);
    let mut demo = Demo {
        agent: Agent::at(a.alexa.clone(), &bed.gw, out.clone(), pin_dir.clone(), true),
        bed,
    };
    let model = a.model.to_str().context("model path")?;
    demo.agent.start(
        testbed::LAN_IF,
        &[
            "--device",
            testbed::ECHO_IP,
            "--mode",
            "enforce",
            "--model",
            model,
        ],
    );
    let agent_pid = demo.agent.process.as_ref().map(|p| p.child.id());
    let status = demo.agent.status();
    header(&a, &sim, planned, &status);

    let mut view = LiveView::new(&sim, &demo.agent.log);
    let run = session::replay(
        &demo.bed,
        &sim,
        a.config.gap_cap,
        &demo.agent.socket,
        &STOP,
        &mut |n| view.tick(n, planned),
    );
    view.finish();
    let interrupted =
        STOP.load(Ordering::Relaxed) || run.as_ref().is_ok_and(|r| r.sent.interrupted);
    let mut ok = false;
    if interrupted {
        eprintln!("\ninterrupted: tearing down");
    } else {
        let run = run?;
        let outcome = Outcome::collect(&sim, &run, &demo.agent);
        let metrics = demo.bed.in_gw("curl -sf http://127.0.0.1:9464/metrics");
        std::fs::write(out.join("metrics.txt"), &metrics).context("metrics.txt")?;
        demo.agent.stop();
        write_frames(&out.join("frames.csv"), &sim, &run, &outcome)?;
        let text = summary(&a, &sim, &run, &outcome, out);
        println!("{text}");
        std::fs::write(out.join("summary.txt"), &text).context("summary.txt")?;
        ok = outcome.consistent();
    }
    let names: Vec<String> = demo.bed.names().iter().map(|s| s.to_string()).collect();
    drop(demo);
    let left = testbed::leftovers(&names, &pin_dir);
    let agent_alive = agent_pid.is_some_and(|pid| {
        // SAFETY: signal 0 only checks that the process exists.
        unsafe { libc::kill(pid as i32, 0) == 0 }
    });
    if left.is_empty() && !agent_alive {
        println!(
            "teardown: agent stopped, classifier detached, namespaces {} deleted; nothing left behind",
            names.join(" ")
        );
    } else {
        println!(
            "teardown: LEFT BEHIND: {}{}",
            left.join(", "),
            if agent_alive {
                " and the agent process"
            } else {
                ""
            }
        );
        ok = false;
    }
    Ok(ok && !interrupted)
}

fn header(a: &Args, sim: &Session, planned: Duration, status: &serde_json::Value) {
    let mut spans: Vec<(String, f64)> = Vec::new();
    for (c, f) in sim.contexts.iter().zip(&sim.frames) {
        match spans.last_mut() {
            Some((name, _)) if name == c => {}
            _ => spans.push((c.clone(), f.ts_ns as f64 / 1e9)),
        }
    }
    let ends: Vec<f64> = spans
        .iter()
        .skip(1)
        .map(|s| s.1)
        .chain(sim.frames.last().map(|f| f.ts_ns as f64 / 1e9))
        .collect();
    let contexts: Vec<String> = spans
        .iter()
        .zip(ends)
        .map(|((c, start), end)| format!("{c} {:.0} s", end - start))
        .collect();
    eprintln!(
        "\nalexa demo: a simulated Echo's day through a real gateway\n\n\
         \x20 [echo] {e} {ip} ──── {l} [gw] {w} ──── {c} [cloud]\n\
         \x20 XDP classifier on {l}; the agent in {mode} mode, model {model}\n\n\
         session: seed {seed}, {n} frames from the Echo over {secs:.0} simulated seconds\n\
         \x20 ({contexts}), replayed in about {planned:.0} s:\n\
         \x20 idle gaps longer than {cap} ms are shortened to {cap} ms, so heartbeats (syn)\n\
         \x20 lose their 30 s rhythm; muted, the model takes them for uploads (docs/demo.md).\n\n\
         every packet the kernel drops (DROP* = its flow is in quarantine) or alerts on:\n",
        ip = testbed::ECHO_IP,
        e = testbed::ECHO_IF,
        l = testbed::LAN_IF,
        w = testbed::WAN_IF,
        c = testbed::CLOUD_IF,
        mode = status["mode"].as_str().unwrap_or("?"),
        model = status["model_version"].as_str().unwrap_or("?"),
        seed = a.config.seed,
        n = sim.frames.len(),
        secs = sim.seconds,
        contexts = contexts.join(", "),
        planned = planned.as_secs_f64(),
        cap = a.config.gap_cap.as_millis(),
    );
}

/// The scrolling table of the kernel's non-pass verdicts, as the agent logs
/// them, with a progress line under it.
struct LiveView<'a> {
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
    fn new(sim: &'a Session, log: &Path) -> Self {
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

    fn tick(&mut self, sent: usize, planned: Duration) {
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

    fn finish(&mut self) {
        if self.terminal {
            eprintln!();
        }
    }
}

/// One line per frame: label, verdict, fate.
fn write_frames(path: &Path, sim: &Session, run: &session::Run, o: &Outcome) -> Result<()> {
    let mut w = std::io::BufWriter::new(
        std::fs::File::create(path)
            .with_context(|| format!("{}: cannot create", path.display()))?,
    );
    writeln!(
        w,
        "index,frame,context,microphone,label,kernel_class,action,quarantine,dst,dstport,length,cloud_bound,received,sent_s"
    )?;
    for s in &run.sent.frames {
        let i = s.index as usize;
        let f = &sim.frames[i];
        let v = o.verdicts[i].as_ref();
        writeln!(
            w,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{:.6}",
            f.index,
            f.frame,
            sim.contexts[i],
            u8::from(f.microphone),
            session::name(f.class),
            v.map_or("", |v| session::name(v.class)),
            v.map_or("", |v| v.action.as_str()),
            v.is_some_and(|v| v.quarantine) as u8,
            f.key.dst,
            f.key.dstport,
            f.key.length,
            testbed::cloud_bound(f.key.dst) as u8,
            run.arrivals.by_id[i],
            s.at.as_secs_f64()
        )?;
    }
    w.flush()?;
    Ok(())
}

fn summary(a: &Args, sim: &Session, run: &session::Run, o: &Outcome, out: &Path) -> String {
    use std::fmt::Write as _;
    let t = &o.total;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "\nSummary: {} frames sent by the Echo in {:.1} s ({:.0} simulated seconds; seed {}, scale {}, gaps capped at {} ms)\n",
        t.sent,
        run.sent.elapsed.as_secs_f64(),
        sim.seconds,
        a.config.seed,
        a.config.scale,
        a.config.gap_cap.as_millis()
    );
    s.push_str(&o.table());
    let _ = writeln!(
        s,
        "\npacing: the latest frame left {} µs after its time ({}); microphone switched through the control socket {} times",
        run.sent.max_late().as_micros(),
        if run.sent.realtime {
            "sender under SCHED_FIFO"
        } else {
            "sender not real-time scheduled"
        },
        run.sent.mic_changes.len()
    );
    let _ = writeln!(
        s,
        "cloud side: received {} = {} sent to the cloud − {} dropped by the gateway{}",
        t.received,
        t.cloud_bound,
        t.cloud_bound_dropped,
        if o.dropped_but_arrived.is_empty() && o.consistent() {
            "; not one dropped frame reached it"
        } else {
            ""
        }
    );
    if !o.consistent() {
        let _ = writeln!(
            s,
            "INCONSISTENT: {} dropped frames arrived, {} passed frames missing, {} unexpected arrivals, {} frames without a verdict, {} unmatched log lines, {} frames lost by the counter",
            o.dropped_but_arrived.len(),
            o.passed_but_missing.len(),
            o.unexpected_arrivals.len(),
            o.unclassified.len(),
            o.unmatched_lines,
            o.socket_drops
        );
    }
    let (nj_dropped, nj) = o.dropped_of("not_justified");
    let (exp_dropped, exp) = o.dropped_of("expected");
    let _ = writeln!(
        s,
        "hidden uploads (not_justified, microphone muted): {} of {} packets blocked",
        o.hidden.1, o.hidden.0
    );
    let _ = writeln!(
        s,
        "all not_justified: {nj_dropped} of {nj} dropped ({:.1}%); expected: {exp_dropped} of {exp} dropped",
        100.0 * nj_dropped as f64 / nj.max(1) as f64
    );
    if !o.confusion.is_empty() {
        let _ = writeln!(
            s,
            "the classifier disagreed with the labels on: {}",
            o.confusion_line()
        );
        let _ = writeln!(
            s,
            "  (heartbeats, labelled syn, are known by their 30 s period, which the gap cap removes: docs/demo.md)"
        );
    }
    let _ = writeln!(
        s,
        "LAN-local frames (DNS to the gateway, the Fire Stick, multicast) never leave the house: not in the cloud equation."
    );
    let evidence = out.join("evidence.pcapng");
    let _ = writeln!(s, "\nwritten to {}:", out.display());
    for (what, p) in [
        ("verdict log      ", out.join("verdicts.jsonl")),
        ("metrics snapshot ", out.join("metrics.txt")),
        ("evidence (pcapng)", evidence),
        ("per-frame join   ", out.join("frames.csv")),
        ("simulated session", out.join("sim")),
        ("agent's messages ", out.join("agent.stderr")),
    ] {
        let _ = writeln!(s, "  {what} {}", p.display());
    }
    s
}
