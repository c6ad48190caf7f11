//! Section 3: the real `alexa run` under load. The agent monitors the Echo
//! of the shared voice-command captures on a veth of its own namespace
//! (live.rs); the kernel program it attached is run through
//! `BPF_PROG_TEST_RUN` on those captures' real device frames at a set rate,
//! so every event takes the agent's whole path: ring buffer, decoding,
//! policy, evidence, paced wake-ups and batching, the verdict log. The log is
//! a FIFO the bench reads, which gives each line's latency from its packet.

use std::{
    path::Path,
    sync::atomic::Ordering,
    time::{Duration, Instant},
};

use anyhow::{bail, Result};
use etherparse::{NetSlice, SlicedPacket, TransportSlice};

use super::{
    kernel::test_run,
    live::{Live, IFACE},
    quantile, say, thousands, verdict, Plan, Table,
};

/// The rate the latency target is judged at, events per second.
const LIGHT_RATE: u64 = 10_000;

/// Offered event rates per second; `None`: as fast as one producer thread goes.
const RATES: [Option<u64>; 8] = [
    Some(LIGHT_RATE),
    Some(100_000),
    Some(250_000),
    Some(500_000),
    Some(1_000_000),
    Some(1_500_000),
    Some(2_000_000),
    None,
];

/// Runs of one frame per `BPF_PROG_TEST_RUN` call, at most: high rates
/// need the kernel's own repeat loop (one call costs a microsecond).
const CHUNK: u64 = 32;

/// Every TCP or UDP frame the voice captures' Echo sent, in capture order.
pub fn device_frames() -> Result<Vec<Vec<u8>>> {
    let Some(captures) = crate::real::voice_captures() else {
        bail!("no shared voice-command captures (../shared/data/real)");
    };
    let echo: std::net::Ipv4Addr = crate::real::VOICE_ECHO_IP.parse()?;
    let mut out = Vec::new();
    for c in captures {
        for (_, frame) in crate::parity::capture_frames(&c) {
            let Ok(p) = SlicedPacket::from_ethernet(&frame) else {
                continue;
            };
            let from_echo =
                matches!(&p.net, Some(NetSlice::Ipv4(ip)) if ip.header().source_addr() == echo);
            let l4 = matches!(
                p.transport,
                Some(TransportSlice::Tcp(_)) | Some(TransportSlice::Udp(_))
            );
            if from_echo && l4 {
                out.push(frame);
            }
        }
    }
    Ok(out)
}

/// Fires the attached program at `rate` for `length`, cycling through
/// `frames`; returns the runs made.
fn produce(fd: i32, frames: &[Vec<u8>], rate: Option<u64>, length: Duration) -> Result<u64> {
    let start = Instant::now();
    let mut runs = 0u64;
    let mut i = 0usize;
    while start.elapsed() < length {
        let k = match rate {
            None => CHUNK,
            Some(r) => {
                let due = (start.elapsed().as_secs_f64() * r as f64) as u64;
                if due <= runs {
                    std::thread::sleep(Duration::from_micros(100));
                    continue;
                }
                (due - runs).min(CHUNK)
            }
        };
        test_run(fd, &frames[i % frames.len()], k as u32)?;
        runs += k;
        i += 1;
    }
    Ok(runs)
}

struct Step {
    classified: u64,
    logged: u64,
    lost: u64,
    seconds: f64,
    latencies: Vec<u64>,
}

fn step(live: &Live, frames: &[Vec<u8>], rate: Option<u64>, length: Duration) -> Result<Step> {
    let classified0 = live.counter("classified")?;
    let lost0 = live.counter("ringbuf_lost")?;
    let lines0 = live.lines();
    live.log
        .latencies_us
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clear();
    live.log.recording.store(true, Ordering::Release);
    let start = Instant::now();
    produce(live.fd(), frames, rate, length)?;
    let classified = live.counter("classified")? - classified0;
    // Everything produced is logged (or lost) before the step ends.
    let lost_now = live.counter("ringbuf_lost")? - lost0;
    live.wait_lines(
        lines0 + classified.saturating_sub(lost_now),
        Duration::from_secs(10),
    );
    live.log.recording.store(false, Ordering::Release);
    let last = live
        .log
        .last_line
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .unwrap_or(start);
    let mut latencies = std::mem::take(
        &mut *live
            .log
            .latencies_us
            .lock()
            .unwrap_or_else(|p| p.into_inner()),
    );
    latencies.sort_unstable();
    Ok(Step {
        classified,
        logged: live.lines() - lines0,
        lost: live.counter("ringbuf_lost")? - lost0,
        seconds: last
            .saturating_duration_since(start)
            .as_secs_f64()
            .max(length.as_secs_f64()),
        latencies,
    })
}

pub fn format_us(us: u64) -> String {
    if us >= 1000 {
        format!("{:.2} ms", us as f64 / 1e3)
    } else {
        format!("{us} µs")
    }
}

pub fn run(plan: &Plan, alexa: &Path) -> Result<Table> {
    let frames = device_frames()?;
    say(format!(
        "agent: {} device frames of the voice captures",
        frames.len()
    ));
    let live = Live::start(
        alexa,
        "agent",
        &[crate::real::VOICE_ECHO_IP.to_owned()],
        &["--mode", "monitor", "--microphone", "off"],
    )?;
    let length = plan.agent_step;
    let mut t = Table::new(
        "3. Agent: the real `alexa run`, events per second and packet-to-log-line latency",
        &[
            "offered (events/s)",
            "produced (events/s)",
            "classified",
            "logged",
            "logged (events/s)",
            "ringbuf_lost",
            "latency p50",
            "latency p99",
            "agent RSS after",
        ],
    );
    t.intro = format!(
        "`alexa run --mode monitor --microphone off --device {}` on a veth (`{IFACE}`) of a \
         namespace the bench creates, evidence and log on tmpfs, the log a FIFO the bench reads \
         as a log shipper would. The program the agent attached (found by id on `{IFACE}`) is \
         run through `BPF_PROG_TEST_RUN` on the {} TCP/UDP frames that Echo sent in the 55 \
         shared voice-command captures, cycled in capture order, each run up to {CHUNK} times in \
         a row at high rates, at the offered rate for {} ms per rate (the same window for every \
         rate). With the microphone off, application data is `not_justified`: alerts, \
         quarantine and the evidence capture are exercised, the heaviest path of the agent. \
         Latency: CLOCK_REALTIME when the line's bytes reach the reader, minus the line's `timestamp` \
         (the packet's `bpf_ktime_get_ns`, converted by the agent); every line of the step \
         counted. At 10,000 events/s, where the latency target is judged, the reader runs at \
         real-time priority (SCHED_FIFO), so that its own wait for a CPU on this shared machine \
         is not counted; the agent runs as it always does. *ringbuf_lost*: the kernel counter of events that found the ring buffer full.",
        crate::real::VOICE_ECHO_IP,
        thousands(frames.len() as f64),
        length.as_millis(),
    );
    let mut best: Option<f64> = None;
    let mut light_p99 = None;
    for rate in RATES {
        say(format!(
            "agent: offered {}",
            rate.map_or("max".into(), |r| thousands(r as f64))
        ));
        live.reader_realtime(rate == Some(LIGHT_RATE))?;
        let s = step(&live, &frames, rate, length)?;
        let p50 = quantile(&s.latencies, 0.5);
        let p99 = quantile(&s.latencies, 0.99);
        let clean = s.lost == 0 && s.logged == s.classified && s.classified > 0;
        let logged_rate = s.logged as f64 / s.seconds;
        if clean && best.is_none_or(|b| logged_rate > b) {
            best = Some(logged_rate);
        }
        if rate == Some(LIGHT_RATE) {
            // No line read back is no latency measured, never a met target.
            light_p99 = (!s.latencies.is_empty()).then_some(p99);
        }
        let (rss, _) = live.rss_kib()?;
        t.row(vec![
            rate.map_or("max (unpaced)".into(), |r| thousands(r as f64)),
            thousands(s.classified as f64 / length.as_secs_f64()),
            thousands(s.classified as f64),
            thousands(s.logged as f64),
            thousands(logged_rate),
            thousands(s.lost as f64),
            if s.latencies.is_empty() {
                "none read".into()
            } else {
                format_us(p50)
            },
            if s.latencies.is_empty() {
                "none read".into()
            } else {
                format_us(p99)
            },
            format!("{:.1} MiB", rss as f64 / 1024.0),
        ]);
    }
    let best = best.unwrap_or(0.0);
    let light = light_p99.unwrap_or(u64::MAX);
    t.target(
        "`alexa run`: events/s logged with zero loss",
        format!("{} events/s", thousands(best)),
        "≥ 1,000,000",
        best >= 1_000_000.0,
    );
    t.target(
        "`alexa run`: p99 packet-to-log-line latency at 10,000 events/s",
        format_us(light),
        "≤ 1 ms",
        light <= 1000,
    );
    t.note(format!(
        "Highest rate logged with every event logged and ringbuf_lost 0 (logged events over \
         the step, from its start to the last line): {} events/s (target ≥ 1,000,000: {}). \
         p99 latency at 10,000 events/s: {} (target ≤ 1 ms: {}).",
        thousands(best),
        verdict(best >= 1_000_000.0),
        format_us(light),
        verdict(light <= 1000),
    ));
    t.note(format!(
        "Evidence capture written by the agent in this run: {:.1} MiB.",
        std::fs::metadata(&live.agent.evidence).map_or(0, |m| m.len()) as f64 / (1 << 20) as f64,
    ));
    t.note(
        "The producer (one thread issuing `BPF_PROG_TEST_RUN`), the agent and the FIFO reader \
         share this machine's CPUs; *produced* is the rate the producer reached (classified \
         over the window), short of the offered one where it could not keep up; \"max\" is \
         what one producer thread reaches alongside the agent.",
    );
    Ok(t)
}
