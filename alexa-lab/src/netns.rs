//! Network namespaces and veth pairs as guards: created by the test, removed
//! on drop (also when the test panics).

use std::process::{Command, Output};

/// Runs a command, panicking with its output when it fails.
pub fn sh(cmd: &str) -> Output {
    let out = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .output()
        .expect("run sh");
    assert!(
        out.status.success(),
        "`{cmd}` failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A network namespace named `alexa-<tag>-<pid>`, removed on drop.
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new(tag: &str) -> Netns {
        Netns::named(&format!("alexa-{tag}-{}", std::process::id()))
    }

    /// A namespace of exactly this name; one left over by an earlier run
    /// (killed before it could clean up) is removed first.
    pub fn named(name: &str) -> Netns {
        let _ = Command::new("ip").args(["netns", "del", name]).output();
        sh(&format!("ip netns add {name}"));
        let ns = Netns {
            name: name.to_owned(),
        };
        sh(&format!("ip -n {name} link set lo up"));
        ns
    }

    /// Whether a namespace of this name exists.
    pub fn exists(name: &str) -> bool {
        std::path::Path::new("/run/netns").join(name).exists()
    }

    /// `ip netns exec <name> sh -c <cmd>`, asserted to succeed.
    pub fn exec(&self, cmd: &str) -> Output {
        sh(&format!(
            "ip netns exec {} sh -c '{}'",
            self.name,
            cmd.replace('\'', r"'\''")
        ))
    }

    /// A command prefix to run a program inside the namespace.
    pub fn prefix(&self) -> Vec<String> {
        vec![
            "ip".into(),
            "netns".into(),
            "exec".into(),
            self.name.clone(),
        ]
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

/// A veth pair with one end in each namespace, addressed and up.
/// `a_addr`/`b_addr` are CIDR strings (IPv4 or IPv6).
pub fn veth_pair(a: &Netns, a_if: &str, a_addrs: &[&str], b: &Netns, b_if: &str, b_addrs: &[&str]) {
    sh(&format!(
        "ip link add {a_if} netns {} type veth peer name {b_if} netns {}",
        a.name, b.name
    ));
    for (ns, ifname, addrs) in [(a, a_if, a_addrs), (b, b_if, b_addrs)] {
        for addr in addrs {
            let nodad = if addr.contains(':') { " nodad" } else { "" };
            ns.exec(&format!("ip addr add {addr} dev {ifname}{nodad}"));
        }
        ns.exec(&format!("ip link set {ifname} up"));
    }
}

/// While alive, the current thread is inside the namespace (setns); the
/// thread's previous namespace is restored on drop.
pub struct Entered {
    previous: std::fs::File,
}

impl Netns {
    pub fn enter(&self) -> Entered {
        use std::os::fd::AsRawFd;
        let previous = std::fs::File::open("/proc/thread-self/ns/net").expect("open own netns");
        let target =
            std::fs::File::open(format!("/var/run/netns/{}", self.name)).expect("open netns");
        // SAFETY: setns on this thread with a valid namespace fd.
        let rc = unsafe { libc::setns(target.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(
            rc,
            0,
            "setns into {}: {}",
            self.name,
            std::io::Error::last_os_error()
        );
        Entered { previous }
    }
}

impl Drop for Entered {
    fn drop(&mut self) {
        use std::os::fd::AsRawFd;
        // SAFETY: setns back into the namespace this thread came from.
        unsafe { libc::setns(self.previous.as_raw_fd(), libc::CLONE_NEWNET) };
    }
}
