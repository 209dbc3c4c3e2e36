//! `money`: every way an amount or a currency arrives from outside. [`Currency::parse`] (intents,
//! gateway answers), [`Money::from_major_str`] (major-unit decimals from gateways), Tap's JSON
//! numbers ([`tap::from_tap_amount`]), PayPal's `{currency_code, value}`
//! ([`paypal::from_paypal_amount`]) and Stripe's lower-case currencies
//! ([`stripe::from_stripe_amount`]), on random and mutated decimals (signs, exponents, huge and
//! tiny values, Arabic digits, extra zeros).
//!
//! Rules: no panic (no overflow: amounts come from strangers); an accepted amount writes back
//! ([`Money::to_major_string`]) to text that reads back to the same amount, so nothing is
//! rounded; and any `i64` of minor units but `i64::MIN` round-trips through its major string.

use crate::input::Input;
use crate::mutate;
use crate::rng::Rng;
use bawaba_core::api::ApiError;
use bawaba_core::gateway::{paypal, stripe, tap};
use bawaba_core::money::{Currency, Money};

/// The target.
pub struct MoneyTarget;

const AMOUNTS: &[&str] = &[
    "100.50",
    "45.5",
    "1.500",
    "0",
    "7",
    "-2.50",
    "0.05",
    "10.00",
    "1.005",
    "99999999999999999999",
    "92233720368547758.07",
    "-92233720368547758.08",
    "9223372036854775807",
    "1e3",
    "1E-2",
    "4.55e1",
    ".5",
    "1.",
    "+1",
    "1,00",
    "٤٥",
    "00000000000000000001.10000000000000000000",
];

const CODES: &[&str] = &["SAR", "KWD", "JPY", "USD", "sar", "kwd", "XYZ", "SA", "SARS", "", "ر", "S\0R"];

fn check_round_trip(m: Money, what: &str) -> Result<(), String> {
    let text = m.to_major_string();
    match Money::from_major_str(&text, m.currency) {
        Ok(back) if back == m => Ok(()),
        other => Err(format!("{what} gave {m:?}, written {text:?}, which reads back as {other:?}")),
    }
}

impl super::Target for MoneyTarget {
    fn name(&self) -> String {
        "money".into()
    }

    fn about(&self) -> String {
        "Currency::parse, Money::from_major_str, Tap/PayPal/Stripe amount readers".into()
    }

    fn generate(&self, rng: &mut Rng) -> Input {
        let corpus: Vec<Vec<u8>> = AMOUNTS.iter().map(|a| a.as_bytes().to_vec()).collect();
        let amount = match rng.below(4) {
            0 => mutate::random_text(rng).into_bytes(),
            1 => rng.pick(AMOUNTS).as_bytes().to_vec(),
            _ => {
                let seed = *rng.pick(AMOUNTS);
                mutate::bytes(rng, seed.as_bytes(), &corpus)
            }
        };
        let code = if rng.one_in(4) { mutate::random_text(rng) } else { rng.pick(CODES).to_string() };
        // Tap's amount is any JSON value.
        let tap = match rng.below(3) {
            0 => serde_json::to_vec(&mutate::nasty_value(rng)).unwrap_or_default(),
            _ => amount.clone(),
        };
        Input::new()
            .with("amount", amount)
            .with("currency", code)
            .with("tap_amount", tap)
            .with_i64("minor", rng.interesting_i64())
    }

    fn execute(&self, input: &Input) -> Result<bool, String> {
        let amount = input.text("amount");
        let code = input.text("currency");
        if let Err(e) = Currency::parse(&code) {
            super::client_error(&ApiError::InvalidRequest(e.to_string()))?;
        }
        let tap_value: serde_json::Value = serde_json::from_slice(input.bytes("tap_amount"))
            .unwrap_or_else(|_| serde_json::Value::String(input.text("tap_amount")));
        let minor = input.i64("minor");
        let mut accepted = false;
        for currency in Currency::all() {
            match Money::from_major_str(&amount, currency) {
                Ok(m) => {
                    accepted = true;
                    check_round_trip(m, &format!("from_major_str({amount:?}, {currency})"))?
                }
                Err(e) => super::client_error(&ApiError::InvalidRequest(e.to_string()))?,
            }
            if let Ok(m) = tap::from_tap_amount(&tap_value, currency) {
                check_round_trip(m, &format!("from_tap_amount({tap_value}, {currency})"))?;
            }
            let pp = paypal::wire::Amount { currency_code: currency.code().to_string(), value: amount.clone() };
            if let Ok(m) = paypal::from_paypal_amount(&pp) {
                check_round_trip(m, &format!("from_paypal_amount({pp:?})"))?;
            }
            if minor != i64::MIN {
                check_round_trip(Money::new(minor, currency), "Money::new")?;
            }
            let _ = paypal::to_paypal_amount(&Money::new(minor, currency));
            let _ = tap::to_tap_amount(&Money::new(minor, currency));
        }
        let pp = paypal::wire::Amount { currency_code: code.clone(), value: amount.clone() };
        let _ = paypal::from_paypal_amount(&pp).map_err(|e| e.to_string());
        let _ = stripe::from_stripe_amount(minor, &code).map_err(|e| e.to_string());
        let _ = serde_json::from_slice::<Money>(input.bytes("tap_amount"));
        Ok(accepted)
    }
}
