//! Saudi mobile numbers, as STC Pay takes them: the widget checks what the shopper typed before
//! any call, and the edge checks again before a gateway sees it.
//!
//! Shoppers type their number in many ways: `0551234567`, `55 123 4567`, `+966 55 123 4567`,
//! `00966551234567`, and on Arabic keyboards in Arabic-Indic digits (`٠٥٥١٢٣٤٥٦٧`). All of them
//! are one number, kept in the national form `05XXXXXXXX` that Moyasar's STC Pay source asks
//! for (docs.moyasar.com, STC Pay custom UI: "starting with 05").

use std::fmt;

/// A valid Saudi mobile number, in the national form `05XXXXXXXX`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaudiMobile(String);

/// Why a number was refused (the widget tells the shopper; the edge answers `mobile_invalid`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MobileError {
    /// Nothing was typed.
    Empty,
    /// Something other than digits, spaces, dashes, dots, brackets and one leading `+`.
    NotANumber,
    /// Digits, but not a Saudi mobile number (`05` and eight digits; `052…` is not allocated).
    NotSaudiMobile,
}

impl fmt::Display for MobileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MobileError::Empty => "the mobile number is empty",
            MobileError::NotANumber => "the mobile number may hold only digits, spaces and dashes",
            MobileError::NotSaudiMobile => "not a Saudi mobile number: 05 and eight digits, e.g. 0551234567",
        })
    }
}

impl SaudiMobile {
    /// Reads a number as a shopper typed it.
    pub fn parse(typed: &str) -> Result<SaudiMobile, MobileError> {
        let mut digits = String::new();
        let mut plus = false;
        for c in typed.trim().chars() {
            match c {
                ' ' | '-' | '.' | '(' | ')' | '\u{a0}' => {}
                '+' if digits.is_empty() && !plus => plus = true,
                _ => digits.push(ascii_digit(c).ok_or(MobileError::NotANumber)?),
            }
        }
        if digits.is_empty() {
            return Err(if plus { MobileError::NotANumber } else { MobileError::Empty });
        }
        let national = if let Some(rest) = digits.strip_prefix("00966") {
            rest
        } else if let Some(rest) = digits.strip_prefix("966") {
            rest
        } else if plus {
            return Err(MobileError::NotSaudiMobile);
        } else {
            digits.strip_prefix('0').unwrap_or(&digits)
        };
        // What is left is the subscriber number: 5, the operator digit, seven digits.
        let b = national.as_bytes();
        let valid = b.len() == 9 && b[0] == b'5' && b[1] != b'2';
        if !valid {
            return Err(MobileError::NotSaudiMobile);
        }
        // Built by hand, not with `format!`: the widget links this and every KB is downloaded.
        let mut out = String::with_capacity(10);
        out.push('0');
        out.push_str(national);
        Ok(SaudiMobile(out))
    }

    /// `05XXXXXXXX`.
    pub fn national(&self) -> &str {
        &self.0
    }

    /// The nine digits after the country code (`5XXXXXXXX`), as Tap's `phone.number` takes them.
    pub fn subscriber(&self) -> &str {
        &self.0[1..]
    }
}

/// An ASCII digit for a Latin, Arabic-Indic (U+0660…) or Eastern Arabic-Indic (U+06F0…) digit.
pub fn ascii_digit(c: char) -> Option<char> {
    let offset = match c {
        '0'..='9' => c as u32 - '0' as u32,
        '\u{660}'..='\u{669}' => c as u32 - 0x660,
        '\u{6f0}'..='\u{6f9}' => c as u32 - 0x6f0,
        _ => return None,
    };
    char::from_digit(offset, 10)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_way_of_typing_one_number_is_that_number() {
        for typed in [
            "0551234567",
            "551234567",
            "055 123 4567",
            "055-123-4567",
            "+966551234567",
            "+966 55 123 4567",
            "00966551234567",
            "966551234567",
            "(055) 123-4567",
            "٠٥٥١٢٣٤٥٦٧",
            "۰۵۵۱۲۳۴۵۶۷",
            " 0551234567 ",
        ] {
            assert_eq!(SaudiMobile::parse(typed).map(|m| m.national().to_string()), Ok("0551234567".into()), "{typed}");
        }
        assert_eq!(SaudiMobile::parse("0551234567").unwrap().subscriber(), "551234567");
    }

    #[test]
    fn what_is_not_a_saudi_mobile_is_refused_with_the_reason() {
        assert_eq!(SaudiMobile::parse(""), Err(MobileError::Empty));
        assert_eq!(SaudiMobile::parse("   "), Err(MobileError::Empty));
        assert_eq!(SaudiMobile::parse("05512a4567"), Err(MobileError::NotANumber));
        assert_eq!(SaudiMobile::parse("+"), Err(MobileError::NotANumber));
        assert_eq!(SaudiMobile::parse("++966551234567"), Err(MobileError::NotANumber));
        assert_eq!(SaudiMobile::parse("05512345"), Err(MobileError::NotSaudiMobile));
        assert_eq!(SaudiMobile::parse("05512345678"), Err(MobileError::NotSaudiMobile));
        assert_eq!(SaudiMobile::parse("0112345678"), Err(MobileError::NotSaudiMobile), "a landline");
        assert_eq!(SaudiMobile::parse("0521234567"), Err(MobileError::NotSaudiMobile), "052 is not allocated");
        assert_eq!(SaudiMobile::parse("+971551234567"), Err(MobileError::NotSaudiMobile), "the UAE");
        assert_eq!(SaudiMobile::parse("9660551234567"), Err(MobileError::NotSaudiMobile));
    }

    proptest! {
        /// Whatever is typed, a number comes out in the one form, and reading it again is the same.
        #[test]
        fn a_parsed_number_is_national_and_stable(typed in "[+]?[0-9 ٠-٩()-]{0,16}") {
            if let Ok(m) = SaudiMobile::parse(&typed) {
                let n = m.national();
                prop_assert!(n.len() == 10 && n.starts_with("05") && n.bytes().all(|b| b.is_ascii_digit()));
                prop_assert_eq!(SaudiMobile::parse(n), Ok(m.clone()));
            }
        }

        /// Every national number 05[013-9]XXXXXXX is accepted in each of its written forms.
        #[test]
        fn every_saudi_mobile_is_accepted(operator in "[013-9]", rest in "[0-9]{7}") {
            let national = format!("05{operator}{rest}");
            for typed in [national.clone(), format!("+966{}", &national[1..]), format!("00966{}", &national[1..])] {
                prop_assert_eq!(SaudiMobile::parse(&typed).map(|m| m.national().to_string()), Ok(national.clone()));
            }
        }
    }
}
