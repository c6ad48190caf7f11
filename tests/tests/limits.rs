//! Documented behaviour at the limits (docs/agent.md), proved on the real
//! program through BPF_PROG_TEST_RUN: a full ring buffer loses events but
//! never packets or counts; a full flow map evicts the oldest flows and
//! keeps classifying.

use alexa::kernel::{decode_event, Probe};
use alexa_common::maps::{counter, FLOW_CAPACITY, RINGBUF_BYTES};
use alexa_tests::privileged;

use etherparse::PacketBuilder;

const PASS: u32 = 2;
const DEVICE: [u8; 4] = [192, 168, 7, 2];

fn udp_frame(sport: u16, len: usize) -> Vec<u8> {
    udp_to(sport, [192, 168, 7, 1], len)
}

fn udp_to(sport: u16, dst: [u8; 4], len: usize) -> Vec<u8> {
    let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        .ipv4(DEVICE, dst, 64)
        .udp(sport, 443);
    let payload = vec![0u8; len];
    let mut out = Vec::with_capacity(b.size(len));
    b.write(&mut out, &payload).unwrap();
    out
}

fn loaded() -> Probe {
    let mut c = Probe::load().expect("load the classifier");
    c.add_device(0, std::net::IpAddr::from(DEVICE)).unwrap();
    c
}

#[test]
fn a_full_ring_buffer_loses_events_not_packets_and_counts_every_loss() {
    if !privileged() {
        return;
    }
    let mut c = loaded();
    let mut ring = c.take_events().unwrap();
    // Nobody reads while 3× the ring's capacity of events is produced
    // (counted in the smallest records, head-only, so it overflows whatever
    // the mix).
    let record = alexa_common::event::EVENT_HEAD_SIZE as u64 + 8;
    let fits = RINGBUF_BYTES as u64 / record;
    let runs = (3 * fits) as u32;
    let (ret, _) = c.test_run(&udp_frame(40000, 100), runs).unwrap();
    assert_eq!(ret, PASS);
    let counters = c.counters().unwrap();
    assert_eq!(counters[counter::CLASSIFIED as usize], runs as u64);
    let lost = counters[counter::RINGBUF_LOST as usize];
    assert!(
        lost > 0,
        "nothing lost with {runs} events in a ring for ~{fits}"
    );
    let mut received = 0u64;
    while let Some(item) = ring.next() {
        assert!(decode_event(&item).is_some());
        received += 1;
    }
    assert_eq!(
        received + lost,
        runs as u64,
        "events received + losses reported != packets classified"
    );
    // Once drained, events flow again.
    c.test_run(&udp_frame(40000, 100), 10).unwrap();
    let mut again = 0;
    while ring.next().is_some() {
        again += 1;
    }
    assert_eq!(again, 10);
}

#[test]
fn a_full_flow_map_evicts_old_flows_and_keeps_classifying() {
    if !privileged() {
        return;
    }
    let mut c = loaded();
    let mut ring = c.take_events().unwrap();
    // A quarter more flows than the map holds, each to its own server.
    let flows = FLOW_CAPACITY as usize + FLOW_CAPACITY as usize / 4;
    for i in 0..flows {
        let dst = [10, (i >> 16) as u8, (i >> 8) as u8, i as u8];
        let (ret, _) = c.test_run(&udp_to(40000, dst, 10), 1).unwrap();
        assert_eq!(ret, PASS);
        while ring.next().is_some() {}
    }
    let counters = c.counters().unwrap();
    assert_eq!(counters[counter::CLASSIFIED as usize], flows as u64);
    assert_eq!(
        counters[counter::FLOW_UPDATE_FAILED as usize],
        0,
        "an LRU map evicts instead of refusing"
    );
    // The map is at (not over) capacity.
    let live = c.flow_count().unwrap();
    assert!(live <= FLOW_CAPACITY as usize, "{live} flows in the map");
    assert!(live > FLOW_CAPACITY as usize / 2, "only {live} flows kept");
}
