//! The model-file loader and validator over arbitrary bytes. A model that
//! loads must classify every input to a real class (a validated tree has no
//! dangling child, no cycle, no path past the depth bound), and survive a
//! write/read round trip unchanged; a refusal must be one line.
#![no_main]

use alexa::offline::model::file::from_slice;
use alexa_common::{Features, NUM_CLASSES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let model = match from_slice(data) {
        Ok(m) => m,
        Err(e) => {
            let text = format!("{e:#}");
            assert!(!text.contains('\n'), "multi-line error: {text:?}");
            return;
        }
    };
    // Feature values from the input's bytes, and the extremes.
    let mut probes = vec![Features::default()];
    let mut f = Features::default();
    for chunk in data.chunks(8).take(64) {
        let mut b = [0u8; 8];
        b[..chunk.len()].copy_from_slice(chunk);
        let v = u64::from_le_bytes(b);
        f.delta_us = v;
        f.delta = (v >> 4) as u32;
        f.length = v as u32;
        f.payload_len = (v >> 12) as u32;
        f.record_len = (v >> 40) as u16;
        f.dstport = (v >> 16) as u16;
        f.srcport = (v >> 32) as u16;
        f.flow_index = (v >> 8) as u32;
        f.tcp_flags = v as u8;
        f.content_type = (v >> 24) as u8;
        probes.push(f);
    }
    probes.push(Features {
        delta_us: u64::MAX,
        length: u32::MAX,
        payload_len: u32::MAX,
        delta: u32::MAX,
        flow_index: u32::MAX,
        dstport: u16::MAX,
        srcport: u16::MAX,
        record_len: u16::MAX,
        highest_layer: u8::MAX,
        content_type: u8::MAX,
        ack_flag: 1,
        microphone: 1,
        proto: u8::MAX,
        tcp_flags: u8::MAX,
        tcp_retrans: 1,
        _pad: 0,
        _pad2: 0,
    });
    for p in &probes {
        let class = model.predict(p);
        assert!(
            (class as usize) < NUM_CLASSES,
            "a validated model gave class {class}"
        );
    }
    assert_ne!(model.version_id(), 0);
    let json = serde_json::to_vec(&model.file).expect("a loaded model serialises");
    let again = from_slice(&json).expect("a saved model loads again");
    assert_eq!(again.nodes, model.nodes);
    assert_eq!(again.file, model.file);
});
