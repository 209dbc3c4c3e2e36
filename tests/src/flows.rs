//! Payment steps as a shopper's browser performs them, over plain HTTP: mint an intent, start a
//! session, pay on the sandbox's hosted page, come back through the edge.

use crate::edge::{Edge, ShopConfig};
use crate::http::{self, Reply};
use bawaba_core::intent::{self, IntentClaims};
use bawaba_core::signature::{self, SignedCall};

/// Claims for a payment of `amount` halalas by `shop`, notifying `shop.origin + /notify`.
pub fn claims(shop: &ShopConfig, reference: &str, amount: i64) -> IntentClaims {
    let now = crate::now();
    IntentClaims {
        iss: shop.id.clone(),
        aud: intent::AUDIENCE.into(),
        sub: reference.into(),
        iat: now,
        exp: now + 600,
        amount,
        currency: "SAR".into(),
        methods: vec!["mada".into(), "visa".into(), "mastercard".into()],
        return_url: format!("{}/return", shop.origin),
        notify_url: format!("{}/notify", shop.origin),
        locale: Some("en".into()),
        customer_name: Some("Test Shopper".into()),
        customer_email: Some("shopper@example.com".into()),
        nbf: None,
        jti: None,
    }
}

/// Signs claims with the shop's secret.
pub fn sign(shop: &ShopConfig, claims: &IntentClaims) -> String {
    intent::sign(claims, shop.secret.as_bytes())
}

/// A unique reference for a test.
pub fn reference(prefix: &str) -> String {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    format!("{prefix}-{}-{n}", std::process::id())
}

/// `POST /v1/methods`: each method's code and how the widget takes it (`flow`), in order.
pub fn method_flows(edge: &Edge, intent: &str) -> Vec<(String, String)> {
    let answer = http::post_json(&edge.url("/v1/methods"), &serde_json::json!({ "intent": intent }));
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.json()["methods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["code"].as_str().unwrap().to_string(), m["flow"].as_str().unwrap().to_string()))
        .collect()
}

/// `POST /v1/sessions`.
pub fn start_session(edge: &Edge, intent: &str, method: &str) -> Reply {
    http::post_json(&edge.url("/v1/sessions"), &serde_json::json!({"intent": intent, "method": method}))
}

/// The hosted page URL of a session reply.
pub fn hosted_url(session: &Reply) -> String {
    let json = session.json();
    json["next_action"]["url"].as_str().unwrap_or_else(|| panic!("no redirect in {}", session.body)).to_string()
}

/// Submits a card on the sandbox page; returns the page's answer (303 to the edge's return
/// route when the payment is decided).
pub fn submit_card(hosted_url: &str, number: &str) -> Reply {
    http::post_form(hosted_url, &[("number", number), ("expiry", "12/34"), ("cvc", "123")])
}

/// Answers the 3-D Secure challenge.
pub fn submit_challenge(hosted_url: &str, code: &str) -> Reply {
    http::post_form(&format!("{hosted_url}/challenge"), &[("code", code)])
}

/// Pays `amount` with `card` by `method` from start to the shop's return URL; returns the
/// final redirect (303 to the shop's `return_url`).
pub fn pay(edge: &Edge, shop: &ShopConfig, reference: &str, amount: i64, method: &str, card: &str) -> Reply {
    let intent = sign(shop, &claims(shop, reference, amount));
    let session = start_session(edge, &intent, method);
    assert_eq!(session.status, 200, "session: {}", session.body);
    let page = submit_card(&hosted_url(&session), card);
    assert_eq!(page.status, 303, "sandbox page: {}", page.body);
    http::get(page.location.as_deref().expect("redirect to the return route"))
}

/// The routes that move money: they take an `Idempotency-Key`.
pub const KEYED_ROUTES: [&str; 3] = ["/v1/refunds", "/v1/captures", "/v1/voids"];

/// A fresh idempotency key, unique in this test run (printable ASCII, no spaces).
pub fn idempotency_key() -> String {
    reference("key")
}

/// A signed shop → edge GET (`/v1/deliveries`, `/v1/payments/{ref}`): `Bawaba-Shop` and a
/// `Bawaba-Signature` over the call (method, path and query, shop id, no key, empty body).
pub fn signed_get(edge: &Edge, shop: &ShopConfig, path_and_query: &str) -> Reply {
    signed_call(
        edge,
        shop,
        &SignedCall { method: "GET", path_and_query, shop_id: &shop.id, idempotency_key: None, body: b"" },
    )
}

/// A signed shop → edge POST (`/v1/refunds`, `/v1/check`, …). A call to a route that moves
/// money ([`KEYED_ROUTES`]) gets a fresh `Idempotency-Key`, as the Odoo addon always sends one, so
/// each call is a new operation; [`signed_post_with_key`] chooses the key (to repeat a call).
pub fn signed_post(edge: &Edge, shop: &ShopConfig, path: &str, body: &serde_json::Value) -> Reply {
    let route = path.split('?').next().unwrap_or(path);
    if KEYED_ROUTES.contains(&route) {
        signed_post_with_key(edge, shop, path, body, &idempotency_key())
    } else {
        let raw = body.to_string();
        signed_call(
            edge,
            shop,
            &SignedCall {
                method: "POST",
                path_and_query: path,
                shop_id: &shop.id,
                idempotency_key: None,
                body: raw.as_bytes(),
            },
        )
    }
}

/// A signed shop → edge POST with `Idempotency-Key: key` (signed too).
pub fn signed_post_with_key(edge: &Edge, shop: &ShopConfig, path: &str, body: &serde_json::Value, key: &str) -> Reply {
    let raw = body.to_string();
    signed_call(
        edge,
        shop,
        &SignedCall {
            method: "POST",
            path_and_query: path,
            shop_id: &shop.id,
            idempotency_key: Some(key),
            body: raw.as_bytes(),
        },
    )
}

/// Sends `call` signed for itself with the shop's secret, now.
pub fn signed_call(edge: &Edge, shop: &ShopConfig, call: &SignedCall) -> Reply {
    signed_call_raw(edge, shop, call, call)
}

/// Sends the request `sent` (its method, path and query, `Bawaba-Shop: sent.shop_id`, its
/// `Idempotency-Key` if any, and its body) with a `Bawaba-Signature` computed, with the shop's
/// secret and now, for `signed_for` instead: a test signs for one call and sends another, as
/// someone replaying a captured call would (another route, query, shop, key or body).
///
/// ```ignore
/// let body = br#"{"reference":"S1"}"#;
/// let void = SignedCall { method: "POST", path_and_query: "/v1/voids", shop_id: &shop.id, idempotency_key: Some("k1"), body };
/// let replay = signed_call_raw(&edge, &shop, &SignedCall { path_and_query: "/v1/refunds", ..void }, &void);
/// assert_eq!(replay.error_code(), "signature_invalid");
/// ```
pub fn signed_call_raw(edge: &Edge, shop: &ShopConfig, sent: &SignedCall, signed_for: &SignedCall) -> Reply {
    let signature = signature::sign_call(shop.secret.as_bytes(), crate::now(), signed_for);
    let mut request = ureq::http::Request::builder()
        .method(sent.method)
        .uri(edge.url(sent.path_and_query))
        .header("Bawaba-Shop", sent.shop_id)
        .header(signature::HEADER, &signature);
    if let Some(key) = sent.idempotency_key {
        request = request.header(signature::IDEMPOTENCY_HEADER, key);
    }
    let result = if sent.body.is_empty() {
        call_agent().run(request.body(()).expect("a valid request"))
    } else {
        call_agent()
            .run(request.header("Content-Type", "application/json").body(sent.body.to_vec()).expect("a valid request"))
    };
    http::read_reply(result.unwrap_or_else(|e| panic!("{} {}: {e}", sent.method, sent.path_and_query)))
}

/// The agent for signed calls: every status is a value, no redirects, any method with a body.
fn call_agent() -> &'static ureq::Agent {
    static AGENT: std::sync::OnceLock<ureq::Agent> = std::sync::OnceLock::new();
    AGENT.get_or_init(|| {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .allow_non_standard_methods(true)
            .timeout_global(Some(std::time::Duration::from_secs(30)))
            .build()
            .into()
    })
}

/// The distinct, verified notifications `shop` received (answered 2xx) for `reference`, in order.
pub fn notifications(
    shop: &crate::fake_shop::FakeShop,
    config: &ShopConfig,
    reference: &str,
) -> Vec<bawaba_core::notification::Notification> {
    let mut seen = std::collections::BTreeSet::new();
    shop.received()
        .into_iter()
        .filter(|r| (200..300).contains(&r.answered))
        .filter_map(|r| {
            signature::verify(config.secret.as_bytes(), r.header(signature::HEADER), &r.body, crate::now(), 300)
                .expect("every delivered notification verifies");
            serde_json::from_slice::<bawaba_core::notification::Notification>(&r.body).ok()
        })
        .filter(|n| n.reference == reference && seen.insert(n.event_id.clone()))
        .collect()
}

/// The event types of notifications, as strings.
pub fn kinds(ns: &[bawaba_core::notification::Notification]) -> Vec<String> {
    ns.iter().map(|n| serde_json::to_value(n.event_type).unwrap().as_str().unwrap_or_default().to_string()).collect()
}

/// Follows a gateway's redirect to the edge's return route; returns the edge's 303 to the shop.
pub fn back_through_edge(from_gateway: &Reply) -> Reply {
    assert_eq!(from_gateway.status, 303, "the gateway sends the shopper back: {}", from_gateway.body);
    let back = http::get(from_gateway.location.as_deref().expect("a Location"));
    assert_eq!(back.status, 303, "the edge redirects to the shop: {}", back.body);
    back
}

/// An Apple Pay token as Safari's sheet gives it (`ApplePayPayment.token`, as JSON text), of a
/// card on `network` (`mada`, `Visa`, `MasterCard`, `AmEx`). `data` is what the fakes read as
/// the card's outcome marker (each fake documents its markers); real data is Apple's
/// ciphertext for the gateway's payment processing certificate.
pub fn applepay_token_with(network: &str, data: &str) -> String {
    serde_json::json!({
        "paymentData": {
            "version": "EC_v1",
            "data": data,
            "signature": "MIAGCSqGSIb3DQEHAqCAMIACAQExDzANBglghkgBZQMEAgEFADCABgkqhkiG9w0BBwEAAKCAMIID",
            "header": {
                "ephemeralPublicKey": "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE",
                "publicKeyHash": "LbsUwAT6w1JV9tFXocU813TCHks+LSuFF0R/eBkrWnQ=",
                "transactionId": "d3b28af9b2c2f4bbb8a7ad2e0a1ea3ba3bf5d3c0b6e4a8b0f9c7b4a1d2e3f4a5"
            }
        },
        "paymentMethod": { "displayName": format!("{network} 1010"), "network": network, "type": "debit" },
        "transactionIdentifier": "D3B28AF9B2C2F4BBB8A7AD2E0A1EA3BA3BF5D3C0B6E4A8B0F9C7B4A1D2E3F4A5"
    })
    .to_string()
}

/// [`applepay_token_with`] an approving card's data.
pub fn applepay_token(network: &str) -> String {
    applepay_token_with(network, "YXBwcm92ZQ==")
}
