//! The XDP classifier. For each frame: parse it with the shared contract
//! parser, skip anything that is not a monitored device's TCP/UDP packet,
//! advance the packet's flow, build its feature record and send it to the
//! agent through the ring buffer. Nothing here ever drops a packet: every
//! path returns XDP_PASS (fail open).
#![no_std]
#![no_main]

use alexa_common::{
    counter, flow, parse, Config, Event, FlowKey, FlowState, Frame, Packet, Plain, Verdict,
    CLASS_NONE, DEVICE_CAPACITY, FLOW_CAPACITY, RINGBUF_BYTES,
};
use aya_ebpf::{
    bindings::xdp_action::XDP_PASS,
    helpers::bpf_ktime_get_ns,
    macros::{map, xdp},
    maps::{Array, HashMap, LruHashMap, PerCpuArray, RingBuf},
    programs::XdpContext,
};

/// Monitored device addresses (IPv4 mapped into IPv6) → unused marker.
#[map]
static DEVICES: HashMap<[u8; 16], u8> = HashMap::with_max_entries(DEVICE_CAPACITY, 0);

#[map]
static FLOWS: LruHashMap<FlowKey, FlowState> = LruHashMap::with_max_entries(FLOW_CAPACITY, 0);

#[map]
static EVENTS: RingBuf = RingBuf::with_byte_size(RINGBUF_BYTES, 0);

#[map]
static COUNTERS: PerCpuArray<u64> = PerCpuArray::with_max_entries(counter::COUNT, 0);

#[map]
static CONFIG: Array<Config> = Array::with_max_entries(1, 0);

/// The frame of an XDP context, read through bounds checks the verifier sees.
struct XdpFrame<'a>(&'a XdpContext);

impl Frame for XdpFrame<'_> {
    #[inline(always)]
    fn covers(&self, end: usize) -> bool {
        // No frame reaching XDP is 64 KiB long; the cap also keeps the
        // verifier's range for `end` within what it accepts for packet offsets.
        end <= 0xffff && self.0.data() + end <= self.0.data_end()
    }

    #[inline(always)]
    fn load<T: Plain>(&self, off: usize) -> Option<T> {
        if core::mem::size_of::<T>() == 1 && off > 0 {
            // LLVM folds `p + 1 > end` into `p >= end`, from which the
            // verifier learns no readable range; a 2-byte read ending at the
            // byte keeps the comparison in a form it understands.
            let pair = self.load::<[u8; 2]>(off - 1)?;
            // SAFETY: T is one byte and accepts any bit pattern.
            return Some(unsafe { core::mem::transmute_copy::<u8, T>(&pair[1]) });
        }
        let start = self.0.data() + off;
        if off > 0xffff || start + core::mem::size_of::<T>() > self.0.data_end() {
            return None;
        }
        // SAFETY: the whole T lies inside the packet (checked just above),
        // the read is unaligned and T accepts any bit pattern.
        Some(unsafe { core::ptr::read_unaligned(start as *const T) })
    }
}

#[xdp]
pub fn alexa_classify(ctx: XdpContext) -> u32 {
    count(counter::FRAMES);
    // SAFETY: a lookup in a hash map this program owns; the value is not kept.
    let is_device = |addr: &[u8; 16]| unsafe { DEVICES.get(addr) }.is_some();
    match parse(&XdpFrame(&ctx), is_device) {
        Verdict::Packet(pkt) => classify(&ctx, &pkt),
        Verdict::Foreign => count(counter::FOREIGN),
        Verdict::Other => count(counter::OTHER),
        Verdict::Malformed => count(counter::MALFORMED),
    }
    XDP_PASS
}

#[inline(always)]
fn classify(ctx: &XdpContext, pkt: &Packet) {
    // SAFETY: a helper with no arguments.
    let now_ns = unsafe { bpf_ktime_get_ns() };
    // SAFETY: the value is copied out by `advance` before the map changes.
    let prev = unsafe { FLOWS.get(pkt.key) };
    let (state, step) = flow::advance(prev, pkt, now_ns / 1000);
    if FLOWS.insert(pkt.key, state, 0).is_err() {
        count(counter::FLOW_UPDATE_FAILED);
    }
    let microphone = CONFIG.get(0).is_some_and(|c| c.microphone != 0);
    count(counter::CLASSIFIED);
    match EVENTS.reserve::<Event>(0) {
        Some(mut entry) => {
            entry.write(Event {
                ts_ns: now_ns,
                features: flow::features(pkt, &step, microphone),
                src: pkt.key.src,
                dst: pkt.key.dst,
                model_version: 0,
                frame_len: (ctx.data_end() - ctx.data()) as u32,
                class: CLASS_NONE,
                action: alexa_common::action::PASS,
                _pad: [0; 6],
            });
            entry.submit(0);
        }
        None => count(counter::RINGBUF_LOST),
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
