//! `sandbox-page`: the sandbox gateway's own server side, which the edge hosts when
//! `SANDBOX_ENABLED` is on: the `POST /sandbox/api/payments` body ([`CreatePayment`] into
//! [`server::create`]), the hosted page's card and 3-D Secure forms ([`server::submit_card`],
//! [`server::submit_challenge`], [`server::cancel`]), refunds of any amount, and the pages
//! rendered with what the merchant typed (reference, customer name, locale, return URL).
//!
//! Rules: no panic (no overflow in refunds); a refund never takes the refunded total past the
//! amount; the pages never carry the typed text unescaped (no HTML injection into a card page).

use crate::input::Input;
use crate::mutate;
use crate::rng::Rng;
use bawaba_core::gateway::sandbox::server::{self, CardForm};
use bawaba_core::gateway::sandbox::wire::CreatePayment;

/// The target.
pub struct SandboxPage;

const CREATE: &str = r#"{"reference":"demo:S1","amount":10050,"currency":"SAR","method":"mada","return_url":"http://edge/v1/return/sandbox/s1","webhook_url":"http://edge/v1/webhooks/sandbox","locale":"ar","customer_name":"Noura"}"#;
const NUMBERS: &[&str] = &[
    "4464 0400 0000 0007",
    "4111-1111-1111-1111",
    "5555555555554444",
    "4000000000000002",
    "4000000000009995",
    "4000 0000 0000 3220",
    "٤٤٦٤٠٤٠٠٠٠٠٠٠٠٠٧",
];
const MARK: &str = "<b id=fuzz-injected>";

impl super::Target for SandboxPage {
    fn name(&self) -> String {
        "sandbox-page".into()
    }

    fn about(&self) -> String {
        "sandbox server: create, card/3DS forms, refunds, rendered pages".into()
    }

    fn generate(&self, rng: &mut Rng) -> Input {
        let mut create: serde_json::Value = serde_json::from_str(CREATE).unwrap_or_default();
        if rng.one_in(3) {
            // Text the merchant chose, wherever a page might show it.
            let field = *rng.pick(&["customer_name", "reference", "locale", "return_url"]);
            create[field] = format!("{}{MARK}{}", mutate::token(rng), mutate::random_text(rng)).into();
        }
        let body = if rng.one_in(3) {
            serde_json::to_vec(&create).unwrap_or_default()
        } else {
            let m = mutate::json(rng, &create);
            serde_json::to_vec(&m).unwrap_or_default()
        };
        let corpus: Vec<Vec<u8>> = NUMBERS.iter().map(|n| n.as_bytes().to_vec()).collect();
        let number = *rng.pick(NUMBERS);
        let number = if rng.one_in(3) { mutate::bytes(rng, number.as_bytes(), &corpus) } else { number.into() };
        let expiry = *rng.pick(&["12/30", "1/99", "13/30", "00/00", "12/", "/", "12 / 2030", "١٢/٣٠"]);
        let cvc = *rng.pick(&["123", "1234", "12", "12a", "", "١٢٣"]);
        let code = if rng.one_in(2) { "123456".to_string() } else { mutate::random_text(rng) };
        let refund = if rng.one_in(3) { rng.interesting_i64() } else { rng.below(20_000) as i64 };
        Input::new()
            .with("create", body)
            .with("number", number)
            .with("expiry", expiry)
            .with("cvc", cvc)
            .with("code", code)
            .with_i64("refund", refund)
            .with("no_refund_amount", if rng.one_in(4) { "1" } else { "0" })
            .with("cancel", if rng.one_in(6) { "1" } else { "0" })
    }

    fn execute(&self, input: &Input) -> Result<bool, String> {
        let Ok(req) = serde_json::from_slice::<CreatePayment>(input.bytes("create")) else { return Ok(false) };
        let now = 1_800_000_000;
        let Ok(mut record) = server::create(req, "sbx_fuzz".into(), "http://edge/sandbox/pay", now, 1800) else {
            return Ok(false);
        };
        let form = CardForm { number: input.text("number"), expiry: input.text("expiry"), cvc: input.text("cvc") };
        let mut pages = vec![server::render_card_page(&record, Some("card_number"), now)];
        if input.bytes("cancel") == b"1" {
            server::cancel(&mut record, now);
        }
        if server::submit_card(&mut record, &form, now) == server::PageOutcome::Challenge {
            pages.push(server::render_challenge_page(&record, None, now));
            server::submit_challenge(&mut record, &input.text("code"), now);
        }
        pages.push(server::render_card_page(&record, None, now));
        let amount = (input.bytes("no_refund_amount") != b"1").then(|| input.i64("refund"));
        let before = record.payment.refunded;
        if server::refund(&mut record, amount).is_ok() {
            let p = &record.payment;
            if p.refunded > p.amount || p.refunded < before {
                return Err(format!("refund of {amount:?} left {} refunded of {}", p.refunded, p.amount));
            }
        }
        let _ = server::expire_if_due(&mut record, now + 1800);
        if pages.iter().any(|p| p.contains(MARK)) {
            return Err("a rendered sandbox page carries typed text unescaped".into());
        }
        Ok(true)
    }
}
