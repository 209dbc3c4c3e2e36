//! The payment state machine: which state may follow which. A repeated event is unchanged, a
//! regression is refused; the only ways back from a decided state are a gateway confirming a
//! charge after the payment was closed (`failed`/`canceled` → `paid`/`authorized`: the money
//! was taken, the shop must know) and the money flowing back (`paid` → `partially_refunded` →
//! `refunded`, `paid`/`authorized` → `voided`). See `docs/architecture.md` for the diagram.

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
    /// Captured. Refunds, or a void before settlement, may follow.
    Paid,
    /// Captured, then refunded in part.
    #[serde(rename = "partially_refunded")]
    PartiallyRefunded,
    /// Declined or errored. A charge the gateway confirms later still makes it `paid`.
    Failed,
    /// Abandoned or expired, with every gateway session closed. A charge the gateway confirms
    /// later still makes it `paid`.
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
    /// Whether the payment is decided: no new gateway session may start for it.
    pub fn is_terminal(self) -> bool {
        !matches!(self, PaymentState::Created | PaymentState::Pending | PaymentState::Authorized)
    }

    /// Whether money was taken (and not all of it given back).
    pub fn holds_money(self) -> bool {
        matches!(self, PaymentState::Authorized | PaymentState::Paid | PaymentState::PartiallyRefunded)
    }

    /// Whether moving from `self` to `next` is allowed.
    pub fn can_become(self, next: PaymentState) -> bool {
        use PaymentState::*;
        matches!(
            (self, next),
            (Created, Pending | Authorized | Paid | Failed | Canceled)
                | (Pending, Authorized | Paid | Failed | Canceled)
                | (Authorized, Paid | Voided | Failed | Canceled)
                | (Paid, PartiallyRefunded | Refunded | Voided)
                | (PartiallyRefunded, Refunded)
                // A charge the gateway confirms after the payment was closed here.
                | (Failed | Canceled, Authorized | Paid)
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
            PaymentState::PartiallyRefunded => "partially_refunded",
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

    const ALL: [PaymentState; 9] =
        [Created, Pending, Authorized, Paid, PartiallyRefunded, Failed, Canceled, Refunded, Voided];

    #[test]
    fn decided_states_change_only_by_documented_transitions() {
        for from in [Refunded, Voided] {
            for to in ALL {
                assert_ne!(from.offer(to), Transition::Applied, "{from:?} -> {to:?}");
            }
        }
        for from in [Failed, Canceled] {
            for to in ALL {
                let late_charge = to == Paid || to == Authorized;
                assert_eq!(from.offer(to) == Transition::Applied, late_charge, "{from:?} -> {to:?}");
            }
        }
        for to in ALL {
            let allowed = matches!(to, PartiallyRefunded | Refunded | Voided);
            assert_eq!(Paid.offer(to) == Transition::Applied, allowed, "paid -> {to:?}");
        }
    }

    #[test]
    fn names_match_the_wire() {
        for s in ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
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
