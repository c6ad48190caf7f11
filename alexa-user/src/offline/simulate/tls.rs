//! TLS 1.2 record payloads as the Echo and its servers put them on the wire:
//! a real five-byte record header (type, version 3.3, length) and a body
//! that is opaque (random bytes) except where the handshake is in clear.

use rand::RngCore;

pub const CHANGE_CIPHER_SPEC: u8 = 20;
pub const ALERT: u8 = 21;
pub const HANDSHAKE: u8 = 22;
pub const APPLICATION_DATA: u8 = 23;

pub const HEADER: usize = 5;
/// The Echo limits its records so each fits one segment (the BoringSSL-like
/// dynamic record size of 1,369 bytes of ciphertext plus the header).
pub const MAX_DEVICE_RECORD: usize = 1_374;

/// A record of `total` bytes (header included) of type `content_type`.
pub fn record(content_type: u8, total: usize, rng: &mut impl RngCore) -> Vec<u8> {
    assert!(total > HEADER, "a record has a body");
    let body = total - HEADER;
    let mut r = Vec::with_capacity(total);
    r.extend_from_slice(&[content_type, 3, 3]);
    r.extend_from_slice(&(body as u16).to_be_bytes());
    let start = r.len();
    r.resize(total, 0);
    match content_type {
        CHANGE_CIPHER_SPEC => r[start] = 1,
        // Encrypted alert: opaque body; in clear the description 0 is close_notify.
        ALERT => rng.fill_bytes(&mut r[start..]),
        _ => rng.fill_bytes(&mut r[start..]),
    }
    r
}

/// A ClientHello record of `total` bytes: handshake type 1, its length,
/// client version 3.3, 32 random bytes, a session id, then opaque extensions.
pub fn client_hello(total: usize, resume: bool, rng: &mut impl RngCore) -> Vec<u8> {
    let mut r = record(HANDSHAKE, total, rng);
    r[1..3].copy_from_slice(&[3, 1]); // record layer version 3.1, as clients send
    let body = total - HEADER;
    r[5] = 1;
    r[6..9].copy_from_slice(&(body as u32 - 4).to_be_bytes()[1..]);
    r[9..11].copy_from_slice(&[3, 3]);
    r[43] = if resume { 32 } else { 0 };
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn records_parse_under_the_contract() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        for (ct, len) in [
            (20, 6),
            (21, 31),
            (22, 517),
            (23, 100),
            (23, MAX_DEVICE_RECORD),
        ] {
            let r = if ct == 22 {
                client_hello(len, false, &mut rng)
            } else {
                record(ct, len, &mut rng)
            };
            assert_eq!(r.len(), len);
            let mut head = [0u8; 8];
            let seen = r.len().min(8);
            head[..seen].copy_from_slice(&r[..seen]);
            assert_eq!(alexa_common::parse::tls_record_type(&head, seen), Some(ct));
        }
    }
}
