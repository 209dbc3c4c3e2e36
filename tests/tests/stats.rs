//! `GET /v1/stats` against the real edge in workerd with local D1: after a scripted mix of
//! sandbox payments (approved, declined for each reason the sandbox has, 3-D Secure passed and
//! failed, canceled by the shopper, abandoned, shown but never started) the report shows exactly
//! those numbers, per gateway, per method and per day, with the funnel; another shop sees none
//! of them; bad queries and unsigned calls get clear errors. The dashboard page shows the same
//! numbers in headless Chromium, in English and Arabic, and refuses links that are stale,
//! forged or not the shop's.

use bawaba_core::dashboard::link::{self, LinkClaims};
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
        ("?group=shop", "gateway, method, day or gateway_day"),
        ("?from=yesterday", "unix seconds"),
        ("?shop=other", "unknown parameter"),
    ] {
        let reply = flows::signed_get(&edge, &merchant, &format!("/v1/stats{query}"));
        assert_eq!((reply.status, reply.error_code()), (400, "invalid_request".to_string()), "{query}: {}", reply.body);
        assert!(reply.body.contains(says), "{query}: {}", reply.body);
    }
    let unsigned = http::get(&edge.url("/v1/stats"));
    assert_eq!(unsigned.status, 401, "{}", unsigned.body);

    // Per gateway and day: the sandbox's days hold the nine attempts.
    let by_gateway_day = stats(&edge, &merchant, "?group=gateway_day");
    let keys: Vec<&str> =
        by_gateway_day["groups"].as_array().unwrap().iter().map(|g| g["key"].as_str().unwrap()).collect();
    assert!(keys.iter().all(|k| k.starts_with("sandbox/20")), "{keys:?}");
    let sum: i64 = by_gateway_day["groups"].as_array().unwrap().iter().map(|g| g["attempts"].as_i64().unwrap()).sum();
    assert_eq!(sum, 9);

    dashboard_links_are_checked(&edge, &merchant, &other);
    dashboard_shows_the_same_numbers_in_a_browser(&edge, &merchant);
}

fn dashboard_link(shop: &ShopConfig, iat: i64, exp: i64) -> String {
    let claims = LinkClaims { iss: shop.id.clone(), aud: link::AUDIENCE.into(), iat, exp };
    link::sign(&claims, shop.secret.as_bytes())
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// The page refuses links that are not fresh, not the shop's or not signed by it, with the
/// stable code on a page (a browser opened it), and shows a shop only its own numbers.
fn dashboard_links_are_checked(edge: &Edge, merchant: &ShopConfig, other: &ShopConfig) {
    let page = |query: &str| http::get(&edge.url(&format!("/dashboard{query}")));
    let fresh = dashboard_link(merchant, now() - 5, now() + 1800);
    let ok = page(&format!("?token={fresh}"));
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert!(ok.body.contains("data-metric=\"attempts\" data-value=\"9\""), "{}", ok.body);
    let expired = dashboard_link(merchant, now() - 4000, now() - 400);
    let tampered = {
        let theirs = dashboard_link(other, now() - 5, now() + 1800);
        let mut parts: Vec<&str> = theirs.split('.').collect();
        let ours: Vec<&str> = fresh.split('.').collect();
        parts[1] = ours[1]; // the merchant's claims under the other shop's MAC
        parts.join(".")
    };
    let too_long = dashboard_link(merchant, now() - 5, now() + 7200);
    for (query, status, code) in [
        (format!("?token={expired}"), 401, "dashboard_link_expired"),
        (format!("?token={expired}&lang=ar"), 401, "dashboard_link_expired"),
        (format!("?token={tampered}"), 401, "dashboard_link_invalid_signature"),
        (format!("?token={too_long}"), 401, "dashboard_link_lifetime_too_long"),
        ("?token=nonsense".to_string(), 401, "dashboard_link_malformed"),
        (String::new(), 401, "dashboard_link_missing"),
        (format!("?token={fresh}&days=8"), 400, "invalid_request"),
        (format!("?token={fresh}&shop={}", other.id), 400, "invalid_request"),
    ] {
        let reply = page(&query);
        assert_eq!(reply.status, status, "{query}: {}", reply.body);
        assert!(reply.body.contains(&format!("data-error-code=\"{code}\"")), "{query}: {}", reply.body);
        assert!(reply.body.starts_with("<!doctype html>"), "{query}: a page, not JSON");
    }
    let arabic = page(&format!("?token={expired}&lang=ar"));
    assert!(arabic.body.contains("dir=\"rtl\"") && arabic.body.contains("انتهت صلاحية الرابط"), "{}", arabic.body);
    let theirs = page(&format!("?token={}", dashboard_link(other, now() - 5, now() + 1800)));
    assert_eq!(theirs.status, 200, "{}", theirs.body);
    assert!(
        theirs.body.contains("data-metric=\"attempts\" data-value=\"0\""),
        "another shop sees none: {}",
        theirs.body
    );
}

/// In headless Chromium, in English then (by the page's own link) in Arabic: the dashboard shows
/// exactly the scripted mix.
fn dashboard_shows_the_same_numbers_in_a_browser(edge: &Edge, merchant: &ShopConfig) {
    use bawaba_tests::browser::{wait_css, Driver};
    use fantoccini::Locator;
    let url = edge.url(&format!("/dashboard?token={}&days=7", dashboard_link(merchant, now() - 5, now() + 1800)));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let driver = Driver::start();
        let c = driver.browser().await;
        c.goto(&url).await.expect("the dashboard");
        async fn value(c: &fantoccini::Client, css: &str) -> String {
            let e = c.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}"));
            e.attr("data-value").await.unwrap().unwrap_or_default()
        }
        for lang in ["en", "ar"] {
            let root = wait_css(&c, "html").await;
            assert_eq!(root.attr("lang").await.unwrap().as_deref(), Some(lang));
            assert_eq!(root.attr("dir").await.unwrap().as_deref(), Some(if lang == "ar" { "rtl" } else { "ltr" }));
            for (metric, expected) in
                [("attempts", "9"), ("paid", "4"), ("failed", "3"), ("canceled", "1"), ("success_rate", "0.5000")]
            {
                assert_eq!(value(&c, &format!("[data-metric={metric}]")).await, expected, "{lang} {metric}");
            }
            for (step, expected) in [("methods_shown", "10"), ("session_started", "9"), ("paid", "4")] {
                assert_eq!(value(&c, &format!("#funnel [data-key={step}]")).await, expected, "{lang} funnel {step}");
            }
            for (reason, expected) in [
                ("declined", "1"),
                ("insufficient_funds", "1"),
                ("authentication_failed", "1"),
                ("canceled_by_shopper", "1"),
            ] {
                assert_eq!(value(&c, &format!("#declines [data-key={reason}]")).await, expected, "{lang} {reason}");
            }
            for (method, paid, attempts) in [("mada", "2", "4"), ("visa", "2", "4"), ("mastercard", "0", "1")] {
                let bar = c.find(Locator::Css(&format!("#volume [data-key={method}]"))).await.expect(method);
                assert_eq!(bar.attr("data-value").await.unwrap().as_deref(), Some(paid), "{lang} {method} paid");
                assert_eq!(bar.attr("data-behind").await.unwrap().as_deref(), Some(attempts), "{lang} {method}");
            }
            // The sandbox's success per day: 4 of 8 decided, on the day (or days) of the test.
            let points = c.find_all(Locator::Css("#success-over-time [data-series=sandbox] circle")).await.unwrap();
            assert!(!points.is_empty(), "{lang}: a point per day with attempts");
            assert!(c.find(Locator::Css("#latency [data-key=sandbox]")).await.is_ok(), "{lang}: the sandbox's latency");
            let png = c.screenshot().await.expect("screenshot");
            std::fs::write(bawaba_tests::screenshot_path(&format!("dashboard-{lang}.png")), png).unwrap();
            if lang == "en" {
                // The page's own link to Arabic keeps the link and the window.
                c.find(Locator::Css("nav a[lang=ar]")).await.expect("the Arabic link").click().await.expect("a click");
                for _ in 0..100 {
                    let root = c.find(Locator::Css("html")).await.unwrap();
                    if root.attr("lang").await.unwrap().as_deref() == Some("ar") {
                        break;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                let current = c.find(Locator::Css("nav a[aria-current]")).await.unwrap().text().await.unwrap();
                assert!(current.contains('7'), "the window stays 7 days: {current}");
            }
        }
        c.close().await.unwrap();
    });
}
