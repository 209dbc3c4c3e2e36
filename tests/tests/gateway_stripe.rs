//! Stripe through the real edge in workerd, against the fake Stripe on 127.0.0.1: Checkout
//! Sessions, approve, decline, 3-D Secure, tampered amount, `Stripe-Signature` webhooks (good,
//! bad, one byte changed, stale, duplicates), session expiry, refunds (partial, full, over,
//! pending then settled), the credentials check and a gateway that fails or hangs.

use bawaba_core::notification::Notification;
use bawaba_tests::edge::{eventually, Edge, EdgeOptions, ShopConfig};
use bawaba_tests::fake_shop::FakeShop;
use bawaba_tests::fakes::stripe::FakeStripe;
use bawaba_tests::fakes::Health;
use bawaba_tests::flows::{self, back_through_edge, claims, kinds, reference, sign, signed_post};
use bawaba_tests::http::{self, Reply};
use std::sync::OnceLock;
use std::time::Duration;

const KEY: &str = "sk_test_bawaba_stripe_0123456789";
const WHSEC: &str = "whsec_bawaba_stripe_0123456789";

struct World {
    edge: Edge,
    stripe: FakeStripe,
    shop: FakeShop,
    config: ShopConfig,
}

fn start(vars: &[(&str, &str)]) -> World {
    let stripe = FakeStripe::start(KEY, WHSEC);
    let shop = FakeShop::start();
    let config = ShopConfig { id: "souq".into(), origin: shop.origin.clone(), secret: "souq-secret-0123456789".into() };
    let mut all = vec![
        ("BAWABA_ROUTES".to_string(), "visa=stripe,mastercard=stripe,amex=stripe,applepay=stripe".to_string()),
        ("STRIPE_API_BASE".into(), stripe.api_base()),
        ("STRIPE_SECRET_KEY".into(), KEY.into()),
        ("STRIPE_WEBHOOK_SECRET".into(), WHSEC.into()),
        ("GATEWAY_TIMEOUT_MS".into(), "2000".into()),
    ];
    all.extend(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let edge = Edge::start(EdgeOptions { shops: vec![config.clone()], vars: all, ..Default::default() });
    stripe.set_webhook_url(&edge.url("/v1/webhooks/stripe"));
    World { edge, stripe, shop, config }
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| start(&[]))
}

fn notifications(w: &World, reference: &str) -> Vec<Notification> {
    flows::notifications(&w.shop, &w.config, reference)
}

/// Starts a session and returns (Checkout Session id, hosted page URL).
fn open(w: &World, r: &str, amount: i64, method: &str) -> (String, String) {
    let session = flows::start_session(&w.edge, &sign(&w.config, &claims(&w.config, r, amount)), method);
    assert_eq!(session.status, 200, "{}", session.body);
    assert_eq!(session.json()["gateway"], "stripe");
    let url = flows::hosted_url(&session);
    assert!(url.starts_with(&w.stripe.base), "the shopper goes to Stripe's page: {url}");
    let id = url.rsplit('/').next().unwrap().to_string();
    assert!(id.starts_with("cs_test_"), "{id}");
    (id, url)
}

/// Pays on the fake Checkout page.
fn pay(page_url: &str, number: &str) -> Reply {
    let page = http::get(page_url);
    assert!(page.body.contains("id=number"), "a card form: {}", page.body);
    http::post_form(page_url, &[("number", number), ("expiry", "12 / 34"), ("cvc", "123")])
}

/// The "back" link of a Checkout page (its `cancel_url`: the edge's return route).
fn back_link(page: &Reply) -> String {
    page.body.split("id=back href=\"").nth(1).expect("a back link").split('"').next().unwrap().replace("&amp;", "&")
}

fn hook(w: &World, body: &str, header: Option<&str>) -> Reply {
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(h) = header {
        headers.push(("Stripe-Signature", h));
    }
    http::post_with_headers(&w.edge.url("/v1/webhooks/stripe"), &headers, body.as_bytes())
}

#[test]
fn approve_sends_one_verified_result_even_with_the_webhooks() {
    let w = world();
    let r = reference("st-ok");
    let (session, url) = open(w, &r, 4550, "visa");
    let back = back_through_edge(&pay(&url, "4242424242424242"));
    assert!(back.location.unwrap().contains("status=paid"));
    eventually(10, "Stripe's webhooks", || (w.stripe.webhooks_sent() >= 2).then_some(()));
    std::thread::sleep(Duration::from_millis(500));
    let got = notifications(w, &r);
    assert_eq!(kinds(&got), ["payment.succeeded"]);
    assert_eq!((got[0].gateway.as_str(), got[0].gateway_payment_id.as_str()), ("stripe", session.as_str()));
    assert_eq!((got[0].card_brand.as_deref(), got[0].card_last4.as_deref()), (Some("visa"), Some("4242")));
    assert_eq!((got[0].amount, got[0].currency.as_str()), (4550, "SAR"));
}

#[test]
fn decline_fails_with_the_decline_code_once_the_shopper_goes_back() {
    let w = world();
    let r = reference("st-decline");
    let (_, url) = open(w, &r, 2000, "visa");
    let declined = pay(&url, "4000000000000002");
    assert_eq!(declined.status, 200, "Stripe keeps the shopper on its page");
    assert!(declined.body.contains("Your card was declined."), "{}", declined.body);
    let back = http::get(&back_link(&declined));
    assert_eq!(back.status, 303, "{}", back.body);
    assert!(back.location.unwrap().contains("status=failed"));
    let got = eventually(10, "the failure", || Some(notifications(w, &r)).filter(|n| !n.is_empty()));
    assert_eq!(kinds(&got), ["payment.failed"]);
    let error = got[0].error.as_ref().unwrap();
    assert_eq!(error.code, "declined");
    assert!(error.message.contains("generic_decline"), "{}", error.message);
}

#[test]
fn three_d_secure_passes_or_fails() {
    let w = world();
    for (button, expected) in [("ok", "paid"), ("fail", "failed")] {
        let r = reference("st-3ds");
        let (_, url) = open(w, &r, 10000, "mastercard");
        let challenge = pay(&url, "4000002500003155");
        assert_eq!(challenge.status, 200);
        assert!(challenge.body.contains("3-D Secure"), "{}", challenge.body);
        let done = http::post_form(&format!("{url}/3ds"), &[("result", button)]);
        let back = if expected == "paid" {
            back_through_edge(&done)
        } else {
            assert!(done.body.contains("unable to authenticate"), "{}", done.body);
            http::get(&back_link(&done))
        };
        assert!(back.location.unwrap().contains(&format!("status={expected}")), "{button}");
        if expected == "failed" {
            let got = eventually(10, "the failure", || Some(notifications(w, &r)).filter(|n| !n.is_empty()));
            let error = got[0].error.as_ref().unwrap();
            assert_eq!(error.code, "authentication_failed");
            assert!(error.message.contains("(payment_intent_authentication_failure)"), "{}", error.message);
        }
    }
}

#[test]
fn a_result_for_another_amount_is_a_failure_never_a_success() {
    let w = world();
    let r = reference("st-tamper");
    let (session, url) = open(w, &r, 9900, "visa");
    w.stripe.tamper_amount(&session, 100);
    let back = back_through_edge(&pay(&url, "4242424242424242"));
    assert!(back.location.unwrap().contains("status=failed"));
    let got = eventually(10, "the failure", || Some(notifications(w, &r)).filter(|n| !n.is_empty()));
    assert_eq!(kinds(&got), ["payment.failed"]);
    assert_eq!(got[0].error.as_ref().unwrap().code, "amount_mismatch");
}

#[test]
fn webhooks_need_stripes_signature_and_duplicates_change_nothing() {
    let w = world();
    let r = reference("st-hook");
    let (session, url) = open(w, &r, 3000, "visa");
    // Pay on the page but never come back, and Stripe's own deliveries held back: only the
    // webhooks below tell the edge.
    w.stripe.withhold_webhooks(&session);
    let paid = pay(&url, "5555555555554444");
    assert_eq!(paid.status, 303);
    let stored = w.stripe.session(&session).unwrap();
    let now = bawaba_tests::now();
    let (body, good) = w.stripe.signed_event("checkout.session.completed", stored.clone(), now);
    // One byte changed in the body, the same header: refused.
    let changed = body.replacen("\"amount_total\":3000", "\"amount_total\":3001", 1);
    assert_ne!(changed, body);
    let v1 = good.split("v1=").nth(1).unwrap().to_string();
    let other_secret = bawaba_core::gateway::stripe::webhook::sign("whsec_other", now, body.as_bytes());
    let (_, stale) = w.stripe.signed_event("checkout.session.completed", stored.clone(), now - 301);
    for (b, header, code) in [
        (&body, None, "signature_missing"),
        (&body, Some(format!("v1={v1}")), "signature_malformed"),
        (&body, Some(other_secret), "signature_invalid"),
        (&changed, Some(good.clone()), "signature_invalid"),
        (&body, Some(stale), "signature_invalid"),
    ] {
        let reply = hook(w, b, header.as_deref());
        assert_eq!((reply.status, reply.error_code()), (401, code.to_string()), "{header:?}");
    }
    // A stale header over its own body is refused as too old.
    let (stale_body, stale_header) = w.stripe.signed_event("checkout.session.completed", stored, now - 301);
    let reply = hook(w, &stale_body, Some(&stale_header));
    assert_eq!((reply.status, reply.error_code().as_str()), (401, "signature_expired"));
    assert!(notifications(w, &r).is_empty(), "nothing believed yet");

    let threads: Vec<_> = (0..5)
        .map(|_| {
            let (url, b, h) = (w.edge.url("/v1/webhooks/stripe"), body.clone(), good.clone());
            std::thread::spawn(move || {
                http::post_with_headers(
                    &url,
                    &[("Content-Type", "application/json"), ("Stripe-Signature", &h)],
                    b.as_bytes(),
                )
            })
        })
        .collect();
    for t in threads {
        let reply = t.join().unwrap();
        assert_eq!((reply.status, reply.json()["known"].as_bool()), (200, Some(true)), "{}", reply.body);
    }
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(kinds(&notifications(w, &r)), ["payment.succeeded"]);

    // Authentic, but about a session the edge never made: acknowledged, nothing changes. A
    // PaymentIntent event names no session, only our reference in its metadata: the payment is
    // found by it and asked again (known), and still changes nothing it should not.
    let stranger = serde_json::json!({"id":"cs_test_not_ours","object":"checkout.session","status":"complete"});
    let (b, h) = w.stripe.signed_event("checkout.session.completed", stranger, bawaba_tests::now());
    let reply = hook(w, &b, Some(&h));
    assert_eq!((reply.status, reply.json()["known"].as_bool()), (200, Some(false)));
    let ours = format!("{}:{r}", w.config.id);
    let pi = serde_json::json!({"id":"pi_x","object":"payment_intent","status":"succeeded","metadata":{"bawaba_reference":ours}});
    let (b, h) = w.stripe.signed_event("payment_intent.succeeded", pi, bawaba_tests::now());
    let reply = hook(w, &b, Some(&h));
    assert_eq!((reply.status, reply.json()["known"].as_bool()), (200, Some(true)), "{}", reply.body);
    let stray = serde_json::json!({"id":"pi_y","object":"payment_intent","status":"succeeded","metadata":{"bawaba_reference":r}});
    let (b, h) = w.stripe.signed_event("payment_intent.succeeded", stray, bawaba_tests::now());
    let reply = hook(w, &b, Some(&h));
    assert_eq!((reply.status, reply.json()["known"].as_bool()), (200, Some(false)));
    assert_eq!(kinds(&notifications(w, &r)), ["payment.succeeded"]);
}

#[test]
fn an_expired_checkout_session_cancels_a_payment_that_never_paid() {
    let w = world();
    let r = reference("st-expire");
    let (session, _) = open(w, &r, 1500, "visa");
    assert!(w.stripe.expire_session(&session));
    let got = eventually(15, "the cancellation", || Some(notifications(w, &r)).filter(|n| !n.is_empty()));
    assert_eq!(kinds(&got), ["payment.canceled"]);
    assert_eq!(w.stripe.session(&session).unwrap()["status"], "expired");
}

fn refund(w: &World, r: &str, amount: Option<i64>) -> Reply {
    let mut body = serde_json::json!({"reference": r});
    if let Some(a) = amount {
        body["amount"] = a.into();
    }
    signed_post(&w.edge, &w.config, "/v1/refunds", &body)
}

#[test]
fn refunds_partial_then_full_never_more() {
    let w = world();
    let r = reference("st-refund");
    let (session, url) = open(w, &r, 4550, "visa");
    back_through_edge(&pay(&url, "4242424242424242"));
    let first = refund(w, &r, Some(1000));
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(
        (first.json()["refunded_total"].as_i64(), first.json()["payment_state"].as_str()),
        (Some(1000), Some("partially_refunded"))
    );
    assert!(first.json()["id"].as_str().unwrap_or("").starts_with("re_"), "{}", first.body);
    let over = refund(w, &r, Some(4000));
    assert_eq!((over.status, over.error_code().as_str()), (422, "refund_exceeds_payment"));
    let rest = refund(w, &r, None);
    assert_eq!(rest.status, 200, "{}", rest.body);
    assert_eq!((rest.json()["amount"].as_i64(), rest.json()["payment_state"].as_str()), (Some(3550), Some("refunded")));
    let again = refund(w, &r, Some(1));
    assert_eq!((again.status, again.error_code().as_str()), (409, "operation_not_allowed"));
    let got = eventually(10, "three notifications", || Some(notifications(w, &r)).filter(|n| n.len() >= 3));
    assert_eq!(kinds(&got), ["payment.succeeded", "refund.succeeded", "refund.succeeded"]);
    assert_eq!(got.iter().map(|n| n.amount).collect::<Vec<_>>(), [4550, 1000, 3550]);
    // At Stripe: two refunds on the PaymentIntent, each with our reference as metadata.
    let pi = w.stripe.session(&session).unwrap()["payment_intent"].as_str().unwrap().to_string();
    let refunds = w.stripe.refunds_of(&pi);
    assert_eq!(refunds.len(), 2);
    assert!(refunds.iter().all(|x| x["metadata"]["bawaba_refund"].as_str().is_some_and(|m| !m.is_empty())));
    let capture = signed_post(&w.edge, &w.config, "/v1/captures", &serde_json::json!({"reference": r}));
    assert_eq!((capture.status, capture.error_code().as_str()), (409, "operation_not_allowed"));
}

#[test]
fn a_pending_refund_is_followed_until_stripe_settles_it() {
    // The edge asks about a pending refund on its reconciliation schedule: shortened here.
    let w = &start(&[("RECONCILE_AFTER_SECS", "1")]);
    let r = reference("st-pending");
    let (_, url) = open(w, &r, 4000, "visa");
    back_through_edge(&pay(&url, "4242424242424242"));
    w.stripe.set_refunds_pending(true);
    let first = refund(w, &r, Some(1500));
    w.stripe.set_refunds_pending(false);
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.json()["status"], "pending");
    let id = first.json()["id"].as_str().expect("Stripe's refund id").to_string();
    assert!(w.stripe.settle_refund(&id, true));
    let got = eventually(20, "refund.succeeded", || Some(notifications(w, &r)).filter(|n| n.len() >= 2));
    assert_eq!(kinds(&got), ["payment.succeeded", "refund.succeeded"]);
    assert_eq!(got[1].amount, 1500);
}

#[test]
fn check_connection_and_outages() {
    let w = start(&[]);
    let check = |currency: Option<&str>| {
        let body = currency.map(|c| serde_json::json!({"currency": c})).unwrap_or_else(|| serde_json::json!({}));
        let reply = signed_post(&w.edge, &w.config, "/v1/check", &body);
        assert_eq!(reply.status, 200, "{}", reply.body);
        let g = reply.json()["gateways"][0].clone();
        assert_eq!(g["gateway"], "stripe");
        assert!(g["latency_ms"].as_i64().is_some());
        g["verdict"].as_str().unwrap().to_string()
    };
    assert_eq!(check(Some("SAR")), "ok");
    assert_eq!(check(Some("KWD")), "ok");
    assert_eq!(check(Some("INR")), "currency_unsupported");
    let methods = |currency: &str| {
        signed_post(&w.edge, &w.config, "/v1/check", &serde_json::json!({"currency": currency})).json()["methods"]
            .clone()
    };
    let offered = methods("SAR");
    assert!(!offered.as_array().unwrap().iter().any(|m| m == "mada"), "no mada at Stripe: {offered}");
    assert!(offered.as_array().unwrap().iter().any(|m| m == "visa"), "{offered}");

    let r = reference("st-outage");
    let intent = sign(&w.config, &claims(&w.config, &r, 1200));
    w.stripe.set_health(Health::Failing);
    assert_eq!(check(None), "unreachable");
    let failed = flows::start_session(&w.edge, &intent, "visa");
    assert_eq!((failed.status, failed.error_code().as_str()), (502, "gateway_unavailable"));
    w.stripe.set_health(Health::Hanging);
    assert_eq!(check(None), "unreachable");
    w.stripe.set_health(Health::Up);
    let ok = flows::start_session(&w.edge, &intent, "visa");
    assert_eq!(ok.status, 200, "after the outage the same intent works: {}", ok.body);

    w.stripe.set_secret_key("sk_test_rotated");
    assert_eq!(check(None), "invalid_credentials");
    w.stripe.set_secret_key(KEY);
    assert_eq!(check(None), "ok");
}

#[test]
fn three_decimal_amounts_must_end_in_zero() {
    let w = world();
    // The demo claims are in SAR; a KWD intent for 1.505 is refused before any call.
    let mut c = claims(&w.config, &reference("st-kwd"), 1505);
    c.currency = "KWD".into();
    let refused = flows::start_session(&w.edge, &sign(&w.config, &c), "visa");
    assert_ne!(refused.status, 200, "{}", refused.body);
    assert!(refused.body.contains("KWD"), "{}", refused.body);
    let mut c = claims(&w.config, &reference("st-kwd"), 1500);
    c.currency = "KWD".into();
    let ok = flows::start_session(&w.edge, &sign(&w.config, &c), "visa");
    assert_eq!(ok.status, 200, "{}", ok.body);
}

#[test]
fn an_arabic_checkout_opens_in_the_shoppers_browser_language() {
    let w = world();
    let r = reference("st-ar");
    let mut c = claims(&w.config, &r, 2500);
    c.locale = Some("ar".into());
    let session = flows::start_session(&w.edge, &sign(&w.config, &c), "visa");
    assert_eq!(session.status, 200, "Checkout has no `ar`: the edge asks for `auto`: {}", session.body);
    let id = flows::hosted_url(&session).rsplit('/').next().unwrap().to_string();
    assert_eq!(w.stripe.session(&id).unwrap()["locale"], "auto");
}
