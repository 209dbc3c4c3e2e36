//! HyperPay's `result.code` → [`DeclineReason`]: by exact code where the OPPWA list names the
//! cause, else by the code's group ([`super::status::Group`]).
//!
//! Source: the OPPWA result-code list (see [`super::status`]); the exact codes below are the
//! bank-decline codes `800.100.1xx` whose description names the cause. [U] for the exact texts.

use super::status::{group, Group};
use crate::decline::{lookup, DeclineReason, Table};

/// Exact codes.
pub const TABLE: Table = &[
    ("800.100.151", DeclineReason::InvalidCard), // transaction declined (invalid card)
    ("800.100.153", DeclineReason::InvalidCard), // transaction declined (invalid CVV)
    ("800.100.155", DeclineReason::InsufficientFunds), // transaction declined (amount exceeds credit)
    ("800.100.157", DeclineReason::ExpiredCard), // transaction declined (wrong expiry date)
    ("800.100.158", DeclineReason::SuspectedFraud), // transaction declined (suspecting manipulation)
    ("800.100.159", DeclineReason::SuspectedFraud), // transaction declined (stolen card)
    ("800.100.160", DeclineReason::DoNotHonor),  // transaction declined (card blocked)
    ("800.100.161", DeclineReason::LimitExceeded), // transaction declined (too many invalid tries)
    ("800.100.162", DeclineReason::LimitExceeded), // transaction declined (limit exceeded)
    ("800.100.165", DeclineReason::SuspectedFraud), // transaction declined (card lost)
    ("800.100.168", DeclineReason::CardNotSupported), // transaction declined (restricted card)
    ("800.100.170", DeclineReason::CardNotSupported), // transaction declined (transaction not permitted)
    ("800.100.171", DeclineReason::SuspectedFraud), // transaction declined (pick up card)
    ("100.396.101", DeclineReason::CanceledByShopper), // Cancelled by user
    ("100.396.104", DeclineReason::CanceledByShopper), // Uncertain status - probably cancelled by user
    ("100.397.101", DeclineReason::CanceledByShopper), // Cancelled by user due to external update
];

/// The reason a payment with `code` did not go through.
pub fn reason(code: &str) -> DeclineReason {
    let code = code.trim();
    if let Some(r) = lookup(TABLE, code) {
        return r;
    }
    match group(code) {
        Some(Group::ThreeDsRisk | Group::ThreeDs | Group::SoftDecline) => DeclineReason::AuthenticationFailed,
        Some(Group::ExternalRisk | Group::Blacklist | Group::RiskManagement | Group::RiskAddress) => {
            DeclineReason::SuspectedFraud
        }
        Some(Group::RiskValidation) => DeclineReason::LimitExceeded,
        Some(Group::Account) => DeclineReason::InvalidCard,
        Some(Group::Async) => DeclineReason::ExpiredSession,
        Some(
            Group::Communication
            | Group::System
            | Group::Configuration
            | Group::Registration
            | Group::Job
            | Group::Reference
            | Group::Format
            | Group::Address
            | Group::Contact
            | Group::Amount,
        ) => DeclineReason::GatewayError,
        Some(Group::Bank) | None => DeclineReason::Declined,
        Some(Group::Success | Group::Review | Group::Pending | Group::PendingLong | Group::Chargeback) => {
            DeclineReason::Declined
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_codes_then_groups() {
        for (code, want) in TABLE {
            assert_eq!(reason(code), *want, "{code}");
            assert!(group(code).is_some(), "{code} is in a documented group");
        }
        assert_eq!(reason("800.100.100"), DeclineReason::Declined, "bank, cause not said");
        assert_eq!(reason("100.380.401"), DeclineReason::AuthenticationFailed);
        assert_eq!(reason("000.400.109"), DeclineReason::AuthenticationFailed);
        assert_eq!(reason("800.400.200"), DeclineReason::AuthenticationFailed);
        assert_eq!(reason("100.100.701"), DeclineReason::SuspectedFraud, "blacklist");
        assert_eq!(reason("100.400.000"), DeclineReason::SuspectedFraud, "external risk");
        assert_eq!(reason("800.110.100"), DeclineReason::LimitExceeded, "risk validation");
        assert_eq!(reason("200.300.404"), DeclineReason::GatewayError, "our request was invalid");
        assert_eq!(reason("600.200.100"), DeclineReason::GatewayError, "configuration");
        assert_eq!(reason("100.100.101"), DeclineReason::InvalidCard);
        assert_eq!(reason("100.395.501"), DeclineReason::ExpiredSession);
        assert_eq!(reason("123.456.789"), DeclineReason::Declined);
    }
}
