//! `GET /v1/stats` against the real edge in workerd with local D1: after a scripted mix of
//! sandbox payments (approved, declined for each reason the sandbox has, 3-D Secure passed and
//! failed, canceled by the shopper, abandoned, shown but never started) the report shows exactly
//! those numbers, per gateway, per method and per day, with the funnel; another shop sees none
//! of them; bad queries and unsigned calls get clear errors.

use bawaba_tests::edge::{eventually, Edge, EdgeOptions, ShopConfig};
use bawaba_tests::fake_shop::FakeShop;
use bawaba_tests::flows::{self, claims, reference, sign};
use bawaba_tests::http;
use serde_json::Value;

const APPROVE_MADA: &str = "4464040000000007";
const APPROVE_VISA: &str = "4111111111111111";
const DECLINE: &str = "4000000000000002";
const INSUFFICIENT: &str = "4000000000009995";
const CHALLENGE: &str = "4000000000003220";

fn shop(id: &str) -> (FakeShop, ShopConfig) {
    let fake = FakeShop::start();
    let config = ShopConfig { id: id.into(), origin: fake.origin.clone(), secret: format!("{id}-secret-0123456789") };
    (fake, config)
}

/// Shows the methods (as the widget does first), starts a session, returns its hosted page.
fn open(edge: &Edge, shop: &ShopConfig, method: &str) -> String {
    let intent = sign(shop, &claims(shop, &reference("stats"), 4550));
    let shown = http::post_json(&edge.url("/v1/methods"), &serde_json::json!({ "intent": intent }));
    assert_eq!(shown.status, 200, "methods: {}", shown.body);
    let session = flows::start_session(edge, &intent, method);
    assert_eq!(session.status, 200, "session: {}", session.body);
    flows::hosted_url(&session)
}

fn card(edge: &Edge, shop: &ShopConfig, method: &str, number: &str) {
    let page = flows::submit_card(&open(edge, shop, method), number);
    flows::back_through_edge(&page);
}

fn stats(edge: &Edge, shop: &ShopConfig, query: &str) -> Value {
    let reply = flows::signed_get(edge, shop, &format!("/v1/stats{query}"));
    assert_eq!(reply.status, 200, "stats: {}", reply.body);
    reply.json()
}

fn group<'a>(report: &'a Value, key: &str) -> &'a Value {
    report["groups"].as_array().unwrap().iter().find(|g| g["key"] == key).unwrap_or_else(|| panic!("{key}: {report}"))
}

#[test]
fn stats_count_exactly_what_shoppers_did() {
    let (_fake, merchant) = shop("statshop");
    let (_other_fake, other) = shop("othershop");
    let edge = Edge::start(EdgeOptions { shops: vec![merchant.clone(), other.clone()], ..Default::default() });

    // Four paid: two mada, one visa, one visa through 3-D Secure.
    card(&edge, &merchant, "mada", APPROVE_MADA);
    card(&edge, &merchant, "mada", APPROVE_MADA);
    card(&edge, &merchant, "visa", APPROVE_VISA);
    let page = open(&edge, &merchant, "visa");
    assert_eq!(flows::submit_card(&page, CHALLENGE).status, 200, "the challenge page");
    flows::back_through_edge(&flows::submit_challenge(&page, "123456"));
    // Three declined: generic, insufficient funds, 3-D Secure failed.
    card(&edge, &merchant, "visa", DECLINE);
    card(&edge, &merchant, "mastercard", INSUFFICIENT);
    let page = open(&edge, &merchant, "visa");
    assert_eq!(flows::submit_card(&page, CHALLENGE).status, 200, "the challenge page");
    flows::back_through_edge(&flows::submit_challenge(&page, "000000"));
    // One canceled by the shopper on the gateway's page, one abandoned there.
    let page = open(&edge, &merchant, "mada");
    flows::back_through_edge(&http::post_form(&format!("{page}/cancel"), &[]));
    open(&edge, &merchant, "mada");
    // One shown and never started.
    let intent = sign(&merchant, &claims(&merchant, &reference("stats"), 4550));
    assert_eq!(http::post_json(&edge.url("/v1/methods"), &serde_json::json!({ "intent": intent })).status, 200);

    // The writes happen after each answer: wait until the last is in.
    let report = eventually(20, "all ten checkouts and nine attempts recorded", || {
        let r = stats(&edge, &merchant, "?group=method");
        (r["total"]["attempts"] == 9 && r["funnel"]["methods_shown"] == 10 && r["total"]["pending"] == 1).then_some(r)
    });
    let total = &report["total"];
    assert_eq!(
        (&total["paid"], &total["authorized"], &total["failed"], &total["canceled"], &total["pending"]),
        (&4.into(), &0.into(), &3.into(), &1.into(), &1.into()),
        "{total}"
    );
    assert_eq!(
        total["failed_by_reason"],
        serde_json::json!({ "declined": 1, "insufficient_funds": 1, "authentication_failed": 1 })
    );
    assert_eq!(total["canceled_by_reason"], serde_json::json!({ "canceled_by_shopper": 1 }));
    assert_eq!(total["success_rate"], 0.5, "4 paid of 8 decided");
    assert_eq!(total["three_ds"], serde_json::json!({ "passed": 1, "failed": 1 }));
    assert_eq!(report["funnel"], serde_json::json!({ "methods_shown": 10, "session_started": 9, "paid": 4 }));
    // Every session was opened by a call to the sandbox, each timed; the paid ones took time.
    let latency = &total["gateway_latency_ms"];
    assert!(latency["p50"].as_i64().is_some() && latency["p95"].as_i64() >= latency["p50"].as_i64(), "{latency}");
    assert!(total["time_to_pay_ms"]["p50"].as_i64().is_some(), "{total}");

    let mada = group(&report, "mada");
    assert_eq!(
        (&mada["attempts"], &mada["paid"], &mada["canceled"], &mada["pending"]),
        (&4.into(), &2.into(), &1.into(), &1.into())
    );
    assert_eq!(mada["success_rate"], 2.0 / 3.0);
    let visa = group(&report, "visa");
    assert_eq!((&visa["attempts"], &visa["paid"], &visa["failed"]), (&4.into(), &2.into(), &2.into()));
    assert_eq!(visa["failed_by_reason"], serde_json::json!({ "declined": 1, "authentication_failed": 1 }));
    let mastercard = group(&report, "mastercard");
    assert_eq!((&mastercard["attempts"], &mastercard["failed"]), (&1.into(), &1.into()));
    assert_eq!(report["groups"].as_array().unwrap().len(), 3);

    let by_gateway = stats(&edge, &merchant, "?group=gateway");
    assert_eq!(by_gateway["groups"].as_array().unwrap().len(), 1);
    assert_eq!(group(&by_gateway, "sandbox")["attempts"], 9);
    let by_day = stats(&edge, &merchant, "?group=day");
    let days: i64 = by_day["groups"].as_array().unwrap().iter().map(|g| g["attempts"].as_i64().unwrap()).sum();
    assert_eq!(days, 9);

    // A window that ends before the payments holds none of them.
    let before = stats(&edge, &merchant, "?from=1000000000&to=1000086400");
    assert_eq!((&before["total"]["attempts"], &before["funnel"]["methods_shown"]), (&0.into(), &0.into()));
    assert!(before["total"]["success_rate"].is_null());
    // Another shop sees nothing of this one's.
    let theirs = stats(&edge, &other, "");
    assert_eq!((&theirs["total"]["attempts"], &theirs["funnel"]["methods_shown"]), (&0.into(), &0.into()));

    // Bad input: a clear error, never a 5xx.
    for (query, says) in [
        ("?group=shop", "gateway, method or day"),
        ("?from=yesterday", "unix seconds"),
        ("?shop=other", "unknown parameter"),
    ] {
        let reply = flows::signed_get(&edge, &merchant, &format!("/v1/stats{query}"));
        assert_eq!((reply.status, reply.error_code()), (400, "invalid_request".to_string()), "{query}: {}", reply.body);
        assert!(reply.body.contains(says), "{query}: {}", reply.body);
    }
    let unsigned = http::get(&edge.url("/v1/stats"));
    assert_eq!(unsigned.status, 401, "{}", unsigned.body);
}
