//! Sandbox statuses → Bawaba states, in one table.

use crate::payment::PaymentState;

/// The mapping. Anything not listed is an invalid response, never guessed.
pub const TABLE: &[(&str, PaymentState)] = &[
    ("requires_payment_method", PaymentState::Pending),
    ("requires_challenge", PaymentState::Pending),
    ("succeeded", PaymentState::Paid),
    ("failed", PaymentState::Failed),
    ("expired", PaymentState::Canceled),
    ("canceled", PaymentState::Canceled),
    ("refunded", PaymentState::Refunded),
];

/// Looks up a sandbox status.
pub fn to_state(status: &str) -> Option<PaymentState> {
    TABLE.iter().find(|(s, _)| *s == status).map(|(_, state)| *state)
}
