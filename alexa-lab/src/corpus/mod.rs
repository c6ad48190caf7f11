//! The fixture corpus: real captures made in throwaway network namespaces
//! (`live`) and hand-made edge cases (`edge`), written as classic pcap files
//! with a `<name>.devices` file beside each (the device addresses, one per
//! line) and a `MANIFEST` of frame counts. See docs/corpus.md.

pub mod craft;
pub mod edge;
pub mod live;
pub mod pcap;

use std::{
    fmt::Write as _,
    net::IpAddr,
    path::{Path, PathBuf},
};

use anyhow::{Context, Result};

/// Name of the file listing every fixture and its frame count.
pub const MANIFEST: &str = "MANIFEST";

/// One fixture: frames plus the addresses that are the device.
pub struct Fixture {
    pub name: String,
    pub frames: Vec<pcap::Frame>,
    pub devices: Vec<IpAddr>,
}

impl Fixture {
    pub fn edge(name: &str, frames: Vec<pcap::Frame>, devices: &[IpAddr]) -> Fixture {
        Fixture {
            name: name.into(),
            frames,
            devices: devices.to_vec(),
        }
    }

    /// Writes `<out>/<name>.pcap` and `<out>/<name>.devices`.
    pub fn write(&self, out: &Path) -> Result<()> {
        pcap::write(&out.join(format!("{}.pcap", self.name)), &self.frames)?;
        let mut devices = String::new();
        for d in &self.devices {
            writeln!(devices, "{d}").expect("write to String");
        }
        let path = out.join(format!("{}.devices", self.name));
        std::fs::write(&path, devices).with_context(|| format!("{}: cannot write", path.display()))
    }
}

/// The pcap files of a fixture directory, sorted by name.
pub fn pcaps(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("{}: cannot list", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "pcap"))
        .collect();
    v.sort();
    Ok(v)
}

/// The device addresses listed beside `pcap` (`<name>.devices`).
pub fn devices_of(pcap: &Path) -> Result<Vec<IpAddr>> {
    let path = pcap.with_extension("devices");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("{}: cannot read the device list", path.display()))?;
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            l.parse()
                .with_context(|| format!("{}: `{l}` is not an IP address", path.display()))
        })
        .collect()
}

/// Rewrites `<dir>/MANIFEST`: one `name<TAB>frames` line per pcap file.
pub fn write_manifest(dir: &Path) -> Result<()> {
    let mut text = String::from("# fixture\tframes (written by make-corpus)\n");
    for p in pcaps(dir)? {
        let frames = pcap::read(&p)?.len();
        let name = p.file_stem().unwrap_or_default().to_string_lossy();
        writeln!(text, "{name}\t{frames}").expect("write to String");
    }
    let path = dir.join(MANIFEST);
    std::fs::write(&path, text).with_context(|| format!("{}: cannot write", path.display()))
}

/// Reads `<dir>/MANIFEST` as (name, frames) pairs.
pub fn read_manifest(dir: &Path) -> Result<Vec<(String, usize)>> {
    let path = dir.join(MANIFEST);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (name, n) = l
                .split_once('\t')
                .with_context(|| format!("{}: bad line `{l}`", path.display()))?;
            let n = n
                .trim()
                .parse()
                .with_context(|| format!("{}: bad frame count in `{l}`", path.display()))?;
            Ok((name.to_string(), n))
        })
        .collect()
}
