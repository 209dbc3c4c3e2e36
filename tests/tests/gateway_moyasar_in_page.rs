//! STC Pay and Apple Pay taken in the page, through the real edge in workerd, against the fake
//! Moyasar's payments API on 127.0.0.1: the mobile number then the one-time code, Moyasar's
//! sandbox outcomes, codes sent twice or for a decided payment, numbers the edge refuses before
//! any call, Apple Pay merchant validation for the shop's domain only, tokens charged at once,
//! and the domain-association file.

use bawaba_core::notification::Notification;
use bawaba_tests::edge::{eventually, Edge, EdgeOptions, ShopConfig};
use bawaba_tests::fake_shop::FakeShop;
use bawaba_tests::fakes::moyasar::FakeMoyasar;
use bawaba_tests::fakes::Health;
use bawaba_tests::flows::{self, claims, kinds, reference, sign};
use bawaba_tests::http::{self, Reply};
use serde_json::json;
use std::sync::OnceLock;
use std::time::Duration;

const KEY: &str = "sk_test_bawaba_in_page_0123";
const PUBLISHABLE: &str = "pk_test_bawaba_in_page_0123";
const TOKEN: &str = "moyasar-webhook-token-in-page";
const APPLE: &str = "https://apple-pay-gateway-cert.apple.com/paymentservices/startSession";
const ASSOCIATION: &str = "7B227073704964223A2239373943394538343346343131343044463144313834343232393232313734313034353044314339464446394437384337313531303944334643463542433731222C2276657273696F6E223A312C22637265617465644F6E223A313535";

struct World {
    edge: Edge,
    moyasar: FakeMoyasar,
    shop: FakeShop,
    config: ShopConfig,
}

/// Session starts (and, counted apart, Apple Pay validations) per client address per minute:
/// more than the other tests here start from one address, few enough to reach quickly.
const PER_CLIENT_PER_MINUTE: usize = 60;

/// Another of Apple's validation hosts, for the limit test (the other tests count theirs).
const APPLE_FLOOD: &str = "https://apple-pay-gateway.apple.com/paymentservices/paymentSession";

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(start_world)
}

/// An edge with its own fake Moyasar and shop (the outage test takes Moyasar down).
fn start_world() -> World {
    {
        let moyasar = FakeMoyasar::start(KEY, TOKEN);
        let shop = FakeShop::start();
        let config =
            ShopConfig { id: "dukkan".into(), origin: shop.origin.clone(), secret: "dukkan-secret-0123456789".into() };
        let vars = vec![
            ("BAWABA_ROUTES".to_string(), "mada=moyasar,stcpay=moyasar,applepay=moyasar".to_string()),
            ("MOYASAR_API_BASE".into(), moyasar.api_base()),
            ("MOYASAR_SECRET_KEY".into(), KEY.into()),
            ("MOYASAR_PUBLISHABLE_KEY".into(), PUBLISHABLE.into()),
            ("MOYASAR_WEBHOOK_SECRET".into(), TOKEN.into()),
            ("APPLE_PAY_DOMAIN_ASSOCIATION".into(), ASSOCIATION.into()),
            ("GATEWAY_TIMEOUT_MS".into(), "2000".into()),
            ("LIMIT_SESSIONS_PER_CLIENT_PER_MINUTE".into(), PER_CLIENT_PER_MINUTE.to_string()),
        ];
        let edge = Edge::start(EdgeOptions { shops: vec![config.clone()], vars, ..Default::default() });
        moyasar.set_webhook_url(&edge.url("/v1/webhooks/moyasar"));
        moyasar.register_applepay_domain("127.0.0.1", PUBLISHABLE);
        World { edge, moyasar, shop, config }
    }
}

fn intent(w: &World, r: &str, amount: i64) -> String {
    let mut c = claims(&w.config, r, amount);
    c.methods = vec!["mada".into(), "stcpay".into(), "applepay".into()];
    sign(&w.config, &c)
}

fn session(w: &World, body: serde_json::Value) -> Reply {
    http::post_json(&w.edge.url("/v1/sessions"), &body)
}

fn stc_pay(w: &World, intent: &str, mobile: &str) -> Reply {
    session(w, json!({"intent": intent, "method": "stcpay", "mobile": mobile, "locale": "ar"}))
}

fn otp(w: &World, session_id: &str, code: &str) -> Reply {
    http::post_json(&w.edge.url(&format!("/v1/sessions/{session_id}/otp")), &json!({ "otp": code }))
}

fn notifications(w: &World, r: &str) -> Vec<Notification> {
    flows::notifications(&w.shop, &w.config, r)
}

/// Follows the edge's own return route (where a payment made in the page goes on) to the shop.
fn back_to_shop(reply: &Reply) -> String {
    let url =
        reply.json()["next_action"]["url"].as_str().unwrap_or_else(|| panic!("no url: {}", reply.body)).to_string();
    assert!(url.starts_with(&w_edge_origin()), "the shopper goes on through the edge: {url}");
    let back = http::get(&url);
    assert_eq!(back.status, 303, "{}", back.body);
    back.location.unwrap()
}

fn w_edge_origin() -> String {
    world().edge.url("")
}

fn applepay_token() -> String {
    json!({"paymentData": {"version": "EC_v1", "data": "c2VjcmV0", "signature": "c2ln",
        "header": {"ephemeralPublicKey": "a2V5", "publicKeyHash": "aGFzaA==", "transactionId": "abc"}},
        "paymentMethod": {"displayName": "mada 1010", "network": "mada", "type": "debit"},
        "transactionIdentifier": "ABC"})
    .to_string()
}

#[test]
fn the_methods_say_how_the_widget_takes_each() {
    let w = world();
    let r = reference("ip-methods");
    let flows = flows::method_flows(&w.edge, &intent(w, &r, 4550));
    let flows: Vec<(&str, &str)> = flows.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    assert_eq!(flows, [("mada", "redirect"), ("applepay", "applepay"), ("stcpay", "otp")]);
}

#[test]
fn stc_pay_takes_the_number_then_the_code_and_pays_once() {
    let w = world();
    let r = reference("ip-stc-ok");
    let started = stc_pay(w, &intent(w, &r, 4550), "+966 55 100 0001");
    assert_eq!(started.status, 200, "{}", started.body);
    let view = started.json();
    assert_eq!(view["next_action"], json!({"type": "otp"}), "the widget asks for the code: {view}");
    assert!(!started.body.contains("stc_pays") && !started.body.contains("otp_id"), "the code's url stays in the edge");
    let payment =
        w.moyasar.direct_payments().into_iter().find(|p| p["metadata"]["bawaba_reference"] == format!("dukkan:{r}"));
    let payment = payment.expect("Moyasar has the STC Pay payment");
    assert_eq!(payment["source"]["mobile"], "0551000001", "the national form Moyasar asks for");
    assert_eq!(payment["status"], "initiated");
    let id = view["id"].as_str().unwrap();

    let paid = otp(w, id, "١٢٣٤٥٦");
    assert_eq!(paid.status, 200, "{}", paid.body);
    assert_eq!(paid.json()["status"], "paid");
    assert!(back_to_shop(&paid).contains("status=paid"));
    // The webhook for the same payment arrives too: the shop still hears once.
    eventually(10, "Moyasar's webhook", || (w.moyasar.webhooks_sent() > 0).then_some(()));
    std::thread::sleep(Duration::from_millis(500));
    let got = eventually(10, "the result", || Some(notifications(w, &r)).filter(|n| !n.is_empty()));
    assert_eq!(kinds(&got), ["payment.succeeded"]);
    assert_eq!(
        (got[0].method.as_str(), got[0].gateway_payment_id.as_str()),
        ("stcpay", payment["id"].as_str().unwrap())
    );

    // A code sent again (a double tap, a replay) reaches no one: the payment is decided.
    let again = otp(w, id, "123456");
    assert_eq!((again.status, again.error_code().as_str()), (409, "otp_not_expected"));
    assert_eq!(w.moyasar.otps_received(payment["id"].as_str().unwrap()), 1);
    assert_eq!(kinds(&notifications(w, &r)), ["payment.succeeded"]);
}

#[test]
fn a_wrong_code_fails_the_payment_with_the_reason() {
    let w = world();
    for (code, reason, mobile) in [
        ("999999", "authentication_failed", "0551000002"),
        ("111111", "insufficient_funds", "0551000003"),
        ("444444", "gateway_error", "0551000004"),
    ] {
        let r = reference("ip-stc-code");
        let started = stc_pay(w, &intent(w, &r, 2000), mobile);
        let id = started.json()["id"].as_str().unwrap().to_string();
        let failed = otp(w, &id, code);
        assert_eq!(failed.status, 200, "{}", failed.body);
        assert_eq!(failed.json()["status"], "failed", "{code}");
        assert_eq!(failed.json()["error"]["code"], reason, "{code}: {}", failed.body);
        assert!(back_to_shop(&failed).contains("status=failed"));
        let got = eventually(10, "the failure", || Some(notifications(w, &r)).filter(|n| !n.is_empty()));
        assert_eq!(kinds(&got), ["payment.failed"], "{code}");
    }
}

#[test]
fn numbers_and_codes_that_cannot_be_are_refused_before_any_call() {
    let w = world();
    let r = reference("ip-stc-bad");
    let token = intent(w, &r, 2000);
    let ours = || {
        w.moyasar
            .direct_payments()
            .into_iter()
            .filter(|p| p["metadata"]["bawaba_reference"] == format!("dukkan:{r}"))
            .count()
    };
    for mobile in ["", "0112345678", "05512", "+971551234567", "055-abc-4567"] {
        let refused = stc_pay(w, &token, mobile);
        assert_eq!(
            (refused.status, refused.error_code().as_str()),
            (422, "mobile_invalid"),
            "{mobile:?}: {}",
            refused.body
        );
    }
    let token_for_stc = session(w, json!({"intent": token, "method": "stcpay", "applepay_token": applepay_token()}));
    assert_eq!(token_for_stc.error_code(), "wallet_not_expected");
    let number_for_mada = session(w, json!({"intent": token, "method": "mada", "mobile": "0551000005"}));
    assert_eq!(number_for_mada.error_code(), "wallet_not_expected");
    assert_eq!(ours(), 0, "nothing reached Moyasar");

    let started = stc_pay(w, &token, "0551000005");
    let id = started.json()["id"].as_str().unwrap().to_string();
    for code in ["12", "123456789", "12ab56", ""] {
        let refused = otp(w, &id, code);
        assert_eq!((refused.status, refused.error_code().as_str()), (422, "otp_invalid"), "{code:?}");
    }
    assert_eq!(ours(), 1);
    let gateway_id = w
        .moyasar
        .direct_payments()
        .into_iter()
        .find(|p| p["metadata"]["bawaba_reference"] == format!("dukkan:{r}"))
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(w.moyasar.otps_received(&gateway_id), 0, "no malformed code was sent");
    let unknown = otp(w, "ps_nope_1", "123456");
    assert_eq!(unknown.status, 404, "{}", unknown.body);
    // A hosted page takes no code.
    let hosted = session(w, json!({"intent": intent(w, &reference("ip-hosted"), 2000), "method": "mada"}));
    let hosted_id = hosted.json()["id"].as_str().unwrap().to_string();
    assert_eq!(otp(w, &hosted_id, "123456").error_code(), "otp_not_expected");
}

#[test]
fn one_mobile_number_gets_at_most_two_codes_a_minute_from_a_shop() {
    // Each STC Pay start sends a text message: a cart must not become a way to flood a phone.
    let w = world();
    let mut answers = Vec::new();
    for _ in 0..3 {
        let r = reference("ip-stc-flood");
        answers.push(stc_pay(w, &intent(w, &r, 2000), "0551000009"));
    }
    assert_eq!((answers[0].status, answers[1].status), (200, 200));
    assert_eq!((answers[2].status, answers[2].error_code().as_str()), (429, "rate_limited"), "{}", answers[2].body);
    assert!(answers[2].json()["error"]["message"].as_str().unwrap().contains("mobile number"));
    assert!(answers[2].header("Retry-After").is_some());
    let sent = w.moyasar.direct_payments().into_iter().filter(|p| p["source"]["mobile"] == "0551000009").count();
    assert_eq!(sent, 2, "the third never reached Moyasar");
}

#[test]
fn a_number_moyasar_refuses_at_once_fails_the_payment_at_once() {
    let w = world();
    let r = reference("ip-stc-unregistered");
    let started = stc_pay(w, &intent(w, &r, 2000), "0515555555");
    assert_eq!(started.status, 200, "{}", started.body);
    assert_eq!(started.json()["status"], "failed");
    assert_eq!(started.json()["error"]["code"], "card_not_supported");
    assert!(back_to_shop(&started).contains("status=failed"));
}

#[test]
fn a_code_sent_while_moyasar_is_down_leaves_the_session_waiting_and_can_be_sent_again() {
    // Unreachable is not refused: the code may or may not have arrived. The session still
    // waits, the shopper sends the code again once Moyasar answers, and it pays once.
    let w = start_world();
    let r = reference("ip-stc-outage");
    let started = stc_pay(&w, &intent(&w, &r, 3100), "0553333333");
    let id = started.json()["id"].as_str().unwrap().to_string();
    w.moyasar.set_health(Health::Failing);
    let during = otp(&w, &id, "123456");
    assert_eq!(during.status, 200, "not a refusal: {}", during.body);
    assert_eq!(during.json()["next_action"], json!({"type": "otp"}), "still waiting for the code: {}", during.body);
    assert_ne!(during.json()["status"], "paid");
    w.moyasar.set_health(Health::Up);
    let again = otp(&w, &id, "123456");
    assert_eq!(again.json()["status"], "paid", "{}", again.body);
    let got = eventually(10, "the result", || Some(notifications(&w, &r)).filter(|n| !n.is_empty()));
    assert_eq!(kinds(&got), ["payment.succeeded"]);
}

#[test]
fn a_new_number_replaces_the_session_waiting_for_a_code() {
    let w = world();
    let r = reference("ip-stc-retyped");
    let token = intent(w, &r, 3000);
    let first = stc_pay(w, &token, "0551111111").json()["id"].as_str().unwrap().to_string();
    let second = stc_pay(w, &token, "0552222222").json()["id"].as_str().unwrap().to_string();
    assert_ne!(first, second, "another number is a new session, never the old one reused");
    assert_eq!(otp(w, &first, "123456").error_code(), "otp_not_expected", "the replaced session takes no code");
    assert_eq!(otp(w, &second, "123456").json()["status"], "paid");
}

fn validate(w: &World, r: &str, url: &str, origin: &str) -> Reply {
    let body = json!({"intent": intent(w, r, 25000), "validation_url": url}).to_string();
    http::post_with_headers(
        &w.edge.url("/v1/applepay/validate"),
        &[("Content-Type", "application/json"), ("Origin", origin)],
        body.as_bytes(),
    )
}

#[test]
fn apple_pay_merchant_validation_is_for_apples_hosts_and_the_shops_domain_only() {
    let w = world();
    let r = reference("ip-ap-validate");
    let ok = validate(w, &r, APPLE, &w.config.origin);
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.json()["domainName"], "127.0.0.1");
    assert!(ok.json()["merchantSessionIdentifier"].as_str().unwrap().starts_with("SSH"));
    let sent = w.moyasar.applepay_requests().into_iter().rev().find(|r| r["validation_url"] == APPLE).unwrap();
    assert_eq!(sent["display_name"].as_str(), Some("dukkan"));
    assert_eq!(sent["publishable_api_key"], PUBLISHABLE);

    // Counted by URL: the tests run in parallel against one fake.
    let reached = |url: &str| w.moyasar.applepay_requests().iter().filter(|r| r["validation_url"] == url).count();
    let urls = [
        "https://evil.example/startSession",
        "http://apple-pay-gateway.apple.com/x",
        "https://apple-pay-gateway.apple.com.evil.example/x",
    ];
    let before: usize = urls.iter().map(|u| reached(u)).sum::<usize>() + reached(APPLE);
    for url in [
        "https://evil.example/startSession",
        "http://apple-pay-gateway.apple.com/x",
        "https://apple-pay-gateway.apple.com.evil.example/x",
    ] {
        let refused = validate(w, &r, url, &w.config.origin);
        assert_eq!((refused.status, refused.error_code().as_str()), (422, "applepay_validation_url_invalid"), "{url}");
    }
    let elsewhere = validate(w, &r, APPLE, "https://other-shop.example");
    assert_eq!(elsewhere.status, 422, "a page that is not the shop's: {}", elsewhere.body);
    let after: usize = urls.iter().map(|u| reached(u)).sum::<usize>() + reached(APPLE);
    assert_eq!(after, before, "none of them reached Moyasar");
}

#[test]
fn apple_pay_merchant_validations_are_limited_per_client_address() {
    // Each validation is a call to the gateway: a page looping on them is refused like a
    // shopper starting too many sessions, in counters of its own.
    let w = world();
    let r = reference("ip-ap-flood");
    let from = |ip: &str| {
        let body = json!({"intent": intent(w, &r, 25000), "validation_url": APPLE_FLOOD}).to_string();
        let headers =
            [("Content-Type", "application/json"), ("Origin", w.config.origin.as_str()), ("CF-Connecting-IP", ip)];
        http::post_with_headers(&w.edge.url("/v1/applepay/validate"), &headers, body.as_bytes())
    };
    bawaba_tests::wait_for_a_fresh_minute(20);
    let flood = || w.moyasar.applepay_requests().iter().filter(|r| r["validation_url"] == APPLE_FLOOD).count();
    let before = flood();
    for i in 0..PER_CLIENT_PER_MINUTE {
        assert_eq!(from("203.0.113.70").status, 200, "validation {}", i + 1);
    }
    let refused = from("203.0.113.70");
    assert_eq!((refused.status, refused.error_code().as_str()), (429, "rate_limited"), "{}", refused.body);
    assert!(refused.header("Retry-After").is_some());
    assert_eq!(flood(), before + PER_CLIENT_PER_MINUTE, "the refused one never reached Moyasar");
    assert_eq!(from("203.0.113.71").status, 200, "another shopper is not affected");
    // Sessions keep their own count: the same address still starts a payment.
    let started = http::post_with_headers(
        &w.edge.url("/v1/sessions"),
        &[("Content-Type", "application/json"), ("CF-Connecting-IP", "203.0.113.70")],
        json!({"intent": intent(w, &reference("ip-ap-flood-pay"), 2000), "method": "mada"}).to_string().as_bytes(),
    );
    assert_eq!(started.status, 200, "{}", started.body);
}

#[test]
fn an_apple_pay_token_is_charged_at_once_and_its_result_is_the_gateways() {
    let w = world();
    for (amount, status, reason) in [(25_000, "paid", None), (110_500, "failed", Some("insufficient_funds"))] {
        let r = reference("ip-ap-pay");
        let answer = session(
            w,
            json!({"intent": intent(w, &r, amount), "method": "applepay", "applepay_token": applepay_token()}),
        );
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_eq!(answer.json()["status"], status, "{}", answer.body);
        assert_eq!(answer.json()["error"]["code"].as_str(), reason);
        assert!(back_to_shop(&answer).contains(&format!("status={status}")));
        let got = eventually(10, "the result", || Some(notifications(w, &r)).filter(|n| !n.is_empty()));
        let want = if status == "paid" { "payment.succeeded" } else { "payment.failed" };
        assert_eq!(kinds(&got), [want]);
        if status == "paid" {
            assert_eq!((got[0].card_brand.as_deref(), got[0].card_last4.as_deref()), (Some("mada"), Some("1010")));
        }
    }
    let r = reference("ip-ap-bad");
    for token in ["not json", "\"a string\"", ""] {
        let refused =
            session(w, json!({"intent": intent(w, &r, 25_000), "method": "applepay", "applepay_token": token}));
        assert_eq!((refused.status, refused.error_code().as_str()), (422, "applepay_token_invalid"), "{token:?}");
    }
}

#[test]
fn the_domain_association_file_is_served_as_set() {
    let w = world();
    let file = http::get(&w.edge.url("/.well-known/apple-developer-merchantid-domain-association"));
    assert_eq!(file.status, 200);
    assert_eq!(file.body, ASSOCIATION);
    assert!(file.content_type.unwrap_or_default().starts_with("text/plain"));
}

#[test]
fn an_apple_pay_charge_whose_answer_is_lost_is_found_by_its_given_id_and_told_once() {
    // Its own Moyasar: this one loses its answers.
    let w = start_world();
    w.moyasar.lose_payment_answers(true);
    let r = reference("ip-ap-lost");
    // Moyasar charged, then answered 500: the edge named the payment (given_id) before the
    // call, asks Moyasar about it, and learns it is paid.
    let answer = session(
        &w,
        json!({"intent": intent(&w, &r, 25_000), "method": "applepay", "applepay_token": applepay_token()}),
    );
    assert_eq!((answer.status, answer.json()["status"].as_str()), (200, Some("paid")), "{}", answer.body);
    let got = eventually(10, "the result", || Some(notifications(&w, &r)).filter(|n| !n.is_empty()));
    assert_eq!(kinds(&got), ["payment.succeeded"]);
    std::thread::sleep(std::time::Duration::from_millis(800));
    assert_eq!(kinds(&notifications(&w, &r)), ["payment.succeeded"], "told once");
    let made = w.moyasar.direct_payments();
    assert_eq!(made.len(), 1, "one charge: {made:?}");
    let id = made[0]["id"].as_str().unwrap();
    assert_eq!((id.len(), &id[14..15]), (36, "4"), "a UUID v4 of ours: {id}");
}
