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

/// Defines a fieldless `#[repr(u8)]` enum whose values are 0, 1, ... in the
/// order written, each with its name, and gives it `ALL`, `COUNT`, `NAMES`,
/// `name`, `Display`, `FromStr` (from the name, for command lines, config
/// files and model files) and `TryFrom<u8>` (from the number in a map or an
/// event). The names are written once, beside the values.
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        pub enum $t:ident: $kind:literal {
            $( $(#[$vmeta:meta])* $v:ident = $name:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[repr(u8)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $t {
            $( $(#[$vmeta])* $v, )+
        }

        impl $t {
            /// Every value, in the order of their numbers (`ALL[i] as u8 == i`).
            pub const COUNT: usize = [$($name),+].len();
            pub const ALL: [$t; Self::COUNT] = [$($t::$v),+];
            /// The names, indexed by number.
            pub const NAMES: [&'static str; Self::COUNT] = [$($name),+];

            pub const fn name(self) -> &'static str {
                Self::NAMES[self as usize]
            }

            /// The value numbered `id`, if there is one.
            #[inline(always)]
            pub const fn from_u8(id: u8) -> Option<$t> {
                if (id as usize) < Self::COUNT {
                    Some(Self::ALL[id as usize])
                } else {
                    None
                }
            }
        }

        impl core::fmt::Display for $t {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(self.name())
            }
        }

        impl core::str::FromStr for $t {
            type Err = $crate::contract::UnknownName;
            fn from_str(s: &str) -> Result<$t, Self::Err> {
                match Self::NAMES.iter().position(|n| *n == s) {
                    Some(i) => Ok(Self::ALL[i]),
                    None => Err($crate::contract::UnknownName {
                        kind: $kind,
                        expected: &Self::NAMES,
                    }),
                }
            }
        }

        impl TryFrom<u8> for $t {
            type Error = $crate::contract::UnknownId;
            fn try_from(id: u8) -> Result<$t, Self::Error> {
                Self::from_u8(id).ok_or($crate::contract::UnknownId { kind: $kind, id })
            }
        }
    };
}
pub(crate) use named_enum;

/// A name that is none of a [`Class`]'s, `policy::Action`'s or
/// `policy::Mode`'s. The caller knows the name it read and where;
/// this says what was wanted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnknownName {
    /// `class`, `action` or `mode`.
    pub kind: &'static str,
    pub expected: &'static [&'static str],
}

impl core::fmt::Display for UnknownName {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "unknown {} (", self.kind)?;
        for (i, n) in self.expected.iter().enumerate() {
            f.write_str(if i == 0 { "expected one of: " } else { ", " })?;
            f.write_str(n)?;
        }
        f.write_str(")")
    }
}

impl core::error::Error for UnknownName {}

/// A number that is none of a [`Class`]'s, `policy::Action`'s or
/// `policy::Mode`'s (read from a map, an event or a file).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnknownId {
    pub kind: &'static str,
    pub id: u8,
}

impl core::fmt::Display for UnknownId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "unknown {} number {}", self.kind, self.id)
    }
}

impl core::error::Error for UnknownId {}

named_enum! {
    /// The eight classes of the paper, in the paper's order. The number is the
    /// class id carried by events, counters, the policy map and compiled
    /// trees (which store it as a `u8`).
    pub enum Class: "class" {
        Handshake = "handshake",
        Syn = "syn",
        Ack = "ack",
        Retransmit = "retransmit",
        NotRelevant = "not_relevant",
        Justified = "justified",
        NotJustified = "not_justified",
        Expected = "expected",
    }
}

/// Class names indexed by class id: [`Class::NAMES`] (the header of tables
/// and the `classes` of a model file).
pub const CLASS_NAMES: [&str; Class::COUNT] = Class::NAMES;
pub const NUM_CLASSES: usize = Class::COUNT;

/// Class id of a packet no model has classified (events, the kernel's walk).
pub const CLASS_NONE: u8 = 0xff;

/// The name of class id `id` (as read from an event or a map), `None` for
/// [`CLASS_NONE`] or any other number that is no class.
pub fn class_name(id: u8) -> Option<&'static str> {
    Class::from_u8(id).map(Class::name)
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
    fn class_numbers_and_names_agree() {
        for (i, c) in Class::ALL.iter().enumerate() {
            assert_eq!(*c as usize, i);
            assert_eq!(Class::try_from(i as u8), Ok(*c));
            assert_eq!(c.name().parse::<Class>(), Ok(*c));
        }
        assert_eq!(Class::NotJustified.name(), "not_justified");
        assert_eq!(Class::NotJustified as u8, 6);
        assert_eq!(class_name(CLASS_NONE), None);
        assert_eq!(
            Class::try_from(8),
            Err(UnknownId {
                kind: "class",
                id: 8
            })
        );
    }

    #[test]
    fn an_unknown_name_says_what_was_expected() {
        extern crate std;
        use std::string::ToString;
        let e = "voice".parse::<Class>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown class (expected one of: handshake, syn, ack, retransmit, \
             not_relevant, justified, not_justified, expected)"
        );
        assert!("Ack".parse::<Class>().is_err(), "names are exact");
    }
}
