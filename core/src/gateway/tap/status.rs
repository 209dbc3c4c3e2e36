//! Tap charge statuses → Bawaba states, and refund statuses → where a refund stands, in one
//! table each.

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

/// Where a refund stands, by its status (the [`crate::gateway::OperationStatus`] without its reason).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundStage {
    /// The money went back.
    Succeeded,
    /// Not final: ask again (`GET /v2/refunds/{id}`).
    Pending,
    /// Declined; nothing moved.
    Failed,
}

/// Refund statuses (developers.tap.company/reference/refunds and /docs/refunds). `UNKNOWN` and
/// `TIMEDOUT` / `TIMED_OUT` are not said to be final either way, so they stay pending: a refund is
/// final only when Tap says so. Anything not listed is an invalid response.
pub const REFUND: &[(&str, RefundStage)] = &[
    ("REFUNDED", RefundStage::Succeeded),
    ("SUCCEEDED", RefundStage::Succeeded),
    ("PENDING", RefundStage::Pending),
    ("INITIATED", RefundStage::Pending),
    ("IN_PROGRESS", RefundStage::Pending),
    ("ACCEPTED", RefundStage::Pending),
    ("UNKNOWN", RefundStage::Pending),
    ("TIMEDOUT", RefundStage::Pending),
    ("TIMED_OUT", RefundStage::Pending),
    ("FAILED", RefundStage::Failed),
    ("DECLINED", RefundStage::Failed),
    ("CANCELLED", RefundStage::Failed),
    ("RESTRICTED", RefundStage::Failed),
];

/// Looks up a refund status.
pub fn refund_stage(status: &str) -> Option<RefundStage> {
    REFUND.iter().find(|(s, _)| *s == status).map(|(_, stage)| *stage)
}
