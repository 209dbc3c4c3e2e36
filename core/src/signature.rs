//! The `Bawaba-Signature` header: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.
//!
//! Used for result notifications (edge → shop) and for signed shop → edge calls. The
//! timestamp is inside the MAC, so a captured message cannot be replayed after the tolerance.

use crate::{constant_time_eq, hmac_sha256};
use std::fmt;

/// Name of the HTTP header that carries the signature.
pub const HEADER: &str = "Bawaba-Signature";

/// How far (seconds) a signature's timestamp may be from the receiver's clock.
pub const DEFAULT_TOLERANCE_SECS: i64 = 300;

/// Why a signature was refused. Each variant has a stable code for error bodies and logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureError {
    /// No signature header at all.
    Missing,
    /// The header is not `t=<int>,v1=<hex>`.
    Malformed,
    /// The timestamp is more than the tolerance away from now.
    TimestampOutOfTolerance,
    /// No `v1` value matches the body under this secret.
    Mismatch,
}

impl SignatureError {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            SignatureError::Missing => "signature_missing",
            SignatureError::Malformed => "signature_malformed",
            SignatureError::TimestampOutOfTolerance => "signature_expired",
            SignatureError::Mismatch => "signature_invalid",
        }
    }
}

impl fmt::Display for SignatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SignatureError::Missing => "the Bawaba-Signature header is missing",
            SignatureError::Malformed => "the Bawaba-Signature header is not t=<unix>,v1=<hex>",
            SignatureError::TimestampOutOfTolerance => "the signature timestamp is outside the 300 s tolerance",
            SignatureError::Mismatch => "the signature does not match the body",
        })
    }
}

impl std::error::Error for SignatureError {}

/// Builds the header value for `body` signed at `timestamp`.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    format!("t={timestamp},v1={}", hex::encode(mac(secret, timestamp, body)))
}

fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> [u8; 32] {
    let mut message = Vec::with_capacity(body.len() + 12);
    message.extend_from_slice(timestamp.to_string().as_bytes());
    message.push(b'.');
    message.extend_from_slice(body);
    hmac_sha256(secret, &message)
}

/// Verifies a header value against `body`. `header` is `None` when the header was absent.
/// Several `v1=` entries are allowed (secret rotation): one match is enough.
pub fn verify(
    secret: &[u8],
    header: Option<&str>,
    body: &[u8],
    now: i64,
    tolerance_secs: i64,
) -> Result<(), SignatureError> {
    let header = header.map(str::trim).filter(|h| !h.is_empty()).ok_or(SignatureError::Missing)?;
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        let (key, value) = part.trim().split_once('=').ok_or(SignatureError::Malformed)?;
        match key {
            "t" => timestamp = Some(value.parse::<i64>().map_err(|_| SignatureError::Malformed)?),
            "v1" => candidates.push(hex::decode(value).map_err(|_| SignatureError::Malformed)?),
            _ => {} // unknown schemes are ignored so that a v2 can be added without breaking v1 receivers
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if candidates.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if (now - timestamp).abs() > tolerance_secs {
        return Err(SignatureError::TimestampOutOfTolerance);
    }
    let expected = mac(secret, timestamp, body);
    if candidates.iter().any(|c| constant_time_eq(c, &expected)) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"whsec_test";
    const NOW: i64 = 1_800_000_000;

    #[test]
    fn a_signed_body_verifies() {
        let h = sign(SECRET, NOW, b"{\"a\":1}");
        assert_eq!(verify(SECRET, Some(&h), b"{\"a\":1}", NOW + 10, 300), Ok(()));
    }

    #[test]
    fn each_kind_of_bad_signature_has_its_own_error() {
        let h = sign(SECRET, NOW, b"body");
        assert_eq!(verify(SECRET, None, b"body", NOW, 300), Err(SignatureError::Missing));
        assert_eq!(verify(SECRET, Some("garbage"), b"body", NOW, 300), Err(SignatureError::Malformed));
        assert_eq!(verify(SECRET, Some("t=1"), b"body", NOW, 300), Err(SignatureError::Malformed));
        assert_eq!(verify(SECRET, Some(&h), b"body!", NOW, 300), Err(SignatureError::Mismatch));
        assert_eq!(verify(b"other", Some(&h), b"body", NOW, 300), Err(SignatureError::Mismatch));
        assert_eq!(verify(SECRET, Some(&h), b"body", NOW + 301, 300), Err(SignatureError::TimestampOutOfTolerance));
        assert_eq!(verify(SECRET, Some(&h), b"body", NOW - 301, 300), Err(SignatureError::TimestampOutOfTolerance));
    }

    #[test]
    fn any_matching_v1_is_accepted_for_rotation() {
        let good = sign(SECRET, NOW, b"x");
        let v1 = good.split("v1=").nth(1).unwrap();
        let header = format!("t={NOW},v1={},v1={v1}", "00".repeat(32));
        assert_eq!(verify(SECRET, Some(&header), b"x", NOW, 300), Ok(()));
    }
}
