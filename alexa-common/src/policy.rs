//! Enforcement: what the kernel does with a classified packet. The per-class
//! action lives in the `POLICY` map, the mode and the quarantine rule in
//! `Config`; both sides decide with [`decide`], so the kernel's action and
//! the one tests and the agent expect are computed by the same code.

use crate::contract::{class_id, NUM_CLASSES};

/// Per-packet actions (`Event::action`, `POLICY` values).
pub mod action {
    pub const PASS: u8 = 0;
    /// Pass and mark the event.
    pub const ALERT: u8 = 1;
    pub const DROP: u8 = 2;
    pub const COUNT: usize = 3;
    pub const NAMES: [&str; COUNT] = ["pass", "alert", "drop"];
}

/// `Config::mode` values.
pub mod mode {
    /// Never drop, whatever the policy says: a drop becomes an alert.
    pub const MONITOR: u32 = 0;
    pub const ENFORCE: u32 = 1;
}

/// `Event::flags` bits.
pub mod flag {
    /// The packet's flow is quarantined: dropped (or, in monitor mode, would be) whatever its class.
    pub const QUARANTINE: u8 = 1;
    /// The policy (or a quarantine) wanted a drop that monitor mode turned into an alert.
    pub const WOULD_DROP: u8 = 2;
    /// This packet's `not_justified` verdict put its flow into quarantine.
    pub const QUARANTINE_START: u8 = 4;
    /// The event carries the first bytes of the frame (`Event::snap`).
    pub const SNAP: u8 = 8;
}

/// The class whose packets count towards a flow's quarantine.
pub const QUARANTINE_CLASS: u8 = crate::contract::class::NOT_JUSTIFIED;

/// The enforce policy the agent starts with: drop `not_justified`, alert
/// `justified`, pass the rest.
pub fn default_policy() -> [u8; NUM_CLASSES] {
    let mut p = [action::PASS; NUM_CLASSES];
    if let Some(id) = class_id("not_justified") {
        p[id as usize] = action::DROP;
    }
    if let Some(id) = class_id("justified") {
        p[id as usize] = action::ALERT;
    }
    p
}

/// A flow's quarantine record (the `QUARANTINE` LRU map, keyed by `FlowKey`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Quarantine {
    /// Start of the current counting window (monotonic ns).
    pub window_start_ns: u64,
    /// The flow is quarantined until then (monotonic ns); 0: never was.
    pub until_ns: u64,
    /// `not_justified` packets in the current window.
    pub count: u32,
    pub _pad: u32,
}

/// The quarantine rule's settings, from `Config`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QuarantineRule {
    /// K: packets within the window that start a quarantine; 0 disables it.
    pub packets: u32,
    /// T: the counting window.
    pub window_ns: u64,
    /// Q: how long a quarantine lasts.
    pub hold_ns: u64,
}

/// Result of [`decide`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Decision {
    pub action: u8,
    pub flags: u8,
    /// The flow's quarantine record changed and must be stored.
    pub store: bool,
}

/// What to do with a packet of class `class` (or `CLASS_NONE`), whose flow
/// has quarantine record `q` (updated in place), at `now_ns`.
#[inline(always)]
pub fn decide(
    policy_action: u8,
    is_quarantine_class: bool,
    q: &mut Quarantine,
    rule: &QuarantineRule,
    mode: u32,
    now_ns: u64,
) -> Decision {
    let mut d = Decision {
        action: known_action(policy_action),
        flags: 0,
        store: false,
    };
    if is_quarantine_class && rule.packets > 0 && q.until_ns <= now_ns {
        if q.count == 0 || now_ns.saturating_sub(q.window_start_ns) > rule.window_ns {
            q.window_start_ns = now_ns;
            q.count = 0;
        }
        q.count += 1;
        if q.count >= rule.packets {
            q.until_ns = now_ns.saturating_add(rule.hold_ns);
            q.count = 0;
            d.flags |= flag::QUARANTINE_START;
        }
        d.store = true;
    }
    if q.until_ns > now_ns {
        d.flags |= flag::QUARANTINE;
        d.action = action::DROP;
    }
    apply_mode(d, mode)
}

/// [`decide`] for a packet that does not count towards a quarantine, of a
/// flow without a quarantine record: the policy and the mode alone. The same
/// decision without building an empty record (which the BPF target would
/// zero through a byte-loop `memset` call on every packet).
#[inline(always)]
pub fn decide_unquarantined(policy_action: u8, mode: u32) -> Decision {
    apply_mode(
        Decision {
            action: known_action(policy_action),
            flags: 0,
            store: false,
        },
        mode,
    )
}

/// An unknown action passes.
#[inline(always)]
fn known_action(a: u8) -> u8 {
    if a <= action::DROP {
        a
    } else {
        action::PASS
    }
}

/// Monitor mode never drops: what would be dropped is alerted and marked.
#[inline(always)]
fn apply_mode(mut d: Decision, mode: u32) -> Decision {
    if d.action == action::DROP && mode != mode::ENFORCE {
        d.action = action::ALERT;
        d.flags |= flag::WOULD_DROP;
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: QuarantineRule = QuarantineRule {
        packets: 3,
        window_ns: 1_000,
        hold_ns: 10_000,
    };

    #[test]
    fn unquarantined_decisions_equal_decide_with_an_empty_record() {
        for a in 0..=u8::MAX {
            for m in [mode::MONITOR, mode::ENFORCE, 7] {
                let mut q = Quarantine::default();
                assert_eq!(
                    decide_unquarantined(a, m),
                    decide(a, false, &mut q, &RULE, m, 12_345),
                    "action {a}, mode {m}"
                );
                assert_eq!(q, Quarantine::default());
            }
        }
    }

    #[test]
    fn quarantine_starts_after_k_within_t_and_ends_after_q() {
        let mut q = Quarantine::default();
        let nj = |q: &mut Quarantine, t| decide(action::DROP, true, q, &RULE, mode::ENFORCE, t);
        assert_eq!(nj(&mut q, 100).flags, 0);
        assert_eq!(nj(&mut q, 200).flags, 0);
        let third = nj(&mut q, 300);
        assert_eq!(third.flags, flag::QUARANTINE_START | flag::QUARANTINE);
        // Any class of the flow is dropped while quarantined.
        let other = decide(action::PASS, false, &mut q, &RULE, mode::ENFORCE, 5_000);
        assert_eq!(other.action, action::DROP);
        assert_eq!(other.flags, flag::QUARANTINE);
        // Released after Q.
        let after = decide(action::PASS, false, &mut q, &RULE, mode::ENFORCE, 10_301);
        assert_eq!(after.action, action::PASS);
        assert_eq!(after.flags, 0);
    }

    #[test]
    fn slow_leaks_outside_the_window_do_not_quarantine() {
        let mut q = Quarantine::default();
        for i in 0..10 {
            let d = decide(action::DROP, true, &mut q, &RULE, mode::ENFORCE, i * 600);
            assert_eq!(d.flags & flag::QUARANTINE, 0, "packet {i}");
            assert_eq!(d.action, action::DROP);
        }
    }

    #[test]
    fn monitor_mode_never_drops() {
        let mut q = Quarantine::default();
        for t in 0..5 {
            let d = decide(action::DROP, true, &mut q, &RULE, mode::MONITOR, t);
            assert_eq!(d.action, action::ALERT);
            assert_ne!(d.flags & flag::WOULD_DROP, 0);
        }
    }

    #[test]
    fn out_of_range_policy_values_pass() {
        let mut q = Quarantine::default();
        let d = decide(7, false, &mut q, &RULE, mode::ENFORCE, 0);
        assert_eq!(d.action, action::PASS);
    }

    #[test]
    fn default_policy_is_the_documented_one() {
        let p = default_policy();
        for (i, name) in crate::contract::CLASS_NAMES.iter().enumerate() {
            let want = match *name {
                "not_justified" => action::DROP,
                "justified" => action::ALERT,
                _ => action::PASS,
            };
            assert_eq!(p[i], want, "{name}");
        }
    }
}
