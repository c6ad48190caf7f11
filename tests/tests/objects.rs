//! The gateway's XDP object carries the classifier and nothing of the lab:
//! the bench's reference programs (`alexa_bare`, `alexa_parse`,
//! `alexa_sink`) are in the lab's own object (alexa-lab-ebpf), which only
//! alexa-lab embeds. Read from the ELF objects as built, no kernel needed.

use std::collections::BTreeSet;

use alexa_common::maps::PROGRAM_NAME;
use alexa_lab::bench::kernel::{BARE, PARSE, SINK};

fn programs(what: &str, object: &[u8]) -> BTreeSet<String> {
    assert!(
        !object.is_empty(),
        "{what}: built without its XDP object (AYA_BUILD_SKIP)"
    );
    aya_obj::Object::parse(object)
        .unwrap_or_else(|e| panic!("{what}: not a BPF object: {e}"))
        .programs
        .into_keys()
        .collect()
}

#[test]
fn the_gateway_object_holds_the_classifier_and_no_lab_program() {
    let gateway = programs("the classifier's object", alexa::kernel::OBJECT);
    assert!(gateway.contains(PROGRAM_NAME), "{gateway:?}");
    for lab in [BARE, PARSE, SINK] {
        assert!(
            !gateway.contains(lab),
            "{lab} ships in the gateway's object: {gateway:?}"
        );
    }
}

#[test]
fn the_lab_object_holds_the_reference_programs_only() {
    let lab = programs("the lab's object", alexa_lab::files::LAB_OBJECT);
    let want: BTreeSet<String> = [BARE, PARSE, SINK].map(str::to_owned).into();
    assert_eq!(lab, want);
}
