//! Gateway health and the circuit breaker, against the real edge in workerd: with Moyasar
//! hanging, the first starts wait for the gateway timeout and fall back to the sandbox; once the
//! breaker opens the next ones go to the fallback without waiting (time measured here, compared
//! with the timeout setting), a method with no fallback fails at once with a clear 502, and after
//! the cool-down one probe finds Moyasar back and closes the breaker. `GET /v1/health` shows it,
//! and the shop receives one signed `gateway.degraded` and, once it is back, one `gateway.recovered`.

use bawaba_core::signature;
use bawaba_tests::edge::{eventually, Edge, EdgeOptions, ShopConfig};
use bawaba_tests::fake_shop::FakeShop;
use bawaba_tests::fakes::moyasar::FakeMoyasar;
use bawaba_tests::fakes::Health;
use bawaba_tests::flows::{self, claims, reference, sign};
use bawaba_tests::http;
use std::time::{Duration, Instant};

const KEY: &str = "sk_test_health_0123456789";
const TOKEN: &str = "moyasar-webhook-token-health";
const TIMEOUT_MS: u64 = 4_000;
const FAILURES_TO_OPEN: usize = 2;
const COOL_DOWN_SECS: u64 = 8;

fn start(edge: &Edge, shop: &ShopConfig, method: &str) -> (http::Reply, Duration) {
    let intent = sign(shop, &claims(shop, &reference("health"), 1000));
    let began = Instant::now();
    let reply = flows::start_session(edge, &intent, method);
    (reply, began.elapsed())
}

/// The distinct gateway events the shop received (answered 2xx), each verified with its secret.
fn gateway_events(fake: &FakeShop, shop: &ShopConfig) -> Vec<(String, String)> {
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for r in fake.received().into_iter().filter(|r| (200..300).contains(&r.answered)) {
        let Ok(body) = serde_json::from_slice::<serde_json::Value>(&r.body) else { continue };
        let kind = body["type"].as_str().unwrap_or_default().to_string();
        if !kind.starts_with("gateway.") {
            continue;
        }
        signature::verify(shop.secret.as_bytes(), r.header(signature::HEADER), &r.body, bawaba_tests::now(), 300)
            .expect("a signed gateway event");
        if seen.insert(body["event_id"].as_str().unwrap_or_default().to_string()) {
            out.push((kind, body["gateway"].as_str().unwrap_or_default().to_string()));
        }
    }
    out
}

fn moyasar_health(edge: &Edge) -> serde_json::Value {
    let health = http::get(&edge.url("/v1/health"));
    assert_eq!(health.status, 200, "{}", health.body);
    health.json()["gateways"]["moyasar"].clone()
}

#[test]
fn a_failing_gateway_is_bypassed_without_waiting_and_probed_back() {
    let moyasar = FakeMoyasar::start(KEY, TOKEN);
    let fake = FakeShop::start();
    let shop = ShopConfig { id: "sooq".into(), origin: fake.origin.clone(), secret: "sooq-secret-0123456789".into() };
    let vars = [
        ("BAWABA_ROUTES", "visa=moyasar|sandbox,mada=moyasar".to_string()),
        ("MOYASAR_API_BASE", moyasar.api_base()),
        ("MOYASAR_SECRET_KEY", KEY.into()),
        ("MOYASAR_WEBHOOK_SECRET", TOKEN.into()),
        ("GATEWAY_TIMEOUT_MS", TIMEOUT_MS.to_string()),
        ("GATEWAY_BREAKER_FAILURES", FAILURES_TO_OPEN.to_string()),
        ("GATEWAY_BREAKER_COOLDOWN_SECS", COOL_DOWN_SECS.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let edge = Edge::start(EdgeOptions { shops: vec![shop.clone()], vars, ..Default::default() });
    let timeout = Duration::from_millis(TIMEOUT_MS);

    let (up, _) = start(&edge, &shop, "visa");
    assert_eq!(up.json()["gateway"], "moyasar", "{}", up.body);
    assert_eq!(moyasar_health(&edge)["state"], "healthy");

    moyasar.set_health(Health::Hanging);
    for i in 0..FAILURES_TO_OPEN {
        let (r, took) = start(&edge, &shop, "visa");
        assert_eq!((r.status, r.json()["gateway"].as_str()), (200, Some("sandbox")), "start {i}: {}", r.body);
        assert!(took >= timeout, "before the breaker opens, a start waits for the timeout: {took:?}");
    }
    let degraded = moyasar_health(&edge);
    assert_eq!(degraded["state"], "degraded", "{degraded}");
    assert_eq!(degraded["recent_outages"], FAILURES_TO_OPEN);
    // The shop hears it once, signed, at the notification URL its payments use.
    let events = eventually(20, "gateway.degraded at the shop", || {
        let events = gateway_events(&fake, &shop);
        (!events.is_empty()).then_some(events)
    });
    assert_eq!(events, [("gateway.degraded".to_string(), "moyasar".to_string())]);

    // Open: straight to the fallback, without waiting for Moyasar's timeout.
    for _ in 0..3 {
        let (r, took) = start(&edge, &shop, "visa");
        assert_eq!((r.status, r.json()["gateway"].as_str()), (200, Some("sandbox")), "{}", r.body);
        assert!(took < timeout / 2, "an open breaker skips the gateway: {took:?} against a {timeout:?} timeout");
    }
    // mada has no fallback: a clear answer at once rather than a wait.
    let (r, took) = start(&edge, &shop, "mada");
    assert_eq!((r.status, r.error_code().as_str()), (502, "gateway_unavailable"), "{}", r.body);
    assert!(r.body.contains("tried again in"), "{}", r.body);
    assert!(took < timeout / 2, "{took:?}");

    // Moyasar is back: after the cool-down one probe finds it and closes the breaker.
    moyasar.set_health(Health::Up);
    std::thread::sleep(Duration::from_secs(COOL_DOWN_SECS) + Duration::from_millis(300));
    let (probe, _) = start(&edge, &shop, "visa");
    assert_eq!((probe.status, probe.json()["gateway"].as_str()), (200, Some("moyasar")), "{}", probe.body);
    assert_eq!(moyasar_health(&edge)["state"], "healthy");
    let (r, _) = start(&edge, &shop, "mada");
    assert_eq!(r.json()["gateway"], "moyasar", "{}", r.body);
    let events = eventually(20, "gateway.recovered at the shop", || {
        let events = gateway_events(&fake, &shop);
        (events.len() >= 2).then_some(events)
    });
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        gateway_events(&fake, &shop),
        [
            ("gateway.degraded".to_string(), "moyasar".to_string()),
            ("gateway.recovered".to_string(), "moyasar".to_string())
        ],
        "one of each: {events:?}"
    );
}
