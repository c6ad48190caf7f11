//! Running the real `alexa` binary from privileged tests.

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// The `alexa` binary of this workspace, built if needed.
pub fn alexa_bin() -> PathBuf {
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
