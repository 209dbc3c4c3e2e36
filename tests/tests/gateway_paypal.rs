//! PayPal through the real edge in workerd, against the fake PayPal on 127.0.0.1: the OAuth2
//! token before every call, an order on the approval page, approve (the edge captures it on the
//! return, once), cancel, SAR refused, a tampered amount, webhooks verified by PayPal's own call
//! (valid, missing, forged, duplicated), refunds of the capture, the credentials check, and
//! outages.

use bawaba_core::notification::Notification;
use bawaba_tests::edge::{eventually, Edge, EdgeOptions, ShopConfig};
use bawaba_tests::fake_shop::FakeShop;
use bawaba_tests::fakes::paypal::FakePayPal;
use bawaba_tests::fakes::Health;
use bawaba_tests::flows::{self, back_through_edge, claims, kinds, reference, sign, signed_post};
use bawaba_tests::http::{self, Reply};
use std::sync::OnceLock;
use std::time::Duration;

const CLIENT_ID: &str = "AcPayPalClientId0123";
const SECRET: &str = "EPayPalSecret0123";
const WEBHOOK_ID: &str = "8PT597110X687430LKGECATA";

struct World {
    edge: Edge,
    paypal: FakePayPal,
    shop: FakeShop,
    config: ShopConfig,
}

fn start() -> World {
    let paypal = FakePayPal::start(CLIENT_ID, SECRET, WEBHOOK_ID);
    let shop = FakeShop::start();
    let config = ShopConfig { id: "dukkan".into(), origin: shop.origin.clone(), secret: "dukkan-secret-012345".into() };
    let vars = vec![
        ("BAWABA_ROUTES".to_string(), "paypal=paypal".to_string()),
        ("PAYPAL_API_BASE".into(), paypal.api_base()),
        ("PAYPAL_CLIENT_ID".into(), CLIENT_ID.into()),
        ("PAYPAL_CLIENT_SECRET".into(), SECRET.into()),
        ("PAYPAL_WEBHOOK_ID".into(), WEBHOOK_ID.into()),
        ("GATEWAY_TIMEOUT_MS".into(), "2000".into()),
    ];
    let edge = Edge::start(EdgeOptions { shops: vec![config.clone()], vars, ..Default::default() });
    paypal.set_webhook_url(&edge.url("/v1/webhooks/paypal"));
    World { edge, paypal, shop, config }
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(start)
}

fn notifications(w: &World, r: &str) -> Vec<Notification> {
    flows::notifications(&w.shop, &w.config, r)
}

fn intent(w: &World, r: &str, amount: i64, currency: &str) -> String {
    let mut c = claims(&w.config, r, amount);
    c.currency = currency.into();
    c.methods = vec!["paypal".into()];
    sign(&w.config, &c)
}

fn open(w: &World, r: &str, amount: i64) -> (String, String) {
    let session = flows::start_session(&w.edge, &intent(w, r, amount, "USD"), "paypal");
    assert_eq!(session.status, 200, "{}", session.body);
    assert_eq!(session.json()["gateway"], "paypal");
    let url = flows::hosted_url(&session);
    assert!(url.starts_with(&w.paypal.base), "{url}");
    (url.rsplit('/').next().unwrap().to_string(), url)
}

fn decide(url: &str, action: &str) -> Reply {
    assert!(http::get(url).body.contains("id=approve"));
    http::post_form(url, &[("action", action)])
}

#[test]
fn approve_is_captured_on_the_return_once() {
    let w = world();
    let r = reference("pp-ok");
    let (order, url) = open(w, &r, 4550);
    let approved = decide(&url, "approve");
    assert!(approved.location.as_deref().unwrap().contains(&format!("token={order}")));
    assert!(back_through_edge(&approved).location.unwrap().contains("status=paid"));
    let captured = w.paypal.order(&order).unwrap();
    assert_eq!(captured["status"], "COMPLETED");
    eventually(10, "PayPal's webhooks", || (w.paypal.webhooks_sent() >= 2).then_some(()));
    std::thread::sleep(Duration::from_millis(800));
    let got = notifications(w, &r);
    assert_eq!(kinds(&got), ["payment.succeeded"]);
    assert_eq!(
        (got[0].amount, got[0].currency.as_str(), got[0].gateway_payment_id.as_str()),
        (4550, "USD", order.as_str())
    );
    assert_eq!(got[0].method, "paypal");
    let captures = captured["purchase_units"][0]["payments"]["captures"].as_array().unwrap().len();
    assert_eq!(captures, 1, "captured once, whatever asked");
}

#[test]
fn cancel_stays_open_and_sar_is_not_paypals() {
    let w = world();
    let r = reference("pp-cancel");
    let (order, url) = open(w, &r, 1000);
    let back = back_through_edge(&decide(&url, "cancel"));
    assert!(back.location.unwrap().contains("status=pending"), "not approved: nothing to capture, nothing decided");
    assert_eq!(w.paypal.order(&order).unwrap()["status"], "PAYER_ACTION_REQUIRED");
    let sar = flows::start_session(&w.edge, &intent(w, &reference("pp-sar"), 1000, "SAR"), "paypal");
    assert_eq!((sar.status, sar.error_code().as_str()), (422, "method_not_allowed"), "{}", sar.body);
}

#[test]
fn a_result_for_another_amount_is_a_failure() {
    let w = world();
    let r = reference("pp-tamper");
    let (order, url) = open(w, &r, 9900);
    w.paypal.tamper_amount(&order, "1.00");
    let back = back_through_edge(&decide(&url, "approve")).location.unwrap();
    assert!(back.contains("status=failed"), "{back}");
    let got = eventually(10, "the failure", || Some(notifications(w, &r)).filter(|n| !n.is_empty()));
    assert_eq!(got[0].error.as_ref().unwrap().code, "amount_mismatch");
}

#[test]
fn webhooks_are_verified_by_paypal_then_confirm_once() {
    let w = world();
    let r = reference("pp-hook");
    let (order, url) = open(w, &r, 2500);
    // Approved at PayPal, but the shopper never comes back: the webhook must do it.
    assert_eq!(decide(&url, "approve").status, 303);
    let event = w.paypal.event("CHECKOUT.ORDER.APPROVED", &order).unwrap();
    let body = event.to_string();
    let hook = w.edge.url("/v1/webhooks/paypal");
    let reply = http::post_with_headers(&hook, &[("Content-Type", "application/json")], body.as_bytes());
    assert_eq!((reply.status, reply.error_code()), (401, "signature_missing".to_string()));
    let signed = w.paypal.sign_webhook(&event);
    let headers: Vec<(&str, &str)> = signed.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut tampered = event.clone();
    tampered["resource"]["purchase_units"][0]["amount"]["value"] = serde_json::json!("0.01");
    let reply = http::post_with_headers(&hook, &headers, tampered.to_string().as_bytes());
    assert_eq!((reply.status, reply.error_code()), (401, "signature_invalid".to_string()), "{}", reply.body);
    let forged: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| if *k == "PAYPAL-TRANSMISSION-SIG" { (*k, "Zm9yZ2Vk") } else { (*k, *v) })
        .collect();
    assert_eq!(http::post_with_headers(&hook, &forged, body.as_bytes()).status, 401);
    for _ in 0..3 {
        assert_eq!(http::post_with_headers(&hook, &headers, body.as_bytes()).status, 200);
    }
    let got = eventually(10, "the payment", || Some(notifications(w, &r)).filter(|n| !n.is_empty()));
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(kinds(&notifications(w, &r)), ["payment.succeeded"], "{got:?}");
    assert_eq!(w.paypal.order(&order).unwrap()["status"], "COMPLETED");
}

#[test]
fn refunds_of_the_capture() {
    let w = world();
    let r = reference("pp-refund");
    let (_, url) = open(w, &r, 5000);
    back_through_edge(&decide(&url, "approve"));
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
    assert!(void.status == 409 || void.status == 422, "{}", void.body);
    let got = eventually(10, "the refunds", || Some(notifications(w, &r)).filter(|n| n.len() == 3));
    assert_eq!(got.iter().map(|n| n.amount).collect::<Vec<_>>(), [5000, 2000, 3000]);
}

#[test]
fn a_token_that_expired_is_asked_again() {
    let w = world();
    let r = reference("pp-token");
    let (_, url) = open(w, &r, 1200);
    let before = w.paypal.tokens_issued();
    w.paypal.expire_tokens();
    assert!(back_through_edge(&decide(&url, "approve")).location.unwrap().contains("status=paid"));
    assert!(w.paypal.tokens_issued() > before, "a 401 made the edge ask for a new token");
}

#[test]
fn check_connection_and_outages() {
    let w = start();
    let check = |currency: &str| {
        let reply = signed_post(&w.edge, &w.config, "/v1/check", &serde_json::json!({"currency": currency}));
        let g = &reply.json()["gateways"][0];
        (g["verdict"].as_str().unwrap().to_string(), g["message"].as_str().unwrap_or("").to_string())
    };
    assert_eq!(check("USD").0, "ok");
    let (verdict, message) = check("SAR");
    assert_eq!(verdict, "currency_unsupported");
    assert!(message.contains("USD"), "{message}");
    let intent = intent(&w, &reference("pp-outage"), 700, "USD");
    for health in [Health::Failing, Health::Hanging] {
        w.paypal.set_health(health);
        assert_eq!(check("USD").0, "unreachable");
        let reply = flows::start_session(&w.edge, &intent, "paypal");
        assert_eq!((reply.status, reply.error_code().as_str()), (502, "gateway_unavailable"));
    }
    w.paypal.set_health(Health::Up);
    assert_eq!(flows::start_session(&w.edge, &intent, "paypal").status, 200);
}

/// The edge's check sends the token call through `http::call`, which asks for the token first
/// and turns the token call's 401 into an error the check reports as `unreachable`.
#[test]
fn wrong_credentials_are_invalid_credentials() {
    let w = start();
    w.paypal.set_client_secret("EOtherSecret");
    let reply = signed_post(&w.edge, &w.config, "/v1/check", &serde_json::json!({"currency": "USD"}));
    assert_eq!(reply.json()["gateways"][0]["verdict"], "invalid_credentials", "{}", reply.body);
}
