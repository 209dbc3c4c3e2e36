//! Moyasar statuses → Bawaba states, in one table each.

use crate::payment::PaymentState;

/// Invoice statuses. `on_hold` waits for Moyasar's review: pending.
pub const INVOICE: &[(&str, PaymentState)] = &[
    ("initiated", PaymentState::Pending),
    ("on_hold", PaymentState::Pending),
    ("paid", PaymentState::Paid),
    ("failed", PaymentState::Failed),
    ("canceled", PaymentState::Canceled),
    ("expired", PaymentState::Canceled),
    ("refunded", PaymentState::Refunded),
    ("voided", PaymentState::Voided),
];

/// Looks up an invoice status.
pub fn invoice_state(status: &str) -> Option<PaymentState> {
    INVOICE.iter().find(|(s, _)| *s == status).map(|(_, state)| *state)
}

/// Payment statuses (a payment made in the page: STC Pay, Apple Pay). `initiated` waits for
/// the one-time code or 3-D Secure; `verified` is a tokenization, never a charge.
pub const PAYMENT: &[(&str, PaymentState)] = &[
    ("initiated", PaymentState::Pending),
    ("paid", PaymentState::Paid),
    ("failed", PaymentState::Failed),
    ("authorized", PaymentState::Authorized),
    ("captured", PaymentState::Paid),
    ("refunded", PaymentState::Refunded),
    ("voided", PaymentState::Voided),
];

/// Looks up a payment status.
pub fn payment_state(status: &str) -> Option<PaymentState> {
    PAYMENT.iter().find(|(s, _)| *s == status).map(|(_, state)| *state)
}
