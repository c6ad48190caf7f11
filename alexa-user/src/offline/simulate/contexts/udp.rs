//! UDP: DNS and the rest.

use super::*;

/// DNS (names cached for an hour) and NTP (every 3 hours). The published
/// dataset holds TCP only; these are not compared with it.
pub(super) fn udp_misc(sim: &mut Sim) {
    let (start, end) = (sim.start(), sim.end());
    let ntp = hosts::remote(Ipv4Addr::new(192, 0, 2, 123));
    let mut t = start + 5 * S;
    while t < end {
        let mut pkt = vec![0u8; 48];
        pkt[0] = 0x23; // LI 0, version 4, client
        let sport = sim.ephemeral_port();
        sim.dev_udp(t, ntp, sport, 123, &pkt, "not_relevant");
        pkt[0] = 0x24;
        let r = sim.rng.gen_range(18 * MS..42 * MS);
        sim.srv_udp(t + r, ntp, 123, sport, &pkt);
        t += around(sim, 10_800.0);
    }
    let names = [
        "avs-alexa-eu.amazon.com",
        "device-metrics-us.amazon.com",
        "api.amazonalexa.com",
    ];
    let mut t = start + 3 * S;
    let mut i = 0;
    while t < end {
        dns(sim, t, names[i % names.len()]);
        i += 1;
        t += around(sim, 1_200.0);
    }
}

/// A DNS query for `name` to the gateway and its answer.
pub(super) fn dns(sim: &mut Sim, t: u64, name: &str) {
    let id: u16 = sim.rng.gen();
    let mut q = Vec::with_capacity(64);
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    let sport = sim.ephemeral_port();
    sim.dev_udp(t, hosts::GATEWAY, sport, 53, &q, "not_relevant");
    let mut a = q.clone();
    a[2] = 0x81;
    a[3] = 0x80;
    a[7] = 1;
    a.extend_from_slice(&[
        0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 203, 0, 113, 10,
    ]);
    let r = sim.rng.gen_range(2 * MS..30 * MS);
    sim.srv_udp(t + r, hosts::GATEWAY, 53, sport, &a);
}
