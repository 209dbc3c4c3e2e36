//! Money: integer minor units plus an ISO 4217 currency with its exponent.
//!
//! Every amount in Bawaba is an `i64` count of the currency's minor unit (halalas for SAR,
//! fils for KWD). Gateways that want major decimals get them through [`Money::to_major_string`],
//! and amounts coming back are parsed with [`Money::from_major_str`], which refuses anything
//! that would need rounding: a silent rounding is how an order ends up "paid" for the wrong sum.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An ISO 4217 currency that Bawaba knows the exponent of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency {
    code: [u8; 3],
    exponent: u8,
}

/// ISO 4217 codes and minor-unit exponents for the currencies a Gulf shop may price in.
/// A code missing here is refused as `currency_unsupported`, never guessed.
const CURRENCIES: &[(&str, u8)] = &[
    ("SAR", 2),
    ("AED", 2),
    ("QAR", 2),
    ("EGP", 2),
    ("USD", 2),
    ("EUR", 2),
    ("GBP", 2),
    ("KWD", 3),
    ("BHD", 3),
    ("OMR", 3),
    ("JOD", 3),
    ("JPY", 0),
];

/// Why a currency or an amount was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MoneyError {
    /// The currency code is not in the exponent table.
    UnknownCurrency(String),
    /// The amount text is not a plain decimal number.
    Malformed(String),
    /// The amount has more decimals than the currency allows: it would need rounding.
    TooPrecise {
        /// The text that was refused.
        amount: String,
        /// The currency's number of decimals.
        exponent: u8,
    },
    /// The amount does not fit in an `i64` of minor units.
    Overflow,
}

impl fmt::Display for MoneyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MoneyError::UnknownCurrency(c) => write!(f, "currency {c:?} is not supported"),
            MoneyError::Malformed(a) => write!(f, "amount {a:?} is not a decimal number"),
            MoneyError::TooPrecise { amount, exponent } => {
                write!(f, "amount {amount:?} has more than {exponent} decimals")
            }
            MoneyError::Overflow => f.write_str("amount is too large"),
        }
    }
}

impl std::error::Error for MoneyError {}

impl Currency {
    /// Looks up an ISO 4217 code (upper case, as the standard writes it).
    pub fn parse(code: &str) -> Result<Self, MoneyError> {
        CURRENCIES
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(c, e)| {
                let b = c.as_bytes();
                Currency { code: [b[0], b[1], b[2]], exponent: *e }
            })
            .ok_or_else(|| MoneyError::UnknownCurrency(code.to_string()))
    }

    /// Every currency in the exponent table.
    pub fn all() -> impl Iterator<Item = Currency> {
        CURRENCIES.iter().map(|(code, _)| Currency::parse(code).expect("the table's own codes parse"))
    }

    /// The three-letter code.
    pub fn code(&self) -> &str {
        std::str::from_utf8(&self.code).expect("codes in the table are ASCII")
    }

    /// Number of decimals of the minor unit (2 for SAR, 3 for KWD, 0 for JPY).
    pub fn exponent(&self) -> u8 {
        self.exponent
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl TryFrom<String> for Currency {
    type Error = MoneyError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Currency::parse(&s)
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> String {
        c.code().to_string()
    }
}

/// An amount in minor units of a currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    /// Count of minor units (halalas, fils, cents).
    pub minor: i64,
    /// The currency.
    pub currency: Currency,
}

impl Money {
    /// An amount of `minor` units of `currency`.
    pub fn new(minor: i64, currency: Currency) -> Self {
        Money { minor, currency }
    }

    /// The amount as a major-unit decimal string with exactly the currency's decimals:
    /// 10050 SAR → "100.50", 1500 KWD → "1.500", 7 JPY → "7".
    pub fn to_major_string(&self) -> String {
        let exp = self.currency.exponent as u32;
        let sign = if self.minor < 0 { "-" } else { "" };
        let abs = self.minor.unsigned_abs();
        if exp == 0 {
            return format!("{sign}{abs}");
        }
        let scale = 10u64.pow(exp);
        format!("{sign}{}.{:0width$}", abs / scale, abs % scale, width = exp as usize)
    }

    /// Parses a major-unit decimal ("100.5", "100.50", "1.500") into minor units.
    /// Refuses more decimals than the currency has, unless the extra digits are zeros.
    pub fn from_major_str(text: &str, currency: Currency) -> Result<Self, MoneyError> {
        let malformed = || MoneyError::Malformed(text.to_string());
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (int_part, frac_part) = match digits.split_once('.') {
            Some((i, f)) => (i, f),
            None => (digits, ""),
        };
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if int_part.is_empty() || !all_digits(int_part) || !all_digits(frac_part) {
            return Err(malformed());
        }
        if digits.contains('.') && frac_part.is_empty() {
            return Err(malformed());
        }
        let exp = currency.exponent as usize;
        let significant = frac_part.trim_end_matches('0');
        if significant.len() > exp {
            return Err(MoneyError::TooPrecise { amount: text.to_string(), exponent: currency.exponent });
        }
        let mut minor: i64 = int_part.parse().map_err(|_| MoneyError::Overflow)?;
        minor = minor.checked_mul(10i64.pow(exp as u32)).ok_or(MoneyError::Overflow)?;
        if !significant.is_empty() {
            let padded = format!("{significant:0<exp$}");
            let frac: i64 = padded.parse().map_err(|_| malformed())?;
            minor = minor.checked_add(frac).ok_or(MoneyError::Overflow)?;
        }
        Ok(Money { minor: if negative { -minor } else { minor }, currency })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cur(c: &str) -> Currency {
        Currency::parse(c).unwrap()
    }

    #[test]
    fn exponents_follow_iso_4217() {
        assert_eq!(cur("SAR").exponent(), 2);
        assert_eq!(cur("KWD").exponent(), 3);
        assert_eq!(cur("JPY").exponent(), 0);
        assert!(matches!(Currency::parse("XYZ"), Err(MoneyError::UnknownCurrency(_))));
        assert!(Currency::parse("sar").is_err(), "codes are upper case");
    }

    #[test]
    fn formats_major_units_with_the_currency_decimals() {
        assert_eq!(Money::new(10050, cur("SAR")).to_major_string(), "100.50");
        assert_eq!(Money::new(5, cur("SAR")).to_major_string(), "0.05");
        assert_eq!(Money::new(1500, cur("KWD")).to_major_string(), "1.500");
        assert_eq!(Money::new(7, cur("JPY")).to_major_string(), "7");
        assert_eq!(Money::new(-250, cur("SAR")).to_major_string(), "-2.50");
    }

    #[test]
    fn parses_major_units_without_rounding() {
        assert_eq!(Money::from_major_str("100.5", cur("SAR")).unwrap().minor, 10050);
        assert_eq!(Money::from_major_str("100.500", cur("SAR")).unwrap().minor, 10050);
        assert_eq!(Money::from_major_str("1.234", cur("KWD")).unwrap().minor, 1234);
        assert_eq!(Money::from_major_str("12", cur("JPY")).unwrap().minor, 12);
        assert!(matches!(Money::from_major_str("1.005", cur("SAR")), Err(MoneyError::TooPrecise { .. })));
        for bad in ["", ".5", "1.", "1,00", "abc", "1e3", "+1", "1.2.3"] {
            assert!(Money::from_major_str(bad, cur("SAR")).is_err(), "{bad:?} must be refused");
        }
        assert_eq!(Money::from_major_str("99999999999999999999", cur("SAR")), Err(MoneyError::Overflow));
    }

    #[test]
    fn round_trips_every_exponent() {
        for (code, _) in CURRENCIES {
            for minor in [0, 1, 9, 10, 99, 100, 12345, 987654321] {
                let m = Money::new(minor, cur(code));
                assert_eq!(Money::from_major_str(&m.to_major_string(), m.currency), Ok(m));
            }
        }
    }
}
