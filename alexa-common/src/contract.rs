//! Names and numbers of the feature contract (`docs/features.md`), in one place.

/// `highest_layer` values, as in the paper (section 5.1).
pub mod layer {
    pub const SSL: u8 = 0;
    pub const TCP: u8 = 1;
    pub const DATA: u8 = 2;
    pub const HTTP: u8 = 3;
}

pub const IPPROTO_TCP: u8 = 6;
pub const IPPROTO_UDP: u8 = 17;

pub mod tcp_flag {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
}

/// The eight classes of the paper, in the paper's order. The index is the
/// class id carried by events, counters and compiled trees.
pub const CLASS_NAMES: [&str; 8] = [
    "handshake",
    "syn",
    "ack",
    "retransmit",
    "not_relevant",
    "justified",
    "not_justified",
    "expected",
];
pub const NUM_CLASSES: usize = CLASS_NAMES.len();

/// Class ids by name, for the rules and the kernel's per-packet path (no
/// lookup by name at run time).
pub mod class {
    pub const HANDSHAKE: u8 = 0;
    pub const SYN: u8 = 1;
    pub const ACK: u8 = 2;
    pub const RETRANSMIT: u8 = 3;
    pub const NOT_RELEVANT: u8 = 4;
    pub const JUSTIFIED: u8 = 5;
    pub const NOT_JUSTIFIED: u8 = 6;
    pub const EXPECTED: u8 = 7;
}
/// Class id of a packet no model has classified.
pub const CLASS_NONE: u8 = 0xff;

pub fn class_id(name: &str) -> Option<u8> {
    CLASS_NAMES.iter().position(|n| *n == name).map(|i| i as u8)
}

pub fn class_name(id: u8) -> Option<&'static str> {
    CLASS_NAMES.get(id as usize).copied()
}

/// Version of the feature contract (`shared/spec/features.md`) this code
/// implements. A model records the version of the features it was trained
/// on; a model of another version is refused, never walked.
pub const CONTRACT_VERSION: u32 = 2;

/// The integer features a model may use, in the order of [`FEATURE_NAMES`].
/// The paper's own (`date`, `dstip` and `synchronized` are not features a
/// model may use) come first, then the contract's extras, then the kernel's.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Feature {
    /// Frame length: 14 + the IP packet's length.
    Length = 0,
    Dstport = 1,
    HighestLayer = 2,
    /// Whole milliseconds, by the contract's clock rule.
    Delta = 3,
    AckFlag = 4,
    Microphone = 5,
    /// 0 when no record ends in the segment.
    ContentType = 6,
    /// L4 payload bytes (version 1's `length`).
    PayloadLen = 7,
    /// Microseconds since the connection's previous packet (version 1's `delta`).
    DeltaUs = 8,
    /// Length field of the first record ending in the segment, 0 when none.
    RecordLen = 9,
    Srcport = 10,
    Proto = 11,
    TcpFlags = 12,
    FlowIndex = 13,
    TcpRetrans = 14,
}

pub const NUM_FEATURES: usize = 15;

/// Column names, as in the CSV header and the JSON log.
pub const FEATURE_NAMES: [&str; NUM_FEATURES] = [
    "length",
    "dstport",
    "highest_layer",
    "delta",
    "ack_flag",
    "microphone",
    "content_type",
    "payload_len",
    "delta_us",
    "record_len",
    "srcport",
    "proto",
    "tcp_flags",
    "flow_index",
    "tcp_retrans",
];

/// How many of [`FEATURE_NAMES`] are the paper's own (the rest are extras).
pub const NUM_PAPER_FEATURES: usize = 7;

impl Feature {
    pub const ALL: [Feature; NUM_FEATURES] = [
        Feature::Length,
        Feature::Dstport,
        Feature::HighestLayer,
        Feature::Delta,
        Feature::AckFlag,
        Feature::Microphone,
        Feature::ContentType,
        Feature::PayloadLen,
        Feature::DeltaUs,
        Feature::RecordLen,
        Feature::Srcport,
        Feature::Proto,
        Feature::TcpFlags,
        Feature::FlowIndex,
        Feature::TcpRetrans,
    ];

    pub fn name(self) -> &'static str {
        FEATURE_NAMES[self as usize]
    }

    /// Largest value the kernel's field for the feature holds (`Features`).
    pub const fn max_value(self) -> u64 {
        match self {
            Feature::DeltaUs => u64::MAX,
            Feature::Length | Feature::PayloadLen | Feature::Delta | Feature::FlowIndex => {
                u32::MAX as u64
            }
            Feature::Dstport | Feature::Srcport | Feature::RecordLen => u16::MAX as u64,
            _ => u8::MAX as u64,
        }
    }

    pub fn from_name(name: &str) -> Option<Feature> {
        FEATURE_NAMES
            .iter()
            .position(|n| *n == name)
            .map(|i| Feature::ALL[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_constants_name_the_classes() {
        let named = [
            (class::HANDSHAKE, "handshake"),
            (class::SYN, "syn"),
            (class::ACK, "ack"),
            (class::RETRANSMIT, "retransmit"),
            (class::NOT_RELEVANT, "not_relevant"),
            (class::JUSTIFIED, "justified"),
            (class::NOT_JUSTIFIED, "not_justified"),
            (class::EXPECTED, "expected"),
        ];
        for (id, name) in named {
            assert_eq!(class_id(name), Some(id), "{name}");
        }
    }
}
