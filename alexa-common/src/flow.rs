//! Per-flow rules of the contract: `delta`, `highest_layer`'s SSL
//! continuation rule, and the extras `flow_index` and `tcp_retrans`. Pure
//! functions of the previous state, the packet and a timestamp, so the
//! kernel (state in an LRU map, time from `bpf_ktime_get_ns`) and the offline
//! extractor (state in a hash map, time from the capture) compute the same.

use crate::{
    contract::{layer, tcp_flag, IPPROTO_TCP},
    parse::{Packet, Payload},
};

/// A flow: the 5-tuple in the device's sending direction. Ports in host order.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlowKey {
    pub src: [u8; 16],
    pub dst: [u8; 16],
    pub src_port: u16,
    pub dst_port: u16,
    pub proto: u8,
    // Two fields, not `[u8; 3]`: an array is zeroed through `memset` (see `map_v4`).
    pub _pad: u8,
    pub _pad2: u16,
}

impl FlowKey {
    #[inline(always)]
    pub fn new(src: [u8; 16], dst: [u8; 16], src_port: u16, dst_port: u16, proto: u8) -> Self {
        FlowKey {
            src,
            dst,
            src_port,
            dst_port,
            proto,
            _pad: 0,
            _pad2: 0,
        }
    }
}

/// What a flow remembers between its packets.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlowState {
    /// Microsecond timestamp of the flow's previous packet.
    pub last_us: u64,
    /// One past the highest TCP sequence number sent (valid with `HAS_SEQ`).
    pub next_seq: u32,
    /// Sequence number of the flow's SYN (valid with `HAS_SYN`).
    pub syn_seq: u32,
    /// Packets of the flow so far.
    pub packets: u32,
    pub flags: u32,
}

pub const HAS_SEQ: u32 = 1;
pub const HAS_SYN: u32 = 2;
pub const TLS_SEEN: u32 = 4;
/// Kernel only: the flow has had a record in the quarantine map, so its
/// packets look there; no other flow's do (the offline extractor never sets
/// it, and no feature depends on it).
pub const QUARANTINE_TRACKED: u32 = 8;

/// The per-flow features of one packet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlowStep {
    pub delta_us: u64,
    pub flow_index: u32,
    pub tcp_retrans: u8,
    pub highest_layer: u8,
    pub content_type: u8,
}

/// `a` before `b` in TCP sequence space (RFC 1982 serial arithmetic).
#[inline(always)]
pub fn seq_before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// Takes `pkt`, seen at `now_us`, into its flow: returns the flow's new state
/// and the packet's per-flow features.
#[inline(always)]
pub fn advance(prev: Option<&FlowState>, pkt: &Packet, now_us: u64) -> (FlowState, FlowStep) {
    let tcp = pkt.key.proto == IPPROTO_TCP;
    let opening_syn =
        tcp && pkt.tcp_flags & tcp_flag::SYN != 0 && pkt.tcp_flags & tcp_flag::ACK == 0;
    // A SYN starts a new flow on the same 5-tuple, unless it repeats the
    // flow's previous SYN: then it is a retransmission and stays.
    let prev = match prev {
        Some(s) if opening_syn && !(s.flags & HAS_SYN != 0 && s.syn_seq == pkt.seq) => None,
        other => other,
    };
    let mut step = FlowStep::default();
    let mut st = match prev {
        Some(s) => {
            step.delta_us = now_us.saturating_sub(s.last_us);
            step.flow_index = s.packets.saturating_add(1);
            *s
        }
        None => {
            step.flow_index = 1;
            FlowState::default()
        }
    };
    st.last_us = now_us;
    st.packets = step.flow_index;

    if tcp {
        let seg_len = pkt
            .length
            .wrapping_add((pkt.tcp_flags & tcp_flag::SYN != 0) as u32)
            .wrapping_add((pkt.tcp_flags & tcp_flag::FIN != 0) as u32);
        let repeated_syn = opening_syn && prev.is_some();
        let resent = st.flags & HAS_SEQ != 0 && seg_len > 0 && seq_before(pkt.seq, st.next_seq);
        step.tcp_retrans = (repeated_syn || resent) as u8;
        let end = pkt.seq.wrapping_add(seg_len);
        if st.flags & HAS_SEQ == 0 || seq_before(st.next_seq, end) {
            st.next_seq = end;
            st.flags |= HAS_SEQ;
        }
        if opening_syn {
            st.syn_seq = pkt.seq;
            st.flags |= HAS_SYN;
        }
    }

    let (highest_layer, content_type) = match pkt.payload {
        Payload::Tls(content_type) => (layer::SSL, content_type),
        _ if tcp
            && pkt.length > 0
            && (st.flags & TLS_SEEN != 0 || pkt.key.src_port == 443 || pkt.key.dst_port == 443) =>
        {
            (layer::SSL, 0)
        }
        Payload::Http => (layer::HTTP, 0),
        Payload::Data => (layer::DATA, 0),
        Payload::Empty => (layer::TCP, 0),
    };
    if let Payload::Tls(_) = pkt.payload {
        st.flags |= TLS_SEEN;
    }
    step.highest_layer = highest_layer;
    step.content_type = content_type;
    (st, step)
}

/// The whole feature record of a packet, given its flow step and the
/// microphone state.
#[inline(always)]
pub fn features(pkt: &Packet, step: &FlowStep, microphone: bool) -> crate::event::Features {
    crate::event::Features {
        delta_us: step.delta_us,
        length: pkt.length,
        flow_index: step.flow_index,
        dstport: pkt.key.dst_port,
        srcport: pkt.key.src_port,
        highest_layer: step.highest_layer,
        content_type: step.content_type,
        ack_flag: (pkt.tcp_flags & tcp_flag::ACK != 0) as u8,
        microphone: microphone as u8,
        proto: pkt.key.proto,
        tcp_flags: pkt.tcp_flags,
        tcp_retrans: step.tcp_retrans,
        _pad: 0,
        _pad2: 0,
    }
}
