//! Tap webhooks: the body is the charge; the `hashstring` header is the hex HMAC-SHA256, keyed
//! with the secret API key, of
//! `x_id{id}x_amount{amount}x_currency{currency}x_gateway_reference{reference.gateway}`
//! `x_payment_reference{reference.payment}x_status{status}x_created{transaction.created}`, the
//! amount written with the currency's decimals. [code]: from several independent
//! implementations; see docs/gateways/tap.md.

use super::wire::Charge;
use crate::gateway::{GatewayError, WebhookError, WebhookHint};
use crate::money::Currency;
use crate::signature::SignatureError;

/// Header name.
pub const HEADER: &str = "hashstring";

/// The string Tap signs.
pub fn signed_string(charge: &Charge) -> Result<String, GatewayError> {
    let currency = Currency::parse(&charge.currency).map_err(|e| GatewayError::InvalidResponse(e.to_string()))?;
    let amount = super::from_tap_amount(&charge.amount, currency)?.to_major_string();
    let reference = charge.reference.clone().unwrap_or_default();
    let created = match charge.transaction.as_ref().and_then(|t| t.created.clone()) {
        Some(serde_json::Value::String(s)) => s,
        Some(other) => other.to_string(),
        None => String::new(),
    };
    Ok(format!(
        "x_id{}x_amount{amount}x_currency{}x_gateway_reference{}x_payment_reference{}x_status{}x_created{created}",
        charge.id,
        charge.currency,
        reference.gateway.unwrap_or_default(),
        reference.payment.unwrap_or_default(),
        charge.status,
    ))
}

/// The header value for a charge (the gateway side, and tests).
pub fn sign(secret_key: &[u8], charge: &Charge) -> Result<String, GatewayError> {
    Ok(hex::encode(crate::hmac_sha256(secret_key, signed_string(charge)?.as_bytes())))
}

/// Verifies a delivery.
pub fn verify(secret_key: &[u8], header: Option<&str>, body: &[u8]) -> Result<WebhookHint, WebhookError> {
    let header = header.filter(|h| !h.is_empty()).ok_or(WebhookError::Signature(SignatureError::Missing))?;
    let given = hex::decode(header.trim()).map_err(|_| WebhookError::Signature(SignatureError::Malformed))?;
    let charge: Charge = serde_json::from_slice(body).map_err(|e| WebhookError::Body(e.to_string()))?;
    let expected = sign(secret_key, &charge).map_err(|e| WebhookError::Body(e.to_string()))?;
    let expected = hex::decode(expected).expect("hex we made");
    if !crate::constant_time_eq(&given, &expected) {
        return Err(WebhookError::Signature(SignatureError::Mismatch));
    }
    Ok(WebhookHint { gateway_payment_id: Some(charge.id), reference: None })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn charge() -> Charge {
        serde_json::from_value(serde_json::json!({"id":"chg_1","status":"CAPTURED","amount":1.5,"currency":"KWD",
            "reference":{"gateway":"g1","payment":"p1"},"transaction":{"created":"1700000000000"}}))
        .unwrap()
    }

    #[test]
    fn the_signed_string_formats_amounts_with_the_currency_decimals() {
        assert_eq!(
            signed_string(&charge()).unwrap(),
            "x_idchg_1x_amount1.500x_currencyKWDx_gateway_referenceg1x_payment_referencep1x_statusCAPTUREDx_created1700000000000"
        );
    }

    #[test]
    fn valid_missing_and_wrong() {
        let body = serde_json::to_vec(&charge()).unwrap();
        let good = sign(b"sk_test", &charge()).unwrap();
        assert_eq!(verify(b"sk_test", Some(&good), &body).unwrap().gateway_payment_id.as_deref(), Some("chg_1"));
        assert_eq!(verify(b"sk_test", None, &body), Err(WebhookError::Signature(SignatureError::Missing)));
        assert_eq!(verify(b"sk_other", Some(&good), &body), Err(WebhookError::Signature(SignatureError::Mismatch)));
        assert_eq!(verify(b"sk_test", Some("zz"), &body), Err(WebhookError::Signature(SignatureError::Malformed)));
        let mut tampered = charge();
        tampered.amount = serde_json::json!(0.1);
        let tampered = serde_json::to_vec(&tampered).unwrap();
        assert_eq!(verify(b"sk_test", Some(&good), &tampered), Err(WebhookError::Signature(SignatureError::Mismatch)));
    }
}
