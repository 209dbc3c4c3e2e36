//! Moyasar's failure reasons → [`DeclineReason`].
//!
//! A failed payment carries `source.response_code` (two digits, ISO 8583: "only available when
//! the payment has been sent through the acquirer gateway and will be null otherwise",
//! docs.moyasar.com/gateway-response-codes) and `source.message` (the issuer's text,
//! docs.moyasar.com/payment-errors; test-card messages in docs.moyasar.com/guides/card-payments/
//! test-cards and gateways.md §1.8). The code decides when there is one ([`crate::decline::ISO_8583`]:
//! Moyasar's page lists the ISO codes; 00–09 read there, 05/41/43/51/54/61/99 on its mada test
//! cards); otherwise the message does, by the phrases below.

use crate::decline::{lookup, DeclineReason, ISO_8583};
use serde::Deserialize;

/// Phrases of `source.message`, matched case-insensitively as substrings, first match wins (so
/// `DECLINED` comes last: it prefixes the more precise messages).
pub const MESSAGES: &[(&str, DeclineReason)] = &[
    // payment-errors "INSUFFICIENT FUNDS"; test card 4201320000311101 (51)
    ("INSUFFICIENT FUNDS", DeclineReason::InsufficientFunds),
    // payment-errors "EXPIRED CARD"; test card 4201322267774310 "DECLINED: EXPIRED CARD" (54)
    ("EXPIRED CARD", DeclineReason::ExpiredCard),
    // test cards 4201320131000508 "DECLINED: LOST CARD" (41), 4201321144311528 "DECLINED: STOLEN CARD" (43)
    ("LOST CARD", DeclineReason::SuspectedFraud),
    ("STOLEN CARD", DeclineReason::SuspectedFraud),
    // test card 4201326324640570 "DECLINED: EXCEEDS WITHDRAWAL LIMIT" (61)
    ("LIMIT", DeclineReason::LimitExceeded),
    // payment-errors "BLOCKED" ("could be suspected of fraud")
    ("BLOCKED", DeclineReason::SuspectedFraud),
    // payment-errors "Allowed time frame for transaction has been expired" (15 minutes)
    ("TIME FRAME", DeclineReason::ExpiredSession),
    // test card 4111118250252531 "3DS: attempted but not available…"; Mastercard 5204010101000000 3DS fail
    ("3DS", DeclineReason::AuthenticationFailed),
    ("3-D SECURE", DeclineReason::AuthenticationFailed),
    ("AUTHENTICATION", DeclineReason::AuthenticationFailed), // unconfirmed wording
    // payment-errors: "The security number (CVC/CVV) was entered incorrectly" (title unconfirmed)
    ("CVC", DeclineReason::InvalidCard),
    ("CVV", DeclineReason::InvalidCard),
    ("INVALID CARD", DeclineReason::InvalidCard), // unconfirmed wording
    // payment-errors: "The customer's bank was unable to be connected" (title unconfirmed)
    ("UNABLE TO BE CONNECTED", DeclineReason::GatewayError),
    ("TIMEOUT", DeclineReason::GatewayError), // unconfirmed wording
    // STC Pay's sandbox messages (docs.moyasar.com/guides/stc-pay/testing): OTP 111111
    // "Insufficient Balance.", 333333 "…the maximum allowed transaction amount.", 444444
    // "Connection timed out…", any other code "Invalid OTP"; mobiles 0515555555 "…is not
    // registered to use the STC Pay service.", …558 "You have exhausted your OTP attempts…",
    // …559 "Please wait 60 seconds before attempting a new payment." (222222's "daily
    // transaction limit" is LIMIT above.)
    ("INSUFFICIENT BALANCE", DeclineReason::InsufficientFunds),
    ("MAXIMUM ALLOWED", DeclineReason::LimitExceeded),
    ("TIMED OUT", DeclineReason::GatewayError),
    ("INVALID OTP", DeclineReason::AuthenticationFailed),
    ("OTP ATTEMPTS", DeclineReason::LimitExceeded),
    ("NOT REGISTERED", DeclineReason::CardNotSupported),
    ("WAIT 60 SECONDS", DeclineReason::LimitExceeded),
    // payment-errors "UNSPECIFIED FAILURE"; test card 4201320000013020 (99)
    ("UNSPECIFIED FAILURE", DeclineReason::Declined),
    // payment-errors "DECLINED"; test card 4201321234411220 (05)
    ("DECLINED", DeclineReason::Declined),
];

/// The reason for a failed payment: its response code when it has one listed, else its
/// message, else a plain decline.
pub fn reason(response_code: Option<&str>, message: Option<&str>) -> DeclineReason {
    if let Some(r) = response_code.and_then(|c| lookup(ISO_8583, c.trim())) {
        return r;
    }
    let message = message.unwrap_or_default().to_ascii_uppercase();
    MESSAGES.iter().find(|(phrase, _)| message.contains(phrase)).map(|(_, r)| *r).unwrap_or(DeclineReason::Declined)
}

#[derive(Deserialize)]
struct Invoice {
    #[serde(default)]
    payments: Vec<Payment>,
}

#[derive(Deserialize)]
struct Payment {
    id: String,
    #[serde(default)]
    source: Option<Source>,
}

#[derive(Deserialize)]
struct Source {
    #[serde(default)]
    response_code: Option<serde_json::Value>,
}

/// The failure of a failed payment: the normalized reason, with Moyasar's words and code.
pub fn failure(response_code: Option<&str>, message: Option<&str>) -> crate::notification::ErrorInfo {
    let reason = reason(response_code, message);
    crate::notification::ErrorInfo {
        code: reason.code().to_string(),
        message: crate::decline::gateway_message(reason, Some(message.unwrap_or("The payment failed.")), response_code),
    }
}

/// `source.response_code` of the invoice's payment `payment_id`, read from the invoice's body
/// (a string, or a number Moyasar might send unquoted).
pub fn response_code(invoice_body: &[u8], payment_id: &str) -> Option<String> {
    let invoice: Invoice = serde_json::from_slice(invoice_body).ok()?;
    code_text(invoice.payments.into_iter().find(|p| p.id == payment_id)?.source?.response_code?)
}

/// `source.response_code` of a payment's own body (a payment made in the page).
pub fn payment_response_code(payment_body: &[u8]) -> Option<String> {
    let payment: Payment = serde_json::from_slice(payment_body).ok()?;
    code_text(payment.source?.response_code?)
}

fn code_text(code: serde_json::Value) -> Option<String> {
    match code {
        serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        serde_json::Value::Number(n) => Some(format!("{:02}", n.as_u64()?)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_test_cards_map_as_documented() {
        for (code, message, want) in [
            ("99", "UNSPECIFIED FAILURE", DeclineReason::Declined),
            ("51", "INSUFFICIENT FUNDS", DeclineReason::InsufficientFunds),
            ("41", "DECLINED: LOST CARD", DeclineReason::SuspectedFraud),
            ("05", "DECLINED", DeclineReason::DoNotHonor),
            ("54", "DECLINED: EXPIRED CARD", DeclineReason::ExpiredCard),
            ("61", "DECLINED: EXCEEDS WITHDRAWAL LIMIT", DeclineReason::LimitExceeded),
            ("43", "DECLINED: STOLEN CARD", DeclineReason::SuspectedFraud),
        ] {
            assert_eq!(reason(Some(code), Some(message)), want, "{code} {message}");
            if code != "05" {
                assert_eq!(reason(None, Some(message)), want, "{message} alone");
            }
        }
    }

    #[test]
    fn every_message_row_maps_and_unknowns_fall_back() {
        for (phrase, want) in MESSAGES {
            assert_eq!(reason(None, Some(&format!("declined: {}", phrase.to_lowercase()))), *want, "{phrase}");
        }
        assert_eq!(
            reason(None, Some("3DS: attempted but not available, please ensure that you have enabled 3DS")),
            DeclineReason::AuthenticationFailed
        );
        assert_eq!(reason(None, Some("BLOCKED")), DeclineReason::SuspectedFraud);
        assert_eq!(reason(Some("zz"), Some("something new")), DeclineReason::Declined);
        assert_eq!(reason(None, None), DeclineReason::Declined);
    }

    #[test]
    fn the_response_code_is_read_from_the_payment() {
        let body = br#"{"id":"inv_1","payments":[{"id":"p1","source":{"response_code":"51"}},
            {"id":"p2","source":{"response_code":5}},{"id":"p3","source":{"response_code":null}}]}"#;
        assert_eq!(response_code(body, "p1").as_deref(), Some("51"));
        assert_eq!(response_code(body, "p2").as_deref(), Some("05"));
        assert_eq!(response_code(body, "p3"), None);
        assert_eq!(response_code(body, "p9"), None);
        assert_eq!(response_code(b"<html>", "p1"), None);
    }
}
