//! Stripe's `last_payment_error` → [`DeclineReason`].
//!
//! `decline_code` (the issuer's reason) decides when present: docs.stripe.com/declines/codes
//! ("Card decline codes"). Otherwise the error's `code`: docs.stripe.com/error-codes
//! (card errors; `payment_intent_authentication_failure` for a failed 3-D Secure). Rows are
//! from those pages as read in their stored copies; none was checked against live Stripe.

use crate::decline::{lookup, DeclineReason, Table};

/// `decline_code` values.
pub const DECLINE_CODES: Table = &[
    ("authentication_required", DeclineReason::AuthenticationFailed),
    ("approve_with_id", DeclineReason::GatewayError),
    ("call_issuer", DeclineReason::DoNotHonor),
    ("card_not_supported", DeclineReason::CardNotSupported),
    ("card_velocity_exceeded", DeclineReason::LimitExceeded),
    ("currency_not_supported", DeclineReason::CardNotSupported),
    ("do_not_honor", DeclineReason::DoNotHonor),
    ("do_not_try_again", DeclineReason::DoNotHonor),
    ("duplicate_transaction", DeclineReason::Declined),
    ("expired_card", DeclineReason::ExpiredCard),
    ("fraudulent", DeclineReason::SuspectedFraud),
    ("generic_decline", DeclineReason::Declined),
    ("incorrect_number", DeclineReason::InvalidCard),
    ("incorrect_cvc", DeclineReason::InvalidCard),
    ("incorrect_pin", DeclineReason::InvalidCard),
    ("incorrect_zip", DeclineReason::InvalidCard),
    ("insufficient_funds", DeclineReason::InsufficientFunds),
    ("invalid_account", DeclineReason::InvalidCard),
    ("invalid_amount", DeclineReason::CardNotSupported),
    ("invalid_cvc", DeclineReason::InvalidCard),
    ("invalid_expiry_month", DeclineReason::InvalidCard),
    ("invalid_expiry_year", DeclineReason::InvalidCard),
    ("invalid_number", DeclineReason::InvalidCard),
    ("invalid_pin", DeclineReason::InvalidCard),
    ("issuer_not_available", DeclineReason::GatewayError),
    ("lost_card", DeclineReason::SuspectedFraud),
    ("merchant_blacklist", DeclineReason::SuspectedFraud),
    ("new_account_information_available", DeclineReason::InvalidCard),
    ("no_action_taken", DeclineReason::DoNotHonor),
    ("not_permitted", DeclineReason::CardNotSupported),
    ("pickup_card", DeclineReason::SuspectedFraud),
    ("pin_try_exceeded", DeclineReason::LimitExceeded),
    ("processing_error", DeclineReason::GatewayError),
    ("reenter_transaction", DeclineReason::GatewayError),
    ("restricted_card", DeclineReason::CardNotSupported),
    ("revocation_of_all_authorizations", DeclineReason::DoNotHonor),
    ("revocation_of_authorization", DeclineReason::DoNotHonor),
    ("security_violation", DeclineReason::SuspectedFraud),
    ("service_not_allowed", DeclineReason::CardNotSupported),
    ("stolen_card", DeclineReason::SuspectedFraud),
    ("stop_payment_order", DeclineReason::DoNotHonor),
    ("testmode_decline", DeclineReason::Declined),
    ("transaction_not_allowed", DeclineReason::CardNotSupported),
    ("try_again_later", DeclineReason::GatewayError),
    ("withdrawal_count_limit_exceeded", DeclineReason::LimitExceeded),
];

/// Error `code` values, used when there is no `decline_code`.
pub const ERROR_CODES: Table = &[
    ("card_declined", DeclineReason::Declined),
    ("expired_card", DeclineReason::ExpiredCard),
    ("incorrect_cvc", DeclineReason::InvalidCard),
    ("incorrect_number", DeclineReason::InvalidCard),
    ("invalid_cvc", DeclineReason::InvalidCard),
    ("invalid_expiry_month", DeclineReason::InvalidCard),
    ("invalid_expiry_year", DeclineReason::InvalidCard),
    ("invalid_number", DeclineReason::InvalidCard),
    ("processing_error", DeclineReason::GatewayError),
    ("payment_intent_authentication_failure", DeclineReason::AuthenticationFailed),
    ("authentication_required", DeclineReason::AuthenticationFailed),
    ("card_decline_rate_limit_exceeded", DeclineReason::LimitExceeded),
    ("payment_method_not_available", DeclineReason::CardNotSupported), // unconfirmed
];

/// The reason for a failed attempt: the decline code, else the error code, else a decline.
pub fn reason(code: Option<&str>, decline_code: Option<&str>) -> DeclineReason {
    decline_code
        .and_then(|d| lookup(DECLINE_CODES, d))
        .or_else(|| code.and_then(|c| lookup(ERROR_CODES, c)))
        .unwrap_or(DeclineReason::Declined)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_maps_as_documented_and_unknowns_fall_back() {
        for (d, want) in DECLINE_CODES {
            assert_eq!(reason(Some("card_declined"), Some(d)), *want, "{d}");
        }
        for (c, want) in ERROR_CODES {
            assert_eq!(reason(Some(c), None), *want, "{c}");
        }
        assert_eq!(reason(Some("card_declined"), Some("generic_decline")), DeclineReason::Declined);
        assert_eq!(reason(Some("expired_card"), Some("something_new")), DeclineReason::ExpiredCard);
        assert_eq!(reason(Some("something_new"), None), DeclineReason::Declined);
        assert_eq!(reason(None, None), DeclineReason::Declined);
    }
}
