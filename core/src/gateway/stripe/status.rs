//! Stripe statuses → Bawaba states, in one table, and how a Checkout Session and its
//! PaymentIntent decide together.

use crate::payment::PaymentState;

/// PaymentIntent statuses. `requires_payment_method` is only a failure after an attempt (a
/// `last_payment_error`); before one it is a page still open: see [`session_state`].
pub const PAYMENT_INTENT: &[(&str, PaymentState)] = &[
    ("requires_payment_method", PaymentState::Failed),
    ("requires_confirmation", PaymentState::Pending),
    ("requires_action", PaymentState::Pending),
    ("processing", PaymentState::Pending),
    ("requires_capture", PaymentState::Authorized),
    ("succeeded", PaymentState::Paid),
    ("canceled", PaymentState::Canceled),
];

/// Looks up a PaymentIntent status.
pub fn intent_state(status: &str) -> Option<PaymentState> {
    PAYMENT_INTENT.iter().find(|(s, _)| *s == status).map(|(_, state)| *state)
}

/// The state of a session (`open`, `complete`, `expired`) with its PaymentIntent's status
/// (`None`: no attempt yet) and whether that attempt failed. A charge the PaymentIntent
/// confirms wins over the session's status; an open session with no attempt never opened.
pub fn session_state(session_status: &str, intent: Option<(&str, bool)>) -> Option<PaymentState> {
    let from_intent = match intent {
        Some(("requires_payment_method", attempted)) => {
            Some(if attempted { PaymentState::Failed } else { PaymentState::Pending })
        }
        Some((status, _)) => Some(intent_state(status)?),
        None => None,
    };
    match (session_status, from_intent) {
        (_, Some(s @ (PaymentState::Paid | PaymentState::Authorized))) => Some(s),
        ("expired", _) => Some(PaymentState::Canceled),
        ("open", None) => Some(PaymentState::Created),
        ("open" | "complete", Some(s)) => Some(s),
        // A completed session without a PaymentIntent (`no_payment_required`) takes no money:
        // never a success.
        ("complete", None) => Some(PaymentState::Pending),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_intent_decides_unless_the_page_never_opened() {
        assert_eq!(session_state("open", None), Some(PaymentState::Created));
        assert_eq!(session_state("open", Some(("requires_payment_method", false))), Some(PaymentState::Pending));
        assert_eq!(session_state("open", Some(("requires_payment_method", true))), Some(PaymentState::Failed));
        assert_eq!(session_state("open", Some(("requires_action", false))), Some(PaymentState::Pending));
        assert_eq!(session_state("complete", Some(("succeeded", false))), Some(PaymentState::Paid));
        assert_eq!(session_state("complete", Some(("processing", false))), Some(PaymentState::Pending));
        assert_eq!(session_state("complete", Some(("requires_capture", false))), Some(PaymentState::Authorized));
        assert_eq!(session_state("expired", None), Some(PaymentState::Canceled));
        assert_eq!(session_state("expired", Some(("canceled", false))), Some(PaymentState::Canceled));
        assert_eq!(session_state("expired", Some(("succeeded", false))), Some(PaymentState::Paid), "money wins");
        assert_eq!(session_state("open", Some(("canceled", false))), Some(PaymentState::Canceled));
        assert_eq!(session_state("weird", None), None);
        assert_eq!(session_state("open", Some(("weird", false))), None);
    }
}
