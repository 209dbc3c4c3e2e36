//! Moyasar webhooks carry the shared "Secret Token" inside the JSON body (no HMAC). It is
//! compared in constant time; even then the webhook is only a trigger: the edge fetches the
//! invoice before believing anything.

use super::wire::WebhookEvent;
use crate::gateway::{WebhookError, WebhookHint};
use crate::signature::SignatureError;

/// Verifies a delivery and says which invoice to look at.
pub fn verify(secret_token: &[u8], body: &[u8]) -> Result<WebhookHint, WebhookError> {
    let event: WebhookEvent = serde_json::from_slice(body).map_err(|e| {
        // An unreadable body cannot show a token: treat it as unauthenticated, not as our error.
        let _ = e;
        WebhookError::Signature(SignatureError::Missing)
    })?;
    let token = event.secret_token.as_deref().ok_or(WebhookError::Signature(SignatureError::Missing))?;
    if !crate::constant_time_eq(token.as_bytes(), secret_token) {
        return Err(WebhookError::Signature(SignatureError::Mismatch));
    }
    // A hosted payment is known by its invoice; one made in the page (STC Pay, Apple Pay) by
    // itself.
    let id = event.data.invoice_id.unwrap_or(event.data.id);
    Ok(WebhookHint { gateway_payment_id: Some(id), reference: None })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(token: Option<&str>) -> Vec<u8> {
        serde_json::json!({"id":"evt","type":"payment_paid","secret_token":token,
            "data":{"id":"pay_1","status":"paid","amount":100,"currency":"SAR","invoice_id":"inv_1"}})
        .to_string()
        .into_bytes()
    }

    #[test]
    fn a_payment_made_in_the_page_is_known_by_its_own_id() {
        let body = serde_json::json!({"id":"evt","type":"payment_paid","secret_token":"tok",
            "data":{"id":"pay_1","status":"paid","amount":100,"currency":"SAR","invoice_id":null}});
        let hint = verify(b"tok", body.to_string().as_bytes()).unwrap();
        assert_eq!(hint.gateway_payment_id.as_deref(), Some("pay_1"));
    }

    #[test]
    fn the_token_must_match() {
        assert_eq!(verify(b"tok", &body(Some("tok"))).unwrap().gateway_payment_id.as_deref(), Some("inv_1"));
        assert_eq!(verify(b"tok", &body(Some("nope"))), Err(WebhookError::Signature(SignatureError::Mismatch)));
        assert_eq!(verify(b"tok", &body(None)), Err(WebhookError::Signature(SignatureError::Missing)));
        assert_eq!(verify(b"tok", b"not json"), Err(WebhookError::Signature(SignatureError::Missing)));
    }
}
