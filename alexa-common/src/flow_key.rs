//! The key of a connection's state in the kernel's flow and quarantine
//! maps and in the offline extractor: what the parser makes of a packet's
//! addresses and ports, and what the flow rules look up.

/// A flow: the 5-tuple in the device's sending direction. Ports in host order.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlowKey {
    pub src: [u8; 16],
    pub dst: [u8; 16],
    pub src_port: u16,
    pub dst_port: u16,
    pub proto: u8,
    // Two fields, not `[u8; 3]`: an array is zeroed through `memset` (see `map_v4`).
    pub _pad: u8,
    pub _pad2: u16,
}

impl FlowKey {
    #[inline(always)]
    pub fn new(src: [u8; 16], dst: [u8; 16], src_port: u16, dst_port: u16, proto: u8) -> Self {
        FlowKey {
            src,
            dst,
            src_port,
            dst_port,
            proto,
            _pad: 0,
            _pad2: 0,
        }
    }
}
