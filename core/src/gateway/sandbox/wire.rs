//! The sandbox gateway's JSON, shared by the connector and the gateway itself.

use serde::{Deserialize, Serialize};

/// `POST /payments` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreatePayment {
    /// Merchant reference.
    pub reference: String,
    /// Minor units.
    pub amount: i64,
    /// ISO code.
    pub currency: String,
    /// Method code.
    pub method: String,
    /// Browser return.
    pub return_url: String,
    /// Webhook target.
    pub webhook_url: String,
    /// `ar` / `en`.
    pub locale: String,
    /// Shown on the page.
    #[serde(default)]
    pub customer_name: Option<String>,
}

/// A sandbox payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    /// `sbx_…`
    pub id: String,
    /// Merchant reference.
    pub reference: String,
    /// `requires_payment_method`, `requires_challenge`, `succeeded`, `failed`, `expired`.
    pub status: String,
    /// Minor units.
    pub amount: i64,
    /// ISO code.
    pub currency: String,
    /// Method code.
    pub method: String,
    /// The hosted page.
    pub hosted_url: String,
    /// Card brand once a card was entered.
    #[serde(default)]
    pub card_brand: Option<String>,
    /// Last 4 once a card was entered.
    #[serde(default)]
    pub card_last4: Option<String>,
    /// Decline code.
    #[serde(default)]
    pub failure_code: Option<String>,
    /// Decline message.
    #[serde(default)]
    pub failure_message: Option<String>,
    /// Refunded so far, minor units.
    #[serde(default)]
    pub refunded: i64,
    /// 3-D Secure: `true` passed, `false` failed, absent when the card asked for none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub three_d_secure: Option<bool>,
}

/// The webhook body: which payment changed. The receiver fetches the payment to learn how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEvent {
    /// Event id.
    pub id: String,
    /// `payment.updated`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The payment as it is now.
    pub data: Payment,
}

/// Error body: `{"error":{"type":"…","message":"…"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// Error type and message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// `authentication_error`, `invalid_request_error`, `not_found`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Message.
    pub message: String,
}
