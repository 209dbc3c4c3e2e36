//! Stripe's JSON (only the fields Bawaba reads; others are ignored). Objects follow API versions
//! from 2022-11-15 on (a PaymentIntent names its `latest_charge`); the older `charges` list is
//! read too.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// An expandable field: the id, or the object when expanded (`expand[]=…`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Expandable<T> {
    /// Expanded.
    Object(Box<T>),
    /// Not expanded: the id.
    Id(String),
}

impl<T> Expandable<T> {
    /// The object, when expanded.
    pub fn object(&self) -> Option<&T> {
        match self {
            Expandable::Object(o) => Some(o),
            Expandable::Id(_) => None,
        }
    }
}

/// A Checkout Session (`cs_…`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckoutSession {
    /// `cs_test_…` / `cs_live_…`.
    pub id: String,
    /// `open`, `complete`, `expired`.
    #[serde(default)]
    pub status: Option<String>,
    /// `paid`, `unpaid`, `no_payment_required`.
    #[serde(default)]
    pub payment_status: Option<String>,
    /// Total in Stripe's units of the currency.
    #[serde(default)]
    pub amount_total: Option<i64>,
    /// Lower-case ISO code.
    #[serde(default)]
    pub currency: Option<String>,
    /// Our reference.
    #[serde(default)]
    pub client_reference_id: Option<String>,
    /// Our metadata (`bawaba_reference`).
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// The hosted page (while open).
    #[serde(default)]
    pub url: Option<String>,
    /// The PaymentIntent: `null` until the shopper tries to pay (API versions from 2022-08-01).
    #[serde(default)]
    pub payment_intent: Option<Expandable<PaymentIntent>>,
}

/// A PaymentIntent (`pi_…`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PaymentIntent {
    /// `pi_…`.
    pub id: String,
    /// `requires_payment_method`, `requires_confirmation`, `requires_action`, `processing`,
    /// `requires_capture`, `canceled`, `succeeded`.
    pub status: String,
    /// Amount in Stripe's units.
    #[serde(default)]
    pub amount: Option<i64>,
    /// Lower-case ISO code.
    #[serde(default)]
    pub currency: Option<String>,
    /// Our metadata (`payment_intent_data[metadata]`).
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// Why the last attempt failed.
    #[serde(default)]
    pub last_payment_error: Option<PaymentError>,
    /// The latest charge (id, or the object with `expand[]=payment_intent.latest_charge`).
    #[serde(default)]
    pub latest_charge: Option<Expandable<Charge>>,
    /// Older API versions: the charges list.
    #[serde(default)]
    pub charges: Option<List<Charge>>,
}

/// A list object.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct List<T> {
    /// The items.
    #[serde(default = "Vec::new")]
    pub data: Vec<T>,
}

/// `last_payment_error`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PaymentError {
    /// `card_declined`, `expired_card`, `authentication_required`, …
    #[serde(default)]
    pub code: Option<String>,
    /// The issuer's reason (`generic_decline`, `insufficient_funds`, …).
    #[serde(default)]
    pub decline_code: Option<String>,
    /// Message.
    #[serde(default)]
    pub message: Option<String>,
}

/// A Charge (`ch_…` / `py_…`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Charge {
    /// `ch_…`.
    pub id: String,
    /// Refunded so far, Stripe's units.
    #[serde(default)]
    pub amount_refunded: i64,
    /// The PaymentIntent it belongs to.
    #[serde(default)]
    pub payment_intent: Option<String>,
    /// Metadata (copied from the PaymentIntent's when the charge was made [U]).
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// How it was paid.
    #[serde(default)]
    pub payment_method_details: Option<PaymentMethodDetails>,
}

/// `payment_method_details`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PaymentMethodDetails {
    /// The card, for `type=card`.
    #[serde(default)]
    pub card: Option<Card>,
}

/// `payment_method_details.card`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Card {
    /// `visa`, `mastercard`, `amex`, …
    #[serde(default)]
    pub brand: Option<String>,
    /// Last four digits.
    #[serde(default)]
    pub last4: Option<String>,
    /// A wallet (`{"type":"apple_pay"}`).
    #[serde(default)]
    pub wallet: Option<serde_json::Value>,
}

/// A Refund (`re_…`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Refund {
    /// `re_…`.
    pub id: String,
    /// `pending`, `requires_action`, `succeeded`, `failed`, `canceled`.
    pub status: String,
    /// Amount, Stripe's units.
    #[serde(default)]
    pub amount: Option<i64>,
    /// Why it failed.
    #[serde(default)]
    pub failure_reason: Option<String>,
}

/// An Event as delivered to a webhook endpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Event {
    /// `evt_…`.
    pub id: String,
    /// `checkout.session.completed`, `charge.refunded`, …
    #[serde(rename = "type")]
    pub event_type: String,
    /// `{object: …}`.
    pub data: EventData,
}

/// `data` of an event.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EventData {
    /// The object the event is about, as a JSON value (its `object` field names its kind).
    pub object: serde_json::Value,
}

/// `{"error": {"type", "code", "message"}}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// The error inside [`ErrorBody`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// `invalid_request_error`, `api_error`, `card_error`, …
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// A code (`resource_missing`, `amount_too_large`, …).
    #[serde(default)]
    pub code: Option<String>,
    /// Message.
    #[serde(default)]
    pub message: Option<String>,
}
