//! `cargo xtask deploy`: installs the agent as a systemd service on the
//! gateway it is run on. Details and the reasons behind the unit's settings:
//! docs/deploy.md.

use std::{
    io::Write,
    net::IpAddr,
    os::unix::fs::PermissionsExt as _,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{bail, Context as _, Result};

use crate::util::show;

#[derive(clap::Args, Debug, Clone)]
pub struct DeployArgs {
    /// Interface the device's packets arrive on: the gateway's LAN side.
    #[arg(long)]
    pub iface: String,
    /// A monitored device by MAC (follows it across DHCP leases and IPv6
    /// addresses) or IP, optionally named: `kitchen=08:7c:39:96:8a:8c`.
    /// Repeat for several.
    #[arg(long = "device", value_name = "[NAME=]MAC|ADDR", required = true)]
    pub devices: Vec<String>,
    /// `monitor` (log and alert) or `enforce` (also drop what the policy says).
    #[arg(long, default_value = "monitor")]
    pub mode: String,
    /// Where the binary goes: PREFIX/bin (the shipped model is built into it).
    #[arg(long, default_value = "/usr/local")]
    pub prefix: PathBuf,
    /// Print every file and command instead of writing or running anything.
    #[arg(long)]
    pub dry_run: bool,
    /// Install and write the unit, but neither enable nor start it.
    #[arg(long)]
    pub no_enable: bool,
    /// Install this `alexa` binary instead of building target/release/alexa.
    #[arg(long, value_name = "FILE")]
    pub binary: Option<PathBuf>,
    /// Write every absolute path under DIR (a staging tree or a test's
    /// scratch directory); runs no systemctl.
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Overwrite an existing config file (it holds the owner's run-time
    /// changes, so it is otherwise left as it is).
    #[arg(long)]
    pub force: bool,
}

/// Fixed places: the same on every gateway so that the docs, `alexa top`
/// and `alexa status` find them without options.
pub use alexa_common::install::CONFIG_FILE;
pub const UNIT_FILE: &str = "/etc/systemd/system/alexa.service";
pub const VERDICT_LOG: &str = "/var/log/alexa/verdicts.jsonl";
pub const EVIDENCE: &str = "/var/log/alexa/evidence.pcapng";
pub use alexa_common::install::TOKEN_FILE;

/// The validated options.
#[derive(Debug)]
struct Plan {
    iface: String,
    /// (name, address): IP addresses, and MAC addresses in lowercase
    /// `aa:bb:cc:dd:ee:ff`.
    devices: Vec<(String, String)>,
    mode: &'static str,
    prefix: PathBuf,
}

impl Plan {
    fn bin(&self) -> PathBuf {
        self.prefix.join("bin/alexa")
    }
}

fn validate(args: &DeployArgs) -> Result<Plan> {
    let iface = args.iface.as_str();
    // The kernel's own rules for a name (IFNAMSIZ), and nothing that would
    // change the meaning of the environment file or the unit.
    if iface.is_empty()
        || iface.len() > 15
        || iface == "."
        || iface == ".."
        || !iface
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.@:".contains(c))
    {
        bail!("--iface {iface:?}: not an interface name");
    }
    let mut devices: Vec<(String, String)> = Vec::new();
    for d in &args.devices {
        let (name, addr) = match d.trim().split_once('=') {
            Some((n, a)) => (Some(n), a),
            None => (None, d.trim()),
        };
        let addr = device_name(addr).ok_or_else(|| {
            anyhow::anyhow!("--device {d:?}: neither an IP address nor a MAC address")
        })?;
        if let Some(n) = name {
            // The agent's rule for names (they become config keys and labels).
            if n.is_empty()
                || n.len() > 32
                || !n
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            {
                bail!("--device {d:?}: a name is 1 to 32 letters, digits, '-', '_' or '.'");
            }
        }
        if devices.iter().any(|(_, a)| *a == addr) {
            continue;
        }
        let name = name.map_or_else(|| format!("echo-{}", devices.len() + 1), str::to_owned);
        if devices.iter().any(|(n, _)| *n == name) {
            bail!("--device {d:?}: the name {name} is taken");
        }
        devices.push((name, addr));
    }
    if devices.is_empty() {
        bail!("no --device given: name the smart speaker's address");
    }
    let mode = match args.mode.as_str() {
        "monitor" => "monitor",
        "enforce" => "enforce",
        other => bail!("--mode {other:?}: must be monitor or enforce"),
    };
    if !args.prefix.is_absolute() {
        bail!(
            "--prefix {}: must be an absolute path",
            args.prefix.display()
        );
    }
    if args
        .prefix
        .to_str()
        .is_none_or(|p| p.contains(char::is_whitespace))
    {
        bail!(
            "--prefix {}: must be UTF-8 without spaces (it goes into the unit's command line)",
            args.prefix.display()
        );
    }
    if let Some(root) = &args.root {
        if !root.is_dir() {
            bail!("--root {}: not a directory", root.display());
        }
    }
    if let Some(b) = &args.binary {
        if !b.is_file() {
            bail!("--binary {}: no such file", b.display());
        }
    }
    Ok(Plan {
        iface: iface.to_owned(),
        devices,
        mode,
        prefix: args.prefix.clone(),
    })
}

/// The config file a first deploy writes: the options given, every other
/// setting shown at its default, commented.
fn config_file(plan: &Plan) -> String {
    let devices: String = plan
        .devices
        .iter()
        .map(|(n, a)| format!("{n} = \"{a}\"\n"))
        .collect();
    format!(
        "# alexa's configuration: `alexa config check` validates it, docs/deploy.md
# explains every key. Written once by `cargo xtask deploy` (again only with
# --force): it is yours. `alexa mic`, `alexa policy set` and `alexa model
# load` write their changes back here, so they survive a restart.
interface = \"{iface}\"
mode = \"{mode}\"
# microphone = \"on\"
# The shipped model is built into the binary; or a MODEL.json path.
model = \"builtin\"
# policy = [\"justified=alert\"]
# quarantine = \"20,2000,60000\"
# xdp_mode = \"auto\"
# A listed device silent this long is reported (journal, status, metrics).
silence_minutes = 30

# Name = MAC address (follows the device across DHCP leases and IPv6
# addresses) or IP address (routed setups).
[devices]
{devices}
# Worst case on disk with these values: docs/deploy.md, \"Disk\".
[log]
path = \"{VERDICT_LOG}\"
max_bytes = 104857600
keep = 5

[evidence]
path = \"{EVIDENCE}\"
max_bytes = 67108864
keep = 3

[api]
listen = \"127.0.0.1:9465\"
metrics = \"127.0.0.1:9464\"
token_file = \"{TOKEN_FILE}\"
",
        iface = plan.iface,
        mode = plan.mode,
    )
}

fn unit_file(plan: &Plan) -> String {
    format!(
        "# Written by `cargo xtask deploy`; settings in {CONFIG_FILE}. Why each setting: docs/deploy.md.
[Unit]
Description=alexa: in-kernel privacy firewall for smart speakers
Documentation=man:alexa(1)
Wants=network-online.target
# Ordered after time-sync when something waits for it, but not pulled in:
# a gateway without a clock must not start its firewall late. The agent
# re-reads the wall clock every 10 s anyway.
After=network-online.target time-sync.target
# Five failed starts in five minutes: give up, marked start-limit-hit
# (`systemctl status alexa`); the journal has the agent's reason.
StartLimitIntervalSec=300
StartLimitBurst=5

[Service]
# READY=1 comes once the program is attached and the control socket up.
Type=notify
NotifyAccess=main
ExecStart={bin} run --config {CONFIG_FILE}
TimeoutStartSec=60
# No ExecStopPost=alexa detach: the XDP program is pinned so that it keeps
# enforcing while the agent restarts or is upgraded; `alexa detach` is the
# operator's explicit command.
Restart=on-failure
RestartSec=5
RuntimeDirectory=alexa
RuntimeDirectoryMode=0700
StateDirectory=alexa
StateDirectoryMode=0700
LogsDirectory=alexa
LogsDirectoryMode=0750
UMask=0077
# The agent checks it runs as root; these are all the capabilities it keeps.
CapabilityBoundingSet=CAP_BPF CAP_NET_ADMIN CAP_PERFMON CAP_SYS_RESOURCE
AmbientCapabilities=CAP_BPF CAP_NET_ADMIN CAP_PERFMON CAP_SYS_RESOURCE
# Kernels before 5.11 charge BPF maps to the locked-memory limit.
LimitMEMLOCK=infinity
NoNewPrivileges=yes
ProtectSystem=strict
# /etc/alexa: run-time changes are written back to the config file.
ReadWritePaths=/sys/fs/bpf /etc/alexa
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
MemoryDenyWriteExecute=yes
SystemCallArchitectures=native
RestrictAddressFamilies=AF_UNIX AF_NETLINK AF_INET AF_INET6

[Install]
WantedBy=multi-user.target
",
        bin = plan.bin().display(),
    )
}

/// The agent's command line without systemd, for a machine that lacks it.
fn manual_command(plan: &Plan) -> String {
    format!(
        "mkdir -p -m 0700 /run/alexa /var/lib/alexa && mkdir -p /var/log/alexa && {bin} run --config {CONFIG_FILE}",
        bin = plan.bin().display(),
    )
}

/// One file to install.
struct Install {
    /// Its absolute path on the gateway.
    path: PathBuf,
    content: Vec<u8>,
    mode: u32,
    /// Where a copied file comes from; a dry run names it instead of
    /// printing its content (a binary, a model of thousands of lines).
    from: Option<PathBuf>,
    /// The owner's file once written: replaced only with `--force`.
    owned: bool,
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

fn release_binary() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target"))
        .join("release/alexa")
}

/// Where `path` (absolute, on the gateway) is written: under `root` if given.
fn under(root: Option<&Path>, path: &Path) -> PathBuf {
    match root {
        Some(r) => r.join(path.strip_prefix("/").unwrap_or(path)),
        None => path.to_path_buf(),
    }
}

/// Writes `content` to `dest` through a temporary file in the same directory
/// and a rename, so that a crash never leaves a half-written binary or unit.
fn write_atomic(dest: &Path, content: &[u8], mode: u32) -> Result<()> {
    let dir = dest
        .parent()
        .context("a file to install has no directory")?;
    let hint = |e: &std::io::Error| {
        if e.kind() == std::io::ErrorKind::PermissionDenied {
            " (deploy installs system files: run it as root, or try --dry-run)"
        } else {
            ""
        }
    };
    if let Err(e) = std::fs::create_dir_all(dir) {
        bail!("cannot create {}: {e}{}", dir.display(), hint(&e));
    }
    let name = dest.file_name().context("no file name")?.to_string_lossy();
    let tmp = dir.join(format!(".{name}.xtask-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(content)?;
        f.set_permissions(std::fs::Permissions::from_mode(mode))?;
        f.sync_all()?;
        std::fs::rename(&tmp, dest)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        bail!("cannot write {}: {e}{}", dest.display(), hint(&e));
    }
    Ok(())
}

fn unchanged(dest: &Path, content: &[u8], mode: u32) -> bool {
    let same_mode = std::fs::metadata(dest).is_ok_and(|m| m.permissions().mode() & 0o7777 == mode);
    same_mode && std::fs::read(dest).is_ok_and(|c| c == content)
}

/// What happened, for the caller and the tests.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub written: Vec<PathBuf>,
    /// Files of the owner's left alone.
    pub kept: Vec<PathBuf>,
    pub unchanged: Vec<PathBuf>,
    pub commands: Vec<String>,
}

pub fn run(args: &DeployArgs, out: &mut dyn Write) -> Result<Outcome> {
    let plan = validate(args)?;
    let root = args.root.as_deref();
    let say = |out: &mut dyn Write, s: &str| -> Result<()> {
        writeln!(out, "xtask deploy: {s}")?;
        Ok(())
    };
    let iface_present = Path::new("/sys/class/net").join(&plan.iface).exists();
    if !iface_present {
        let msg = format!(
            "no interface {} here (the gateway's LAN interface: `ip link` lists them)",
            plan.iface
        );
        // A dry run, or a staging tree for another machine: only a warning.
        if !args.dry_run && root.is_none() {
            bail!("{msg}");
        }
        say(out, &format!("warning: {msg}"))?;
    }

    let binary = match &args.binary {
        Some(b) => b.clone(),
        None => {
            let mut build = crate::util::release_build();
            if args.dry_run {
                say(out, &format!("would run: {}", show(&build)))?;
            } else {
                // Only a real build needs the eBPF toolchain.
                crate::setup::ensure_for(crate::setup::Need::Build)?;
                crate::util::exec(&mut build)?;
            }
            release_binary()
        }
    };
    let binary_bytes = match std::fs::read(&binary) {
        Ok(b) => b,
        // A dry run may come before any build.
        Err(_) if args.dry_run => Vec::new(),
        Err(e) => bail!("cannot read {}: {e}", binary.display()),
    };
    let installs = vec![
        Install {
            path: plan.bin(),
            content: binary_bytes,
            mode: 0o755,
            from: Some(binary.clone()),
            owned: false,
        },
        Install {
            path: CONFIG_FILE.into(),
            content: config_file(&plan).into_bytes(),
            mode: 0o644,
            from: None,
            owned: !args.force,
        },
        Install {
            path: UNIT_FILE.into(),
            content: unit_file(&plan).into_bytes(),
            mode: 0o644,
            from: None,
            owned: false,
        },
    ];

    let mut outcome = Outcome::default();
    for i in &installs {
        let dest = under(root, &i.path);
        if i.owned && dest.exists() {
            say(
                out,
                &format!(
                    "{}: kept as it is (the owner's settings; --force replaces it)",
                    dest.display()
                ),
            )?;
            outcome.kept.push(dest);
            continue;
        }
        let same = unchanged(&dest, &i.content, i.mode);
        if args.dry_run {
            let state = if same { " (unchanged)" } else { "" };
            match &i.from {
                Some(src) => say(
                    out,
                    &format!(
                        "would install {} as {} (mode {:04o}){state}",
                        src.display(),
                        dest.display(),
                        i.mode
                    ),
                )?,
                None => {
                    say(
                        out,
                        &format!(
                            "would write {} (mode {:04o}){state}:",
                            dest.display(),
                            i.mode
                        ),
                    )?;
                    for line in String::from_utf8_lossy(&i.content).lines() {
                        writeln!(out, "    {line}")?;
                    }
                }
            }
        } else if same {
            say(out, &format!("{}: unchanged", dest.display()))?;
        } else {
            write_atomic(&dest, &i.content, i.mode)?;
            say(out, &format!("{}: written", dest.display()))?;
        }
        if same {
            outcome.unchanged.push(dest);
        } else {
            outcome.written.push(dest);
        }
    }
    let changed = !outcome.written.is_empty();
    if root.is_none() && Path::new("/etc/alexa/alexa.env").exists() {
        say(
            out,
            "note: /etc/alexa/alexa.env is no longer read (settings now live in /etc/alexa/alexa.toml); delete it",
        )?;
    }
    if !args.dry_run && !changed {
        say(
            out,
            "unchanged: every file is already as this would write it",
        )?;
    }

    // systemctl acts on the real machine, never on a --root tree.
    let systemd = root.is_none() && Path::new("/run/systemd/system").is_dir();
    let mut commands: Vec<Vec<&str>> = Vec::new();
    if args.no_enable {
        say(out, "--no-enable: not enabling or starting alexa.service")?;
    } else if root.is_some() {
        say(out, "--root: not running systemctl")?;
    } else if !systemd {
        say(
            out,
            &format!(
                "systemd is not running here; start the agent by hand:\n    {}",
                manual_command(&plan)
            ),
        )?;
    } else {
        commands.push(vec!["systemctl", "daemon-reload"]);
        commands.push(vec!["systemctl", "enable", "--now", "alexa.service"]);
        if changed {
            // A running agent keeps its old binary and options until restarted.
            commands.push(vec!["systemctl", "try-restart", "alexa.service"]);
        }
    }
    for c in &commands {
        let mut cmd = Command::new(c[0]);
        cmd.args(&c[1..]);
        let shown = show(&cmd);
        if args.dry_run {
            say(out, &format!("would run: {shown}"))?;
        } else if let Err(e) = crate::util::exec(&mut cmd) {
            // Type=notify: a start fails when the agent exits before it is
            // ready. Its own one-line reason is in the journal.
            let journal = Command::new("journalctl")
                .args(["-u", "alexa", "-n", "5", "--no-pager", "-o", "cat"])
                .output()
                .map(|o| {
                    String::from_utf8_lossy(&o.stdout)
                        .trim()
                        .replace('\n', " | ")
                })
                .unwrap_or_default();
            bail!("{e:#}; the agent did not start: {journal}");
        }
        outcome.commands.push(shown);
    }
    if !args.dry_run && !commands.is_empty() {
        say(
            out,
            "done: `systemctl status alexa`, `alexa status` and `alexa top` show the agent",
        )?;
        if changed && outcome.written.iter().any(|p| p.ends_with("bin/alexa")) {
            say(
                out,
                "a pinned XDP program of the previous binary stays attached; to load the new one's, \
                 run `alexa detach` then `systemctl restart alexa` (docs/deploy.md)",
            )?;
        }
    }
    Ok(outcome)
}

/// A device as `alexa run --device` takes it, normalised: an IP address as
/// Rust prints it, a MAC address in lowercase with colons.
fn device_name(s: &str) -> Option<String> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip.to_string());
    }
    let parts: Vec<&str> = s.split([':', '-']).collect();
    let mac = parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()));
    mac.then(|| parts.join(":").to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: DeployArgs,
    }

    fn scratch(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("xtask-deploy-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// A stand-in for the release binary, so the test needs no release build.
    fn fake_binary(dir: &Path) -> PathBuf {
        let b = dir.join("alexa-under-test");
        std::fs::write(&b, b"#!/bin/sh\necho alexa\n").unwrap();
        b
    }

    fn args(extra: &[&str]) -> DeployArgs {
        let argv = ["deploy", "--iface", "lo"].iter().chain(extra);
        Cli::try_parse_from(argv).unwrap().args
    }

    fn deploy(a: &DeployArgs) -> (Result<Outcome>, String) {
        let mut out = Vec::new();
        let r = run(a, &mut out);
        (r, String::from_utf8(out).unwrap())
    }

    fn files_under(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    out.push(p);
                }
            }
        }
        out.sort();
        out
    }

    #[test]
    fn devices_by_ip_or_mac() {
        assert_eq!(device_name("192.168.1.50").as_deref(), Some("192.168.1.50"));
        assert_eq!(
            device_name("08-7C-39-96-8A-8C").as_deref(),
            Some("08:7c:39:96:8a:8c")
        );
        assert_eq!(device_name("08:7c:39:96:8a").as_deref(), None);
        assert_eq!(device_name("eth0").as_deref(), None);
    }

    #[test]
    fn deploy_installs_into_a_root_then_reports_unchanged() {
        let dir = scratch("root");
        let root = dir.join("root");
        std::fs::create_dir(&root).unwrap();
        let bin = fake_binary(&dir);
        let a = args(&[
            "--device",
            "kitchen=08-7C-39-96-8A-8C",
            "--device",
            "192.168.1.50",
            "--device",
            "fd00::0050",
            "--mode",
            "enforce",
            "--prefix",
            "/opt/alexa",
            "--binary",
            bin.to_str().unwrap(),
            "--root",
            root.to_str().unwrap(),
        ]);
        let (r, log) = deploy(&a);
        let first = r.unwrap();
        assert_eq!(first.written.len(), 3, "{log}");
        assert!(first.commands.is_empty(), "ran {:?}", first.commands);
        assert!(log.contains("--root: not running systemctl"), "{log}");

        let config = std::fs::read_to_string(root.join("etc/alexa/alexa.toml")).unwrap();
        for line in [
            "interface = \"lo\"",
            "mode = \"enforce\"",
            "model = \"builtin\"",
            "kitchen = \"08:7c:39:96:8a:8c\"",
            "echo-2 = \"192.168.1.50\"",
            "echo-3 = \"fd00::50\"",
            "path = \"/var/log/alexa/verdicts.jsonl\"",
            "token_file = \"/var/lib/alexa/api-token\"",
        ] {
            assert!(
                config.lines().any(|l| l == line),
                "no {line:?} in\n{config}"
            );
        }
        let unit = std::fs::read_to_string(root.join("etc/systemd/system/alexa.service")).unwrap();
        let exec = unit
            .lines()
            .find_map(|l| l.strip_prefix("ExecStart="))
            .unwrap();
        assert_eq!(
            exec,
            "/opt/alexa/bin/alexa run --config /etc/alexa/alexa.toml"
        );
        for line in [
            "Type=notify",
            "NotifyAccess=main",
            "After=network-online.target time-sync.target",
            "StartLimitIntervalSec=300",
            "StartLimitBurst=5",
            "Restart=on-failure",
            "RestartSec=5",
            "RuntimeDirectory=alexa",
            "StateDirectory=alexa",
            "LogsDirectory=alexa",
            "CapabilityBoundingSet=CAP_BPF CAP_NET_ADMIN CAP_PERFMON CAP_SYS_RESOURCE",
            "AmbientCapabilities=CAP_BPF CAP_NET_ADMIN CAP_PERFMON CAP_SYS_RESOURCE",
            "ProtectSystem=strict",
            "ReadWritePaths=/sys/fs/bpf /etc/alexa",
            "NoNewPrivileges=yes",
            "WantedBy=multi-user.target",
        ] {
            assert!(unit.lines().any(|l| l == line), "no {line:?} in\n{unit}");
        }
        assert!(
            !unit.lines().any(|l| l.starts_with("ExecStop")),
            "a stop command would detach the pinned program:\n{unit}"
        );
        let installed = root.join("opt/alexa/bin/alexa");
        assert_eq!(
            std::fs::read(&installed).unwrap(),
            std::fs::read(&bin).unwrap()
        );
        let mode = std::fs::metadata(&installed).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o755);
        // Exactly the three files, no temporary left behind.
        assert_eq!(files_under(&root).len(), 3, "{:?}", files_under(&root));

        let (r, log) = deploy(&a);
        let second = r.unwrap();
        assert!(second.written.is_empty(), "{log}");
        assert!(log.contains("unchanged: every file"), "{log}");

        assert_eq!(second.unchanged.len(), 2);
        assert_eq!(second.kept, vec![root.join("etc/alexa/alexa.toml")]);

        // The config file is the owner's: a changed option leaves it alone
        // (and its run-time changes with it) unless --force.
        let conf = root.join("etc/alexa/alexa.toml");
        std::fs::write(&conf, "# mine\ninterface = \"lo\"\nmicrophone = \"off\"\n").unwrap();
        let mut b = a.clone();
        b.mode = "monitor".into();
        let (r, log) = deploy(&b);
        let third = r.unwrap();
        assert!(third.written.is_empty(), "{log}");
        assert!(log.contains("alexa.toml: kept as it is"), "{log}");
        assert!(std::fs::read_to_string(&conf)
            .unwrap()
            .starts_with("# mine"));
        b.force = true;
        let (r, log) = deploy(&b);
        assert_eq!(r.unwrap().written, vec![conf.clone()], "{log}");
        assert!(std::fs::read_to_string(&conf)
            .unwrap()
            .contains("mode = \"monitor\""));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn deploy_dry_run_prints_everything_and_touches_nothing() {
        let dir = scratch("dry");
        let root = dir.join("root");
        std::fs::create_dir(&root).unwrap();
        let a = args(&[
            "--device",
            "10.0.0.7",
            "--dry-run",
            "--root",
            root.to_str().unwrap(),
        ]);
        let (r, log) = deploy(&a);
        r.unwrap();
        assert!(files_under(&root).is_empty(), "{:?}", files_under(&root));
        assert!(
            log.contains("would run: ") && log.contains("build --release --package alexa-user"),
            "{log}"
        );
        assert!(log.contains("would install "), "{log}");
        assert!(log.contains("usr/local/bin/alexa (mode 0755)"), "{log}");
        assert!(log.contains("etc/alexa/alexa.toml (mode 0644):"), "{log}");
        assert!(log.contains("    echo-1 = \"10.0.0.7\""), "{log}");
        assert!(log.contains("    mode = \"monitor\""), "{log}");
        assert!(
            log.contains("    ExecStart=/usr/local/bin/alexa run --config /etc/alexa/alexa.toml"),
            "{log}"
        );
        assert!(log.contains("    CapabilityBoundingSet="), "{log}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn deploy_dry_run_on_this_machine_names_the_commands() {
        // No --root: the real paths, and systemctl only when systemd runs.
        let (r, log) = deploy(&args(&[
            "--device",
            "10.0.0.7",
            "--dry-run",
            "--mode",
            "enforce",
        ]));
        let o = r.unwrap();
        if Path::new("/run/systemd/system").is_dir() {
            assert!(
                log.contains("would run: systemctl enable --now alexa.service"),
                "{log}"
            );
        } else {
            assert!(o.commands.is_empty());
            assert!(log.contains("systemd is not running here"), "{log}");
            assert!(
                log.contains("/usr/local/bin/alexa run --config /etc/alexa/alexa.toml"),
                "{log}"
            );
        }
    }

    #[test]
    fn deploy_bad_input_is_one_line_and_writes_nothing() {
        let dir = scratch("bad");
        let root = dir.join("root");
        std::fs::create_dir(&root).unwrap();
        let bin = fake_binary(&dir);
        let r = root.to_str().unwrap();
        let b = bin.to_str().unwrap();
        let cases: Vec<(Vec<&str>, &str)> = vec![
            (
                vec!["--device", "192.168.1.500"],
                "--device \"192.168.1.500\": neither an IP address nor a MAC address",
            ),
            (
                vec!["--device", "10.0.0.1", "--device", "speaker.local"],
                "--device \"speaker.local\": neither an IP address nor a MAC address",
            ),
            (
                vec!["--device", "my echo=10.0.0.1"],
                "--device \"my echo=10.0.0.1\": a name is 1 to 32 letters, digits, '-', '_' or '.'",
            ),
            (
                vec!["--device", "a=10.0.0.1", "--device", "a=10.0.0.2"],
                "--device \"a=10.0.0.2\": the name a is taken",
            ),
            (
                vec!["--device", "10.0.0.1", "--mode", "block"],
                "--mode \"block\": must be monitor or enforce",
            ),
            (
                vec!["--device", "10.0.0.1", "--prefix", "usr/local"],
                "--prefix usr/local: must be an absolute path",
            ),
        ];
        for (extra, want) in cases {
            let mut argv = extra.clone();
            argv.extend(["--binary", b, "--root", r]);
            let (res, _) = deploy(&args(&argv));
            let e = format!("{:#}", res.unwrap_err());
            assert_eq!(e, want);
            assert!(!e.contains('\n'));
        }
        let mut bad_iface = args(&["--device", "10.0.0.1", "--binary", b, "--root", r]);
        bad_iface.iface = "eth0; rm -rf /".into();
        let e = format!("{:#}", deploy(&bad_iface).0.unwrap_err());
        assert_eq!(e, "--iface \"eth0; rm -rf /\": not an interface name");
        let mut absent = bad_iface.clone();
        absent.iface = "nosuchif0".into();
        absent.root = None;
        absent.prefix = dir.join("prefix");
        let e = format!("{:#}", deploy(&absent).0.unwrap_err());
        assert!(e.starts_with("no interface nosuchif0 here"), "{e}");
        assert!(!e.contains('\n'));
        assert!(!dir.join("prefix").exists());
        // In a dry run, or into a staging tree, it is only a warning.
        absent.dry_run = true;
        absent.root = Some(root.clone());
        let (res, log) = deploy(&absent);
        res.unwrap();
        assert!(
            log.contains("warning: no interface nosuchif0 here"),
            "{log}"
        );

        assert!(files_under(&root).is_empty(), "{:?}", files_under(&root));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn deploy_unit_passes_systemd_analyze() {
        // The unit's syntax and directives, checked by systemd itself where
        // its tools are installed.
        if Command::new("systemd-analyze")
            .arg("--version")
            .output()
            .is_err()
        {
            eprintln!("SKIPPED: systemd-analyze is not installed");
            return;
        }
        let dir = scratch("verify");
        let plan = Plan {
            iface: "lo".into(),
            devices: vec![("echo-1".into(), "192.168.1.50".into())],
            mode: "enforce",
            prefix: dir.clone(),
        };
        // verify wants the ExecStart binary to exist.
        std::fs::create_dir_all(dir.join("bin")).unwrap();
        std::fs::copy("/bin/true", dir.join("bin/alexa")).unwrap();
        let unit = dir.join("alexa.service");
        std::fs::write(&unit, unit_file(&plan)).unwrap();
        let out = Command::new("systemd-analyze")
            .args(["verify", "--man=no"])
            .arg(&unit)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let about_us: Vec<&str> = stderr
            .lines()
            .filter(|l| l.contains("alexa.service"))
            .collect();
        assert!(about_us.is_empty(), "systemd-analyze verify:\n{stderr}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
