//! Enforcement: what the kernel does with a classified packet. The per-class
//! action lives in the `POLICY` map, the mode and the quarantine rule in
//! `Config`; both sides decide with [`decide`], so the kernel's action and
//! the one tests and the agent expect are computed by the same code.
//!
//! [`decide`] takes and gives the numbers the maps and events hold (a
//! `POLICY` value, `Config::mode`, `EventHead::action`), not [`Action`] and
//! [`Mode`]: with the enums in the kernel's per-packet path LLVM laid the
//! code out so that the verifier's state pruning worked less well, and it
//! processed 304,000 instructions instead of 226,000 (docs/building.md).

use crate::contract::{named_enum, Class};

named_enum! {
    /// What happens to a packet (`EventHead::action`, the `POLICY` map's
    /// values, as numbers).
    pub enum Action: "action" {
        Pass = "pass",
        /// Pass and mark the event.
        Alert = "alert",
        Drop = "drop",
    }
}

named_enum! {
    /// Whether the policy's drops happen (`Config::mode`, as a number).
    pub enum Mode: "mode" {
        /// Never drop, whatever the policy says: a drop becomes an alert.
        Monitor = "monitor",
        Enforce = "enforce",
    }
}

impl Action {
    /// The action a `POLICY` map value stands for: a number that is no
    /// action passes (fail open).
    #[inline(always)]
    pub const fn from_map(value: u8) -> Action {
        match value {
            1 => Action::Alert,
            2 => Action::Drop,
            _ => Action::Pass,
        }
    }
}

impl Mode {
    /// The mode a `Config::mode` value stands for: anything but enforce's
    /// number monitors (a drop needs an explicit enforce).
    #[inline(always)]
    pub const fn from_config(value: u32) -> Mode {
        if value == Mode::Enforce as u32 {
            Mode::Enforce
        } else {
            Mode::Monitor
        }
    }
}

impl Default for Action {
    /// What an unknown or missing policy value means.
    fn default() -> Action {
        Action::Pass
    }
}

/// An action per class, indexed by class id: the `POLICY` map's content.
pub type Policy = [Action; Class::COUNT];

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
pub const QUARANTINE_CLASS: Class = Class::NotJustified;

/// The enforce policy the agent starts with: drop `not_justified`, alert
/// `justified`, pass the rest.
pub const fn default_policy() -> Policy {
    let mut p = [Action::Pass; Class::COUNT];
    p[Class::NotJustified as usize] = Action::Drop;
    p[Class::Justified as usize] = Action::Alert;
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
    /// [`Action`] number, as the event carries it ([`Decision::action`]).
    pub action: u8,
    pub flags: u8,
    /// The flow's quarantine record changed and must be stored.
    pub store: bool,
}

impl Decision {
    pub fn action(&self) -> Action {
        Action::from_map(self.action)
    }
}

/// What to do with a packet whose class the policy gives `policy_action` (a
/// `POLICY` map value; `Action::Pass` for an unclassified packet), whose flow
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
        action: Action::from_map(policy_action) as u8,
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
        d.action = Action::Drop as u8;
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
            action: Action::from_map(policy_action) as u8,
            flags: 0,
            store: false,
        },
        mode,
    )
}

/// Monitor mode never drops: what would be dropped is alerted and marked.
#[inline(always)]
fn apply_mode(mut d: Decision, mode: u32) -> Decision {
    if d.action == Action::Drop as u8 && mode != Mode::Enforce as u32 {
        d.action = Action::Alert as u8;
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
            // Config::mode numbers: monitor, enforce, and one that is neither.
            for m in [0, 1, 7] {
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
        let nj = |q: &mut Quarantine, t| {
            decide(Action::Drop as u8, true, q, &RULE, Mode::Enforce as u32, t)
        };
        assert_eq!(nj(&mut q, 100).flags, 0);
        assert_eq!(nj(&mut q, 200).flags, 0);
        let third = nj(&mut q, 300);
        assert_eq!(third.flags, flag::QUARANTINE_START | flag::QUARANTINE);
        // Any class of the flow is dropped while quarantined.
        let other = decide(
            Action::Pass as u8,
            false,
            &mut q,
            &RULE,
            Mode::Enforce as u32,
            5_000,
        );
        assert_eq!(other.action(), Action::Drop);
        assert_eq!(other.flags, flag::QUARANTINE);
        // Released after Q.
        let after = decide(
            Action::Pass as u8,
            false,
            &mut q,
            &RULE,
            Mode::Enforce as u32,
            10_301,
        );
        assert_eq!(after.action(), Action::Pass);
        assert_eq!(after.flags, 0);
    }

    #[test]
    fn slow_leaks_outside_the_window_do_not_quarantine() {
        let mut q = Quarantine::default();
        for i in 0..10 {
            let d = decide(
                Action::Drop as u8,
                true,
                &mut q,
                &RULE,
                Mode::Enforce as u32,
                i * 600,
            );
            assert_eq!(d.flags & flag::QUARANTINE, 0, "packet {i}");
            assert_eq!(d.action(), Action::Drop);
        }
    }

    #[test]
    fn monitor_mode_never_drops() {
        let mut q = Quarantine::default();
        for t in 0..5 {
            let d = decide(
                Action::Drop as u8,
                true,
                &mut q,
                &RULE,
                Mode::Monitor as u32,
                t,
            );
            assert_eq!(d.action(), Action::Alert);
            assert_ne!(d.flags & flag::WOULD_DROP, 0);
        }
    }

    #[test]
    fn out_of_range_policy_values_pass() {
        let mut q = Quarantine::default();
        let d = decide(7, false, &mut q, &RULE, Mode::Enforce as u32, 0);
        assert_eq!(d.action(), Action::Pass);
    }

    #[test]
    fn default_policy_is_the_documented_one() {
        let p = default_policy();
        for c in Class::ALL {
            let want = match c.name() {
                "not_justified" => Action::Drop,
                "justified" => Action::Alert,
                _ => Action::Pass,
            };
            assert_eq!(p[c as usize], want, "{c}");
        }
    }

    #[test]
    fn map_and_config_numbers_fail_open() {
        for v in 0..=u8::MAX {
            let want = Action::from_u8(v).unwrap_or(Action::Pass);
            assert_eq!(Action::from_map(v), want, "{v}");
        }
        assert_eq!(Mode::from_config(0), Mode::Monitor);
        assert_eq!(Mode::from_config(1), Mode::Enforce);
        assert_eq!(Mode::from_config(7), Mode::Monitor);
        assert_eq!(Action::NAMES, ["pass", "alert", "drop"]);
    }

    #[test]
    fn quarantine_record_has_no_hidden_padding() {
        assert_eq!(core::mem::size_of::<Quarantine>(), 24);
    }
}
