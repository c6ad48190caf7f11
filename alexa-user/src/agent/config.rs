//! The agent's one config file (`/etc/alexa/alexa.toml`): what the unit runs
//! with, validated with the line of every mistake, and the place run-time
//! changes (`mic`, `policy set`, `model load`) are written back to, so they
//! survive a restart. Flags given to `alexa run` override the file.
//!
//! Values are checked while they are read, so toml reports a bad one with
//! its own line and column; only checks across keys have no line.

use std::{
    collections::BTreeMap,
    fmt,
    net::SocketAddr,
    path::{Path, PathBuf},
    str::FromStr,
};

use anyhow::{anyhow, bail, Context as _, Result};
use serde::{de, Deserialize, Deserializer};

use crate::{kernel::device::Device, kernel::AttachMode};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnOff {
    On,
    Off,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Never drop; what the policy would drop is logged as an alert.
    Monitor,
    /// Drop what the policy says, and quarantined flows.
    Enforce,
}

pub const DEFAULT_CONFIG: &str = "/etc/alexa/alexa.toml";
/// Devices the kernel's device map holds (`alexa_common::DEVICE_CAPACITY`).
pub const MAX_DEVICES: usize = alexa_common::DEVICE_CAPACITY as usize;

/// The file as written. Every key is optional: a flag or a default fills
/// what is missing (`alexa run --help` names the defaults).
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub interface: Option<String>,
    pub mode: Option<Mode>,
    pub microphone: Option<OnOff>,
    /// A model file, `builtin` (the shipped model) or `none`.
    pub model: Option<ModelChoice>,
    #[serde(default)]
    pub policy: Vec<Rule>,
    pub quarantine: Option<Quarantine>,
    pub xdp_mode: Option<AttachMode>,
    /// Turn on the kernel's BPF run-time statistics (cost per packet).
    pub kernel_stats: Option<bool>,
    /// Report a listed device silent after this many minutes (0: never).
    pub silence_minutes: Option<f64>,
    pub pin_dir: Option<AbsPath>,
    pub control_socket: Option<AbsPath>,
    /// Name to IP or MAC address.
    #[serde(default)]
    pub devices: BTreeMap<DeviceName, Device>,
    #[serde(default)]
    pub log: LogSection,
    #[serde(default)]
    pub evidence: EvidenceSection,
    #[serde(default)]
    pub api: ApiSection,
}

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct LogSection {
    /// `-` for standard output.
    pub path: Option<LogPath>,
    pub max_bytes: Option<u64>,
    pub keep: Option<u32>,
    pub acks: Option<Positive>,
}

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct EvidenceSection {
    /// `none` for no evidence capture.
    pub path: Option<OrNone<AbsPath>>,
    pub max_bytes: Option<u64>,
    pub keep: Option<u32>,
    pub justified: Option<bool>,
}

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct ApiSection {
    /// The local API's `ADDR:PORT`, or `none`.
    pub listen: Option<OrNone<SocketAddr>>,
    /// The Prometheus exposition's `ADDR:PORT`, or `none`.
    pub metrics: Option<OrNone<SocketAddr>>,
    pub token_file: Option<AbsPath>,
}

/// Reads and checks `path`; errors are one line, `FILE:LINE:COLUMN: what`.
pub fn load(path: &Path) -> Result<Config> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read the config file", path.display()))?;
    parse(&text).map_err(|e| anyhow!("{}:{e}", path.display()))
}

/// Parses a config's text; an error starts with `LINE:COLUMN: ` when toml
/// knows where.
pub fn parse(text: &str) -> Result<Config> {
    let config: Config = toml::from_str(text).map_err(|e| {
        let message = e.message().trim_end().replace('\n', "; ");
        match e.span() {
            Some(span) => {
                let (line, col) = line_col(text, span.start);
                anyhow!("{line}:{col}: {message}")
            }
            None => anyhow!(" {message}"),
        }
    })?;
    if config.devices.len() > MAX_DEVICES {
        bail!(
            " {} devices listed; the kernel's device map holds {MAX_DEVICES}",
            config.devices.len()
        );
    }
    Ok(config)
}

/// 1-based line and column (in characters) of byte `offset`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// A change made while the agent runs, to be kept in the file.
pub enum Change<'a> {
    Microphone(bool),
    /// The whole policy as `CLASS=ACTION` rules.
    Policy(&'a [String]),
    /// An absolute model path.
    Model(&'a Path),
}

/// Writes `change` into the config file at `path`, keeping its comments and
/// layout, through a temporary file renamed into place: a crash leaves the
/// old file or the new one, never half of one. The new text is checked
/// before it replaces the old.
pub fn write_back(path: &Path, change: Change<'_>) -> Result<()> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read the config file", path.display()))?;
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e| anyhow!("{}: cannot update: {e}", path.display()))?;
    match change {
        Change::Microphone(on) => {
            doc["microphone"] = toml_edit::value(if on { "on" } else { "off" });
        }
        Change::Policy(rules) => {
            doc["policy"] = toml_edit::value(rules.iter().collect::<toml_edit::Array>());
        }
        Change::Model(p) => doc["model"] = toml_edit::value(p.display().to_string()),
    }
    let new = doc.to_string();
    parse(&new).map_err(|e| anyhow!("{}: the update would not read back:{e}", path.display()))?;
    let mode = std::fs::metadata(path)?.permissions();
    let mut out = crate::util::atomic_file::AtomicFile::create(path)?;
    std::io::Write::write_all(&mut out, new.as_bytes())?;
    out.commit()?;
    std::fs::set_permissions(path, mode)?;
    Ok(())
}

/// Reads a value through its `FromStr`, so toml reports a bad one at its
/// own place.
macro_rules! from_str_de {
    ($t:ty) => {
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(de::Error::custom)
            }
        }
    };
}

from_str_de!(Device);
from_str_de!(DeviceName);
from_str_de!(Rule);
from_str_de!(Quarantine);
from_str_de!(AbsPath);
from_str_de!(LogPath);
from_str_de!(ModelChoice);

impl<'de, T: FromStr<Err: fmt::Display>> Deserialize<'de> for OrNone<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s == "none" {
            return Ok(OrNone(None));
        }
        s.parse()
            .map(|v| OrNone(Some(v)))
            .map_err(|e| de::Error::custom(format!("{s:?}: {e} (or none)")))
    }
}

impl<'de> Deserialize<'de> for Positive {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match u32::deserialize(d)? {
            0 => Err(de::Error::custom("must be at least 1")),
            n => Ok(Positive(n)),
        }
    }
}

/// A device's name: letters, digits, `-`, `_` and `.`, as metrics labels
/// and log lines can carry without quoting.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DeviceName(pub String);

impl FromStr for DeviceName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s.is_empty()
            || s.len() > 32
            || !s
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        {
            return Err(format!(
                "device name {s:?}: use 1 to 32 letters, digits, '-', '_' or '.'"
            ));
        }
        Ok(DeviceName(s.to_owned()))
    }
}

impl fmt::Display for DeviceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `--device [NAME=]ADDR|MAC`; unnamed, a device is called by its address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamedDevice {
    pub name: String,
    pub device: Device,
}

impl FromStr for NamedDevice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.split_once('=') {
            Some((name, addr)) => Ok(NamedDevice {
                name: name.parse::<DeviceName>()?.0,
                device: addr.parse()?,
            }),
            None => {
                let device: Device = s.parse()?;
                Ok(NamedDevice {
                    name: device.to_string(),
                    device,
                })
            }
        }
    }
}

impl fmt::Display for NamedDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.name == self.device.to_string() {
            write!(f, "{}", self.device)
        } else {
            write!(f, "{}={}", self.name, self.device)
        }
    }
}

/// One `CLASS=ACTION` policy rule, checked against the class and action names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule(pub String);

impl FromStr for Rule {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        super::policy::apply(&alexa_common::policy::default_policy(), &[s.to_owned()])
            .map_err(|e| format!("{e:#}"))?;
        Ok(Rule(s.to_owned()))
    }
}

/// Quarantine after K not_justified packets within T ms, for Q ms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quarantine(pub u32, pub u32, pub u32);

impl FromStr for Quarantine {
    type Err = String;
    fn from_str(value: &str) -> Result<Self, String> {
        use crate::kernel::{
            DEFAULT_QUARANTINE_HOLD_MS as Q, DEFAULT_QUARANTINE_PACKETS as K,
            DEFAULT_QUARANTINE_WINDOW_MS as T,
        };
        let bad = || {
            format!(
                "quarantine {value:?}: want K,T,Q (packets, window ms, hold ms), e.g. {K},{T},{Q}"
            )
        };
        let parts: Vec<&str> = value.split(',').map(str::trim).collect();
        let [k, t, q] = parts.as_slice() else {
            return Err(bad());
        };
        let n = |s: &str| s.parse::<u32>().map_err(|_| bad());
        let (k, t, q) = (n(k)?, n(t)?, n(q)?);
        if k > 0 && (t == 0 || q == 0) {
            return Err(format!(
                "quarantine {value:?}: the window and the hold must be longer than 0 ms"
            ));
        }
        Ok(Quarantine(k, t, q))
    }
}

/// A path in the config file must be absolute: the agent's working
/// directory is not the file's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AbsPath(pub PathBuf);

impl FromStr for AbsPath {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let p = PathBuf::from(s);
        if !p.is_absolute() {
            return Err(format!("{s:?}: give an absolute path"));
        }
        Ok(AbsPath(p))
    }
}

/// The verdict log: an absolute path, or `-` for standard output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogPath(pub PathBuf);

impl FromStr for LogPath {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "-" {
            return Ok(LogPath(s.into()));
        }
        s.parse::<AbsPath>().map(|p| LogPath(p.0))
    }
}

/// The model to classify with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModelChoice {
    /// The model built into the binary.
    Builtin,
    /// None: packets are logged unclassified.
    Off,
    File(PathBuf),
}

impl FromStr for ModelChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "builtin" => ModelChoice::Builtin,
            "none" => ModelChoice::Off,
            _ => ModelChoice::File(s.parse::<AbsPath>()?.0),
        })
    }
}

/// A value, or `none` for nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrNone<T>(pub Option<T>);

/// A count of at least 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Positive(pub u32);

/// What `alexa config check` says about a good file.
pub fn describe(c: &Config) -> String {
    let devices: Vec<String> = c.devices.iter().map(|(n, d)| format!("{n}={d}")).collect();
    format!(
        "interface {}, {} device{} ({}), {} mode, model {}",
        c.interface.as_deref().unwrap_or("(none: give --iface)"),
        c.devices.len(),
        if c.devices.len() == 1 { "" } else { "s" },
        if devices.is_empty() {
            "none: give --device".to_owned()
        } else {
            devices.join(", ")
        },
        match c.mode {
            Some(Mode::Enforce) => "enforce",
            _ => "monitor",
        },
        match &c.model {
            None | Some(ModelChoice::Builtin) => "builtin".to_owned(),
            Some(ModelChoice::Off) => "none".to_owned(),
            Some(ModelChoice::File(p)) => p.display().to_string(),
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"# the kitchen
interface = "br-lan"
mode = "enforce"
microphone = "on"
policy = ["justified=alert"]
quarantine = "20,2000,60000"
silence_minutes = 30

[devices]
echo-kitchen = "08:7c:39:96:8a:8c"
echo-den = "192.168.1.23"

[log]
path = "/var/log/alexa/verdicts.jsonl"
max_bytes = 1000000

[evidence]
path = "none"

[api]
listen = "127.0.0.1:9465"
metrics = "none"
"#;

    #[test]
    fn a_good_file_reads() {
        let c = parse(GOOD).unwrap();
        assert_eq!(c.interface.as_deref(), Some("br-lan"));
        assert_eq!(c.mode, Some(Mode::Enforce));
        assert_eq!(c.devices.len(), 2);
        assert_eq!(
            c.devices[&DeviceName("echo-kitchen".into())],
            Device::Mac([0x08, 0x7c, 0x39, 0x96, 0x8a, 0x8c])
        );
        assert_eq!(c.evidence.path, Some(OrNone(None)));
        assert_eq!(c.api.metrics, Some(OrNone(None)));
        assert_eq!(c.quarantine, Some(Quarantine(20, 2000, 60000)));
        assert!(describe(&c).contains("echo-den=192.168.1.23, echo-kitchen=08:7c:39:96:8a:8c"));
    }

    /// Each mistake is reported at its own line.
    #[test]
    fn mistakes_name_their_line() {
        for (bad, line, what) in [
            ("interface = \"br-lan\"\nmode = \"enfrce\"\n", 2, "enfrce"),
            (
                "[devices]\necho = \"08:7c:39:96:8a\"\n",
                2,
                "neither an IP address",
            ),
            (
                "[devices]\n\"echo kitchen\" = \"10.0.0.2\"\n",
                2,
                "device name",
            ),
            ("policy = [\"voice=drop\"]\n", 1, "voice"),
            ("\n\nquarantine = \"1,0,5\"\n", 3, "longer than 0 ms"),
            ("model = \"models/echo.json\"\n", 1, "absolute path"),
            ("[log]\nacks = 0\n", 2, "at least 1"),
            (
                "[api]\nlisten = \"localhost\"\n",
                2,
                "invalid socket address",
            ),
            ("intreface = \"eth0\"\n", 1, "unknown field `intreface`"),
            ("interface = \"eth0\n", 1, ""),
        ] {
            let e = parse(bad).unwrap_err().to_string();
            assert!(
                e.starts_with(&format!("{line}:")) && e.contains(what) && !e.contains('\n'),
                "{bad:?}: {e}"
            );
        }
    }

    #[test]
    fn too_many_devices_are_refused() {
        let mut text = String::from("[devices]\n");
        for i in 0..=MAX_DEVICES {
            text.push_str(&format!("d{i} = \"10.0.{}.{}\"\n", i / 200, i % 200 + 1));
        }
        let e = parse(&text).unwrap_err().to_string();
        assert!(e.contains("65 devices listed"), "{e}");
    }

    #[test]
    fn named_devices_from_flags() {
        let d: NamedDevice = "kitchen=08:7c:39:96:8a:8c".parse().unwrap();
        assert_eq!(d.name, "kitchen");
        assert_eq!(d.to_string(), "kitchen=08:7c:39:96:8a:8c");
        let d: NamedDevice = "10.0.0.2".parse().unwrap();
        assert_eq!(
            (d.name.as_str(), d.to_string().as_str()),
            ("10.0.0.2", "10.0.0.2")
        );
        assert!("a b=10.0.0.2".parse::<NamedDevice>().is_err());
        assert!("kitchen=nowhere".parse::<NamedDevice>().is_err());
    }

    #[test]
    fn changes_are_written_back_keeping_comments() {
        let dir = std::env::temp_dir().join(format!("alexa-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("alexa.toml");
        std::fs::write(&path, GOOD).unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_back(&path, Change::Microphone(false)).unwrap();
        let rules = ["justified=drop".to_owned(), "ack=alert".to_owned()];
        write_back(&path, Change::Policy(&rules)).unwrap();
        write_back(&path, Change::Model(Path::new("/var/lib/alexa/m.json"))).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# the kitchen\n"), "{text}");
        let c = parse(&text).unwrap();
        assert_eq!(c.microphone, Some(OnOff::Off));
        assert_eq!(
            c.policy,
            vec![Rule("justified=drop".into()), Rule("ack=alert".into())]
        );
        assert_eq!(
            c.model,
            Some(ModelChoice::File("/var/lib/alexa/m.json".into()))
        );
        assert_eq!(c.devices.len(), 2, "the rest kept");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        let leftovers: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name() != "alexa.toml")
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
        // A file that no longer reads is left alone.
        std::fs::write(&path, "interface = \n").unwrap();
        assert!(write_back(&path, Change::Microphone(true)).is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "interface = \n");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
