//! The offline feature extractor: the kernel's computation, in user space,
//! over a capture. Same parser, same flow rules (alexa-common); flow state in
//! a hash map, time from the capture.

use std::{collections::HashMap, path::Path};

use alexa_common::{flow, parse, Features, FlowKey, FlowState, Packet, Verdict};
use anyhow::{bail, Result};

use crate::{
    offline::capture::CaptureReader,
    offline::labels::CheckedLabel,
    offline::row::{csv_header, Row},
    util::atomic_file::AtomicFile,
    util::progress::Progress,
};

/// What became of one frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Classified(Packet, Features),
    Foreign,
    Other,
    Malformed,
}

/// Which sources are monitored; `None` monitors every host.
pub type DeviceSet = Option<std::collections::HashSet<[u8; 16]>>;

#[derive(Default)]
pub struct Extractor {
    devices: DeviceSet,
    /// foldhash rather than SipHash: hashing was a tenth of `alexa extract`'s
    /// time (docs/benchmarks.md, section 4); its seed is still per process.
    flows: HashMap<FlowKey, FlowState, foldhash::fast::RandomState>,
}

impl Extractor {
    pub fn new(devices: DeviceSet) -> Self {
        Extractor {
            devices,
            flows: HashMap::default(),
        }
    }

    /// Takes one frame seen at `ts_ns` (nanoseconds, any epoch).
    pub fn frame(&mut self, data: &[u8], ts_ns: u64, microphone: bool) -> Outcome {
        let devices = &self.devices;
        let is_device = |a: &[u8; 16]| devices.as_ref().is_none_or(|d| d.contains(a));
        match parse(data, is_device) {
            Verdict::Packet(pkt) => {
                let prev = self.flows.get(&pkt.key);
                let (state, step) = flow::advance(prev, &pkt, data, ts_ns);
                self.flows.insert(pkt.key, state);
                Outcome::Classified(pkt, flow::features(&pkt, &step, microphone))
            }
            Verdict::Foreign => Outcome::Foreign,
            Verdict::Other => Outcome::Other,
            Verdict::Malformed => Outcome::Malformed,
        }
    }
}

/// Counts of what an extraction saw.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub frames: u64,
    pub classified: u64,
    pub written: u64,
    pub foreign: u64,
    pub other: u64,
    pub malformed: u64,
}

/// Streams `capture` through the extractor and hands each classified frame,
/// with its frame number, to `sink`. With `labels`, only the labelled frames
/// reach the sink, carrying the label's class and microphone state, and a
/// label on a frame the contract does not classify is an error.
pub fn extract_each(
    capture: &Path,
    devices: DeviceSet,
    microphone: bool,
    labels: Option<(&Path, &[CheckedLabel])>,
    mut sink: impl FnMut(u64, &Row) -> Result<()>,
) -> Result<Tally> {
    let mut reader = CaptureReader::open(capture)?;
    let total = std::fs::metadata(capture).map(|m| m.len()).unwrap_or(0);
    let mut progress = Progress::new("extract", total);
    let mut extractor = Extractor::new(devices);
    let mut tally = Tally::default();
    let mut next_label = 0usize;
    while let Some(frame) = reader.next_frame()? {
        tally.frames += 1;
        let label = match labels {
            Some((_, l)) => l.get(next_label).filter(|l| l.frame == frame.number),
            None => None,
        };
        let mic = label.map_or(microphone, |l| l.microphone);
        match extractor.frame(frame.data, frame.ts_ns, mic) {
            Outcome::Classified(pkt, features) => {
                tally.classified += 1;
                if labels.is_none() || label.is_some() {
                    let row = Row {
                        ts_ns: frame.ts_ns,
                        src: pkt.key.src,
                        dst: pkt.key.dst,
                        features,
                        class: label.map(|l| l.class),
                        model: 0,
                    };
                    sink(frame.number, &row)?;
                    tally.written += 1;
                }
            }
            outcome => {
                match outcome {
                    Outcome::Foreign => tally.foreign += 1,
                    Outcome::Other => tally.other += 1,
                    _ => tally.malformed += 1,
                }
                if let (Some((path, _)), Some(l)) = (labels, label) {
                    bail!(
                        "{}: line {}: frame {} is not a classified device packet ({outcome:?})",
                        path.display(),
                        l.line,
                        l.frame
                    );
                }
            }
        }
        if label.is_some() {
            next_label += 1;
        }
        progress.update(reader.position());
    }
    progress.finish();
    if let Some((path, l)) = labels {
        if let Some(missing) = l.get(next_label) {
            bail!(
                "{}: line {}: frame {} is not in {}",
                path.display(),
                missing.line,
                missing.frame,
                capture.display()
            );
        }
    }
    Ok(tally)
}

/// `alexa extract`: the dataset CSV, written whole or not at all.
pub fn extract_to_csv(
    capture: &Path,
    devices: DeviceSet,
    microphone: bool,
    labels: Option<(&Path, &[CheckedLabel])>,
    out: &Path,
) -> Result<Tally> {
    use std::io::Write as _;
    let mut file = AtomicFile::create(out)?;
    writeln!(file, "{}", csv_header())?;
    let tally = extract_each(capture, devices, microphone, labels, |_, row| {
        row.write_csv(file.writer())?;
        Ok(())
    })?;
    file.commit()?;
    Ok(tally)
}
