//! Real captures: a "device" and a "server" network namespace joined by a
//! veth pair (`alexa-dev` / `alexa-srv`), real programs talking over it
//! (openssl, python3's http.server and sockets, curl), tcpdump on the
//! device's veth. Traffic stays between the two namespaces. Namespaces,
//! veths (deleted with their namespace) and child processes are removed on
//! drop, also when a step fails.

use std::{
    io::{BufRead, BufReader, Write},
    net::IpAddr,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    thread::sleep,
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};

use super::{
    pcap::{self, push_vlan_tags, Frame, TPID_8021AD, TPID_8021Q},
    Fixture,
};
use crate::netns::{veth_pair, Netns};

pub const DEV4: &str = "10.77.0.2";
pub const SRV4: &str = "10.77.0.1";
pub const DEV6: &str = "fd00:77::2";
pub const SRV6: &str = "fd00:77::1";
const DEV_IF: &str = "alexa-dev";
const SRV_IF: &str = "alexa-srv";

/// Most frames kept of one capture (the corpus stays small).
pub const MAX_FRAMES: usize = 400;

/// nftables rules of the server namespace, on its input (after the
/// device-side capture point): a share of the device's segments to 8081 is
/// lost, and port 9 is a black hole.
const SERVER_NFT: &str = "table inet alexa_corpus {
  chain input {
    type filter hook input priority 0; policy accept;
    ip saddr 10.77.0.2 tcp dport 8081 numgen random mod 5 == 0 drop
    tcp dport 9 drop
  }
}
";

/// A background process, killed (by its own pid) and reaped on drop.
struct Bg {
    child: Child,
    what: String,
}

impl Bg {
    fn spawn(ns: &Netns, args: &[&str], what: &str) -> Result<Bg> {
        let child = Command::new("ip")
            .args(["netns", "exec", &ns.name])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("cannot start {what}"))?;
        Ok(Bg {
            child,
            what: what.into(),
        })
    }

    /// Waits up to `limit` for the process to exit by itself.
    fn wait(mut self, limit: Duration) -> Result<()> {
        let end = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait()? {
                if !status.success() {
                    bail!("{} failed: {status}", self.what);
                }
                return Ok(());
            }
            if Instant::now() > end {
                bail!("{} did not finish within {limit:?}", self.what);
            }
            sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Bg {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            // SAFETY: kill on the pid of a child this process started and
            // has not reaped yet.
            unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
            let end = Instant::now() + Duration::from_secs(2);
            while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < end {
                sleep(Duration::from_millis(20));
            }
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// The two namespaces, the veth pair between them and a scratch directory.
pub struct Lab {
    dev: Netns,
    srv: Netns,
    tmp: PathBuf,
}

impl Lab {
    pub fn new() -> Result<Lab> {
        let dev = Netns::new("cdev");
        let srv = Netns::new("csrv");
        veth_pair(
            &dev,
            DEV_IF,
            &[&format!("{DEV4}/24"), &format!("{DEV6}/64")],
            &srv,
            SRV_IF,
            &[&format!("{SRV4}/24"), &format!("{SRV6}/64")],
        );
        let tmp = std::env::temp_dir().join(format!("alexa-corpus-{}", std::process::id()));
        std::fs::create_dir_all(&tmp)?;
        std::fs::write(tmp.join("server.nft"), SERVER_NFT)?;
        srv.exec(&format!("nft -f {}", tmp.join("server.nft").display()));
        // Cert and key for openssl s_server: throwaway, made now.
        run(Command::new("openssl")
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
            .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"])
            .args(["-subj", "/CN=alexa-corpus.test", "-keyout"])
            .arg(tmp.join("key.pem"))
            .arg("-out")
            .arg(tmp.join("cert.pem")))?;
        std::fs::create_dir_all(tmp.join("www"))?;
        std::fs::write(
            tmp.join("www/state.json"),
            "{\"microphone\":\"on\",\"volume\":4}\n",
        )?;
        // Let IPv6 settle (nodad: addresses usable at once; this is for the
        // router solicitations and MLD reports the kernel sends on link-up).
        sleep(Duration::from_millis(300));
        Ok(Lab { dev, srv, tmp })
    }

    fn peer(&self, ns: &Netns, args: &[&str], what: &str) -> Result<Bg> {
        let script = crate::files::python("corpus_peer.py");
        let mut all = vec!["python3", script.to_str().context("python path")?];
        all.extend_from_slice(args);
        Bg::spawn(ns, &all, what)
    }

    /// Captures on the device's veth while `traffic` runs; keeps at most
    /// [`MAX_FRAMES`] frames.
    fn capture(&self, name: &str, traffic: impl FnOnce(&Lab) -> Result<()>) -> Result<Vec<Frame>> {
        let file = self.tmp.join(format!("{name}.pcap"));
        let mut tcpdump = Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.dev.name,
                "tcpdump",
                "-n",
                "-i",
                DEV_IF,
            ])
            .args(["-s", "0", "-U", "--immediate-mode", "-Z", "root", "-w"])
            .arg(&file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context("cannot start tcpdump")?;
        let stderr = tcpdump.stderr.take().context("tcpdump stderr")?;
        let mut tcpdump = Bg {
            child: tcpdump,
            what: "tcpdump".into(),
        };
        let mut lines = BufReader::new(stderr).lines();
        loop {
            match lines.next() {
                Some(Ok(l)) if l.contains("listening on") => break,
                Some(Ok(_)) => continue,
                _ => bail!("tcpdump did not start on {DEV_IF}"),
            }
        }
        traffic(self).with_context(|| format!("capture `{name}`"))?;
        // Let the last segments (FIN, ACK) reach the capture, then stop.
        sleep(Duration::from_millis(500));
        // SAFETY: kill on the pid of our own unreaped child.
        unsafe { libc::kill(tcpdump.child.id() as i32, libc::SIGINT) };
        tcpdump.child.wait()?;
        drop(tcpdump);
        let mut frames = pcap::read(&file)?;
        if frames.is_empty() {
            bail!("capture `{name}` is empty");
        }
        frames.truncate(MAX_FRAMES);
        Ok(frames)
    }

    fn tls(&self, name: &str, version: &str) -> Result<Fixture> {
        let frames = self.capture(name, |lab| {
            let (cert, key) = (lab.tmp.join("cert.pem"), lab.tmp.join("key.pem"));
            let server = Bg::spawn(
                &lab.srv,
                &[
                    "openssl",
                    "s_server",
                    "-accept",
                    "443",
                    "-naccept",
                    "1",
                    "-rev",
                    version,
                    "-cert",
                    cert.to_str().context("path")?,
                    "-key",
                    key.to_str().context("path")?,
                ],
                "openssl s_server",
            )?;
            sleep(Duration::from_millis(700));
            let mut client = Command::new("ip")
                .args(["netns", "exec", &lab.dev.name, "openssl", "s_client"])
                .args(["-connect", &format!("{SRV4}:443"), version])
                .args(["-servername", "alexa-corpus.test"])
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .context("cannot start openssl s_client")?;
            let mut stdin = client.stdin.take().context("s_client stdin")?;
            let client = Bg {
                child: client,
                what: "openssl s_client".into(),
            };
            sleep(Duration::from_millis(600));
            stdin.write_all(b"microphone state: on\n")?;
            stdin.flush()?;
            sleep(Duration::from_millis(400));
            stdin.write_all(b"a second, somewhat longer line of application data\n")?;
            stdin.flush()?;
            sleep(Duration::from_millis(400));
            // End of input: s_client sends close_notify and closes.
            drop(stdin);
            client.wait(Duration::from_secs(5))?;
            server.wait(Duration::from_secs(5))
        })?;
        Ok(self.fixture(name, frames))
    }

    fn http(&self) -> Result<Fixture> {
        let frames = self.capture("http", |lab| {
            let www = lab.tmp.join("www");
            let _server = Bg::spawn(
                &lab.srv,
                &[
                    "python3",
                    "-m",
                    "http.server",
                    "8080",
                    "--bind",
                    SRV4,
                    "--directory",
                    www.to_str().context("path")?,
                ],
                "python3 -m http.server",
            )?;
            sleep(Duration::from_millis(800));
            let base = format!("http://{SRV4}:8080");
            for args in [
                vec!["--http1.1".to_string(), format!("{base}/state.json")],
                vec![
                    "--http1.1".to_string(),
                    "-X".into(),
                    "POST".into(),
                    "--data".into(),
                    "microphone=muted".into(),
                    format!("{base}/upload"),
                ],
            ] {
                let mut cmd = vec!["curl", "-s", "-o", "/dev/null", "--max-time", "5"];
                cmd.extend(args.iter().map(String::as_str));
                Bg::spawn(&lab.dev, &cmd, "curl")?.wait(Duration::from_secs(6))?;
                sleep(Duration::from_millis(200));
            }
            Ok(())
        })?;
        Ok(self.fixture("http", frames))
    }

    fn udp(&self) -> Result<Fixture> {
        let frames = self.capture("udp", |lab| {
            let _server = lab.peer(&lab.srv, &["udp-server", SRV4, "53", "10"], "UDP server")?;
            sleep(Duration::from_millis(500));
            lab.peer(&lab.dev, &["udp-client", SRV4, "53"], "UDP client")?
                .wait(Duration::from_secs(8))
        })?;
        Ok(self.fixture("udp", frames))
    }

    fn ipv6(&self) -> Result<Fixture> {
        let frames = self.capture("ipv6", |lab| {
            let _udp = lab.peer(&lab.srv, &["udp-server", SRV6, "53", "15"], "UDP server")?;
            let _tcp = lab.peer(&lab.srv, &["tcp-server", SRV6, "8082", "15"], "TCP server")?;
            sleep(Duration::from_millis(500));
            lab.peer(&lab.dev, &["udp-client", SRV6, "53"], "UDP client")?
                .wait(Duration::from_secs(8))?;
            lab.peer(
                &lab.dev,
                &["tcp-client", SRV6, "8082", "4", "300", "0.1"],
                "TCP client",
            )?
            .wait(Duration::from_secs(8))
        })?;
        Ok(self.fixture("ipv6", frames))
    }

    fn retrans(&self) -> Result<Fixture> {
        let frames = self.capture("retrans", |lab| {
            let _tcp = lab.peer(&lab.srv, &["tcp-server", SRV4, "8081", "60"], "TCP server")?;
            sleep(Duration::from_millis(500));
            lab.peer(
                &lab.dev,
                &["tcp-client", SRV4, "8081", "30", "500", "0.02"],
                "TCP client",
            )?
            .wait(Duration::from_secs(50))
        })?;
        Ok(self.fixture("retrans", frames))
    }

    fn syn_blackhole(&self) -> Result<Fixture> {
        let frames = self.capture("synblackhole", |lab| {
            lab.peer(&lab.dev, &["syn-client", SRV4, "9", "7.5"], "SYN client")?
                .wait(Duration::from_secs(10))
        })?;
        Ok(self.fixture("synblackhole", frames))
    }

    fn fixture(&self, name: &str, frames: Vec<Frame>) -> Fixture {
        let devices: Vec<IpAddr> = vec![DEV4.parse().expect("v4"), DEV6.parse().expect("v6")];
        Fixture {
            name: name.into(),
            frames,
            devices,
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.tmp);
    }
}

/// Runs a command to completion, failing with its stderr.
fn run(cmd: &mut Command) -> Result<()> {
    let out = cmd
        .output()
        .with_context(|| format!("cannot run {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// The HTTP capture with one 802.1Q tag on even frames and two
/// (802.1ad outer, 802.1Q inner) on odd ones.
fn vlan(from: &Fixture) -> Fixture {
    let frames = from
        .frames
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let tags: &[(u16, u16)] = if i % 2 == 0 {
                &[(TPID_8021Q, 100)]
            } else {
                &[(TPID_8021AD, 200), (TPID_8021Q, 100)]
            };
            let data = push_vlan_tags(&f.data, tags);
            Frame {
                ts_us: f.ts_us,
                orig_len: f.orig_len + (data.len() - f.data.len()) as u32,
                data,
            }
        })
        .collect();
    Fixture {
        name: "vlan".into(),
        frames,
        devices: from.devices.clone(),
    }
}

/// Makes every live capture and writes it to `out`.
pub fn generate(out: &Path) -> Result<Vec<String>> {
    let lab = Lab::new()?;
    let mut made = Vec::new();
    let mut keep = |f: Fixture| -> Result<()> {
        f.write(out)?;
        eprintln!("  {}: {} frames", f.name, f.frames.len());
        made.push(f.name);
        Ok(())
    };
    keep(lab.tls("tls12", "-tls1_2")?)?;
    keep(lab.tls("tls13", "-tls1_3")?)?;
    let http = lab.http()?;
    keep(vlan(&http))?;
    keep(http)?;
    keep(lab.udp()?)?;
    keep(lab.ipv6()?)?;
    keep(lab.retrans()?)?;
    keep(lab.syn_blackhole()?)?;
    Ok(made)
}
