//! `intent`: `bawaba_core::intent::verify`, the JWT every checkout starts with. It is the first
//! thing a stranger can send (`POST /v1/methods`, `/v1/sessions`). Inputs: random text, the
//! vectors' tokens mutated byte by byte, and claims mutated as JSON (huge or negative amounts,
//! wrong types, unknown fields, odd URLs, times at the ends of `i64`) that are then signed with
//! the vector shop's key, so the claim checks after the signature are reached too; the header
//! (`alg`) is mutated as well, and `now` ranges over the clock's extremes.
//!
//! Rules: no panic; every refusal is a 4xx ([`super::client_error`]); an accepted intent has a
//! positive amount, an unexpired life of at most 30 minutes and a `notify_url` on the shop's origin.

use super::seeds;
use crate::input::Input;
use crate::mutate;
use crate::rng::Rng;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use bawaba_core::api::ApiError;
use bawaba_core::intent::{self, IntentError, ShopKey};
use bawaba_core::lifecycle::Reference;

/// The target.
pub struct Intent;

const SHOP: &str = "vector-shop";
const SECRET: &str = "vector-secret-not-for-production";
const ORIGIN: &str = "https://shop.example";

fn tokens() -> Vec<Vec<u8>> {
    seeds::cases(seeds::INTENTS).iter().filter_map(|c| c["token"].as_str()).map(|t| t.as_bytes().to_vec()).collect()
}

fn now_of_vectors() -> i64 {
    seeds::field(seeds::INTENTS, "now").as_i64().unwrap_or(1_800_000_000)
}

/// Signs any payload bytes as a shop would (HS256), under any header bytes.
fn sign_raw(header: &[u8], payload: &[u8]) -> String {
    let signing_input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(payload));
    let mac = bawaba_core::hmac_sha256(SECRET.as_bytes(), signing_input.as_bytes());
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(mac))
}

/// The claims of the first valid vector, as JSON.
fn valid_claims(tokens: &[Vec<u8>]) -> serde_json::Value {
    let token = String::from_utf8_lossy(&tokens[0]).into_owned();
    let payload = token.split('.').nth(1).and_then(|p| URL_SAFE_NO_PAD.decode(p).ok()).unwrap_or_default();
    serde_json::from_slice(&payload).unwrap_or_default()
}

const HEADERS: &[&str] = &[
    r#"{"alg":"HS256","typ":"JWT"}"#,
    r#"{"alg":"HS256"}"#,
    r#"{"alg":"none","typ":"JWT"}"#,
    r#"{"alg":"hs256"}"#,
    r#"{"alg":"HS512"}"#,
    r#"{"alg":256}"#,
    r#"{"typ":"JWT"}"#,
    r#"{"alg":"HS256","alg":"none"}"#,
    r#"[]"#,
    "",
];

impl super::Target for Intent {
    fn name(&self) -> String {
        "intent".into()
    }

    fn about(&self) -> String {
        "intent::verify: random, mutated and re-signed JWTs, any `now`".into()
    }

    fn generate(&self, rng: &mut Rng) -> Input {
        let tokens = tokens();
        let now = if rng.one_in(3) { rng.interesting_i64() } else { now_of_vectors() + rng.below(120) as i64 - 60 };
        let token: Vec<u8> = match rng.below(8) {
            0 => mutate::random_text(rng).into_bytes(),
            1 | 2 => {
                let seed = tokens[rng.below(tokens.len())].clone();
                mutate::bytes(rng, &seed, &tokens)
            }
            _ => {
                let mut claims = mutate::json(rng, &valid_claims(&tokens));
                if claims.is_object() && rng.one_in(3) {
                    // Times around `now`, so the lifetime rules are where the mutations land.
                    let iat = now.wrapping_add(rng.below(200) as i64 - 100);
                    claims["iat"] = iat.into();
                    claims["exp"] = iat.wrapping_add(rng.interesting_i64() % 4000).into();
                }
                let header = if rng.one_in(4) { *rng.pick(HEADERS) } else { HEADERS[0] };
                let payload = serde_json::to_vec(&claims).unwrap_or_default();
                let signed = sign_raw(header.as_bytes(), &payload).into_bytes();
                if rng.one_in(5) {
                    mutate::bytes(rng, &signed, &tokens)
                } else {
                    signed
                }
            }
        };
        Input::new().with("token", token).with_i64("now", now)
    }

    fn execute(&self, input: &Input) -> Result<bool, String> {
        let token = input.text("token");
        let now = input.i64("now");
        let lookup = |iss: &str| (iss == SHOP).then_some(ShopKey { secret: SECRET.as_bytes(), origin: ORIGIN });
        match intent::verify(&token, lookup, now) {
            Ok(v) => {
                let c = &v.claims;
                if v.money.minor <= 0 || c.exp <= now || c.exp.checked_sub(c.iat).is_none_or(|l| l > 1800) {
                    return Err(format!("accepted an intent it must refuse: {c:?} at {now}"));
                }
                if !intent::same_origin(&c.notify_url, ORIGIN) {
                    return Err(format!("accepted a notify_url off the shop's origin: {:?}", c.notify_url));
                }
                // The edge then names the payment by `sub` (routes.rs `payment_names`): a refusal
                // there must be the intent's 401, never a 5xx.
                if let Err(why) = Reference::parse(&c.sub) {
                    super::client_error(&ApiError::Intent(IntentError::InvalidClaims(why)))?;
                }
                Ok(true)
            }
            Err(e) => {
                let _ = (e.to_string(), e.code());
                super::client_error(&ApiError::Intent(e)).map(|()| false)
            }
        }
    }
}
