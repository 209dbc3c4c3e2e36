//! Normalized decline reasons: the small, stable set every gateway's own codes map to (one table
//! per gateway, in `gateway/<gateway>/declines.rs`). The code goes into
//! [`crate::notification::ErrorInfo::code`] of a failed payment; the gateway's own message and
//! raw code stay in its `message` for the merchant. The shopper sees [`DeclineReason::message`]
//! in Arabic or English, the merchant [`DeclineReason::merchant_hint`].
//!
//! Codes are a contract (shops store them): add variants, never rename or remove one.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Why a payment did not go through, normalized across gateways.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DeclineReason {
    /// `insufficient_funds`: the card's balance or credit does not cover the amount.
    InsufficientFunds,
    /// `do_not_honor`: the issuer refused without saying why ("do not honour", "refer to issuer").
    DoNotHonor,
    /// `expired_card`: the card is past its expiry date.
    ExpiredCard,
    /// `invalid_card`: the card number, CVV or expiry date was wrong (a typing mistake, or a card
    /// that does not exist).
    InvalidCard,
    /// `authentication_failed`: 3-D Secure failed or was abandoned (wrong code, not enrolled).
    AuthenticationFailed,
    /// `card_not_supported`: this card cannot pay here (brand, currency, online or this kind of
    /// transaction not allowed for the card or for the merchant's account).
    CardNotSupported,
    /// `suspected_fraud`: the issuer or the gateway's risk checks blocked it (also lost or stolen
    /// cards; the shopper is deliberately not told more).
    SuspectedFraud,
    /// `limit_exceeded`: a card limit (amount, daily count, retries) was reached.
    LimitExceeded,
    /// `canceled_by_shopper`: the shopper canceled or left the gateway's page.
    CanceledByShopper,
    /// `expired_session`: the payment page or the bank step timed out.
    ExpiredSession,
    /// `gateway_error`: a technical failure at the gateway, the acquirer or the issuer (no reply,
    /// system error, configuration); nothing says the card is at fault.
    GatewayError,
    /// `declined`: declined, and the gateway says no more (also any code not in a table).
    Declined,
}

/// A shopper-facing language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Locale {
    /// English.
    En,
    /// Arabic.
    Ar,
}

impl Locale {
    /// `ar` (or `ar-SA`, …) is Arabic; anything else English.
    pub fn parse(tag: &str) -> Self {
        let primary = tag.split(['-', '_']).next().unwrap_or("");
        if primary.eq_ignore_ascii_case("ar") {
            Locale::Ar
        } else {
            Locale::En
        }
    }
}

impl DeclineReason {
    /// Every reason, in a fixed order.
    pub const ALL: [DeclineReason; 12] = [
        DeclineReason::InsufficientFunds,
        DeclineReason::DoNotHonor,
        DeclineReason::ExpiredCard,
        DeclineReason::InvalidCard,
        DeclineReason::AuthenticationFailed,
        DeclineReason::CardNotSupported,
        DeclineReason::SuspectedFraud,
        DeclineReason::LimitExceeded,
        DeclineReason::CanceledByShopper,
        DeclineReason::ExpiredSession,
        DeclineReason::GatewayError,
        DeclineReason::Declined,
    ];

    /// The stable snake_case code.
    pub fn code(self) -> &'static str {
        match self {
            DeclineReason::InsufficientFunds => "insufficient_funds",
            DeclineReason::DoNotHonor => "do_not_honor",
            DeclineReason::ExpiredCard => "expired_card",
            DeclineReason::InvalidCard => "invalid_card",
            DeclineReason::AuthenticationFailed => "authentication_failed",
            DeclineReason::CardNotSupported => "card_not_supported",
            DeclineReason::SuspectedFraud => "suspected_fraud",
            DeclineReason::LimitExceeded => "limit_exceeded",
            DeclineReason::CanceledByShopper => "canceled_by_shopper",
            DeclineReason::ExpiredSession => "expired_session",
            DeclineReason::GatewayError => "gateway_error",
            DeclineReason::Declined => "declined",
        }
    }

    /// The reason with this exact code, if any.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }

    /// The reason to show for any `ErrorInfo.code` a shop may hold: a stable code, or one of
    /// the codes Bawaba sent before this set existed or sends for payments it closed itself
    /// (`card_declined`, `expired`, `canceled`, `superseded`); anything else is
    /// [`DeclineReason::Declined`]. Never fails.
    pub fn for_error_code(code: &str) -> Self {
        Self::from_code(code).unwrap_or(match code {
            "expired" => DeclineReason::ExpiredSession,
            "canceled" | "superseded" => DeclineReason::CanceledByShopper,
            _ => DeclineReason::Declined,
        })
    }

    /// Whether the shopper may simply try again with the same card (technical failures and
    /// pages that timed out or were left), as opposed to needing another card or their bank.
    pub fn retry_may_succeed(self) -> bool {
        matches!(
            self,
            DeclineReason::GatewayError
                | DeclineReason::ExpiredSession
                | DeclineReason::CanceledByShopper
                | DeclineReason::AuthenticationFailed
                | DeclineReason::InvalidCard
        )
    }

    /// A few words naming the reason, for the merchant's reports (the dashboard, Odoo's views).
    pub fn label(self, locale: Locale) -> &'static str {
        let (en, ar) = match self {
            DeclineReason::InsufficientFunds => ("Insufficient funds", "رصيد غير كافٍ"),
            DeclineReason::DoNotHonor => ("Refused by the card's bank", "رفضه البنك المُصدر"),
            DeclineReason::ExpiredCard => ("Expired card", "بطاقة منتهية الصلاحية"),
            DeclineReason::InvalidCard => ("Card details wrong", "بيانات البطاقة خاطئة"),
            DeclineReason::AuthenticationFailed => ("3-D Secure failed", "فشل التحقق ثلاثي الأبعاد"),
            DeclineReason::CardNotSupported => ("Card not accepted here", "بطاقة غير مقبولة هنا"),
            DeclineReason::SuspectedFraud => ("Blocked as suspected fraud", "حُظر للاشتباه في احتيال"),
            DeclineReason::LimitExceeded => ("Card limit reached", "تجاوز حد البطاقة"),
            DeclineReason::CanceledByShopper => ("Canceled by the shopper", "ألغاه المتسوق"),
            DeclineReason::ExpiredSession => ("Payment page expired", "انتهت مهلة صفحة الدفع"),
            DeclineReason::GatewayError => ("Gateway error", "خطأ في البوابة"),
            DeclineReason::Declined => ("Declined", "مرفوض"),
        };
        match locale {
            Locale::En => en,
            Locale::Ar => ar,
        }
    }

    /// One polite sentence for the shopper, saying what to do next.
    pub fn message(self, locale: Locale) -> &'static str {
        match locale {
            Locale::En => match self {
                DeclineReason::InsufficientFunds => {
                    "The card does not have enough funds for this payment. Please use another card or contact your bank."
                }
                DeclineReason::DoNotHonor => {
                    "Your bank declined this payment. Please contact your bank or try another card."
                }
                DeclineReason::ExpiredCard => "This card has expired. Please use another card.",
                DeclineReason::InvalidCard => {
                    "The card number, expiry date or security code (CVV) is not correct. Please check them and try again."
                }
                DeclineReason::AuthenticationFailed => {
                    "The card could not be verified with your bank (3-D Secure). Please try again, or use another card."
                }
                DeclineReason::CardNotSupported => {
                    "This card cannot be used for this payment. Please use another card or payment method."
                }
                DeclineReason::SuspectedFraud => {
                    "Your bank declined this payment. Please contact your bank or use another card."
                }
                DeclineReason::LimitExceeded => {
                    "This payment exceeds a limit on your card. Please contact your bank or use another card."
                }
                DeclineReason::CanceledByShopper => "The payment was canceled. You can try again when you are ready.",
                DeclineReason::ExpiredSession => {
                    "The payment page timed out before the payment was completed. Please try again."
                }
                DeclineReason::GatewayError => {
                    "The payment could not be processed because of a technical problem. Please try again in a few minutes."
                }
                DeclineReason::Declined => {
                    "The payment was declined. Please try another card or contact your bank."
                }
            },
            Locale::Ar => match self {
                DeclineReason::InsufficientFunds => {
                    "رصيد البطاقة لا يكفي لإتمام هذه الدفعة. يرجى استخدام بطاقة أخرى أو التواصل مع البنك."
                }
                DeclineReason::DoNotHonor => "رفض البنك هذه الدفعة. يرجى التواصل مع البنك أو تجربة بطاقة أخرى.",
                DeclineReason::ExpiredCard => "انتهت صلاحية هذه البطاقة. يرجى استخدام بطاقة أخرى.",
                DeclineReason::InvalidCard => {
                    "رقم البطاقة أو تاريخ الانتهاء أو رمز الأمان (CVV) غير صحيح. يرجى التحقق منها والمحاولة مرة أخرى."
                }
                DeclineReason::AuthenticationFailed => {
                    "تعذّر التحقق من البطاقة مع البنك (3-D Secure). يرجى المحاولة مرة أخرى أو استخدام بطاقة أخرى."
                }
                DeclineReason::CardNotSupported => {
                    "لا يمكن استخدام هذه البطاقة لهذه الدفعة. يرجى استخدام بطاقة أو وسيلة دفع أخرى."
                }
                DeclineReason::SuspectedFraud => "رفض البنك هذه الدفعة. يرجى التواصل مع البنك أو استخدام بطاقة أخرى.",
                DeclineReason::LimitExceeded => {
                    "تتجاوز هذه الدفعة أحد حدود البطاقة. يرجى التواصل مع البنك أو استخدام بطاقة أخرى."
                }
                DeclineReason::CanceledByShopper => "أُلغيت عملية الدفع. يمكنك المحاولة مرة أخرى متى شئت.",
                DeclineReason::ExpiredSession => "انتهت مهلة صفحة الدفع قبل إتمام العملية. يرجى المحاولة مرة أخرى.",
                DeclineReason::GatewayError => "تعذّرت معالجة الدفعة بسبب مشكلة تقنية. يرجى المحاولة بعد دقائق.",
                DeclineReason::Declined => "رُفضت عملية الدفع. يرجى تجربة بطاقة أخرى أو التواصل مع البنك.",
            },
        }
    }

    /// What the reason usually means, for the merchant (English).
    pub fn merchant_hint(self) -> &'static str {
        match self {
            DeclineReason::InsufficientFunds => {
                "The issuer declined for lack of funds or credit. The shopper may pay with another card or later."
            }
            DeclineReason::DoNotHonor => {
                "The issuer refused without a reason (\"do not honour\", \"refer to issuer\"). Only the shopper's bank can say why."
            }
            DeclineReason::ExpiredCard => "The card is past its expiry date.",
            DeclineReason::InvalidCard => {
                "The card number, CVV or expiry date was wrong, or the card does not exist. Usually a typing mistake."
            }
            DeclineReason::AuthenticationFailed => {
                "3-D Secure failed: a wrong or missing code, an abandoned bank step, or a card not enrolled."
            }
            DeclineReason::CardNotSupported => {
                "Payment not allowed: the card's brand, currency, online use or this transaction type is not enabled \
                 for the card or for your gateway account. Check the methods and currencies your gateway enabled."
            }
            DeclineReason::SuspectedFraud => {
                "Blocked by the issuer's or the gateway's risk checks, or the card was reported lost or stolen. Do not \
                 retry it; the shopper is only told the bank declined."
            }
            DeclineReason::LimitExceeded => {
                "A limit was reached: the card's amount or frequency limit, or too many attempts."
            }
            DeclineReason::CanceledByShopper => "The shopper canceled or left the gateway's payment page.",
            DeclineReason::ExpiredSession => "The payment page or the bank's verification step timed out.",
            DeclineReason::GatewayError => {
                "A technical failure at the gateway, acquirer or issuer (no reply, system or configuration error). If \
                 it repeats, check the gateway's status and your account's configuration."
            }
            DeclineReason::Declined => {
                "Declined without a more precise reason (or with a code Bawaba does not know yet); see the gateway's \
                 message and code."
            }
        }
    }
}

impl fmt::Display for DeclineReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for DeclineReason {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for DeclineReason {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        DeclineReason::from_code(&code)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown decline reason {code:?}")))
    }
}

/// The `message` of a failed payment's `ErrorInfo`: the gateway's own text with its raw code in
/// parentheses (`Insufficient Funds (505)`), so the merchant still sees the gateway's words.
/// Empty parts are left out; with neither, the reason's merchant hint.
pub fn gateway_message(reason: DeclineReason, text: Option<&str>, raw_code: Option<&str>) -> String {
    let text = text.map(str::trim).filter(|t| !t.is_empty());
    let raw = raw_code.map(str::trim).filter(|c| !c.is_empty());
    match (text, raw) {
        (Some(t), Some(c)) if t.ends_with(&format!("({c})")) => t.to_string(),
        (Some(t), Some(c)) => format!("{t} ({c})"),
        (Some(t), None) => t.to_string(),
        (None, Some(c)) => format!("{} ({c})", reason.merchant_hint()),
        (None, None) => reason.merchant_hint().to_string(),
    }
}

/// A gateway's decline table: its raw codes, each with the reason it maps to.
pub type Table = &'static [(&'static str, DeclineReason)];

/// Looks `code` up in `table`.
pub fn lookup(table: Table, code: &str) -> Option<DeclineReason> {
    table.iter().find(|(c, _)| *c == code).map(|(_, r)| *r)
}

/// ISO 8583 response codes (field 39), which acquirers and most gateways pass through as two
/// digits. Sources: docs.moyasar.com/gateway-response-codes (Moyasar's table of them) and the
/// card networks' published lists (e.g. the Visa codes on developer.north.com,
/// developer.mastercard.com "Network Response Codes"). Shared by the gateways that pass them on.
pub const ISO_8583: Table = &[
    ("01", DeclineReason::DoNotHonor),        // refer to card issuer
    ("02", DeclineReason::DoNotHonor),        // refer to issuer, special condition
    ("03", DeclineReason::GatewayError),      // invalid merchant
    ("04", DeclineReason::SuspectedFraud),    // pick up card
    ("05", DeclineReason::DoNotHonor),        // do not honour
    ("06", DeclineReason::Declined),          // error (Moyasar: "a card number error")
    ("07", DeclineReason::SuspectedFraud),    // pick up card, special condition (fraud)
    ("12", DeclineReason::CardNotSupported),  // invalid transaction
    ("13", DeclineReason::GatewayError),      // invalid amount
    ("14", DeclineReason::InvalidCard),       // invalid card number
    ("15", DeclineReason::InvalidCard),       // no such issuer
    ("19", DeclineReason::GatewayError),      // re-enter transaction
    ("30", DeclineReason::GatewayError),      // format error
    ("33", DeclineReason::ExpiredCard),       // expired card, pick up
    ("34", DeclineReason::SuspectedFraud),    // suspected fraud, pick up
    ("41", DeclineReason::SuspectedFraud),    // lost card
    ("43", DeclineReason::SuspectedFraud),    // stolen card
    ("51", DeclineReason::InsufficientFunds), // insufficient funds
    ("54", DeclineReason::ExpiredCard),       // expired card
    ("55", DeclineReason::InvalidCard),       // incorrect PIN
    ("57", DeclineReason::CardNotSupported),  // transaction not permitted to cardholder
    ("58", DeclineReason::CardNotSupported),  // transaction not permitted to terminal
    ("59", DeclineReason::SuspectedFraud),    // suspected fraud
    ("61", DeclineReason::LimitExceeded),     // exceeds withdrawal amount limit
    ("62", DeclineReason::CardNotSupported),  // restricted card
    ("63", DeclineReason::SuspectedFraud),    // security violation
    ("65", DeclineReason::LimitExceeded),     // exceeds withdrawal frequency limit
    ("75", DeclineReason::LimitExceeded),     // PIN tries exceeded
    ("82", DeclineReason::InvalidCard),       // CVV incorrect (network-specific)
    ("N7", DeclineReason::InvalidCard),       // CVV2 mismatch (Visa)
    ("91", DeclineReason::GatewayError),      // issuer or switch inoperative
    ("92", DeclineReason::GatewayError),      // routing error
    ("96", DeclineReason::GatewayError),      // system malfunction
    ("99", DeclineReason::Declined),          // unspecified failure (Moyasar's test cards)
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case_and_round_trip() {
        let mut seen = std::collections::BTreeSet::new();
        for r in DeclineReason::ALL {
            assert!(seen.insert(r.code()), "{r} twice");
            assert!(r.code().bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "{r}");
            assert_eq!(DeclineReason::from_code(r.code()), Some(r));
            let json = serde_json::to_string(&r).unwrap();
            assert_eq!(json, format!("\"{}\"", r.code()));
            assert_eq!(serde_json::from_str::<DeclineReason>(&json).unwrap(), r);
        }
        assert_eq!(DeclineReason::from_code("card_declined"), None);
        assert!(serde_json::from_str::<DeclineReason>("\"nope\"").is_err());
    }

    #[test]
    fn every_reason_speaks_both_languages_and_to_the_merchant() {
        for r in DeclineReason::ALL {
            let (en, ar) = (r.message(Locale::En), r.message(Locale::Ar));
            assert!(en.ends_with('.') && en.is_ascii(), "{r}: {en}");
            assert!(ar.chars().any(|c| ('\u{0600}'..='\u{06FF}').contains(&c)), "{r}: {ar}");
            assert_ne!(en, ar);
            assert!(!r.merchant_hint().is_empty());
        }
        assert_eq!(Locale::parse("ar-SA"), Locale::Ar);
        assert_eq!(Locale::parse("AR"), Locale::Ar);
        assert_eq!(Locale::parse("en"), Locale::En);
        assert_eq!(Locale::parse(""), Locale::En);
    }

    #[test]
    fn older_and_lifecycle_codes_still_get_a_reason() {
        assert_eq!(DeclineReason::for_error_code("insufficient_funds"), DeclineReason::InsufficientFunds);
        assert_eq!(DeclineReason::for_error_code("expired"), DeclineReason::ExpiredSession);
        assert_eq!(DeclineReason::for_error_code("canceled"), DeclineReason::CanceledByShopper);
        assert_eq!(DeclineReason::for_error_code("card_declined"), DeclineReason::Declined);
        assert_eq!(DeclineReason::for_error_code("tap_505"), DeclineReason::Declined);
        assert!(DeclineReason::GatewayError.retry_may_succeed());
        assert!(!DeclineReason::InsufficientFunds.retry_may_succeed());
    }

    #[test]
    fn messages_keep_the_gateway_text_and_code() {
        let r = DeclineReason::InsufficientFunds;
        assert_eq!(gateway_message(r, Some("Insufficient Funds"), Some("051")), "Insufficient Funds (051)");
        assert_eq!(gateway_message(r, Some("Insufficient Funds (051)"), Some("051")), "Insufficient Funds (051)");
        assert_eq!(gateway_message(r, Some(" x "), None), "x");
        assert_eq!(gateway_message(r, Some(""), Some("51")), format!("{} (51)", r.merchant_hint()));
        assert_eq!(gateway_message(r, None, None), r.merchant_hint());
    }

    #[test]
    fn the_iso_table_has_no_duplicates_and_unknown_codes_are_not_guessed() {
        let mut seen = std::collections::BTreeSet::new();
        for (c, _) in ISO_8583 {
            assert!(seen.insert(*c), "{c} twice");
            assert_eq!(c.len(), 2);
        }
        assert_eq!(lookup(ISO_8583, "51"), Some(DeclineReason::InsufficientFunds));
        assert_eq!(lookup(ISO_8583, "00"), None, "approved is not a decline");
        assert_eq!(lookup(ISO_8583, "zz"), None);
    }
}
