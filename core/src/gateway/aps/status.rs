//! APS `transaction_status` (the first two digits of `response_code`) → Bawaba states.

use crate::payment::PaymentState;

/// The mapping. Odoo's `payment_aps` treats 14 as done and 19 as pending; the rest follow the
/// APS status list. Anything not listed is an invalid response.
pub const TABLE: &[(&str, PaymentState)] = &[
    ("14", PaymentState::Paid),
    ("04", PaymentState::Paid),
    ("02", PaymentState::Authorized),
    ("19", PaymentState::Pending),
    ("20", PaymentState::Pending),
    ("01", PaymentState::Pending),
    ("10", PaymentState::Pending),
    ("15", PaymentState::Pending),
    ("13", PaymentState::Failed),
    ("03", PaymentState::Failed),
    ("00", PaymentState::Failed),
    ("06", PaymentState::Refunded),
    ("08", PaymentState::Voided),
];

/// Looks up a status.
pub fn to_state(status: &str) -> Option<PaymentState> {
    TABLE.iter().find(|(s, _)| *s == status).map(|(_, state)| *state)
}
