//! Moyasar's JSON (only the fields Bawaba reads; others are ignored).

use serde::{Deserialize, Serialize};

/// An invoice.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Invoice {
    /// UUID.
    pub id: String,
    /// `initiated`, `paid`, `failed`, `refunded`, `canceled`, `on_hold`, `expired`, `voided`.
    pub status: String,
    /// Minor units.
    pub amount: i64,
    /// ISO code.
    pub currency: String,
    /// The hosted page.
    #[serde(default)]
    pub url: Option<String>,
    /// Our metadata.
    #[serde(default)]
    pub metadata: Option<Metadata>,
    /// Payment attempts on the invoice.
    #[serde(default)]
    pub payments: Vec<Payment>,
}

/// The metadata Bawaba sets.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Metadata {
    /// `<shop id>:<reference>`.
    #[serde(default)]
    pub bawaba_reference: Option<String>,
}

/// A payment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Payment {
    /// UUID.
    pub id: String,
    /// `initiated`, `paid`, `failed`, `authorized`, `captured`, `refunded`, `voided`, `verified`.
    pub status: String,
    /// Minor units.
    pub amount: i64,
    /// ISO code.
    pub currency: String,
    /// Refunded so far, minor units.
    #[serde(default)]
    pub refunded: i64,
    /// The invoice it belongs to (none for a payment made in the page: STC Pay, Apple Pay).
    #[serde(default)]
    pub invoice_id: Option<String>,
    /// Our metadata (set on payments Bawaba creates itself).
    #[serde(default)]
    pub metadata: Option<Metadata>,
    /// How it was paid.
    #[serde(default)]
    pub source: Option<Source>,
}

/// A payment's source.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Source {
    /// `creditcard`, `applepay`, `stcpay`.
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// Scheme: `mada`, `visa`, `master`, `amex`.
    #[serde(default)]
    pub company: Option<String>,
    /// Masked number.
    #[serde(default)]
    pub number: Option<String>,
    /// The issuer's message.
    #[serde(default)]
    pub message: Option<String>,
    /// STC Pay: where the one-time code goes, while the payment is `initiated`.
    #[serde(default)]
    pub transaction_url: Option<String>,
}

/// `{"type","message","errors"}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorBody {
    /// `authentication_error`, `invalid_request_error`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// Message.
    pub message: String,
}

/// A webhook delivery: `{id, type, created_at, secret_token, account_name, live, data}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WebhookEvent {
    /// Event id.
    pub id: String,
    /// `payment_paid`, `payment_failed`, `payment_refunded`, …
    #[serde(rename = "type")]
    pub event_type: String,
    /// The shared token.
    #[serde(default)]
    pub secret_token: Option<String>,
    /// The payment.
    pub data: Payment,
}
