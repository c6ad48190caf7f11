//! The event loop's work: draining the ring buffer in batches into the log,
//! the evidence capture and the agent's tallies.

use super::state::class_label;
use super::*;

/// Where events go: the log, the evidence capture, the agent's tallies.
pub(super) struct Sink<'a> {
    pub(super) log: &'a mut log::VerdictLog,
    pub(super) evidence: Option<evidence::EvidenceFiles>,
    pub(super) meta: LineMeta,
    pub(super) log_acks: u32,
    pub(super) acks_seen: u64,
    pub(super) bad_items: u64,
}

/// Events handled per [`drain`] before the agent's other tasks get a turn:
/// a few milliseconds of work.
pub(super) const DRAIN_BATCH: u64 = 8192;

/// Handles up to [`DRAIN_BATCH`] queued events; returns whether more may
/// wait, and whether there was any.
pub(super) fn drain(
    events: &mut aya::maps::RingBuf<aya::maps::MapData>,
    sink: &mut Sink<'_>,
    agent: &Agent,
) -> Result<(bool, bool)> {
    let mut received = 0u64;
    let mut taken = 0u64;
    let mut recent = std::collections::VecDeque::with_capacity(RECENT_MAX);
    let mut per_device = [0u64; alexa_common::maps::DEVICE_CAPACITY as usize];
    let mut line = Vec::with_capacity(512);
    sink.meta.reanchor_if_due();
    while taken < DRAIN_BATCH {
        let Some(item) = events.next() else {
            break;
        };
        taken += 1;
        let Some(ev) = decode_event(&item) else {
            sink.bad_items += 1;
            continue;
        };
        drop(item);
        received += 1;
        if let Some(n) = per_device.get_mut(ev.device as usize) {
            *n += 1;
        }
        let sampled_out = ev.class == Class::Ack as u8 && {
            sink.acks_seen += 1;
            !(sink.acks_seen - 1).is_multiple_of(sink.log_acks as u64)
        };
        if !sampled_out {
            line.clear();
            log_line(&ev, &sink.meta, &mut line)?;
            sink.log.line(&line)?;
        }
        if ev.action() != Action::Pass {
            // Only the newest are kept; they are formatted once, below.
            if recent.len() == RECENT_MAX {
                recent.pop_front();
            }
            recent.push_back(ev);
        }
        if ev.flags & flag::SNAP != 0 {
            if let Some(e) = sink.evidence.as_mut() {
                let comment = format!(
                    "alexa: class={} action={}{} model={:08x} {}:{} -> {}:{}",
                    class_label(ev.class),
                    ev.action(),
                    if ev.flags & flag::QUARANTINE != 0 {
                        " quarantine"
                    } else {
                        ""
                    },
                    ev.model_version,
                    ip_from_mapped(ev.src),
                    ev.features.srcport,
                    ip_from_mapped(ev.dst),
                    ev.features.dstport,
                );
                e.write(&ev, sink.meta.clock.wall_ns(ev.ts_ns), comment)?;
            }
        }
    }
    if received > 0 {
        sink.log.flush()?;
        if let Some(e) = sink.evidence.as_mut() {
            e.flush()?;
        }
        let mut info = agent.info();
        info.events_received += received;
        let now = Instant::now();
        let mut back = Vec::new();
        for (d, n) in info.seen.iter_mut().zip(per_device) {
            if n > 0 {
                d.packets += n;
                d.last = Some(now);
                if std::mem::take(&mut d.silent) {
                    back.push(format!(
                        "device {} ({}) is sending again",
                        d.name, d.address
                    ));
                }
            }
        }
        for ev in recent {
            let r = RecentVerdict {
                ts:
                    chrono::DateTime::from_timestamp_nanos(sink.meta.clock.wall_ns(ev.ts_ns) as i64)
                        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                class: class_label(ev.class).to_owned(),
                action: ev.action().name().to_owned(),
                src: ip_from_mapped(ev.src).to_string(),
                dst: ip_from_mapped(ev.dst).to_string(),
                dstport: ev.features.dstport,
                length: ev.features.length,
                quarantine: ev.flags & flag::QUARANTINE != 0,
            };
            if info.recent.len() == RECENT_MAX {
                info.recent.pop_front();
            }
            info.recent.push_back(r);
        }
        drop(info);
        for n in back {
            agent.note(n);
        }
    }
    Ok((taken == DRAIN_BATCH, taken > 0))
}

/// Reads the ring buffer until SIGTERM or SIGINT: woken by the kernel, or
/// polling on its own while events keep coming (`pacer`); then what the
/// ring still holds. Returns how many items had the wrong size.
pub(super) async fn serve(
    agent: &Arc<Agent>,
    ring: aya::maps::RingBuf<aya::maps::MapData>,
    polling: aya::maps::Array<aya::maps::MapData, u64>,
    opts: &RunOptions,
    log: &mut log::VerdictLog,
) -> Result<u64> {
    // SAFETY: the ring buffer owns its map fd, which stays open and the same
    // for as long as the AsyncFd owns the ring buffer.
    let mut ring = unsafe { AsyncFd::register_with_interest(ring, tokio::io::Interest::READABLE) }
        .map_err(|e| anyhow::anyhow!("cannot poll the ring buffer: {e}"))?;
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut sink = Sink {
        log,
        evidence: opts.evidence.clone().map(|p| {
            evidence::EvidenceFiles::new(
                p,
                opts.iface.clone(),
                opts.evidence_max_bytes,
                opts.evidence_keep,
            )
        }),
        meta: LineMeta::new(
            &opts.iface,
            opts.devices.iter().map(|d| d.name.clone()).collect(),
        ),
        log_acks: opts.log_acks,
        acks_seen: 0,
        bad_items: 0,
    };
    let mut pacer = pacer::Pacer::announcing(Some(polling))?;
    let mut silence_check = tokio::time::interval(std::time::Duration::from_secs(5));
    // Events queued while no agent ran come first; the kernel may have woken
    // nobody for the last of them.
    let (mut more, _) = drain(ring.get_mut(), &mut sink, agent)?;
    pacer.woken()?;
    loop {
        if more {
            // A flood outruns the drain: the control socket, the HTTP
            // servers and the signals get their turn between batches. The
            // ring stays readable throughout, so the select below alone
            // would go on draining and never hand the thread over.
            tokio::task::yield_now().await;
        }
        tokio::select! {
            _ = sigint.recv() => break,
            _ = sigterm.recv() => break,
            guard = ring.readable_mut() => {
                let mut guard = guard?;
                (more, _) = drain(guard.get_inner_mut(), &mut sink, agent)?;
                guard.clear_ready();
                pacer.woken()?;
            }
            _ = silence_check.tick() => agent.check_silence(),
            tick = pacer.tick(), if pacer.active() => {
                tick?;
                let found;
                (more, found) = drain(ring.get_mut(), &mut sink, agent)?;
                // Events keep coming: keep polling, and keep the kernel
                // from waking the agent meanwhile (`pacer`).
                if found && pacer.active() {
                    pacer.woken()?;
                }
            }
            _ = std::future::ready(()), if more => {
                (more, _) = drain(ring.get_mut(), &mut sink, agent)?;
            }
        }
    }
    let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Stopping]);
    // What the ring held when the agent was asked to stop (43,700 events at
    // most), not a flood that never ends.
    let whole_ring = alexa_common::maps::RINGBUF_BYTES as u64
        / (alexa_common::event::EVENT_HEAD_SIZE as u64 + 8);
    for _ in 0..whole_ring.div_ceil(DRAIN_BATCH) {
        if !drain(ring.get_mut(), &mut sink, agent)?.0 {
            break;
        }
    }
    if let Some(e) = sink.evidence.as_mut() {
        e.flush()?;
    }
    Ok(sink.bad_items)
}
