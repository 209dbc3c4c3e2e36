//! Payment methods a shopper can choose, and the order they are shown in.

use serde::{Deserialize, Serialize};

/// A payment method code, as used in intents (`methods`), in `/v1/methods` and in
/// notifications. Codes are lower case and stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PaymentMethod {
    /// mada, the Saudi debit scheme: sale only (no authorize-then-capture), 3-D Secure always.
    Mada,
    /// Visa credit and debit cards.
    Visa,
    /// Mastercard credit and debit cards.
    Mastercard,
    /// American Express.
    Amex,
    /// Apple Pay.
    Applepay,
    /// STC Pay wallet.
    Stcpay,
    /// PayPal (the shopper's PayPal account, on PayPal's page). Not a card and not SAR-limited:
    /// PayPal itself does not take SAR (its gateway's capabilities say which currencies it takes).
    Paypal,
}

impl PaymentMethod {
    /// Every method, in the order a Saudi checkout shows them: mada first, as shoppers
    /// expect and as the schemes' rules ask.
    pub const DISPLAY_ORDER: [PaymentMethod; 7] = [
        PaymentMethod::Mada,
        PaymentMethod::Applepay,
        PaymentMethod::Visa,
        PaymentMethod::Mastercard,
        PaymentMethod::Amex,
        PaymentMethod::Paypal,
        PaymentMethod::Stcpay,
    ];

    /// The stable code ("mada", "visa", ...).
    pub fn code(self) -> &'static str {
        match self {
            PaymentMethod::Mada => "mada",
            PaymentMethod::Visa => "visa",
            PaymentMethod::Mastercard => "mastercard",
            PaymentMethod::Amex => "amex",
            PaymentMethod::Applepay => "applepay",
            PaymentMethod::Stcpay => "stcpay",
            PaymentMethod::Paypal => "paypal",
        }
    }

    /// Parses a code; `None` for anything unknown.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::DISPLAY_ORDER.into_iter().find(|m| m.code() == code)
    }

    /// Position in [`Self::DISPLAY_ORDER`].
    pub fn display_rank(self) -> usize {
        Self::DISPLAY_ORDER.iter().position(|m| *m == self).expect("every method is listed")
    }

    /// The currencies the method itself is limited to, whatever the gateway: mada and STC Pay
    /// are Saudi schemes that settle in SAR only.
    pub fn only_currencies(self) -> Option<&'static [&'static str]> {
        match self {
            PaymentMethod::Mada | PaymentMethod::Stcpay => Some(&["SAR"]),
            _ => None,
        }
    }

    /// Whether the method is a card typed on a hosted page.
    pub fn is_card(self) -> bool {
        matches!(self, PaymentMethod::Mada | PaymentMethod::Visa | PaymentMethod::Mastercard | PaymentMethod::Amex)
    }

    /// Whether this method is what a page's choice asks for: its own code, or `card` for any
    /// international card brand (a shop's "Card" option; the gateway's page takes any brand and
    /// reports the one paid with). mada is not a `card`: it is routed and priced on its own.
    pub fn answers(self, choice: &str) -> bool {
        self.code() == choice
            || (choice == "card"
                && matches!(self, PaymentMethod::Visa | PaymentMethod::Mastercard | PaymentMethod::Amex))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_is_any_international_brand_and_nothing_else() {
        let card: Vec<_> = PaymentMethod::DISPLAY_ORDER.into_iter().filter(|m| m.answers("card")).collect();
        assert_eq!(card, [PaymentMethod::Visa, PaymentMethod::Mastercard, PaymentMethod::Amex]);
        assert!(PaymentMethod::Mada.answers("mada"));
        assert!(!PaymentMethod::Mada.answers("visa"));
        assert!(!PaymentMethod::Visa.answers("cards"));
    }

    #[test]
    fn codes_round_trip_and_mada_comes_first() {
        for m in PaymentMethod::DISPLAY_ORDER {
            assert_eq!(PaymentMethod::from_code(m.code()), Some(m));
            assert_eq!(serde_json::to_string(&m).unwrap(), format!("\"{}\"", m.code()));
        }
        assert_eq!(PaymentMethod::DISPLAY_ORDER[0], PaymentMethod::Mada);
        assert_eq!(PaymentMethod::from_code("bitcoin"), None);
    }

    #[test]
    fn paypal_comes_after_the_cards_and_is_neither_a_card_nor_sar_only() {
        let p = PaymentMethod::from_code("paypal").unwrap();
        assert_eq!(p, PaymentMethod::Paypal);
        assert!(p.display_rank() > PaymentMethod::Amex.display_rank());
        assert!(!p.is_card() && !p.answers("card"));
        assert_eq!(p.only_currencies(), None);
    }
}
