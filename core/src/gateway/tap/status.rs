//! Tap charge statuses → Bawaba states, in one table.

use crate::payment::PaymentState;

/// The mapping (Tap's charge response codes page). Anything not listed is an invalid response.
pub const TABLE: &[(&str, PaymentState)] = &[
    ("INITIATED", PaymentState::Pending),
    ("IN_PROGRESS", PaymentState::Pending),
    ("DEFERRED", PaymentState::Pending),
    ("AUTHORIZED", PaymentState::Authorized),
    ("CAPTURED", PaymentState::Paid),
    ("ABANDONED", PaymentState::Canceled),
    ("CANCELLED", PaymentState::Canceled),
    ("EXPIRED", PaymentState::Canceled),
    ("FAILED", PaymentState::Failed),
    ("DECLINED", PaymentState::Failed),
    ("RESTRICTED", PaymentState::Failed),
    ("TIMEDOUT", PaymentState::Failed),
    ("UNKNOWN", PaymentState::Failed),
    ("VOID", PaymentState::Voided),
];

/// Looks up a status.
pub fn to_state(status: &str) -> Option<PaymentState> {
    TABLE.iter().find(|(s, _)| *s == status).map(|(_, state)| *state)
}
