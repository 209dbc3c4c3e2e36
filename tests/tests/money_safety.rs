//! The money paths, through the real edge in workerd against fake Moyasar and Tap on
//! 127.0.0.1: what happens when a message comes twice, late, on another route, for another
//! shop, or not at all. Each test names the invariant it proves (`core/src/lifecycle/mod.rs`);
//! the property tests in `core/tests/lifecycle.rs` prove them over random histories, these prove
//! the edge's I/O shell keeps them with real HTTP, storage and alarms.
//!
//! Payments here expire after 4 s and the edge asks gateways every second, so expiry scenarios
//! run in seconds.

use bawaba_core::notification::Notification;
use bawaba_core::signature::SignedCall;
use bawaba_tests::edge::{eventually, Edge, EdgeOptions, ShopConfig};
use bawaba_tests::fake_shop::FakeShop;
use bawaba_tests::fakes::moyasar::FakeMoyasar;
use bawaba_tests::fakes::tap::{FakeTap, RefundOutcome};
use bawaba_tests::fakes::Health;
use bawaba_tests::flows::{self, back_through_edge, claims, kinds, reference, sign};
use bawaba_tests::http::{self, Reply};
use std::io::{Read, Write};
use std::sync::OnceLock;
use std::time::Duration;

const MOYASAR_KEY: &str = "sk_test_moyasar_0123456789";
const MOYASAR_TOKEN: &str = "moyasar-webhook-token-0123";
const TAP_KEY: &str = "sk_test_tap_0123456789";

struct World {
    edge: Edge,
    moyasar: FakeMoyasar,
    tap: FakeTap,
    shop: FakeShop,
    config: ShopConfig,
    other: ShopConfig,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(start)
}

/// An edge with its own fakes (tests that take a gateway down get their own, since tests run in
/// parallel).
fn start() -> World {
    {
        let moyasar = FakeMoyasar::start(MOYASAR_KEY, MOYASAR_TOKEN);
        let tap = FakeTap::start(TAP_KEY);
        let shop = FakeShop::start();
        let config =
            ShopConfig { id: "amanah".into(), origin: shop.origin.clone(), secret: "amanah-secret-0123456789".into() };
        let other =
            ShopConfig { id: "amanah-2".into(), origin: shop.origin.clone(), secret: "other-secret-0123456789".into() };
        let vars = [
            ("BAWABA_ROUTES", "mada=moyasar,visa=tap,mastercard=tap"),
            ("MOYASAR_API_BASE", &moyasar.api_base()),
            ("MOYASAR_SECRET_KEY", MOYASAR_KEY),
            ("MOYASAR_WEBHOOK_SECRET", MOYASAR_TOKEN),
            ("TAP_API_BASE", &tap.api_base()),
            ("TAP_SECRET_KEY", TAP_KEY),
            ("GATEWAY_TIMEOUT_MS", "2000"),
            ("PAYMENT_EXPIRES_AFTER_SECS", "4"),
            ("RECONCILE_AFTER_SECS", "1"),
            ("NOTIFY_RETRY_BASE_MS", "300"),
            ("NOTIFY_RETRY_MAX_MS", "1500"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let edge = Edge::start(EdgeOptions { shops: vec![config.clone(), other.clone()], vars, ..Default::default() });
        moyasar.set_webhook_url(&edge.url("/v1/webhooks/moyasar"));
        World { edge, moyasar, tap, shop, config, other }
    }
}

fn notifications(w: &World, shop: &ShopConfig, r: &str) -> Vec<Notification> {
    flows::notifications(&w.shop, shop, r)
}

/// Starts a session; returns it and the gateway's id for it (the last segment of its page).
fn open(w: &World, shop: &ShopConfig, r: &str, amount: i64, method: &str) -> (Reply, String) {
    let session = flows::start_session(&w.edge, &sign(shop, &claims(shop, r, amount)), method);
    assert_eq!(session.status, 200, "{}", session.body);
    let url = flows::hosted_url(&session);
    let id = url.rsplit('/').next().unwrap().to_string();
    (session, id)
}

/// Pays on Tap's hosted page of `session`.
fn pay_on_tap(session: &Reply, number: &str) -> Reply {
    let url = flows::hosted_url(session);
    assert!(http::get(&url).body.contains("id=number"), "Tap's card form");
    http::post_form(&url, &[("number", number), ("expiry", "01/39"), ("cvc", "100")])
}

fn session_id(session: &Reply) -> String {
    session.json()["id"].as_str().unwrap().to_string()
}

fn status(w: &World, session: &str) -> serde_json::Value {
    http::get(&w.edge.url(&format!("/v1/sessions/{session}"))).json()
}

/// A signed refund with `Idempotency-Key: key`.
fn refund_call(w: &World, shop: &ShopConfig, key: &str, body: &serde_json::Value) -> Reply {
    flows::signed_post_with_key(&w.edge, shop, "/v1/refunds", body, key)
}

fn refund(w: &World, shop: &ShopConfig, r: &str, key: &str, amount: Option<i64>) -> Reply {
    let mut body = serde_json::json!({"reference": r});
    if let Some(a) = amount {
        body["amount"] = a.into();
    }
    refund_call(w, shop, key, &body)
}

fn inspect(w: &World, shop: &ShopConfig, r: &str) -> serde_json::Value {
    let reply = flows::signed_get(&w.edge, shop, &format!("/v1/payments/{r}"));
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()
}

/// Invariants 1 and 4: a gateway the edge cannot reach at the expiry keeps the payment open;
/// the charge the shopper made meanwhile reaches the shop when the gateway answers again.
#[test]
fn a_charge_the_edge_could_not_see_at_expiry_still_pays_the_order() {
    let w = &start();
    let r = reference("late");
    let (session, invoice) = open(w, &w.config, &r, 4550, "mada");
    let id = session_id(&session);
    w.moyasar.set_health(Health::Failing);
    // The shopper pays; Moyasar's webhook arrives, but the edge cannot confirm it (a webhook
    // is a trigger, never proof): the API answers 500.
    w.moyasar.pay_invoice(&invoice, "4111111111111111").expect("the page takes the payment");
    std::thread::sleep(Duration::from_secs(7));
    let view = status(w, &id);
    assert_eq!(view["status"], "pending", "not canceled while the gateway cannot say: {view}");
    assert!(notifications(w, &w.config, &r).is_empty());
    let history = inspect(w, &w.config, &r)["payment"]["history"].clone();
    assert!(history.as_array().unwrap().iter().any(|h| h["outcome"] == "kept_open"), "{history}");
    w.moyasar.set_health(Health::Up);
    let got =
        eventually(20, "the late charge announced", || Some(notifications(w, &w.config, &r)).filter(|n| !n.is_empty()));
    assert_eq!(kinds(&got), ["payment.succeeded"]);
    assert_eq!(status(w, &id)["status"], "paid");
}

/// Invariant 4, the other way: a page the gateway itself closed (Moyasar's `expired_at`, set
/// from the payment's expiry) makes the payment canceled, and the page takes no late payment.
#[test]
fn an_expired_page_closed_by_the_gateway_cancels_the_payment() {
    let w = world();
    let r = reference("expired");
    let (session, invoice) = open(w, &w.config, &r, 1200, "mada");
    let got =
        eventually(20, "the payment canceled", || Some(notifications(w, &w.config, &r)).filter(|n| !n.is_empty()));
    assert_eq!(kinds(&got), ["payment.canceled"]);
    assert_eq!(got[0].error.as_ref().map(|e| e.code.as_str()), Some("expired"));
    assert_eq!(status(w, &session_id(&session))["status"], "canceled");
    assert!(w.moyasar.pay_invoice(&invoice, "4111111111111111").is_err(), "Moyasar's page is closed");
}

/// Invariant 1: a declined newer tab (visa on Tap) does not hide a paid older one (mada on
/// Moyasar): the shop hears the failure, then the payment.
#[test]
fn a_declined_newer_tab_does_not_hide_a_paid_older_one() {
    let w = world();
    let r = reference("tabs-a");
    let (_, invoice) = open(w, &w.config, &r, 3000, "mada");
    let (visa, _) = open(w, &w.config, &r, 3000, "visa");
    back_through_edge(&pay_on_tap(&visa, "4000000000000002"));
    assert_eq!(status(w, &session_id(&visa))["status"], "failed");
    w.moyasar.pay_invoice(&invoice, "4111111111111111").expect("the old tab pays");
    let got = eventually(15, "the old tab's charge", || Some(notifications(w, &w.config, &r)).filter(|n| n.len() >= 2));
    assert_eq!(kinds(&got), ["payment.failed", "payment.succeeded"]);
    assert_eq!((got[1].gateway.as_str(), got[1].gateway_payment_id.as_str()), ("moyasar", invoice.as_str()));
    assert_eq!(status(w, &session_id(&visa))["status"], "paid");
}

/// Invariant 1: two tabs on two gateways, both paid: the first charge pays the order, the edge
/// refunds the second in full by itself and tells the shop.
#[test]
fn two_tabs_both_paid_the_second_charge_is_refunded_in_full() {
    let w = world();
    let r = reference("tabs-b");
    let (_, invoice) = open(w, &w.config, &r, 2500, "mada");
    let (visa, charge) = open(w, &w.config, &r, 2500, "visa");
    assert!(back_through_edge(&pay_on_tap(&visa, "4508750015741019")).location.unwrap().contains("status=paid"));
    let paid = w.moyasar.pay_invoice(&invoice, "4111111111111111").expect("the old tab pays too");
    let got =
        eventually(15, "the second charge refunded", || Some(notifications(w, &w.config, &r)).filter(|n| n.len() >= 2));
    assert_eq!(kinds(&got), ["payment.succeeded", "payment.duplicate_refunded"]);
    assert_eq!((got[0].gateway.as_str(), got[1].gateway.as_str()), ("tap", "moyasar"));
    assert_eq!(got[1].amount, 2500);
    let at_moyasar = w.moyasar.payment(paid["id"].as_str().unwrap()).expect("Moyasar's payment");
    assert_eq!((at_moyasar["status"].as_str(), at_moyasar["refunded"].as_i64()), (Some("refunded"), Some(2500)));
    assert!(w.tap.refunds_of(&charge).is_empty(), "the order's own charge is untouched");
    let payment = inspect(w, &w.config, &r)["payment"].clone();
    assert_eq!(payment["state"], "paid");
}

/// Invariant 3 and pending refunds: a Tap refund answered PENDING reserves its amount, is
/// followed up, and when Tap declines it the shop hears `refund.failed` and can refund again.
#[test]
fn a_pending_tap_refund_declined_later_is_reported_and_frees_the_amount() {
    let w = world();
    let r = reference("pending-refund");
    let (visa, _) = open(w, &w.config, &r, 4000, "visa");
    back_through_edge(&pay_on_tap(&visa, "4508750015741019"));
    w.tap.set_refunds_pending(true);
    let first = refund(w, &w.config, &r, "R-1", None);
    w.tap.set_refunds_pending(false);
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.json()["status"], "pending");
    let tap_refund = first.json()["id"].as_str().expect("Tap's refund id").to_string();
    let blocked = refund(w, &w.config, &r, "R-2", Some(1));
    assert_eq!((blocked.status, blocked.error_code().as_str()), (422, "refund_exceeds_payment"));
    assert!(w.tap.settle_refund(&tap_refund, RefundOutcome::Failed));
    let got = eventually(15, "refund.failed", || Some(notifications(w, &w.config, &r)).filter(|n| n.len() >= 2));
    assert_eq!(kinds(&got), ["payment.succeeded", "refund.failed"]);
    assert_eq!(got[1].idempotency_key.as_deref(), Some("R-1"));
    let again = refund(w, &w.config, &r, "R-3", None);
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(
        (again.json()["status"].as_str(), again.json()["payment_state"].as_str()),
        (Some("succeeded"), Some("refunded"))
    );
}

/// Idempotency: the same refund sent twice refunds once and answers the same; the same key
/// for another amount is 409; no key is 400.
#[test]
fn the_same_idempotent_refund_twice_moves_money_once() {
    let w = world();
    let r = reference("idem");
    let (visa, charge) = open(w, &w.config, &r, 5000, "visa");
    back_through_edge(&pay_on_tap(&visa, "4508750015741019"));
    let first = refund(w, &w.config, &r, "S0042-R1", Some(1000));
    let second = refund(w, &w.config, &r, "S0042-R1", Some(1000));
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.json(), second.json(), "the first answer, again");
    assert_eq!(first.json()["refunded_total"], 1000);
    assert_eq!(w.tap.refunds_of(&charge).len(), 1, "one refund at the gateway");
    let other = refund(w, &w.config, &r, "S0042-R1", Some(2000));
    assert_eq!((other.status, other.error_code().as_str()), (409, "idempotency_key_reused"));
    let body = serde_json::json!({"reference": r, "amount": 1000}).to_string();
    let call = SignedCall {
        method: "POST",
        path_and_query: "/v1/refunds",
        shop_id: &w.config.id,
        idempotency_key: None,
        body: body.as_bytes(),
    };
    let keyless = flows::signed_call(&w.edge, &w.config, &call);
    assert_eq!((keyless.status, keyless.error_code().as_str()), (400, "idempotency_key_missing"));
    let refunds =
        eventually(10, "one refund.succeeded", || Some(notifications(w, &w.config, &r)).filter(|n| n.len() >= 2));
    assert_eq!(kinds(&refunds), ["payment.succeeded", "refund.succeeded"]);
    assert_eq!(refunds[1].idempotency_key.as_deref(), Some("S0042-R1"));
}

/// The call signature binds the route, the key and the shop: a void's signed body replayed to
/// `/v1/refunds`, or under another key, or by another shop, is refused and moves nothing.
#[test]
fn a_signed_call_replayed_to_another_route_or_key_is_refused() {
    let w = world();
    let r = reference("replay");
    let (visa, charge) = open(w, &w.config, &r, 3300, "visa");
    back_through_edge(&pay_on_tap(&visa, "4508750015741019"));
    let body = serde_json::json!({"reference": r});
    let raw = body.to_string();
    let void = SignedCall {
        method: "POST",
        path_and_query: "/v1/voids",
        shop_id: &w.config.id,
        idempotency_key: Some("K-void"),
        body: raw.as_bytes(),
    };
    let replayed =
        flows::signed_call_raw(&w.edge, &w.config, &SignedCall { path_and_query: "/v1/refunds", ..void }, &void);
    assert_eq!((replayed.status, replayed.error_code().as_str()), (401, "signature_invalid"));
    // The same signature under another key: the key is inside the MAC.
    let signed = SignedCall { path_and_query: "/v1/refunds", idempotency_key: Some("K-1"), ..void };
    let rekeyed =
        flows::signed_call_raw(&w.edge, &w.config, &SignedCall { idempotency_key: Some("K-2"), ..signed }, &signed);
    assert_eq!((rekeyed.status, rekeyed.error_code().as_str()), (401, "signature_invalid"));
    // Another shop, signing properly with its own secret, cannot reach this shop's payment.
    let stranger = refund(w, &w.other, &r, "K-3", None);
    assert_eq!((stranger.status, stranger.error_code().as_str()), (404, "payment_not_found"));
    assert!(w.tap.refunds_of(&charge).is_empty(), "nothing was refunded");
    assert_eq!(inspect(w, &w.config, &r)["payment"]["state"], "paid");
}

/// Tenancy: the same reference in two shops is two payments.
#[test]
fn the_same_reference_in_two_shops_is_two_payments() {
    let w = world();
    let r = reference("shared");
    let (a, _) = open(w, &w.config, &r, 1000, "visa");
    let (b, _) = open(w, &w.other, &r, 2000, "visa");
    assert_ne!(session_id(&a), session_id(&b));
    assert_eq!((a.json()["amount"].as_i64(), b.json()["amount"].as_i64()), (Some(1000), Some(2000)));
}

/// Bounded input: a body sent without a length (chunked; a client announcing 90 MB) is refused
/// with 413 once past 64 KiB, before the client has sent the rest: the edge does not wait for,
/// or buffer, what comes after the limit. The edge is fine afterwards.
#[test]
fn a_chunked_body_is_refused_at_64_kib_before_the_rest_is_sent() {
    let w = world();
    let address = w.edge.base.trim_start_matches("http://").to_string();
    let mut stream = std::net::TcpStream::connect(&address).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let head = format!(
        "POST /v1/sessions HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nX-Announced-Size: 94371840\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).unwrap();
    // 1 MiB of the 90 MB, then wait: the answer must come while the body is unfinished.
    let chunk = vec![b'a'; 16 * 1024];
    for _ in 0..64 {
        let framed = [format!("{:x}\r\n", chunk.len()).as_bytes(), &chunk, b"\r\n"].concat();
        if stream.write_all(&framed).is_err() {
            break; // the edge stopped reading: fine, its answer is waiting
        }
    }
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    while !String::from_utf8_lossy(&answer).contains("body_too_large") {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&buffer[..n]),
        }
    }
    let answer = String::from_utf8_lossy(&answer).to_string();
    assert!(answer.starts_with("HTTP/1.1 413"), "{:?}", answer.lines().next());
    assert!(answer.contains("body_too_large"), "{answer}");
    drop(stream);
    assert_eq!(http::get(&w.edge.url("/v1/health")).status, 200);
}

/// Checked arithmetic: time claims that overflow `exp - iat` are refused, as the Python
/// verifier refuses them (the vector `time claims that overflow` pins both).
#[test]
fn intent_time_claims_that_overflow_are_refused() {
    let w = world();
    let mut c = claims(&w.config, &reference("overflow"), 100);
    c.iat = -9_000_000_000_000_000_000;
    c.exp = 9_000_000_000_000_000_000;
    let reply = http::post_json(&w.edge.url("/v1/methods"), &serde_json::json!({"intent": sign(&w.config, &c)}));
    assert_eq!((reply.status, reply.error_code().as_str()), (401, "intent_lifetime_too_long"));
}

/// Tenancy: a shop id outside `[a-z0-9_-]{1,64}` in the registry is a misconfiguration that
/// names it, never a shop that could alias another's payments.
#[test]
fn a_malformed_shop_id_in_the_registry_is_named() {
    let shop = ShopConfig {
        id: "Dukkan".into(),
        origin: "https://shop.example".into(),
        secret: "dukkan-secret-0123456789".into(),
    };
    let edge = Edge::start(EdgeOptions { shops: vec![shop.clone()], vars: vec![], ..Default::default() });
    let reply = http::post_json(
        &edge.url("/v1/methods"),
        &serde_json::json!({"intent": sign(&shop, &claims(&shop, "1", 100))}),
    );
    assert_eq!((reply.status, reply.error_code().as_str()), (500, "edge_misconfigured"));
    assert!(reply.json()["error"]["message"].as_str().unwrap().contains("\"Dukkan\""), "{}", reply.body);
}

/// Alarms always re-arm: a malformed timing setting keeps its default (and is logged) instead
/// of stopping every payment's alarm, so a notification the shop first refused still arrives.
#[test]
fn a_malformed_setting_does_not_stop_deliveries() {
    use bawaba_tests::fake_shop::Mode;
    let shop = FakeShop::start();
    let config =
        ShopConfig { id: "tolerant".into(), origin: shop.origin.clone(), secret: "tolerant-secret-0123456789".into() };
    let vars = [
        ("NOTIFY_RETRY_BASE_MS", "300"),
        ("NOTIFY_RETRY_MAX_MS", "1000"),
        ("PAYMENT_EXPIRES_AFTER_SECS", "two hours"),
        ("NOTIFY_GIVE_UP_AFTER_SECS", "-1"),
        ("SANDBOX_WEBHOOKS", "off"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let edge = Edge::start(EdgeOptions { shops: vec![config.clone()], vars, ..Default::default() });
    shop.set_mode(Mode::Refuse);
    let r = reference("tolerant");
    assert_eq!(flows::pay(&edge, &config, &r, 700, "visa", "4111111111111111").status, 303);
    std::thread::sleep(Duration::from_secs(2));
    assert!(flows::notifications(&shop, &config, &r).is_empty());
    shop.set_mode(Mode::Answer(200));
    let got = eventually(20, "the notification after the shop came back", || {
        Some(flows::notifications(&shop, &config, &r)).filter(|n| !n.is_empty())
    });
    assert_eq!(kinds(&got), ["payment.succeeded"]);
    let log = edge.log_text();
    assert!(log.contains("PAYMENT_EXPIRES_AFTER_SECS must be a positive integer"), "the setting is named in the log");
}

/// Test versus live: a shop registered `test` never reaches live credentials, and one
/// registered `live` never the sandbox or test credentials; `POST /v1/check` says who the shop
/// is and which gateways it may use, and why not.
#[test]
fn test_and_live_shops_each_reach_only_credentials_of_their_mode() {
    let moyasar = FakeMoyasar::start("sk_live_moyasar_0123456789", MOYASAR_TOKEN);
    let fake = FakeShop::start();
    let test_shop =
        ShopConfig { id: "tajriba".into(), origin: fake.origin.clone(), secret: "tajriba-secret-0123456789".into() };
    let live_shop =
        ShopConfig { id: "haqiqi".into(), origin: fake.origin.clone(), secret: "haqiqi-secret-0123456789".into() };
    let vars = [
        ("BAWABA_ROUTES", "mada=moyasar,visa=sandbox"),
        ("MOYASAR_API_BASE", moyasar.api_base().as_str()),
        ("MOYASAR_SECRET_KEY", "sk_live_moyasar_0123456789"),
        ("MOYASAR_WEBHOOK_SECRET", MOYASAR_TOKEN),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let edge = Edge::start(EdgeOptions {
        shops: vec![test_shop.clone(), live_shop.clone()],
        vars,
        live: vec![live_shop.id.clone()],
        ..Default::default()
    });
    let check = |shop: &ShopConfig| {
        let reply = flows::signed_post(&edge, shop, "/v1/check", &serde_json::json!({"currency": "SAR"}));
        assert_eq!(reply.status, 200, "{}", reply.body);
        let body = reply.json();
        let verdict = |gateway: &str| {
            body["gateways"].as_array().unwrap().iter().find(|g| g["gateway"] == gateway).unwrap()["verdict"].clone()
        };
        (body["shop"]["mode"].clone(), verdict("moyasar"), verdict("sandbox"), body["methods"].clone())
    };
    assert_eq!(check(&test_shop), ("test".into(), "wrong_mode".into(), "ok".into(), serde_json::json!(["visa"])));
    assert_eq!(check(&live_shop), ("live".into(), "ok".into(), "wrong_mode".into(), serde_json::json!(["mada"])));
    let mut c = claims(&live_shop, &reference("live"), 1000);
    c.methods = vec!["visa".into(), "mada".into()];
    let intent = sign(&live_shop, &c);
    let offered = http::post_json(&edge.url("/v1/methods"), &serde_json::json!({"intent": intent})).json();
    assert_eq!(offered["methods"].as_array().unwrap().len(), 1, "{offered}");
    assert_eq!(offered["methods"][0]["code"], "mada");
    let sandbox = flows::start_session(&edge, &intent, "visa");
    assert_eq!((sandbox.status, sandbox.error_code().as_str()), (422, "method_not_allowed"));
}

/// A refund made in the gateway's dashboard (here through Moyasar's API, as the dashboard does)
/// reaches the shop when Moyasar's webhook about it arrives: `refund.succeeded` with its
/// amount and no idempotency key, and the payment partially refunded.
#[test]
fn a_refund_made_in_the_gateway_dashboard_reaches_the_shop() {
    use base64::Engine;
    let w = world();
    let r = reference("dashboard");
    let (session, invoice) = open(w, &w.config, &r, 4000, "mada");
    let paid = w.moyasar.pay_invoice(&invoice, "4111111111111111").expect("paid");
    eventually(15, "the payment", || (status(w, &session_id(&session))["status"] == "paid").then_some(()));
    let payment_id = paid["id"].as_str().unwrap();
    let auth = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{MOYASAR_KEY}:")));
    let refunded = http::post_with_headers(
        &format!("{}/payments/{payment_id}/refund", w.moyasar.api_base()),
        &[("Authorization", &auth), ("Content-Type", "application/json")],
        br#"{"amount":1500}"#,
    );
    assert_eq!(refunded.status, 200, "{}", refunded.body);
    let hook = serde_json::json!({"id": "evt_dash", "type": "payment_refunded", "secret_token": MOYASAR_TOKEN,
        "data": {"id": payment_id, "status": "paid", "amount": 4000, "currency": "SAR", "invoice_id": invoice}});
    let reply = http::post(&w.edge.url("/v1/webhooks/moyasar"), "application/json", hook.to_string().as_bytes());
    assert_eq!(reply.status, 200, "{}", reply.body);
    let got = eventually(15, "the dashboard refund", || Some(notifications(w, &w.config, &r)).filter(|n| n.len() >= 2));
    assert_eq!(kinds(&got), ["payment.succeeded", "refund.succeeded"]);
    assert_eq!((got[1].amount, got[1].idempotency_key.as_deref()), (1500, None));
    assert_eq!(inspect(w, &w.config, &r)["payment"]["state"], "partially_refunded");
}
