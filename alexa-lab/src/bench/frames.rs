//! The frames the bench feeds the kernel: one of each kind the classifier
//! treats differently, and frames of numbered flows for the scale section.

use std::net::Ipv4Addr;

use etherparse::PacketBuilder;

use crate::synth::{DEVICE_V4, DEVICE_V6};

const MAC_A: [u8; 6] = [2, 0, 0, 0, 0, 1];
const MAC_B: [u8; 6] = [2, 0, 0, 0, 0, 2];
/// A documentation-range server, as the simulator uses.
const SERVER_V4: [u8; 4] = [203, 0, 113, 10];
const SERVER_V6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const OTHER_V4: [u8; 4] = [192, 168, 137, 7];

pub use crate::synth::devices;

/// A TLS 1.2 application-data record of `len` bytes in all.
fn tls_app_data(len: usize) -> Vec<u8> {
    let body = len - 5;
    let mut v = vec![23, 3, 3, (body >> 8) as u8, body as u8];
    v.resize(len, 0xab);
    v
}

/// (name, frame): every kind of packet the classifier's cost depends on.
pub fn kinds() -> Vec<(&'static str, Vec<u8>)> {
    let mut out = Vec::new();
    let eth = || PacketBuilder::ethernet2(MAC_A, MAC_B);
    let mut f = Vec::new();
    eth()
        .ipv4(DEVICE_V4, SERVER_V4, 64)
        .tcp(40001, 443, 1000, 64240)
        .syn()
        .write(&mut f, &[])
        .expect("syn");
    out.push(("TCP SYN", f));
    let mut f = Vec::new();
    eth()
        .ipv4(DEVICE_V4, SERVER_V4, 64)
        .tcp(40002, 443, 5000, 502)
        .ack(7000)
        .psh()
        .write(&mut f, &tls_app_data(100))
        .expect("tls");
    out.push(("TLS app-data (IPv4)", f));
    let mut f = Vec::new();
    eth()
        .ipv4(DEVICE_V4, SERVER_V4, 64)
        .tcp(40003, 443, 5000, 502)
        .ack(7000)
        .write(&mut f, &[])
        .expect("ack");
    out.push(("pure ACK", f));
    let mut f = Vec::new();
    eth()
        .ipv4(DEVICE_V4, [192, 168, 137, 1], 64)
        .udp(40004, 53)
        .write(&mut f, &[0x5a; 40])
        .expect("udp");
    out.push(("UDP (DNS)", f));
    let mut f = Vec::new();
    eth()
        .ipv6(DEVICE_V6, SERVER_V6, 64)
        .tcp(40005, 443, 5000, 502)
        .ack(7000)
        .psh()
        .write(&mut f, &tls_app_data(100))
        .expect("tls6");
    out.push(("TLS app-data (IPv6)", f));
    out.push(("non-device host (fast path)", foreign()));
    out
}

/// A TLS record from a host that is not monitored.
pub fn foreign() -> Vec<u8> {
    let mut f = Vec::new();
    PacketBuilder::ethernet2(MAC_A, MAC_B)
        .ipv4(OTHER_V4, SERVER_V4, 64)
        .tcp(40006, 443, 5000, 502)
        .ack(7000)
        .psh()
        .write(&mut f, &tls_app_data(100))
        .expect("foreign");
    f
}

/// The server of flow `i` of the scale section: one flow per address.
pub fn flow_server(i: u32) -> [u8; 4] {
    [10, (i >> 16) as u8, (i >> 8) as u8, i as u8]
}

pub const FLOW_SPORT: u16 = 40_000;
pub const FLOW_DPORT: u16 = 443;
pub const FLOW_SEQ: u32 = 1_000;

/// A TLS record of flow `i` of the scale section.
pub fn flow_frame(i: u32) -> Vec<u8> {
    let mut f = Vec::new();
    PacketBuilder::ethernet2(MAC_A, MAC_B)
        .ipv4(DEVICE_V4, flow_server(i), 64)
        .tcp(FLOW_SPORT, FLOW_DPORT, FLOW_SEQ, 502)
        .ack(1)
        .psh()
        .write(&mut f, &tls_app_data(100))
        .expect("flow frame");
    f
}

/// A UDP datagram padded to the 60-byte Ethernet minimum, for the blaster.
pub fn blast_frame(
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
    src: Ipv4Addr,
    dst: Ipv4Addr,
    sport: u16,
) -> Vec<u8> {
    let mut f = Vec::new();
    PacketBuilder::ethernet2(src_mac, dst_mac)
        .ipv4(src.octets(), dst.octets(), 64)
        .udp(sport, 9)
        .write(&mut f, &[0u8; 18])
        .expect("blast frame");
    f
}
