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
    match event.data.invoice_id {
        Some(id) => Ok(WebhookHint { gateway_payment_id: Some(id), reference: None }),
        None => Err(WebhookError::Body("the payment belongs to no invoice".into())),
    }
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
    fn the_token_must_match() {
        assert_eq!(verify(b"tok", &body(Some("tok"))).unwrap().gateway_payment_id.as_deref(), Some("inv_1"));
        assert_eq!(verify(b"tok", &body(Some("nope"))), Err(WebhookError::Signature(SignatureError::Mismatch)));
        assert_eq!(verify(b"tok", &body(None)), Err(WebhookError::Signature(SignatureError::Missing)));
        assert_eq!(verify(b"tok", b"not json"), Err(WebhookError::Signature(SignatureError::Missing)));
    }
}
