//! Apple Pay in the page through HyperPay with the merchant's own Apple merchant, through the
//! real edge in workerd: the merchant validated with (fake) Apple through the identity
//! certificate binding, the sheet's token charged server-to-server on HyperPay's Apple Pay
//! entity (the fake HyperPay refuses it elsewhere), and the payment read back there: paid once,
//! declined, held for review (never paid), another amount (never paid), a token that is not
//! Apple's (refused before any call), HyperPay unreachable (`gateway_unavailable`), and 3-D
//! Secure at HyperPay's page, back through the edge.

use base64::Engine;
use bawaba_core::notification::Notification;
use bawaba_tests::edge::{eventually, AppleMerchantBinding, Edge, EdgeOptions, ShopConfig};
use bawaba_tests::fake_shop::FakeShop;
use bawaba_tests::fakes::apple::FakeApple;
use bawaba_tests::fakes::hyperpay::FakeHyperPay;
use bawaba_tests::fakes::Health;
use bawaba_tests::flows::{self, claims, kinds, reference, sign};
use bawaba_tests::http::{self, Reply};
use serde_json::json;
use std::sync::OnceLock;
use std::time::Duration;

const TOKEN: &str = "OGFjN2E0Yzk4ZmFrZXRva2VuQVA=";
const KEY: &str = "5e0b2e6a9f1c84e7b5a20d6c1f8e4b39a7c5d2e0f1b3a4968d7c6e5f4a3b2c1d";
const MADA: &str = "8ac7a4c8fake1mada";
const APPLE_ENTITY: &str = "8ac7a4c8fake1applepay";
const MERCHANT: &str = "merchant.sa.bawaba.test";
const VALIDATION_URL: &str = "https://apple-pay-gateway.apple.com/paymentservices/paymentSession";

struct World {
    edge: Edge,
    hp: FakeHyperPay,
    apple: FakeApple,
    shop: FakeShop,
    config: ShopConfig,
}

fn start() -> World {
    let hp = FakeHyperPay::start(TOKEN, &[(MADA, "mada"), (APPLE_ENTITY, "applepay")], KEY);
    let apple = FakeApple::start(MERCHANT);
    apple.register_domain("127.0.0.1");
    let shop = FakeShop::start();
    let config =
        ShopConfig { id: "dukkan".into(), origin: shop.origin.clone(), secret: "dukkan-secret-ap-0123".into() };
    let vars = vec![
        ("BAWABA_ROUTES".to_string(), "mada=hyperpay,applepay=hyperpay".to_string()),
        ("HYPERPAY_API_BASE".into(), hp.base.clone()),
        ("HYPERPAY_MODE".into(), "test".into()),
        ("HYPERPAY_ACCESS_TOKEN".into(), TOKEN.into()),
        ("HYPERPAY_ENTITY_ID_MADA".into(), MADA.into()),
        ("HYPERPAY_ENTITY_ID_APPLEPAY".into(), APPLE_ENTITY.into()),
        ("HYPERPAY_WEBHOOK_KEY".into(), KEY.into()),
        ("APPLE_PAY_MERCHANT_ID".into(), MERCHANT.into()),
        ("GATEWAY_TIMEOUT_MS".into(), "2000".into()),
    ];
    let edge = Edge::start(EdgeOptions {
        shops: vec![config.clone()],
        vars,
        apple_pay: Some(AppleMerchantBinding::for_merchant(&apple, MERCHANT)),
        ..Default::default()
    });
    hp.set_webhook_url(&edge.url("/v1/webhooks/hyperpay"));
    World { edge, hp, apple, shop, config }
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(start)
}

fn intent(w: &World, r: &str, amount: i64) -> String {
    let mut c = claims(&w.config, r, amount);
    c.methods = vec!["mada".into(), "applepay".into()];
    sign(&w.config, &c)
}

/// An Apple Pay token whose data is the fake HyperPay's outcome marker.
fn token(word: &str) -> String {
    flows::applepay_token_with("mada", &base64::engine::general_purpose::STANDARD.encode(word))
}

fn pay(w: &World, r: &str, amount: i64, token: &str) -> Reply {
    http::post_json(
        &w.edge.url("/v1/sessions"),
        &json!({"intent": intent(w, r, amount), "method": "applepay", "applepay_token": token, "locale": "en"}),
    )
}

fn notifications(w: &World, r: &str) -> Vec<Notification> {
    flows::notifications(&w.shop, &w.config, r)
}

/// The fake's payment for our reference, with the fields it was asked with.
fn asked(w: &World, r: &str) -> Vec<Vec<(String, String)>> {
    let ours = format!("dukkan:{r}");
    w.hp.payment_requests()
        .into_iter()
        .filter(|f| f.iter().any(|(k, v)| k == "merchantTransactionId" && *v == ours))
        .collect()
}

fn field<'a>(f: &'a [(String, String)], name: &str) -> Option<&'a str> {
    f.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Follows the edge's own return route (where a payment made in the page goes on) to the shop.
fn back_to_shop(reply: &Reply) -> String {
    let url =
        reply.json()["next_action"]["url"].as_str().unwrap_or_else(|| panic!("no url: {}", reply.body)).to_string();
    let back = http::get(&url);
    assert_eq!(back.status, 303, "{}", back.body);
    back.location.unwrap()
}

fn wait_for_webhooks(w: &World, before: u32) {
    eventually(10, "HyperPay's webhook", || (w.hp.webhooks_sent() > before).then_some(()));
    std::thread::sleep(Duration::from_millis(500));
}

#[test]
fn apple_pay_is_in_the_page_and_the_merchant_is_validated_with_apple() {
    let w = world();
    let r = reference("hpap-methods");
    let flows = flows::method_flows(&w.edge, &intent(w, &r, 4550));
    assert!(flows.contains(&("applepay".into(), "applepay".into())), "{flows:?}");
    assert!(flows.contains(&("mada".into(), "redirect".into())), "{flows:?}");
    let body = json!({"intent": intent(w, &r, 4550), "validation_url": VALIDATION_URL}).to_string();
    let session = http::post_with_headers(
        &w.edge.url("/v1/applepay/validate"),
        &[("Content-Type", "application/json"), ("Origin", w.config.origin.as_str())],
        body.as_bytes(),
    );
    assert_eq!(session.status, 200, "{}", session.body);
    assert!(session.json()["merchantSessionIdentifier"].as_str().unwrap().starts_with("SSH"));
    let sent = w.apple.requests().into_iter().last().unwrap();
    assert_eq!(sent["body"]["merchantIdentifier"], MERCHANT, "the merchant's own Apple merchant: {sent}");
    assert_eq!(sent["body"]["initiativeContext"], "127.0.0.1");
}

#[test]
fn a_token_is_charged_on_the_apple_pay_entity_and_paid_once() {
    let w = world();
    let r = reference("hpap-ok");
    let before = w.hp.webhooks_sent();
    let answer = pay(w, &r, 25_000, &token("approve"));
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json()["status"], "paid", "{}", answer.body);
    assert!(back_to_shop(&answer).contains("status=paid"));
    let sent = asked(w, &r);
    assert_eq!(sent.len(), 1, "one charge: {sent:?}");
    let f = &sent[0];
    assert_eq!(field(f, "entityId"), Some(APPLE_ENTITY));
    assert_eq!(
        (field(f, "amount"), field(f, "currency"), field(f, "paymentType")),
        (Some("250.00"), Some("SAR"), Some("DB"))
    );
    assert_eq!((field(f, "paymentBrand"), field(f, "applePay.source")), (Some("APPLEPAY"), Some("web")));
    let sent_token: serde_json::Value = serde_json::from_str(field(f, "applePay.paymentToken").unwrap()).unwrap();
    assert_eq!(sent_token["version"], "EC_v1", "Apple's paymentData");
    // Every call about the payment (the charge, its status) went to the Apple Pay entity.
    let payment_id =
        w.hp.calls()
            .into_iter()
            .find(|c| {
                c.op == "payment"
                    && !c.id.is_empty()
                    && w.hp.payment(&c.id).is_some_and(|p| p["merchantTransactionId"] == format!("dukkan:{r}"))
            })
            .map(|c| c.id)
            .expect("the fake has the payment");
    let ours: Vec<_> = w.hp.calls().into_iter().filter(|c| c.id == payment_id).collect();
    assert!(ours.iter().any(|c| c.op == "payment_status"), "the edge read it back: {ours:?}");
    assert!(ours.iter().all(|c| c.entity == APPLE_ENTITY), "{ours:?}");
    // HyperPay's webhook arrives too: the shop hears once.
    wait_for_webhooks(w, before);
    let got = eventually(10, "the result", || Some(notifications(w, &r)).filter(|n| !n.is_empty()));
    assert_eq!(kinds(&got), ["payment.succeeded"]);
    assert_eq!((got[0].amount, got[0].method.as_str()), (25_000, "applepay"));
    assert_eq!(got[0].gateway_payment_id, format!("applepay-payment:{payment_id}"));
    assert_eq!(got[0].card_last4.as_deref(), Some("1010"));
    // A refund acts on the payment, on its entity.
    let refund = flows::signed_post(&w.edge, &w.config, "/v1/refunds", &json!({"reference": r, "amount": 5000}));
    assert_eq!(refund.json()["refunded_total"], 5000, "{}", refund.body);
    assert_eq!(w.hp.refunded(&payment_id), 5000);
    assert!(w.hp.calls().iter().filter(|c| c.op == "RF" && c.id == payment_id).all(|c| c.entity == APPLE_ENTITY));
}

#[test]
fn a_declined_token_fails_with_its_reason() {
    let w = world();
    let r = reference("hpap-decline");
    let answer = pay(w, &r, 12_000, &token("decline"));
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json()["status"], "failed", "{}", answer.body);
    assert_eq!(answer.json()["error"]["code"], "insufficient_funds");
    assert!(back_to_shop(&answer).contains("status=failed"));
    let got = eventually(10, "the failure", || Some(notifications(w, &r)).filter(|n| !n.is_empty()));
    assert_eq!(kinds(&got), ["payment.failed"]);
}

#[test]
fn a_payment_held_for_review_stays_pending_and_is_never_paid() {
    let w = world();
    let r = reference("hpap-review");
    let before = w.hp.webhooks_sent();
    let answer = pay(w, &r, 7_700, &token("review"));
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json()["status"], "pending", "{}", answer.body);
    wait_for_webhooks(w, before);
    assert!(kinds(&notifications(w, &r)).iter().all(|k| k != "payment.succeeded"));
    let inspected = flows::signed_get(&w.edge, &w.config, &format!("/v1/payments/{r}")).json();
    assert_eq!(inspected["payment"]["state"], "pending", "{inspected}");
    assert_eq!(inspected["payment"]["sessions"][0]["last_answer"], "pending", "{inspected}");
    assert!(inspected["payment"]["charges"].as_array().unwrap().is_empty(), "no charge counted");
}

#[test]
fn a_result_for_another_amount_is_never_paid() {
    let w = world();
    let r = reference("hpap-tamper");
    w.hp.tamper_payment_amount(&format!("dukkan:{r}"), "2.50");
    let answer = pay(w, &r, 25_000, &token("approve"));
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_ne!(answer.json()["status"], "paid", "{}", answer.body);
    let got = eventually(10, "the failure", || Some(notifications(w, &r)).filter(|n| !n.is_empty()));
    assert!(kinds(&got).iter().all(|k| k != "payment.succeeded"), "{:?}", kinds(&got));
    assert_eq!(got[0].error.as_ref().unwrap().code, "amount_mismatch");
}

#[test]
fn a_token_that_is_not_apples_is_refused_before_any_call() {
    let w = world();
    let r = reference("hpap-bad");
    let not_apples =
        json!({"paymentData": {"data": "YXBwcm92ZQ=="}, "paymentMethod": {}, "transactionIdentifier": "x"});
    for bad in [not_apples.to_string().as_str(), "not json", "\"a string\""] {
        let refused = pay(w, &r, 25_000, bad);
        assert_eq!((refused.status, refused.error_code().as_str()), (422, "applepay_token_invalid"), "{bad:?}");
    }
    assert!(asked(w, &r).is_empty(), "nothing reached HyperPay");
}

#[test]
fn three_d_secure_goes_on_at_hyperpay_and_back_through_the_edge() {
    let w = world();
    let r = reference("hpap-3ds");
    let answer = pay(w, &r, 3_000, &token("3ds"));
    assert_eq!(answer.status, 200, "{}", answer.body);
    let next = &answer.json()["next_action"];
    assert_eq!(next["type"], "form_post", "{}", answer.body);
    let url = next["url"].as_str().unwrap();
    assert!(url.starts_with(&format!("{}/fake/3ds/", w.hp.base)), "{url}");
    let fields: Vec<(String, String)> =
        next["fields"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string())).collect();
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let done = http::post_form(url, &fields);
    let back = flows::back_through_edge(&done);
    assert!(back.location.unwrap().contains("status=paid"));
    let got = eventually(10, "the result", || Some(notifications(w, &r)).filter(|n| !n.is_empty()));
    assert_eq!(kinds(&got), ["payment.succeeded"]);
}

#[test]
fn an_unreachable_hyperpay_is_gateway_unavailable() {
    let w = start();
    for health in [Health::Failing, Health::Hanging] {
        w.hp.set_health(health);
        let r = reference("hpap-down");
        let down = pay(&w, &r, 2_000, &token("approve"));
        assert_eq!((down.status, down.error_code().as_str()), (502, "gateway_unavailable"), "{}", down.body);
    }
    w.hp.set_health(Health::Up);
    let up = pay(&w, &reference("hpap-up"), 2_000, &token("approve"));
    assert_eq!(up.json()["status"], "paid", "{}", up.body);
}
