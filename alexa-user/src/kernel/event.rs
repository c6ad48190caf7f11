//! Ring-buffer records back into [`Event`]s.

use alexa_common::{Event, EventHead, EVENT_HEAD_SIZE, EVENT_SIZE, SNAP_LEN};

/// An event from a ring-buffer record: a whole [`Event`], or a head-only
/// record (no snap); `None` for any other size.
pub fn decode_event(bytes: &[u8]) -> Option<Event> {
    match bytes.len() {
        // SAFETY: exactly EVENT_SIZE bytes, read unaligned, and Event (repr(C),
        // integers and byte arrays only) accepts any bit pattern.
        EVENT_SIZE => Some(unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast::<Event>()) }),
        EVENT_HEAD_SIZE => Some(Event {
            // SAFETY: as above, for the head.
            head: unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast::<EventHead>()) },
            snap: [0; SNAP_LEN],
        }),
        _ => None,
    }
}
