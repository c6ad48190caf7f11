//! `cargo xtask demo` runs this (root): a simulated Echo lives through a
//! compressed day in a virtual home network (`alexa_lab::testbed`), its
//! frames forwarded by a real Linux gateway whose LAN interface carries the
//! XDP classifier, with the agent enforcing the simulator's model; then a
//! real Echo's voice-command capture goes through the same gateway twice,
//! the agent enforcing the shipped model: microphone on, then muted.
//! Verdicts scroll by as they happen; at the end a per-class summary, then
//! everything is torn down (also on Ctrl-C or failure). See docs/demo.md.
//!
//! usage: demo --alexa BIN --model MODEL.json --out DIR [--seed N]
//!        [--scale X] [--gap-cap-ms N] [--real CAPTURE --real-model MODEL.json]

mod config;
mod report;
mod view;

use config::{Args, RealAttempt, RealRun};

use report::{files, real_summary, summary, write_frames};
use view::LiveView;

use std::{
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, LazyLock,
    },
    time::Duration,
};

use alexa::offline::labelling::AppClass;
use alexa_lab::{
    agent::Agent,
    real::VOICE_ECHO_MAC,
    session::{self, Outcome, Session, SessionConfig},
    testbed::{self, Testbed},
};
use anyhow::{bail, Context as _, Result};

const NAMESPACES: [&str; 3] = ["alexa-echo", "alexa-gw", "alexa-cloud"];
const PIN_DIR: &str = "/sys/fs/bpf/alexa-demo";

/// Set by SIGINT or SIGTERM: the demo stops, tears down and exits 130.
static STOP: LazyLock<Arc<AtomicBool>> = LazyLock::new(Default::default);

fn args() -> Result<Args> {
    let usage = "usage: demo --alexa BIN --model MODEL.json --out DIR [--seed N] [--scale X] [--gap-cap-ms N] [--real CAPTURE --real-model MODEL.json | --no-real]";
    let (mut alexa, mut model, mut out) = (None, None, None);
    let (mut real, mut real_model, mut no_real) = (None, None, false);
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
            "--real" => real = Some(PathBuf::from(value()?)),
            "--real-model" => real_model = Some(PathBuf::from(value()?)),
            "--no-real" => no_real = true,
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
    let real = match (real, no_real) {
        (Some(capture), false) => Some((
            abs(Some(capture), "--real")?,
            abs(real_model, "--real-model")?,
        )),
        _ => None,
    };
    Ok(Args {
        alexa: abs(alexa, "--alexa")?,
        model: abs(model, "--model")?,
        out: abs(out, "--out")?,
        config,
        real,
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
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        if let Err(e) = signal_hook::flag::register(sig, Arc::clone(&STOP)) {
            eprintln!("demo: error: cannot catch signal {sig}: {e}");
            std::process::exit(1);
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
    let planned = alexa_lab::replay::planned(&sim.frames, a.config.gap_cap);
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
            &sim.device,
            "--mode",
            "enforce",
            "--model",
            model,
        ],
    );
    let mut agent_pids: Vec<u32> = demo.agent.process.iter().map(|p| p.child.id()).collect();
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
    let mut interrupted =
        STOP.load(Ordering::Relaxed) || run.as_ref().is_ok_and(|r| r.sent.interrupted);
    let mut ok = false;
    if !interrupted {
        let run = run?;
        let outcome = Outcome::collect(&sim, &run, &demo.agent);
        let metrics = demo.bed.in_gw("curl -sf http://127.0.0.1:9464/metrics");
        std::fs::write(out.join("metrics.txt"), &metrics).context("metrics.txt")?;
        demo.agent.stop();
        write_frames(&out.join("frames.csv"), &sim, &run, &outcome)?;
        let mut text = summary(&a, &sim, &run, &outcome);
        println!("{text}");
        ok = outcome.consistent();
        let mut real_runs = Vec::new();
        if let Some((capture, real_model)) = &a.real {
            for microphone in [true, false] {
                let r = real_run(&a, &mut demo, capture, real_model, microphone)?;
                agent_pids.extend(r.agent_pid);
                let Some(r) = r.done else {
                    interrupted = true;
                    break;
                };
                ok &= r.outcome.consistent();
                real_runs.push(r);
            }
            if let [on, muted] = &real_runs[..] {
                let t = real_summary(capture, real_model, &sim, &outcome, on, muted);
                println!("{t}");
                text.push_str(&t);
            }
        }
        let files = files(out, &real_runs);
        println!("{files}");
        text.push_str(&files);
        std::fs::write(out.join("summary.txt"), &text).context("summary.txt")?;
    }
    if interrupted {
        eprintln!("\ninterrupted: tearing down");
    }
    let names: Vec<String> = demo.bed.names().iter().map(|s| s.to_string()).collect();
    drop(demo);
    let left = testbed::leftovers(&names, &pin_dir);
    let agent_alive = agent_pids.iter().any(|&pid| {
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

/// The real capture through the gateway once, with a fresh agent (the last
/// one detached first, so no flow state or quarantine carries over)
/// enforcing `model` on the Echo named by its MAC. Muted, the application
/// data is labelled `not_justified` and the replay says `mic off` to the
/// agent before the first frame; with the microphone on it is `expected`.
fn real_run(
    a: &Args,
    demo: &mut Demo,
    capture: &Path,
    model: &Path,
    microphone: bool,
) -> Result<RealAttempt> {
    let (name, app) = if microphone {
        ("real-on", AppClass::Expected)
    } else {
        ("real-muted", AppClass::NotJustified)
    };
    let dir = a.out.join(name);
    let session = session::real(capture, VOICE_ECHO_MAC, app, microphone, &dir);
    let planned = alexa_lab::replay::planned(&session.frames, a.config.gap_cap);
    // The previous agent (stopped) is dropped here: its classifier detached.
    demo.agent = Agent::at(
        a.alexa.clone(),
        &demo.bed.gw,
        dir.clone(),
        PathBuf::from(PIN_DIR),
        true,
    );
    demo.agent.start(
        testbed::LAN_IF,
        &[
            "--device",
            &session.device,
            "--mode",
            "enforce",
            "--model",
            model.to_str().context("model path")?,
            // The classifier's per-packet verdicts alone: with the default
            // quarantine, a muted Echo's upload connection would be cut
            // after its first command (docs/demo.md).
            "--quarantine",
            "0,0,0",
        ],
    );
    let agent_pid = demo.agent.process.as_ref().map(|p| p.child.id());
    let status = demo.agent.status();
    eprintln!(
        "\n{}: {} frames from a real Echo ({VOICE_ECHO_MAC}, {}) over {:.0} s, replayed in about {:.0} s\n\
         \x20 the agent in {} mode on the Echo's MAC, model {}, microphone {}\n",
        capture.file_name().map_or_else(|| capture.display().to_string(), |n| n.to_string_lossy().into_owned()),
        session.frames.len(),
        session.device_ip,
        session.seconds,
        planned.as_secs_f64(),
        status["mode"].as_str().unwrap_or("?"),
        status["model_version"].as_str().unwrap_or("?"),
        if microphone {
            "on (a legitimate conversation: nothing should be dropped)"
        } else {
            "muted (alexa mic off: the same traffic is now a hidden upload)"
        },
    );
    let mut view = LiveView::new(&session, &demo.agent.log);
    let run = session::replay(
        &demo.bed,
        &session,
        a.config.gap_cap,
        &demo.agent.socket,
        &STOP,
        &mut |n| view.tick(n, planned),
    );
    view.finish();
    if STOP.load(Ordering::Relaxed) || run.as_ref().is_ok_and(|r| r.sent.interrupted) {
        return Ok(RealAttempt {
            agent_pid,
            done: None,
        });
    }
    let run = run?;
    let outcome = Outcome::collect(&session, &run, &demo.agent);
    demo.agent.stop();
    write_frames(&dir.join("frames.csv"), &session, &run, &outcome)?;
    Ok(RealAttempt {
        agent_pid,
        done: Some(RealRun {
            microphone,
            session,
            run,
            outcome,
            dir,
        }),
    })
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
