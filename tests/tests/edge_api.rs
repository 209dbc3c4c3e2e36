//! The edge API against the real edge in workerd: bad input, idempotency, the three sandbox
//! paths, signed notifications, and webhook verification.

use bawaba_core::gateway::sandbox;
use bawaba_core::notification::Notification;
use bawaba_core::signature;
use bawaba_tests::edge::{eventually, Edge, EdgeOptions, ShopConfig};
use bawaba_tests::fake_shop::FakeShop;
use bawaba_tests::flows::{self, claims, reference, sign};
use bawaba_tests::http;
use std::sync::OnceLock;

struct World {
    edge: Edge,
    shop: FakeShop,
    config: ShopConfig,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let shop = FakeShop::start();
        let config = ShopConfig { id: "acme".into(), origin: shop.origin.clone(), secret: "acme-secret-0123".into() };
        let edge = Edge::start(EdgeOptions { shops: vec![config.clone()], vars: vec![], ..Default::default() });
        World { edge, shop, config }
    })
}

/// Notifications the fake shop received for `reference`, verified with the shop's secret.
fn notifications_for(w: &World, reference: &str) -> Vec<Notification> {
    w.shop
        .received()
        .into_iter()
        .filter(|r| r.path == "/notify" && r.answered == 200)
        .filter_map(|r| {
            let n: Notification = serde_json::from_slice(&r.body).ok()?;
            (n.reference == reference).then_some((r, n))
        })
        .map(|(r, n)| {
            signature::verify(
                w.config.secret.as_bytes(),
                r.header(signature::HEADER),
                &r.body,
                bawaba_tests::now(),
                300,
            )
            .expect("every notification verifies");
            n
        })
        .collect()
}

#[test]
fn health_reports_version_and_sandbox() {
    let w = world();
    let r = http::get(&w.edge.url("/v1/health"));
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["status"], "ok");
    assert_eq!(r.json()["sandbox"], true);
}

#[test]
fn every_bad_input_gets_a_4xx_json_error_with_a_code() {
    let w = world();
    let good = claims(&w.config, &reference("bad"), 1000);
    let intent = sign(&w.config, &good);
    let with = |f: &dyn Fn(&mut bawaba_core::intent::IntentClaims)| {
        let mut c = good.clone();
        f(&mut c);
        sign(&w.config, &c)
    };
    let other_shop = ShopConfig { id: "ghost".into(), ..w.config.clone() };
    // Tampered: the payload of an intent for 0.01 SAR with the signature of the real one.
    let cheap = bawaba_core::intent::sign(&bawaba_core::intent::IntentClaims { amount: 1, ..good.clone() }, b"x");
    let (cheap_payload, _) = cheap.rsplit_once('.').unwrap();
    let (_, real_signature) = intent.rsplit_once('.').unwrap();
    let tampered = format!("{cheap_payload}.{real_signature}");
    let big = "x".repeat(70 * 1024);
    let sessions = w.edge.url("/v1/sessions");
    let methods = w.edge.url("/v1/methods");
    let cases: Vec<(&str, http::Reply, u16, &str)> = vec![
        ("malformed JSON", http::post(&sessions, "application/json", b"{not json"), 400, "invalid_request"),
        ("empty body", http::post(&sessions, "application/json", b""), 400, "invalid_request"),
        (
            "wrong types",
            http::post_json(&sessions, &serde_json::json!({"intent": 5, "method": []})),
            400,
            "invalid_request",
        ),
        ("missing field", http::post_json(&sessions, &serde_json::json!({"intent": intent})), 400, "invalid_request"),
        (
            "unknown field",
            http::post_json(&methods, &serde_json::json!({"intent": intent, "amount": 1})),
            400,
            "invalid_request",
        ),
        (
            "oversized body",
            http::post(&sessions, "application/json", format!("{{\"intent\":\"{big}\"}}").as_bytes()),
            413,
            "body_too_large",
        ),
        ("unknown method", flows::start_session(&w.edge, &intent, "bitcoin"), 422, "method_unknown"),
        (
            "an intent naming an unknown method",
            http::post_json(&methods, &serde_json::json!({"intent": with(&|c| c.methods.push("bitcoin".into()))})),
            422,
            "method_unknown",
        ),
        (
            "method the intent does not allow",
            flows::start_session(&w.edge, &with(&|c| c.methods = vec!["visa".into()]), "mada"),
            422,
            "method_not_allowed",
        ),
        (
            "method no gateway serves",
            flows::start_session(&w.edge, &with(&|c| c.methods.push("stcpay".into())), "stcpay"),
            422,
            "method_not_allowed",
        ),
        (
            "unsupported currency",
            flows::start_session(&w.edge, &with(&|c| c.currency = "XYZ".into()), "mada"),
            422,
            "currency_unsupported",
        ),
        ("zero amount", flows::start_session(&w.edge, &with(&|c| c.amount = 0), "mada"), 422, "amount_invalid"),
        ("negative amount", flows::start_session(&w.edge, &with(&|c| c.amount = -100), "mada"), 422, "amount_invalid"),
        ("tampered intent", flows::start_session(&w.edge, &tampered, "mada"), 401, "intent_invalid_signature"),
        (
            "wrong secret",
            flows::start_session(&w.edge, &bawaba_core::intent::sign(&good, b"not-the-secret"), "mada"),
            401,
            "intent_invalid_signature",
        ),
        (
            "expired intent",
            flows::start_session(
                &w.edge,
                &with(&|c| {
                    c.iat -= 1200;
                    c.exp = c.iat + 600
                }),
                "mada",
            ),
            401,
            "intent_expired",
        ),
        (
            "wrong audience",
            flows::start_session(&w.edge, &with(&|c| c.aud = "stripe".into()), "mada"),
            401,
            "intent_wrong_audience",
        ),
        (
            "unknown shop",
            flows::start_session(&w.edge, &sign(&other_shop, &claims(&other_shop, "x", 100)), "mada"),
            401,
            "intent_unknown_shop",
        ),
        ("not a JWT", flows::start_session(&w.edge, "hello", "mada"), 401, "intent_malformed"),
        (
            "notify_url off the shop's origin",
            flows::start_session(&w.edge, &with(&|c| c.notify_url = "https://evil.example/n".into()), "mada"),
            422,
            "intent_url_not_allowed",
        ),
        ("unknown session id", http::get(&w.edge.url("/v1/sessions/ps_nope")), 404, "session_not_found"),
        (
            "well-formed unknown session id",
            http::get(&w.edge.url(&format!("/v1/sessions/ps_{}_0", "ab".repeat(32)))),
            404,
            "session_not_found",
        ),
        ("unknown route", http::get(&w.edge.url("/v1/nothing")), 404, "not_found"),
        ("wrong HTTP method", http::request("DELETE", &w.edge.url("/v1/sessions")), 405, "http_method_not_allowed"),
        ("GET on a POST route", http::get(&w.edge.url("/v1/methods")), 405, "http_method_not_allowed"),
        (
            "return for an unknown session",
            http::get(&w.edge.url("/v1/return/sandbox/ps_nope")),
            404,
            "session_not_found",
        ),
    ];
    let mut failures = Vec::new();
    for (what, reply, status, code) in cases {
        let is_json = reply.content_type.as_deref().is_some_and(|c| c.starts_with("application/json"));
        let got_code = serde_json::from_str::<serde_json::Value>(&reply.body)
            .ok()
            .and_then(|v| v["error"]["code"].as_str().map(str::to_string))
            .unwrap_or_default();
        let message_ok = serde_json::from_str::<serde_json::Value>(&reply.body)
            .ok()
            .is_some_and(|v| v["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
        if reply.status != status || got_code != code || !is_json || !message_ok {
            failures.push(format!("{what}: expected {status} {code}, got {} {}", reply.status, reply.body));
        }
    }
    assert!(failures.is_empty(), "bad inputs not handled:\n{}", failures.join("\n"));
}

#[test]
fn methods_come_in_display_order_with_mada_first() {
    let w = world();
    let mut c = claims(&w.config, &reference("order"), 4550);
    c.methods = vec!["mastercard".into(), "visa".into(), "mada".into(), "applepay".into()];
    let r = http::post_json(&w.edge.url("/v1/methods"), &serde_json::json!({"intent": sign(&w.config, &c)}));
    assert_eq!(r.status, 200, "{}", r.body);
    let codes: Vec<String> =
        r.json()["methods"].as_array().unwrap().iter().map(|m| m["code"].as_str().unwrap().to_string()).collect();
    assert_eq!(codes, ["mada", "visa", "mastercard"], "applepay has no gateway in the sandbox");
    assert_eq!(r.json()["amount_display"], "45.50");
}

#[test]
fn sessions_are_idempotent_per_intent_and_method() {
    let w = world();
    let intent = sign(&w.config, &claims(&w.config, &reference("idem"), 2500));
    let first = flows::start_session(&w.edge, &intent, "mada");
    let again = flows::start_session(&w.edge, &intent, "mada");
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.json()["id"], again.json()["id"], "a double click must reuse the session");
    assert_eq!(flows::hosted_url(&first), flows::hosted_url(&again), "one gateway session");
    let visa = flows::start_session(&w.edge, &intent, "visa");
    assert_ne!(visa.json()["id"], first.json()["id"], "another method gets its own session");
    let old = http::get(&w.edge.url(&format!("/v1/sessions/{}", first.json()["id"].as_str().unwrap())));
    assert_eq!(old.json()["next_action"]["type"], "none", "the superseded session can no longer be paid");
    // The same reference with another amount is refused, not silently merged.
    let other = sign(&w.config, &{
        let mut c = claims(&w.config, first.json()["reference"].as_str().unwrap(), 9999);
        c.methods.push("visa".into());
        c
    });
    let reused = flows::start_session(&w.edge, &other, "mada");
    assert_eq!((reused.status, reused.error_code().as_str()), (409, "reference_reused"));
    assert!(reused.body.contains("amount 99.99 SAR, first"), "it says what differs: {}", reused.body);
    // And with other URLs: the results would go elsewhere, or the shopper would.
    for (field, url) in [
        ("notify_url", format!("{}/other-notify", w.config.origin)),
        ("return_url", "https://elsewhere.example/r".into()),
    ] {
        let mut c = claims(&w.config, first.json()["reference"].as_str().unwrap(), 2500);
        if field == "notify_url" {
            c.notify_url = url.clone();
        } else {
            c.return_url = url.clone();
        }
        let reused = flows::start_session(&w.edge, &sign(&w.config, &c), "mada");
        assert_eq!(
            (reused.status, reused.error_code().as_str()),
            (409, "reference_reused"),
            "{field}: {}",
            reused.body
        );
        assert!(reused.body.contains(&format!("{field} {url}, first")), "it names the URL: {}", reused.body);
    }
}

#[test]
fn an_approved_card_pays_and_notifies_the_shop_exactly_once() {
    let w = world();
    let r = reference("approve");
    let back = flows::pay(&w.edge, &w.config, &r, 4550, "mada", "4464040000000007");
    assert_eq!(back.status, 303);
    let to_shop = back.location.unwrap();
    assert!(to_shop.starts_with(&format!("{}/return?", w.config.origin)), "{to_shop}");
    assert!(to_shop.contains("status=paid"), "{to_shop}");
    // The sandbox webhook follows the return; wait until it has been processed too.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let got = notifications_for(w, &r);
    assert_eq!(got.len(), 1, "exactly one notification: {got:?}");
    let n = &got[0];
    assert_eq!(serde_json::to_value(n.event_type).unwrap(), "payment.succeeded");
    assert_eq!((n.amount, n.currency.as_str(), n.method.as_str()), (4550, "SAR", "mada"));
    assert_eq!((n.gateway.as_str(), n.shop_id.as_str()), ("sandbox", "acme"));
    assert_eq!(n.card_last4.as_deref(), Some("0007"));
    assert_eq!(n.card_brand.as_deref(), Some("mada"));
    assert!(n.event_id.starts_with("evt_"));
}

#[test]
fn a_declined_card_fails_with_the_reason() {
    let w = world();
    let r = reference("decline");
    let back = flows::pay(&w.edge, &w.config, &r, 1000, "visa", "4000000000009995");
    assert!(back.location.as_deref().unwrap().contains("status=failed"));
    let got = eventually(10, "the failure notification", || {
        let n = notifications_for(w, &r);
        (!n.is_empty()).then_some(n)
    });
    assert_eq!(serde_json::to_value(got[0].event_type).unwrap(), "payment.failed");
    assert_eq!(got[0].error.as_ref().unwrap().code, "insufficient_funds");
    // A failed payment cannot be restarted under the same reference.
    let again = flows::start_session(&w.edge, &sign(&w.config, &claims(&w.config, &r, 1000)), "visa");
    assert_eq!((again.status, again.error_code().as_str()), (409, "payment_finished"));
}

#[test]
fn three_d_secure_challenge_passes_with_the_code_and_fails_without() {
    let w = world();
    for (code, expected) in [("123456", "paid"), ("000000", "failed")] {
        let r = reference("3ds");
        let intent = sign(&w.config, &claims(&w.config, &r, 12000));
        let session = flows::start_session(&w.edge, &intent, "visa");
        let url = flows::hosted_url(&session);
        let challenge = flows::submit_card(&url, "4000000000003220");
        assert_eq!(challenge.status, 200);
        assert!(challenge.body.contains("challenge-form"), "a challenge page: {}", challenge.body);
        let before = http::get(&w.edge.url(&format!("/v1/sessions/{}", session.json()["id"].as_str().unwrap())));
        assert_eq!(before.json()["status"], "pending");
        let done = flows::submit_challenge(&url, code);
        assert_eq!(done.status, 303);
        let back = http::get(done.location.as_deref().unwrap());
        assert!(back.location.as_deref().unwrap().contains(&format!("status={expected}")));
    }
}

#[test]
fn return_and_webhook_racing_give_one_transition_and_one_notification() {
    let w = world();
    let r = reference("race");
    let intent = sign(&w.config, &claims(&w.config, &r, 3000));
    let session = flows::start_session(&w.edge, &intent, "mastercard");
    let page = flows::submit_card(&flows::hosted_url(&session), "5555555555554444");
    let return_url = page.location.unwrap();
    let handles: Vec<_> = (0..6)
        .map(|_| {
            let u = return_url.clone();
            std::thread::spawn(move || http::get(&u))
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap().status, 303);
    }
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert_eq!(notifications_for(w, &r).len(), 1);
}

#[test]
fn webhooks_must_carry_a_valid_signature() {
    let w = world();
    let url = w.edge.url("/v1/webhooks/sandbox");
    let body = br#"{"id":"e","type":"payment.updated","data":{"id":"sbx_x","reference":"acme:nope","status":"succeeded","amount":1,"currency":"SAR","method":"visa","hosted_url":"u"}}"#;
    let now = bawaba_tests::now();
    let cases = [
        (None, "signature_missing"),
        (Some("nonsense".to_string()), "signature_malformed"),
        (Some(sandbox::webhook::sign(b"wrong-secret", now, body)), "signature_invalid"),
        (Some(sandbox::webhook::sign(w.edge.webhook_secret.as_bytes(), now - 3600, body)), "signature_expired"),
    ];
    for (header, code) in cases {
        let headers: Vec<(&str, &str)> = header.iter().map(|h| (sandbox::webhook::HEADER, h.as_str())).collect();
        let r = http::post_with_headers(&url, &headers, body);
        assert_eq!((r.status, r.error_code()), (401, code.to_string()));
    }
    // Correctly signed but for a payment the edge never created: acknowledged, nothing happens.
    let good = sandbox::webhook::sign(w.edge.webhook_secret.as_bytes(), now, body);
    let r = http::post_with_headers(&url, &[(sandbox::webhook::HEADER, &good)], body);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["known"], false);
}

#[test]
fn the_sandbox_api_refuses_a_wrong_key() {
    let w = world();
    let r = http::post_with_headers(&w.edge.url("/sandbox/api/payments"), &[("Authorization", "Bearer wrong")], b"{}");
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"]["type"], "authentication_error");
}

#[test]
fn api_answers_carry_cors_headers_even_when_relayed_from_a_payment_object() {
    let w = world();
    let intent = sign(&w.config, &claims(&w.config, &reference("cors"), 1000));
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    for (path, body) in [
        ("/v1/methods", serde_json::json!({"intent": intent})),
        ("/v1/sessions", serde_json::json!({"intent": intent, "method": "visa"})),
    ] {
        let resp = agent
            .post(&w.edge.url(path))
            .header("Origin", &w.config.origin)
            .header("Content-Type", "application/json")
            .send(body.to_string().as_bytes())
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200, "{path}");
        assert_eq!(
            resp.headers().get("access-control-allow-origin").and_then(|v| v.to_str().ok()),
            Some(w.config.origin.as_str()),
            "{path} must be readable by the widget on the shop's registered origin"
        );
    }
}
