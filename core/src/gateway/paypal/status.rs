//! PayPal order, capture and refund statuses → Bawaba states, one table each.

use crate::payment::PaymentState;

/// Order statuses (Orders v2). `APPROVED` is not paid: the order must be captured, which the
/// connector's fetch does. `COMPLETED` is decided by the order's capture ([`CAPTURE`]).
/// Anything not listed is an invalid response.
pub const ORDER: &[(&str, PaymentState)] = &[
    ("CREATED", PaymentState::Pending),
    ("SAVED", PaymentState::Pending),
    ("APPROVED", PaymentState::Pending),
    ("PAYER_ACTION_REQUIRED", PaymentState::Pending),
    ("VOIDED", PaymentState::Canceled),
    ("COMPLETED", PaymentState::Paid),
];

/// Capture statuses (Payments v2). A refunded capture was paid: refunds are followed on their
/// own. `PENDING` (e.g. `PENDING_REVIEW`, an eCheck) is not money yet.
pub const CAPTURE: &[(&str, PaymentState)] = &[
    ("COMPLETED", PaymentState::Paid),
    ("PARTIALLY_REFUNDED", PaymentState::Paid),
    ("REFUNDED", PaymentState::Paid),
    ("PENDING", PaymentState::Pending),
    ("DECLINED", PaymentState::Failed),
    ("FAILED", PaymentState::Failed),
];

/// Looks up an order status.
pub fn order_state(status: &str) -> Option<PaymentState> {
    ORDER.iter().find(|(s, _)| *s == status).map(|(_, state)| *state)
}

/// Looks up a capture status.
pub fn capture_state(status: &str) -> Option<PaymentState> {
    CAPTURE.iter().find(|(s, _)| *s == status).map(|(_, state)| *state)
}

/// Where a refund stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundStage {
    /// The money went back.
    Succeeded,
    /// Not final: ask again (`GET /v2/payments/refunds/{id}`).
    Pending,
    /// Nothing moved.
    Failed,
}

/// Refund statuses (Payments v2 refund object).
pub const REFUND: &[(&str, RefundStage)] = &[
    ("COMPLETED", RefundStage::Succeeded),
    ("PENDING", RefundStage::Pending),
    ("FAILED", RefundStage::Failed),
    ("CANCELLED", RefundStage::Failed),
];

/// Looks up a refund status.
pub fn refund_stage(status: &str) -> Option<RefundStage> {
    REFUND.iter().find(|(s, _)| *s == status).map(|(_, stage)| *stage)
}
