//! The contract parser over a slice frame, and the offline extractor (parser
//! plus flow rules) over a sequence of frames from one input, so flow state
//! carries hostile values from frame to frame.
//!
//! Input: one mode byte, then frames, each a 2-byte big-endian length, a
//! 1-byte time step (ms) and that many bytes (fewer at the end).
#![no_main]

use alexa::offline::extract::{Extractor, Outcome};
use alexa_common::{layer, parse, Verdict};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, mut rest)) = data.split_first() else {
        return;
    };
    // Every host a device (full depth), or none (the foreign fast path).
    let all = mode & 1 == 0;
    let devices = if all { None } else { Some(Default::default()) };
    let mut extractor = Extractor::new(devices);
    let mut ts_ns = u64::from(mode) << 50;
    while rest.len() >= 3 {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        ts_ns += u64::from(rest[2]) * 1_000_000;
        let body = &rest[3..];
        let frame = &body[..len.min(body.len())];
        rest = &body[frame.len()..];

        let verdict = parse(frame, |_: &[u8; 16]| all);
        let outcome = extractor.frame(frame, ts_ns, mode & 2 == 0);
        match (verdict, outcome) {
            (Verdict::Packet(p), Outcome::Classified(q, f)) => {
                assert_eq!(p, q, "the extractor parsed differently");
                assert!(p.payload_len as usize <= frame.len(), "payload beyond the frame");
                assert!(p.frame_len as usize <= frame.len(), "length beyond the frame");
                assert_eq!(f.length, p.frame_len);
                assert_eq!(f.payload_len, p.payload_len);
                assert!(f.flow_index >= 1);
                assert!(f.tcp_retrans <= 1 && f.ack_flag <= 1 && f.microphone <= 1);
                assert!(matches!(f.proto, 6 | 17));
                assert!(f.highest_layer <= layer::HTTP);
            }
            (Verdict::Foreign, Outcome::Foreign)
            | (Verdict::Other, Outcome::Other)
            | (Verdict::Malformed, Outcome::Malformed) => {}
            (v, o) => panic!("parse says {v:?}, the extractor {o:?}"),
        }
        if !all {
            assert!(
                !matches!(verdict, Verdict::Packet(_)),
                "no device, yet classified"
            );
        }
    }
});
