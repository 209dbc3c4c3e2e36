//! Amazon Payment Services through the real edge in workerd, against the fake APS on
//! 127.0.0.1: the signed form post to the hosted page, approve, decline, 3-D Secure, tampered
//! amount, signed transaction feedback, duplicates, refunds, credentials check and outages.

use bawaba_core::gateway::aps::{sign, ShaType};
use bawaba_core::notification::Notification;
use bawaba_tests::edge::{eventually, Edge, EdgeOptions, ShopConfig};
use bawaba_tests::fake_shop::FakeShop;
use bawaba_tests::fakes::aps::{Credentials, FakeAps};
use bawaba_tests::fakes::Health;
use bawaba_tests::flows::{self, claims, kinds, reference, sign as sign_intent, signed_post};
use bawaba_tests::http::{self, Reply};
use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::Duration;

fn creds() -> Credentials {
    Credentials {
        merchant_identifier: "BawabaMerchant".into(),
        access_code: "zx0IPmPy5jp1vAz8Kpg7".into(),
        request_phrase: "req-phrase-0123".into(),
        response_phrase: "res-phrase-4567".into(),
    }
}

struct World {
    edge: Edge,
    aps: FakeAps,
    shop: FakeShop,
    config: ShopConfig,
}

fn start() -> World {
    let aps = FakeAps::start(creds());
    let shop = FakeShop::start();
    let config = ShopConfig { id: "matjar".into(), origin: shop.origin.clone(), secret: "matjar-secret-012345".into() };
    let c = creds();
    let vars = vec![
        ("BAWABA_ROUTES".to_string(), "mada=aps,visa=aps,mastercard=aps".to_string()),
        ("APS_MERCHANT_IDENTIFIER".into(), c.merchant_identifier),
        ("APS_ACCESS_CODE".into(), c.access_code),
        ("APS_SHA_REQUEST_PHRASE".into(), c.request_phrase),
        ("APS_SHA_RESPONSE_PHRASE".into(), c.response_phrase),
        ("APS_SHA_TYPE".into(), "SHA-256".into()),
        ("APS_PAGE_BASE".into(), aps.base.clone()),
        ("APS_API_BASE".into(), aps.base.clone()),
        ("GATEWAY_TIMEOUT_MS".into(), "2000".into()),
    ];
    let edge = Edge::start(EdgeOptions { shops: vec![config.clone()], vars, ..Default::default() });
    aps.set_feedback_url(&edge.url("/v1/webhooks/aps"));
    World { edge, aps, shop, config }
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(start)
}

fn notifications(w: &World, r: &str) -> Vec<Notification> {
    flows::notifications(&w.shop, &w.config, r)
}

/// Starts a session; posts its signed form to the hosted page as the widget does.
fn open(w: &World, r: &str, amount: i64, method: &str) -> (String, Reply) {
    let session = flows::start_session(&w.edge, &sign_intent(&w.config, &claims(&w.config, r, amount)), method);
    assert_eq!(session.status, 200, "{}", session.body);
    let action = &session.json()["next_action"];
    assert_eq!(action["type"], "form_post", "APS opens with a form post: {action}");
    let fields: Vec<(String, String)> = action["fields"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect();
    let reference = fields.iter().find(|(k, _)| k == "merchant_reference").unwrap().1.clone();
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let page = http::post_form(action["url"].as_str().unwrap(), &pairs);
    assert_eq!(page.status, 200, "{}", page.body);
    (reference, page)
}

fn card(w: &World, reference: &str, number: &str) -> Reply {
    http::post_form(&format!("{}/FortAPI/paymentPage/{reference}/card", w.aps.base), &[("card_number", number)])
}

/// Submits the page's auto-posting return form to the edge; returns the edge's redirect.
fn return_to_edge(page: &Reply) -> Reply {
    let action = page.body.split("action=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let fields: Vec<(String, String)> = page
        .body
        .split("<input type=hidden name=\"")
        .skip(1)
        .map(|chunk| {
            let name = chunk.split('"').next().unwrap().to_string();
            let value = chunk.split("value=\"").nth(1).unwrap().split('"').next().unwrap().replace("&quot;", "\"");
            (name, value)
        })
        .collect();
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let back = http::post_form(&action, &pairs);
    assert_eq!(back.status, 303, "{}", back.body);
    back
}

#[test]
fn approve_decline_and_three_d_secure() {
    let w = world();
    let r = reference("aps-ok");
    let (mref, page) = open(w, &r, 4550, "visa");
    assert!(page.body.contains("4550 SAR"));
    assert!(return_to_edge(&card(w, &mref, "4005550000000001")).location.unwrap().contains("status=paid"));
    eventually(10, "the transaction feedback", || (w.aps.feedback_sent() > 0).then_some(()));
    std::thread::sleep(Duration::from_millis(500));
    let got = notifications(w, &r);
    assert_eq!(kinds(&got), ["payment.succeeded"]);
    assert_eq!((got[0].card_brand.as_deref(), got[0].card_last4.as_deref()), (Some("visa"), Some("0001")));

    let r = reference("aps-decline");
    let (mref, _) = open(w, &r, 1000, "visa");
    assert!(return_to_edge(&card(w, &mref, "4000000000000002")).location.unwrap().contains("status=failed"));
    let got = eventually(10, "the failure", || Some(notifications(w, &r)).filter(|n| !n.is_empty()));
    let error = got[0].error.as_ref().unwrap();
    assert_eq!((error.code.as_str(), error.message.as_str()), ("insufficient_funds", "Insufficient Funds (13016)"));

    for (button, expected) in [("ok", "paid"), ("fail", "failed")] {
        let r = reference("aps-3ds");
        let (mref, _) = open(w, &r, 20000, "mada");
        let challenge = card(w, &mref, "4464040000000007");
        assert!(challenge.body.contains("3-D Secure"));
        let done = http::post_form(&format!("{}/FortAPI/paymentPage/{mref}/3ds", w.aps.base), &[("result", button)]);
        assert!(return_to_edge(&done).location.unwrap().contains(&format!("status={expected}")));
    }
}

#[test]
fn a_tampered_form_is_refused_by_the_gateway_and_a_tampered_amount_fails() {
    let w = world();
    let r = reference("aps-form");
    let session = flows::start_session(&w.edge, &sign_intent(&w.config, &claims(&w.config, &r, 5000)), "visa");
    let action = session.json()["next_action"].clone();
    let mut fields: BTreeMap<String, String> = action["fields"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect();
    fields.insert("amount".into(), "1".into()); // the shopper edits the form in the browser
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let refused = http::post_form(action["url"].as_str().unwrap(), &pairs);
    assert!(refused.body.contains("Signature mismatch"), "{}", refused.body);

    let r = reference("aps-tamper");
    let (mref, _) = open(w, &r, 9900, "visa");
    let page = card(w, &mref, "4005550000000001");
    w.aps.tamper_amount(&mref, 100);
    assert!(return_to_edge(&page).location.unwrap().contains("status=failed"));
    let got = eventually(10, "the failure", || Some(notifications(w, &r)).filter(|n| !n.is_empty()));
    assert_eq!(got[0].error.as_ref().unwrap().code, "amount_mismatch");
}

#[test]
fn feedback_must_be_signed_with_the_response_phrase() {
    let w = world();
    let r = reference("aps-feedback");
    let (mref, _) = open(w, &r, 3000, "mastercard");
    // Paid, but the shopper's browser never comes back.
    let _ = card(w, &mref, "5123456789012346");
    let hook = w.edge.url("/v1/webhooks/aps");
    let mut fields = BTreeMap::new();
    fields.insert("merchant_reference".to_string(), mref.clone());
    fields.insert("status".to_string(), "14".to_string());
    let encode = |f: &BTreeMap<String, String>| f.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
    let missing = http::post(&hook, "application/x-www-form-urlencoded", encode(&fields).as_bytes());
    assert_eq!((missing.status, missing.error_code()), (401, "signature_missing".to_string()));
    let mut wrong = fields.clone();
    wrong.insert("signature".into(), sign(&fields, "not-the-phrase", ShaType::Sha256));
    let wrong = http::post(&hook, "application/x-www-form-urlencoded", encode(&wrong).as_bytes());
    assert_eq!((wrong.status, wrong.error_code()), (401, "signature_invalid".to_string()));
    let mut good = fields.clone();
    good.insert("signature".into(), sign(&fields, &creds().response_phrase, ShaType::Sha256));
    for _ in 0..3 {
        assert_eq!(http::post(&hook, "application/x-www-form-urlencoded", encode(&good).as_bytes()).status, 200);
    }
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(kinds(&notifications(w, &r)), ["payment.succeeded"]);
}

#[test]
fn refunds_partial_full_and_over() {
    let w = world();
    let r = reference("aps-refund");
    let (mref, _) = open(w, &r, 6000, "visa");
    return_to_edge(&card(w, &mref, "4005550000000001"));
    let refund = |amount: Option<i64>| {
        let mut body = serde_json::json!({"reference": r});
        if let Some(a) = amount {
            body["amount"] = a.into();
        }
        signed_post(&w.edge, &w.config, "/v1/refunds", &body)
    };
    assert_eq!(refund(Some(1500)).json()["refunded_total"], 1500);
    assert_eq!(refund(Some(4501)).error_code(), "refund_exceeds_payment");
    assert_eq!(refund(None).json()["payment_state"], "refunded");
    let got = eventually(10, "the refunds", || Some(notifications(w, &r)).filter(|n| n.len() == 3));
    assert_eq!(got.iter().map(|n| n.amount).collect::<Vec<_>>(), [6000, 1500, 4500]);
    let void = signed_post(&w.edge, &w.config, "/v1/voids", &serde_json::json!({"reference": r}));
    assert_eq!(void.status, 409);
}

#[test]
fn check_connection_and_outages() {
    let w = start();
    let check = || {
        let reply = signed_post(&w.edge, &w.config, "/v1/check", &serde_json::json!({"currency": "SAR"}));
        let g = reply.json()["gateways"][0].clone();
        (g["verdict"].as_str().unwrap().to_string(), g["message"].as_str().unwrap_or("").to_string())
    };
    assert_eq!(check().0, "ok");
    w.aps.set_request_phrase("rotated-phrase");
    let (verdict, message) = check();
    assert_eq!(verdict, "invalid_credentials");
    assert!(message.contains("Signature mismatch"), "{message}");
    w.aps.set_request_phrase(&creds().request_phrase);
    for health in [Health::Failing, Health::Hanging] {
        w.aps.set_health(health);
        assert_eq!(check().0, "unreachable");
    }
    w.aps.set_health(Health::Up);
    assert_eq!(check().0, "ok");
}
