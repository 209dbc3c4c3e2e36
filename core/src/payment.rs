//! The payment state machine. Transitions are monotonic: a terminal state is never left, and a
//! late or repeated event is recorded and ignored rather than applied.

use serde::{Deserialize, Serialize};

/// Where a payment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PaymentState {
    /// Intent accepted, no gateway session yet.
    Created,
    /// A gateway session exists; the shopper has not finished, or the gateway has not decided.
    Pending,
    /// Authorized, waiting for capture or void.
    Authorized,
    /// Captured. Terminal for the payment (refunds, or a void before settlement, follow).
    Paid,
    /// Declined or errored. Terminal.
    Failed,
    /// Abandoned or expired. Terminal.
    Canceled,
    /// Refunded after payment. Terminal.
    Refunded,
    /// Authorization released. Terminal.
    Voided,
}

/// The result of offering a new state to a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// The state changed; announce it.
    Applied,
    /// Same state again (a duplicate webhook, the return racing the webhook): nothing to do.
    Unchanged,
    /// Not a legal move from here (e.g. `failed` after `paid`): recorded, ignored.
    Refused,
}

impl PaymentState {
    /// Whether no further payment outcome can change this state.
    pub fn is_terminal(self) -> bool {
        matches!(self, PaymentState::Failed | PaymentState::Canceled | PaymentState::Refunded | PaymentState::Voided)
            || self == PaymentState::Paid
    }

    /// Whether moving from `self` to `next` is allowed.
    pub fn can_become(self, next: PaymentState) -> bool {
        use PaymentState::*;
        matches!(
            (self, next),
            (Created, Pending | Authorized | Paid | Failed | Canceled)
                | (Pending, Authorized | Paid | Failed | Canceled)
                | (Authorized, Paid | Voided | Failed | Canceled)
                | (Paid, Refunded | Voided)
        )
    }

    /// Offers `next`; returns what to do. The caller stores the new state only on `Applied`.
    pub fn offer(self, next: PaymentState) -> Transition {
        if self == next {
            Transition::Unchanged
        } else if self.can_become(next) {
            Transition::Applied
        } else {
            Transition::Refused
        }
    }

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentState::Created => "created",
            PaymentState::Pending => "pending",
            PaymentState::Authorized => "authorized",
            PaymentState::Paid => "paid",
            PaymentState::Failed => "failed",
            PaymentState::Canceled => "canceled",
            PaymentState::Refunded => "refunded",
            PaymentState::Voided => "voided",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::PaymentState::*;
    use super::*;

    const ALL: [PaymentState; 8] = [Created, Pending, Authorized, Paid, Failed, Canceled, Refunded, Voided];

    #[test]
    fn terminal_states_are_never_left_for_another_outcome() {
        for from in [Failed, Canceled, Refunded, Voided] {
            for to in ALL {
                assert_ne!(from.offer(to), Transition::Applied, "{from:?} -> {to:?}");
            }
        }
        for to in ALL {
            let allowed = to == Refunded || to == Voided;
            assert_eq!(Paid.offer(to) == Transition::Applied, allowed, "paid -> {to:?}");
        }
    }

    #[test]
    fn duplicates_are_unchanged_and_regressions_refused() {
        assert_eq!(Paid.offer(Paid), Transition::Unchanged);
        assert_eq!(Paid.offer(Failed), Transition::Refused);
        assert_eq!(Paid.offer(Pending), Transition::Refused);
        assert_eq!(Pending.offer(Paid), Transition::Applied);
        assert_eq!(Authorized.offer(Pending), Transition::Refused);
    }
}
