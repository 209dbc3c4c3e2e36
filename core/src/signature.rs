//! The `Bawaba-Signature` header: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, message)>`.
//!
//! Two messages are signed this way:
//!
//! - result notifications (edge → shop), [`sign`] / [`verify`]: the message is `"<t>.<raw body>"`;
//! - shop → edge calls, [`sign_call`] / [`verify_call`]: the message is [`canonical_call`], which
//!   binds the method, the path with its query, the shop id and the idempotency key as well as
//!   the body, so a call signed for one route cannot be replayed on another.
//!
//! The timestamp is inside the MAC, so a captured message cannot be replayed after the tolerance.

use crate::{constant_time_eq, hmac_sha256};
use std::fmt;

/// Name of the HTTP header that carries the signature.
pub const HEADER: &str = "Bawaba-Signature";

/// How far (seconds) a signature's timestamp may be from the receiver's clock.
pub const DEFAULT_TOLERANCE_SECS: i64 = 300;

/// Header name for the idempotency key.
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";

/// The first line of every [`canonical_call`]: names the scheme, so a call's MAC can never be
/// taken for a notification's (whose message starts with digits).
const CALL_SCHEME: &str = "bawaba-call-v1";

/// Why a signature was refused. Each variant has a stable code for error bodies and logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureError {
    /// No signature header at all.
    Missing,
    /// The header is not `t=<int>,v1=<hex>`, or a signed call's method, path, shop id or
    /// idempotency key contains a line break.
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
            SignatureError::Malformed => {
                "the Bawaba-Signature header is not t=<unix>,v1=<hex>, or a signed header contains a line break"
            }
            SignatureError::TimestampOutOfTolerance => "the signature timestamp is outside the 300 s tolerance",
            SignatureError::Mismatch => "the signature does not match the signed message",
        })
    }
}

impl std::error::Error for SignatureError {}

impl SignatureError {
    /// The refusal in words for a gateway's webhook (`Display` speaks of Bawaba's own header,
    /// which a gateway's webhook does not carry).
    pub fn describe_webhook(&self, gateway: &str) -> String {
        match self {
            SignatureError::Missing => format!("the {gateway} webhook carries no signature or token"),
            SignatureError::Malformed => format!("the {gateway} webhook's signature is not in {gateway}'s format"),
            SignatureError::TimestampOutOfTolerance => {
                format!("the {gateway} webhook's signature is too old or too new")
            }
            SignatureError::Mismatch => {
                format!("the {gateway} webhook's signature or token does not match this edge's {gateway} secret")
            }
        }
    }
}

/// Builds the header value for `body` signed at `timestamp`.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    sign_with_each(&[secret], timestamp, body)
}

/// Builds the header value for `body` signed with each key, one `v1=` per key: while a shop's
/// key is rotated, a receiver that knows either key accepts it.
pub fn sign_with_each(secrets: &[&[u8]], timestamp: i64, body: &[u8]) -> String {
    let mut header = format!("t={timestamp}");
    for secret in secrets {
        header.push_str(",v1=");
        header.push_str(&hex::encode(mac(secret, timestamp, body)));
    }
    header
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
    let parsed = parse_header(header)?;
    parsed.check(now, tolerance_secs, &mac(secret, parsed.timestamp, body))
}

/// The parts of a shop → edge call that its signature binds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedCall<'a> {
    /// `"POST"`, `"GET"` (upper case as sent).
    pub method: &'a str,
    /// `"/v1/refunds"`, `"/v1/deliveries?state=failing"` (exactly as on the wire).
    pub path_and_query: &'a str,
    /// The `Bawaba-Shop` header.
    pub shop_id: &'a str,
    /// The `Idempotency-Key` header, if sent.
    pub idempotency_key: Option<&'a str>,
    /// Raw body bytes (empty for GET).
    pub body: &'a [u8],
}

impl SignedCall<'_> {
    /// Whether a field would let the canonical string be forged by shifting text from one line
    /// to the next.
    fn has_line_break(&self) -> bool {
        [self.method, self.path_and_query, self.shop_id, self.idempotency_key.unwrap_or("")]
            .iter()
            .any(|part| part.contains('\n'))
    }
}

/// The exact bytes a call's MAC is computed over:
///
/// ```text
/// bawaba-call-v1\n<t>\n<METHOD>\n<path_and_query>\n<shop_id>\n<idempotency key or empty>\n<raw body>
/// ```
pub fn canonical_call(timestamp: i64, call: &SignedCall) -> Vec<u8> {
    let key = call.idempotency_key.unwrap_or("");
    let t = timestamp.to_string();
    let mut message = Vec::with_capacity(
        CALL_SCHEME.len()
            + t.len()
            + call.method.len()
            + call.path_and_query.len()
            + call.shop_id.len()
            + key.len()
            + call.body.len()
            + 6,
    );
    for line in [CALL_SCHEME, &t, call.method, call.path_and_query, call.shop_id, key] {
        message.extend_from_slice(line.as_bytes());
        message.push(b'\n');
    }
    message.extend_from_slice(call.body);
    message
}

/// Builds the `Bawaba-Signature` value of a shop → edge call signed at `timestamp`:
/// `t=<t>,v1=<hex HMAC-SHA256(secret, canonical_call(t, call))>`.
///
/// A call whose method, path, shop id or key contains `\n` still gets a header, but
/// [`verify_call`] refuses it (`Malformed`) whatever the MAC.
pub fn sign_call(secret: &[u8], timestamp: i64, call: &SignedCall) -> String {
    format!("t={timestamp},v1={}", hex::encode(hmac_sha256(secret, &canonical_call(timestamp, call))))
}

/// Verifies the `Bawaba-Signature` of a shop → edge call (`header` is `None` when absent).
/// Same header rules as [`verify`]: several `v1=` allowed, unknown keys ignored, `tolerance_secs`
/// around `now`.
pub fn verify_call(
    secret: &[u8],
    header: Option<&str>,
    call: &SignedCall,
    now: i64,
    tolerance_secs: i64,
) -> Result<(), SignatureError> {
    let parsed = parse_header(header)?;
    if call.has_line_break() {
        return Err(SignatureError::Malformed);
    }
    parsed.check(now, tolerance_secs, &hmac_sha256(secret, &canonical_call(parsed.timestamp, call)))
}

/// A `t=…,v1=…` header, parsed but not yet checked.
struct ParsedHeader {
    timestamp: i64,
    candidates: Vec<Vec<u8>>,
}

/// Parses `t=<int>,v1=<hex>[,v1=<hex>…]`; keys other than `t` and `v1` are ignored so that a
/// `v2` can be added without breaking `v1` receivers.
fn parse_header(header: Option<&str>) -> Result<ParsedHeader, SignatureError> {
    let header = header.map(str::trim).filter(|h| !h.is_empty()).ok_or(SignatureError::Missing)?;
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        let (key, value) = part.trim().split_once('=').ok_or(SignatureError::Malformed)?;
        match key {
            "t" => timestamp = Some(value.parse::<i64>().map_err(|_| SignatureError::Malformed)?),
            "v1" => candidates.push(hex::decode(value).map_err(|_| SignatureError::Malformed)?),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if candidates.is_empty() {
        return Err(SignatureError::Malformed);
    }
    Ok(ParsedHeader { timestamp, candidates })
}

impl ParsedHeader {
    /// The timestamp is within the tolerance (no overflow, whatever `t` says) and one `v1`
    /// equals `expected` (constant time).
    fn check(&self, now: i64, tolerance_secs: i64, expected: &[u8]) -> Result<(), SignatureError> {
        if now.abs_diff(self.timestamp) > tolerance_secs.unsigned_abs() {
            return Err(SignatureError::TimestampOutOfTolerance);
        }
        if self.candidates.iter().any(|c| constant_time_eq(c, expected)) {
            Ok(())
        } else {
            Err(SignatureError::Mismatch)
        }
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
    fn a_timestamp_at_the_ends_of_i64_is_out_of_tolerance_not_a_panic() {
        for t in [i64::MIN, i64::MAX] {
            let h = sign(SECRET, t, b"x");
            assert_eq!(verify(SECRET, Some(&h), b"x", NOW, 300), Err(SignatureError::TimestampOutOfTolerance));
            let h = sign_call(SECRET, t, &refund());
            assert_eq!(
                verify_call(SECRET, Some(&h), &refund(), NOW, 300),
                Err(SignatureError::TimestampOutOfTolerance)
            );
        }
    }

    #[test]
    fn any_matching_v1_is_accepted_for_rotation() {
        let good = sign(SECRET, NOW, b"x");
        let v1 = good.split("v1=").nth(1).unwrap();
        let header = format!("t={NOW},v1={},v1={v1}", "00".repeat(32));
        assert_eq!(verify(SECRET, Some(&header), b"x", NOW, 300), Ok(()));
    }

    #[test]
    fn a_header_signed_with_both_keys_verifies_with_either() {
        let (old, new) = (b"old-key".as_slice(), b"new-key".as_slice());
        let header = sign_with_each(&[new, old], NOW, b"x");
        assert_eq!(header.matches("v1=").count(), 2);
        assert_eq!(verify(old, Some(&header), b"x", NOW, 300), Ok(()));
        assert_eq!(verify(new, Some(&header), b"x", NOW, 300), Ok(()));
        assert!(verify(b"other", Some(&header), b"x", NOW, 300).is_err());
        assert_eq!(sign_with_each(&[new], NOW, b"x"), sign(new, NOW, b"x"));
    }

    const BODY: &[u8] = br#"{"reference":"S00042","amount":2500}"#;

    fn refund() -> SignedCall<'static> {
        SignedCall {
            method: "POST",
            path_and_query: "/v1/refunds",
            shop_id: "demo",
            idempotency_key: Some("R-S00042"),
            body: BODY,
        }
    }

    fn deliveries() -> SignedCall<'static> {
        SignedCall {
            method: "GET",
            path_and_query: "/v1/deliveries?state=failing",
            shop_id: "demo",
            idempotency_key: None,
            body: b"",
        }
    }

    #[test]
    fn the_canonical_call_is_the_documented_bytes() {
        let mut expected = b"bawaba-call-v1\n1800000000\nPOST\n/v1/refunds\ndemo\nR-S00042\n".to_vec();
        expected.extend_from_slice(BODY);
        assert_eq!(canonical_call(NOW, &refund()), expected);
        assert_eq!(
            canonical_call(NOW, &deliveries()),
            b"bawaba-call-v1\n1800000000\nGET\n/v1/deliveries?state=failing\ndemo\n\n".to_vec()
        );
        let header = sign_call(SECRET, NOW, &refund());
        assert_eq!(header, format!("t={NOW},v1={}", hex::encode(hmac_sha256(SECRET, &expected))));
    }

    #[test]
    fn a_signed_call_verifies() {
        for call in [refund(), deliveries()] {
            let h = sign_call(SECRET, NOW, &call);
            assert_eq!(verify_call(SECRET, Some(&h), &call, NOW + 10, 300), Ok(()));
        }
    }

    #[test]
    fn a_call_header_fails_for_any_other_call() {
        let h = sign_call(SECRET, NOW, &refund());
        let others = [
            ("another method", SignedCall { method: "PUT", ..refund() }),
            ("another path", SignedCall { path_and_query: "/v1/voids", ..refund() }),
            ("another query", SignedCall { path_and_query: "/v1/refunds?amount=999", ..refund() }),
            ("another shop id", SignedCall { shop_id: "other", ..refund() }),
            ("another key", SignedCall { idempotency_key: Some("R-S00042-1"), ..refund() }),
            ("no key", SignedCall { idempotency_key: None, ..refund() }),
            ("another body", SignedCall { body: br#"{"reference":"S00042","amount":2501}"#, ..refund() }),
        ];
        for (what, call) in others {
            assert_eq!(verify_call(SECRET, Some(&h), &call, NOW, 300), Err(SignatureError::Mismatch), "{what}");
        }
        let get = sign_call(SECRET, NOW, &deliveries());
        let others = [
            ("an added key", SignedCall { idempotency_key: Some("k"), ..deliveries() }),
            ("another query", SignedCall { path_and_query: "/v1/deliveries?state=failed", ..deliveries() }),
            ("as a POST", SignedCall { method: "POST", ..deliveries() }),
        ];
        for (what, call) in others {
            assert_eq!(verify_call(SECRET, Some(&get), &call, NOW, 300), Err(SignatureError::Mismatch), "{what}");
        }
        assert_eq!(verify_call(b"other", Some(&h), &refund(), NOW, 300), Err(SignatureError::Mismatch));
        assert_eq!(verify_call(SECRET, None, &refund(), NOW, 300), Err(SignatureError::Missing));
        assert_eq!(
            verify_call(SECRET, Some(&h), &refund(), NOW + 301, 300),
            Err(SignatureError::TimestampOutOfTolerance)
        );
    }

    #[test]
    fn a_notification_signature_is_not_a_call_signature() {
        let h = sign(SECRET, NOW, BODY);
        assert_eq!(verify_call(SECRET, Some(&h), &refund(), NOW, 300), Err(SignatureError::Mismatch));
        let h = sign_call(SECRET, NOW, &refund());
        assert_eq!(verify(SECRET, Some(&h), BODY, NOW, 300), Err(SignatureError::Mismatch));
    }

    #[test]
    fn a_line_break_in_a_signed_header_is_malformed() {
        // Without the check, text shifted from one line to the next gives the same bytes: a
        // call signed for shop "demo" with key "k" would verify for shop "k" without a key.
        let signed = SignedCall { shop_id: "demo", idempotency_key: Some("k"), body: b"\n{}", ..refund() };
        let shifted = SignedCall {
            path_and_query: "/v1/refunds\ndemo",
            shop_id: "k",
            idempotency_key: None,
            body: b"{}",
            ..refund()
        };
        assert_eq!(canonical_call(NOW, &signed), canonical_call(NOW, &shifted));
        let h = sign_call(SECRET, NOW, &signed);
        assert_eq!(verify_call(SECRET, Some(&h), &shifted, NOW, 300), Err(SignatureError::Malformed));
        for call in [
            shifted,
            SignedCall { method: "POST\n", ..refund() },
            SignedCall { shop_id: "demo\n", ..refund() },
            SignedCall { idempotency_key: Some("a\nb"), ..refund() },
        ] {
            let h = sign_call(SECRET, NOW, &call);
            assert_eq!(verify_call(SECRET, Some(&h), &call, NOW, 300), Err(SignatureError::Malformed));
        }
    }
}
