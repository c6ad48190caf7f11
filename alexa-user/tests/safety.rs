//! The shipped model on the 55 real voice-command captures of an Echo it
//! never saw (`../shared/data/real/echo-voice-commands`, another device and
//! another year than its training data): with the microphone on it must not
//! break a real conversation, muted it must stop the uploads (issue 12's
//! targets, `alexa::offline::model::safety`). Every capture is checked, and the
//! figures are printed.

mod common;

use alexa::{
    kernel::default_quarantine_rule,
    kernel::device::Device,
    offline::model::safety::{check_capture, Safety},
};
use common::{voice_captures, VOICE_ECHO_MAC};

#[test]
fn the_shipped_model_never_breaks_a_real_conversation_and_stops_muted_uploads() {
    let Some(captures) = voice_captures() else {
        return;
    };
    let model = alexa::offline::model::load(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../models/echo.json"
    )))
    .expect("the shipped model");
    let echo: Device = VOICE_ECHO_MAC.parse().unwrap();
    let devices = Some([echo.key()].into_iter().collect());
    let rule = default_quarantine_rule();
    let mut total = Safety::default();
    for c in &captures {
        let s = check_capture(&model, c, &devices, &rule).expect("check the capture");
        // Every capture holds a conversation and its uploads.
        assert!(
            s.on_packets > 100 && s.muted_app > 50,
            "{}: {s:?}",
            c.display()
        );
        assert_eq!(s.on_quarantined, 0, "{}: {}", c.display(), s.summary());
        total.add(&s);
    }
    eprintln!("safety, {} captures: {}", captures.len(), total.summary());
    // Both readings of the captures saw the same packets.
    assert_eq!(total.on_packets, 31_545);
    assert!(total.muted_app + total.muted_network < total.on_packets);
    let failures = total.failures();
    assert!(failures.is_empty(), "{}", failures.join("; "));
}
