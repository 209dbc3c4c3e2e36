//! Result notifications (edge → shop): the body the shop receives at its `notify_url`.

use crate::payment::PaymentState;
use serde::{Deserialize, Serialize};

/// What happened, as the `type` field says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
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
    /// A refund went through (`amount` is the refund's; `refund_id`, `idempotency_key`).
    #[serde(rename = "refund.succeeded")]
    RefundSucceeded,
    /// A refund the gateway had accepted as pending was declined; nothing was refunded.
    #[serde(rename = "refund.failed")]
    RefundFailed,
    /// The gateway confirmed a second charge for this reference (another tab, another
    /// method); the edge refunded it in full by itself. `amount`, `gateway_payment_id` and
    /// `refund_id` are the second charge's.
    #[serde(rename = "payment.duplicate_refunded")]
    PaymentDuplicateRefunded,
    /// A second charge the edge could not refund (the gateway refused, or cannot refund): the
    /// merchant must refund it in the gateway's dashboard; `error` says why.
    #[serde(rename = "payment.duplicate_detected")]
    PaymentDuplicateDetected,
    /// The payment was voided (authorization released, or canceled before settlement).
    #[serde(rename = "payment.voided")]
    PaymentVoided,
}

impl EventType {
    /// The event that announces a payment reaching `state` from a gateway's answer, if that
    /// state is announced that way (refunds are announced by their own events).
    pub fn for_state(state: PaymentState) -> Option<Self> {
        Some(match state {
            PaymentState::Paid => EventType::PaymentSucceeded,
            PaymentState::Authorized => EventType::PaymentAuthorized,
            PaymentState::Failed => EventType::PaymentFailed,
            PaymentState::Canceled => EventType::PaymentCanceled,
            PaymentState::Voided => EventType::PaymentVoided,
            PaymentState::Created
            | PaymentState::Pending
            | PaymentState::PartiallyRefunded
            | PaymentState::Refunded => return None,
        })
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::PaymentSucceeded => "payment.succeeded",
            EventType::PaymentAuthorized => "payment.authorized",
            EventType::PaymentPending => "payment.pending",
            EventType::PaymentFailed => "payment.failed",
            EventType::PaymentCanceled => "payment.canceled",
            EventType::RefundSucceeded => "refund.succeeded",
            EventType::RefundFailed => "refund.failed",
            EventType::PaymentVoided => "payment.voided",
            EventType::PaymentDuplicateRefunded => "payment.duplicate_refunded",
            EventType::PaymentDuplicateDetected => "payment.duplicate_detected",
        }
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
    /// The gateway's refund id (on `refund.*` and `payment.duplicate_refunded`, where `amount`
    /// is the refund's amount).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_id: Option<String>,
    /// The `Idempotency-Key` the shop sent with the refund (on `refund.*` for refunds the shop
    /// asked for; absent for refunds made in the gateway's dashboard or by the edge).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
}
