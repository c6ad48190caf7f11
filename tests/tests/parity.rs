//! Kernel features == offline features, on every frame of each corpus.

use alexa_tests::{parity, privileged, synth};

#[test]
fn synthetic_and_hostile_frames() {
    if !privileged() {
        return;
    }
    let frames = synth::frames(7, 20_000);
    let r = parity::check("synthetic seed 7", &synth::devices(), frames);
    eprintln!("parity synthetic: {r:?}");
    assert_eq!(r.frames, 20_000);
    // The generator must have produced every category, or the test proves little.
    assert!(r.classified > 10_000, "{r:?}");
    assert!(
        r.foreign > 500 && r.other > 100 && r.malformed > 300,
        "{r:?}"
    );
}
