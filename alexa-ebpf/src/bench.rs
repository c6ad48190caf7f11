//! Reference programs for `cargo xtask bench`, in the classifier's object so
//! they share its maps and are built by the same compiler run: the kernel
//! cost of the classifier is reported as the difference to these.

use alexa_common::{counter, flow, parse, Event, Packet, Verdict, CLASS_NONE, UNCLASSIFIED};
use aya_ebpf::{
    bindings::{
        xdp_action::{XDP_ABORTED, XDP_DROP, XDP_PASS},
        BPF_RB_AVAIL_DATA, BPF_RB_FORCE_WAKEUP, BPF_RB_NO_WAKEUP,
    },
    helpers::bpf_ktime_get_ns,
    macros::xdp,
    programs::XdpContext,
};

use crate::{classify_with_model, count, XdpFrame, CLASS_STATS, CONFIG, DEVICES, EVENTS, FLOWS};

/// The floor: what `BPF_PROG_TEST_RUN` (or the driver) costs with a program
/// that does nothing.
#[xdp]
pub fn alexa_bare(_ctx: XdpContext) -> u32 {
    XDP_PASS
}

/// The classifier's parse and feature computation, without flow-map state,
/// tree, counters or events: what the shared contract code alone costs.
#[xdp]
pub fn alexa_parse(ctx: XdpContext) -> u32 {
    // SAFETY: a lookup in a hash map this object owns; the value is not kept.
    let is_device = |addr: &[u8; 16]| unsafe { DEVICES.get(addr) }.is_some();
    match parse(&XdpFrame(&ctx), is_device) {
        Verdict::Packet(pkt) => {
            let (_, step) = flow::advance(None, &pkt, 0);
            let f = flow::features(&pkt, &step, true);
            // Folding every feature into the return value keeps the compiler
            // from dropping the work; no real frame yields this value.
            let fold = f.delta_us
                ^ (f.length as u64) << 8
                ^ (f.flow_index as u64) << 16
                ^ (f.dstport as u64) << 24
                ^ (f.srcport as u64) << 32
                ^ (f.highest_layer as u64) << 40
                ^ (f.content_type as u64) << 44
                ^ (f.ack_flag as u64) << 48
                ^ (f.proto as u64) << 52
                ^ (f.tcp_flags as u64) << 56
                ^ (f.tcp_retrans as u64) << 63;
            if fold == u64::MAX {
                XDP_ABORTED
            } else {
                XDP_PASS
            }
        }
        _ => XDP_PASS,
    }
}

/// A sink for the forwarding bench's receiving namespace: drops everything
/// as early as the stack allows, so the receiver costs the shared CPUs little.
#[xdp]
pub fn alexa_sink(_ctx: XdpContext) -> u32 {
    XDP_DROP
}

/// A prototype, measured against `alexa_classify` by the bench: the same
/// work, but an existing flow's state is rewritten where the map holds it
/// instead of replaced through `insert`, which for an LRU map takes a free
/// node, copies key and value, relinks the bucket and frees the old node
/// on every packet (the largest share of the classifier's profile).
#[xdp]
pub fn alexa_inplace(ctx: XdpContext) -> u32 {
    classify_prototype(&ctx, false)
}

/// [`alexa_inplace`], and events are submitted without waking the consumer
/// unless this one takes the pending data past [`WAKE_BYTES`]: a consumer
/// found caught up otherwise costs every event an `irq_work` and, on this
/// kind of virtual machine, a self-IPI that traps to the hypervisor. The
/// consumer must then also poll on a timer (the bench's consumers do).
#[xdp]
pub fn alexa_lazy(ctx: XdpContext) -> u32 {
    classify_prototype(&ctx, true)
}

/// An eighth of the ring buffer.
const WAKE_BYTES: u64 = alexa_common::RINGBUF_BYTES as u64 / 8;

#[inline(always)]
fn classify_prototype(ctx: &XdpContext, lazy: bool) -> u32 {
    count(counter::FRAMES);
    // SAFETY: a lookup in a hash map this object owns; the value is not kept.
    let is_device = |addr: &[u8; 16]| unsafe { DEVICES.get(addr) }.is_some();
    match parse(&XdpFrame(ctx), is_device) {
        Verdict::Packet(pkt) => classify_inplace(ctx, &pkt, lazy),
        Verdict::Foreign => count(counter::FOREIGN),
        Verdict::Other => count(counter::OTHER),
        Verdict::Malformed => count(counter::MALFORMED),
    }
    XDP_PASS
}

#[inline(always)]
fn classify_inplace(ctx: &XdpContext, pkt: &Packet, lazy: bool) {
    // SAFETY: a helper with no arguments.
    let now_ns = unsafe { bpf_ktime_get_ns() };
    let step = match FLOWS.get_ptr_mut(pkt.key) {
        Some(slot) => {
            // SAFETY: the slot stays valid for this program run (RCU); a
            // concurrent packet of the same flow races exactly as the
            // lookup-then-insert of alexa_classify does.
            let (state, step) = flow::advance(Some(unsafe { &*slot }), pkt, now_ns / 1000);
            unsafe { *slot = state };
            step
        }
        None => {
            let (state, step) = flow::advance(None, pkt, now_ns / 1000);
            if FLOWS.insert(pkt.key, state, 0).is_err() {
                count(counter::FLOW_UPDATE_FAILED);
            }
            step
        }
    };
    let microphone = CONFIG.get(0).is_some_and(|c| c.microphone != 0);
    let features = flow::features(pkt, &step, microphone);
    let (class, model_version) = classify_with_model(&features);
    let frame_len = (ctx.data_end() - ctx.data()) as u32;
    count(counter::CLASSIFIED);
    let stat_index = if class == CLASS_NONE {
        UNCLASSIFIED
    } else {
        class as u32
    };
    if let Some(stat) = CLASS_STATS.get_ptr_mut(stat_index) {
        // SAFETY: a per-CPU slot: no other program run touches it concurrently.
        unsafe {
            (*stat).packets += 1;
            (*stat).bytes += frame_len as u64;
        }
    }
    match EVENTS.reserve::<Event>(0) {
        Some(mut entry) => {
            entry.write(Event {
                ts_ns: now_ns,
                features,
                src: pkt.key.src,
                dst: pkt.key.dst,
                model_version,
                frame_len,
                class,
                ..Event::default()
            });
            let flags = if lazy {
                // Includes this record: wake once, when it crosses the mark.
                let pending = EVENTS.query(BPF_RB_AVAIL_DATA as u64);
                let slot = (core::mem::size_of::<Event>() + 8) as u64;
                if pending >= WAKE_BYTES && pending < WAKE_BYTES + slot {
                    BPF_RB_FORCE_WAKEUP as u64
                } else {
                    BPF_RB_NO_WAKEUP as u64
                }
            } else {
                0
            };
            entry.submit(flags);
        }
        None => count(counter::RINGBUF_LOST),
    }
}
