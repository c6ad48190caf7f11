//! The XDP classifier. For each frame: parse it with the shared contract
//! parser, skip anything that is not a monitored device's TCP/UDP packet,
//! advance the packet's flow, build its feature record and send it to the
//! agent through the ring buffer, then apply the policy. Only a monitored
//! device's classified packet can be dropped, and only in enforce mode;
//! everything else (foreign hosts, other protocols, malformed frames, any
//! failure) returns XDP_PASS (fail open).
#![no_std]
#![no_main]

use alexa_common::{
    contract::{Class, CLASS_NONE},
    event::{Event, EventHead, SNAP_LEN},
    features::Features,
    flow::{self, FlowState, FlowStep},
    flow_key::FlowKey,
    maps::{
        counter, device_filter_bit, stat_index, ClassStat, Config, CLASS_STAT_ENTRIES,
        DEVICE_CAPACITY, FLOW_CAPACITY, MODEL_SLOTS, POLL_MARGIN_NS, QUARANTINE_CAPACITY,
        RINGBUF_BYTES, UNCLASSIFIED, WAKE_INTERVAL_NS,
    },
    parse::{parse, Packet, Verdict},
    policy::{self, flag, Action, Quarantine},
    tree::{self, Node, TREE_CAPACITY},
};
use alexa_ebpf::XdpFrame;
use aya_ebpf::{
    bindings::{
        xdp_action::{XDP_DROP, XDP_PASS},
        BPF_RB_FORCE_WAKEUP, BPF_RB_NO_WAKEUP,
    },
    helpers::{bpf_ktime_get_ns, bpf_xdp_load_bytes},
    macros::{map, xdp},
    maps::{Array, HashMap, LruHashMap, PerCpuArray, RingBuf},
    programs::XdpContext,
};

/// Monitored device keys (IPv4 mapped into IPv6, or `parse::mac_key`) → the
/// device's index 0..`DEVICE_CAPACITY`, assigned by user space and carried
/// in every event (`EventHead::device`).
#[map]
static DEVICES: HashMap<[u8; 16], u8> = HashMap::with_max_entries(DEVICE_CAPACITY, 0);

/// `device_filter_bit` of every monitored device, OR-ed.
#[map]
static DEVICE_FILTER: Array<u64> = Array::with_max_entries(1, 0);

#[map]
static FLOWS: LruHashMap<FlowKey, FlowState> = LruHashMap::with_max_entries(FLOW_CAPACITY, 0);

#[map]
static EVENTS: RingBuf = RingBuf::with_byte_size(RINGBUF_BYTES, 0);

#[map]
static COUNTERS: PerCpuArray<u64> = PerCpuArray::with_max_entries(counter::COUNT, 0);

#[map]
static CONFIG: Array<Config> = Array::with_max_entries(1, 0);

/// Two compiled trees, slot s at [s * TREE_CAPACITY, (s + 1) * TREE_CAPACITY).
#[map]
static TREE: Array<Node> = Array::with_max_entries(MODEL_SLOTS * TREE_CAPACITY, 0);

/// Model version in each slot; 0 for an empty slot.
#[map]
static MODELS: Array<u32> = Array::with_max_entries(MODEL_SLOTS, 0);

/// The slot in use.
#[map]
static ACTIVE: Array<u32> = Array::with_max_entries(1, 0);

/// Packets and bytes per (class, action).
#[map]
static CLASS_STATS: PerCpuArray<ClassStat> = PerCpuArray::with_max_entries(CLASS_STAT_ENTRIES, 0);

/// Action per class id; a missing or unknown value passes.
#[map]
static POLICY: Array<u32> = Array::with_max_entries(Class::COUNT as u32, 0);

/// When this CPU last woke the ring buffer's consumer (`bpf_ktime_get_ns`).
#[map]
static LAST_WAKE: PerCpuArray<u64> = PerCpuArray::with_max_entries(1, 0);

/// Until when the agent polls the ring buffer on its own (`POLL_MARGIN_NS`).
#[map]
static POLLING: Array<u64> = Array::with_max_entries(1, 0);

/// Flows with recent `not_justified` packets, and quarantined ones.
#[map]
static QUARANTINE: LruHashMap<FlowKey, Quarantine> =
    LruHashMap::with_max_entries(QUARANTINE_CAPACITY, 0);

#[xdp]
pub fn alexa_classify(ctx: XdpContext) -> u32 {
    count(counter::FRAMES);
    let filter = DEVICE_FILTER.get(0).copied().unwrap_or(u64::MAX);
    // The parser asks about the source IP first, then the MAC; the first
    // key found is the device (the closure is `Fn`, hence the cell).
    let device = core::cell::Cell::new(0u8);
    let is_device = |addr: &[u8; 16]| {
        if filter & device_filter_bit(addr) == 0 {
            return false;
        }
        // SAFETY: a lookup in a hash map this program owns; the value is copied out.
        match unsafe { DEVICES.get(addr) } {
            Some(index) => {
                device.set(*index);
                true
            }
            None => false,
        }
    };
    match parse(&XdpFrame(&ctx), is_device) {
        Verdict::Packet(pkt) => {
            if classify(&ctx, &pkt, device.get()) == Action::Drop as u8 {
                return XDP_DROP;
            }
        }
        Verdict::Foreign => count(counter::FOREIGN),
        Verdict::Other => count(counter::OTHER),
        Verdict::Malformed => count(counter::MALFORMED),
    }
    XDP_PASS
}

/// Classifies a device packet, reports it and returns the action taken.
#[inline(always)]
fn classify(ctx: &XdpContext, pkt: &Packet, device: u8) -> u8 {
    // SAFETY: a helper with no arguments.
    let now_ns = unsafe { bpf_ktime_get_ns() };
    let (step, tracked) = advance_flow(ctx, pkt, now_ns);
    let config = CONFIG.get(0).copied().unwrap_or_default();
    let features = Features::new(pkt, &step, config.microphone != 0);
    let (class, model_version) = classify_with_model(&features);
    let frame_len = (ctx.data_end() - ctx.data()) as u32;
    count(counter::CLASSIFIED);
    let decision = enforce(&pkt.key, class, tracked, &config, now_ns);
    if decision.flags & flag::QUARANTINE_START != 0 {
        count(counter::QUARANTINED_FLOWS);
    }
    if decision.action == Action::Drop as u8 {
        count(counter::DROPPED);
        if decision.flags & flag::QUARANTINE != 0 {
            count(counter::QUARANTINE_DROPS);
        }
    }
    let class_row = if class == CLASS_NONE {
        UNCLASSIFIED
    } else {
        class as u32
    };
    if let Some(stat) = CLASS_STATS.get_ptr_mut(stat_index(class_row, decision.action)) {
        // SAFETY: a per-CPU slot: no other program run touches it concurrently.
        unsafe {
            (*stat).packets += 1;
            (*stat).bytes += frame_len as u64;
        }
    }
    let evidence = decision.action == Action::Drop as u8
        || (class < 32 && config.evidence_classes & (1 << class) != 0);
    let mut head = EventHead {
        ts_ns: now_ns,
        features,
        src: pkt.key.src,
        dst: pkt.key.dst,
        model_version,
        frame_len,
        class,
        action: decision.action,
        flags: decision.flags,
        device,
        snap_len: 0,
        _pad2: 0,
    };
    if evidence {
        match EVENTS.reserve::<Event>(0) {
            Some(mut entry) => {
                let ev = entry.as_mut_ptr();
                let n = if frame_len < SNAP_LEN as u32 {
                    frame_len
                } else {
                    SNAP_LEN as u32
                };
                // The verifier wants the length visibly within [1, SNAP_LEN]:
                // a mask gives it that (n is already in range, so a no-op).
                let len = (n.wrapping_sub(1) & (SNAP_LEN as u32 - 1)) + 1;
                // SAFETY: `ev` points to a reserved, writable ring-buffer
                // record of Event's size; the head is written whole below
                // and the snap's first `len` bytes here (the agent reads no
                // further).
                unsafe {
                    if n > 0
                        && bpf_xdp_load_bytes(ctx.ctx, 0, (*ev).snap.as_mut_ptr() as *mut _, len)
                            == 0
                    {
                        head.flags |= flag::SNAP;
                        head.snap_len = len as u16;
                    }
                    (*ev).head = head;
                }
                entry.submit(wake_flags(now_ns));
            }
            None => count(counter::RINGBUF_LOST),
        }
    } else {
        match EVENTS.reserve::<EventHead>(0) {
            Some(mut entry) => {
                entry.write(head);
                entry.submit(wake_flags(now_ns));
            }
            None => count(counter::RINGBUF_LOST),
        }
    }
    decision.action
}

/// Advances the packet's flow and returns its step. An existing flow's state
/// is rewritten in the map's own slot: replacing it through `insert` would,
/// on an LRU map, take a free node, copy key and value, relink the bucket
/// and free the old node on every packet (once the largest share of the
/// classifier's cost). Only a new flow is inserted.
///
/// Also returns whether the flow is marked [`flow::QUARANTINE_TRACKED`].
#[inline(always)]
fn advance_flow(ctx: &XdpContext, pkt: &Packet, now_ns: u64) -> (FlowStep, bool) {
    let frame = XdpFrame(ctx);
    match FLOWS.get_ptr_mut(&pkt.key) {
        Some(slot) => {
            // SAFETY: the slot stays valid for this program run (RCU), and
            // `advance` copies the old state out before it is overwritten.
            // Two CPUs on one flow race as a lookup-then-insert would: the
            // last writer wins, the state stays a valid value.
            unsafe {
                let (state, step) = flow::advance(Some(&*slot), pkt, &frame, now_ns);
                *slot = state;
                (step, state.flags & flow::QUARANTINE_TRACKED != 0)
            }
        }
        None => {
            let (state, step) = flow::advance(None, pkt, &frame, now_ns);
            if FLOWS.insert(&pkt.key, &state, 0).is_err() {
                count(counter::FLOW_UPDATE_FAILED);
            }
            (step, false)
        }
    }
}

/// Wakes the consumer at most once per [`WAKE_INTERVAL_NS`] on each CPU:
/// a consumer found caught up would otherwise be woken for every event (an
/// `irq_work` and a context switch each, the classifier's largest cost under
/// load). The agent, once woken, keeps polling every interval until two
/// intervals have passed without a wake-up, so an event submitted without
/// one is read within an interval (docs/agent.md, "Wake-ups").
///
/// No wake-up at all while the agent announces that it polls (`POLLING`):
/// a busy agent then reads the ring on its own timer.
#[inline(always)]
fn wake_flags(now_ns: u64) -> u64 {
    let polling_until = POLLING.get(0).copied().unwrap_or(0);
    if now_ns.wrapping_add(POLL_MARGIN_NS) < polling_until {
        return BPF_RB_NO_WAKEUP as u64;
    }
    match LAST_WAKE.get_ptr_mut(0) {
        // SAFETY: a per-CPU slot: no other program run touches it concurrently.
        Some(last) => unsafe {
            if now_ns.wrapping_sub(*last) >= WAKE_INTERVAL_NS {
                *last = now_ns;
                BPF_RB_FORCE_WAKEUP as u64
            } else {
                BPF_RB_NO_WAKEUP as u64
            }
        },
        // Cannot happen (a one-entry array); the kernel's default then
        // wakes a caught-up consumer.
        None => 0,
    }
}

/// The policy's action for `class`, with the flow's quarantine state and the
/// mode applied (the shared `policy::decide`); the quarantine record is kept
/// only for flows that have had a `not_justified` packet, and looked up only
/// for those (`tracked`) and for `not_justified` packets: the other packets
/// skip a hash of the flow key and a map lookup.
#[inline(always)]
fn enforce(
    key: &FlowKey,
    class: u8,
    tracked: bool,
    config: &Config,
    now_ns: u64,
) -> policy::Decision {
    let policy_action = if class == CLASS_NONE {
        Action::Pass as u8
    } else {
        POLICY
            .get(class as u32)
            .map_or(Action::Pass as u8, |a| *a as u8)
    };
    let counts = class == policy::QUARANTINE_CLASS as u8;
    let stored = if tracked || counts {
        // SAFETY: the value is copied out before the map changes.
        unsafe { QUARANTINE.get(key) }.copied()
    } else {
        None
    };
    if stored.is_some() && !tracked {
        mark_tracked(key);
    }
    if stored.is_none() && !counts {
        return policy::decide_unquarantined(policy_action, config.mode);
    }
    let mut q = stored.unwrap_or_default();
    let d = policy::decide(
        policy_action,
        counts,
        &mut q,
        &config.quarantine_rule(),
        config.mode,
        now_ns,
    );
    if d.store {
        if QUARANTINE.insert(key, &q, 0).is_err() {
            count(counter::QUARANTINE_UPDATE_FAILED);
        } else if !tracked && stored.is_none() {
            mark_tracked(key);
        }
    }
    d
}

/// Marks the flow as having a quarantine record. A flow whose state the LRU
/// flow map evicts loses the mark until its next `not_justified` packet
/// (which looks the record up again, and is dropped by the policy anyway).
#[inline(always)]
fn mark_tracked(key: &FlowKey) {
    if let Some(state) = FLOWS.get_ptr_mut(key) {
        // SAFETY: the slot stays valid for this program run (RCU).
        unsafe { (*state).flags |= flow::QUARANTINE_TRACKED };
    }
}

/// The class the active model gives, and that model's version; `CLASS_NONE`
/// and 0 when no model is loaded or the walk fails.
#[inline(always)]
fn classify_with_model(features: &Features) -> (u8, u32) {
    let slot = ACTIVE.get(0).copied().unwrap_or(0) & (MODEL_SLOTS - 1);
    let version = MODELS.get(slot).copied().unwrap_or(0);
    if version == 0 {
        return (CLASS_NONE, 0);
    }
    let base = slot * TREE_CAPACITY;
    // Indices at or past the capacity would read the other slot: refused.
    let node = |i: u32| {
        if i >= TREE_CAPACITY {
            return None;
        }
        TREE.get(base + i).copied()
    };
    match tree::classify(node, features) {
        Some(class) if (class as usize) < Class::COUNT => (class, version),
        _ => (CLASS_NONE, version),
    }
}

#[inline(always)]
fn count(index: u32) {
    if let Some(c) = COUNTERS.get_ptr_mut(index) {
        // SAFETY: a per-CPU slot: no other program run touches it concurrently.
        unsafe { *c += 1 };
    }
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    // A reachable panic makes the verifier reject the program at load time.
    loop {}
}
