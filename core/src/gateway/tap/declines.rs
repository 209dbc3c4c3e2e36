//! Tap's `response.code` → [`DeclineReason`].
//!
//! Source: developers.tap.company/reference/charge-response-codes ("Charge Response Codes", the
//! same codes for authorizations), summarized in gateways.md §2.3: every row below is on that
//! page, with its message quoted. Codes not in the table fall back by the charge's `status`.

use crate::decline::{lookup, DeclineReason, Table, ISO_8583};

/// The table (approved and pending codes 000, 001, 100, 200, 303 and 601 Void are not declines).
pub const TABLE: Table = &[
    ("301", DeclineReason::CanceledByShopper),    // Abandoned
    ("302", DeclineReason::CanceledByShopper),    // Canceled
    ("304", DeclineReason::ExpiredSession),       // Expired
    ("401", DeclineReason::Declined),             // Failed
    ("402", DeclineReason::GatewayError),         // Failed, Invalid Parameter
    ("403", DeclineReason::GatewayError),         // Failed, Duplicate
    ("404", DeclineReason::Declined),             // Failed, Locked (what is locked is not said)
    ("405", DeclineReason::InvalidCard),          // Failed, Invalid Card No
    ("406", DeclineReason::InvalidCard),          // Failed, Invalid Expiry
    ("407", DeclineReason::ExpiredCard),          // Failed, Expired Card
    ("408", DeclineReason::Declined),             // Failed, Unspecified Failure
    ("501", DeclineReason::Declined),             // Declined
    ("502", DeclineReason::InvalidCard),          // Declined, Incorrect CSC/CVV
    ("503", DeclineReason::AuthenticationFailed), // Declined, 3D Security - Incorrect
    ("504", DeclineReason::AuthenticationFailed), // Declined, 3D Security - Card not Enrolled
    ("505", DeclineReason::InsufficientFunds),    // Declined, Insufficient Funds
    ("506", DeclineReason::CardNotSupported),     // Declined, Transaction Type Not Supported
    ("507", DeclineReason::DoNotHonor),           // Declined, Card Issuer
    ("508", DeclineReason::GatewayError),         // Declined, Card Issuer - No Reply
    ("509", DeclineReason::DoNotHonor),           // Declined, Card Issuer - Do not Contact
    ("510", DeclineReason::DoNotHonor),           // Declined, Card Issuer - Referral Response
    ("511", DeclineReason::GatewayError),         // Declined, Card Issuer - Error
    ("512", DeclineReason::AuthenticationFailed), // Declined, Not Authenticated
    ("513", DeclineReason::GatewayError),         // Declined, Card Acquirer - Error
    ("514", DeclineReason::SuspectedFraud),       // Declined, Card Issuer - Risk Check
    ("515", DeclineReason::Declined),             // Declined, Tap
    ("516", DeclineReason::AuthenticationFailed), // Declined, Authentication Failed
    ("701", DeclineReason::CardNotSupported),     // Restricted
    ("702", DeclineReason::LimitExceeded),        // Restricted, Retry Limit Exceeded
    ("703", DeclineReason::CardNotSupported),     // Restricted, Bank
    ("704", DeclineReason::CardNotSupported),     // Restricted, Tap
    ("801", DeclineReason::GatewayError),         // Timed Out
    ("901", DeclineReason::GatewayError),         // Unknown
];

/// The fallback by charge `status` (gateways.md §2.3) when the code is missing or unknown.
pub const STATUSES: Table = &[
    ("ABANDONED", DeclineReason::CanceledByShopper),
    ("CANCELLED", DeclineReason::CanceledByShopper),
    ("EXPIRED", DeclineReason::ExpiredSession),
    ("TIMEDOUT", DeclineReason::GatewayError),
    ("UNKNOWN", DeclineReason::GatewayError),
    ("RESTRICTED", DeclineReason::CardNotSupported),
];

/// The reason for a charge that did not go through.
///
/// Unconfirmed: an ISO 8583 issuer code zero-padded to three digits (`051`, `054`, `005`), which
/// some write as Tap's `response.code`; Tap's page lists none, so such codes are read with the
/// ISO table only when they are not Tap codes.
pub fn reason(code: Option<&str>, status: &str) -> DeclineReason {
    let code = code.map(str::trim).unwrap_or_default();
    lookup(TABLE, code)
        .or_else(|| code.strip_prefix('0').filter(|c| c.len() == 2).and_then(|c| lookup(ISO_8583, c)))
        .or_else(|| lookup(STATUSES, status))
        .unwrap_or(DeclineReason::Declined)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_maps_as_documented_and_unknowns_fall_back() {
        for (code, want) in TABLE {
            assert_eq!(reason(Some(code), "DECLINED"), *want, "{code}");
        }
        assert_eq!(reason(Some("505"), "DECLINED"), DeclineReason::InsufficientFunds);
        assert_eq!(reason(Some("051"), "DECLINED"), DeclineReason::InsufficientFunds, "ISO, zero-padded");
        assert_eq!(reason(Some("054"), "DECLINED"), DeclineReason::ExpiredCard);
        assert_eq!(reason(Some("005"), "DECLINED"), DeclineReason::DoNotHonor);
        assert_eq!(reason(Some("999"), "DECLINED"), DeclineReason::Declined);
        assert_eq!(reason(None, "ABANDONED"), DeclineReason::CanceledByShopper);
        assert_eq!(reason(None, "TIMEDOUT"), DeclineReason::GatewayError);
        assert_eq!(reason(Some(""), "FAILED"), DeclineReason::Declined);
        assert_eq!(reason(Some("000"), "SOMETHING"), DeclineReason::Declined);
    }
}
