//! One packet's feature record: every integer feature of the contract
//! (`docs/features.md`), as the tree walks it and events carry it, and how
//! it is made from a parsed packet and its flow step.

use crate::{
    contract::{tcp_flag, Feature},
    flow::FlowStep,
    parse::Packet,
};

/// One packet's feature record: every integer feature of the contract
/// (version 2; `docs/features.md`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Features {
    /// Microseconds since the previous packet of the same connection.
    pub delta_us: u64,
    /// Frame length: 14 + the IP packet's length.
    pub length: u32,
    /// L4 payload bytes, from the IP lengths.
    pub payload_len: u32,
    /// Whole milliseconds since the connection's previous SSL/TCP-layer packet.
    pub delta: u32,
    /// Position of the packet in its flow, 1 for the first.
    pub flow_index: u32,
    pub dstport: u16,
    pub srcport: u16,
    /// Length field of the first TLS record ending in the segment, 0 when none.
    pub record_len: u16,
    pub _pad: u16,
    pub highest_layer: u8,
    /// Type of the first TLS record ending in the segment, 0 when none.
    pub content_type: u8,
    pub ack_flag: u8,
    pub microphone: u8,
    pub proto: u8,
    pub tcp_flags: u8,
    pub tcp_retrans: u8,
    pub _pad2: u8,
}

impl Features {
    /// The whole feature record of `pkt`, given its flow step and the
    /// microphone state.
    #[inline(always)]
    pub fn new(pkt: &Packet, step: &FlowStep, microphone: bool) -> Features {
        Features {
            delta_us: step.delta_us,
            length: pkt.frame_len,
            payload_len: pkt.payload_len,
            delta: step.delta,
            flow_index: step.flow_index,
            dstport: pkt.key.dst_port,
            srcport: pkt.key.src_port,
            record_len: step.record_len,
            _pad: 0,
            highest_layer: step.highest_layer,
            content_type: step.content_type,
            ack_flag: (pkt.tcp_flags & tcp_flag::ACK != 0) as u8,
            microphone: microphone as u8,
            proto: pkt.key.proto,
            tcp_flags: pkt.tcp_flags,
            tcp_retrans: step.tcp_retrans,
            _pad2: 0,
        }
    }

    /// Every feature's value indexed by its id (`contract::Feature`), slot
    /// 15 (no feature) 0: what [`Self::get`] returns for ids below 16.
    #[inline(always)]
    pub fn table(&self) -> [u64; 16] {
        [
            self.length as u64,
            self.dstport as u64,
            self.highest_layer as u64,
            self.delta as u64,
            self.ack_flag as u64,
            self.microphone as u64,
            self.content_type as u64,
            self.payload_len as u64,
            self.delta_us,
            self.record_len as u64,
            self.srcport as u64,
            self.proto as u64,
            self.tcp_flags as u64,
            self.flow_index as u64,
            self.tcp_retrans as u64,
            0,
        ]
    }

    /// The value a decision tree compares for `feature`.
    #[inline(always)]
    pub fn get(&self, feature: u8) -> u64 {
        match feature {
            f if f == Feature::Length as u8 => self.length as u64,
            f if f == Feature::Dstport as u8 => self.dstport as u64,
            f if f == Feature::HighestLayer as u8 => self.highest_layer as u64,
            f if f == Feature::Delta as u8 => self.delta as u64,
            f if f == Feature::AckFlag as u8 => self.ack_flag as u64,
            f if f == Feature::Microphone as u8 => self.microphone as u64,
            f if f == Feature::ContentType as u8 => self.content_type as u64,
            f if f == Feature::PayloadLen as u8 => self.payload_len as u64,
            f if f == Feature::DeltaUs as u8 => self.delta_us,
            f if f == Feature::RecordLen as u8 => self.record_len as u64,
            f if f == Feature::Srcport as u8 => self.srcport as u64,
            f if f == Feature::Proto as u8 => self.proto as u64,
            f if f == Feature::TcpFlags as u8 => self.tcp_flags as u64,
            f if f == Feature::FlowIndex as u8 => self.flow_index as u64,
            f if f == Feature::TcpRetrans as u8 => self.tcp_retrans as u64,
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_agrees_with_get_for_every_feature_id() {
        let f = Features {
            delta_us: 1 << 40,
            length: 2,
            payload_len: 3,
            delta: 4,
            flow_index: 5,
            dstport: 6,
            srcport: 7,
            record_len: 8,
            _pad: 0,
            highest_layer: 9,
            content_type: 10,
            ack_flag: 11,
            microphone: 12,
            proto: 13,
            tcp_flags: 14,
            tcp_retrans: 15,
            _pad2: 0,
        };
        let t = f.table();
        for id in 0..16u8 {
            assert_eq!(t[id as usize], f.get(id), "feature {id}");
        }
        assert!(
            t[..15].iter().all(|&v| v != 0),
            "a feature missing from the table"
        );
    }

    #[test]
    fn layout_has_no_hidden_padding() {
        assert_eq!(core::mem::size_of::<Features>(), 40);
    }
}
