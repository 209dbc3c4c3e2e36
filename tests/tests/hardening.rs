//! A production-ready edge, tested from outside against the real edge in workerd: the
//! card-testing limits (per payment, per client address, per shop: 429 `rate_limited` with
//! `Retry-After` after the documented count), repeated returns answered without a gateway call
//! each, the security headers and CORS of everything the edge serves, the sandbox working with
//! no HTTP loop back to the edge's own hostname (as on Cloudflare), and a shop key rotated with
//! two keys accepted during the switch.

use bawaba_core::signature;
use bawaba_tests::edge::{eventually, Edge, EdgeOptions, ShopConfig};
use bawaba_tests::fake_shop::FakeShop;
use bawaba_tests::fakes::moyasar::FakeMoyasar;
use bawaba_tests::flows::{self, claims, reference, sign};
use bawaba_tests::http;
use bawaba_tests::wait_for_a_fresh_minute;
use std::sync::OnceLock;

const MOYASAR_KEY: &str = "sk_test_hardening_0123456789";
const MOYASAR_TOKEN: &str = "moyasar-webhook-token-hardening";

/// Limits small enough to reach in a test; documented defaults are 10, 30 and 600.
const PER_PAYMENT: usize = 3;
const PER_CLIENT: usize = 4;
const PER_SHOP: usize = 6;

struct Shop {
    fake: FakeShop,
    config: ShopConfig,
}

fn shop(id: &str) -> Shop {
    let fake = FakeShop::start();
    let config = ShopConfig { id: id.into(), origin: fake.origin.clone(), secret: format!("{id}-secret-0123456789") };
    Shop { fake, config }
}

struct World {
    edge: Edge,
    moyasar: FakeMoyasar,
    per_payment: Shop,
    per_client: Shop,
    per_shop: Shop,
    returns: Shop,
    /// A shop whose key is being rotated: `config.secret` is the new key.
    rotating: Shop,
}

const OLD_KEY: &str = "rotating-old-secret-0123456789";

/// A second origin of the per-payment shop's pages (its `www.` site).
const WWW_ORIGIN: &str = "https://www.per-payment.example";

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let moyasar = FakeMoyasar::start(MOYASAR_KEY, MOYASAR_TOKEN);
        let (per_payment, per_client, per_shop, returns, rotating) =
            (shop("per-payment"), shop("per-client"), shop("per-shop"), shop("returns"), shop("rotating"));
        let shops =
            [&per_payment, &per_client, &per_shop, &returns, &rotating].iter().map(|s| s.config.clone()).collect();
        let vars = [
            ("LIMIT_SESSIONS_PER_PAYMENT", PER_PAYMENT.to_string()),
            ("LIMIT_SESSIONS_PER_CLIENT_PER_MINUTE", PER_CLIENT.to_string()),
            ("LIMIT_SESSIONS_PER_SHOP_PER_MINUTE", PER_SHOP.to_string()),
            ("BAWABA_ROUTES", "mada=sandbox,visa=sandbox,mastercard=moyasar".into()),
            ("MOYASAR_SECRET_KEY", MOYASAR_KEY.into()),
            ("MOYASAR_WEBHOOK_SECRET", MOYASAR_TOKEN.into()),
            ("MOYASAR_API_BASE", moyasar.api_base()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let previous_secrets = vec![("rotating".to_string(), OLD_KEY.to_string())];
        let also_origins = vec![("per-payment".to_string(), WWW_ORIGIN.to_string())];
        let edge = Edge::start(EdgeOptions { shops, vars, previous_secrets, also_origins, ..Default::default() });
        moyasar.set_webhook_url(&edge.url("/v1/webhooks/moyasar"));
        World { edge, moyasar, per_payment, per_client, per_shop, returns, rotating }
    })
}

/// `POST /v1/sessions` from the client address `ip` (Cloudflare's `CF-Connecting-IP`).
fn start_from(edge: &Edge, ip: &str, intent: &str, method: &str) -> http::Reply {
    let body = serde_json::json!({"intent": intent, "method": method}).to_string();
    http::post_with_headers(
        &edge.url("/v1/sessions"),
        &[("Content-Type", "application/json"), ("CF-Connecting-IP", ip)],
        body.as_bytes(),
    )
}

fn assert_rate_limited(r: &http::Reply, words: &str) {
    assert_eq!(r.status, 429, "{}", r.body);
    assert_eq!(r.error_code(), "rate_limited");
    let message = r.json()["error"]["message"].as_str().unwrap_or_default().to_string();
    assert!(message.contains(words), "the message says which limit: {message}");
    let retry: i64 = r.header("retry-after").and_then(|v| v.parse().ok()).expect("a Retry-After in seconds");
    assert!(retry >= 1, "Retry-After {retry}");
}

#[test]
fn one_payment_starts_at_most_its_limit_of_sessions() {
    let w = world();
    let intent = sign(&w.per_payment.config, &claims(&w.per_payment.config, &reference("card-testing"), 1000));
    // Each method switch is a new session at the gateway: the documented count is admitted.
    for i in 0..PER_PAYMENT {
        let method = if i.is_multiple_of(2) { "mada" } else { "visa" };
        let r = start_from(&w.edge, "198.51.100.10", &intent, method);
        assert_eq!(r.status, 200, "start {}: {}", i + 1, r.body);
    }
    let refused =
        start_from(&w.edge, "198.51.100.10", &intent, if PER_PAYMENT.is_multiple_of(2) { "mada" } else { "visa" });
    assert_rate_limited(&refused, "this payment");
    let retry: i64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!(retry > 3000, "the per-payment window is an hour: Retry-After {retry}");
    // The page still open is reused: it starts nothing, so it is never refused.
    let current = if (PER_PAYMENT - 1).is_multiple_of(2) { "mada" } else { "visa" };
    assert_eq!(start_from(&w.edge, "198.51.100.10", &intent, current).status, 200);
}

#[test]
fn one_client_address_starts_at_most_its_limit_per_minute_for_a_shop() {
    let w = world();
    let config = &w.per_client.config;
    let start = |ip: &str| {
        let intent = sign(config, &claims(config, &reference("per-client"), 1000));
        start_from(&w.edge, ip, &intent, "mada")
    };
    // Stay inside one calendar minute (the window the limit counts in).
    wait_for_a_fresh_minute(10);
    for i in 0..PER_CLIENT {
        assert_eq!(start("203.0.113.7").status, 200, "start {}", i + 1);
    }
    assert_rate_limited(&start("203.0.113.7"), "address");
    // Another shopper is not affected.
    assert_eq!(start("203.0.113.8").status, 200);
}

#[test]
fn a_shop_starts_at_most_its_ceiling_per_minute_whatever_the_addresses() {
    let w = world();
    let config = &w.per_shop.config;
    wait_for_a_fresh_minute(10);
    for i in 0..PER_SHOP {
        let intent = sign(config, &claims(config, &reference("per-shop"), 1000));
        let r = start_from(&w.edge, &format!("192.0.2.{i}"), &intent, "mada");
        assert_eq!(r.status, 200, "start {}: {}", i + 1, r.body);
    }
    let intent = sign(config, &claims(config, &reference("per-shop"), 1000));
    assert_rate_limited(&start_from(&w.edge, "192.0.2.200", &intent, "mada"), "shop");
}

#[test]
fn repeated_returns_reuse_one_gateway_check() {
    let w = world();
    let config = &w.returns.config;
    let intent = sign(config, &claims(config, &reference("returns"), 1000));
    let session = start_from(&w.edge, "198.51.100.20", &intent, "mastercard");
    assert_eq!(session.status, 200, "{}", session.body);
    let page = flows::hosted_url(&session);
    let invoice = page.rsplit('/').next().expect("Moyasar's invoice page").to_string();
    let session_id = session.json()["id"].as_str().expect("a session id").to_string();
    let before = w.moyasar.invoice_reads(&invoice);
    // An attacker (or a shopper reloading) hits the return route again and again.
    let hits = 12;
    for _ in 0..hits {
        let r = http::get(&w.edge.url(&format!("/v1/return/moyasar/{session_id}")));
        assert_eq!(r.status, 303, "{}", r.body);
    }
    let asked = w.moyasar.invoice_reads(&invoice) - before;
    assert!(asked >= 1, "the first return asks the gateway");
    assert!(asked <= 3, "{hits} returns within seconds made {asked} gateway calls");
}

#[test]
fn every_answer_carries_the_security_headers_and_pages_a_strict_policy() {
    let w = world();
    let config = &w.per_payment.config;
    let intent = sign(config, &claims(config, &reference("headers"), 1000));
    let session = start_from(&w.edge, "198.51.100.30", &intent, "mada");
    let card_page = http::get(&flows::hosted_url(&session));
    let health = http::get(&w.edge.url("/v1/health"));
    let not_found = http::get(&w.edge.url("/v1/nothing-here"));
    let loader = http::get(&w.edge.url("/bawaba.js"));
    let storefront = http::get(&w.edge.url("/"));
    let demo_checkout = http::post_form(&w.edge.url("/demo/shop/checkout"), &[("product", "qahwa"), ("lang", "en")]);
    for (what, r) in [
        ("card page", &card_page),
        ("health", &health),
        ("404", &not_found),
        ("loader", &loader),
        ("storefront", &storefront),
        ("demo checkout", &demo_checkout),
    ] {
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"), "{what}");
        assert_eq!(r.header("referrer-policy"), Some("no-referrer"), "{what}");
    }
    for (what, r) in [("card page", &card_page), ("storefront", &storefront)] {
        assert_eq!(r.status, 200, "{what}: {}", r.body);
        let csp = r.header("content-security-policy").unwrap_or_else(|| panic!("{what} has no CSP"));
        assert!(csp.contains("frame-ancestors 'none'"), "{what} can be framed: {csp}");
        assert!(csp.contains("script-src 'self' 'wasm-unsafe-eval';"), "{what}: {csp}");
        assert!(!csp.contains("unsafe-inline") && !csp.contains("'unsafe-eval'"), "{what}: {csp}");
    }
    // The demo checkout page redirects to its order page, which carries the policy too.
    let order_page = http::get(&w.edge.url(demo_checkout.location.as_deref().expect("a redirect to the order")));
    assert!(order_page.header("content-security-policy").is_some_and(|c| c.contains("frame-ancestors 'none'")));
    // The card page's one inline style is allowed by its hash, nothing else.
    let csp = card_page.header("content-security-policy").unwrap();
    assert!(csp.contains("style-src 'self' 'sha256-"), "{csp}");
    assert_eq!(loader.header("access-control-allow-origin"), Some("*"), "the loader stays public");
}

#[test]
fn the_api_is_readable_only_from_the_shops_registered_origins() {
    let w = world();
    let config = &w.per_payment.config;
    let intent = sign(config, &claims(config, &reference("cors"), 1000));
    let body = serde_json::json!({"intent": intent}).to_string();
    let methods = |origin: &str| {
        http::post_with_headers(
            &w.edge.url("/v1/methods"),
            &[("Content-Type", "application/json"), ("Origin", origin)],
            body.as_bytes(),
        )
    };
    let from_shop = methods(&config.origin);
    assert_eq!(from_shop.status, 200, "{}", from_shop.body);
    assert_eq!(from_shop.header("access-control-allow-origin"), Some(config.origin.as_str()));
    assert!(from_shop.header("vary").is_some_and(|v| v.contains("Origin")));
    let from_www = methods(WWW_ORIGIN);
    assert_eq!(from_www.header("access-control-allow-origin"), Some(WWW_ORIGIN), "an origin in also_origins");
    let from_elsewhere = methods("https://evil.example");
    assert_eq!(from_elsewhere.header("access-control-allow-origin"), None, "another site cannot read the answer");
    // The preflight says the same.
    let preflight = |origin: &str| {
        let req = ureq::http::Request::builder()
            .method("OPTIONS")
            .uri(w.edge.url("/v1/sessions"))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .body(())
            .unwrap();
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        http::read_reply(agent.run(req).expect("preflight"))
    };
    assert_eq!(preflight(&config.origin).header("access-control-allow-origin"), Some(config.origin.as_str()));
    assert_eq!(preflight("https://evil.example").header("access-control-allow-origin"), None);
}

#[test]
fn every_served_asset_is_served_without_a_secret_in_it() {
    let w = world();
    let site = bawaba_tests::root().join("target/site");
    let mut files = Vec::new();
    let mut dirs = vec![site.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    let mut served = 0;
    for file in files {
        let rel = file.strip_prefix(&site).unwrap().to_string_lossy().replace('\\', "/");
        if rel == "_headers" {
            continue; // wrangler's configuration, not served
        }
        // Every answer is audited by the harness: a registered secret in it fails here.
        let mut r = http::get(&w.edge.url(&format!("/{rel}")));
        if let (307 | 308, Some(to)) = (r.status, r.location.clone()) {
            r = http::get(&w.edge.url(&to)); // /index.html is served as /
        }
        assert_eq!(r.status, 200, "/{rel}");
        served += 1;
    }
    assert!(served >= 4, "the loader, the widget's glue and wasm, the storefront: {served}");
    assert!(http::audited() > 0);
}

/// On Cloudflare a Worker cannot fetch its own hostname. Here the edge is reached under a name
/// that does not resolve (`edge.invalid`), so any call it made to itself over HTTP would fail:
/// the sandbox must still take the payment, confirm it and deliver its webhook in-process.
#[test]
fn the_sandbox_pays_without_any_http_call_to_the_edges_own_hostname() {
    let w = world();
    let config = &w.returns.config;
    let port = w.edge.base.rsplit(':').next().unwrap().to_string();
    let host = format!("edge.invalid:{port}");
    let local = |url: &str| url.replace(&format!("http://{host}"), &w.edge.base);
    let reference = reference("no-loopback");
    let intent = sign(config, &claims(config, &reference, 4550));
    let body = serde_json::json!({"intent": intent, "method": "mada"}).to_string();
    let session = http::post_with_headers(
        &w.edge.url("/v1/sessions"),
        &[("Content-Type", "application/json"), ("Host", &host)],
        body.as_bytes(),
    );
    assert_eq!(session.status, 200, "{}", session.body);
    let page = flows::hosted_url(&session);
    assert!(page.starts_with(&format!("http://{host}/sandbox/pay/")), "the edge saw the unresolvable name: {page}");
    let form = "number=4464040000000007&expiry=12%2F34&cvc=123";
    let paid = http::post_with_headers(
        &local(&page),
        &[("Content-Type", "application/x-www-form-urlencoded"), ("Host", &host)],
        form.as_bytes(),
    );
    assert_eq!(paid.status, 303, "{}", paid.body);
    let back = http::get_with_headers(&local(paid.location.as_deref().unwrap()), &[("Host", &host)]);
    assert_eq!(back.status, 303, "{}", back.body);
    let to_shop = back.location.unwrap_or_default();
    assert!(to_shop.contains("status=paid"), "the return asked the sandbox in-process: {to_shop}");
    // The notification reaches the shop; the sandbox's own webhook went in-process too.
    let got = eventually(20, "payment.succeeded at the shop", || {
        let ns = flows::notifications(&w.returns.fake, config, &reference);
        (!ns.is_empty()).then_some(ns)
    });
    assert_eq!(flows::kinds(&got)[0], "payment.succeeded");
    let received = w.returns.fake.received();
    let delivered = received.iter().find(|r| r.body.windows(reference.len()).any(|b| b == reference.as_bytes()));
    let header = delivered.and_then(|r| r.header(signature::HEADER)).expect("a signed notification");
    assert_eq!(header.matches("v1=").count(), 1, "one key, one signature: {header}");
}

/// The shopper over the limit reads why, in their language, and nothing was started.
#[tokio::test(flavor = "multi_thread")]
async fn the_widget_tells_a_rate_limited_shopper_in_english_and_arabic() {
    use bawaba_tests::browser::{wait_css, wait_url, Driver};
    use fantoccini::Locator;
    let w = world();
    let demo = ShopConfig { id: "demo".into(), origin: w.edge.base.clone(), secret: w.edge.demo_secret.clone() };
    wait_for_a_fresh_minute(40);
    // The browser sends no CF-Connecting-IP locally, and neither do these: one bucket.
    for i in 0..PER_CLIENT {
        let intent = sign(&demo, &claims(&demo, &reference("exhaust"), 1000));
        assert_eq!(flows::start_session(&w.edge, &intent, "mada").status, 200, "start {}", i + 1);
    }
    let driver = Driver::start();
    let c = driver.browser().await;
    for (home, expected) in [
        ("/", "Too many payment attempts. Please wait a minute and try again."),
        ("/ar/", "محاولات دفع كثيرة. انتظر دقيقة ثم حاول مرة أخرى."),
    ] {
        c.goto(&w.edge.url(home)).await.expect("storefront");
        wait_css(&c, "#buy-qahwa").await.click().await.expect("buy");
        wait_url(&c, "/demo/shop/checkout/").await;
        let widget = wait_css(&c, "bawaba-checkout[data-state=ready]").await;
        let shadow = widget.shadow_root().await.expect("shadow root");
        shadow.find(Locator::Css("button.pay")).await.unwrap().click().await.unwrap();
        wait_css(&c, "bawaba-checkout[data-state=error]").await;
        let error = shadow.find(Locator::Css(".error")).await.unwrap();
        assert_eq!(error.attr("data-code").await.unwrap().as_deref(), Some("rate_limited"));
        assert_eq!(error.text().await.unwrap(), expected, "on {home}");
        // Styled under the page's strict CSP: the constructed stylesheet applied.
        let button = shadow.find(Locator::Css("button.pay")).await.unwrap();
        let background = button.css_value("background-color").await.unwrap();
        assert_eq!(background, "rgba(11, 110, 79, 1)", "the widget's styles apply under the strict CSP");
    }
    c.close().await.ok();
}

/// During a key rotation the edge takes intents and calls signed with either key and signs
/// each notification with both, so the shop can switch whenever it likes.
#[test]
fn a_rotated_shop_key_works_old_and_new_during_the_switch() {
    let w = world();
    let new = w.rotating.config.clone();
    let old = ShopConfig { secret: OLD_KEY.into(), ..new.clone() };
    let other = ShopConfig { secret: "neither-key-0123456789".into(), ..new.clone() };
    for (who, shop, expected) in [("new key", &new, 200), ("old key", &old, 200), ("another key", &other, 401)] {
        let intent = sign(shop, &claims(shop, &reference("rotation"), 1000));
        let r = http::post_json(&w.edge.url("/v1/methods"), &serde_json::json!({ "intent": intent }));
        assert_eq!(r.status, expected, "an intent signed with the {who}: {}", r.body);
        let call = flows::signed_get(&w.edge, shop, "/v1/deliveries");
        assert_eq!(call.status, expected, "a call signed with the {who}: {}", call.body);
    }
    // A payment made while the shop still signs with the old key.
    let reference = reference("rotation-paid");
    let back = flows::pay(&w.edge, &old, &reference, 2500, "mada", "4464040000000007");
    assert!(back.location.unwrap_or_default().contains("status=paid"));
    let notification = eventually(20, "the notification", || {
        w.rotating
            .fake
            .received()
            .into_iter()
            .find(|r| r.answered == 200 && r.body.windows(reference.len()).any(|b| b == reference.as_bytes()))
    });
    let header = notification.header(signature::HEADER).expect("signed").to_string();
    assert_eq!(header.matches("v1=").count(), 2, "one signature per key: {header}");
    for key in [new.secret.as_str(), OLD_KEY] {
        signature::verify(key.as_bytes(), Some(&header), &notification.body, bawaba_tests::now(), 300)
            .expect("the notification verifies with either key");
    }
}
