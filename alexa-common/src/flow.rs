//! Per-connection rules of the contract (version 2): the delta clocks, the
//! TLS record stream that decides `highest_layer`, `content_type` and
//! `record_len`, and the extras `flow_index` and `tcp_retrans`. Pure
//! functions of the previous state, the packet, its frame and a timestamp, so
//! the kernel (state in an LRU map, time from `bpf_ktime_get_ns`) and the
//! offline extractor (state in a hash map, time from the capture) compute the
//! same.

use crate::{
    contract::{layer, tcp_flag, IPPROTO_TCP},
    frame::Frame,
    parse::{record_header, Packet, Payload},
};

/// What a connection remembers between its packets.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlowState {
    /// Timestamp (ns) of the connection's previous packet: `delta_us`.
    pub last_ns: u64,
    /// Timestamp (ns) of its previous SSL- or TCP-layer packet (valid with
    /// `HAS_CLOCK`): `delta`.
    pub clock_ns: u64,
    /// One past the highest TCP sequence number sent (valid with `HAS_SEQ`).
    pub next_seq: u32,
    /// Sequence number of the connection's SYN (valid with `HAS_SYN`).
    pub syn_seq: u32,
    /// Packets of the connection so far.
    pub packets: u32,
    pub flags: u32,
    /// Bytes of a record header split across segments, in arrival order
    /// from the most significant byte (`hdr_have` of them).
    pub hdr: u32,
    /// Body bytes of the current record still to come.
    pub rec_left: u16,
    /// Length field of the current record.
    pub rec_len: u16,
    /// Content type of the current record.
    pub rec_type: u8,
    pub hdr_have: u8,
    /// `stream::*`: what the connection's byte stream was decided to be.
    pub stream: u8,
    pub _pad: u8,
    pub _pad2: u32,
}

pub const HAS_SEQ: u32 = 1;
pub const HAS_SYN: u32 = 2;
/// `clock_ns` holds the previous SSL/TCP-layer packet's time.
pub const HAS_CLOCK: u32 = 4;
/// Kernel only: the flow has had a record in the quarantine map, so its
/// packets look there; no other flow's do (the offline extractor never sets
/// it, and no feature depends on it).
pub const QUARANTINE_TRACKED: u32 = 8;
/// The TLS stream's record boundaries are lost (a gap, an invalid header,
/// too many records in a segment, a partly new retransmission); it resumes
/// at the next segment whose payload starts with a valid record header.
pub const TLS_LOST: u32 = 16;

/// `FlowState::stream`: the connection's kind, decided by its first
/// non-empty segment.
pub mod stream {
    /// No payload yet.
    pub const UNDECIDED: u8 = 0;
    pub const TLS: u8 = 1;
    pub const HTTP: u8 = 2;
    /// Neither: every payload is DATA.
    pub const OTHER: u8 = 3;
}

/// Wireshark's default TLS port: a connection on it whose first payload is
/// not a record header is read as TLS joined mid-stream (docs/features.md).
pub const TLS_PORT: u16 = 443;
/// Wireshark's default HTTP port: a connection on it whose first payload is
/// not an HTTP start is read as HTTP joined mid-message.
pub const HTTP_PORT: u16 = 80;

/// Most records that may end in one segment; one more loses the boundaries.
pub const MAX_RECORDS_PER_SEGMENT: u32 = 16;

/// The per-connection features of one packet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlowStep {
    pub delta_us: u64,
    /// Whole milliseconds (saturating at u32::MAX).
    pub delta: u32,
    pub flow_index: u32,
    pub tcp_retrans: u8,
    pub highest_layer: u8,
    pub content_type: u8,
    pub record_len: u16,
}

/// `a` before `b` in TCP sequence space (RFC 1982 serial arithmetic).
#[inline(always)]
pub fn seq_before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// Takes `pkt` (parsed from `frame`), seen at `now_ns`, into its connection:
/// returns the connection's new state and the packet's per-connection
/// features.
#[inline(always)]
pub fn advance<F: Frame + ?Sized>(
    prev: Option<&FlowState>,
    pkt: &Packet,
    frame: &F,
    now_ns: u64,
) -> (FlowState, FlowStep) {
    let tcp = pkt.key.proto == IPPROTO_TCP;
    let opening_syn =
        tcp && pkt.tcp_flags & tcp_flag::SYN != 0 && pkt.tcp_flags & tcp_flag::ACK == 0;
    // A SYN starts a new connection on the same 5-tuple, unless it repeats
    // the previous SYN: then it is a retransmission and stays.
    let prev = match prev {
        Some(s) if opening_syn && !(s.flags & HAS_SYN != 0 && s.syn_seq == pkt.seq) => None,
        other => other,
    };
    let mut step = FlowStep::default();
    let mut st = match prev {
        Some(s) => {
            step.delta_us = now_ns.saturating_sub(s.last_ns) / 1000;
            step.flow_index = s.packets.saturating_add(1);
            *s
        }
        None => {
            step.flow_index = 1;
            FlowState::default()
        }
    };
    st.last_ns = now_ns;
    st.packets = step.flow_index;

    if !tcp {
        // UDP: DATA with a payload, TCP without; no clock, no records.
        step.highest_layer = if pkt.payload_len > 0 {
            layer::DATA
        } else {
            layer::TCP
        };
        return (st, step);
    }

    let seg_len = pkt
        .payload_len
        .wrapping_add((pkt.tcp_flags & tcp_flag::SYN != 0) as u32)
        .wrapping_add((pkt.tcp_flags & tcp_flag::FIN != 0) as u32);
    let known = st.flags & HAS_SEQ != 0;
    let expected = st.next_seq;
    let repeated_syn = opening_syn && prev.is_some();
    let resent = known && seg_len > 0 && seq_before(pkt.seq, expected);
    step.tcp_retrans = (repeated_syn || resent) as u8;
    // Bytes missing before this segment: the walk cannot know where the
    // records after them start (an empty segment past the gap shows it too).
    let gap = known && seq_before(expected, pkt.seq);
    if gap {
        st.flags |= TLS_LOST;
    }
    let end = pkt.seq.wrapping_add(seg_len);
    if !known || seq_before(expected, end) {
        st.next_seq = end;
        st.flags |= HAS_SEQ;
    }
    if opening_syn {
        st.syn_seq = pkt.seq;
        st.flags |= HAS_SYN;
    }

    step.highest_layer = if pkt.payload_len == 0 {
        layer::TCP
    } else if resent {
        // Carries no new bytes; one that also carries new ones skips them
        // from the walk, so the walk no longer knows where records start.
        if seq_before(expected, end) {
            st.flags |= TLS_LOST;
        }
        layer::TCP
    } else {
        payload_layer(&mut st, &mut step, pkt, frame)
    };

    if step.highest_layer == layer::SSL || step.highest_layer == layer::TCP {
        if st.flags & HAS_CLOCK != 0 {
            let ms = now_ns.saturating_sub(st.clock_ns) / 1_000_000;
            step.delta = if ms > u32::MAX as u64 {
                u32::MAX
            } else {
                ms as u32
            };
        }
        st.clock_ns = now_ns;
        st.flags |= HAS_CLOCK;
    }
    (st, step)
}

/// `highest_layer` of a TCP segment with new payload bytes, walking the
/// connection's record stream when it is TLS.
#[inline(always)]
fn payload_layer<F: Frame + ?Sized>(
    st: &mut FlowState,
    step: &mut FlowStep,
    pkt: &Packet,
    frame: &F,
) -> u8 {
    if st.stream == stream::UNDECIDED {
        st.stream = match pkt.payload {
            Payload::Tls(_) => stream::TLS,
            Payload::Http => stream::HTTP,
            _ if pkt.key.dst_port == TLS_PORT || pkt.key.src_port == TLS_PORT => {
                st.flags |= TLS_LOST;
                stream::TLS
            }
            _ if pkt.key.dst_port == HTTP_PORT || pkt.key.src_port == HTTP_PORT => stream::HTTP,
            _ => stream::OTHER,
        };
    }
    match st.stream {
        stream::TLS => {}
        // Rule 3: a request or response in any connection that is not TLS
        // makes it an HTTP connection from then on.
        _ if pkt.payload == Payload::Http => {
            st.stream = stream::HTTP;
            return layer::HTTP;
        }
        stream::HTTP => return layer::TCP,
        _ => return layer::DATA,
    }
    if st.flags & TLS_LOST != 0 {
        if !matches!(pkt.payload, Payload::Tls(_)) {
            return layer::TCP;
        }
        st.flags &= !TLS_LOST;
        st.rec_left = 0;
        st.hdr_have = 0;
    }
    match walk_records(
        st,
        frame,
        pkt.payload_off as usize,
        pkt.payload_len as usize,
    ) {
        Some((content_type, record_len)) => {
            step.content_type = content_type;
            step.record_len = record_len;
            layer::SSL
        }
        None => layer::TCP,
    }
}

/// Walks `len` payload bytes at `off` through the record stream: returns
/// the type and length of the first record that ends in them, and leaves
/// `st` where the stream stands after them (or marks it lost).
///
/// One loop turn reads a header if one is due and takes the record's body
/// bytes; a record ends in at most one turn, so 17 turns cover the 16
/// records a segment may end and the one it leaves open.
#[inline(always)]
fn walk_records<F: Frame + ?Sized>(
    st: &mut FlowState,
    frame: &F,
    off: usize,
    len: usize,
) -> Option<(u8, u16)> {
    let mut p = 0usize;
    if st.hdr_have > 0 {
        p = finish_split_header(st, frame, off, len)?;
    }
    let mut first: Option<(u8, u16)> = None;
    let mut ended = 0u32;
    let mut turn = 0u32;
    while turn <= MAX_RECORDS_PER_SEGMENT {
        turn += 1;
        if p >= len {
            break;
        }
        if st.rec_left == 0 {
            if len - p < 5 {
                save_partial_header(st, frame, off + p, len - p);
                break;
            }
            let Some(h) = frame.load_at::<[u8; 5]>(off + p) else {
                lose(st);
                return first;
            };
            // An invalid header loses the boundaries from here on; a
            // record that ended before it still ended in this segment.
            if !start_record(st, h) {
                return first;
            }
            p += 5;
        }
        let body = st.rec_left as usize;
        let avail = len - p;
        if body > avail {
            st.rec_left = (body - avail) as u16;
            break;
        }
        st.rec_left = 0;
        p += body;
        ended += 1;
        if ended > MAX_RECORDS_PER_SEGMENT {
            lose(st);
            return None;
        }
        if first.is_none() {
            first = Some((st.rec_type, st.rec_len));
        }
    }
    first
}

/// Completes a header whose first `st.hdr_have` bytes ended the previous
/// segment, from the first bytes of this one (`len` of them at `off`).
/// Returns how many bytes it took, or `None` when no record body starts in
/// this segment (the header is still incomplete, or invalid: lost).
#[inline(always)]
fn finish_split_header<F: Frame + ?Sized>(
    st: &mut FlowState,
    frame: &F,
    off: usize,
    len: usize,
) -> Option<usize> {
    let have = st.hdr_have as usize;
    let need = 5 - have;
    let take = if need < len { need } else { len };
    // Header byte j sits at bits 63-8j..56-8j: five bytes, no array (an
    // array is zeroed through `memset`, see `parse::map_v4`).
    let mut h = (st.hdr as u64) << 32;
    let mut i = 0;
    while i < 4 {
        if i < take {
            let Some(b) = frame.load_at::<[u8; 1]>(off + i) else {
                lose(st);
                return None;
            };
            h |= (b[0] as u64) << (56 - 8 * (have + i));
        }
        i += 1;
    }
    if take < need {
        st.hdr = (h >> 32) as u32;
        st.hdr_have = (have + take) as u8;
        return None;
    }
    st.hdr_have = 0;
    st.hdr = 0;
    let b = h.to_be_bytes();
    if start_record(st, [b[0], b[1], b[2], b[3], b[4]]) {
        Some(take)
    } else {
        None
    }
}

/// Reads a record header into `st`; an invalid one loses the boundaries.
#[inline(always)]
fn start_record(st: &mut FlowState, h: [u8; 5]) -> bool {
    match record_header(h) {
        Some((content_type, len)) => {
            st.rec_type = content_type;
            st.rec_len = len;
            st.rec_left = len;
            true
        }
        None => {
            lose(st);
            false
        }
    }
}

/// Keeps the first `n` (1–4) bytes of a header that continues in the next
/// segment.
#[inline(always)]
fn save_partial_header<F: Frame + ?Sized>(st: &mut FlowState, frame: &F, at: usize, n: usize) {
    let mut hdr = 0u32;
    let mut i = 0;
    while i < 4 {
        if i < n {
            match frame.load_at::<[u8; 1]>(at + i) {
                Some(b) => hdr |= (b[0] as u32) << (8 * (3 - i)),
                None => {
                    lose(st);
                    return;
                }
            }
        }
        i += 1;
    }
    st.hdr = hdr;
    st.hdr_have = n as u8;
}

#[inline(always)]
fn lose(st: &mut FlowState) {
    st.flags |= TLS_LOST;
    st.rec_left = 0;
    st.hdr_have = 0;
    st.hdr = 0;
}
