//! The agent's half of the classifier's paced wake-ups. The kernel wakes the
//! ring buffer's consumer at most once per [`WAKE_INTERVAL_NS`] on each CPU
//! and submits the events in between silently; after every wake-up the agent
//! therefore polls the ring once per interval until two intervals have passed
//! without another one. An event submitted without a wake-up follows its
//! CPU's last wake-up by less than an interval, so one of those polls reads it.
//!
//! The polls run on a `timerfd`: tokio's timers have a resolution of one
//! millisecond, four times the interval.
//!
//! While it polls, the agent tells the classifier until when (the `POLLING`
//! map, in `bpf_ktime_get_ns` time), and a poll that finds events extends
//! that: the classifier then wakes nobody, so a busy agent is never woken
//! (each wake-up is an `irq_work` self-IPI in the classifier). The agent
//! polls at least until the instant it announced; the kernel stops relying
//! on it `POLL_MARGIN_NS` before, so every silently submitted event is read.

use std::{
    os::fd::{AsRawFd, FromRawFd, OwnedFd},
    time::{Duration, Instant},
};

use alexa_common::maps::WAKE_INTERVAL_NS;
use anyhow::{anyhow, Context as _, Result};
use aya::maps::{Array, MapData};
use tokio::io::unix::AsyncFd;

pub struct Pacer {
    timer: AsyncFd<OwnedFd>,
    /// Polling stops at the first tick at or after this instant.
    until: Option<Instant>,
    /// Where the classifier reads until when the agent polls, and the last
    /// value written there (CLOCK_MONOTONIC ns), never later than `until`.
    polling: Option<(Array<MapData, u64>, u64)>,
}

const INTERVAL: Duration = Duration::from_nanos(WAKE_INTERVAL_NS);

impl Pacer {
    /// A pacer that announces nothing: the kernel paces its wake-ups alone.
    pub fn new() -> Result<Pacer> {
        Pacer::announcing(None)
    }

    /// A pacer that announces its polls in `polling`, the classifier's
    /// `POLLING` map.
    pub fn announcing(polling: Option<Array<MapData, u64>>) -> Result<Pacer> {
        // SAFETY: plain syscall; the descriptor is owned right below.
        let fd = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(anyhow!(
                "cannot create the ring buffer's poll timer: {}",
                std::io::Error::last_os_error()
            ));
        }
        // SAFETY: a descriptor just created and owned by nobody else.
        let owned = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: the descriptor is owned by the AsyncFd and stays open and
        // the same for as long as it is registered.
        let timer =
            unsafe { AsyncFd::register_with_interest(owned, tokio::io::Interest::READABLE) }
                .map_err(|e| anyhow!("cannot poll the ring buffer's poll timer: {e}"))?;
        Ok(Pacer {
            timer,
            until: None,
            polling: polling.map(|m| (m, 0)),
        })
    }

    /// The ring buffer woke the agent, a poll found events, or the agent
    /// started: poll it every interval for the next two.
    pub fn woken(&mut self) -> Result<()> {
        if self.until.is_none() {
            self.arm(INTERVAL)?;
        }
        // The announcement is read before the deadline is set, so it never
        // lies past the instant polling may stop.
        let announce = monotonic_ns() + 2 * WAKE_INTERVAL_NS;
        self.until = Some(Instant::now() + 2 * INTERVAL);
        if let Some((map, last)) = self.polling.as_mut() {
            // One map update per interval at most, not one per poll.
            if announce >= *last + WAKE_INTERVAL_NS {
                map.set(0, announce, 0)
                    .context("cannot update the ring buffer's polling deadline")?;
                *last = announce;
            }
        }
        Ok(())
    }

    /// Whether polls are due; [`Self::tick`] waits for one only then.
    pub fn active(&self) -> bool {
        self.until.is_some()
    }

    /// Waits for the next poll. Cancel-safe: nothing happens before the
    /// timer has fired.
    pub async fn tick(&mut self) -> Result<()> {
        let mut guard = self.timer.readable().await?;
        let mut expirations = 0u64;
        // SAFETY: reads 8 bytes into a u64 from a descriptor we own.
        let n = unsafe {
            libc::read(
                guard.get_inner().as_raw_fd(),
                &mut expirations as *mut u64 as *mut libc::c_void,
                8,
            )
        };
        guard.clear_ready();
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::WouldBlock {
                return Err(anyhow!("ring buffer poll timer: {e}"));
            }
        }
        if self.until.is_some_and(|u| Instant::now() >= u) {
            self.until = None;
            self.arm(Duration::ZERO)?;
        }
        Ok(())
    }

    /// Fires every `every`, or never for zero.
    fn arm(&self, every: Duration) -> Result<()> {
        let spec = libc::timespec {
            tv_sec: every.as_secs() as _,
            tv_nsec: every.subsec_nanos() as libc::c_long,
        };
        let value = libc::itimerspec {
            it_interval: spec,
            it_value: spec,
        };
        // SAFETY: a valid itimerspec for a timerfd we own.
        let rc = unsafe {
            libc::timerfd_settime(
                self.timer.get_ref().as_raw_fd(),
                0,
                &value,
                std::ptr::null_mut(),
            )
        };
        if rc != 0 {
            return Err(anyhow!(
                "ring buffer poll timer: {}",
                std::io::Error::last_os_error()
            ));
        }
        Ok(())
    }
}

/// CLOCK_MONOTONIC in nanoseconds, the clock of `bpf_ktime_get_ns`.
fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid timespec to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn polls_for_two_intervals_after_a_wake_up_then_stops() {
        let mut p = Pacer::new().unwrap();
        assert!(!p.active());
        p.woken().unwrap();
        let start = Instant::now();
        // How many ticks that takes depends on how late this thread runs (a
        // late tick reads several expirations at once); when polling stops
        // does not.
        while p.active() {
            tokio::time::timeout(Duration::from_secs(1), p.tick())
                .await
                .expect("the timer fires while active")
                .unwrap();
        }
        assert!(start.elapsed() >= 2 * INTERVAL);
        // Disarmed: no further tick.
        assert!(tokio::time::timeout(Duration::from_millis(5), p.tick())
            .await
            .is_err());
    }
}
