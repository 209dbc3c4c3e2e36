//! A gateway outage does not stop a shop from taking payments: with
//! `BAWABA_ROUTES=visa=moyasar|tap`, Moyasar takes Visa, and Tap takes it while Moyasar cannot be
//! reached. A refusal (a wrong key) is not an outage: it is reported, not hidden behind Tap.
//! The real edge in workerd against the fake Moyasar and the fake Tap on 127.0.0.1.

use bawaba_tests::edge::{eventually, Edge, EdgeOptions, ShopConfig};
use bawaba_tests::fake_shop::FakeShop;
use bawaba_tests::fakes::moyasar::FakeMoyasar;
use bawaba_tests::fakes::tap::FakeTap;
use bawaba_tests::fakes::Health;
use bawaba_tests::flows::{self, back_through_edge, claims, kinds, reference, sign, signed_post};
use bawaba_tests::http::{self, Reply};

const MOYASAR_KEY: &str = "sk_test_bawaba_0123456789";
const MOYASAR_TOKEN: &str = "moyasar-webhook-token-0123";
const TAP_KEY: &str = "sk_test_tap_0123456789";

fn start_session(edge: &Edge, config: &ShopConfig, r: &str) -> Reply {
    flows::start_session(edge, &sign(config, &claims(config, r, 3000)), "visa")
}

#[test]
fn an_outage_at_the_first_gateway_moves_the_payment_to_the_next() {
    let moyasar = FakeMoyasar::start(MOYASAR_KEY, MOYASAR_TOKEN);
    let tap = FakeTap::start(TAP_KEY);
    let shop = FakeShop::start();
    let config = ShopConfig { id: "souq".into(), origin: shop.origin.clone(), secret: "souq-secret-0123456789".into() };
    let vars = vec![
        ("BAWABA_ROUTES".to_string(), "visa=moyasar|tap".to_string()),
        ("MOYASAR_API_BASE".into(), moyasar.api_base()),
        ("MOYASAR_SECRET_KEY".into(), MOYASAR_KEY.into()),
        ("MOYASAR_WEBHOOK_SECRET".into(), MOYASAR_TOKEN.into()),
        ("TAP_API_BASE".into(), tap.api_base()),
        ("TAP_SECRET_KEY".into(), TAP_KEY.into()),
        ("GATEWAY_TIMEOUT_MS".into(), "2000".into()),
    ];
    let edge = Edge::start(EdgeOptions { shops: vec![config.clone()], vars, ..Default::default() });
    moyasar.set_webhook_url(&edge.url("/v1/webhooks/moyasar"));

    // Both up: the first gateway takes it.
    let first = start_session(&edge, &config, &reference("fb-up"));
    assert_eq!((first.status, first.json()["gateway"].as_str()), (200, Some("moyasar")), "{}", first.body);

    // Moyasar down: Tap takes it, and the payment completes there.
    moyasar.set_health(Health::Failing);
    let r = reference("fb-down");
    let session = start_session(&edge, &config, &r);
    assert_eq!((session.status, session.json()["gateway"].as_str()), (200, Some("tap")), "{}", session.body);
    let url = flows::hosted_url(&session);
    assert!(url.starts_with(&tap.base), "the shopper goes to Tap's page: {url}");
    let paid = http::post_form(&url, &[("number", "4508750015741019"), ("expiry", "01/39"), ("cvc", "100")]);
    assert!(back_through_edge(&paid).location.unwrap().contains("status=paid"));
    let got =
        eventually(10, "the notification", || Some(flows::notifications(&shop, &config, &r)).filter(|n| !n.is_empty()));
    assert_eq!(kinds(&got), ["payment.succeeded"]);
    assert_eq!(got[0].gateway, "tap");

    // Both down: a clear 502, and nothing lost: the same intent works once a gateway is back.
    tap.set_health(Health::Failing);
    let r = reference("fb-both");
    let down = start_session(&edge, &config, &r);
    assert_eq!((down.status, down.error_code().as_str()), (502, "gateway_unavailable"), "{}", down.body);
    moyasar.set_health(Health::Up);
    let back = start_session(&edge, &config, &r);
    assert_eq!((back.status, back.json()["gateway"].as_str()), (200, Some("moyasar")), "{}", back.body);
    tap.set_health(Health::Up);

    // A refusal is an answer, not an outage: a wrong key at Moyasar is reported, Tap is not tried.
    moyasar.set_secret_key("sk_test_rotated_elsewhere");
    let refused = start_session(&edge, &config, &reference("fb-refused"));
    assert_eq!((refused.status, refused.error_code().as_str()), (502, "gateway_rejected"), "{}", refused.body);

    // Test connection lists both gateways of the route, and the method they serve.
    let check = signed_post(&edge, &config, "/v1/check", &serde_json::json!({"currency": "SAR"})).json();
    let gateways: Vec<&str> =
        check["gateways"].as_array().unwrap().iter().map(|g| g["gateway"].as_str().unwrap()).collect();
    assert_eq!(gateways, ["moyasar", "tap"]);
    assert_eq!(check["methods"], serde_json::json!(["visa"]));
}
