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

#[test]
fn kernel_class_equals_user_space_walk() {
    if !privileged() {
        return;
    }
    for seed in [1u64, 2, 3, 4] {
        let tree = if seed == 4 {
            alexa_tests::trees::spine_tree(seed, alexa_common::TREE_MAX_DEPTH as usize)
        } else {
            alexa_tests::trees::random_tree(seed, 4096, 32)
        };
        let frames = synth::frames(100 + seed, 5_000);
        let r = parity::check_with_model(
            &format!("synthetic + tree {seed}"),
            &synth::devices(),
            Some((&tree, seed as u32)),
            frames,
        );
        eprintln!("class parity, tree {seed} ({} nodes): {r:?}", tree.len());
        assert!(r.classified > 2_000);
    }
}
