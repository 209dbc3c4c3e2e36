//! Moyasar through the real edge in workerd, against the fake Moyasar on 127.0.0.1: hosted
//! invoice, approve, decline, 3-D Secure, tampered amount, webhook token, duplicates, refunds,
//! void, unsupported capture, credentials check, and a gateway that fails or hangs.

use bawaba_core::notification::Notification;
use bawaba_tests::edge::{eventually, Edge, EdgeOptions, ShopConfig};
use bawaba_tests::fake_shop::FakeShop;
use bawaba_tests::fakes::moyasar::FakeMoyasar;
use bawaba_tests::fakes::Health;
use bawaba_tests::flows::{self, claims, reference, sign, signed_post};
use bawaba_tests::http::{self, Reply};
use std::sync::OnceLock;
use std::time::Duration;

const KEY: &str = "sk_test_bawaba_0123456789";
const TOKEN: &str = "moyasar-webhook-token-0123";

struct World {
    edge: Edge,
    moyasar: FakeMoyasar,
    shop: FakeShop,
    config: ShopConfig,
}

fn start(vars: &[(&str, &str)]) -> World {
    let moyasar = FakeMoyasar::start(KEY, TOKEN);
    let shop = FakeShop::start();
    let config = ShopConfig { id: "souq".into(), origin: shop.origin.clone(), secret: "souq-secret-0123456789".into() };
    let mut all = vec![
        ("BAWABA_ROUTES".to_string(), "mada=moyasar,visa=moyasar,mastercard=moyasar".to_string()),
        ("MOYASAR_API_BASE".into(), moyasar.api_base()),
        ("MOYASAR_SECRET_KEY".into(), KEY.into()),
        ("MOYASAR_WEBHOOK_SECRET".into(), TOKEN.into()),
        ("GATEWAY_TIMEOUT_MS".into(), "2000".into()),
    ];
    all.extend(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let edge = Edge::start(EdgeOptions { shops: vec![config.clone()], vars: all, ..Default::default() });
    moyasar.set_webhook_url(&edge.url("/v1/webhooks/moyasar"));
    World { edge, moyasar, shop, config }
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| start(&[]))
}

fn notifications(w: &World, reference: &str) -> Vec<Notification> {
    flows::notifications(&w.shop, &w.config, reference)
}

/// Starts a session and returns (session reply, invoice id, hosted page URL).
fn open(w: &World, r: &str, amount: i64, method: &str) -> (Reply, String, String) {
    let session = flows::start_session(&w.edge, &sign(&w.config, &claims(&w.config, r, amount)), method);
    assert_eq!(session.status, 200, "{}", session.body);
    assert_eq!(session.json()["gateway"], "moyasar");
    let url = flows::hosted_url(&session);
    assert!(url.starts_with(&w.moyasar.base), "the shopper goes to Moyasar's page: {url}");
    let invoice = url.rsplit('/').next().unwrap().to_string();
    (session, invoice, url)
}

/// Pays on the fake's page; follows the redirect through the edge's return route.
fn pay(page_url: &str, number: &str) -> Reply {
    let page = http::get(page_url);
    assert!(page.body.contains("id=number"), "a card form: {}", page.body);
    http::post_form(
        &format!("{page_url}/pay"),
        &[("number", number), ("name", "A B"), ("month", "12"), ("year", "30"), ("cvc", "123")],
    )
}

use flows::{back_through_edge, kinds};

#[test]
fn approve_sends_one_verified_result_even_with_the_webhook() {
    let w = world();
    let r = reference("my-ok");
    let (_, invoice, url) = open(w, &r, 4550, "visa");
    let back = back_through_edge(&pay(&url, "4111111111111111"));
    assert!(back.location.unwrap().contains("status=paid"));
    eventually(10, "Moyasar's webhook", || (w.moyasar.webhooks_sent() > 0).then_some(()));
    std::thread::sleep(Duration::from_millis(500));
    let got = notifications(w, &r);
    assert_eq!(kinds(&got), ["payment.succeeded"]);
    assert_eq!((got[0].gateway.as_str(), got[0].gateway_payment_id.as_str()), ("moyasar", invoice.as_str()));
    assert_eq!((got[0].card_brand.as_deref(), got[0].card_last4.as_deref()), (Some("visa"), Some("1111")));
}

#[test]
fn decline_fails_with_the_issuers_message() {
    let w = world();
    let r = reference("my-decline");
    let (_, _, url) = open(w, &r, 2000, "visa");
    let back = back_through_edge(&pay(&url, "4123120001090000"));
    assert!(back.location.unwrap().contains("status=failed"));
    let got = eventually(10, "the failure", || Some(notifications(w, &r)).filter(|n| !n.is_empty()));
    assert_eq!(kinds(&got), ["payment.failed"]);
    assert!(got[0].error.as_ref().unwrap().message.contains("INSUFFICIENT_FUNDS"));
}

#[test]
fn mada_goes_through_three_d_secure() {
    let w = world();
    for (button, expected) in [("ok", "paid"), ("fail", "failed")] {
        let r = reference("my-3ds");
        let (_, invoice, url) = open(w, &r, 10000, "mada");
        let challenge = pay(&url, "4201320111111010");
        assert_eq!(challenge.status, 200);
        assert!(challenge.body.contains("3-D Secure"));
        let payment =
            challenge.body.split(&format!("/invoices/{invoice}/3ds/")).nth(1).unwrap().split('"').next().unwrap();
        let done = http::post_form(&format!("{url}/3ds/{payment}"), &[("result", button)]);
        let back = back_through_edge(&done);
        assert!(back.location.unwrap().contains(&format!("status={expected}")));
    }
}

#[test]
fn a_result_for_another_amount_is_a_failure_never_a_success() {
    let w = world();
    let r = reference("my-tamper");
    let (_, invoice, url) = open(w, &r, 9900, "visa");
    w.moyasar.tamper_amount(&invoice, 100);
    let back = back_through_edge(&pay(&url, "4111111111111111"));
    assert!(back.location.unwrap().contains("status=failed"));
    let got = eventually(10, "the failure", || Some(notifications(w, &r)).filter(|n| !n.is_empty()));
    assert_eq!(kinds(&got), ["payment.failed"]);
    assert_eq!(got[0].error.as_ref().unwrap().code, "amount_mismatch");
}

#[test]
fn webhooks_need_the_secret_token_and_duplicates_change_nothing() {
    let w = world();
    let r = reference("my-hook");
    let (_, invoice, url) = open(w, &r, 3000, "visa");
    // Pay on the page but never come back: only webhooks will tell the edge.
    let paid = pay(&url, "5421080101000000");
    assert_eq!(paid.status, 303);
    let payment_id = paid.location.unwrap().split("id=").nth(1).unwrap().split('&').next().unwrap().to_string();
    let body = |token: Option<&str>| {
        serde_json::json!({"id":"evt_x","type":"payment_paid","created_at":"2026-11-27T12:00:00Z","secret_token":token,
            "data":{"id":payment_id,"status":"paid","amount":3000,"currency":"SAR","invoice_id":invoice}})
        .to_string()
    };
    let hook = w.edge.url("/v1/webhooks/moyasar");
    for (token, code) in [(None, "signature_missing"), (Some("wrong-token"), "signature_invalid")] {
        let reply = http::post(&hook, "application/json", body(token).as_bytes());
        assert_eq!((reply.status, reply.error_code()), (401, code.to_string()));
    }
    let threads: Vec<_> = (0..5)
        .map(|_| {
            let (hook, b) = (hook.clone(), body(Some(TOKEN)));
            std::thread::spawn(move || http::post(&hook, "application/json", b.as_bytes()).status)
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), 200);
    }
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(kinds(&notifications(w, &r)), ["payment.succeeded"]);
    // A genuine token for an invoice the edge never created is acknowledged and ignored.
    let stranger = serde_json::json!({"id":"e","type":"payment_paid","secret_token":TOKEN,
        "data":{"id":"p","status":"paid","amount":1,"currency":"SAR","invoice_id":"not-ours"}});
    let reply = http::post(&hook, "application/json", stranger.to_string().as_bytes());
    assert_eq!((reply.status, reply.json()["known"].as_bool()), (200, Some(false)));
}

#[test]
fn refunds_partial_then_full_never_more() {
    let w = world();
    let r = reference("my-refund");
    let (_, _, url) = open(w, &r, 4550, "visa");
    back_through_edge(&pay(&url, "4111111111111111"));
    let refund = |amount: Option<i64>| {
        let mut body = serde_json::json!({"reference": r});
        if let Some(a) = amount {
            body["amount"] = a.into();
        }
        signed_post(&w.edge, &w.config, "/v1/refunds", &body)
    };
    let first = refund(Some(1000));
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(
        (first.json()["refunded_total"].as_i64(), first.json()["payment_state"].as_str()),
        (Some(1000), Some("partially_refunded"))
    );
    let over = refund(Some(4000));
    assert_eq!((over.status, over.error_code().as_str()), (422, "refund_exceeds_payment"));
    let rest = refund(None);
    assert_eq!(rest.status, 200, "{}", rest.body);
    assert_eq!((rest.json()["amount"].as_i64(), rest.json()["payment_state"].as_str()), (Some(3550), Some("refunded")));
    let again = refund(Some(1));
    assert_eq!((again.status, again.error_code().as_str()), (409, "operation_not_allowed"));
    let got = eventually(10, "three notifications", || Some(notifications(w, &r)).filter(|n| n.len() == 3));
    assert_eq!(kinds(&got), ["payment.succeeded", "refund.succeeded", "refund.succeeded"]);
    assert_eq!(got.iter().map(|n| n.amount).collect::<Vec<_>>(), [4550, 1000, 3550]);
    assert!(got[1].refund_id.is_some());
    // Unsigned or unknown: refused without touching the payment.
    let unsigned = http::post_json(&w.edge.url("/v1/refunds"), &serde_json::json!({"reference": r}));
    assert_eq!(unsigned.status, 401);
    let unknown = signed_post(&w.edge, &w.config, "/v1/refunds", &serde_json::json!({"reference": "nope"}));
    assert_eq!((unknown.status, unknown.error_code().as_str()), (404, "payment_not_found"));
}

#[test]
fn void_before_settlement_and_no_capture_on_invoices() {
    let w = world();
    let r = reference("my-void");
    let (_, _, url) = open(w, &r, 2500, "mastercard");
    back_through_edge(&pay(&url, "5421080101000000"));
    let capture = signed_post(&w.edge, &w.config, "/v1/captures", &serde_json::json!({"reference": r}));
    assert_eq!((capture.status, capture.error_code().as_str()), (409, "operation_not_allowed"));
    let void = signed_post(&w.edge, &w.config, "/v1/voids", &serde_json::json!({"reference": r}));
    assert_eq!(void.status, 200, "{}", void.body);
    assert_eq!(void.json()["payment_state"], "voided");
    let got = eventually(10, "the void", || Some(notifications(w, &r)).filter(|n| n.len() == 2));
    assert_eq!(kinds(&got), ["payment.succeeded", "payment.voided"]);
}

#[test]
fn check_connection_and_outages() {
    let w = start(&[]);
    let check = |currency: Option<&str>| {
        let body = currency.map(|c| serde_json::json!({"currency": c})).unwrap_or_else(|| serde_json::json!({}));
        let reply = signed_post(&w.edge, &w.config, "/v1/check", &body);
        assert_eq!(reply.status, 200, "{}", reply.body);
        let g = reply.json()["gateways"][0].clone();
        assert_eq!(g["gateway"], "moyasar");
        assert!(g["latency_ms"].as_i64().is_some());
        g["verdict"].as_str().unwrap().to_string()
    };
    assert_eq!(check(Some("SAR")), "ok");
    assert_eq!(check(Some("JPY")), "currency_unsupported");
    // Which methods the shop may offer: mada only in SAR.
    let methods = |currency: &str| {
        signed_post(&w.edge, &w.config, "/v1/check", &serde_json::json!({"currency": currency})).json()["methods"]
            .clone()
    };
    assert_eq!(methods("SAR"), serde_json::json!(["mada", "visa", "mastercard"]));
    assert_eq!(methods("USD"), serde_json::json!(["visa", "mastercard"]));
    assert_eq!(methods("JPY"), serde_json::json!([]));

    // The gateway fails, then hangs: a clear error, nothing lost, and the same intent works later.
    let r = reference("my-outage");
    let intent = sign(&w.config, &claims(&w.config, &r, 1200));
    w.moyasar.set_health(Health::Failing);
    assert_eq!(check(None), "unreachable");
    let failed = flows::start_session(&w.edge, &intent, "visa");
    assert_eq!((failed.status, failed.error_code().as_str()), (502, "gateway_unavailable"));
    w.moyasar.set_health(Health::Hanging);
    assert_eq!(check(None), "unreachable");
    let hung = flows::start_session(&w.edge, &intent, "visa");
    assert_eq!((hung.status, hung.error_code().as_str()), (502, "gateway_unavailable"));
    w.moyasar.set_health(Health::Up);
    let ok = flows::start_session(&w.edge, &intent, "visa");
    assert_eq!(ok.status, 200, "after the outage the same intent works: {}", ok.body);

    w.moyasar.set_secret_key("sk_test_rotated");
    assert_eq!(check(None), "invalid_credentials");
    w.moyasar.set_secret_key(KEY);
}

#[test]
fn a_missing_setting_is_named() {
    let w = start(&[("MOYASAR_WEBHOOK_SECRET", "")]);
    let reply = flows::start_session(&w.edge, &sign(&w.config, &claims(&w.config, &reference("cfg"), 1000)), "visa");
    assert_eq!((reply.status, reply.error_code().as_str()), (500, "edge_misconfigured"));
    assert!(reply.json()["error"]["message"].as_str().unwrap().contains("MOYASAR_WEBHOOK_SECRET"));
    let check = signed_post(&w.edge, &w.config, "/v1/check", &serde_json::json!({}));
    assert_eq!(check.json()["gateways"][0]["verdict"], "not_configured");
}
