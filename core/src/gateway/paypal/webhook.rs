//! PayPal webhooks. PayPal signs a delivery asymmetrically (`PAYPAL-AUTH-ALGO`, usually
//! `SHA256withRSA`, with the certificate at `PAYPAL-CERT-URL`) and documents one way to check it
//! without handling certificates: `POST /v1/notifications/verify-webhook-signature` with the five
//! `PAYPAL-*` headers, this edge's `webhook_id` and the event exactly as received; PayPal answers
//! `{"verification_status":"SUCCESS"}` or `"FAILURE"`.
//!
//! That is I/O, so it is split in pure parts: [`hint`] checks the headers are all there (and the
//! certificate is PayPal's) and reads which order the event is about; [`build_verify`] makes the
//! verification request; [`parse_verify`] refuses anything but `SUCCESS`. The edge must send the
//! verification and act on the hint only after `SUCCESS` (docs/gateways/paypal.md).

use super::wire::{Verification, WebhookEvent};
use crate::gateway::{HttpMethod, HttpRequest, HttpResponse, WebhookError, WebhookHint};
use crate::signature::SignatureError;

/// The delivery's id.
pub const TRANSMISSION_ID: &str = "PAYPAL-TRANSMISSION-ID";
/// When it was sent (ISO 8601).
pub const TRANSMISSION_TIME: &str = "PAYPAL-TRANSMISSION-TIME";
/// The signature (base64).
pub const TRANSMISSION_SIG: &str = "PAYPAL-TRANSMISSION-SIG";
/// The signing certificate's URL.
pub const CERT_URL: &str = "PAYPAL-CERT-URL";
/// `SHA256withRSA`.
pub const AUTH_ALGO: &str = "PAYPAL-AUTH-ALGO";

/// The five headers, as PayPal sends them.
pub const HEADERS: [&str; 5] = [TRANSMISSION_ID, TRANSMISSION_TIME, TRANSMISSION_SIG, CERT_URL, AUTH_ALGO];

/// The headers of one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmission {
    /// `PAYPAL-TRANSMISSION-ID`.
    pub id: String,
    /// `PAYPAL-TRANSMISSION-TIME`.
    pub time: String,
    /// `PAYPAL-TRANSMISSION-SIG`.
    pub sig: String,
    /// `PAYPAL-CERT-URL`.
    pub cert_url: String,
    /// `PAYPAL-AUTH-ALGO`.
    pub auth_algo: String,
}

/// Reads the five headers: any missing is `signature_missing`; a certificate that is not on a
/// PayPal host over HTTPS is `signature_malformed` (PayPal would fetch it; we never send it a
/// URL of the sender's choosing).
pub fn transmission(header: &dyn Fn(&str) -> Option<String>) -> Result<Transmission, WebhookError> {
    let get = |name: &str| {
        header(name)
            .or_else(|| header(&name.to_ascii_lowercase()))
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .ok_or(WebhookError::Signature(SignatureError::Missing))
    };
    let t = Transmission {
        id: get(TRANSMISSION_ID)?,
        time: get(TRANSMISSION_TIME)?,
        sig: get(TRANSMISSION_SIG)?,
        cert_url: get(CERT_URL)?,
        auth_algo: get(AUTH_ALGO)?,
    };
    if !is_paypal_https(&t.cert_url) {
        return Err(WebhookError::Signature(SignatureError::Malformed));
    }
    Ok(t)
}

/// `https://<host>.paypal.com/...` (or `paypal.com` itself).
pub fn is_paypal_https(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("https://") else { return false };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.contains('@') || host.contains(':') {
        return false;
    }
    let host = host.to_ascii_lowercase();
    host == "paypal.com" || host.ends_with(".paypal.com")
}

/// Which order an event is about: `CHECKOUT.ORDER.*` carry the order (`resource.id`);
/// `PAYMENT.CAPTURE.*` carry the capture, whose order is
/// `resource.supplementary_data.related_ids.order_id`. A refund event may carry neither [U]: then
/// the hint is empty and the edge acknowledges it (refunds are followed by their own status).
pub fn order_of(event: &WebhookEvent) -> (Option<String>, Option<String>) {
    let r = &event.resource;
    let text = |v: &serde_json::Value| v.as_str().map(str::to_string).filter(|s| !s.is_empty());
    let order_id = if event.event_type.starts_with("CHECKOUT.ORDER.") {
        text(&r["id"])
    } else {
        text(&r["supplementary_data"]["related_ids"]["order_id"])
    };
    let reference = text(&r["custom_id"]).or_else(|| text(&r["purchase_units"][0]["custom_id"]));
    (order_id, reference)
}

/// What the edge can do synchronously: the headers are all there and the event names an order.
/// This is **not** the verification: see [`build_verify`].
pub fn hint(header: &dyn Fn(&str) -> Option<String>, body: &[u8]) -> Result<WebhookHint, WebhookError> {
    transmission(header)?;
    let event: WebhookEvent = serde_json::from_slice(body).map_err(|e| WebhookError::Body(e.to_string()))?;
    let (gateway_payment_id, reference) = order_of(&event);
    Ok(WebhookHint { gateway_payment_id, reference })
}

/// `POST /v1/notifications/verify-webhook-signature`. The event goes in as the raw bytes
/// received, not re-serialized: a re-encoded event (other key order, other number format) fails
/// PayPal's check.
pub fn build_verify(
    cfg: &super::Config,
    header: &dyn Fn(&str) -> Option<String>,
    body: &[u8],
) -> Result<HttpRequest, WebhookError> {
    let t = transmission(header)?;
    let raw = std::str::from_utf8(body).map_err(|e| WebhookError::Body(e.to_string()))?;
    serde_json::from_str::<serde_json::Value>(raw)
        .ok()
        .filter(serde_json::Value::is_object)
        .ok_or_else(|| WebhookError::Body("the webhook body is not a JSON object".into()))?;
    let q = |s: &str| serde_json::Value::String(s.to_string()).to_string();
    let json = format!(
        r#"{{"auth_algo":{},"cert_url":{},"transmission_id":{},"transmission_sig":{},"transmission_time":{},"webhook_id":{},"webhook_event":{}}}"#,
        q(&t.auth_algo),
        q(&t.cert_url),
        q(&t.id),
        q(&t.sig),
        q(&t.time),
        q(&cfg.webhook_id),
        raw.trim()
    );
    Ok(HttpRequest {
        method: HttpMethod::Post,
        url: format!("{}/v1/notifications/verify-webhook-signature", cfg.api_base),
        headers: super::api_headers(cfg),
        body: Some(json.into_bytes()),
    })
}

/// The verification call for a delivery that cannot be verified (its headers or body were
/// refused): an empty event, which PayPal refuses, so the edge refuses the delivery too.
pub fn build_refused(cfg: &super::Config) -> HttpRequest {
    HttpRequest {
        method: HttpMethod::Post,
        url: format!("{}/v1/notifications/verify-webhook-signature", cfg.api_base),
        headers: super::api_headers(cfg),
        body: Some(br#"{"webhook_event":null}"#.to_vec()),
    }
}

/// PayPal's verdict: only `SUCCESS` is authentic (`FAILURE` is `signature_invalid`). No usable
/// answer (5xx, a body without a verdict) is refused too: the gateway retries its webhook.
pub fn parse_verify(resp: &HttpResponse) -> Result<(), WebhookError> {
    match crate::gateway::parse_json_answer::<Verification>(resp, super::paypal_error) {
        Ok(v) if v.verification_status == "SUCCESS" => Ok(()),
        Ok(_) => Err(WebhookError::Signature(SignatureError::Mismatch)),
        Err(e) => Err(WebhookError::Body(format!("PayPal did not verify the webhook: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    fn cfg() -> super::super::Config {
        super::super::Config {
            api_base: "http://p".into(),
            client_id: "cid".into(),
            client_secret: Secret::new("sec"),
            webhook_id: "WH-ID-1".into(),
        }
    }

    fn headers(cert: &str) -> impl Fn(&str) -> Option<String> + '_ {
        move |name: &str| {
            match name {
            TRANSMISSION_ID => Some("69cd13f0-d67a-11e5-baa3-778b53f4ae55".into()),
            TRANSMISSION_TIME => Some("2026-12-02T01:50:00Z".into()),
            TRANSMISSION_SIG => Some("lmI95Jx3Y9nhR5SJWlHVIWpg4AgFk7n9bCHSRxbrd8A9zrhdu2rMyFrmz+Zjh3s3boXB07VXCXUZy/UFzUlnGJn0wDugt7FlSvdKeIJenLRemUxYCPVoEZzg9VFNqOa48gMkvF+XTpxBeUx/kWy6B5cp7GkT2+pOowfRK7OaynuxUoKW3JcMWw272VKjLTtTAShncla7tGF+55rxyt2KNZIIqxNMJ48RDZheGU5w1npu9dZHnPgTXB9iomeVRoD8O/jhRpnKsGrDschyNdkeh81BJJMH4Ctc6lnCCquoP/GzCzz33MMsNdid7vL/NIWaCsekQpW26FpWPi/tfj8nLA==".into()),
            CERT_URL => Some(cert.to_string()),
            AUTH_ALGO => Some("SHA256withRSA".into()),
            _ => None,
        }
        }
    }

    const ORDER_EVENT: &str = r#"{"id":"WH-1","event_version":"1.0","resource_type":"checkout-order",
        "event_type":"CHECKOUT.ORDER.APPROVED","resource":{"id":"5O190127TN364715T","status":"APPROVED",
        "purchase_units":[{"reference_id":"demo:S1","custom_id":"demo:S1","amount":{"currency_code":"USD","value":"10.00"}}]}}"#;

    const CAPTURE_EVENT: &str = r#"{"id":"WH-2","resource_type":"capture","event_type":"PAYMENT.CAPTURE.COMPLETED",
        "resource":{"id":"3C679366HH908993F","status":"COMPLETED","custom_id":"demo:S1","amount":{"currency_code":"USD","value":"10.00"},
        "supplementary_data":{"related_ids":{"order_id":"5O190127TN364715T"}}}}"#;

    const CERT: &str = "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270";

    #[test]
    fn the_hint_names_the_order_of_order_and_capture_events() {
        for body in [ORDER_EVENT, CAPTURE_EVENT] {
            let h = hint(&headers(CERT), body.as_bytes()).unwrap();
            assert_eq!(h.gateway_payment_id.as_deref(), Some("5O190127TN364715T"));
            assert_eq!(h.reference.as_deref(), Some("demo:S1"));
        }
        let refund =
            r#"{"event_type":"PAYMENT.CAPTURE.REFUNDED","resource":{"id":"1JU08902781691411","status":"COMPLETED"}}"#;
        assert_eq!(hint(&headers(CERT), refund.as_bytes()).unwrap().gateway_payment_id, None);
    }

    #[test]
    fn missing_headers_and_foreign_certificates_are_refused() {
        let none = |_: &str| None;
        assert_eq!(hint(&none, ORDER_EVENT.as_bytes()), Err(WebhookError::Signature(SignatureError::Missing)));
        for bad in [
            "http://api.paypal.com/cert",
            "https://evil.example/cert",
            "https://paypal.com.evil.example/c",
            "https://x@api.paypal.com/c",
        ] {
            assert_eq!(
                hint(&headers(bad), ORDER_EVENT.as_bytes()),
                Err(WebhookError::Signature(SignatureError::Malformed)),
                "{bad}"
            );
        }
        assert!(matches!(hint(&headers(CERT), b"not json"), Err(WebhookError::Body(_))));
        let lower =
            |name: &str| headers(CERT)(&name.to_ascii_uppercase()).filter(|_| name == name.to_ascii_lowercase());
        assert!(hint(&lower, ORDER_EVENT.as_bytes()).is_ok(), "header names are case-insensitive");
    }

    #[test]
    fn the_verification_call_carries_the_raw_event_and_this_edges_webhook_id() {
        let req = build_verify(&cfg(), &headers(CERT), ORDER_EVENT.as_bytes()).unwrap();
        assert_eq!(
            (req.method, req.url.as_str()),
            (HttpMethod::Post, "http://p/v1/notifications/verify-webhook-signature")
        );
        assert!(req.headers.iter().all(|(k, _)| k != "Authorization"), "the edge authorizes it");
        let text = String::from_utf8(req.body.unwrap()).unwrap();
        assert!(text.ends_with(&format!(r#""webhook_event":{}}}"#, ORDER_EVENT.trim())), "raw bytes: {text}");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["webhook_id"], "WH-ID-1");
        assert_eq!(v["auth_algo"], "SHA256withRSA");
        assert_eq!(v["cert_url"], CERT);
        assert_eq!(v["transmission_id"], "69cd13f0-d67a-11e5-baa3-778b53f4ae55");
        assert_eq!(v["transmission_time"], "2026-12-02T01:50:00Z");
        assert!(v["transmission_sig"].as_str().unwrap().ends_with("=="));
        assert_eq!(v["webhook_event"]["resource"]["id"], "5O190127TN364715T");
        assert!(matches!(build_verify(&cfg(), &headers(CERT), b"[1]"), Err(WebhookError::Body(_))));
    }

    #[test]
    fn only_success_is_authentic() {
        let answer = |status, body: &str| HttpResponse { status, body: body.as_bytes().to_vec() };
        assert_eq!(parse_verify(&answer(200, r#"{"verification_status":"SUCCESS"}"#)), Ok(()));
        assert_eq!(
            parse_verify(&answer(200, r#"{"verification_status":"FAILURE"}"#)),
            Err(WebhookError::Signature(SignatureError::Mismatch))
        );
        assert!(matches!(parse_verify(&answer(500, "")), Err(WebhookError::Body(_))));
        assert!(matches!(parse_verify(&answer(401, r#"{"error":"invalid_token"}"#)), Err(WebhookError::Body(_))));
        assert!(matches!(parse_verify(&answer(200, "{}")), Err(WebhookError::Body(_))));
    }
}
