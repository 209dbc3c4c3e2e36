//! The sandbox's failure codes → [`DeclineReason`]. Source: the sandbox itself
//! (`server.rs`: `TEST_CARDS`, `submit_challenge`, `cancel`, `expire_if_due`,
//! `cancel_by_merchant`), so every row is confirmed by the code that emits it.

use crate::decline::{lookup, DeclineReason, Table};

/// The table.
pub const TABLE: Table = &[
    // TEST_CARDS 4000 0000 0000 0002 ("The card was declined by the issuer.")
    ("card_declined", DeclineReason::Declined),
    // TEST_CARDS 4000 0000 0000 9995
    ("insufficient_funds", DeclineReason::InsufficientFunds),
    // submit_challenge with a wrong code
    ("authentication_failed", DeclineReason::AuthenticationFailed),
    // the shopper pressed "cancel" on the hosted page
    ("canceled_by_shopper", DeclineReason::CanceledByShopper),
    // expire_if_due: the page was open too long
    ("expired", DeclineReason::ExpiredSession),
    // cancel_by_merchant: the shopper chose another method (the edge closed the page)
    ("superseded", DeclineReason::CanceledByShopper),
];

/// The reason for a sandbox failure code; unknown codes are a plain decline.
pub fn reason(code: &str) -> DeclineReason {
    lookup(TABLE, code).unwrap_or(DeclineReason::Declined)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_the_sandbox_emits_is_in_the_table() {
        for (_, _, behaviour) in super::super::server::TEST_CARDS {
            if let super::super::server::CardBehaviour::Decline(code, _) = behaviour {
                assert!(lookup(TABLE, code).is_some(), "{code}");
            }
        }
        assert_eq!(reason("card_declined"), DeclineReason::Declined);
        assert_eq!(reason("insufficient_funds"), DeclineReason::InsufficientFunds);
        assert_eq!(reason("authentication_failed"), DeclineReason::AuthenticationFailed);
        assert_eq!(reason("canceled_by_shopper"), DeclineReason::CanceledByShopper);
        assert_eq!(reason("expired"), DeclineReason::ExpiredSession);
        assert_eq!(reason("something_new"), DeclineReason::Declined);
        assert_eq!(reason(""), DeclineReason::Declined);
    }
}
