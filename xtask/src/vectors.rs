//! `cargo xtask vectors`: writes the protocol test vectors in `tests/vectors/`. They are
//! committed; the Rust core checks every case (`core/tests/vectors.rs`) and the Odoo addon
//! checks the same files, so both sides of the contract agree byte for byte.
//! Regenerate only when the contract changes; the output is deterministic.

use crate::{root, step, Result};
use bawaba_core::intent::{self, IntentClaims};
use bawaba_core::signature::{self, SignedCall};
use serde_json::{json, Value};

const NOW: i64 = 1_800_000_000;
const SHOP_ID: &str = "vector-shop";
const SHOP_ORIGIN: &str = "https://shop.example";
const SECRET: &str = "vector-secret-not-for-production";

fn claims() -> IntentClaims {
    IntentClaims {
        iss: SHOP_ID.into(),
        aud: intent::AUDIENCE.into(),
        sub: "S00042".into(),
        iat: NOW - 60,
        exp: NOW + 900,
        amount: 10050,
        currency: "SAR".into(),
        methods: vec!["mada".into(), "visa".into(), "mastercard".into()],
        return_url: format!("{SHOP_ORIGIN}/payment/status"),
        notify_url: format!("{SHOP_ORIGIN}/payment/bawaba/webhook"),
        locale: Some("ar".into()),
        customer_name: Some("نورة الحربي".into()),
        customer_email: Some("noura@example.com".into()),
        nbf: None,
        jti: None,
    }
}

/// Dashboard links (`bawaba_core::dashboard::link`): one the shop signs for 30 minutes, which
/// the shop's side must produce byte for byte, and each way one is refused.
fn dashboard_links() -> Value {
    use bawaba_core::dashboard::link::{self, LinkClaims};
    let sign = |c: &LinkClaims| link::sign(c, SECRET.as_bytes());
    let good = LinkClaims::new(SHOP_ID, NOW - 60, 1800);
    let cases = vec![
        json!({"name": "valid", "claims": good, "token": sign(&good), "expect": "ok"}),
        json!({"name": "expired", "token": sign(&LinkClaims { exp: NOW - 1, ..good.clone() }),
               "expect": "dashboard_link_expired"}),
        json!({"name": "longer than an hour", "token": sign(&LinkClaims::new(SHOP_ID, NOW - 60, 3601)),
               "expect": "dashboard_link_lifetime_too_long"}),
        json!({"name": "an intent's audience",
               "token": sign(&LinkClaims { aud: intent::AUDIENCE.into(), ..good.clone() }),
               "expect": "dashboard_link_invalid_claims"}),
        json!({"name": "another secret", "token": link::sign(&good, b"another-secret"),
               "expect": "dashboard_link_invalid_signature"}),
    ];
    json!({"now": NOW, "shop_id": SHOP_ID, "secret": SECRET, "audience": link::AUDIENCE,
           "max_lifetime_secs": link::MAX_LIFETIME_SECS, "cases": cases})
}

fn with(f: impl Fn(&mut IntentClaims)) -> String {
    let mut c = claims();
    f(&mut c);
    intent::sign(&c, SECRET.as_bytes())
}

/// An intent whose `iat` is a float, as `Date.now() / 1000` makes it, correctly signed.
fn fractional_iat() -> String {
    use base64::Engine;
    let mut raw = serde_json::to_value(claims()).unwrap();
    raw["iat"] = json!((NOW - 60) as f64 + 0.5);
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let input = format!("{}.{}", b64(br#"{"alg":"HS256","typ":"JWT"}"#), b64(&serde_json::to_vec(&raw).unwrap()));
    let mac = bawaba_core::hmac_sha256(SECRET.as_bytes(), input.as_bytes());
    format!("{input}.{}", b64(&mac))
}

fn invalid(name: &str, token: String, error: &str) -> Value {
    json!({"name": name, "token": token, "expect": {"valid": false, "error": error}})
}

fn intents() -> Value {
    let good = intent::sign(&claims(), SECRET.as_bytes());
    let (head_payload, _) = good.rsplit_once('.').unwrap();
    let cheap = with(|c| c.amount = 1);
    let (cheap_head_payload, _) = cheap.rsplit_once('.').unwrap();
    let (_, good_sig) = good.rsplit_once('.').unwrap();
    let none_header = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0"; // {"alg":"none","typ":"JWT"}
    let (_, payload_sig) = good.split_once('.').unwrap();
    let cases = vec![
        json!({"name": "valid", "token": good, "expect": {"valid": true, "reference": "S00042", "amount": 10050,
               "currency": "SAR", "methods": ["mada", "visa", "mastercard"]}}),
        invalid(
            "tampered amount (payload of another intent, original signature)",
            format!("{cheap_head_payload}.{good_sig}"),
            "intent_invalid_signature",
        ),
        invalid("signed with another secret", intent::sign(&claims(), b"another-secret"), "intent_invalid_signature"),
        invalid("signature removed", format!("{head_payload}."), "intent_invalid_signature"),
        invalid("alg none", format!("{none_header}.{payload_sig}"), "intent_unsupported_algorithm"),
        invalid(
            "expired",
            with(|c| {
                c.iat = NOW - 1000;
                c.exp = NOW - 100
            }),
            "intent_expired",
        ),
        json!({"name": "with the nbf and jti a JWT library adds", "token": with(|c| {
                   c.nbf = Some(NOW - 60);
                   c.jti = Some("b3f1c2".into())
               }),
               "expect": {"valid": true, "reference": "S00042", "amount": 10050, "currency": "SAR"}}),
        invalid("not before a time to come", with(|c| c.nbf = Some(NOW + 600)), "intent_not_yet_valid"),
        invalid("a method Bawaba does not know", with(|c| c.methods.push("bitcoin".into())), "method_unknown"),
        invalid("iat with a fraction (Date.now() / 1000)", fractional_iat(), "intent_invalid_claims"),
        invalid(
            "issued in the future",
            with(|c| {
                c.iat = NOW + 600;
                c.exp = NOW + 1200
            }),
            "intent_not_yet_valid",
        ),
        invalid(
            "lives longer than 30 minutes",
            with(|c| {
                c.iat = NOW - 10;
                c.exp = NOW + 1800
            }),
            "intent_lifetime_too_long",
        ),
        invalid(
            "time claims that overflow",
            with(|c| {
                c.iat = -9_000_000_000_000_000_000;
                c.exp = 9_000_000_000_000_000_000
            }),
            "intent_lifetime_too_long",
        ),
        invalid("wrong audience", with(|c| c.aud = "someone-else".into()), "intent_wrong_audience"),
        invalid("unknown shop", with(|c| c.iss = "other-shop".into()), "intent_unknown_shop"),
        invalid("zero amount", with(|c| c.amount = 0), "amount_invalid"),
        invalid("unknown currency", with(|c| c.currency = "XXX".into()), "currency_unsupported"),
        invalid(
            "notify_url on another origin",
            with(|c| c.notify_url = "https://shop.example.attacker.net/x".into()),
            "intent_url_not_allowed",
        ),
        invalid("not a JWT", "not-a-jwt".into(), "intent_malformed"),
    ];
    json!({
        "description": "Intent JWTs (HS256). Verify each token with `shops` at unix time `now`; `expect` is the verdict and, when invalid, the error code.",
        "now": NOW,
        "shops": [{"id": SHOP_ID, "origin": SHOP_ORIGIN, "secret": SECRET}],
        "cases": cases,
    })
}

fn signatures() -> Value {
    let body = r#"{"event_id":"evt_0001","type":"payment.succeeded","shop_id":"vector-shop","reference":"S00042","amount":10050,"currency":"SAR","gateway":"sandbox","gateway_payment_id":"sbx_1","method":"mada","card_brand":"mada","card_last4":"0007","created_at":1800000000}"#;
    let good = signature::sign(SECRET.as_bytes(), NOW, body.as_bytes());
    let v1 = good.split("v1=").nth(1).unwrap();
    let case = |name: &str, header: Option<String>, body: &str, now: i64, expect: &str| json!({"name": name, "header": header, "body": body, "now": now, "expect": expect});
    let cases = vec![
        case("valid", Some(good.clone()), body, NOW, "ok"),
        case("valid, 299 s later", Some(good.clone()), body, NOW + 299, "ok"),
        case(
            "valid with a second, rotated v1",
            Some(format!("t={NOW},v1={},v1={v1}", "0".repeat(64))),
            body,
            NOW,
            "ok",
        ),
        case("missing header", None, body, NOW, "signature_missing"),
        case("not t=,v1=", Some("sha256=abc".into()), body, NOW, "signature_malformed"),
        case("no v1", Some(format!("t={NOW}")), body, NOW, "signature_malformed"),
        case("body changed", Some(good.clone()), &body.replace("10050", "10"), NOW, "signature_invalid"),
        case(
            "other secret",
            Some(signature::sign(b"other-secret", NOW, body.as_bytes())),
            body,
            NOW,
            "signature_invalid",
        ),
        case("timestamp changed", Some(format!("t={},v1={v1}", NOW + 1)), body, NOW, "signature_invalid"),
        case("outdated (301 s)", Some(good.clone()), body, NOW + 301, "signature_expired"),
        case("from the future (301 s)", Some(good), body, NOW - 301, "signature_expired"),
    ];
    json!({
        "description": "Bawaba-Signature headers: t=<unix>,v1=<hex HMAC-SHA256(secret, \"<t>.<body>\")>. Verify `header` over the exact `body` bytes (UTF-8) at unix time `now` with a 300 s tolerance.",
        "secret": SECRET,
        "tolerance_secs": 300,
        "cases": cases,
    })
}

/// One signed-call case: the call as the edge receives it, the header that came with it, the
/// edge's clock, and the verdict.
fn call_case(name: &str, header: Option<&str>, call: &SignedCall, now: i64, expect: &str) -> Value {
    let mut case = json!({
        "name": name,
        "header": header,
        "method": call.method,
        "path_and_query": call.path_and_query,
        "shop_id": call.shop_id,
        "idempotency_key": call.idempotency_key,
        "body": std::str::from_utf8(call.body).expect("UTF-8 bodies"),
        "now": now,
        "expect": expect,
    });
    if expect == "ok" {
        // The exact bytes that were signed, so an implementation can compare before the MAC.
        let canonical = signature::canonical_call(NOW, call);
        case["canonical"] = String::from_utf8(canonical).expect("UTF-8").into();
    }
    case
}

fn call_signatures() -> Value {
    let secret = SECRET.as_bytes();
    let body = r#"{"reference":"S00042","amount":2500}"#;
    let refund = SignedCall {
        method: "POST",
        path_and_query: "/v1/refunds",
        shop_id: SHOP_ID,
        idempotency_key: Some("R-S00042"),
        body: body.as_bytes(),
    };
    let deliveries = SignedCall {
        method: "GET",
        path_and_query: "/v1/deliveries?state=failing",
        shop_id: SHOP_ID,
        idempotency_key: None,
        body: b"",
    };
    let refund_header = signature::sign_call(secret, NOW, &refund);
    let get_header = signature::sign_call(secret, NOW, &deliveries);
    let (r, g) = (Some(refund_header.as_str()), Some(get_header.as_str()));
    let other_body = r#"{"reference":"S00042","amount":250000}"#;
    let cases = vec![
        call_case("valid refund with an idempotency key", r, &refund, NOW, "ok"),
        call_case("valid GET /v1/deliveries?state=failing (no key, empty body)", g, &deliveries, NOW, "ok"),
        call_case("valid refund, 299 s later", r, &refund, NOW + 299, "ok"),
        call_case(
            "refund header replayed on /v1/voids",
            r,
            &SignedCall { path_and_query: "/v1/voids", ..refund },
            NOW,
            "signature_invalid",
        ),
        call_case(
            "refund header replayed on /v1/captures",
            r,
            &SignedCall { path_and_query: "/v1/captures", ..refund },
            NOW,
            "signature_invalid",
        ),
        call_case(
            "refund header with another query",
            r,
            &SignedCall { path_and_query: "/v1/refunds?amount=250000", ..refund },
            NOW,
            "signature_invalid",
        ),
        call_case(
            "deliveries header with another query",
            g,
            &SignedCall { path_and_query: "/v1/deliveries?state=failed", ..deliveries },
            NOW,
            "signature_invalid",
        ),
        call_case(
            "deliveries header replayed as a POST",
            g,
            &SignedCall { method: "POST", ..deliveries },
            NOW,
            "signature_invalid",
        ),
        call_case(
            "refund header for another shop",
            r,
            &SignedCall { shop_id: "other-shop", ..refund },
            NOW,
            "signature_invalid",
        ),
        call_case(
            "refund header with another key",
            r,
            &SignedCall { idempotency_key: Some("R-S00042-1"), ..refund },
            NOW,
            "signature_invalid",
        ),
        call_case(
            "refund header without the key",
            r,
            &SignedCall { idempotency_key: None, ..refund },
            NOW,
            "signature_invalid",
        ),
        call_case(
            "deliveries header with a key added",
            g,
            &SignedCall { idempotency_key: Some("K-1"), ..deliveries },
            NOW,
            "signature_invalid",
        ),
        call_case(
            "refund header with another body",
            r,
            &SignedCall { body: other_body.as_bytes(), ..refund },
            NOW,
            "signature_invalid",
        ),
        call_case("refund header out of tolerance (301 s later)", r, &refund, NOW + 301, "signature_expired"),
        call_case("refund header from the future (301 s)", r, &refund, NOW - 301, "signature_expired"),
        call_case(
            "refund signed with another secret",
            Some(&signature::sign_call(b"other-secret", NOW, &refund)),
            &refund,
            NOW,
            "signature_invalid",
        ),
        call_case(
            "a notification signature of the same body",
            Some(&signature::sign(secret, NOW, body.as_bytes())),
            &refund,
            NOW,
            "signature_invalid",
        ),
        call_case(
            "a line break in the shop id",
            Some(&signature::sign_call(secret, NOW, &SignedCall { shop_id: "vector-shop\nR-S00042", ..refund })),
            &SignedCall { shop_id: "vector-shop\nR-S00042", ..refund },
            NOW,
            "signature_malformed",
        ),
        call_case(
            "timestamp written with underscores",
            Some(&refund_header.replace("t=1800000000", "t=1_800_000_000")),
            &refund,
            NOW,
            "signature_malformed",
        ),
        call_case(
            "timestamp beyond 64 bits",
            Some(&refund_header.replace("t=1800000000", "t=18000000000000000000")),
            &refund,
            NOW,
            "signature_malformed",
        ),
        call_case("missing header", None, &refund, NOW, "signature_missing"),
    ];
    json!({
        "description": "Signed shop → edge calls: Bawaba-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, canonical)>, where canonical is \"bawaba-call-v1\\n<t>\\n<METHOD>\\n<path_and_query>\\n<shop_id>\\n<idempotency key or empty>\\n\" followed by the raw body. Verify `header` for the call as received (`method`, `path_and_query`, `shop_id` = Bawaba-Shop, `idempotency_key` = Idempotency-Key or null, `body` as UTF-8 bytes) at unix time `now` with a 300 s tolerance. Valid cases also give `canonical`, the exact string that was signed. A line break in method, path, shop id or key is signature_malformed.",
        "secret": SECRET,
        "tolerance_secs": 300,
        "cases": cases,
    })
}

/// The currencies the edge knows (with their minor-unit exponents) and those each gateway
/// accepts: the Odoo addon keeps its own copies of both and checks them against this file.
fn currencies() -> Value {
    use bawaba_core::gateway::{aps, hyperpay, moyasar, paytabs, sandbox, tap};
    use bawaba_core::money::Currency;
    let exponents: serde_json::Map<String, Value> =
        Currency::all().map(|c| (c.code().to_string(), json!(c.exponent()))).collect();
    json!({
        "description": "ISO 4217 minor-unit exponents of the currencies the edge knows, and the currencies each gateway accepts.",
        "exponents": exponents,
        "gateways": {
            sandbox::CODE: sandbox::CAPABILITIES.currencies,
            moyasar::CODE: moyasar::CAPABILITIES.currencies,
            tap::CODE: tap::CAPABILITIES.currencies,
            aps::CODE: aps::CAPABILITIES.currencies,
            paytabs::CODE: paytabs::CAPABILITIES.currencies,
            hyperpay::CODE: hyperpay::CAPABILITIES.currencies,
        },
    })
}

/// Writes the vectors.
pub fn write() -> Result {
    let dir = root().join("tests/vectors");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    for (name, value) in [
        ("intents.json", intents()),
        ("notification_signatures.json", signatures()),
        ("call_signatures.json", call_signatures()),
        ("currencies.json", currencies()),
        ("dashboard_links.json", dashboard_links()),
    ] {
        step(&format!("writing tests/vectors/{name}"));
        let text = serde_json::to_string_pretty(&value).map_err(|e| e.to_string())? + "\n";
        std::fs::write(dir.join(name), text).map_err(|e| e.to_string())?;
    }
    Ok(())
}
