//! The hostile corpus (`tests/src/synth/hostile.rs`) through the real XDP
//! program and the offline extractor: every frame must pass (no policy is
//! loaded, so nothing may be dropped), kernel and offline must agree on
//! every frame, the kernel's malformed counter must equal the number of
//! frames the offline parser calls malformed, and each frame the recipe
//! decides must get the outcome the contract gives it.
//!
//! Smoke size always (20,000 frames, one seed); `ALEXA_LONG=1` runs ten
//! seeds of 100,000 frames each.

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use alexa::kernel::{AttachMode, Probe};
use alexa_common::{maps::counter, parse, Verdict};
use alexa_lab::{
    agent::wait_for,
    parity::{self, Delivered, Seen},
    synth::{
        self,
        hostile::{self, Category, Expect, HostileFrame},
    },
    wire::{PacketSocket, QuietLink},
};
use alexa_tests::privileged;

const SMOKE_FRAMES: usize = 20_000;
const LONG_FRAMES: usize = 100_000;
const SMOKE_SEEDS: std::ops::RangeInclusive<u64> = 11..=11;
const LONG_SEEDS: std::ops::RangeInclusive<u64> = 11..=20;
const XDP_PASS: u32 = 2;
const XDP_DROP: u32 = 1;

fn long() -> bool {
    std::env::var("ALEXA_LONG").is_ok_and(|v| v == "1")
}

/// (seeds, frames per seed).
fn plan() -> (std::ops::RangeInclusive<u64>, usize) {
    if long() {
        (LONG_SEEDS, LONG_FRAMES)
    } else {
        (SMOKE_SEEDS, SMOKE_FRAMES)
    }
}

#[derive(Default, Debug)]
struct Counts {
    frames: u64,
    classified: u64,
    foreign: u64,
    other: u64,
    malformed: u64,
    runt: u64,
    /// Frames whose outcome the recipe decides (and that got it).
    decided: u64,
}

impl Counts {
    fn add(&mut self, seen: &Seen) {
        self.frames += 1;
        match seen {
            Seen::Classified(_) => self.classified += 1,
            Seen::Foreign => self.foreign += 1,
            Seen::Other => self.other += 1,
            Seen::Malformed => self.malformed += 1,
            Seen::Runt => self.runt += 1,
        }
    }
}

fn kind(seen: &Seen) -> Expect {
    match seen {
        Seen::Classified(_) => Expect::Classified,
        Seen::Foreign => Expect::Foreign,
        Seen::Other => Expect::Other,
        Seen::Malformed | Seen::Runt => Expect::Malformed,
    }
}

/// The shared parser's verdict on the whole frame.
fn whole_frame_kind(frame: &[u8]) -> Expect {
    let devices: Vec<[u8; 16]> = synth::devices()
        .into_iter()
        .map(alexa::util::net::ip_to_mapped)
        .collect();
    match parse(frame, |a: &[u8; 16]| devices.contains(a)) {
        Verdict::Packet(_) => Expect::Classified,
        Verdict::Foreign => Expect::Foreign,
        Verdict::Other => Expect::Other,
        Verdict::Malformed => Expect::Malformed,
    }
}

/// Judges one frame against its recipe; returns a complaint, if any.
fn judge(number: u64, h: &HostileFrame, got: Expect, counts: &mut Counts) -> Option<String> {
    let want = h.expect?;
    if want == got {
        counts.decided += 1;
        return None;
    }
    Some(format!(
        "frame {number} ({:?}, {} bytes): expected {want:?}, got {got:?}: {}",
        h.category,
        h.frame.len(),
        h.frame
            .iter()
            .take(96)
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    ))
}

fn table(per: &BTreeMap<Category, Counts>) -> String {
    let mut s = format!(
        "{:<22}{:>8}{:>11}{:>9}{:>7}{:>11}{:>6}{:>9}\n",
        "category", "frames", "classified", "foreign", "other", "malformed", "runt", "decided"
    );
    for (c, n) in per {
        s.push_str(&format!(
            "{:<22}{:>8}{:>11}{:>9}{:>7}{:>11}{:>6}{:>9}\n",
            format!("{c:?}"),
            n.frames,
            n.classified,
            n.foreign,
            n.other,
            n.malformed,
            n.runt,
            n.decided
        ));
    }
    s
}

#[test]
fn hostile_corpus_through_bpf_prog_test_run() {
    if !privileged() {
        return;
    }
    let (seeds, n) = plan();
    let limit = parity::linear_limit();
    let mut per: BTreeMap<Category, Counts> = BTreeMap::new();
    let mut total = parity::ParityReport::default();
    let (mut generating, mut checking) = (Duration::ZERO, Duration::ZERO);
    for seed in seeds.clone() {
        let start = Instant::now();
        let corpus = hostile::corpus(seed, n);
        generating += start.elapsed();
        let start = Instant::now();
        let mut complaints = Vec::new();
        let frames = corpus
            .iter()
            .enumerate()
            .map(|(i, h)| (i as u64 + 1, h.frame.clone()));
        let r = parity::check_each(
            &format!("hostile seed {seed}"),
            &synth::devices(),
            None,
            frames,
            |number, seen| {
                let h = &corpus[number as usize - 1];
                let counts = per.entry(h.category).or_default();
                counts.add(&seen);
                // Past the linear part the program judged a prefix (and
                // agreed with offline on it); the recipe speaks of the whole
                // frame, which the live-link test delivers whole.
                let got = if h.frame.len() > limit {
                    whole_frame_kind(&h.frame)
                } else {
                    kind(&seen)
                };
                complaints.extend(judge(number, h, got, counts));
            },
        );
        checking += start.elapsed();
        assert!(
            complaints.is_empty(),
            "seed {seed}: {} frames did not get the outcome their recipe gives:\n{}",
            complaints.len(),
            complaints[..complaints.len().min(20)].join("\n")
        );
        assert_eq!(r.frames, n as u64);
        assert_eq!(
            r.kernel_frames,
            r.frames - r.runt,
            "seed {seed}: the kernel did not see every frame"
        );
        assert_eq!(
            r.kernel_malformed, r.malformed,
            "seed {seed}: kernel malformed counter != frames the offline parser calls malformed"
        );
        for (sum, x) in [
            (&mut total.frames, r.frames),
            (&mut total.classified, r.classified),
            (&mut total.foreign, r.foreign),
            (&mut total.other, r.other),
            (&mut total.malformed, r.malformed),
            (&mut total.runt, r.runt),
            (&mut total.beyond_linear, r.beyond_linear),
            (&mut total.kernel_frames, r.kernel_frames),
            (&mut total.kernel_malformed, r.kernel_malformed),
        ] {
            *sum += x;
        }
    }
    eprintln!(
        "hostile corpus, seeds {seeds:?} x {n} frames: generated in {:.1} s, checked in {:.1} s; \
         BPF_PROG_TEST_RUN linear part {limit} bytes\n{}{total:?}",
        generating.as_secs_f64(),
        checking.as_secs_f64(),
        table(&per)
    );
    for c in Category::ALL {
        let got = per.get(&c).map_or(0, |x| x.frames);
        assert!(
            got >= total.frames / 50,
            "category {c:?} has only {got} frames"
        );
    }
    for (what, count) in [
        ("classified", total.classified),
        ("foreign", total.foreign),
        ("other", total.other),
        ("malformed", total.malformed),
        ("runt", total.runt),
        ("beyond the linear part", total.beyond_linear),
    ] {
        assert!(
            count > 0,
            "no {what} frame in the corpus: it proves too little"
        );
    }
    let decided: u64 = per.values().map(|c| c.decided).sum();
    assert!(
        decided * 10 >= total.frames * 7,
        "only {decided} of {} frames have an outcome from their recipe",
        total.frames
    );
}

/// The frames BPF_PROG_TEST_RUN cannot give the program whole (jumbo
/// payloads up to 9,000 bytes), sent over a real veth (MTU 9,216) into the
/// program attached in generic mode, where the kernel hands it the whole
/// frame. Each frame must arrive past the program unchanged (XDP_PASS) and
/// kernel and offline must agree on all of it.
#[test]
fn jumbo_frames_whole_on_a_live_link() {
    if !privileged() {
        return;
    }
    let limit = parity::linear_limit();
    let (seeds, n) = plan();
    // Frames numbered across seeds; flows of different seeds share tuples,
    // which both sides see alike.
    let mut picked: Vec<(u64, HostileFrame)> = Vec::new();
    for seed in seeds {
        let base = picked.len() as u64;
        picked.extend(
            hostile::corpus(seed, n)
                .into_iter()
                .filter(|h| h.category == Category::JumboPayload || h.frame.len() > limit)
                .enumerate()
                .map(|(i, h)| (base + i as u64 + 1, h)),
        );
    }
    let by_number: BTreeMap<u64, &HostileFrame> = picked.iter().map(|(n, h)| (*n, h)).collect();
    let longest = picked.iter().map(|(_, h)| h.frame.len()).max().unwrap_or(0);
    assert!(longest > 9000, "no 9,000-byte payload in the corpus");

    let link = QuietLink::new("jumbo", 9216);
    let mut kernel = Probe::load().expect("load the classifier");
    {
        let _inside = link.rx_ns.enter();
        kernel
            .attach(link.rx_if, AttachMode::Skb)
            .expect("attach in generic mode");
    }
    let tx = PacketSocket::open(&link.tx_ns, link.tx_if);
    let rx = PacketSocket::open(&link.rx_ns, link.rx_if);
    let deliver = |k: &mut Probe, frame: &[u8]| {
        let before = k.counters().expect("counters")[counter::FRAMES as usize];
        tx.send(frame)
            .unwrap_or_else(|e| panic!("send a {}-byte frame: {e}", frame.len()));
        let ran = wait_for(Duration::from_secs(2), || {
            k.counters().expect("counters")[counter::FRAMES as usize] > before
        });
        assert!(ran, "the program never saw a {}-byte frame", frame.len());
        let action = match rx.recv(Duration::from_secs(2)) {
            Some(got) if same_frame(&got, frame) => XDP_PASS,
            Some(got) => panic!(
                "a different frame arrived: {} bytes for {}",
                got.len(),
                frame.len()
            ),
            None => XDP_DROP,
        };
        Delivered {
            action,
            seen: frame.len(),
        }
    };
    let mut complaints = Vec::new();
    let mut counts = Counts::default();
    let frames = picked.iter().map(|(n, h)| (*n, h.frame.clone()));
    let start = Instant::now();
    let r = parity::check_via(
        "hostile jumbo frames, live veth",
        &mut kernel,
        &synth::devices(),
        None,
        frames,
        deliver,
        |number, seen| {
            let h = by_number[&number];
            counts.add(&seen);
            complaints.extend(judge(number, h, kind(&seen), &mut counts));
        },
    );
    {
        // Detach where the interface is.
        let _inside = link.rx_ns.enter();
        drop(kernel);
    }
    eprintln!(
        "hostile jumbo frames on a live veth: {} frames (longest {longest} bytes) in {:.1} s: {counts:?}",
        r.frames,
        start.elapsed().as_secs_f64()
    );
    assert!(
        complaints.is_empty(),
        "{} frames did not get the outcome their recipe gives:\n{}",
        complaints.len(),
        complaints[..complaints.len().min(20)].join("\n")
    );
    assert_eq!(r.frames, picked.len() as u64);
    assert_eq!(r.beyond_linear, 0);
    assert_eq!(r.kernel_frames, r.frames);
    assert_eq!(r.kernel_malformed, r.malformed);
    assert!(
        r.classified * 2 > r.frames,
        "most jumbo frames are valid device packets: {r:?}"
    );
}

/// The receiving stack strips the outermost VLAN tag before a packet
/// socket sees the frame; everything else must be byte for byte the same.
fn same_frame(got: &[u8], sent: &[u8]) -> bool {
    if got == sent {
        return true;
    }
    let tagged = sent.len() >= 18 && matches!(sent[12..14], [0x81, 0x00] | [0x88, 0xa8]);
    tagged && got.len() + 4 == sent.len() && got[..12] == sent[..12] && got[12..] == sent[16..]
}
