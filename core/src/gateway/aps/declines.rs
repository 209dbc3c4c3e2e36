//! APS `response_code` / `transaction_code` → [`DeclineReason`].
//!
//! The code is five digits: a two-digit status and a three-digit message code
//! (paymentservices.amazon.com/docs/developer-resources/error-codes; gateways.md §5.4), e.g.
//! `14000` purchase success, `13…` purchase failure, `00…` invalid request. The message code
//! decides. Confirmed: `000` success, `001` "Missing parameter" (the page's own example `03001`),
//! `008` "Signature mismatch" (gateways.md §5.7, payfort-php-sdk issues). The page's list of
//! message codes was not retrieved: every other row is **unconfirmed** (from APS's published list
//! as remembered, not checked), and the `transaction_message` phrases back them up.

use crate::decline::{lookup, DeclineReason, Table};

/// Message codes (the last three digits).
pub const MESSAGE_CODES: Table = &[
    ("001", DeclineReason::GatewayError),      // Missing parameter [C]
    ("002", DeclineReason::GatewayError),      // Invalid parameter format [U]
    ("003", DeclineReason::CardNotSupported),  // Payment option not available for this merchant [U]
    ("006", DeclineReason::GatewayError),      // Technical problem [U]
    ("008", DeclineReason::GatewayError),      // Signature mismatch [C]
    ("012", DeclineReason::ExpiredCard),       // Card expired [U]
    ("016", DeclineReason::InvalidCard),       // Card number is not valid [U]
    ("017", DeclineReason::CardNotSupported),  // Operation not allowed by the acquirer [U]
    ("023", DeclineReason::CardNotSupported),  // Currency not accepted by the acquirer [U]
    ("050", DeclineReason::LimitExceeded),     // Merchant per-transaction limit exceeded [U]
    ("051", DeclineReason::GatewayError),      // Technical error [U]
    ("057", DeclineReason::LimitExceeded),     // Amount exceeds the daily transaction limit [U]
    ("058", DeclineReason::LimitExceeded),     // Amount exceeds the per-transaction limit [U]
    ("065", DeclineReason::ExpiredSession),    // Transaction waiting for customer's action [U]
    ("072", DeclineReason::CanceledByShopper), // Transaction cancelled by the consumer [U]
    ("074", DeclineReason::Declined),          // Transaction failed [U]
    ("078", DeclineReason::SuspectedFraud),    // Failed to check fraud screen [U]
    ("079", DeclineReason::SuspectedFraud),    // Transaction challenged by fraud rules [U]
];

/// Phrases of `response_message` / `transaction_message`, case-insensitive substrings, first
/// match wins [U: the wording of APS's messages was not checked].
pub const MESSAGES: &[(&str, DeclineReason)] = &[
    ("INSUFFICIENT", DeclineReason::InsufficientFunds),
    ("EXPIRED", DeclineReason::ExpiredCard),
    ("3-D SECURE", DeclineReason::AuthenticationFailed),
    ("3DS", DeclineReason::AuthenticationFailed),
    ("AUTHENTICATION", DeclineReason::AuthenticationFailed),
    ("CARD NUMBER", DeclineReason::InvalidCard),
    ("CVV", DeclineReason::InvalidCard),
    ("FRAUD", DeclineReason::SuspectedFraud),
    ("LIMIT", DeclineReason::LimitExceeded),
    ("CANCELLED BY THE CONSUMER", DeclineReason::CanceledByShopper),
    ("TECHNICAL", DeclineReason::GatewayError),
];

/// The reason for a failed APS transaction: the confirmed message codes first, then the
/// response's own words (they describe this very response, where an unconfirmed code row may be
/// wrong: our APS fake sends `13016` "Insufficient Funds", the table's unconfirmed `016` says
/// "card number not valid"), then the unconfirmed codes, else a technical error for an invalid
/// request (status `00`) and a plain decline otherwise.
pub fn reason(response_code: Option<&str>, message: Option<&str>) -> DeclineReason {
    let code = response_code.map(str::trim).unwrap_or_default();
    let message_code = if code.len() == 5 && code.bytes().all(|b| b.is_ascii_digit()) { &code[2..] } else { "" };
    if CONFIRMED.contains(&message_code) {
        if let Some(r) = lookup(MESSAGE_CODES, message_code) {
            return r;
        }
    }
    let text = message.unwrap_or_default().to_ascii_uppercase();
    if let Some((_, r)) = MESSAGES.iter().find(|(phrase, _)| text.contains(phrase)) {
        return *r;
    }
    if let Some(r) = lookup(MESSAGE_CODES, message_code) {
        return r;
    }
    if code.starts_with("00") {
        DeclineReason::GatewayError
    } else {
        DeclineReason::Declined
    }
}

/// The message codes whose meaning was checked (see the module's documentation).
const CONFIRMED: [&str; 2] = ["001", "008"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_maps_as_documented_and_unknowns_fall_back() {
        for (code, want) in MESSAGE_CODES {
            assert_eq!(reason(Some(&format!("13{code}")), None), *want, "{code}");
        }
        for (phrase, want) in MESSAGES {
            assert_eq!(reason(Some("13999"), Some(&phrase.to_lowercase())), *want, "{phrase}");
        }
        assert_eq!(reason(Some("00008"), Some("Signature mismatch")), DeclineReason::GatewayError);
        assert_eq!(reason(Some("13999"), Some("Something new")), DeclineReason::Declined);
        assert_eq!(reason(Some("00999"), None), DeclineReason::GatewayError, "an invalid request");
        assert_eq!(reason(None, None), DeclineReason::Declined);
        assert_eq!(reason(Some("13"), None), DeclineReason::Declined);
        assert_eq!(reason(Some("1300١"), None), DeclineReason::Declined, "never panics on odd input");
        // The response's words win over an unconfirmed code; a confirmed code wins over words.
        assert_eq!(reason(Some("13016"), Some("Insufficient Funds")), DeclineReason::InsufficientFunds);
        assert_eq!(reason(Some("13016"), None), DeclineReason::InvalidCard);
        assert_eq!(reason(Some("00008"), Some("Technical limit")), DeclineReason::GatewayError);
    }
}
