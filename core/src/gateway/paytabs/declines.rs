//! PayTabs' failed payments → [`DeclineReason`].
//!
//! PayTabs documents `payment_result.response_code` as a merchant-internal code and publishes no
//! stable table of it in the sources Bawaba has (gateways.md §4; the support article on response
//! codes vs statuses describes the statuses, not a code list). So the reason comes from, in order:
//! 1. an ISO 8583 code, where `response_code` is one (two characters, as acquirers pass them on) —
//!    [U] PayTabs does not say it passes them through;
//! 2. the message, for 3-D Secure failures only (`3DS`, `3-D Secure`, `authentication`) — [U] the
//!    wording is not documented; a miss falls through to 3;
//! 3. the status: `D` declined, `E` a gateway error, `X` an expired page, `C` canceled by the
//!    shopper (gateways.md §4.3).
//!
//! The message that reaches the merchant keeps PayTabs' own words and code whatever the reason.

use crate::decline::{lookup, DeclineReason, Table, ISO_8583};

/// The fallback by `response_status`.
pub const STATUSES: Table = &[
    ("D", DeclineReason::Declined),
    ("E", DeclineReason::GatewayError),
    ("X", DeclineReason::ExpiredSession),
    ("C", DeclineReason::CanceledByShopper),
];

/// Whether PayTabs' message says the shopper failed 3-D Secure [U: wording].
pub fn is_three_ds_failure(message: Option<&str>) -> bool {
    let m = message.unwrap_or_default().to_ascii_lowercase();
    m.contains("3ds") || m.contains("3-d secure") || m.contains("3d secure") || m.contains("authentication")
}

/// The reason for a payment that did not go through.
pub fn reason(status: &str, code: Option<&str>, message: Option<&str>) -> DeclineReason {
    let code = code.map(str::trim).unwrap_or_default();
    let status = status.trim().to_ascii_uppercase();
    if code.len() == 2 {
        if let Some(r) = lookup(ISO_8583, code) {
            return r;
        }
    }
    if status == "D" && is_three_ds_failure(message) {
        return DeclineReason::AuthenticationFailed;
    }
    lookup(STATUSES, &status).unwrap_or(DeclineReason::Declined)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_codes_then_three_d_secure_then_the_status() {
        assert_eq!(reason("D", Some("51"), Some("Insufficient Funds")), DeclineReason::InsufficientFunds);
        assert_eq!(reason("D", Some("05"), None), DeclineReason::DoNotHonor);
        assert_eq!(reason("D", Some("4"), Some("3DS Authentication failed")), DeclineReason::AuthenticationFailed);
        assert_eq!(reason("D", Some("G123"), Some("Authentication failed")), DeclineReason::AuthenticationFailed);
        assert_eq!(reason("D", Some("G123"), Some("Do not honour")), DeclineReason::Declined);
        assert_eq!(reason("E", None, Some("Authentication failed")), DeclineReason::GatewayError, "E is not 3DS");
        assert_eq!(reason("X", None, None), DeclineReason::ExpiredSession);
        assert_eq!(reason("C", None, None), DeclineReason::CanceledByShopper);
        assert_eq!(reason("d", Some(""), None), DeclineReason::Declined);
        assert_eq!(reason("?", None, None), DeclineReason::Declined);
    }
}
