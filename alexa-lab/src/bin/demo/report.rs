//! What the demo leaves behind: the per-frame file, the summaries, the file list.

use std::{io::Write as _, path::Path};

use super::config::{Args, RealRun};
use alexa_common::Class;
use alexa_lab::{
    real::VOICE_ECHO_MAC,
    session::{self, Outcome, Session},
    testbed::{self},
};
use anyhow::{Context as _, Result};

/// One line per frame: label, verdict, fate.
pub(super) fn write_frames(
    path: &Path,
    sim: &Session,
    run: &session::Run,
    o: &Outcome,
) -> Result<()> {
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

pub(super) fn summary(a: &Args, sim: &Session, run: &session::Run, o: &Outcome) -> String {
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
    let (nj_dropped, nj) = o.dropped_of(Class::NotJustified);
    let (exp_dropped, exp) = o.dropped_of(Class::Expected);
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
    s
}

/// The real runs beside the simulated day: per labelled class, sent,
/// passed (forwarded, alerts included) and dropped; then the verdicts.
pub(super) fn real_summary(
    capture: &Path,
    model: &Path,
    sim: &Session,
    day: &Outcome,
    on: &RealRun,
    muted: &RealRun,
) -> String {
    use std::fmt::Write as _;
    let name = |p: &Path| {
        p.file_name().map_or_else(
            || p.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    };
    let mut s = String::new();
    let _ = writeln!(
        s,
        "\nA real Echo: {} ({} frames from {VOICE_ECHO_MAC} over {:.0} s, five voice commands, October 2018; MIT, tests/fixtures/voice-commands/NOTICE.md),\n\
         replayed twice in {:.1} s and {:.1} s (gaps capped as above) with the agent enforcing {} on the Echo's MAC.\n\
         Labels by the published rules (alexa label): application data `expected` with the microphone on, `not_justified` muted.\n",
        name(capture),
        on.session.frames.len(),
        on.session.seconds,
        on.run.sent.elapsed.as_secs_f64(),
        muted.run.sent.elapsed.as_secs_f64(),
        name(model),
    );
    let cols = [
        (format!("simulated day ({})", sim.frames.len()), day),
        ("real, microphone on".to_owned(), &on.outcome),
        ("real, muted".to_owned(), &muted.outcome),
    ];
    let mut titles = format!("{:<14}", "");
    for (title, _) in &cols {
        let _ = write!(titles, "  {title:^23}");
    }
    let _ = writeln!(s, "{}", titles.trim_end());
    s.push_str(&format!("{:<14}", "class (label)"));
    for _ in &cols {
        let _ = write!(s, "  {:>7} {:>7} {:>7}", "sent", "passed", "dropped");
    }
    s.push('\n');
    let rows = alexa_common::CLASS_NAMES
        .iter()
        .enumerate()
        .map(|(i, n)| (*n, cols.iter().map(|(_, o)| &o.rows[i]).collect::<Vec<_>>()))
        .chain(std::iter::once((
            "total",
            cols.iter().map(|(_, o)| &o.total).collect(),
        )));
    for (class, rs) in rows {
        let _ = write!(s, "{class:<14}");
        for r in rs {
            let _ = write!(
                s,
                "  {:>7} {:>7} {:>7}",
                r.sent,
                r.passed + r.alerted,
                r.dropped
            );
        }
        s.push('\n');
    }
    let _ = writeln!(
        s,
        "(passed: forwarded to the cloud, alerts included; the day's labels are the simulator's)\n"
    );
    let t = &on.outcome.total;
    let _ = writeln!(
        s,
        "microphone on: {} of {} packets dropped",
        t.dropped, t.sent
    );
    let (k, u) = muted.outcome.dropped_of(Class::NotJustified);
    let _ = writeln!(s, "muted: {k} of {u} uploads dropped");
    let (net_dropped, net) = [Class::Handshake, Class::Ack, Class::Syn, Class::Retransmit]
        .into_iter()
        .map(|c| muted.outcome.dropped_of(c))
        .fold((0, 0), |(d, n), (a, b)| (d + a, n + b));
    let _ = writeln!(
        s,
        "muted: {net_dropped} of {net} handshake/ack/syn/retransmit packets dropped"
    );
    for r in [on, muted] {
        let t = &r.outcome.total;
        let _ = writeln!(
            s,
            "cloud side, {}: received {} = {} sent to the cloud − {} dropped by the gateway{}",
            if r.microphone {
                "microphone on"
            } else {
                "muted"
            },
            t.received,
            t.cloud_bound,
            t.cloud_bound_dropped,
            if r.outcome.consistent() {
                "; not one dropped frame reached it"
            } else {
                "; INCONSISTENT (see frames.csv)"
            }
        );
    }
    for r in [on, muted] {
        if !r.outcome.confusion.is_empty() {
            let _ = writeln!(
                s,
                "{}: the classifier disagreed with the labels on: {}",
                if r.microphone {
                    "microphone on"
                } else {
                    "muted"
                },
                r.outcome.confusion_line()
            );
        }
    }
    s
}

/// Where the results are.
pub(super) fn files(out: &Path, real: &[RealRun]) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(s, "\nwritten to {}:", out.display());
    for (what, p) in [
        ("verdict log      ", out.join("verdicts.jsonl")),
        ("metrics snapshot ", out.join("metrics.txt")),
        ("evidence (pcapng)", out.join("evidence.pcapng")),
        ("per-frame join   ", out.join("frames.csv")),
        ("simulated session", out.join("sim")),
        ("agent's messages ", out.join("agent.stderr")),
    ] {
        let _ = writeln!(s, "  {what} {}", p.display());
    }
    for r in real {
        let _ = writeln!(
            s,
            "  real, {:<11} {} (labels.csv, verdicts.jsonl, evidence.pcapng, frames.csv, agent.stderr)",
            if r.microphone { "mic on" } else { "muted" },
            r.dir.display()
        );
    }
    s
}
