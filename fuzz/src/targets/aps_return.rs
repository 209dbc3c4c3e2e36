//! `aps-return`: APS's form encoding, as its hosted page posts the shopper back and as its
//! transaction feedback arrives: [`aps::url_decode_pairs`] (`+`, `%XX`, truncated and invalid
//! escapes, repeated keys, non-UTF-8 bytes) and [`aps::verify`] (the SHA-256/SHA-512 signature
//! over the sorted pairs) on forms signed with the response phrase, mutated before or after
//! signing.
//!
//! Rules: no panic; a form whose `signature` is the APS signature of its other pairs verifies
//! (in either hex case); a form with another signature does not.

use crate::input::Input;
use crate::mutate;
use crate::rng::Rng;
use bawaba_core::gateway::aps::{self, Config, ShaType};
use bawaba_core::secret::Secret;
use std::collections::BTreeMap;

/// The target.
pub struct ApsReturn;

const PHRASE: &str = "fuzz-response-phrase";

fn cfg(sha: ShaType) -> Config {
    Config {
        merchant_identifier: "MERCH".into(),
        access_code: Secret::new("ACCESS"),
        request_phrase: Secret::new("fuzz-request-phrase"),
        response_phrase: Secret::new(PHRASE),
        sha_type: sha,
        page_base: "https://sbcheckout.payfort.com".into(),
        api_base: "https://sbpaymentservices.payfort.com".into(),
    }
}

const FORMS: &[&str] = &[
    "merchant_reference=bw-9&status=14&response_code=14000&response_message=Success&amount=4550&currency=SAR&fort_id=169&command=PURCHASE",
    "merchant_reference=bw-9&status=13&response_message=Transaction+declined&customer_email=a%40b.c",
    "merchant_reference=bw%2D9&status=14&card_number=446404%2A%2A%2A%2A%2A%2A0007&customer_name=%D9%86%D9%88%D8%B1%D8%A9",
];

/// Encodes a value the way a browser posts a form (spaces as `+`, the rest as `%XX`).
fn form_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => (b as char).to_string(),
            b' ' => "+".into(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl super::Target for ApsReturn {
    fn name(&self) -> String {
        "aps-return".into()
    }

    fn about(&self) -> String {
        "APS form: aps::url_decode_pairs and aps::verify on signed, mutated forms".into()
    }

    fn generate(&self, rng: &mut Rng) -> Input {
        let corpus: Vec<Vec<u8>> = FORMS.iter().map(|f| f.as_bytes().to_vec()).collect();
        let seed = *rng.pick(FORMS);
        let form = if rng.one_in(3) { seed.as_bytes().to_vec() } else { mutate::bytes(rng, seed.as_bytes(), &corpus) };
        let sha = if rng.one_in(2) { "256" } else { "512" };
        let mut form = String::from_utf8_lossy(&form).into_owned();
        let signed = rng.below(4) != 0;
        if signed {
            // Sign what the form decodes to, as APS would have.
            let pairs = aps::url_decode_pairs(&form);
            let sha_type = if sha == "256" { ShaType::Sha256 } else { ShaType::Sha512 };
            let mut signature = aps::sign(&pairs, PHRASE, sha_type);
            if rng.one_in(4) {
                signature = signature.to_ascii_uppercase();
            }
            form = format!("{form}&signature={}", form_encode(&signature));
        }
        let mut bytes = form.into_bytes();
        let tampered = rng.one_in(4);
        if tampered {
            bytes = mutate::bytes(rng, &bytes, &corpus);
        }
        Input::new().with("form", bytes).with("sha", sha).with("signed", if signed && !tampered { "1" } else { "0" })
    }

    fn execute(&self, input: &Input) -> Result<bool, String> {
        let form = input.text("form");
        let sha = if input.bytes("sha") == b"256" { ShaType::Sha256 } else { ShaType::Sha512 };
        let cfg = cfg(sha);
        let pairs: BTreeMap<String, String> = aps::url_decode_pairs(&form);
        let verdict = aps::verify(&pairs, &cfg);
        let _ = aps::verify_webhook(&cfg, form.as_bytes());
        if input.bytes("signed") == b"1" {
            // The signature pair is the last one; a key repeated after it would change the pairs.
            let last_is_signature = form.rsplit('&').next().is_some_and(|p| p.starts_with("signature="));
            let repeated =
                form.split('&').filter(|p| p.split_once('=').is_some_and(|(k, _)| k == "signature")).count() > 1;
            if last_is_signature && !repeated && verdict.is_err() {
                return Err(format!("a correctly signed APS form was refused: {verdict:?}"));
            }
        }
        // The same pairs with one more wrong signature never verify.
        let mut forged = pairs.clone();
        forged.insert("signature".into(), "00".repeat(32));
        if aps::verify(&forged, &cfg).is_ok() {
            return Err("a forged APS signature verified".into());
        }
        Ok(verdict.is_ok())
    }
}
