//! The virtual home network of `cargo xtask demo` and of the end-to-end
//! tests: three network namespaces joined by two veth pairs.
//!
//! ```text
//!  echo                      gw (router)                       cloud
//!  echo0 192.168.137.94 ──── lan0 192.168.137.1   wan0 10.200.0.1 ──── cloud0 10.200.0.2
//!        the simulated Echo  XDP classifier here  default route ─────▶ every server address
//! ```
//!
//! The Echo's and the gateway's interfaces carry the simulator's MAC
//! addresses, so the simulated frames are addressed to the gateway as they
//! are and need no rewriting. The gateway forwards (no NAT, no firewall) to
//! the cloud namespace, whose stack owns none of the servers' addresses:
//! frames are counted by a packet socket there and then discarded.

use std::process::Command;

use crate::netns::{sh, Netns};

pub const ECHO_IF: &str = "echo0";
pub const LAN_IF: &str = "lan0";
pub const WAN_IF: &str = "wan0";
pub const CLOUD_IF: &str = "cloud0";
pub const ECHO_IP: &str = "192.168.137.94";
pub const GW_LAN_IP: &str = "192.168.137.1";
pub const GW_WAN_IP: &str = "10.200.0.1";
pub const CLOUD_IP: &str = "10.200.0.2";
/// The simulated LAN: frames to these addresses stay in the house.
pub const LAN_PREFIX: (std::net::Ipv4Addr, u8) = (std::net::Ipv4Addr::new(192, 168, 137, 0), 24);

/// `aa:bb:cc:dd:ee:ff`, as `ip link` takes it.
fn mac(m: [u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Whether a frame to `dst` leaves the LAN (goes through the gateway to the
/// cloud): not for a LAN host (the gateway's DNS, the Fire Stick), not
/// multicast or broadcast.
pub fn cloud_bound(dst: std::net::Ipv4Addr) -> bool {
    let (net, len) = LAN_PREFIX;
    let mask = u32::MAX << (32 - len);
    let lan = u32::from(dst) & mask == u32::from(net) & mask;
    !(lan || dst.is_multicast() || dst.is_broadcast())
}

/// The three namespaces; dropping it deletes them, and with them every link.
pub struct Testbed {
    pub echo: Netns,
    pub gw: Netns,
    pub cloud: Netns,
}

impl Testbed {
    /// Namespaces of a test: `alexa-<tag>{e,g,c}-<pid>`.
    pub fn for_test(tag: &str) -> Testbed {
        Testbed::build(
            Netns::new(&format!("{tag}e")),
            Netns::new(&format!("{tag}g")),
            Netns::new(&format!("{tag}c")),
        )
    }

    /// Namespaces with these exact names (the demo's).
    pub fn named(echo: &str, gw: &str, cloud: &str) -> Testbed {
        Testbed::build(Netns::named(echo), Netns::named(gw), Netns::named(cloud))
    }

    pub fn names(&self) -> [&str; 3] {
        [&self.echo.name, &self.gw.name, &self.cloud.name]
    }

    fn build(echo: Netns, gw: Netns, cloud: Netns) -> Testbed {
        use alexa::offline::simulate::hosts;
        let bed = Testbed { echo, gw, cloud };
        // One queue per veth: every frame then takes the same path through
        // the gateway, in the order it was sent.
        sh(&format!(
            "ip link add {ECHO_IF} netns {e} address {em} numtxqueues 1 numrxqueues 1 type veth \
             peer name {LAN_IF} netns {g} address {gm} numtxqueues 1 numrxqueues 1",
            e = bed.echo.name,
            g = bed.gw.name,
            em = mac(hosts::ECHO.mac),
            gm = mac(hosts::GATEWAY.mac),
        ));
        sh(&format!(
            "ip link add {WAN_IF} netns {g} numtxqueues 1 numrxqueues 1 type veth \
             peer name {CLOUD_IF} netns {c} numtxqueues 1 numrxqueues 1",
            g = bed.gw.name,
            c = bed.cloud.name,
        ));
        bed.echo.exec(&format!(
            "ip addr add {ECHO_IP}/24 dev {ECHO_IF} && ip link set {ECHO_IF} up && \
             ip route add default via {GW_LAN_IP}"
        ));
        // rp_filter off: the cloud side sees sources from a network it has no
        // route to, and the gateway should not second-guess the LAN either.
        bed.gw.exec(&format!(
            "sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
             net.ipv4.conf.default.rp_filter=0 net.ipv4.conf.all.send_redirects=0 && \
             ip addr add {GW_LAN_IP}/24 dev {LAN_IF} && ip link set {LAN_IF} up && \
             ip addr add {GW_WAN_IP}/30 dev {WAN_IF} && ip link set {WAN_IF} up && \
             ip route add default via {CLOUD_IP}"
        ));
        bed.cloud.exec(&format!(
            "sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 && \
             ip addr add {CLOUD_IP}/30 dev {CLOUD_IF} && ip link set {CLOUD_IF} up"
        ));
        bed
    }

    /// Runs `cmd` in the gateway namespace and returns its standard output.
    pub fn in_gw(&self, cmd: &str) -> String {
        String::from_utf8_lossy(&self.gw.exec(cmd).stdout).into_owned()
    }

    /// Whether XDP is attached to the gateway's LAN interface.
    pub fn xdp_attached(&self) -> bool {
        self.in_gw(&format!("ip link show {LAN_IF}"))
            .contains("xdp")
    }
}

/// What is left of a testbed after teardown (should be nothing).
pub fn leftovers(names: &[String], pin_dir: &std::path::Path) -> Vec<String> {
    let mut left: Vec<String> = names
        .iter()
        .filter(|n| Netns::exists(n))
        .map(|n| format!("network namespace {n}"))
        .collect();
    if pin_dir.exists() {
        left.push(format!("pin directory {}", pin_dir.display()));
    }
    // Links die with their namespace; a veth end left in the host's
    // namespace would mean a namespace was never made.
    let links = Command::new("ip")
        .args(["-o", "link", "show"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    for l in [ECHO_IF, LAN_IF, WAN_IF, CLOUD_IF] {
        if links.contains(&format!(": {l}@")) || links.contains(&format!(": {l}:")) {
            left.push(format!("link {l} in the host's namespace"));
        }
    }
    left
}
