//! Wall-clock time for the kernel's monotonic stamps, re-anchored by the
//! caller (NTP may step the clock after boot on a gateway without an RTC).

use alexa_common::{Event, CLASS_NONE};

use crate::offline::row::Row;

/// Turns kernel monotonic timestamps into wall-clock ones.
#[derive(Clone, Copy)]
pub struct WallClock {
    offset_ns: i128,
}

impl WallClock {
    pub fn now() -> Self {
        let read = |clock| {
            let mut ts = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            // SAFETY: a valid timespec to fill.
            unsafe { libc::clock_gettime(clock, &mut ts) };
            ts.tv_sec as i128 * 1_000_000_000 + ts.tv_nsec as i128
        };
        let mono = read(libc::CLOCK_MONOTONIC);
        let real = read(libc::CLOCK_REALTIME);
        WallClock {
            offset_ns: real - mono,
        }
    }

    pub fn wall_ns(&self, mono_ns: u64) -> u64 {
        (mono_ns as i128 + self.offset_ns).max(0) as u64
    }
}

pub fn event_row(ev: &Event, clock: &WallClock) -> Row {
    Row {
        ts_ns: clock.wall_ns(ev.ts_ns),
        src: ev.src,
        dst: ev.dst,
        features: ev.features,
        class: (ev.class != CLASS_NONE).then_some(ev.class),
        model: ev.model_version,
    }
}
