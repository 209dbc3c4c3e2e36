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
