//! PayPal's JSON (only what Bawaba reads): Orders v2, Payments v2 (captures, refunds), OAuth2
//! and the webhook verification call.

use serde::{Deserialize, Serialize};

/// `amount` / `Money` in PayPal's APIs: a currency code and a decimal string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Amount {
    /// ISO code.
    pub currency_code: String,
    /// Major units as a decimal string (`"45.50"`, `"7"` for JPY).
    pub value: String,
}

/// A HATEOAS link.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Link {
    /// Target.
    pub href: String,
    /// `approve`, `payer-action`, `self`, `capture`, `up`, …
    #[serde(default)]
    pub rel: String,
    /// `GET`, `POST`, …
    #[serde(default)]
    pub method: Option<String>,
}

/// An order (`POST /v2/checkout/orders`, `GET /v2/checkout/orders/{id}`, and the capture's
/// answer with `Prefer: return=representation`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Order {
    /// The order id.
    pub id: String,
    /// `CREATED`, `SAVED`, `APPROVED`, `VOIDED`, `COMPLETED`, `PAYER_ACTION_REQUIRED`.
    pub status: String,
    /// One purchase unit (Bawaba creates exactly one).
    #[serde(default)]
    pub purchase_units: Vec<PurchaseUnit>,
    /// Links (`approve` or `payer-action` is the hosted page).
    #[serde(default)]
    pub links: Vec<Link>,
}

/// A purchase unit.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PurchaseUnit {
    /// Ours.
    #[serde(default)]
    pub reference_id: Option<String>,
    /// Ours, too (it is also copied onto the capture).
    #[serde(default)]
    pub custom_id: Option<String>,
    /// The order's amount.
    #[serde(default)]
    pub amount: Option<Amount>,
    /// Captures and refunds, once there are some.
    #[serde(default)]
    pub payments: Option<Payments>,
}

/// `purchase_units[].payments`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Payments {
    /// Captures (one for an intent CAPTURE order).
    #[serde(default)]
    pub captures: Vec<Capture>,
    /// Refunds of those captures.
    #[serde(default)]
    pub refunds: Vec<Refund>,
}

/// A capture.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Capture {
    /// The capture id (what refunds act on).
    pub id: String,
    /// `COMPLETED`, `PENDING`, `DECLINED`, `FAILED`, `REFUNDED`, `PARTIALLY_REFUNDED`.
    pub status: String,
    /// What was captured.
    #[serde(default)]
    pub amount: Option<Amount>,
    /// Why it is pending or declined.
    #[serde(default)]
    pub status_details: Option<StatusDetails>,
    /// Ours (copied from the purchase unit).
    #[serde(default)]
    pub custom_id: Option<String>,
}

/// `status_details`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StatusDetails {
    /// `PENDING_REVIEW`, `ECHECK`, …
    #[serde(default)]
    pub reason: Option<String>,
}

/// A refund (`POST /v2/payments/captures/{id}/refund`, `GET /v2/payments/refunds/{id}`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Refund {
    /// The refund id.
    pub id: String,
    /// `COMPLETED`, `PENDING`, `FAILED`, `CANCELLED`.
    pub status: String,
    /// How much.
    #[serde(default)]
    pub amount: Option<Amount>,
    /// Why it is pending or failed.
    #[serde(default)]
    pub status_details: Option<StatusDetails>,
}

/// The OAuth2 client-credentials answer (`POST /v1/oauth2/token`).
#[derive(Debug, Clone, Deserialize)]
pub struct Token {
    /// The Bearer token.
    pub access_token: String,
    /// `Bearer`.
    #[serde(default)]
    pub token_type: Option<String>,
    /// Seconds it stays valid.
    pub expires_in: u64,
}

/// The OAuth2 error body (`{"error":"invalid_client","error_description":"Client Authentication failed"}`).
#[derive(Debug, Clone, Deserialize)]
pub struct OauthError {
    /// `invalid_client`, …
    #[serde(default)]
    pub error: String,
    /// Text.
    #[serde(default)]
    pub error_description: Option<String>,
}

/// PayPal's REST error body: `{name, message, debug_id, details[{issue, description}], links}`.
#[derive(Debug, Clone, Deserialize)]
pub struct ErrorBody {
    /// `UNPROCESSABLE_ENTITY`, `RESOURCE_NOT_FOUND`, `INVALID_REQUEST`, …
    #[serde(default)]
    pub name: String,
    /// Text.
    #[serde(default)]
    pub message: Option<String>,
    /// PayPal's id for support.
    #[serde(default)]
    pub debug_id: Option<String>,
    /// What went wrong, by field.
    #[serde(default)]
    pub details: Vec<ErrorDetail>,
}

/// One detail of an error.
#[derive(Debug, Clone, Deserialize)]
pub struct ErrorDetail {
    /// `ORDER_NOT_APPROVED`, `ORDER_ALREADY_CAPTURED`, `INSTRUMENT_DECLINED`, …
    #[serde(default)]
    pub issue: String,
    /// Text.
    #[serde(default)]
    pub description: Option<String>,
}

/// A webhook event (only what finds the order).
#[derive(Debug, Clone, Deserialize)]
pub struct WebhookEvent {
    /// `WH-…`.
    #[serde(default)]
    pub id: Option<String>,
    /// `CHECKOUT.ORDER.APPROVED`, `PAYMENT.CAPTURE.COMPLETED`, …
    pub event_type: String,
    /// `checkout-order`, `capture`, `refund`.
    #[serde(default)]
    pub resource_type: Option<String>,
    /// The order, capture or refund.
    #[serde(default)]
    pub resource: serde_json::Value,
}

/// The answer to `POST /v1/notifications/verify-webhook-signature`.
#[derive(Debug, Clone, Deserialize)]
pub struct Verification {
    /// `SUCCESS` or `FAILURE`.
    pub verification_status: String,
}
