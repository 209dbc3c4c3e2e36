//! `signature` and `call-signature`: the `Bawaba-Signature` header, as the shop reads it on a
//! notification ([`signature::verify`]) and as the edge reads it on every shop → edge call
//! ([`signature::verify_call`]: refunds, captures, voids, `/v1/check`, `/v1/deliveries`).
//! Inputs: the vectors' headers and bodies mutated, headers signed correctly and then mutated
//! (repeated or missing `t`/`v1`, odd hex, timestamps at the ends of `i64`), random headers and
//! calls whose method, path, shop id and key carry line breaks and odd bytes.
//!
//! Rules: no panic; refusals are 401s; and a header signed with the right key for exactly this
//! message, checked within the tolerance, is accepted (a fuzzer that only looks for panics would
//! not notice a verifier that refuses everything).

use super::seeds;
use crate::input::Input;
use crate::mutate;
use crate::rng::Rng;
use bawaba_core::api::ApiError;
use bawaba_core::signature::{self, SignatureError, SignedCall};

const SECRET: &str = "vector-secret-not-for-production";

fn refusal(e: SignatureError) -> Result<(), String> {
    let _ = e.describe_webhook("fuzz");
    super::client_error(&ApiError::Unauthorized { code: e.code().into(), message: e.to_string() })
}

/// A header for `body` at `t`: correct, correct then mutated, a vector's mutated, random, or none.
/// Returns the header and whether it is the untouched correct one.
fn header_for(rng: &mut Rng, correct: String, vectors: &[Vec<u8>]) -> (Option<Vec<u8>>, bool) {
    match rng.below(8) {
        0 => (None, false),
        1 => (Some(mutate::random_text(rng).into_bytes()), false),
        2 => {
            let seed = vectors[rng.below(vectors.len())].clone();
            (Some(mutate::bytes(rng, &seed, vectors)), false)
        }
        3 | 4 => (Some(mutate::bytes(rng, correct.as_bytes(), vectors)), false),
        5 => {
            // Rotation: another (wrong) v1 before or after the right one; odd spacing.
            let extra = format!("v1={}", hex::encode(rng.bytes(32)));
            let h = if rng.one_in(2) {
                format!("{correct}, {extra}")
            } else {
                correct.replacen(',', &format!(",{extra},"), 1)
            };
            (Some(h.into_bytes()), true)
        }
        _ => (Some(correct.into_bytes()), true),
    }
}

fn clock(rng: &mut Rng, t: i64) -> (i64, i64) {
    let tolerance = if rng.one_in(8) { rng.interesting_i64() } else { signature::DEFAULT_TOLERANCE_SECS };
    let now = if rng.one_in(4) { rng.interesting_i64() } else { t.wrapping_add(rng.below(800) as i64 - 400) };
    (now, tolerance)
}

/// Whether `now` is within `tolerance` of `t`, as the rule says.
fn within(now: i64, t: i64, tolerance: i64) -> bool {
    now.abs_diff(t) <= tolerance.unsigned_abs()
}

/// The notification signature.
pub struct Notification;

impl super::Target for Notification {
    fn name(&self) -> String {
        "signature".into()
    }

    fn about(&self) -> String {
        "signature::verify (notifications): mutated and re-signed headers and bodies".into()
    }

    fn generate(&self, rng: &mut Rng) -> Input {
        let cases = seeds::cases(seeds::NOTIFICATIONS);
        let bodies: Vec<Vec<u8>> =
            cases.iter().filter_map(|c| c["body"].as_str()).map(|b| b.as_bytes().to_vec()).collect();
        let headers: Vec<Vec<u8>> =
            cases.iter().filter_map(|c| c["header"].as_str()).map(|h| h.as_bytes().to_vec()).collect();
        let base = bodies[rng.below(bodies.len())].clone();
        let body = if rng.one_in(4) { base } else { mutate::any(rng, &base, &bodies) };
        let t = if rng.one_in(6) { rng.interesting_i64() } else { 1_800_000_000 + rng.below(1000) as i64 };
        let secret = if rng.one_in(10) { b"another-key".to_vec() } else { SECRET.as_bytes().to_vec() };
        let (header, correct) = header_for(rng, signature::sign(&secret, t, &body), &headers);
        let (now, tolerance) = clock(rng, t);
        let mut input = Input::new()
            .with("body", body)
            .with_i64("now", now)
            .with_i64("tolerance", tolerance)
            .with_i64("t", t)
            .with("correct", if correct && secret == SECRET.as_bytes() { "1" } else { "0" });
        if let Some(h) = header {
            input = input.with("header", h);
        }
        input
    }

    fn execute(&self, input: &Input) -> Result<bool, String> {
        let header = input.opt_text("header");
        let (now, tolerance, t) = (input.i64("now"), input.i64("tolerance"), input.i64("t"));
        let got = signature::verify(SECRET.as_bytes(), header.as_deref(), input.bytes("body"), now, tolerance);
        if input.bytes("correct") == b"1" && within(now, t, tolerance) && got.is_err() {
            return Err(format!("a correctly signed notification was refused: {got:?}"));
        }
        match got {
            Ok(()) => Ok(true),
            Err(e) => refusal(e).map(|()| false),
        }
    }
}

/// The shop → edge call signature.
pub struct Call;

const METHODS: &[&str] = &["POST", "GET", "PUT", "post", "", "POST\n", "DELETE"];
const PATHS: &[&str] = &[
    "/v1/refunds",
    "/v1/captures",
    "/v1/voids",
    "/v1/check",
    "/v1/deliveries?state=failing",
    "/v1/payments/S%3A1",
    "/v1/refunds\ndemo",
    "",
];

fn pick_or_mutate(rng: &mut Rng, options: &[&str]) -> String {
    let base = rng.pick(options).to_string();
    match rng.below(6) {
        0 => mutate::random_text(rng),
        1 => String::from_utf8_lossy(&mutate::bytes(rng, base.as_bytes(), &[])).into_owned(),
        _ => base,
    }
}

impl super::Target for Call {
    fn name(&self) -> String {
        "call-signature".into()
    }

    fn about(&self) -> String {
        "signature::verify_call (shop → edge calls): mutated calls, headers, keys, clocks".into()
    }

    fn generate(&self, rng: &mut Rng) -> Input {
        let cases = seeds::cases(seeds::CALLS);
        let bodies: Vec<Vec<u8>> =
            cases.iter().filter_map(|c| c["body"].as_str()).map(|b| b.as_bytes().to_vec()).collect();
        let headers: Vec<Vec<u8>> =
            cases.iter().filter_map(|c| c["header"].as_str()).map(|h| h.as_bytes().to_vec()).collect();
        let case = &cases[rng.below(cases.len())];
        let text = |k: &str| case[k].as_str().unwrap_or("").to_string();
        let method = if rng.one_in(3) { pick_or_mutate(rng, METHODS) } else { text("method") };
        let path = if rng.one_in(3) { pick_or_mutate(rng, PATHS) } else { text("path_and_query") };
        let shop = if rng.one_in(4) {
            pick_or_mutate(rng, &["vector-shop", "demo", "a:b", "demo\n"])
        } else {
            text("shop_id")
        };
        let key = match (case["idempotency_key"].as_str(), rng.below(6)) {
            (_, 0) => None,
            (_, 1) => Some(mutate::random_text(rng)),
            (Some(k), _) => Some(k.to_string()),
            (None, _) => None,
        };
        let base = text("body").into_bytes();
        let body = if rng.one_in(3) { base } else { mutate::any(rng, &base, &bodies) };
        let t = if rng.one_in(6) { rng.interesting_i64() } else { 1_800_000_000 + rng.below(1000) as i64 };
        let call = SignedCall {
            method: &method,
            path_and_query: &path,
            shop_id: &shop,
            idempotency_key: key.as_deref(),
            body: &body,
        };
        let (header, correct) = header_for(rng, signature::sign_call(SECRET.as_bytes(), t, &call), &headers);
        let (now, tolerance) = clock(rng, t);
        let mut input = Input::new()
            .with("method", method.clone())
            .with("path_and_query", path.clone())
            .with("shop_id", shop.clone())
            .with("body", body.clone())
            .with_i64("now", now)
            .with_i64("tolerance", tolerance)
            .with_i64("t", t)
            .with("correct", if correct { "1" } else { "0" });
        if let Some(k) = &key {
            input = input.with("idempotency_key", k.clone());
        }
        if let Some(h) = header {
            input = input.with("header", h);
        }
        input
    }

    fn execute(&self, input: &Input) -> Result<bool, String> {
        let (method, path, shop) = (input.text("method"), input.text("path_and_query"), input.text("shop_id"));
        let key = input.opt_text("idempotency_key");
        let call = SignedCall {
            method: &method,
            path_and_query: &path,
            shop_id: &shop,
            idempotency_key: key.as_deref(),
            body: input.bytes("body"),
        };
        let header = input.opt_text("header");
        let (now, tolerance, t) = (input.i64("now"), input.i64("tolerance"), input.i64("t"));
        let got = signature::verify_call(SECRET.as_bytes(), header.as_deref(), &call, now, tolerance);
        let line_break =
            [&method, &path, &shop, key.as_ref().unwrap_or(&String::new())].iter().any(|s| s.contains('\n'));
        if input.bytes("correct") == b"1" && within(now, t, tolerance) && !line_break && got.is_err() {
            return Err(format!("a correctly signed call was refused: {got:?}"));
        }
        if line_break && got.is_ok() {
            return Err("a call with a line break in a signed header was accepted".into());
        }
        match got {
            Ok(()) => Ok(true),
            Err(e) => refusal(e).map(|()| false),
        }
    }
}
