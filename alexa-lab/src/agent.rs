//! Running the real `alexa` binary from privileged tests.

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// The `alexa` binary under test: `ALEXA_BIN` when set (`cargo xtask test`
/// runs live tests with the static release binary of `cargo xtask dist`
/// that way), else this workspace's, built if needed.
pub fn alexa_bin() -> PathBuf {
    match std::env::var_os("ALEXA_BIN") {
        Some(bin) => {
            let bin = PathBuf::from(bin);
            assert!(bin.is_file(), "ALEXA_BIN={}: no such file", bin.display());
            bin
        }
        None => lab_bin(),
    }
}

/// This workspace's full `alexa` binary (with the lab tools: `train`,
/// `simulate`, ...), built if needed; never `ALEXA_BIN`, which may be a
/// gateway binary without them.
pub fn lab_bin() -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "build",
            "--quiet",
            "--package",
            "alexa-user",
            "--bin",
            "alexa",
        ])
        .status()
        .expect("run cargo build");
    assert!(status.success(), "cargo build of the alexa binary failed");
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test> → target/<profile>/alexa
    exe.parent()
        .and_then(|d| d.parent())
        .expect("target dir")
        .join("alexa")
}

/// A child process killed (SIGTERM, then SIGKILL) on drop.
pub struct Running {
    pub child: Child,
}

impl Running {
    pub fn spawn(cmd: &mut Command) -> Running {
        let child = cmd.stdin(Stdio::null()).spawn().expect("spawn");
        Running { child }
    }

    /// Sends SIGTERM and waits up to `limit` for a clean exit; returns the exit code.
    pub fn terminate(&mut self, limit: Duration) -> Option<i32> {
        // SAFETY: signalling our own child by pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Polls `cond` every 50 ms until it holds or `limit` passes.
pub fn wait_for(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    cond()
}

/// A real `alexa run` in a test's namespace, with everything it creates
/// (pins, socket, log, evidence) in places of its own, removed on drop
/// (`alexa detach` included), so tests never touch a real deployment.
pub struct Agent {
    pub bin: PathBuf,
    pub netns: String,
    pub dir: PathBuf,
    pub pin_dir: PathBuf,
    pub socket: PathBuf,
    pub log: PathBuf,
    pub evidence: PathBuf,
    pub process: Option<Running>,
    /// Leave `dir` (log, evidence) in place on drop.
    pub keep_dir: bool,
    /// Extra environment for the agent (e.g. `NOTIFY_SOCKET`).
    pub env: Vec<(String, String)>,
}

impl Agent {
    pub fn new(tag: &str, netns: &crate::netns::Netns) -> Agent {
        let id = format!("{tag}-{}", std::process::id());
        let dir = std::env::temp_dir().join(format!("alexa-agent-{id}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("agent temp dir");
        let pin_dir = PathBuf::from(format!("/sys/fs/bpf/alexa-test-{id}"));
        Agent::at(alexa_bin(), netns, dir, pin_dir, false)
    }

    /// An agent run by `bin`, with its socket, log and evidence in `dir`
    /// (created) and its pins in `pin_dir`; `keep_dir` keeps `dir` on drop.
    pub fn at(
        bin: PathBuf,
        netns: &crate::netns::Netns,
        dir: PathBuf,
        pin_dir: PathBuf,
        keep_dir: bool,
    ) -> Agent {
        std::fs::create_dir_all(&dir).expect("agent dir");
        Agent {
            bin,
            netns: netns.name.clone(),
            socket: dir.join("control.sock"),
            log: dir.join("verdicts.jsonl"),
            evidence: dir.join("evidence.pcapng"),
            dir,
            pin_dir,
            process: None,
            keep_dir,
            env: Vec::new(),
        }
    }

    /// Starts the agent on `iface` (in the host's mount namespace, so the
    /// pins outlive it as in production) and waits until it answers.
    pub fn start(&mut self, iface: &str, args: &[&str]) {
        assert!(self.process.is_none(), "agent already running");
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("agent.stderr"))
            .expect("agent stderr file");
        let mut cmd = Command::new("nsenter");
        cmd.arg(format!("--net=/run/netns/{}", self.netns))
            .arg(&self.bin)
            .args(["run", "--iface", iface])
            .arg("--pin-dir")
            .arg(&self.pin_dir)
            .arg("--control-socket")
            .arg(&self.socket)
            .arg("--log")
            .arg(&self.log)
            .arg("--evidence")
            .arg(&self.evidence)
            .arg("--api-token-file")
            .arg(self.token_file())
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stderr(stderr);
        self.process = Some(Running::spawn(&mut cmd));
        let up = wait_for(Duration::from_secs(15), || {
            if let Some(p) = self.process.as_mut() {
                if let Ok(Some(status)) = p.child.try_wait() {
                    panic!("the agent exited at start ({status}):\n{}", self.stderr());
                }
            }
            self.ctl(&["status", "--json"]).status.success()
        });
        assert!(
            up,
            "the agent did not answer on its socket:\n{}",
            self.stderr()
        );
    }

    /// Where the agent keeps its HTTP API token.
    pub fn token_file(&self) -> PathBuf {
        self.dir.join("state").join("api-token")
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.join("agent.stderr")).unwrap_or_default()
    }

    /// `alexa ARGS --control-socket SOCKET`.
    pub fn ctl(&self, args: &[&str]) -> std::process::Output {
        Command::new(&self.bin)
            .args(args)
            .arg("--control-socket")
            .arg(&self.socket)
            .output()
            .expect("run alexa")
    }

    pub fn status(&self) -> serde_json::Value {
        let out = self.ctl(&["status", "--json"]);
        assert!(
            out.status.success(),
            "alexa status failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("status JSON")
    }

    pub fn counter(&self, name: &str) -> u64 {
        self.status()["counters"][name]
            .as_u64()
            .unwrap_or_else(|| panic!("no counter {name}"))
    }

    /// Every verdict line logged so far.
    pub fn lines(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad log line {l:?}: {e}")))
            .collect()
    }

    /// SIGTERM; asserts a clean exit.
    pub fn stop(&mut self) {
        let mut p = self.process.take().expect("agent running");
        assert_eq!(
            p.terminate(Duration::from_secs(10)),
            Some(0),
            "the agent did not exit cleanly:\n{}",
            self.stderr()
        );
    }

    /// Whether the agent started last is still running.
    pub fn is_running(&mut self) -> bool {
        self.process
            .as_mut()
            .is_some_and(|p| p.child.try_wait().expect("agent status").is_none())
    }

    /// SIGKILL: the agent gets no chance to clean anything up.
    pub fn kill(&mut self) {
        let mut p = self.process.take().expect("agent running");
        p.child.kill().expect("SIGKILL");
        p.child.wait().expect("reap");
    }

    pub fn detach(&self) -> std::process::Output {
        Command::new(&self.bin)
            .arg("detach")
            .arg("--pin-dir")
            .arg(&self.pin_dir)
            .arg("--control-socket")
            .arg(&self.socket)
            .output()
            .expect("run alexa detach")
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        if let Some(mut p) = self.process.take() {
            let _ = p.terminate(Duration::from_secs(5));
        }
        let _ = self.detach();
        if !self.keep_dir && !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
