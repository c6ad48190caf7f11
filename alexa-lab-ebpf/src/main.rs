//! Reference programs for `cargo xtask bench` and the lab's tests, in an
//! object of their own (alexa-lab embeds it; the gateway's object does not
//! carry them). The kernel cost of the classifier is reported as the
//! difference to these, so `alexa_parse` reads frames through the
//! classifier's own `XdpFrame` and parses with the same contract code.
#![no_std]
#![no_main]

use alexa_common::{
    features::Features,
    flow,
    maps::DEVICE_CAPACITY,
    parse::{parse, Verdict},
};
use alexa_ebpf::XdpFrame;
use aya_ebpf::{
    bindings::xdp_action::{XDP_DROP, XDP_PASS},
    macros::{map, xdp},
    maps::{HashMap, PerCpuArray},
    programs::XdpContext,
};

/// Monitored device keys, as the classifier's map of the same name (and
/// filled the same way): which frames `alexa_parse` treats as a device's.
#[map]
static DEVICES: HashMap<[u8; 16], u8> = HashMap::with_max_entries(DEVICE_CAPACITY, 0);

/// The floor: what `BPF_PROG_TEST_RUN` (or the driver) costs with a program
/// that does nothing.
#[xdp]
pub fn alexa_bare(_ctx: XdpContext) -> u32 {
    XDP_PASS
}

/// Where `alexa_parse` leaves its feature record.
#[map]
static PARSE_OUT: PerCpuArray<Features> = PerCpuArray::with_max_entries(1, 0);

/// The classifier's parse and feature computation, without flow-map state,
/// tree, counters or events: what the shared contract code alone costs
/// (plus one per-CPU array write).
#[xdp]
pub fn alexa_parse(ctx: XdpContext) -> u32 {
    // SAFETY: a lookup in a hash map this object owns; the value is not kept.
    let is_device = |addr: &[u8; 16]| unsafe { DEVICES.get(addr) }.is_some();
    match parse(&XdpFrame(&ctx), is_device) {
        Verdict::Packet(pkt) => {
            let (_, step) = flow::advance(None, &pkt, &XdpFrame(&ctx), 0);
            let f = Features::new(&pkt, &step, true);
            // Stored, so that the compiler keeps the work. (Folding the
            // fields into the return value let LLVM reuse a register that
            // held a packet pointer on another path, which the verifier
            // refuses: "bitwise operator &= on pointer prohibited".)
            if let Some(out) = PARSE_OUT.get_ptr_mut(0) {
                // SAFETY: a per-CPU slot: no other program run touches it concurrently.
                unsafe { *out = f };
            }
            XDP_PASS
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

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    // A reachable panic makes the verifier reject the program at load time.
    loop {}
}
