//! Section 5: growth. The real `alexa run` (live.rs) monitoring 1, 8 or 64
//! devices; the program it attached creates N flows from real-looking TLS
//! records (one `BPF_PROG_TEST_RUN` per new flow, spread over the devices);
//! then the cost per packet of a random one of those flows, the agent's
//! memory, the flow map's live entries (so the LRU evictions past its
//! capacity), and what a flow's next packet looks like after them.

use std::{
    os::fd::{AsFd as _, AsRawFd as _},
    path::{Path, PathBuf},
    sync::atomic::Ordering,
    time::Duration,
};

use alexa_common::{
    maps::{self, FLOW_CAPACITY},
    FlowKey, FlowState,
};
use anyhow::{anyhow, Context as _, Result};
use aya::maps::{HashMap, Map, MapData};
use etherparse::PacketBuilder;

use super::{
    kernel::{memlock, test_run, Object, BARE},
    live::Live,
    median, say, thousands, Plan, Table,
};

const MAC_A: [u8; 6] = [2, 0, 0, 0, 0, 1];
const MAC_B: [u8; 6] = [2, 0, 0, 0, 0, 2];

/// Device `d` of the growth runs.
fn device(d: u32) -> [u8; 4] {
    [192, 168, 50, 10 + d as u8]
}

/// A 100-byte TLS application-data record of flow `i` (device `i % devices`,
/// one server address per flow), its `n`-th segment.
fn flow_frame(i: u32, devices: u32, n: u32) -> Vec<u8> {
    let mut record = vec![23, 3, 3, 0, 95];
    record.resize(100, 0xab);
    let mut f = Vec::new();
    PacketBuilder::ethernet2(MAC_A, MAC_B)
        .ipv4(
            device(i % devices),
            [11, (i >> 16) as u8, (i >> 8) as u8, i as u8],
            64,
        )
        .tcp(40_000, 443, 1_000 + n * 100, 502)
        .ack(1)
        .psh()
        .write(&mut f, &record)
        .expect("flow frame");
    f
}

fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// Entries in the agent's pinned flow map, and its locked memory.
fn flow_map(pin_dir: &Path) -> Result<(usize, u64)> {
    let data = MapData::from_pin(pin_dir.join(maps::FLOWS))
        .map_err(|e| anyhow!("cannot open the pinned flow map: {e}"))?;
    let mem = memlock(data.fd().as_fd().as_raw_fd());
    let flows: HashMap<MapData, FlowKey, FlowState> = HashMap::try_from(Map::LruHashMap(data))?;
    Ok((flows.keys().filter(|k| k.is_ok()).count(), mem))
}

/// `flow_index` of the last verdict line the agent wrote.
fn last_flow_index(live: &Live) -> Option<u64> {
    let line = live
        .log
        .last
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    serde_json::from_slice::<serde_json::Value>(&line).ok()?["flow_index"].as_u64()
}

struct Point {
    devices: u32,
    flows: u32,
    cost: f64,
}

pub fn run(plan: &Plan, alexa: &Path, work: &Path) -> Result<Table> {
    let mut bare = Object::lab(&[BARE])?;
    let bare_fd = bare.prog_fd(BARE)?;
    let mut t = Table::new(
        "5. Growth: flows and devices",
        &[
            "devices",
            "flows created",
            "live in FLOWS",
            "evicted (created − live)",
            "flow 1's next packet: flow_index",
            "one flow: full − bare (ns)",
            "random flow: full (ns)",
            "random flow: full − bare (ns)",
            "agent RSS (peak)",
            "events lost",
        ],
    );
    t.intro = format!(
        "`alexa run --mode monitor` with 1 to 64 devices on a veth of its own namespace (as in \
         section 3). Its attached program creates N flows: one TLS record per flow, flows dealt \
         round-robin over the devices, one `BPF_PROG_TEST_RUN` each, the agent logging every \
         event. Then {} frames, each of a random one of the N flows (its next segment in sequence), one \
         `BPF_PROG_TEST_RUN` each with `repeat` = 1: the median of the kernel's time per run, cold caches included, \
         the agent consuming; *bare* is an XDP_PASS program on the same frames. *one flow*: as \
         many runs, each the next segment of the first flow, the same way: the cost of a \
         packet with the agent attached and `repeat` = 1, without the many flows. The agent \
         keeps BPF run-time statistics off (its default), as for *bare*. *live in FLOWS*: \
         entries of the agent's pinned flow map afterwards (capacity `FLOW_CAPACITY` = {}, \
         preallocated: {}). *flow 1's next packet*: the `flow_index` the agent logs for one \
         more segment of the first flow created: 2 while its state survives, 1 once the LRU \
         evicted it.",
        thousands(plan.random_frames as f64),
        thousands(FLOW_CAPACITY as f64),
        "{memlock}",
    );
    let mut points = Vec::new();
    let mut memlock_seen = 0u64;
    for &devices in plan.device_counts {
        for &flows in plan.flow_counts {
            say(format!("growth: {devices} device(s), {flows} flows"));
            let names: Vec<String> = (0..devices)
                .map(|d| std::net::Ipv4Addr::from(device(d)).to_string())
                .collect();
            let live = Live::start(
                alexa,
                &format!("g{devices}x{flows}"),
                &names,
                &["--mode", "monitor"],
            )?;
            let fd = live.fd();
            let lost0 = live.counter("ringbuf_lost")?;
            for i in 0..flows {
                test_run(fd, &flow_frame(i, devices, 0), 1)?;
            }
            let classified = live.counter("classified")?;
            let lost = live.counter("ringbuf_lost")? - lost0;
            live.wait_lines(classified - lost, Duration::from_secs(30));
            let (live_flows, mem) = flow_map(live.pin_dir())?;
            memlock_seen = mem;
            // One more segment of the first flow: continued, or started again.
            let lines = live.lines();
            test_run(fd, &flow_frame(0, devices, 1), 1)?;
            live.wait_lines(lines + 1, Duration::from_secs(5));
            let index = last_flow_index(&live);
            // Each flow's next segment in sequence (flow 0 has sent two).
            let mut next = vec![1u32; flows as usize];
            next[0] = 2;
            let mut seed = 0x9e37_79b9_7f4a_7c15u64 ^ flows as u64;
            let frames: Vec<Vec<u8>> = (0..plan.random_frames)
                .map(|_| {
                    let i = (xorshift(&mut seed) % flows as u64) as usize;
                    next[i] += 1;
                    flow_frame(i as u32, devices, next[i] - 1)
                })
                .collect();
            // Medians: one run takes about a microsecond, and one preemption
            // of this shared VM's vCPU (milliseconds) would move a mean.
            let per_run = |frames: &[Vec<u8>]| -> Result<(f64, f64)> {
                let (mut full, mut bare) = (Vec::new(), Vec::new());
                for f in frames {
                    full.push(test_run(fd, f, 1)?.1 as f64);
                    bare.push(test_run(bare_fd, f, 1)?.1 as f64);
                }
                Ok((median(&mut full), median(&mut bare)))
            };
            let (full, bare) = per_run(&frames)?;
            // The same number of runs on one flow: what `repeat` = 1 and the
            // live agent cost without the many flows.
            let one: Vec<Vec<u8>> = (0..plan.random_frames as u32)
                .map(|k| flow_frame(0, devices, next[0] + k))
                .collect();
            let (one_full, one_bare) = per_run(&one)?;
            let classified = live.counter("classified")?;
            let lost = live.counter("ringbuf_lost")? - lost0;
            live.wait_lines(classified - lost, Duration::from_secs(10));
            let (rss, peak) = live.rss_kib()?;
            points.push(Point {
                devices,
                flows,
                cost: full - bare,
            });
            t.row(vec![
                devices.to_string(),
                thousands(flows as f64),
                thousands(live_flows as f64),
                thousands(flows.saturating_sub(live_flows as u32) as f64),
                index.map_or("?".into(), |i| i.to_string()),
                format!("{:+.0}", one_full - one_bare),
                format!("{full:.0}"),
                format!("{:+.0}", full - bare),
                format!(
                    "{:.1} MiB ({:.1} MiB)",
                    rss as f64 / 1024.0,
                    peak as f64 / 1024.0
                ),
                thousands(lost as f64),
            ]);
            live.log.recording.store(false, Ordering::Release);
        }
    }
    t.intro = t.intro.replace(
        "{memlock}",
        &format!(
            "{:.1} MiB locked whatever the number of flows",
            memlock_seen as f64 / (1 << 20) as f64
        ),
    );
    let png = work.join("benchmarks-growth.png");
    plot(&png, &points).context("the growth plot")?;
    t.note(format!(
        "![cost per packet against flows created, per device count]({})",
        png.file_name().and_then(|n| n.to_str()).unwrap_or("")
    ));
    t.note(
        "*events lost*: events the ring buffer could not take while the flows were created as \
         fast as one thread can (the agent logs what it receives; these are not part of the \
         section 3 rates).",
    );
    Ok(t)
}

/// The PNG of cost against flows, one line per device count.
fn plot(path: &PathBuf, points: &[Point]) -> Result<()> {
    use plotters::prelude::*;
    alexa::offline::figures::font::register();
    let max_cost = points.iter().map(|p| p.cost).fold(0.0f64, f64::max) * 1.15 + 10.0;
    let max_flows = points.iter().map(|p| p.flows).max().unwrap_or(1000) as f64 * 2.0;
    let root = BitMapBackend::new(path, (900, 540)).into_drawing_area();
    let e = |e: &dyn std::fmt::Display| anyhow!("drawing failed: {e}");
    root.fill(&WHITE).map_err(|x| e(&x))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Kernel cost per packet (full − bare XDP_PASS) against flows",
            ("sans-serif", 22),
        )
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d((500f64..max_flows).log_scale(), 0f64..max_cost)
        .map_err(|x| e(&x))?;
    chart
        .configure_mesh()
        .x_desc("flows created (log scale); FLOWS capacity 65,536")
        .y_desc("ns per packet over bare")
        .x_label_formatter(&|v| thousands(*v))
        .y_label_formatter(&|v| format!("{v:.0}"))
        .draw()
        .map_err(|x| e(&x))?;
    let mut devices: Vec<u32> = points.iter().map(|p| p.devices).collect();
    devices.dedup();
    for (i, d) in devices.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let series: Vec<(f64, f64)> = points
            .iter()
            .filter(|p| p.devices == *d)
            .map(|p| (p.flows as f64, p.cost))
            .collect();
        chart
            .draw_series(LineSeries::new(series.clone(), color.stroke_width(2)))
            .map_err(|x| e(&x))?
            .label(format!("{d} device(s)"))
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2)));
        chart
            .draw_series(series.iter().map(|p| Circle::new(*p, 4, color.filled())))
            .map_err(|x| e(&x))?;
    }
    let cap = FLOW_CAPACITY as f64;
    chart
        .draw_series(LineSeries::new(
            [(cap, 0.0), (cap, max_cost)],
            BLACK.mix(0.4).stroke_width(1),
        ))
        .map_err(|x| e(&x))?;
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(|x| e(&x))?;
    root.present().map_err(|x| e(&x))?;
    Ok(())
}
