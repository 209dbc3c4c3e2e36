//! HyperPay webhooks: the body is encrypted, not signed. AES-256-GCM, the key the hex "secret for
//! encryption" HyperPay issues when it registers the URL (`HYPERPAY_WEBHOOK_KEY`), the IV in the
//! `X-Initialization-Vector` header (hex, 12 bytes), the tag in `X-Authentication-Tag` (hex, 16
//! bytes), the body the hex ciphertext (alone, as OPPWA's pages and the plugins read it, or as
//! `{"encryptedBody":"<hex>"}`, as HyperPay's page shows it). Authenticity is the tag: a body
//! that does not decrypt under the key is refused before anything in it is read. The plaintext
//! names the payment; the edge then asks HyperPay (the webhook is only a trigger).
//! Sources: gateways.md §3.5 ([C] payload, [code] HyperPay's Magento plugin `Model/Hook.php`);
//! docs/gateways/hyperpay.md.

use super::wire::{Encrypted, Notification, Payment};
use crate::gateway::{WebhookError, WebhookHint};
use crate::signature::SignatureError;
use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Key, Nonce};

/// IV header.
pub const IV_HEADER: &str = "X-Initialization-Vector";
/// Tag header.
pub const TAG_HEADER: &str = "X-Authentication-Tag";

/// The key from its hex setting: exactly 32 bytes.
pub fn parse_key(hex_key: &str) -> Result<[u8; 32], String> {
    let bytes = hex::decode(hex_key.trim()).map_err(|_| "HYPERPAY_WEBHOOK_KEY is not hex".to_string())?;
    bytes.try_into().map_err(|b: Vec<u8>| format!("HYPERPAY_WEBHOOK_KEY is {} bytes, not 32", b.len()))
}

/// Decrypts a delivery: the plaintext, or why it was refused.
pub fn decrypt(key: &[u8; 32], iv: Option<&str>, tag: Option<&str>, body: &[u8]) -> Result<Vec<u8>, WebhookError> {
    let sig = WebhookError::Signature;
    let iv = iv.map(str::trim).filter(|s| !s.is_empty()).ok_or(sig(SignatureError::Missing))?;
    let tag = tag.map(str::trim).filter(|s| !s.is_empty()).ok_or(sig(SignatureError::Missing))?;
    let iv = hex::decode(iv).map_err(|_| sig(SignatureError::Malformed))?;
    let tag = hex::decode(tag).map_err(|_| sig(SignatureError::Malformed))?;
    if iv.len() != 12 || tag.len() != 16 {
        return Err(sig(SignatureError::Malformed));
    }
    let text = std::str::from_utf8(body).map_err(|_| sig(SignatureError::Malformed))?.trim();
    let hex_body = match serde_json::from_str::<Encrypted>(text) {
        Ok(e) => e.encrypted_body,
        Err(_) => text.to_string(),
    };
    let mut sealed = hex::decode(hex_body.trim()).map_err(|_| sig(SignatureError::Malformed))?;
    sealed.extend_from_slice(&tag);
    let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key));
    cipher.decrypt(Nonce::from_slice(&iv), sealed.as_slice()).map_err(|_| sig(SignatureError::Mismatch))
}

/// Encrypts a plaintext as HyperPay does: `(hex IV, hex tag, hex body)`. For the fake gateway
/// and tests (the edge only decrypts).
pub fn encrypt(key: &[u8; 32], iv: &[u8; 12], plaintext: &[u8]) -> (String, String, String) {
    let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key));
    let sealed = cipher.encrypt(Nonce::from_slice(iv), plaintext).expect("AES-GCM encrypts any length we send");
    let (body, tag) = sealed.split_at(sealed.len() - 16);
    (hex::encode(iv), hex::encode(tag), hex::encode(body))
}

/// Verifies (decrypts) a delivery and reads which payment it is about: our reference
/// (`merchantTransactionId`). Notifications that are not about a payment (registrations,
/// schedules, risk) name nothing and are acknowledged.
pub fn verify(key: &[u8; 32], iv: Option<&str>, tag: Option<&str>, body: &[u8]) -> Result<WebhookHint, WebhookError> {
    let plain = decrypt(key, iv, tag, body)?;
    let note: Notification = serde_json::from_slice(&plain).map_err(|e| WebhookError::Body(e.to_string()))?;
    if note.kind != "PAYMENT" {
        return Ok(WebhookHint { gateway_payment_id: None, reference: None });
    }
    let payment: Payment = serde_json::from_value(note.payload).map_err(|e| WebhookError::Body(e.to_string()))?;
    let reference = payment.merchant_transaction_id.filter(|r| !r.trim().is_empty());
    // The payload's `id` is the payment's, not the checkout's the edge knows the session by: the
    // payment is found by our reference.
    Ok(WebhookHint { gateway_payment_id: None, reference })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    const PLAIN: &[u8] = br#"{"type":"PAYMENT","payload":{"id":"8ac7a4a1","merchantTransactionId":"demo:S1","result":{"code":"000.100.110"}}}"#;
    // The same plaintext encrypted independently, with Python's `cryptography` 48.0.0
    // (AESGCM(key).encrypt(iv, plaintext, None); the last 16 bytes are the tag), key KEY, IV
    // 0f0e0d0c0b0a090807060504.
    const PY_IV: &str = "0f0e0d0c0b0a090807060504";
    const PY_BODY: &str = "df12c5252bb28d94c98ff00675dfc7554b4a3d10ae209d0b372d8cc54928d94e26b0e1784a2a4cef14d41dcfbf2e456065639d3006c90a999532359710032ce5dc7e232b5b7bced2387402e6610a5893a1573ef1f92665c337bf7eee6d2bab74348beab39522b1bee3fc95cf1bf9cab6";
    const PY_TAG: &str = "646dbf8481221be75f4a949b0ad5b670";

    fn key() -> [u8; 32] {
        parse_key(KEY).unwrap()
    }

    #[test]
    fn an_independent_vector_decrypts_and_names_our_reference() {
        assert_eq!(decrypt(&key(), Some(PY_IV), Some(PY_TAG), PY_BODY.as_bytes()).unwrap(), PLAIN);
        let hint = verify(&key(), Some(PY_IV), Some(PY_TAG), PY_BODY.as_bytes()).unwrap();
        assert_eq!(hint, WebhookHint { gateway_payment_id: None, reference: Some("demo:S1".into()) });
        // HyperPay's JSON wrapping, upper-case hex and surrounding whitespace read the same.
        let wrapped = format!(r#"{{"encryptedBody":"{}"}}"#, PY_BODY.to_uppercase());
        assert_eq!(decrypt(&key(), Some(PY_IV), Some(&PY_TAG.to_uppercase()), wrapped.as_bytes()).unwrap(), PLAIN);
        // Our encryption gives the same bytes as Python's.
        let iv: [u8; 12] = hex::decode(PY_IV).unwrap().try_into().unwrap();
        assert_eq!(encrypt(&key(), &iv, PLAIN), (PY_IV.into(), PY_TAG.into(), PY_BODY.into()));
    }

    #[test]
    fn forged_tags_other_keys_and_altered_bodies_are_refused() {
        let mismatch = Err(WebhookError::Signature(SignatureError::Mismatch));
        let mut forged = hex::decode(PY_TAG).unwrap();
        forged[0] ^= 1;
        assert_eq!(verify(&key(), Some(PY_IV), Some(&hex::encode(forged)), PY_BODY.as_bytes()), mismatch);
        let mut other = key();
        other[31] ^= 0x80;
        assert_eq!(verify(&other, Some(PY_IV), Some(PY_TAG), PY_BODY.as_bytes()), mismatch);
        let mut body = hex::decode(PY_BODY).unwrap();
        body[10] ^= 4;
        assert_eq!(verify(&key(), Some(PY_IV), Some(PY_TAG), hex::encode(body).as_bytes()), mismatch);
        assert_eq!(verify(&key(), Some("0f0e0d0c0b0a090807060505"), Some(PY_TAG), PY_BODY.as_bytes()), mismatch);
        let missing = Err(WebhookError::Signature(SignatureError::Missing));
        assert_eq!(verify(&key(), None, Some(PY_TAG), PY_BODY.as_bytes()), missing);
        assert_eq!(verify(&key(), Some(PY_IV), Some(""), PY_BODY.as_bytes()), missing);
        let malformed = Err(WebhookError::Signature(SignatureError::Malformed));
        assert_eq!(verify(&key(), Some("zz"), Some(PY_TAG), PY_BODY.as_bytes()), malformed);
        assert_eq!(verify(&key(), Some("0f0e"), Some(PY_TAG), PY_BODY.as_bytes()), malformed, "IV of 2 bytes");
        assert_eq!(verify(&key(), Some(PY_IV), Some(PY_TAG), b"not hex"), malformed);
        // A plaintext body (a forger without the key) is refused, not read.
        assert_eq!(verify(&key(), Some(PY_IV), Some(PY_TAG), PLAIN), malformed);
    }

    #[test]
    fn authentic_notifications_that_name_no_payment_are_acknowledged() {
        let iv = [7u8; 12];
        let (iv_hex, tag, body) =
            encrypt(&key(), &iv, br#"{"type":"REGISTRATION","action":"CREATED","payload":{"id":"r1"}}"#);
        assert_eq!(
            verify(&key(), Some(&iv_hex), Some(&tag), body.as_bytes()).unwrap(),
            WebhookHint { gateway_payment_id: None, reference: None }
        );
        let (iv_hex, tag, body) = encrypt(&key(), &iv, b"not json");
        assert!(matches!(verify(&key(), Some(&iv_hex), Some(&tag), body.as_bytes()), Err(WebhookError::Body(_))));
    }

    #[test]
    fn keys_are_32_hex_bytes() {
        assert!(parse_key(KEY).is_ok());
        assert!(parse_key(&KEY[..62]).unwrap_err().contains("31 bytes"));
        assert!(parse_key("xyz").unwrap_err().contains("not hex"));
    }
}
