//! Result notifications (edge → shop): the body the shop receives at its `notify_url`.

use crate::payment::PaymentState;
use serde::{Deserialize, Serialize};

/// What happened, as the `type` field says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventType {
    /// The payment is captured: the shop may ship.
    #[serde(rename = "payment.succeeded")]
    PaymentSucceeded,
    /// The payment is authorized and waits for capture.
    #[serde(rename = "payment.authorized")]
    PaymentAuthorized,
    /// The gateway has not decided yet.
    #[serde(rename = "payment.pending")]
    PaymentPending,
    /// The payment failed; `error` says why.
    #[serde(rename = "payment.failed")]
    PaymentFailed,
    /// The shopper or the edge canceled the payment (abandoned, expired).
    #[serde(rename = "payment.canceled")]
    PaymentCanceled,
    /// A refund went through.
    #[serde(rename = "refund.succeeded")]
    RefundSucceeded,
    /// The payment was voided (authorization released, or canceled before settlement).
    #[serde(rename = "payment.voided")]
    PaymentVoided,
}

impl EventType {
    /// The event that announces a payment reaching `state`, if that state is announced.
    pub fn for_state(state: PaymentState) -> Option<Self> {
        Some(match state {
            PaymentState::Paid => EventType::PaymentSucceeded,
            PaymentState::Authorized => EventType::PaymentAuthorized,
            PaymentState::Pending => EventType::PaymentPending,
            PaymentState::Failed => EventType::PaymentFailed,
            PaymentState::Canceled => EventType::PaymentCanceled,
            PaymentState::Refunded => EventType::RefundSucceeded,
            PaymentState::Voided => EventType::PaymentVoided,
            PaymentState::Created => return None,
        })
    }
}

/// A failure reason: a stable code and a message a merchant can read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorInfo {
    /// Stable code (`card_declined`, `insufficient_funds`, `authentication_failed`, ...).
    pub code: String,
    /// Human-readable message, from the gateway where it gave one.
    pub message: String,
}

/// The notification body. Field names are the contract; do not rename them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    /// Unique per event, stable across delivery retries: the shop deduplicates on it.
    pub event_id: String,
    /// What happened.
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// The shop id the payment belongs to.
    pub shop_id: String,
    /// The shop's transaction reference (the intent's `sub`).
    pub reference: String,
    /// Amount in minor units.
    pub amount: i64,
    /// ISO 4217 code.
    pub currency: String,
    /// Gateway code (`sandbox`, `moyasar`, ...).
    pub gateway: String,
    /// The gateway's id for the payment.
    pub gateway_payment_id: String,
    /// Method code (`mada`, `visa`, ...).
    pub method: String,
    /// Card brand, where the gateway gives it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_brand: Option<String>,
    /// Last four digits, where the gateway gives them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_last4: Option<String>,
    /// Why it failed (on `payment.failed` and `payment.canceled`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorInfo>,
    /// When the event happened (unix seconds).
    pub created_at: i64,
    /// The gateway's refund id (on `refund.succeeded`, where `amount` is the refund's amount).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_id: Option<String>,
}
