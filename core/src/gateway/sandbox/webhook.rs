//! Sandbox webhooks: the body is signed like Bawaba's own notifications, under the header
//! `Sandbox-Signature: t=<unix>,v1=<hex HMAC-SHA256(webhook secret, "<t>.<body>")>`.
//! A verified webhook is still only a trigger: the edge re-fetches the payment.

use super::wire::WebhookEvent;
use crate::signature::{self, SignatureError};

/// Header name.
pub const HEADER: &str = "Sandbox-Signature";

/// Why a webhook was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookError {
    /// Signature missing, malformed, stale or wrong.
    Signature(SignatureError),
    /// Signed, but not the documented body.
    Body(String),
}

/// Verifies and parses a webhook.
pub fn verify(secret: &[u8], header: Option<&str>, body: &[u8], now: i64) -> Result<WebhookEvent, WebhookError> {
    signature::verify(secret, header, body, now, signature::DEFAULT_TOLERANCE_SECS).map_err(WebhookError::Signature)?;
    serde_json::from_slice(body).map_err(|e| WebhookError::Body(e.to_string()))
}

/// Signs a webhook body (the gateway side, and tests).
pub fn sign(secret: &[u8], now: i64, body: &[u8]) -> String {
    signature::sign(secret, now, body)
}
