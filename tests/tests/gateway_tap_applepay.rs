//! Apple Pay taken in the page through Tap with the merchant's own Apple merchant, through the
//! real edge in workerd, against the fake Tap and the fake Apple on 127.0.0.1: the methods say
//! "applepay" only with the merchant set up, merchant validation with Apple for the shop's
//! domain (with the identity certificate), the token exchanged at Tap then charged (paid once,
//! also when the start is replayed), declined, 3-D Secure, tokens Tap cannot take, a tampered
//! amount, and Tap unreachable on the token exchange.

use bawaba_core::notification::Notification;
use bawaba_tests::edge::{eventually, AppleMerchantBinding, Edge, EdgeOptions, ShopConfig};
use bawaba_tests::fake_shop::FakeShop;
use bawaba_tests::fakes::apple::FakeApple;
use bawaba_tests::fakes::tap::{applepay_data, FakeTap};
use bawaba_tests::flows::{self, back_through_edge, claims, kinds, reference, sign};
use bawaba_tests::http::{self, Reply};
use serde_json::{json, Value};
use std::sync::OnceLock;
use std::time::Duration;

const KEY: &str = "sk_test_tap_applepay_0123";
const MERCHANT: &str = "merchant.sa.bawaba.test";
/// The public key hash in `flows::applepay_token`'s header: the processing certificate made
/// from Tap's CSR.
const KEY_HASH: &str = "LbsUwAT6w1JV9tFXocU813TCHks+LSuFF0R/eBkrWnQ=";
const APPLE_URL: &str = "https://apple-pay-gateway-cert.apple.com/paymentservices/startSession";

struct World {
    edge: Edge,
    tap: FakeTap,
    apple: FakeApple,
    shop: FakeShop,
    config: ShopConfig,
}

fn start_world(merchant: bool, binding: bool) -> World {
    let tap = FakeTap::start(KEY);
    tap.enable_applepay(KEY_HASH);
    let apple = FakeApple::start(MERCHANT);
    apple.register_domain("127.0.0.1");
    let shop = FakeShop::start();
    let config =
        ShopConfig { id: "dukkan".into(), origin: shop.origin.clone(), secret: "dukkan-secret-ap-0123".into() };
    let mut vars = vec![
        ("BAWABA_ROUTES".to_string(), "mada=tap,visa=tap,applepay=tap".to_string()),
        ("TAP_API_BASE".into(), tap.api_base()),
        ("TAP_SECRET_KEY".into(), KEY.into()),
        ("GATEWAY_TIMEOUT_MS".into(), "2000".into()),
    ];
    if merchant {
        vars.push(("APPLE_PAY_MERCHANT_ID".into(), MERCHANT.into()));
    }
    let apple_pay = binding.then(|| AppleMerchantBinding::for_merchant(&apple, MERCHANT));
    let edge = Edge::start(EdgeOptions { shops: vec![config.clone()], vars, apple_pay, ..Default::default() });
    World { edge, tap, apple, shop, config }
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| start_world(true, true))
}

fn intent(w: &World, r: &str, amount: i64) -> String {
    let mut c = claims(&w.config, r, amount);
    c.methods = vec!["mada".into(), "visa".into(), "applepay".into()];
    sign(&w.config, &c)
}

/// A token of `network` whose data the fake reads as `outcome` with `brand`, with an Apple
/// transaction id of its own (the fake exchanges each Apple transaction once).
fn token(network: &str, outcome: &str, brand: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(1);
    let n = N.fetch_add(1, Ordering::SeqCst);
    let mut t: Value =
        serde_json::from_str(&flows::applepay_token_with(network, &applepay_data(outcome, brand))).unwrap();
    let id = format!("{:016x}{:048x}", std::process::id(), n);
    t["paymentData"]["header"]["transactionId"] = json!(id);
    t["transactionIdentifier"] = json!(id.to_ascii_uppercase());
    t.to_string()
}

fn pay_with(w: &World, intent: &str, token: &str) -> Reply {
    http::post_json(
        &w.edge.url("/v1/sessions"),
        &json!({"intent": intent, "method": "applepay", "applepay_token": token, "locale": "ar"}),
    )
}

fn notifications(w: &World, r: &str) -> Vec<Notification> {
    flows::notifications(&w.shop, &w.config, r)
}

fn exchanges_of(w: &World, token: &str) -> usize {
    let data: Value = serde_json::from_str::<Value>(token).unwrap()["paymentData"].clone();
    w.tap.token_requests().iter().filter(|r| r["token_data"] == data).count()
}

/// The edge's return route a payment made in the page goes on through, followed to the shop.
fn back_to_shop(w: &World, reply: &Reply) -> String {
    let url =
        reply.json()["next_action"]["url"].as_str().unwrap_or_else(|| panic!("no url: {}", reply.body)).to_string();
    assert!(url.starts_with(&w.edge.url("")), "the shopper goes on through the edge: {url}");
    let back = http::get(&url);
    assert_eq!(back.status, 303, "{}", back.body);
    back.location.unwrap()
}

#[test]
fn apple_pay_is_in_the_page_only_with_the_merchants_apple_merchant_set_up() {
    let w = world();
    let got = flows::method_flows(&w.edge, &intent(w, &reference("tap-ap-methods"), 4550));
    let want = [("mada", "redirect"), ("applepay", "applepay"), ("visa", "redirect")]; // the display order
    assert_eq!(got, want.map(|(a, b)| (a.to_string(), b.to_string())));

    // The identifier without the certificate binding: Apple would refuse every validation, so
    // Apple Pay stays on Tap's page.
    let half = start_world(true, false);
    let got = flows::method_flows(&half.edge, &intent(&half, &reference("tap-ap-half"), 4550));
    assert!(got.contains(&("applepay".into(), "redirect".into())), "{got:?}");
    let hosted = flows::start_session(&half.edge, &intent(&half, &reference("tap-ap-half"), 4550), "applepay");
    assert_eq!(hosted.status, 200, "{}", hosted.body);
    let charge = flows::hosted_url(&hosted).rsplit('/').next().unwrap().to_string();
    assert_eq!(half.tap.charge(&charge).unwrap()["source"]["id"], "src_apple_pay");
    let refused = pay_with(&half, &intent(&half, &reference("tap-ap-half2"), 4550), &token("Visa", "approve", "VISA"));
    assert_eq!(refused.status, 422, "no token is taken when Apple Pay is not in the page: {}", refused.body);
    assert!(half.tap.token_requests().is_empty());
}

#[test]
fn the_merchant_is_validated_with_apple_for_the_shops_domain() {
    let w = world();
    let validate = |origin: &str| {
        let body = json!({"intent": intent(w, &reference("tap-ap-validate"), 25000), "validation_url": APPLE_URL});
        http::post_with_headers(
            &w.edge.url("/v1/applepay/validate"),
            &[("Content-Type", "application/json"), ("Origin", origin)],
            body.to_string().as_bytes(),
        )
    };
    let ok = validate(&w.config.origin);
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert!(ok.json()["merchantSessionIdentifier"].as_str().unwrap().starts_with("SSH"));
    assert_eq!(ok.json()["domainName"], "127.0.0.1");
    let asked = w.apple.requests().into_iter().rev().find(|r| r["body"]["initiativeContext"] == "127.0.0.1").unwrap();
    assert_eq!(asked["body"]["merchantIdentifier"], MERCHANT);
    assert_eq!(asked["body"]["initiative"], "web");
    assert_eq!(asked["certificate"], bawaba_tests::fakes::apple::certificate_of(MERCHANT));
    let before = w.apple.requests().len();
    let elsewhere = validate("https://other-shop.example");
    assert_eq!(elsewhere.status, 422, "a page that is not the shop's: {}", elsewhere.body);
    assert_eq!(w.apple.requests().len(), before, "Apple was not asked for it");
}

#[test]
fn a_token_is_charged_once_and_the_shop_hears_paid_once() {
    let w = world();
    let r = reference("tap-ap-pay");
    let intent = intent(w, &r, 25000);
    let mada = token("mada", "approve", "MADA");
    let answer = pay_with(w, &intent, &mada);
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json()["status"], "paid", "{}", answer.body);
    assert!(!answer.body.contains("paymentData") && !answer.body.contains("tok_"), "{}", answer.body);

    // Tap got Apple's paymentData as it is, then one charge of its tok_ for 250.00 SAR.
    let data = serde_json::from_str::<Value>(&mada).unwrap()["paymentData"].clone();
    let sent = w.tap.token_requests().into_iter().filter(|t| t["token_data"] == data).collect::<Vec<_>>();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["type"], "applepay");
    let charges = w.tap.charges_for(&format!("dukkan:{r}"));
    assert_eq!(charges.len(), 1, "{charges:?}");
    assert!(charges[0]["source"]["id"].as_str().unwrap().starts_with("tok_"));
    assert_eq!((charges[0]["amount"].as_f64(), charges[0]["currency"].as_str()), (Some(250.0), Some("SAR")));
    assert_eq!(charges[0]["status"], "CAPTURED");

    assert!(back_to_shop(w, &answer).contains("status=paid"));
    eventually(10, "Tap's webhook", || (w.tap.webhooks_sent() > 0).then_some(()));
    std::thread::sleep(Duration::from_millis(700));
    let got = eventually(10, "the result", || Some(notifications(w, &r)).filter(|n| !n.is_empty()));
    assert_eq!(kinds(&got), ["payment.succeeded"]);
    assert_eq!((got[0].amount, got[0].method.as_str()), (25000, "applepay"));
    assert_eq!(got[0].gateway_payment_id, charges[0]["id"].as_str().unwrap());
    assert_eq!((got[0].card_brand.as_deref(), got[0].card_last4.as_deref()), (Some("mada"), Some("1010")));

    // The start replayed with the same token: the payment is paid, nothing reaches Tap again.
    let replay = pay_with(w, &intent, &mada);
    assert_eq!((replay.status, replay.error_code().as_str()), (409, "payment_finished"), "{}", replay.body);
    assert_eq!(exchanges_of(w, &mada), 1);
    assert_eq!(w.tap.charges_for(&format!("dukkan:{r}")).len(), 1);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(kinds(&notifications(w, &r)), ["payment.succeeded"]);
}

#[test]
fn a_declined_token_fails_the_payment_and_nothing_is_paid() {
    let w = world();
    let r = reference("tap-ap-decline");
    let answer = pay_with(w, &intent(w, &r, 110_500), &token("Visa", "decline", "VISA"));
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json()["status"], "failed", "{}", answer.body);
    assert_eq!(answer.json()["error"]["code"], "insufficient_funds");
    assert!(back_to_shop(w, &answer).contains("status=failed"));
    let got = eventually(10, "the failure", || Some(notifications(w, &r)).filter(|n| !n.is_empty()));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(kinds(&notifications(w, &r)), ["payment.failed"]);
    assert_eq!(got[0].error.as_ref().unwrap().code, "insufficient_funds");
    let charges = w.tap.charges_for(&format!("dukkan:{r}"));
    assert_eq!(charges.len(), 1);
    assert_eq!(charges[0]["status"], "DECLINED");
}

#[test]
fn three_d_secure_sends_the_shopper_to_taps_page_then_pays() {
    let w = world();
    for (button, expected) in [("ok", "paid"), ("fail", "failed")] {
        let r = reference("tap-ap-3ds");
        let answer = pay_with(w, &intent(w, &r, 30000), &token("mada", "threeds", "MADA"));
        assert_eq!(answer.status, 200, "{}", answer.body);
        let url = flows::hosted_url(&answer);
        assert!(url.starts_with(&w.tap.base), "Tap's 3-D Secure page: {url}");
        assert_ne!(answer.json()["status"], "paid");
        assert!(http::get(&url).body.contains("3-D Secure"));
        let done = http::post_form(&format!("{url}/3ds"), &[("result", button)]);
        assert!(back_through_edge(&done).location.unwrap().contains(&format!("status={expected}")));
        let got = eventually(10, "the result", || Some(notifications(w, &r)).filter(|n| !n.is_empty()));
        let want = if expected == "paid" { "payment.succeeded" } else { "payment.failed" };
        assert_eq!(kinds(&got), [want]);
    }
}

#[test]
fn tokens_that_cannot_be_charged_and_tokens_tap_refuses_charge_nothing() {
    let w = world();
    let r = reference("tap-ap-bad");
    let intent = intent(w, &r, 25000);
    // Not an Apple Pay token: refused before Tap is asked.
    let before = w.tap.token_requests().len();
    let no_data = {
        let mut t: Value = serde_json::from_str(&token("Visa", "approve", "VISA")).unwrap();
        t["paymentData"].as_object_mut().unwrap().remove("data");
        t.to_string()
    };
    let no_key = {
        let mut t: Value = serde_json::from_str(&token("Visa", "approve", "VISA")).unwrap();
        t["paymentData"]["header"].as_object_mut().unwrap().remove("ephemeralPublicKey");
        t.to_string()
    };
    // Not Apple's token (no encrypted data, no key, nothing, not JSON): the caller's mistake,
    // refused before Tap is asked.
    for bad in [no_data.as_str(), no_key.as_str(), "{}", "not json", "\"a string\""] {
        let refused = pay_with(w, &intent, bad);
        assert_eq!((refused.status, refused.error_code().as_str()), (422, "applepay_token_invalid"), "{bad}");
    }
    // Tap cannot decrypt it (encrypted for another certificate): Tap's refusal, no charge.
    let other = {
        let mut t: Value = serde_json::from_str(&token("Visa", "approve", "VISA")).unwrap();
        t["paymentData"]["header"]["publicKeyHash"] = json!("b3RoZXIgY2VydGlmaWNhdGU=");
        t.to_string()
    };
    let refused = pay_with(w, &intent, &other);
    assert_eq!((refused.status, refused.error_code().as_str()), (502, "gateway_rejected"), "{}", refused.body);
    assert!(refused.body.contains("could not be decrypted"), "Tap's words: {}", refused.body);
    assert_eq!(w.tap.token_requests().len() - before, 1, "only the well-formed one reached Tap");
    assert!(w.tap.charges_for(&format!("dukkan:{r}")).is_empty());
    // The payment is still open: a good token pays it.
    let paid = pay_with(w, &intent, &token("Visa", "approve", "VISA"));
    assert_eq!(paid.json()["status"], "paid", "{}", paid.body);
}

#[test]
fn a_charge_for_another_amount_is_never_paid() {
    let w = world();
    let r = reference("tap-ap-tamper");
    w.tap.tamper_reference(&format!("dukkan:{r}"), 1.0);
    let answer = pay_with(w, &intent(w, &r, 9900), &token("Visa", "approve", "VISA"));
    assert_ne!(answer.json()["status"], "paid", "{}", answer.body);
    let got = eventually(10, "the failure", || Some(notifications(w, &r)).filter(|n| !n.is_empty()));
    assert_eq!(kinds(&got), ["payment.failed"]);
    assert_eq!(got[0].error.as_ref().unwrap().code, "amount_mismatch");
    eventually(10, "Tap's webhook", || (w.tap.webhooks_sent() > 0).then_some(()));
    std::thread::sleep(Duration::from_millis(700));
    assert!(!kinds(&notifications(w, &r)).contains(&"payment.succeeded".to_string()));
}

#[test]
fn tap_unreachable_for_the_token_is_502_and_charges_nothing() {
    let w = start_world(true, true);
    let r = reference("tap-ap-outage");
    let intent = intent(&w, &r, 7000);
    let visa = token("Visa", "approve", "VISA");
    w.tap.set_tokens_failing(true);
    let reply = pay_with(&w, &intent, &visa);
    assert_eq!((reply.status, reply.error_code().as_str()), (502, "gateway_unavailable"), "{}", reply.body);
    assert!(w.tap.charges_for(&format!("dukkan:{r}")).is_empty(), "no charge without a token");
    assert!(notifications(&w, &r).is_empty());
    w.tap.set_tokens_failing(false);
    let paid = pay_with(&w, &intent, &visa);
    assert_eq!(paid.json()["status"], "paid", "the same token, once Tap answers: {}", paid.body);
    assert_eq!(w.tap.charges_for(&format!("dukkan:{r}")).len(), 1);
}
