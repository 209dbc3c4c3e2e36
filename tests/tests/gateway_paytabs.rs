//! PayTabs through the real edge in workerd, against the fake PayTabs host on 127.0.0.1: a sale
//! on the hosted page, approve, decline, 3-D Secure failure, on hold (never paid until PayTabs
//! decides), a tampered amount, an answer for another merchant's profile, signed callbacks
//! (forged, one byte changed, replayed), signed returns, refunds, capture/void not offered, the
//! credentials check (wrong key, wrong profile, another region's host) and outages.

use bawaba_core::gateway::paytabs::webhook;
use bawaba_core::notification::Notification;
use bawaba_tests::edge::{eventually, Edge, EdgeOptions, ShopConfig};
use bawaba_tests::fake_shop::FakeShop;
use bawaba_tests::fakes::paytabs::{return_form, Decision, FakePayTabs};
use bawaba_tests::fakes::Health;
use bawaba_tests::flows::{self, claims, kinds, reference, sign, signed_post};
use bawaba_tests::http::{self, Reply};
use std::sync::OnceLock;
use std::time::Duration;

const PROFILE: &str = "44017";
const KEY: &str = "SKJNDKLMRB-paytabs-0123456789";

struct World {
    edge: Edge,
    paytabs: FakePayTabs,
    shop: FakeShop,
    config: ShopConfig,
}

fn start_with(routes: &str, extra: &[(&str, &str)]) -> World {
    let paytabs = FakePayTabs::start(PROFILE, KEY);
    // The test edge is plain HTTP: let the fake post its signed returns to it all the same.
    paytabs.set_post_http_returns(true);
    let shop = FakeShop::start();
    let config = ShopConfig { id: "dukkan".into(), origin: shop.origin.clone(), secret: "dukkan-secret-012345".into() };
    let vars = vec![
        ("BAWABA_ROUTES".to_string(), routes.to_string()),
        ("PAYTABS_API_BASE".into(), paytabs.api_base()),
        ("PAYTABS_PROFILE_ID".into(), PROFILE.into()),
        ("PAYTABS_SERVER_KEY".into(), KEY.into()),
        ("GATEWAY_TIMEOUT_MS".into(), "2000".into()),
    ];
    let vars = vars.into_iter().chain(extra.iter().map(|(k, v)| (k.to_string(), v.to_string()))).collect();
    let edge = Edge::start(EdgeOptions { shops: vec![config.clone()], vars, ..Default::default() });
    World { edge, paytabs, shop, config }
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        start_with("mada=paytabs,visa=paytabs,mastercard=paytabs,amex=paytabs,applepay=paytabs,stcpay=paytabs", &[])
    })
}

fn notifications(w: &World, r: &str) -> Vec<Notification> {
    flows::notifications(&w.shop, &w.config, r)
}

fn open(w: &World, r: &str, amount: i64, method: &str) -> (String, String) {
    let session = flows::start_session(&w.edge, &sign(&w.config, &claims(&w.config, r, amount)), method);
    assert_eq!(session.status, 200, "{}", session.body);
    assert_eq!(session.json()["gateway"], "paytabs");
    let url = flows::hosted_url(&session);
    assert!(url.starts_with(&w.paytabs.base), "{url}");
    let tran_ref = url.rsplit('/').next().unwrap().to_string();
    let sale = w.paytabs.transaction(&tran_ref).expect("the sale exists at PayTabs");
    assert_eq!(
        (sale["cart_id"].as_str(), sale["tran_type"].as_str()),
        (Some(format!("dukkan:{r}").as_str()), Some("Sale"))
    );
    (tran_ref, url)
}

fn pay(url: &str, number: &str) -> Reply {
    assert!(http::get(url).body.contains("id=number"));
    http::post_form(url, &[("number", number), ("expiry", "01/39"), ("cvv", "123")])
}

fn form_body(fields: &[(String, String)]) -> String {
    fields.iter().map(|(k, v)| format!("{}={}", http::urlencode(k), http::urlencode(v))).collect::<Vec<_>>().join("&")
}

/// Posts the signed return the fake's page answered with (as the browser would) to the edge;
/// returns the edge's 303 to the shop.
fn back_through_edge(page: &Reply) -> Reply {
    assert_eq!(page.status, 200, "{}", page.body);
    let (action, fields) = return_form(&page.body).expect("PayTabs posts the return");
    let back = http::post(&action, "application/x-www-form-urlencoded", form_body(&fields).as_bytes());
    assert_eq!(back.status, 303, "the edge sends the shopper to the shop: {}", back.body);
    back
}

fn status_of(back: &Reply) -> String {
    let location = back.location.clone().unwrap();
    location.split("status=").nth(1).unwrap_or("").split('&').next().unwrap_or("").to_string()
}

#[test]
fn approve_with_one_result_and_the_card() {
    let w = world();
    let r = reference("pt-ok");
    let (tran_ref, url) = open(w, &r, 4550, "visa");
    let sale = w.paytabs.transaction(&tran_ref).unwrap();
    assert_eq!((sale["cart_amount"].as_str(), sale["cart_currency"].as_str()), (Some("45.50"), Some("SAR")));
    assert_eq!(sale["payment_methods"], serde_json::json!(["creditcard"]));
    assert_eq!(status_of(&back_through_edge(&pay(&url, "4111111111111111"))), "paid");
    assert!(w.paytabs.queries_of(&tran_ref) >= 1, "the return was only a trigger: PayTabs was asked");
    eventually(10, "PayTabs' callback", || (w.paytabs.callbacks_sent() > 0).then_some(()));
    std::thread::sleep(Duration::from_millis(500));
    let got = notifications(w, &r);
    assert_eq!(kinds(&got), ["payment.succeeded"]);
    assert_eq!((got[0].amount, got[0].gateway_payment_id.as_str()), (4550, tran_ref.as_str()));
    assert_eq!((got[0].card_brand.as_deref(), got[0].card_last4.as_deref()), (Some("visa"), Some("1111")));
}

#[test]
fn each_method_limits_the_hosted_page_to_its_paytabs_code() {
    let w = world();
    for (method, code) in [
        ("mada", "mada"),
        ("visa", "creditcard"),
        ("mastercard", "creditcard"),
        ("amex", "amex"),
        ("applepay", "applepay"),
        ("stcpay", "stcpay"),
    ] {
        let r = reference("pt-method");
        let mut c = claims(&w.config, &r, 1200);
        c.methods = vec![method.into()];
        let session = flows::start_session(&w.edge, &sign(&w.config, &c), method);
        assert_eq!(
            (session.status, session.json()["gateway"].as_str()),
            (200, Some("paytabs")),
            "{method}: {}",
            session.body
        );
        let tran_ref = flows::hosted_url(&session).rsplit('/').next().unwrap().to_string();
        let sale = w.paytabs.transaction(&tran_ref).unwrap();
        assert_eq!(sale["payment_methods"], serde_json::json!([code]), "{method}");
        assert_eq!((sale["cart_amount"].as_str(), sale["paypage_lang"].as_str()), (Some("12.00"), Some("en")));
    }
    let mut usd = claims(&w.config, &reference("pt-usd"), 1200);
    usd.currency = "USD".into();
    let refused = flows::start_session(&w.edge, &sign(&w.config, &usd), "visa");
    assert_eq!((refused.status, refused.error_code().as_str()), (422, "method_not_allowed"), "SAR only here");
}

#[test]
fn decline_and_three_d_secure_failure() {
    let w = world();
    let r = reference("pt-decline");
    let (_, url) = open(w, &r, 1000, "visa");
    assert_eq!(status_of(&back_through_edge(&pay(&url, "4000000000000051"))), "failed");
    let got = eventually(10, "the failure", || Some(notifications(w, &r)).filter(|n| !n.is_empty()));
    assert_eq!(
        (kinds(&got)[0].as_str(), got[0].error.as_ref().unwrap().code.as_str()),
        ("payment.failed", "insufficient_funds")
    );
    for (button, expected) in [("fail", "failed"), ("ok", "paid")] {
        let r = reference("pt-3ds");
        let (_, url) = open(w, &r, 30000, "mada");
        let challenge = pay(&url, "4000000000000002");
        assert!(challenge.body.contains("3-D Secure"), "{}", challenge.body);
        let done = http::post_form(&format!("{url}/3ds"), &[("result", button)]);
        assert_eq!(status_of(&back_through_edge(&done)), expected);
        let got = eventually(10, "the result", || Some(notifications(w, &r)).filter(|n| !n.is_empty()));
        if expected == "failed" {
            assert_eq!(got[0].error.as_ref().unwrap().code, "authentication_failed");
        } else {
            assert_eq!(kinds(&got), ["payment.succeeded"]);
        }
    }
}

#[test]
fn on_hold_stays_pending_until_paytabs_decides() {
    let w = world();
    let r = reference("pt-hold");
    let (tran_ref, url) = open(w, &r, 7000, "visa");
    assert_eq!(status_of(&back_through_edge(&pay(&url, "4000000000000259"))), "pending", "H is not paid");
    eventually(10, "the callback of the held payment", || (w.paytabs.queries_of(&tran_ref) >= 2).then_some(()));
    std::thread::sleep(Duration::from_millis(800));
    assert!(
        notifications(w, &r).iter().all(|n| kinds(std::slice::from_ref(n)) != ["payment.succeeded"]),
        "never paid while held"
    );
    assert!(w.paytabs.release_hold(&tran_ref, Decision::Approve));
    let got = eventually(10, "the decision after review", || Some(notifications(w, &r)).filter(|n| !n.is_empty()));
    assert_eq!(kinds(&got), ["payment.succeeded"]);
}

#[test]
fn a_result_for_another_amount_is_a_failure() {
    let w = world();
    let r = reference("pt-tamper");
    let (tran_ref, url) = open(w, &r, 9900, "visa");
    w.paytabs.tamper_amount(&tran_ref, "1.00");
    assert_eq!(status_of(&back_through_edge(&pay(&url, "4111111111111111"))), "failed");
    let got = eventually(10, "the failure", || Some(notifications(w, &r)).filter(|n| !n.is_empty()));
    assert_eq!(kinds(&got), ["payment.failed"]);
    assert_eq!(got[0].error.as_ref().unwrap().code, "amount_mismatch");
}

#[test]
fn an_answer_for_another_merchants_profile_is_never_read_as_ours() {
    let w = world();
    let r = reference("pt-foreign");
    let (tran_ref, url) = open(w, &r, 2500, "visa");
    w.paytabs.answer_for_profile(&tran_ref, 55555);
    assert_eq!(status_of(&back_through_edge(&pay(&url, "4111111111111111"))), "pending");
    eventually(10, "the callback", || (w.paytabs.queries_of(&tran_ref) >= 2).then_some(()));
    std::thread::sleep(Duration::from_millis(800));
    assert!(notifications(w, &r).is_empty(), "neither paid nor failed on someone else's answer");
}

#[test]
fn signed_callbacks_forged_changed_by_one_byte_genuine_and_replayed() {
    let w = world();
    let r = reference("pt-hook");
    let (tran_ref, url) = open(w, &r, 2500, "mastercard");
    // Paid at PayTabs, and the shopper never comes back: the callback must do it.
    let page = pay(&url, "5200000000000114");
    assert!(return_form(&page.body).is_some());
    let body = eventually(5, "the callback body", || w.paytabs.callback_body(&tran_ref));
    let hook = w.edge.url("/v1/webhooks/paytabs");
    let good = webhook::sign(KEY.as_bytes(), body.as_bytes());
    let forged = webhook::sign(b"not-the-server-key", body.as_bytes());
    for (header, code) in
        [(None, "signature_missing"), (Some(forged.as_str()), "signature_invalid"), (Some("zz"), "signature_malformed")]
    {
        let headers: Vec<(&str, &str)> = header.iter().map(|h| (webhook::HEADER, *h)).collect();
        let reply = http::post_with_headers(&hook, &headers, body.as_bytes());
        assert_eq!((reply.status, reply.error_code()), (401, code.to_string()), "{}", reply.body);
    }
    let one_byte = body.replacen("\"response_status\":\"A\"", "\"response_status\":\"D\"", 1);
    assert_eq!(one_byte.len(), body.len());
    assert_eq!(one_byte.bytes().zip(body.bytes()).filter(|(a, b)| a != b).count(), 1, "exactly one byte differs");
    let reply = http::post_with_headers(&hook, &[(webhook::HEADER, &good)], one_byte.as_bytes());
    assert_eq!((reply.status, reply.error_code()), (401, "signature_invalid".to_string()));
    let mut other_profile: serde_json::Value = serde_json::from_str(&body).unwrap();
    other_profile["profile_id"] = serde_json::json!(55555);
    let other = other_profile.to_string();
    let reply = http::post_with_headers(
        &hook,
        &[(webhook::HEADER, &webhook::sign(KEY.as_bytes(), other.as_bytes()))],
        other.as_bytes(),
    );
    assert_eq!(reply.status, 400, "an authentic body for another profile: {}", reply.body);
    for _ in 0..4 {
        let reply = http::post_with_headers(&hook, &[(webhook::HEADER, &good)], body.as_bytes());
        assert_eq!((reply.status, reply.json()["known"].as_bool()), (200, Some(true)), "{}", reply.body);
    }
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(kinds(&notifications(w, &r)), ["payment.succeeded"], "one payment, one event, however often told");
}

#[test]
fn a_return_with_a_bad_signature_asks_nothing() {
    let w = world();
    let r = reference("pt-return");
    let (tran_ref, url) = open(w, &r, 1500, "visa");
    let session = flows::start_session(&w.edge, &sign(&w.config, &claims(&w.config, &r, 1500)), "visa");
    assert_eq!(flows::hosted_url(&session), url, "the same session again");
    let action = w.edge.url(&format!("/v1/return/paytabs/{}", session.json()["id"].as_str().unwrap()));
    let mut fields: Vec<(String, String)> =
        [("cartId", format!("dukkan:{r}")), ("respStatus", "A".into()), ("tranRef", tran_ref.clone())]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
    fields.push(("signature".into(), webhook::sign_return(b"not-the-server-key", &fields)));
    let before = w.paytabs.queries_of(&tran_ref);
    let forged = http::post(&action, "application/x-www-form-urlencoded", form_body(&fields).as_bytes());
    assert_eq!((forged.status, status_of(&forged)), (303, "pending".to_string()), "{}", forged.body);
    assert_eq!(w.paytabs.queries_of(&tran_ref), before, "a forged return does not even ask PayTabs");
    // The same forged return by a path of a gateway that signs nothing is no better.
    let sideways = w.edge.url(&format!("/v1/return/sandbox/{}", session.json()["id"].as_str().unwrap()));
    let forged = http::post(&sideways, "application/x-www-form-urlencoded", form_body(&fields).as_bytes());
    assert_eq!((forged.status, status_of(&forged)), (303, "pending".to_string()), "{}", forged.body);
    assert_eq!(w.paytabs.queries_of(&tran_ref), before, "another gateway's path does not ask PayTabs either");
    assert_eq!(status_of(&back_through_edge(&pay(&url, "4111111111111111"))), "paid", "the genuine one is read");
}

#[test]
fn refunds_full_partial_over_and_no_void() {
    let w = world();
    let r = reference("pt-refund");
    let (tran_ref, url) = open(w, &r, 5000, "visa");
    assert_eq!(status_of(&back_through_edge(&pay(&url, "4111111111111111"))), "paid");
    let post = |path: &str, amount: Option<i64>| {
        let mut body = serde_json::json!({"reference": r});
        if let Some(a) = amount {
            body["amount"] = a.into();
        }
        signed_post(&w.edge, &w.config, path, &body)
    };
    let void = post("/v1/voids", None);
    assert_eq!(
        (void.status, void.error_code().as_str()),
        (422, "operation_not_supported"),
        "sales only: nothing to void"
    );
    let capture = post("/v1/captures", None);
    assert_eq!(
        (capture.status, capture.error_code().as_str()),
        (409, "operation_not_allowed"),
        "a sale: nothing to capture"
    );
    assert_eq!(post("/v1/refunds", Some(2000)).json()["refunded_total"], 2000);
    let over = post("/v1/refunds", Some(3001));
    assert_eq!((over.status, over.error_code().as_str()), (422, "refund_exceeds_payment"));
    assert_eq!(post("/v1/refunds", None).json()["payment_state"], "refunded");
    let follow_ups = w.paytabs.follow_ups_of(&tran_ref);
    let seen: Vec<(&str, &str, &str)> = follow_ups
        .iter()
        .map(|f| {
            (
                f["tran_type"].as_str().unwrap(),
                f["cart_amount"].as_str().unwrap(),
                f["payment_result"]["response_status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(seen, [("Refund", "20.00", "A"), ("Refund", "30.00", "A")], "the over-refund never reached PayTabs");
    assert_ne!(follow_ups[0]["cart_id"], follow_ups[1]["cart_id"], "a cart_id per operation");
    let got = eventually(10, "the refunds", || Some(notifications(w, &r)).filter(|n| n.len() == 3));
    assert_eq!(kinds(&got), ["payment.succeeded", "refund.succeeded", "refund.succeeded"]);
    assert_eq!(got.iter().map(|n| n.amount).collect::<Vec<_>>(), [5000, 2000, 3000]);
}

fn check_entry(w: &World, currency: &str) -> serde_json::Value {
    let reply = signed_post(&w.edge, &w.config, "/v1/check", &serde_json::json!({"currency": currency}));
    let gateways = reply.json()["gateways"].as_array().cloned().unwrap_or_default();
    gateways.iter().find(|g| g["gateway"] == "paytabs").unwrap_or_else(|| panic!("{}", reply.body)).clone()
}

fn verdict(w: &World) -> (String, String) {
    let entry = check_entry(w, "SAR");
    (entry["verdict"].as_str().unwrap().to_string(), entry["message"].as_str().unwrap_or_default().to_string())
}

#[test]
fn check_connection_verdicts_and_outages() {
    let w = start_with("visa=paytabs|sandbox,mastercard=paytabs", &[]);
    let (ok, message) = verdict(&w);
    assert_eq!(ok, "ok", "{message}");
    let entry = check_entry(&w, "KWD");
    assert_eq!(entry["verdict"], "currency_unsupported", "{entry}");
    assert_eq!(
        entry["capabilities"],
        serde_json::json!({"refund": true, "partial_refund": true, "capture": false, "void": false})
    );
    assert!(entry["mode"].is_null(), "test and live profiles look alike: {entry}");
    w.paytabs.set_server_key("SKJNDKLMRB-another-key");
    let (wrong_key, message) = verdict(&w);
    assert_eq!(wrong_key, "invalid_credentials");
    assert!(message.contains(PROFILE) && message.contains(&w.paytabs.base), "{message}");
    w.paytabs.set_server_key(KEY);
    w.paytabs.set_profile_id("55555");
    assert_eq!(verdict(&w).0, "invalid_credentials", "our key with another profile");
    // Another region's host holds other merchants' profiles: ours is unknown there.
    w.paytabs.set_profile_id("70001");
    w.paytabs.set_server_key("SKUAEMERCHANT-0000000");
    let (region, message) = verdict(&w);
    assert_eq!(region, "invalid_credentials");
    assert!(message.contains("another region") && message.contains("secure.paytabs.sa"), "{message}");
    w.paytabs.set_profile_id(PROFILE);
    w.paytabs.set_server_key(KEY);
    assert_eq!(verdict(&w).0, "ok");

    let intent = sign(&w.config, &claims(&w.config, &reference("pt-outage"), 700));
    for health in [Health::Failing, Health::Hanging] {
        w.paytabs.set_health(health);
        assert_eq!(verdict(&w).0, "unreachable");
        let mastercard = flows::start_session(&w.edge, &intent, "mastercard");
        assert_eq!((mastercard.status, mastercard.error_code().as_str()), (502, "gateway_unavailable"), "no fallback");
        let visa = flows::start_session(&w.edge, &intent, "visa");
        assert_eq!(
            (visa.status, visa.json()["gateway"].as_str()),
            (200, Some("sandbox")),
            "the fallback: {}",
            visa.body
        );
    }
    w.paytabs.set_health(Health::Up);
    let again = sign(&w.config, &claims(&w.config, &reference("pt-back"), 700));
    let back = flows::start_session(&w.edge, &again, "mastercard");
    assert_eq!((back.status, back.json()["gateway"].as_str()), (200, Some("paytabs")));
}

#[test]
fn a_pending_refund_is_queried_by_its_own_tran_ref_until_paytabs_decides() {
    // Pending refunds are followed up by the reconciliation, which this edge runs each second.
    let w = &start_with("visa=paytabs", &[("RECONCILE_AFTER_SECS", "1")]);
    let r = reference("pt-pending-refund");
    let (tran_ref, url) = open(w, &r, 4000, "visa");
    assert_eq!(status_of(&back_through_edge(&pay(&url, "4111111111111111"))), "paid");
    let refund = |key: &str, amount: Option<i64>| {
        let mut body = serde_json::json!({"reference": r});
        if let Some(a) = amount {
            body["amount"] = a.into();
        }
        flows::signed_post_with_key(&w.edge, &w.config, "/v1/refunds", &body, key)
    };
    w.paytabs.set_refunds_pending(true);
    let first = refund(&reference("k"), Some(1500));
    let again_key = reference("k");
    let held = refund(&again_key, Some(1000));
    w.paytabs.set_refunds_pending(false);
    assert_eq!((first.status, first.json()["status"].as_str()), (200, Some("pending")), "{}", first.body);
    assert_eq!(held.json()["status"], "pending");
    assert_eq!(refund(&again_key, Some(1000)).json(), held.json(), "the same key: the first answer, no new refund");
    assert_eq!(w.paytabs.follow_ups_of(&tran_ref).len(), 2);
    let declined = first.json()["id"].as_str().unwrap().to_string();
    let approved = held.json()["id"].as_str().unwrap().to_string();
    let before = w.paytabs.queries_of(&declined);
    assert!(w.paytabs.settle_refund(&declined, Decision::Decline));
    assert!(w.paytabs.settle_refund(&approved, Decision::Approve));
    let got = eventually(20, "both refunds decided", || Some(notifications(w, &r)).filter(|n| n.len() >= 3));
    let mut decided = kinds(&got[1..]);
    decided.sort();
    assert_eq!(decided, ["refund.failed", "refund.succeeded"]);
    assert!(w.paytabs.queries_of(&declined) > before, "asked by the refund's own tran_ref");
    let rest = refund(&reference("k"), None);
    assert_eq!(
        (rest.json()["status"].as_str(), rest.json()["refunded_total"].as_i64()),
        (Some("succeeded"), Some(4000)),
        "{}",
        rest.body
    );
}
