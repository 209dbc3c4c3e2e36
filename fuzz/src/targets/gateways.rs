//! `gateway:<code>:webhook` and `gateway:<code>:answers`, for every gateway in
//! [`REGISTRY`] (a gateway added there is fuzzed with no change here), each configured through
//! its own `configure` with test settings ([`setting`]).
//!
//! - `webhook`: [`Gateway::verify_webhook`] and [`Gateway::build_webhook_check`] on the
//!   gateway's webhook bodies (from its unit tests), mutated as JSON and as bytes, with headers
//!   that are random, mutated, missing, or correct: the target signs as the gateway does
//!   (sandbox and Stripe HMAC headers, Tap's `hashstring` over the charge, PayTabs' HMAC over
//!   the raw body, APS's SHA over the
//!   sorted pairs as a form or JSON, Moyasar's token in the body, PayPal's five headers), so
//!   the body parsing after the signature check is reached. Rules: no panic; a refusal is a
//!   4xx as the edge maps it (signature → 401, body → 400); a correctly signed delivery is
//!   never refused for its signature.
//! - `answers`: every parser of a gateway's answers (`parse_start`, `parse_fetch` with
//!   [`check_matches`], `parse_cancel`, `parse_refund`, `parse_refund_status`, `parse_capture`,
//!   `parse_void`, `parse_auth`, `parse_check`, `parse_webhook_check`, `build_settle`) on any
//!   HTTP status and mutated bodies (APS's re-signed with the response phrase so they pass its
//!   signature check). Rules: no panic; a 5xx is never a success (a payment paid, a refund
//!   done, a page closed, credentials good, a webhook vouched for).

use super::seeds;
use crate::input::Input;
use crate::mutate;
use crate::rng::Rng;
use bawaba_core::api::ApiError;
use bawaba_core::gateway::connector::{Connector, Registration, REGISTRY};
use bawaba_core::gateway::{
    aps, check_matches, hyperpay, paypal, paytabs, sandbox, stripe, tap, CancelOutcome, CheckVerdict, HttpResponse,
    WebhookError,
};
use bawaba_core::lifecycle::parse_gateway_reference;
use bawaba_core::money::{Currency, Money};
use std::collections::BTreeMap;

/// The test value of a gateway setting: on for `SANDBOX_ENABLED`, SHA-256 for APS, a URL for
/// `*_BASE`, a test key for `*_SECRET_KEY`, `fuzz-<name>` for anything else (secrets, ids).
pub fn setting(name: &str) -> Option<String> {
    Some(match name {
        "SANDBOX_ENABLED" => "true".into(),
        "HYPERPAY_MODE" => "test".into(),
        "HYPERPAY_WEBHOOK_KEY" => "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff".into(),
        n if n.ends_with("_SHA_TYPE") => "SHA-256".into(),
        n if n.ends_with("_PROFILE_ID") => "87654".into(),
        n if n.ends_with("_BASE") => "https://fuzz.invalid/api".into(),
        n if n.ends_with("SECRET_KEY") => "sk_test_fuzz".into(),
        n => format!("fuzz-{}", n.to_ascii_lowercase()),
    })
}

fn configured(r: &Registration) -> Result<Connector, String> {
    (r.configure)(&setting, "https://edge.fuzz.invalid")
        .map_err(|e| format!("{} cannot be configured with the fuzz settings ({e}): add them to setting()", r.code))
}

/// Both targets of every registered gateway.
pub fn targets() -> Vec<Box<dyn super::Target>> {
    let mut out: Vec<Box<dyn super::Target>> = Vec::new();
    for r in REGISTRY {
        out.push(Box::new(Webhook { code: r.code, connector: configured(r) }));
        out.push(Box::new(Answers { code: r.code, connector: configured(r) }));
    }
    out
}

fn corpus(bodies: &[&str]) -> Vec<Vec<u8>> {
    bodies.iter().map(|b| b.as_bytes().to_vec()).collect()
}

fn secret(name: &str) -> String {
    setting(name).unwrap_or_default()
}

/// APS's reading of a JSON answer into string pairs, as APS signs them (payfort-php-sdk's
/// APSSignature.php): a value as its text (a string as it is, anything else as its JSON), an
/// object as `{k=v, k=v}` of its non-null entries in their order, nulls left out.
fn aps_pairs(v: &serde_json::Map<String, serde_json::Value>) -> BTreeMap<String, String> {
    let text = |v: &serde_json::Value| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
    v.iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| match v.as_object() {
            Some(o) => {
                let inner: Vec<String> =
                    o.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| format!("{k}={}", text(v))).collect();
                (k.clone(), format!("{{{}}}", inner.join(", ")))
            }
            None => (k.clone(), text(v)),
        })
        .collect()
}

/// Signs an APS JSON message with the response phrase; `None` when it is not a JSON object.
fn aps_sign_json(body: &[u8]) -> Option<serde_json::Map<String, serde_json::Value>> {
    let mut obj = serde_json::from_slice::<serde_json::Value>(body).ok()?.as_object()?.clone();
    obj.remove("signature");
    let s = aps::sign(&aps_pairs(&obj), &secret("APS_SHA_RESPONSE_PHRASE"), aps::ShaType::Sha256);
    obj.insert("signature".into(), s.into());
    Some(obj)
}

fn form_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            b' ' => "+".into(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

const HEADER_NAMES: &[&str] = &[
    sandbox::webhook::HEADER,
    tap::webhook::HEADER,
    paytabs::webhook::HEADER,
    stripe::webhook::HEADER,
    "Bawaba-Signature",
    paypal::webhook::TRANSMISSION_ID,
    paypal::webhook::TRANSMISSION_TIME,
    paypal::webhook::TRANSMISSION_SIG,
    paypal::webhook::CERT_URL,
    paypal::webhook::AUTH_ALGO,
    "Content-Type",
];

const CERT_URLS: &[&str] = &[
    "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270",
    "https://api.paypal.com/v1/notifications/certs/CERT-1",
    "https://paypal.com",
    "http://api.paypal.com/cert",
    "https://paypal.com.evil.example/c",
    "https://x@api.paypal.com/c",
    "https://api.paypal.com:443/c",
    "https://API.PAYPAL.COM/c",
];

/// A gateway's webhook target.
pub struct Webhook {
    code: &'static str,
    connector: Result<Connector, String>,
}

impl Webhook {
    /// Signs `body` as the gateway would; the headers to send and whether a verifier must accept
    /// the signature (when nothing is mutated afterwards).
    fn sign(&self, rng: &mut Rng, body: &mut Vec<u8>, t: i64, headers: &mut Vec<(String, Vec<u8>)>) -> bool {
        match self.code {
            "sandbox" => {
                let key = secret("SANDBOX_WEBHOOK_SECRET");
                headers.push((sandbox::webhook::HEADER.into(), sandbox::webhook::sign(key.as_bytes(), t, body).into()));
                true
            }
            "stripe" => {
                let key = secret("STRIPE_WEBHOOK_SECRET");
                headers.push((stripe::webhook::HEADER.into(), stripe::webhook::sign(&key, t, body).into()));
                true
            }
            "tap" => {
                let Ok(charge) = serde_json::from_slice::<tap::wire::Charge>(body) else { return false };
                let Ok(mut h) = tap::webhook::sign(secret("TAP_SECRET_KEY").as_bytes(), &charge) else { return false };
                if rng.one_in(4) {
                    h = format!(" {} ", h.to_ascii_uppercase());
                }
                headers.push((tap::webhook::HEADER.into(), h.into()));
                true
            }
            "paytabs" => {
                // The callback's HMAC over the raw body: any body, signed, passes the signature.
                let h = paytabs::webhook::sign(secret("PAYTABS_SERVER_KEY").as_bytes(), body);
                let h = if rng.one_in(4) { format!(" {} ", h.to_ascii_uppercase()) } else { h };
                headers.push((paytabs::webhook::HEADER.into(), h.into()));
                true
            }
            "moyasar" => {
                if let Ok(serde_json::Value::Object(mut o)) = serde_json::from_slice(body) {
                    o.insert("secret_token".into(), secret("MOYASAR_WEBHOOK_SECRET").into());
                    *body = serde_json::to_vec(&o).unwrap_or_default();
                }
                // An unreadable body is refused as unauthenticated by design: no promise here.
                false
            }
            "aps" => {
                let Some(signed) = aps_sign_json(body) else { return false };
                *body = if rng.one_in(2) {
                    serde_json::to_vec(&signed).unwrap_or_default()
                } else {
                    let pairs = aps_pairs(&signed);
                    let form: Vec<String> =
                        pairs.iter().map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v))).collect();
                    form.join("&").into_bytes()
                };
                true
            }
            "paypal" => {
                let lower = rng.one_in(3);
                let name = |n: &str| if lower { n.to_ascii_lowercase() } else { n.to_string() };
                let cert = *rng.pick(CERT_URLS);
                for (n, v) in [
                    (paypal::webhook::TRANSMISSION_ID, "69cd13f0-d67a-11e5-baa3-778b53f4ae55"),
                    (paypal::webhook::TRANSMISSION_TIME, "2026-12-02T01:50:00Z"),
                    (
                        paypal::webhook::TRANSMISSION_SIG,
                        "lmI95Jx3Y9nhR5SJWlHVIWpg4AgFk7n9bCHSRxbrd8A9zrhdu2rMyFrmz+Zjh3s3==",
                    ),
                    (paypal::webhook::CERT_URL, cert),
                    (paypal::webhook::AUTH_ALGO, "SHA256withRSA"),
                ] {
                    headers.push((name(n), v.as_bytes().to_vec()));
                }
                paypal::webhook::is_paypal_https(cert)
            }
            "hyperpay" => {
                // HyperPay encrypts the delivery: the body becomes the hex ciphertext of the
                // (mutated) plaintext, the IV and the tag go in headers.
                let Ok(key) = hyperpay::webhook::parse_key(&secret("HYPERPAY_WEBHOOK_KEY")) else { return false };
                let iv: [u8; 12] = std::array::from_fn(|_| rng.next_u64() as u8);
                let (iv, tag, hex_body) = hyperpay::webhook::encrypt(&key, &iv, body);
                *body = if rng.one_in(3) {
                    serde_json::json!({ "encryptedBody": hex_body }).to_string().into_bytes()
                } else {
                    hex_body.into_bytes()
                };
                headers.push((hyperpay::webhook::IV_HEADER.into(), iv.into()));
                headers.push((hyperpay::webhook::TAG_HEADER.into(), tag.into()));
                true
            }
            // A gateway this table does not know yet: random headers only.
            _ => false,
        }
    }
}

impl super::Target for Webhook {
    fn name(&self) -> String {
        format!("gateway:{}:webhook", self.code)
    }

    fn about(&self) -> String {
        format!("{}: verify_webhook, build_webhook_check on signed and mutated deliveries", self.code)
    }

    fn generate(&self, rng: &mut Rng) -> Input {
        let bodies = seeds::webhooks(self.code);
        let corpus = corpus(&bodies);
        let seed = *rng.pick(&bodies);
        let mut body =
            if rng.one_in(5) { seed.as_bytes().to_vec() } else { mutate::any(rng, seed.as_bytes(), &corpus) };
        let t = if rng.one_in(8) { rng.interesting_i64() } else { 1_800_000_000 + rng.below(1000) as i64 };
        let now = if rng.one_in(4) { rng.interesting_i64() } else { t.wrapping_add(rng.below(601) as i64 - 300) };
        let mut headers = Vec::new();
        let mut promise = false;
        if self.code == "stripe" && rng.one_in(6) {
            // stripe-python's own headers (another secret: refused, but read the way Stripe's are).
            let cases = seeds::cases(seeds::STRIPE_SIGNATURES);
            let case = &cases[rng.below(cases.len())];
            body = case["body"].as_str().unwrap_or("").as_bytes().to_vec();
            let h = case["header"].as_str().unwrap_or("").as_bytes().to_vec();
            headers.push((stripe::webhook::HEADER.into(), if rng.one_in(2) { h } else { mutate::bytes(rng, &h, &[]) }));
        } else if rng.below(4) != 0 {
            promise = self.sign(rng, &mut body, t, &mut headers);
        }
        if rng.one_in(6) {
            body = mutate::bytes(rng, &body, &corpus);
            promise = false;
        }
        if rng.one_in(5) {
            // A header mutated, added, or dropped.
            match (rng.below(3), headers.is_empty()) {
                (0, false) => {
                    let i = rng.below(headers.len());
                    headers[i].1 = mutate::bytes(rng, &headers[i].1.clone(), &[]);
                }
                (1, false) => {
                    headers.remove(rng.below(headers.len()));
                }
                _ => {
                    let name = *rng.pick(HEADER_NAMES);
                    headers.push((name.into(), mutate::random_text(rng).into_bytes()));
                }
            }
            promise = false;
        }
        let mut input = Input::new()
            .with("body", body)
            .with_i64("now", now)
            .with_i64("t", t)
            .with("signed", if promise && now.abs_diff(t) <= 300 { "1" } else { "0" });
        for (name, value) in headers {
            input = input.with(format!("header:{name}"), value);
        }
        input
    }

    fn execute(&self, input: &Input) -> Result<bool, String> {
        let connector = self.connector.as_ref().map_err(Clone::clone)?;
        let header = |name: &str| input.header(name);
        let body = input.bytes("body");
        let verdict = connector.verify_webhook(&header, body, input.i64("now"));
        let _ = connector.build_webhook_check(&header, body);
        match verdict {
            Ok(hint) => {
                // The edge looks payments up by the echoed reference.
                if let Some(r) = hint.reference.as_deref() {
                    let _ = parse_gateway_reference(r);
                }
                Ok(true)
            }
            Err(WebhookError::Signature(s)) => {
                if input.bytes("signed") == b"1" {
                    return Err(format!("a delivery signed as {} signs was refused: {s:?}", self.code));
                }
                let message = s.describe_webhook(self.code);
                super::client_error(&ApiError::Unauthorized { code: s.code().into(), message }).map(|()| false)
            }
            Err(WebhookError::Body(why)) => super::client_error(&ApiError::InvalidRequest(why)).map(|()| false),
        }
    }
}

/// A gateway's answers target.
pub struct Answers {
    code: &'static str,
    connector: Result<Connector, String>,
}

/// The parsers, the status check (which decides payments) and refunds weighted up.
const OPS: &[&str] = &[
    "fetch",
    "fetch",
    "fetch",
    "refund",
    "refund",
    "start",
    "fetch",
    "cancel",
    "refund",
    "refund_status",
    "capture",
    "void",
    "auth",
    "check",
    "webhook_check",
    "settle",
];

const STATUSES: &[u16] = &[200, 200, 200, 201, 204, 301, 400, 401, 403, 404, 405, 409, 422, 429, 500, 502, 503, 504];

impl super::Target for Answers {
    fn name(&self) -> String {
        format!("gateway:{}:answers", self.code)
    }

    fn about(&self) -> String {
        format!("{}: every parse_* of its answers, any status, mutated bodies", self.code)
    }

    fn generate(&self, rng: &mut Rng) -> Input {
        let bodies = seeds::answers(self.code);
        let corpus = corpus(&bodies);
        let seed = *rng.pick(&bodies);
        let mut body =
            if rng.one_in(6) { seed.as_bytes().to_vec() } else { mutate::any(rng, seed.as_bytes(), &corpus) };
        if self.code == "aps" && rng.below(4) != 0 {
            if let Some(signed) = aps_sign_json(&body) {
                body = serde_json::to_vec(&signed).unwrap_or_default();
            }
        }
        let status = match rng.below(10) {
            0 => rng.next_u64() as u16,
            1..=4 => 200,
            _ => *rng.pick(STATUSES),
        };
        let currencies: Vec<Currency> = Currency::all().collect();
        let currency = *rng.pick(&currencies);
        let minor = if rng.one_in(3) { rng.interesting_i64() } else { 4550 };
        let check_currency = match rng.below(3) {
            0 => None,
            1 => Some(currency.code().to_string()),
            _ => Some(mutate::random_text(rng)),
        };
        let mut input = Input::new()
            .with("op", *rng.pick(OPS))
            .with_i64("status", i64::from(status))
            .with("body", body)
            .with("currency", currency.code())
            .with_i64("minor", minor);
        if let Some(c) = check_currency {
            input = input.with("check_currency", c);
        }
        input
    }

    fn execute(&self, input: &Input) -> Result<bool, String> {
        let c = self.connector.as_ref().map_err(Clone::clone)?;
        let status = u16::try_from(input.i64("status")).unwrap_or(0);
        let resp = HttpResponse { status, body: input.bytes("body").to_vec() };
        let currency = Currency::parse(&input.text("currency")).map_err(|e| e.to_string())?;
        let money = Money::new(input.i64("minor"), currency);
        let server_error = (500..=599).contains(&status);
        let op = input.text("op");
        let success = match op.as_str() {
            "start" => c.parse_start(&resp).map(|s| format!("{s:?}")).is_ok(),
            "fetch" => match c.parse_fetch(&resp, &money) {
                Ok(p) => {
                    let reference = c.expected_reference("demo:S1", &p.id);
                    let _ = check_matches(&p, &money, &reference).map_err(|e| e.to_string());
                    let _ = parse_gateway_reference(&p.reference);
                    true
                }
                Err(e) => {
                    let _ = (e.to_string(), e.is_outage());
                    false
                }
            },
            "cancel" => c.parse_cancel(&resp) == CancelOutcome::Closed,
            "refund" => c.parse_refund(&resp, money).is_ok(),
            "refund_status" => c.parse_refund_status(&resp, money).is_ok(),
            "capture" => c.parse_capture(&resp, money).is_ok(),
            "void" => c.parse_void(&resp, money).is_ok(),
            "auth" => c.parse_auth(&resp).is_ok(),
            "check" => c.parse_check(&resp, input.opt_text("check_currency").as_deref()).0 == CheckVerdict::Ok,
            // Only gateways that vouch for webhooks by a call (PayPal) read its answer.
            "webhook_check" => {
                c.build_webhook_check(&|_| None, b"{}").is_some() && c.parse_webhook_check(&resp).is_ok()
            }
            "settle" => c.build_settle("5O190127TN364715T", &resp).is_some(),
            other => return Err(format!("unknown op {other}")),
        };
        if server_error && success {
            return Err(format!("{} {op}: an HTTP {status} answer was taken as a success", self.code));
        }
        Ok(success)
    }
}
