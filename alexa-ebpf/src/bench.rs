//! Reference programs for `cargo xtask bench`, in the classifier's object so
//! they share its maps and are built by the same compiler run: the kernel
//! cost of the classifier is reported as the difference to these.

use alexa_common::{flow, parse, Verdict};
use aya_ebpf::{
    bindings::xdp_action::{XDP_ABORTED, XDP_DROP, XDP_PASS},
    macros::xdp,
    programs::XdpContext,
};

use crate::{XdpFrame, DEVICES};

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
            let (_, step) = flow::advance(None, &pkt, &XdpFrame(&ctx), 0);
            let f = flow::features(&pkt, &step, true);
            // Folding every feature into the return value keeps the compiler
            // from dropping the work; no real frame yields this value.
            let fold = f.delta_us
                ^ (f.length as u64) << 8
                ^ (f.payload_len as u64) << 12
                ^ (f.delta as u64) << 20
                ^ (f.record_len as u64) << 28
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
