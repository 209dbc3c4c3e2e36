//! Bawaba's pure core: everything that decides, nothing that does I/O.
//!
//! The edge worker, the demo shop and the tests all run this same code; the edge only adds
//! `fetch`, storage and clocks around it. Keeping it I/O-free means every rule here is tested
//! natively with `cargo test`, fast and without a browser or workerd.

#![deny(missing_docs)]

pub mod api;
pub mod applepay;
pub mod dashboard;
pub mod decline;
pub mod gateway;
pub mod health;
pub mod intent;
pub mod lifecycle;
pub mod limits;
pub mod method;
pub mod mobile;
pub mod money;
pub mod notification;
pub mod payment;
pub mod secret;
pub mod shop_events;
pub mod signature;
pub mod stats;
pub mod web_policy;

mod b64 {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    pub fn encode(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    pub fn decode(text: &str) -> Option<Vec<u8>> {
        URL_SAFE_NO_PAD.decode(text).ok()
    }
}

/// HMAC-SHA256 of `message` under `key`, the one MAC every Bawaba contract uses.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// Compares two byte strings in constant time (for MACs and tokens).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}
