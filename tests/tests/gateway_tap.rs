//! Tap through the real edge in workerd, against the fake Tap on 127.0.0.1: a charge on the
//! hosted page, approve, decline, 3-D Secure for mada, tampered amount, `hashstring` webhooks,
//! duplicates, refunds, unsupported void and capture, credentials check, and outages.

use bawaba_core::gateway::tap::{webhook, wire::Charge};
use bawaba_core::notification::Notification;
use bawaba_tests::edge::{eventually, Edge, EdgeOptions, ShopConfig};
use bawaba_tests::fake_shop::FakeShop;
use bawaba_tests::fakes::tap::FakeTap;
use bawaba_tests::fakes::Health;
use bawaba_tests::flows::{self, back_through_edge, claims, kinds, reference, sign, signed_post};
use bawaba_tests::http::{self, Reply};
use std::sync::OnceLock;
use std::time::Duration;

const KEY: &str = "sk_test_tap_0123456789";

struct World {
    edge: Edge,
    tap: FakeTap,
    shop: FakeShop,
    config: ShopConfig,
}

fn start() -> World {
    let tap = FakeTap::start(KEY);
    let shop = FakeShop::start();
    let config = ShopConfig { id: "dukkan".into(), origin: shop.origin.clone(), secret: "dukkan-secret-012345".into() };
    let vars = vec![
        ("BAWABA_ROUTES".to_string(), "mada=tap,visa=tap,mastercard=tap,applepay=tap".to_string()),
        ("TAP_API_BASE".into(), tap.api_base()),
        ("TAP_SECRET_KEY".into(), KEY.into()),
        ("GATEWAY_TIMEOUT_MS".into(), "2000".into()),
    ];
    let edge = Edge::start(EdgeOptions { shops: vec![config.clone()], vars, ..Default::default() });
    World { edge, tap, shop, config }
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(start)
}

fn notifications(w: &World, r: &str) -> Vec<Notification> {
    flows::notifications(&w.shop, &w.config, r)
}

fn open(w: &World, r: &str, amount: i64, method: &str) -> (String, String) {
    let session = flows::start_session(&w.edge, &sign(&w.config, &claims(&w.config, r, amount)), method);
    assert_eq!(session.status, 200, "{}", session.body);
    assert_eq!(session.json()["gateway"], "tap");
    let url = flows::hosted_url(&session);
    assert!(url.starts_with(&w.tap.base), "{url}");
    (url.rsplit('/').next().unwrap().to_string(), url)
}

fn pay(url: &str, number: &str) -> Reply {
    assert!(http::get(url).body.contains("id=number"));
    http::post_form(url, &[("number", number), ("expiry", "01/39"), ("cvc", "100")])
}

#[test]
fn approve_with_one_result_and_the_card_and_tap_id() {
    let w = world();
    let r = reference("tap-ok");
    let (charge, url) = open(w, &r, 4550, "visa");
    let paid = pay(&url, "4508750015741019");
    assert!(paid.location.as_deref().unwrap().contains(&format!("tap_id={charge}")));
    assert!(back_through_edge(&paid).location.unwrap().contains("status=paid"));
    eventually(10, "Tap's webhook", || (w.tap.webhooks_sent() > 0).then_some(()));
    std::thread::sleep(Duration::from_millis(500));
    let got = notifications(w, &r);
    assert_eq!(kinds(&got), ["payment.succeeded"]);
    assert_eq!((got[0].amount, got[0].gateway_payment_id.as_str()), (4550, charge.as_str()));
    assert_eq!((got[0].card_brand.as_deref(), got[0].card_last4.as_deref()), (Some("visa"), Some("1019")));
}

#[test]
fn decline_and_three_d_secure() {
    let w = world();
    let r = reference("tap-decline");
    let (_, url) = open(w, &r, 1000, "visa");
    assert!(back_through_edge(&pay(&url, "4000000000000002")).location.unwrap().contains("status=failed"));
    let got = eventually(10, "the failure", || Some(notifications(w, &r)).filter(|n| !n.is_empty()));
    assert_eq!(got[0].error.as_ref().unwrap().code, "insufficient_funds");
    for (button, expected) in [("ok", "paid"), ("fail", "failed")] {
        let r = reference("tap-3ds");
        let (_, url) = open(w, &r, 30000, "mada");
        let challenge = pay(&url, "4464040000000007");
        assert!(challenge.body.contains("3-D Secure"));
        let done = http::post_form(&format!("{url}/3ds"), &[("result", button)]);
        assert!(back_through_edge(&done).location.unwrap().contains(&format!("status={expected}")));
    }
}

#[test]
fn kwd_amounts_keep_three_decimals() {
    let w = world();
    let r = reference("tap-kwd");
    let mut c = claims(&w.config, &r, 1250);
    c.currency = "KWD".into();
    let session = flows::start_session(&w.edge, &sign(&w.config, &c), "visa");
    assert_eq!(session.status, 200, "{}", session.body);
    let charge_id = flows::hosted_url(&session).rsplit('/').next().unwrap().to_string();
    assert_eq!(w.tap.charge(&charge_id).unwrap()["amount"].as_f64(), Some(1.25), "1.250 KWD");
    let mada_kwd = flows::start_session(&w.edge, &sign(&w.config, &c), "mada");
    assert_eq!((mada_kwd.status, mada_kwd.error_code().as_str()), (422, "method_not_allowed"), "mada is SAR only");
}

#[test]
fn a_result_for_another_amount_is_a_failure() {
    let w = world();
    let r = reference("tap-tamper");
    let (charge, url) = open(w, &r, 9900, "visa");
    w.tap.tamper_amount(&charge, 1.0);
    assert!(back_through_edge(&pay(&url, "4508750015741019")).location.unwrap().contains("status=failed"));
    let got = eventually(10, "the failure", || Some(notifications(w, &r)).filter(|n| !n.is_empty()));
    assert_eq!(got[0].error.as_ref().unwrap().code, "amount_mismatch");
}

#[test]
fn hashstring_webhooks_valid_missing_invalid_and_duplicated() {
    let w = world();
    let r = reference("tap-hook");
    let (charge_id, url) = open(w, &r, 2500, "mastercard");
    // Paid at Tap, but the shopper never comes back: the webhook must do it.
    assert_eq!(pay(&url, "5123450000000008").status, 303);
    let charge = w.tap.charge(&charge_id).unwrap();
    let body = charge.to_string();
    let parsed: Charge = serde_json::from_value(charge.clone()).unwrap();
    let hook = w.edge.url("/v1/webhooks/tap");
    let good = webhook::sign(KEY.as_bytes(), &parsed).unwrap();
    let wrong = webhook::sign(b"sk_test_other", &parsed).unwrap();
    for (header, code) in [(None, "signature_missing"), (Some(wrong.as_str()), "signature_invalid")] {
        let headers: Vec<(&str, &str)> = header.iter().map(|h| (webhook::HEADER, *h)).collect();
        let reply = http::post_with_headers(&hook, &headers, body.as_bytes());
        assert_eq!((reply.status, reply.error_code()), (401, code.to_string()));
    }
    let mut tampered = charge.clone();
    tampered["amount"] = serde_json::json!(0.01);
    let reply = http::post_with_headers(&hook, &[(webhook::HEADER, &good)], tampered.to_string().as_bytes());
    assert_eq!(reply.status, 401, "a changed body no longer matches its hashstring");
    for _ in 0..4 {
        assert_eq!(http::post_with_headers(&hook, &[(webhook::HEADER, &good)], body.as_bytes()).status, 200);
    }
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(kinds(&notifications(w, &r)), ["payment.succeeded"]);
}

#[test]
fn refunds_and_what_tap_charges_cannot_do() {
    let w = world();
    let r = reference("tap-refund");
    let (_, url) = open(w, &r, 5000, "visa");
    back_through_edge(&pay(&url, "4508750015741019"));
    let post = |path: &str, amount: Option<i64>| {
        let mut body = serde_json::json!({"reference": r});
        if let Some(a) = amount {
            body["amount"] = a.into();
        }
        signed_post(&w.edge, &w.config, path, &body)
    };
    assert_eq!(post("/v1/refunds", Some(2000)).json()["refunded_total"], 2000);
    let over = post("/v1/refunds", Some(3001));
    assert_eq!((over.status, over.error_code().as_str()), (422, "refund_exceeds_payment"));
    assert_eq!(post("/v1/refunds", None).json()["payment_state"], "refunded");
    let void = post("/v1/voids", None);
    assert_eq!(void.status, 409, "{}", void.body);
    let got = eventually(10, "the refunds", || Some(notifications(w, &r)).filter(|n| n.len() == 3));
    assert_eq!(got.iter().map(|n| n.amount).collect::<Vec<_>>(), [5000, 2000, 3000]);

    let r2 = reference("tap-void");
    let (_, url) = open(w, &r2, 5000, "visa");
    back_through_edge(&pay(&url, "4508750015741019"));
    let void = signed_post(&w.edge, &w.config, "/v1/voids", &serde_json::json!({"reference": r2}));
    assert_eq!((void.status, void.error_code().as_str()), (422, "operation_not_supported"));
}

#[test]
fn check_connection_and_outages() {
    let w = start();
    let check = || {
        let reply = signed_post(&w.edge, &w.config, "/v1/check", &serde_json::json!({"currency": "SAR"}));
        reply.json()["gateways"][0]["verdict"].as_str().unwrap().to_string()
    };
    assert_eq!(check(), "ok");
    w.tap.set_secret_key("sk_test_new");
    assert_eq!(check(), "invalid_credentials");
    w.tap.set_secret_key(KEY);
    let intent = sign(&w.config, &claims(&w.config, &reference("tap-outage"), 700));
    for health in [Health::Failing, Health::Hanging] {
        w.tap.set_health(health);
        assert_eq!(check(), "unreachable");
        let reply = flows::start_session(&w.edge, &intent, "visa");
        assert_eq!((reply.status, reply.error_code().as_str()), (502, "gateway_unavailable"));
    }
    w.tap.set_health(Health::Up);
    assert_eq!(flows::start_session(&w.edge, &intent, "visa").status, 200);
}

#[test]
fn without_the_merchants_apple_merchant_apple_pay_stays_on_taps_page() {
    let w = world();
    let mut c = claims(&w.config, &reference("tap-ap-hosted"), 4550);
    c.methods = vec!["visa".into(), "applepay".into()];
    let answer = http::post_json(&w.edge.url("/v1/methods"), &serde_json::json!({ "intent": sign(&w.config, &c) }));
    assert_eq!(answer.status, 200, "{}", answer.body);
    let applepay = answer.json()["methods"].as_array().unwrap().iter().find(|m| m["code"] == "applepay").cloned();
    assert_eq!(applepay.expect("offered")["flow"], "redirect", "no APPLE_PAY_MERCHANT_ID: Tap's hosted source");
}
