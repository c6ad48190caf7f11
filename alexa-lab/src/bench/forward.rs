//! Section 2: forwarding through a gateway namespace. A sender of the
//! project's (AF_PACKET, `sendmmsg`, qdisc bypassed) in namespace `echo`
//! blasts UDP from the device's address through veths into `gw`, which
//! routes it to `cloud`, where an XDP program drops it on arrival. The rate
//! is what `gw` transmits on its WAN veth; the setups differ only in what is
//! attached to `gw`'s LAN veth.

use std::{
    net::Ipv4Addr,
    path::Path,
    process::{Command, Stdio},
    time::Duration,
};

use alexa_common::maps::PROGRAM_NAME;
use anyhow::{bail, Result};

use super::{
    frames::blast_frame,
    kernel::{with_drain_polling, Drain, Object, BARE, SINK},
    median, say, thousands, verdict, Plan, Table,
};
use crate::{
    agent::{wait_for, Running},
    blast::{blast, mac, BATCH},
    netns::{veth_pair, Netns},
};

const DEVICE: Ipv4Addr = Ipv4Addr::new(10, 201, 0, 2);
const CLOUD: Ipv4Addr = Ipv4Addr::new(10, 202, 0, 2);
/// Another LAN host behind the same veth, not monitored.
const OTHER_HOST: Ipv4Addr = Ipv4Addr::new(10, 201, 0, 3);
/// Distinct flows in the blast (source ports).
const FLOWS: u16 = 64;

struct Topology {
    echo: Netns,
    gw: Netns,
    cloud: Netns,
}

impl Topology {
    fn new() -> Result<Topology> {
        let echo = Netns::new("bench-echo");
        let gw = Netns::new("bench-gw");
        let cloud = Netns::new("bench-cloud");
        for ns in [&echo, &gw, &cloud] {
            // No router solicitations or MLD reports in the counters.
            ns.exec(
                "sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1",
            );
        }
        veth_pair(
            &echo,
            "be0",
            &["10.201.0.2/24"],
            &gw,
            "bl0",
            &["10.201.0.1/24"],
        );
        veth_pair(
            &gw,
            "bw0",
            &["10.202.0.1/24"],
            &cloud,
            "bc0",
            &["10.202.0.2/24"],
        );
        gw.exec("sysctl -qw net.ipv4.ip_forward=1");
        let cloud_mac = mac(&cloud, "bc0")?;
        let m = cloud_mac.map(|b| format!("{b:02x}")).join(":");
        gw.exec(&format!(
            "ip neigh replace {CLOUD} lladdr {m} dev bw0 nud permanent"
        ));
        Ok(Topology { echo, gw, cloud })
    }
}

/// (rx packets, tx packets, rx dropped, tx dropped) of an interface.
fn link_stats(ns: &Netns, iface: &str) -> Result<[u64; 4]> {
    let out = ns.exec(&format!("ip -s -j link show dev {iface}"));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let s = &v[0]["stats64"];
    let n = |dir: &str, what: &str| s[dir][what].as_u64().unwrap_or(0);
    Ok([
        n("rx", "packets"),
        n("tx", "packets"),
        n("rx", "dropped"),
        n("tx", "dropped"),
    ])
}

/// User plus system CPU time of a process, in clock ticks (`/proc/PID/stat`).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces): utime and
    // stime are the 12th and 13th.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0)
}

fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_CLK_TCK) as f64 }
}

/// What is attached to the gateway's LAN veth.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Setup {
    NoXdp,
    Bare,
    /// A program of the object attached by the bench, its events drained
    /// by the bench without formatting: the program's cost without the
    /// agent process.
    Program(&'static str, Drain),
    /// [`Setup::Program`] with BPF run-time statistics on, as `alexa run`
    /// turns them on (two clock reads around every program run).
    ProgramStats(&'static str),
    Agent(&'static str),
    /// `alexa run` watching the device while the blast comes from another
    /// host of the LAN: every packet takes the classifier's fast path.
    AgentOther(&'static str),
}

struct Measured {
    forwarded: f64,
    sent: f64,
    agent: Option<String>,
}

fn measure(
    topo: &Topology,
    setup: Setup,
    alexa: &Path,
    frames: &[Vec<u8>],
    secs: f64,
    scratch: &Path,
) -> Result<Measured> {
    // Whatever the bench attached itself; detached when dropped.
    let mut attached = None;
    let mut ring = None;
    let mut consumer = Drain::Batched;
    let mut agent = None;
    let stderr_path = scratch.join("agent.stderr");
    let pin_dir =
        std::path::PathBuf::from(format!("/sys/fs/bpf/alexa-bench-{}", std::process::id()));
    let socket = scratch.join("agent.sock");
    match setup {
        Setup::NoXdp => {}
        Setup::Bare => {
            let mut obj = Object::lab(&[BARE])?;
            {
                let _inside = topo.gw.enter();
                obj.attach(BARE, "bl0")?;
            }
            attached = Some(obj);
        }
        Setup::Program(program, _) | Setup::ProgramStats(program) => {
            let drain = match setup {
                Setup::Program(_, d) => d,
                _ => Drain::Batched,
            };
            let mut obj = Object::load(None, &[program])?;
            obj.add_device(0, DEVICE.into())?;
            obj.load_model(&alexa::offline::model::load(Path::new(
                super::kernel::MODEL,
            ))?)?;
            ring = Some((obj.take_events()?, obj.take_polling()?));
            {
                let _inside = topo.gw.enter();
                obj.attach(program, "bl0")?;
            }
            consumer = drain;
            attached = Some(obj);
        }
        Setup::Agent(mode) | Setup::AgentOther(mode) => {
            // Pins and control socket of the bench's own (another agent may
            // run on this machine), and removed after each run: an agent
            // leaves its classifier attached, and a later agent would adopt
            // it with its settings (the mode among them).
            let _ = std::fs::remove_file(&socket);
            let mut cmd = Command::new("ip");
            cmd.args(["netns", "exec", &topo.gw.name])
                .arg(alexa)
                .args(["run", "--iface", "bl0", "--device", &DEVICE.to_string()])
                .args(["--model", super::kernel::MODEL, "--log", "/dev/null"])
                .arg("--pin-dir")
                .arg(&pin_dir)
                .arg("--control-socket")
                .arg(&socket)
                .args(["--metrics-addr", "none", "--api-addr", "none"]);
            cmd.args(["--mode", mode]);
            cmd.stdout(Stdio::null())
                .stderr(std::fs::File::create(&stderr_path)?);
            agent = Some(Running::spawn(&mut cmd));
            let attached = wait_for(Duration::from_secs(20), || {
                String::from_utf8_lossy(&topo.gw.exec("ip -j link show dev bl0").stdout)
                    .contains("\"xdp\"")
            });
            if !attached {
                bail!(
                    "alexa run did not attach: {}",
                    std::fs::read_to_string(&stderr_path).unwrap_or_default()
                );
            }
        }
    }
    // Held for the blast only: statistics are global, other jobs see them.
    let stats = if matches!(setup, Setup::ProgramStats(_)) {
        Some(
            aya::sys::enable_stats(aya::sys::Stats::RunTime)
                .map_err(|e| anyhow::anyhow!("cannot enable BPF run-time statistics: {e}"))?,
        )
    } else {
        None
    };
    std::thread::sleep(Duration::from_millis(300));
    let agent_pid = agent.as_ref().map(|a| a.child.id());
    let cpu_before = agent_pid.map(cpu_ticks);
    let before = link_stats(&topo.gw, "bw0")?;
    let sent = match ring.as_mut() {
        Some((r, p)) => {
            with_drain_polling(r, Some(p), consumer, || {
                blast(&topo.echo, "be0", frames, secs)
            })
            .0?
        }
        None => blast(&topo.echo, "be0", frames, secs)?,
    };
    let cpu_after = agent_pid.map(cpu_ticks);
    drop(stats);
    std::thread::sleep(Duration::from_millis(200));
    let after = link_stats(&topo.gw, "bw0")?;
    let mut summary = None;
    let agent_cpu = match (cpu_before, cpu_after) {
        (Some(b), Some(a)) => Some((a - b) as f64 / clock_ticks() / secs),
        _ => None,
    };
    if let Some(mut a) = agent {
        a.terminate(Duration::from_secs(10));
        let out = Command::new(alexa)
            .arg("detach")
            .arg("--pin-dir")
            .arg(&pin_dir)
            .arg("--control-socket")
            .arg(&socket)
            .output()?;
        if !out.status.success() {
            bail!(
                "alexa detach --pin-dir {} failed: {}",
                pin_dir.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        if String::from_utf8_lossy(&topo.gw.exec("ip -j link show dev bl0").stdout)
            .contains("\"xdp\"")
        {
            bail!("bl0 still has an XDP program after alexa detach");
        }
        let text = std::fs::read_to_string(&stderr_path).unwrap_or_default();
        let field = |k: &str| {
            text.split_whitespace()
                .find_map(|w| w.strip_prefix(&format!("{k}=")))
                .unwrap_or("?")
                .trim_end_matches(',')
                .to_owned()
        };
        summary = Some(format!(
            "classified {}, ringbuf_lost {}, agent CPU {:.0} % of one CPU during the blast",
            field("classified"),
            field("ringbuf_lost"),
            agent_cpu.unwrap_or(f64::NAN) * 100.0
        ));
    }
    drop(attached);
    Ok(Measured {
        forwarded: (after[1] - before[1]) as f64 / secs,
        sent: sent as f64 / secs,
        agent: summary,
    })
}

pub fn run(plan: &Plan, alexa: &Path, scratch: &Path) -> Result<Table> {
    let topo = Topology::new()?;
    // Keeps the receiving namespace's own cost to the minimum the stack allows.
    let mut sink = Object::lab(&[SINK])?;
    {
        let _inside = topo.cloud.enter();
        sink.attach(SINK, "bc0")?;
    }
    let echo_mac = mac(&topo.echo, "be0")?;
    let gw_mac = mac(&topo.gw, "bl0")?;
    let frames: Vec<Vec<u8>> = (0..FLOWS)
        .map(|i| blast_frame(echo_mac, gw_mac, DEVICE, CLOUD, 10_000 + i))
        .collect();
    let other_frames: Vec<Vec<u8>> = (0..FLOWS)
        .map(|i| blast_frame(echo_mac, gw_mac, OTHER_HOST, CLOUD, 10_000 + i))
        .collect();
    let setups = [
        Setup::NoXdp,
        Setup::Bare,
        Setup::Program(PROGRAM_NAME, Drain::Batched),
        Setup::Program(PROGRAM_NAME, Drain::BatchedWoken),
        Setup::Program(PROGRAM_NAME, Drain::CaughtUp),
        Setup::ProgramStats(PROGRAM_NAME),
        Setup::Agent("monitor"),
        Setup::Agent("enforce"),
        Setup::AgentOther("monitor"),
    ];
    // ALEXA_BENCH_FORWARD=no-xdp,bare,classifier,classifier-woken,classifier-caught-up,classifier-stats,
    // monitor,enforce,monitor-other
    // picks setups (for profiling).
    let only = std::env::var("ALEXA_BENCH_FORWARD").ok();
    let picked = |s: &Setup| {
        let name = match s {
            Setup::NoXdp => "no-xdp",
            Setup::Bare => "bare",
            Setup::Program(_, Drain::Batched) => "classifier",
            Setup::Program(_, Drain::BatchedWoken) => "classifier-woken",
            Setup::ProgramStats(_) => "classifier-stats",
            Setup::Program(..) => "classifier-caught-up",
            Setup::Agent(m) => m,
            Setup::AgentOther(_) => "monitor-other",
        };
        only.as_deref()
            .is_none_or(|o| o.split(',').any(|x| x == name))
    };
    let mut results: Vec<Vec<Measured>> = setups.iter().map(|_| Vec::new()).collect();
    for round in 0..plan.forward_rounds {
        for (i, setup) in setups.iter().enumerate() {
            if !picked(setup) {
                continue;
            }
            say(format!(
                "forwarding, round {}/{}: {setup:?}",
                round + 1,
                plan.forward_rounds
            ));
            results[i].push(measure(
                &topo,
                *setup,
                alexa,
                if matches!(setup, Setup::AgentOther(_)) {
                    &other_frames
                } else {
                    &frames
                },
                plan.forward_secs,
                scratch,
            )?);
        }
    }
    let mut t = Table::new(
        "2. Forwarding through the gateway namespace",
        &[
            "on the gateway's LAN veth",
            "forwarded (packets/s)",
            "vs no XDP",
            "vs XDP_PASS only",
            "offered by the sender (packets/s)",
            "agent counters (last run)",
            "target",
            "",
        ],
    );
    t.intro = format!(
        "Namespaces `echo` → `gw` → `cloud` joined by veths; the project's AF_PACKET sender \
         (`sendmmsg`, {BATCH} frames per call, qdisc bypassed) blasts 60-byte UDP frames of {FLOWS} \
         flows from the device's address for {} s; `gw` routes them (ip_forward) to `cloud`, whose \
         veth drops them in XDP. Rate = packets `gw` transmitted on its WAN veth per second, median \
         of {} runs. `alexa run` watches the device with the shipped model and logs to `/dev/null`; \
         XDP attaches in driver mode (veth's native XDP) in every XDP row.",
        plan.forward_secs,
        plan.forward_rounds
    );
    let mut base = f64::NAN;
    let mut bare = f64::NAN;
    for (i, setup) in setups.iter().enumerate() {
        let mut fwd: Vec<f64> = results[i].iter().map(|m| m.forwarded).collect();
        let mut sent: Vec<f64> = results[i].iter().map(|m| m.sent).collect();
        let label = match setup {
            Setup::NoXdp => "no XDP program".to_owned(),
            Setup::Bare => "XDP_PASS only (`alexa_bare`)".to_owned(),
            Setup::Program(p, Drain::Batched) => {
                format!("`{p}` + shipped model, the bench drains events every 1 ms and announces its polls (no agent)")
            }
            Setup::Program(p, Drain::BatchedWoken) => format!(
                "`{p}` + shipped model, the bench drains events every 1 ms without announcing its polls (no agent)"
            ),
            Setup::ProgramStats(p) => format!(
                "`{p}` + shipped model, drained and announced as above, BPF run-time statistics on (as `alexa run` turns them on; no agent)"
            ),
            Setup::Program(p, Drain::CaughtUp) => format!(
                "`{p}` + shipped model, the bench spins on the ring (no agent; consumer always caught up)"
            ),
            Setup::Agent(m) => format!("`alexa run --mode {m}`"),
            Setup::AgentOther(m) => format!(
                "`alexa run --mode {m}`, the blast from a non-device host (fast path)"
            ),
        };
        if fwd.is_empty() {
            continue;
        }
        let f = median(&mut fwd);
        if *setup == Setup::NoXdp {
            base = f;
        }
        if *setup == Setup::Bare {
            bare = f;
        }
        let ratio = f / base;
        // The target isolates our cost: against the bare program attached
        // the same way (veth's XDP path alone costs 10-15 %).
        let vs_bare = f / bare;
        let is_agent = matches!(setup, Setup::Agent(_) | Setup::AgentOther(_));
        t.row(vec![
            label,
            thousands(f),
            format!("{:.1} %", ratio * 100.0),
            format!("{:.1} %", vs_bare * 100.0),
            thousands(median(&mut sent)),
            results[i]
                .last()
                .and_then(|m| m.agent.clone())
                .unwrap_or_default(),
            if is_agent {
                "≥ 95 % of XDP_PASS only".into()
            } else {
                String::new()
            },
            if is_agent {
                verdict(vs_bare >= 0.95)
            } else {
                String::new()
            },
        ]);
    }
    drop(sink);
    Ok(t)
}
