//! The pcap/pcapng reader over arbitrary bytes, every frame it yields fed to
//! the offline extractor. Errors must be one line naming the file and a byte
//! offset inside the input; frames must be numbered 1, 2, 3... and lie inside it.
#![no_main]

use std::{io::Cursor, path::Path};

use alexa::{
    offline::capture::{CaptureError, CaptureReader, MAX_RECORD_BYTES},
    offline::extract::Extractor,
};
use libfuzzer_sys::fuzz_target;

fn check_error(e: &CaptureError, len: usize) {
    let text = e.to_string();
    assert!(!text.contains('\n'), "multi-line error: {text:?}");
    assert!(
        text.starts_with("fuzz.pcap: "),
        "error does not name the file: {text:?}"
    );
    if let CaptureError::Corrupt { offset, .. } = e {
        assert!(
            *offset <= len as u64,
            "offset {offset} past the input ({len} bytes)"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let input = Box::new(Cursor::new(data.to_vec()));
    let mut reader = match CaptureReader::from_reader(Path::new("fuzz.pcap"), input) {
        Ok(r) => r,
        Err(e) => return check_error(&e, data.len()),
    };
    let mut extractor = Extractor::new(None);
    let mut expected = 1;
    loop {
        match reader.next_frame() {
            Ok(Some(f)) => {
                assert_eq!(f.number, expected);
                expected += 1;
                assert!(f.data.len() <= MAX_RECORD_BYTES);
                assert!(f.offset as usize + f.data.len() <= data.len());
                extractor.frame(f.data, f.ts_ns, true);
            }
            Ok(None) => break,
            Err(e) => return check_error(&e, data.len()),
        }
    }
    assert!(reader.position() as usize <= data.len());
});
