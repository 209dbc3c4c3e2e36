//! Stripe webhooks: the `Stripe-Signature` header is `t=<unix seconds>,v1=<hex>[,v1=<hex>…]`
//! (other schemes such as `v0` are ignored), each `v1` the hex HMAC-SHA256, keyed with the
//! endpoint's whole signing secret (`whsec_…`, used as text, not decoded), of `"{t}.{raw body}"`.
//!
//! Verified the way Stripe's own libraries do it (stripe-python `WebhookSignature.verify_header`,
//! stripe-node `verifyHeader`): no header → missing; no `t` or no `v1` → malformed; no `v1`
//! equal (constant time, as lower-case hex text) to the expected signature → mismatch; then a
//! timestamp more than 300 s in the past → too old. Like them, a timestamp in the future is not
//! refused. Vectors made with stripe-python: `tests/vectors/stripe_signatures.json`.
//!
//! Even then the webhook is only a trigger: the edge fetches the session before believing it.

use super::wire::Event;
use crate::gateway::{WebhookError, WebhookHint};
use crate::signature::SignatureError;

/// Header name.
pub const HEADER: &str = "Stripe-Signature";

/// Stripe's default tolerance (seconds into the past).
pub const TOLERANCE_SECS: i64 = 300;

/// The header value for `body` signed at `timestamp` (what Stripe sends; for the fake and tests).
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    format!("t={timestamp},v1={}", expected(secret, timestamp, body))
}

fn expected(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut message = format!("{timestamp}.").into_bytes();
    message.extend_from_slice(body);
    hex::encode(crate::hmac_sha256(secret.as_bytes(), &message))
}

/// Checks a `Stripe-Signature` header against the raw body.
pub fn verify_header(secret: &str, header: Option<&str>, body: &[u8], now: i64) -> Result<(), SignatureError> {
    let header = header.filter(|h| !h.is_empty()).ok_or(SignatureError::Missing)?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for item in header.split(',') {
        // Python's `item.split("=", 2)`: the value ends at a second `=`.
        let mut parts = item.split('=');
        let key = parts.next().unwrap_or("");
        let value = parts.next();
        match (key, value) {
            // A `t` or `v1` without a value is unreadable to the libraries.
            ("t" | "v1", None) => return Err(SignatureError::Malformed),
            // The first `t` counts, as in the libraries.
            ("t", Some(v)) if timestamp.is_none() => {
                timestamp = Some(v.trim().parse::<i64>().map_err(|_| SignatureError::Malformed)?)
            }
            ("v1", Some(v)) => signatures.push(v),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    let expected = expected(secret, timestamp, body);
    if !signatures.iter().any(|s| crate::constant_time_eq(s.as_bytes(), expected.as_bytes())) {
        return Err(SignatureError::Mismatch);
    }
    if timestamp < now.saturating_sub(TOLERANCE_SECS) {
        return Err(SignatureError::TimestampOutOfTolerance);
    }
    Ok(())
}

/// Verifies a delivery and says which Checkout Session changed.
///
/// - `checkout.session.*` events carry the session: its id is the hint.
/// - `payment_intent.*` and `charge.*` events carry the PaymentIntent or the Charge, which do not
///   name their session (Stripe links them only the other way): the hint is then our reference
///   from the PaymentIntent's metadata (`payment_intent_data[metadata][bawaba_reference]`,
///   copied onto its charges [U]) with no session id, and the session events or the edge's
///   reconciliation bring the change in.
/// - Other events are acknowledged with an empty hint.
pub fn verify(secret: &str, header: Option<&str>, body: &[u8], now: i64) -> Result<WebhookHint, WebhookError> {
    verify_header(secret, header, body, now).map_err(WebhookError::Signature)?;
    let event: Event = serde_json::from_slice(body).map_err(|e| WebhookError::Body(e.to_string()))?;
    let object = &event.data.object;
    let text = |v: &serde_json::Value| v.as_str().map(str::to_string);
    let reference = text(&object["metadata"]["bawaba_reference"]);
    let hint = match object["object"].as_str() {
        Some("checkout.session") => WebhookHint {
            gateway_payment_id: text(&object["id"]),
            reference: reference.or_else(|| text(&object["client_reference_id"])),
        },
        Some("payment_intent" | "charge") => WebhookHint { gateway_payment_id: None, reference },
        _ => WebhookHint { gateway_payment_id: None, reference: None },
    };
    Ok(hint)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret";
    const NOW: i64 = 1_800_000_000;

    fn event(object: serde_json::Value) -> Vec<u8> {
        serde_json::json!({"id":"evt_1","object":"event","type":"checkout.session.completed","data":{"object":object}})
            .to_string()
            .into_bytes()
    }

    #[test]
    fn session_events_name_the_session() {
        let body = event(serde_json::json!({"id":"cs_test_1","object":"checkout.session",
            "client_reference_id":"demo:S1","metadata":{"bawaba_reference":"demo:S1"}}));
        let hint = verify(SECRET, Some(&sign(SECRET, NOW, &body)), &body, NOW).unwrap();
        assert_eq!(
            hint,
            WebhookHint { gateway_payment_id: Some("cs_test_1".into()), reference: Some("demo:S1".into()) }
        );
        let pi =
            event(serde_json::json!({"id":"pi_1","object":"payment_intent","metadata":{"bawaba_reference":"demo:S1"}}));
        let hint = verify(SECRET, Some(&sign(SECRET, NOW, &pi)), &pi, NOW).unwrap();
        assert_eq!(hint, WebhookHint { gateway_payment_id: None, reference: Some("demo:S1".into()) });
        let other = event(serde_json::json!({"id":"cus_1","object":"customer"}));
        let hint = verify(SECRET, Some(&sign(SECRET, NOW, &other)), &other, NOW).unwrap();
        assert_eq!(hint, WebhookHint { gateway_payment_id: None, reference: None });
    }

    #[test]
    fn headers_are_read_as_the_libraries_read_them() {
        let body = b"{}";
        let good = sign(SECRET, NOW, body);
        let v1 = good.split("v1=").nth(1).unwrap();
        assert_eq!(verify_header(SECRET, Some(&good), body, NOW + 300), Ok(()));
        assert_eq!(verify_header(SECRET, Some(&good), body, NOW + 301), Err(SignatureError::TimestampOutOfTolerance));
        assert_eq!(verify_header(SECRET, Some(&good), body, NOW - 10_000), Ok(()), "the future is not refused");
        assert_eq!(verify_header(SECRET, None, body, NOW), Err(SignatureError::Missing));
        assert_eq!(verify_header(SECRET, Some(""), body, NOW), Err(SignatureError::Missing));
        assert_eq!(verify_header(SECRET, Some(&format!("v1={v1}")), body, NOW), Err(SignatureError::Malformed));
        assert_eq!(verify_header(SECRET, Some(&format!("t={NOW}")), body, NOW), Err(SignatureError::Malformed));
        assert_eq!(verify_header(SECRET, Some(&format!("t=x,v1={v1}")), body, NOW), Err(SignatureError::Malformed));
        let rotated = format!("t={NOW},v1={},v0=zz,v1={v1},scheme=x", "0".repeat(64));
        assert_eq!(verify_header(SECRET, Some(&rotated), body, NOW), Ok(()));
        let upper = format!("t={NOW},v1={}", v1.to_uppercase());
        assert_eq!(verify_header(SECRET, Some(&upper), body, NOW), Err(SignatureError::Mismatch));
        assert_eq!(verify_header("whsec_other", Some(&good), body, NOW), Err(SignatureError::Mismatch));
        assert_eq!(verify_header(SECRET, Some(&good), b"{ }", NOW), Err(SignatureError::Mismatch));
        let only_v0 = format!("t={NOW},v0={v1}");
        assert_eq!(verify_header(SECRET, Some(&only_v0), body, NOW), Err(SignatureError::Malformed));
    }

    /// The vectors made with stripe-python (`tests/vectors/stripe_signatures.json`).
    #[test]
    fn the_official_librarys_vectors() {
        let file: serde_json::Value =
            serde_json::from_str(include_str!("../../../../tests/vectors/stripe_signatures.json")).unwrap();
        let cases = file["cases"].as_array().unwrap();
        assert!(cases.len() >= 6);
        for case in cases {
            let name = case["name"].as_str().unwrap();
            let got = verify_header(
                case["secret"].as_str().unwrap(),
                case["header"].as_str(),
                case["body"].as_str().unwrap().as_bytes(),
                case["now"].as_i64().unwrap(),
            );
            let code = match got {
                Ok(()) => "ok",
                Err(e) => e.code(),
            };
            assert_eq!(code, case["expect"].as_str().unwrap(), "{name}");
            assert_eq!(code == "ok", case["stripe_python_accepts"].as_bool().unwrap(), "{name}: as stripe-python");
        }
    }
}
