//! Kernel ↔ offline parity: every frame goes through the real XDP program
//! (`BPF_PROG_TEST_RUN`) and through the offline extractor; the verdict
//! category and every feature must agree exactly.
//!
//! Time is the one input the two sides cannot share: the kernel reads its
//! clock. So the offline side is fed the kernel's own timestamp for each
//! classified frame (from the event), and `delta` must then agree to the
//! microsecond. Frames the kernel does not classify leave no flow state on
//! either side.

use std::net::IpAddr;

use alexa::{
    kernel::device::Device,
    kernel::{decode_event, Probe},
    offline::extract::{Extractor, Outcome},
};
use alexa_common::{
    maps::counter, parse::mac_key, tree::classify_slice, Features, Node, CLASS_NONE,
};

/// XDP_PASS.
const PASS: u32 = 2;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ParityReport {
    pub frames: u64,
    pub classified: u64,
    pub foreign: u64,
    pub other: u64,
    pub malformed: u64,
    /// Frames shorter than an Ethernet header: the kernel never receives
    /// them (BPF_PROG_TEST_RUN refuses them too); offline must call them malformed.
    pub runt: u64,
    /// Frames longer than the linear part BPF_PROG_TEST_RUN gives the
    /// program (see [`linear_limit`]): compared on the bytes the program saw.
    pub beyond_linear: u64,
    /// The kernel's own `frames` and `malformed` counters after the run.
    pub kernel_frames: u64,
    pub kernel_malformed: u64,
}

/// What both sides made of one frame (they agreed, or the check panicked).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seen {
    Classified(Features),
    Foreign,
    Other,
    Malformed,
    /// Shorter than an Ethernet header: malformed offline, never seen by XDP.
    Runt,
}

/// The most frame bytes BPF_PROG_TEST_RUN puts in the XDP buffer's linear
/// part. A longer frame goes in as a multi-buffer packet whose tail sits in
/// fragments the program (built without `xdp.frags`) cannot read: for it,
/// `data_end` is this far in. On a real interface the program never sees
/// such a split: generic XDP linearises the skb, and driver mode refuses a
/// non-frags program when the MTU would need one. Measured once, from the
/// `frame_len` the kernel reports for an over-long frame.
pub fn linear_limit() -> usize {
    static LIMIT: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *LIMIT.get_or_init(|| {
        let mut k = Probe::load().expect("load the classifier");
        k.add_device(0, IpAddr::from([10, 0, 0, 2]))
            .expect("add device");
        let mut ring = k.take_events().expect("ring buffer");
        // A valid 29-byte UDP packet, then 16 KiB of padding.
        let mut frame = vec![2u8; 12];
        frame.extend([0x08, 0x00, 0x45, 0, 0, 29, 0, 0, 0x40, 0, 64, 17, 0, 0]);
        frame.extend([
            10, 0, 0, 2, 10, 0, 0, 1, 0x13, 0x88, 0, 53, 0, 9, 0, 0, b'x',
        ]);
        frame.resize(16 * 1024, 0);
        let (ret, _) = k.test_run(&frame, 1).expect("BPF_PROG_TEST_RUN");
        assert_eq!(ret, PASS, "probe frame not passed");
        let item = ring.next().expect("the probe frame was not classified");
        let ev = decode_event(&item).expect("event of the right size");
        let limit = ev.frame_len as usize;
        assert!(
            (MIN_FRAME..frame.len()).contains(&limit),
            "implausible linear part: {limit} bytes"
        );
        limit
    })
}

/// Shortest frame XDP (and BPF_PROG_TEST_RUN) accepts.
pub const MIN_FRAME: usize = 14;

fn category(before: &[u64], after: &[u64]) -> &'static str {
    let d = |i: u32| after[i as usize] - before[i as usize];
    if d(counter::FRAMES) != 1 {
        return "inconsistent counters";
    }
    match (
        d(counter::CLASSIFIED),
        d(counter::FOREIGN),
        d(counter::OTHER),
        d(counter::MALFORMED),
    ) {
        (1, 0, 0, 0) => "classified",
        (0, 1, 0, 0) => "foreign",
        (0, 0, 1, 0) => "other",
        (0, 0, 0, 1) => "malformed",
        _ => "inconsistent counters",
    }
}

/// Runs `frames` (number, bytes) through both sides with `devices`
/// monitored and the microphone on; panics on the first disagreement,
/// naming `corpus`, the frame and the field.
pub fn check(
    corpus: &str,
    devices: &[impl Into<Device> + Copy],
    frames: impl IntoIterator<Item = (u64, Vec<u8>)>,
) -> ParityReport {
    check_with_model(corpus, devices, None, frames)
}

/// [`check`], with a compiled tree loaded in the kernel: the kernel's class
/// must also equal the user-space walk of the same tree on the offline features.
pub fn check_with_model(
    corpus: &str,
    devices: &[impl Into<Device> + Copy],
    model: Option<(&[Node], u32)>,
    frames: impl IntoIterator<Item = (u64, Vec<u8>)>,
) -> ParityReport {
    check_each(corpus, devices, model, frames, |_, _| {})
}

/// [`check_with_model`], handing each frame's agreed outcome to `each`
/// (with the frame number), for callers that judge frames further.
pub fn check_each(
    corpus: &str,
    devices: &[impl Into<Device> + Copy],
    model: Option<(&[Node], u32)>,
    frames: impl IntoIterator<Item = (u64, Vec<u8>)>,
    each: impl FnMut(u64, Seen),
) -> ParityReport {
    let limit = linear_limit();
    let mut kernel = Probe::load().expect("load the classifier");
    let test_run = |k: &mut Probe, frame: &[u8]| {
        let (ret, _) = k.test_run(frame, 1).expect("BPF_PROG_TEST_RUN");
        Delivered {
            action: ret,
            seen: frame.len().min(limit),
        }
    };
    check_via(corpus, &mut kernel, devices, model, frames, test_run, each)
}

/// How one frame reached the program.
#[derive(Clone, Copy, Debug)]
pub struct Delivered {
    /// The XDP action (XDP_PASS = 2): BPF_PROG_TEST_RUN's return value, or
    /// on a live interface whether the frame came out past the program.
    pub action: u32,
    /// Bytes of the frame the program could read.
    pub seen: usize,
}

/// The parity check with the frame delivery left to `deliver`
/// (BPF_PROG_TEST_RUN, or a live interface `kernel` is attached to). The
/// kernel's counters must move by exactly one frame per delivery.
pub fn check_via(
    corpus: &str,
    kernel: &mut Probe,
    devices: &[impl Into<Device> + Copy],
    model: Option<(&[Node], u32)>,
    frames: impl IntoIterator<Item = (u64, Vec<u8>)>,
    mut deliver: impl FnMut(&mut Probe, &[u8]) -> Delivered,
    mut each: impl FnMut(u64, Seen),
) -> ParityReport {
    if let Some((nodes, version)) = model {
        kernel.load_tree(nodes, version).expect("load the tree");
    }
    for (i, d) in devices.iter().enumerate() {
        kernel.add_device(i as u8, *d).expect("add device");
    }
    kernel.set_microphone(true).expect("set microphone");
    let mut ring = kernel.take_events().expect("ring buffer");
    let keys: Vec<[u8; 16]> = devices.iter().map(|d| (*d).into().key()).collect();
    // The device a classified frame must be reported as: its source IP's
    // index when that is listed, else its source MAC's (the parser's order).
    let device_of = |src: &[u8; 16], frame: &[u8]| -> Option<u8> {
        let mac: [u8; 6] = frame[6..12].try_into().ok()?;
        let pos = |k: &[u8; 16]| keys.iter().position(|x| x == k);
        pos(src).or_else(|| pos(&mac_key(&mac))).map(|i| i as u8)
    };
    let set = keys.iter().copied().collect();
    let mut offline = Extractor::new(Some(set));
    let mut report = ParityReport::default();
    let mut before = kernel.counters().expect("counters");
    for (number, frame) in frames {
        if frame.len() < MIN_FRAME {
            let outcome = offline.frame(&frame, 0, true);
            assert_eq!(
                outcome,
                Outcome::Malformed,
                "{corpus}: frame {number}: runt not malformed offline"
            );
            report.frames += 1;
            report.runt += 1;
            each(number, Seen::Runt);
            continue;
        }
        let Delivered { action: ret, seen } = deliver(kernel, &frame);
        let seen = &frame[..seen];
        report.beyond_linear += (seen.len() < frame.len()) as u64;
        assert_eq!(
            ret, PASS,
            "{corpus}: frame {number}: kernel returned {ret}, not XDP_PASS"
        );
        let after = kernel.counters().expect("counters");
        let kcat = category(&before, &after);
        before = after;
        let event = ring
            .next()
            .map(|item| decode_event(&item).expect("event of the right size"));
        assert!(
            ring.next().is_none(),
            "{corpus}: frame {number}: more than one event"
        );
        let ts_ns = event.map_or(0, |e| e.ts_ns);
        let outcome = offline.frame(seen, ts_ns, true);
        report.frames += 1;
        match (kcat, outcome, event) {
            ("classified", Outcome::Classified(pkt, features), Some(ev)) => {
                report.classified += 1;
                assert_eq!(ev.src, pkt.key.src, "{corpus}: frame {number}: src");
                assert_eq!(ev.dst, pkt.key.dst, "{corpus}: frame {number}: dst");
                assert_eq!(
                    Some(ev.device),
                    device_of(&pkt.key.src, seen),
                    "{corpus}: frame {number}: device index"
                );
                assert_eq!(ev.frame_len as usize, seen.len(), "{corpus}: frame {number}: frame_len");
                if ev.features != features {
                    panic!(
                        "{corpus}: frame {number}: features differ\n kernel:  {:?}\n offline: {features:?}",
                        ev.features
                    );
                }
                let (want_class, want_version) = match model {
                    Some((nodes, v)) => (classify_slice(nodes, &features).unwrap_or(CLASS_NONE), v),
                    None => (CLASS_NONE, 0),
                };
                assert_eq!(ev.class, want_class, "{corpus}: frame {number}: class");
                assert_eq!(ev.model_version, want_version, "{corpus}: frame {number}: model version");
                each(number, Seen::Classified(features));
            }
            ("foreign", Outcome::Foreign, None) => {
                report.foreign += 1;
                each(number, Seen::Foreign);
            }
            ("other", Outcome::Other, None) => {
                report.other += 1;
                each(number, Seen::Other);
            }
            ("malformed", Outcome::Malformed, None) => {
                report.malformed += 1;
                each(number, Seen::Malformed);
            }
            (k, o, e) => panic!(
                "{corpus}: frame {number}: kernel says {k} (event: {}), offline says {o:?}\n frame: {}",
                e.is_some(),
                hex(&frame)
            ),
        }
    }
    let totals = kernel.counters().expect("counters");
    report.kernel_frames = totals[counter::FRAMES as usize];
    report.kernel_malformed = totals[counter::MALFORMED as usize];
    report
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// All frames of a capture, numbered from 1.
pub fn capture_frames(path: &std::path::Path) -> Vec<(u64, Vec<u8>)> {
    let mut reader = alexa::offline::capture::CaptureReader::open(path).expect("open capture");
    let mut out = Vec::new();
    while let Some(f) = reader.next_frame().expect("read capture") {
        out.push((f.number, f.data.to_vec()));
    }
    out
}
