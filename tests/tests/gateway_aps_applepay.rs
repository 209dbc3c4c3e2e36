//! Apple Pay in the page through Amazon Payment Services with the merchant's own Apple merchant,
//! through the real edge in workerd: the merchant validated with (fake) Apple through the
//! identity certificate's binding, the sheet's token charged at once as a signed JSON `PURCHASE`
//! with APS's Apple Pay credentials (fake APS on 127.0.0.1), its answer verified with the Apple
//! Pay response phrase, then `CHECK_STATUS` (with the Apple Pay keys) as the truth.

use bawaba_core::notification::Notification;
use bawaba_tests::edge::{eventually, AppleMerchantBinding, Edge, EdgeOptions, ShopConfig};
use bawaba_tests::fake_shop::FakeShop;
use bawaba_tests::fakes::apple::FakeApple;
use bawaba_tests::fakes::aps::{ApplepayCredentials, Credentials, FakeAps};
use bawaba_tests::fakes::Health;
use bawaba_tests::flows::{self, applepay_token, applepay_token_with, claims, kinds, reference, sign, signed_post};
use bawaba_tests::http::{self, Reply};
use serde_json::json;
use std::sync::OnceLock;
use std::time::Duration;

const MERCHANT: &str = "merchant.sa.bawaba.test";
const APPLE: &str = "https://apple-pay-gateway-cert.apple.com/paymentservices/startSession";

fn creds() -> Credentials {
    Credentials {
        merchant_identifier: "BawabaMerchant".into(),
        access_code: "zx0IPmPy5jp1vAz8Kpg7".into(),
        request_phrase: "req-phrase-0123".into(),
        response_phrase: "res-phrase-4567".into(),
    }
}

fn applepay_creds() -> ApplepayCredentials {
    ApplepayCredentials {
        access_code: "ApPlEpAy0AcCeSs1CoDe".into(),
        request_phrase: "ap-req-phrase-89ab".into(),
        response_phrase: "ap-res-phrase-cdef".into(),
    }
}

struct World {
    edge: Edge,
    aps: FakeAps,
    apple: FakeApple,
    shop: FakeShop,
    config: ShopConfig,
}

/// The edge's settings: cards and, with `applepay`, APS's Apple Pay credentials.
fn vars(aps: &FakeAps, applepay: bool) -> Vec<(String, String)> {
    let c = creds();
    let mut vars = vec![
        ("BAWABA_ROUTES".to_string(), "mada=aps,applepay=aps".to_string()),
        ("APS_MERCHANT_IDENTIFIER".into(), c.merchant_identifier),
        ("APS_ACCESS_CODE".into(), c.access_code),
        ("APS_SHA_REQUEST_PHRASE".into(), c.request_phrase),
        ("APS_SHA_RESPONSE_PHRASE".into(), c.response_phrase),
        ("APS_SHA_TYPE".into(), "SHA-256".into()),
        ("APS_PAGE_BASE".into(), aps.base.clone()),
        ("APS_API_BASE".into(), aps.base.clone()),
        ("APPLE_PAY_MERCHANT_ID".into(), MERCHANT.into()),
        ("GATEWAY_TIMEOUT_MS".into(), "2000".into()),
    ];
    if applepay {
        let a = applepay_creds();
        vars.push(("APS_APPLEPAY_ACCESS_CODE".into(), a.access_code));
        vars.push(("APS_APPLEPAY_SHA_REQUEST_PHRASE".into(), a.request_phrase));
        vars.push(("APS_APPLEPAY_SHA_RESPONSE_PHRASE".into(), a.response_phrase));
    }
    vars
}

fn start_world() -> World {
    let aps = FakeAps::start(creds());
    aps.enable_applepay(applepay_creds());
    let apple = FakeApple::start(MERCHANT);
    apple.register_domain("127.0.0.1");
    let shop = FakeShop::start();
    let config = ShopConfig { id: "souq".into(), origin: shop.origin.clone(), secret: "souq-secret-0123456789".into() };
    let edge = Edge::start(EdgeOptions {
        shops: vec![config.clone()],
        vars: vars(&aps, true),
        apple_pay: Some(AppleMerchantBinding::for_merchant(&apple, MERCHANT)),
        ..Default::default()
    });
    aps.set_feedback_url(&edge.url("/v1/webhooks/aps"));
    World { edge, aps, apple, shop, config }
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(start_world)
}

fn intent(config: &ShopConfig, r: &str, amount: i64) -> String {
    let mut c = claims(config, r, amount);
    c.methods = vec!["mada".into(), "applepay".into()];
    sign(config, &c)
}

fn flows_of(edge: &Edge, config: &ShopConfig) -> Vec<(String, String)> {
    let r = reference("aps-ap-methods");
    flows::method_flows(edge, &intent(config, &r, 4550))
}

fn pay(w: &World, r: &str, amount: i64, token: &str) -> Reply {
    http::post_json(
        &w.edge.url("/v1/sessions"),
        &json!({"intent": intent(&w.config, r, amount), "method": "applepay", "applepay_token": token}),
    )
}

fn notifications(w: &World, r: &str) -> Vec<Notification> {
    flows::notifications(&w.shop, &w.config, r)
}

fn b64(marker: &str) -> String {
    base64::Engine::encode(&base64::engine::general_purpose::STANDARD, marker)
}

/// The purchase the fake received for our shop's payment of `amount` (amounts are unique per test).
fn purchase_of(w: &World, amount: i64) -> serde_json::Value {
    w.aps
        .applepay_requests()
        .into_iter()
        .rev()
        .find(|p| p["amount"].as_str().and_then(|a| a.parse::<i64>().ok()) == Some(amount))
        .unwrap_or_else(|| panic!("APS got the purchase of {amount}"))
}

#[test]
fn apple_pay_is_in_the_page_only_with_apses_apple_pay_credentials_and_the_certificate_binding() {
    let w = world();
    let flows = flows_of(&w.edge, &w.config);
    assert!(flows.contains(&("applepay".into(), "applepay".into())), "{flows:?}");
    assert!(flows.contains(&("mada".into(), "redirect".into())), "{flows:?}");

    // The merchant is validated with Apple by the edge, with the identity certificate.
    let body = json!({"intent": intent(&w.config, &reference("aps-ap-validate"), 4550), "validation_url": APPLE});
    let validated = http::post_with_headers(
        &w.edge.url("/v1/applepay/validate"),
        &[("Content-Type", "application/json"), ("Origin", &w.config.origin)],
        body.to_string().as_bytes(),
    );
    assert_eq!(validated.status, 200, "{}", validated.body);
    assert!(validated.json()["merchantSessionIdentifier"].is_string(), "{}", validated.body);
    let asked = w.apple.requests().into_iter().last().unwrap();
    assert_eq!(asked["body"]["merchantIdentifier"], MERCHANT);

    // Without APS's Apple Pay credentials, or without the binding, Apple Pay stays on APS's page.
    let aps = FakeAps::start(creds());
    let config = ShopConfig { id: "souq".into(), origin: "http://127.0.0.1:9".into(), secret: "s-0123456789".into() };
    let no_credentials = Edge::start(EdgeOptions {
        shops: vec![config.clone()],
        vars: vars(&aps, false),
        apple_pay: Some(AppleMerchantBinding::for_merchant(&w.apple, MERCHANT)),
        ..Default::default()
    });
    assert!(flows_of(&no_credentials, &config).contains(&("applepay".into(), "redirect".into())));
    drop(no_credentials);
    let no_binding =
        Edge::start(EdgeOptions { shops: vec![config.clone()], vars: vars(&aps, true), ..Default::default() });
    assert!(flows_of(&no_binding, &config).contains(&("applepay".into(), "redirect".into())));
}

#[test]
fn a_token_is_charged_with_the_apple_pay_credentials_and_pays_once() {
    let w = world();
    let r = reference("aps-ap-paid");
    let feedback_before = w.aps.feedback_sent();
    let paid = pay(w, &r, 4551, &applepay_token("mada"));
    assert_eq!(paid.status, 200, "{}", paid.body);
    assert_eq!(paid.json()["status"], "paid", "{}", paid.body);
    let sent = purchase_of(w, 4551);
    assert_eq!(sent["access_code"], applepay_creds().access_code.as_str());
    assert_eq!(sent["digital_wallet"], "APPLE_PAY");
    assert_eq!(sent["command"], "PURCHASE");
    assert_eq!(sent["apple_paymentMethod"]["apple_network"], "mada");
    let mref = sent["merchant_reference"].as_str().unwrap().to_string();
    assert!(mref.starts_with("bwap-"), "{mref}");
    // The shopper goes on through the edge's return route, as after a hosted page.
    let url = paid.json()["next_action"]["url"].as_str().unwrap().to_string();
    let back = http::get(&url);
    assert_eq!(back.status, 303, "{}", back.body);
    assert!(back.location.unwrap().contains("status=paid"));
    // APS's feedback for it (signed with the Apple Pay response phrase) arrives too: one notification.
    eventually(10, "the feedback", || (w.aps.feedback_sent() > feedback_before).then_some(()));
    std::thread::sleep(Duration::from_millis(800));
    let got = eventually(10, "the result", || Some(notifications(w, &r)).filter(|n| !n.is_empty()));
    assert_eq!(kinds(&got), ["payment.succeeded"]);
    assert_eq!((got[0].method.as_str(), got[0].gateway_payment_id.as_str()), ("applepay", mref.as_str()));
    assert_eq!(got[0].card_last4.as_deref(), Some("1010"));

    // Its refund is asked with the Apple Pay credentials (the card ones do not find it at APS).
    let refund = signed_post(&w.edge, &w.config, "/v1/refunds", &json!({"reference": r, "amount": 1000}));
    assert_eq!(refund.status, 200, "{}", refund.body);
    assert_eq!(refund.json()["refunded_total"], 1000, "{}", refund.body);
    assert_eq!(w.aps.transaction(&mref).unwrap()["refunded"], "1000");
}

#[test]
fn a_declined_token_fails_and_a_held_one_stays_pending() {
    let w = world();
    let r = reference("aps-ap-declined");
    let declined = pay(w, &r, 4552, &applepay_token_with("Visa", &b64("decline")));
    assert_eq!(declined.status, 200, "{}", declined.body);
    assert_eq!(declined.json()["status"], "failed", "{}", declined.body);
    let got = eventually(10, "the failure", || Some(notifications(w, &r)).filter(|n| !n.is_empty()));
    assert_eq!(kinds(&got), ["payment.failed"]);
    assert_eq!(got[0].error.as_ref().unwrap().code, "insufficient_funds");

    let r = reference("aps-ap-held");
    let held = pay(w, &r, 4553, &applepay_token_with("Visa", &b64("hold")));
    assert_eq!(held.status, 200, "{}", held.body);
    assert_ne!(held.json()["status"], "paid", "{}", held.body);
    assert_ne!(held.json()["status"], "failed", "{}", held.body);
    std::thread::sleep(Duration::from_millis(1500));
    assert!(kinds(&notifications(w, &r)).iter().all(|k| k != "payment.succeeded"));
    let inspected = flows::signed_get(&w.edge, &w.config, &format!("/v1/payments/{r}")).json();
    assert_eq!(inspected["payment"]["state"], "pending", "{inspected}");
    assert!(inspected["payment"]["charges"].as_array().unwrap().is_empty(), "no charge counted: {inspected}");
}

#[test]
fn a_forged_answer_is_never_believed_and_a_bad_token_never_reaches_aps() {
    let w = start_world();
    w.aps.forge_applepay_answers(true);
    // APS declined, and someone in between answers with a signature APS did not make: that
    // answer is not believed; APS's signed status says how the payment ended (failed).
    let r = reference("aps-ap-forged");
    let forged = pay(&w, &r, 4554, &applepay_token_with("Visa", &b64("decline")));
    assert_eq!((forged.status, forged.json()["status"].as_str()), (200, Some("failed")), "{}", forged.body);
    let got = eventually(10, "the failure", || Some(notifications(&w, &r)).filter(|n| !n.is_empty()));
    assert_eq!(kinds(&got), ["payment.failed"], "never paid");
    // APS charged, and the answer on the way is not authentic: the charge is not lost, the
    // signed status finds it.
    let r = reference("aps-ap-forged-paid");
    let charged = pay(&w, &r, 4558, &applepay_token("mada"));
    assert_eq!((charged.status, charged.json()["status"].as_str()), (200, Some("paid")), "{}", charged.body);
    let got = eventually(10, "the result", || Some(notifications(&w, &r)).filter(|n| !n.is_empty()));
    assert_eq!((kinds(&got), got[0].amount), (vec!["payment.succeeded".to_string()], 4558));
    w.aps.forge_applepay_answers(false);

    // A token APS cannot take (RSA_v1: no ephemeral key) is refused before any call.
    let before = w.aps.applepay_requests().len();
    let rsa = applepay_token("Visa").replace("\"ephemeralPublicKey\"", "\"wrappedKey\"");
    let refused = pay(&w, &reference("aps-ap-rsa"), 4555, &rsa);
    assert_eq!(refused.status, 502, "{}", refused.body);
    assert!(refused.body.contains("EC_v1"), "{}", refused.body);
    assert_eq!(w.aps.applepay_requests().len(), before, "APS was not asked");
}

#[test]
fn aps_unreachable_leaves_a_pending_payment_asked_again_never_a_lost_charge() {
    let w = start_world();
    w.aps.set_health(Health::Failing);
    let r = reference("aps-ap-down");
    // The purchase may have charged (no answer says otherwise): the payment is pending and
    // asked about by its reference, not reported failed for the shopper to pay again blind.
    let down = pay(&w, &r, 4556, &applepay_token("mada"));
    assert_eq!((down.status, down.json()["status"].as_str()), (200, Some("pending")), "{}", down.body);
    w.aps.set_health(Health::Up);
    let again = pay(&w, &r, 4556, &applepay_token("mada"));
    assert_eq!(again.json()["status"], "paid", "{}", again.body);
    let got = eventually(10, "the result", || Some(notifications(&w, &r)).filter(|n| !n.is_empty()));
    assert_eq!(kinds(&got), ["payment.succeeded"]);
}

#[test]
fn a_purchase_whose_answer_is_lost_is_found_by_its_reference_and_paid_once() {
    let w = start_world();
    w.aps.lose_applepay_answers(true);
    let r = reference("aps-ap-lost");
    let lost = pay(&w, &r, 4557, &applepay_token("mada"));
    // APS charged and answered 500: the edge asks CHECK_STATUS at once and learns it is paid.
    assert_eq!((lost.status, lost.json()["status"].as_str()), (200, Some("paid")), "{}", lost.body);
    let got = eventually(10, "the result", || Some(notifications(&w, &r)).filter(|n| !n.is_empty()));
    assert_eq!(kinds(&got), ["payment.succeeded"]);
    assert_eq!(got[0].amount, 4557);
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(kinds(&notifications(&w, &r)), ["payment.succeeded"], "told once");
    let inspected = flows::signed_get(&w.edge, &w.config, &format!("/v1/payments/{r}")).json();
    assert_eq!(inspected["payment"]["charges"].as_array().map(Vec::len), Some(1), "{inspected}");
}
