//! HyperPay through the real edge in workerd, against the fake HyperPay on 127.0.0.1: the edge's
//! page mounting the widget, approve, decline, 3-D Secure failure, review (never paid), a
//! tampered amount, mada through the mada entity only, AES-GCM webhooks (forged, missing,
//! replayed), refunds (full, partial, over-refund), credentials check (ok, wrong token, wrong
//! entity), outages (unreachable: `gateway_unavailable`, or the method's next gateway), and one
//! payment in a real browser.

use bawaba_core::notification::Notification;
use bawaba_tests::edge::{eventually, Edge, EdgeOptions, ShopConfig};
use bawaba_tests::fake_shop::FakeShop;
use bawaba_tests::fakes::hyperpay::{FakeHyperPay, Outcome};
use bawaba_tests::fakes::Health;
use bawaba_tests::flows::{self, back_through_edge, claims, kinds, reference, sign, signed_post};
use bawaba_tests::http::{self, Reply};
use std::sync::OnceLock;
use std::time::Duration;

const TOKEN: &str = "OGFjN2E0Yzk4ZmFrZXRva2Vu";
const KEY: &str = "3d0b2e6a9f1c84e7b5a20d6c1f8e4b39a7c5d2e0f1b3a4968d7c6e5f4a3b2c1d";
const MADA: &str = "8ac7a4c8fake0mada";
const CARD: &str = "8ac7a4c8fake0card";
const APPLE: &str = "8ac7a4c8fake0applepay";

struct World {
    edge: Edge,
    hp: FakeHyperPay,
    shop: FakeShop,
    config: ShopConfig,
}

fn start() -> World {
    let hp = FakeHyperPay::start(TOKEN, &[(MADA, "mada"), (CARD, "card"), (APPLE, "applepay")], KEY);
    let shop = FakeShop::start();
    let config = ShopConfig { id: "dukkan".into(), origin: shop.origin.clone(), secret: "dukkan-secret-012345".into() };
    let vars = vec![
        (
            "BAWABA_ROUTES".to_string(),
            "mada=hyperpay,visa=hyperpay,mastercard=hyperpay,amex=hyperpay,applepay=hyperpay".to_string(),
        ),
        ("HYPERPAY_API_BASE".into(), hp.base.clone()),
        ("HYPERPAY_MODE".into(), "test".into()),
        ("HYPERPAY_ACCESS_TOKEN".into(), TOKEN.into()),
        ("HYPERPAY_ENTITY_ID_MADA".into(), MADA.into()),
        ("HYPERPAY_ENTITY_ID_CARD".into(), CARD.into()),
        ("HYPERPAY_ENTITY_ID_APPLEPAY".into(), APPLE.into()),
        ("HYPERPAY_WEBHOOK_KEY".into(), KEY.into()),
        ("GATEWAY_TIMEOUT_MS".into(), "2000".into()),
    ];
    let edge = Edge::start(EdgeOptions { shops: vec![config.clone()], vars, ..Default::default() });
    hp.set_webhook_url(&edge.url("/v1/webhooks/hyperpay"));
    World { edge, hp, shop, config }
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(start)
}

fn notifications(w: &World, r: &str) -> Vec<Notification> {
    flows::notifications(&w.shop, &w.config, r)
}

/// A session opened and its page, as the shopper's browser gets them.
struct Opened {
    /// The edge's session id for the payment at HyperPay (`<kind>:<checkout>`).
    gateway_payment_id: String,
    checkout: String,
    /// The form's action: the edge's return route.
    return_url: String,
    page: Reply,
}

fn open(w: &World, r: &str, amount: i64, method: &str) -> Opened {
    let mut c = claims(&w.config, r, amount);
    c.methods = vec!["mada".into(), "visa".into(), "mastercard".into(), "amex".into(), "applepay".into()];
    let session = flows::start_session(&w.edge, &sign(&w.config, &c), method);
    assert_eq!(session.status, 200, "{}", session.body);
    assert_eq!(session.json()["gateway"], "hyperpay");
    let url = flows::hosted_url(&session);
    assert!(url.starts_with(&w.edge.url("/v1/pay/hyperpay/")), "the edge serves the page: {url}");
    let page = http::get(&url);
    assert_eq!(page.status, 200, "{}", page.body);
    let id_segment = url.rsplit('/').next().unwrap().split('?').next().unwrap();
    let gateway_payment_id = id_segment.replace("%3A", ":").replace("%2E", ".").replace("%2D", "-");
    let checkout = gateway_payment_id.split_once(':').unwrap().1.to_string();
    let script = format!("<script src=\"{}/v1/paymentWidgets.js?checkoutId={checkout}\"></script>", w.hp.base);
    assert!(page.body.contains(&script), "{}", page.body);
    let action = page.body.split("<form action=\"").nth(1).unwrap().split('"').next().unwrap().replace("&amp;", "&");
    assert!(action.starts_with(&w.edge.url("/v1/return/hyperpay/")), "{action}");
    let csp = page.header("Content-Security-Policy").unwrap_or_default().to_string();
    assert!(csp.contains(&format!("script-src {}", w.hp.base)) && csp.contains("frame-ancestors 'none'"), "{csp}");
    Opened { gateway_payment_id, checkout, return_url: action, page }
}

fn pay(w: &World, o: &Opened, outcome: Outcome) -> Reply {
    let done = w.hp.pay(&o.checkout, outcome, &o.return_url);
    let location = done.location.clone().unwrap_or_default();
    assert!(location.contains(&format!("id={}", o.checkout)) && location.contains("resourcePath="), "{location}");
    done
}

fn status_after(w: &World, o: &Opened, outcome: Outcome) -> String {
    let back = back_through_edge(&pay(w, o, outcome));
    let location = back.location.unwrap();
    location.split("status=").nth(1).unwrap_or_default().split('&').next().unwrap_or_default().to_string()
}

#[test]
fn approve_on_the_card_entity_with_its_brands() {
    let w = world();
    let r = reference("hp-ok");
    let o = open(w, &r, 4550, "visa");
    assert!(o.page.body.contains(r#"data-brands="VISA MASTER AMEX""#), "{}", o.page.body);
    assert_eq!(w.hp.checkout(&o.checkout).unwrap()["entity"], CARD);
    assert_eq!(status_after(w, &o, Outcome::Approve), "paid");
    let got = eventually(10, "the success", || Some(notifications(w, &r)).filter(|n| !n.is_empty()));
    assert_eq!(kinds(&got), ["payment.succeeded"]);
    assert_eq!((got[0].amount, got[0].gateway_payment_id.as_str()), (4550, o.gateway_payment_id.as_str()));
    assert_eq!(got[0].card_brand.as_deref(), Some("visa"));
    assert_eq!(w.hp.checkout(&o.checkout).unwrap()["customer"]["email"], "shopper@example.com");
}

#[test]
fn mada_goes_through_the_mada_entity_only() {
    let w = world();
    let r = reference("hp-mada");
    let o = open(w, &r, 30000, "mada");
    assert!(o.page.body.contains(r#"data-brands="MADA""#) && !o.page.body.contains("VISA"), "{}", o.page.body);
    assert_eq!(w.hp.checkout(&o.checkout).unwrap()["entity"], MADA);
    assert_eq!(status_after(w, &o, Outcome::Approve), "paid");
    let refund = signed_post(&w.edge, &w.config, "/v1/refunds", &serde_json::json!({"reference": r, "amount": 1000}));
    assert_eq!(refund.json()["refunded_total"], 1000, "{}", refund.body);
    let payment_id = w.hp.checkout(&o.checkout).unwrap()["payment"].as_str().unwrap().to_string();
    let ours: Vec<_> = w.hp.calls().into_iter().filter(|c| c.id == o.checkout || c.id == payment_id).collect();
    assert!(ours.iter().any(|c| c.op == "status") && ours.iter().any(|c| c.op == "RF"), "{ours:?}");
    assert!(ours.iter().all(|c| c.entity == MADA), "mada never on another entity: {ours:?}");
    assert!(w.hp.calls().iter().filter(|c| c.entity == CARD).all(|c| c.id != o.checkout && c.id != payment_id));
    let apple = open(w, &reference("hp-apple"), 1000, "applepay");
    assert!(apple.page.body.contains(r#"data-brands="APPLEPAY""#));
    assert_eq!(w.hp.checkout(&apple.checkout).unwrap()["entity"], APPLE);
}

#[test]
fn decline_and_three_d_secure_failure() {
    let w = world();
    let r = reference("hp-decline");
    let o = open(w, &r, 1000, "mastercard");
    assert_eq!(status_after(w, &o, Outcome::Decline), "failed");
    let got = eventually(10, "the failure", || Some(notifications(w, &r)).filter(|n| !n.is_empty()));
    assert_eq!(kinds(&got), ["payment.failed"]);
    assert_eq!(got[0].error.as_ref().unwrap().code, "insufficient_funds");
    let r = reference("hp-3ds");
    let o = open(w, &r, 2000, "mada");
    assert_eq!(status_after(w, &o, Outcome::ThreeDsFail), "failed");
    let got = eventually(10, "the failure", || Some(notifications(w, &r)).filter(|n| !n.is_empty()));
    assert_eq!(got[0].error.as_ref().unwrap().code, "authentication_failed");
}

#[test]
fn a_payment_held_for_review_is_never_paid() {
    let w = world();
    let r = reference("hp-review");
    let o = open(w, &r, 7700, "visa");
    assert_eq!(status_after(w, &o, Outcome::Review), "pending");
    // HyperPay's webhook for it arrives and is read: still not paid.
    let before = w.hp.webhooks_sent();
    eventually(10, "HyperPay's webhook", || (w.hp.webhooks_sent() > before).then_some(()));
    std::thread::sleep(Duration::from_millis(500));
    assert!(kinds(&notifications(w, &r)).iter().all(|k| k != "payment.succeeded"));
    // HyperPay's answer was read, and it said pending (not an unreadable answer left pending).
    let inspected = flows::signed_get(&w.edge, &w.config, &format!("/v1/payments/{r}")).json();
    let session = &inspected["payment"]["sessions"][0];
    assert_eq!(
        (session["last_answer"].as_str(), session["status"].as_str()),
        (Some("pending"), Some("open")),
        "{inspected}"
    );
    assert_eq!(inspected["payment"]["state"], "pending");
    assert!(inspected["payment"]["charges"].as_array().unwrap().is_empty(), "no charge counted");
}

#[test]
fn a_result_for_another_amount_is_a_failure() {
    let w = world();
    let r = reference("hp-tamper");
    let o = open(w, &r, 9900, "visa");
    w.hp.tamper_amount(&o.checkout, "1.00");
    assert_eq!(status_after(w, &o, Outcome::Approve), "failed");
    let got = eventually(10, "the failure", || Some(notifications(w, &r)).filter(|n| !n.is_empty()));
    assert_eq!(got[0].error.as_ref().unwrap().code, "amount_mismatch");
}

#[test]
fn encrypted_webhooks_forged_missing_and_replayed() {
    let w = world();
    let r = reference("hp-hook");
    let o = open(w, &r, 2500, "visa");
    let deliveries_before = w.hp.deliveries().len();
    // Paid at HyperPay, but the shopper never comes back: the webhook must do it.
    assert_eq!(pay(w, &o, Outcome::Approve).status, 303);
    let got = eventually(10, "the webhook's success", || Some(notifications(w, &r)).filter(|n| !n.is_empty()));
    assert_eq!(kinds(&got), ["payment.succeeded"]);
    let (iv, tag, body) = w.hp.deliveries()[deliveries_before..].last().cloned().unwrap();
    let hook = w.edge.url("/v1/webhooks/hyperpay");
    let mut forged_tag = hex::decode(&tag).unwrap();
    forged_tag[15] ^= 0x01;
    let forged_tag = hex::encode(forged_tag);
    let send = |iv: Option<&str>, tag: Option<&str>, body: &str| {
        let mut headers = vec![("Content-Type", "text/plain")];
        headers.extend(iv.map(|v| ("X-Initialization-Vector", v)));
        headers.extend(tag.map(|v| ("X-Authentication-Tag", v)));
        http::post_with_headers(&hook, &headers, body.as_bytes())
    };
    let forged = send(Some(&iv), Some(&forged_tag), &body);
    assert_eq!((forged.status, forged.error_code().as_str()), (401, "signature_invalid"), "{}", forged.body);
    let missing = send(Some(&iv), None, &body);
    assert_eq!((missing.status, missing.error_code().as_str()), (401, "signature_missing"));
    let mut altered = hex::decode(&body).unwrap();
    altered[3] ^= 0x20;
    assert_eq!(send(Some(&iv), Some(&tag), &hex::encode(altered)).status, 401, "a changed body fails the tag");
    for _ in 0..3 {
        let replay = send(Some(&iv), Some(&tag), &body);
        assert_eq!(replay.status, 200, "{}", replay.body);
        assert_eq!(replay.json()["known"], true);
    }
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(kinds(&notifications(w, &r)), ["payment.succeeded"], "a replay changes nothing");
}

#[test]
fn refunds_full_partial_and_over() {
    let w = world();
    let r = reference("hp-refund");
    let o = open(w, &r, 5000, "visa");
    assert_eq!(status_after(w, &o, Outcome::Approve), "paid");
    let post = |path: &str, amount: Option<i64>| {
        let mut body = serde_json::json!({"reference": r});
        if let Some(a) = amount {
            body["amount"] = a.into();
        }
        signed_post(&w.edge, &w.config, path, &body)
    };
    assert_eq!(post("/v1/refunds", Some(2000)).json()["refunded_total"], 2000);
    let over = post("/v1/refunds", Some(3001));
    assert_eq!((over.status, over.error_code().as_str()), (422, "refund_exceeds_payment"));
    assert_eq!(post("/v1/refunds", None).json()["payment_state"], "refunded");
    let payment_id = w.hp.checkout(&o.checkout).unwrap()["payment"].as_str().unwrap().to_string();
    assert_eq!(w.hp.refunded(&payment_id), 5000, "HyperPay refunded the whole 50.00");
    let refunds: Vec<_> = w.hp.calls().into_iter().filter(|c| c.op == "RF" && c.id == payment_id).collect();
    assert_eq!(refunds.len(), 2, "the over-refund never reached HyperPay: {refunds:?}");
    assert!(refunds.iter().all(|c| c.entity == CARD));
    let void = post("/v1/voids", None);
    assert_eq!(void.status, 409, "{}", void.body);
    let got = eventually(10, "the refunds", || Some(notifications(w, &r)).filter(|n| n.len() == 3));
    assert_eq!(got.iter().map(|n| n.amount).collect::<Vec<_>>(), [5000, 2000, 3000]);
}

#[test]
fn unknown_pages_are_not_served() {
    let w = world();
    for path in ["/v1/pay/hyperpay/card%3Anope", "/v1/pay/hyperpay/nope", "/v1/pay/tap/card%3Ax"] {
        assert_eq!(http::get(&w.edge.url(path)).status, 404, "{path}");
    }
    // A decided session's page is closed.
    let o = open(w, &reference("hp-closed"), 1200, "visa");
    let again = o.page.body.clone();
    assert_eq!(status_after(w, &o, Outcome::Decline), "failed");
    let url = w.edge.url(&format!("/v1/pay/hyperpay/{}", o.gateway_payment_id.replace(':', "%3A")));
    assert_eq!(http::get(&url).status, 404, "{again}");
}

#[test]
fn check_connection_and_outages() {
    let w = start();
    let check = || {
        let reply = signed_post(&w.edge, &w.config, "/v1/check", &serde_json::json!({"currency": "SAR"}));
        let g = &reply.json()["gateways"][0];
        (g["verdict"].as_str().unwrap().to_string(), g["message"].as_str().unwrap_or("").to_string())
    };
    assert_eq!(check().0, "ok");
    let check_calls: Vec<_> = w.hp.calls().into_iter().filter(|c| c.op == "checkout").collect();
    assert_eq!(check_calls.last().unwrap().entity, MADA, "the check asks on the mada entity first");
    w.hp.set_token("another-token");
    let (verdict, message) = check();
    assert_eq!(verdict, "invalid_credentials");
    assert!(message.contains("access token"), "{message}");
    w.hp.set_token(TOKEN);
    assert_eq!(check().0, "ok");
    let intent = sign(&w.config, &claims(&w.config, &reference("hp-outage"), 700));
    for health in [Health::Failing, Health::Hanging] {
        w.hp.set_health(health);
        assert_eq!(check().0, "unreachable");
        let reply = flows::start_session(&w.edge, &intent, "visa");
        assert_eq!((reply.status, reply.error_code().as_str()), (502, "gateway_unavailable"));
    }
    w.hp.set_health(Health::Up);
    assert_eq!(flows::start_session(&w.edge, &intent, "visa").status, 200);
}

#[test]
fn a_wrong_entity_is_told_apart_from_a_wrong_token() {
    let hp = FakeHyperPay::start(TOKEN, &[(CARD, "card")], KEY);
    let shop = FakeShop::start();
    let config = ShopConfig { id: "dukkan".into(), origin: shop.origin.clone(), secret: "dukkan-secret-012345".into() };
    let vars = vec![
        ("BAWABA_ROUTES".to_string(), "mada=hyperpay,visa=hyperpay".to_string()),
        ("HYPERPAY_API_BASE".into(), hp.base.clone()),
        ("HYPERPAY_MODE".into(), "test".into()),
        ("HYPERPAY_ACCESS_TOKEN".into(), TOKEN.into()),
        // HyperPay knows no such mada entity.
        ("HYPERPAY_ENTITY_ID_MADA".into(), "8ac7a4c8wrong0mada".into()),
        ("HYPERPAY_ENTITY_ID_CARD".into(), CARD.into()),
        ("HYPERPAY_WEBHOOK_KEY".into(), KEY.into()),
    ];
    let edge = Edge::start(EdgeOptions { shops: vec![config.clone()], vars, ..Default::default() });
    let reply = signed_post(&edge, &config, "/v1/check", &serde_json::json!({"currency": "SAR"}));
    let g = &reply.json()["gateways"][0];
    assert_eq!(g["verdict"], "invalid_credentials", "{}", reply.body);
    assert!(g["message"].as_str().unwrap().contains("HYPERPAY_ENTITY_ID_MADA"), "{}", reply.body);
    // Live shops do not take these test credentials.
    assert_eq!(g["mode"], "test");
}

/// One payment in a real browser: the demo storefront, the widget, the edge's page running the
/// (fake) HyperPay widget under the page's policy, the widget's approve, back through the edge to
/// the shop's order page.
#[tokio::test(flavor = "multi_thread")]
async fn pay_in_a_browser_through_the_widget_on_the_edges_page() {
    use bawaba_tests::browser::{wait_css, wait_url, Driver};
    use fantoccini::Locator;
    let hp = FakeHyperPay::start(TOKEN, &[(MADA, "mada"), (CARD, "card")], KEY);
    let edge = Edge::start(EdgeOptions {
        shops: vec![],
        vars: vec![
            ("BAWABA_ROUTES".into(), "mada=hyperpay,visa=hyperpay,mastercard=hyperpay".into()),
            ("HYPERPAY_API_BASE".into(), hp.base.clone()),
            ("HYPERPAY_MODE".into(), "test".into()),
            ("HYPERPAY_ACCESS_TOKEN".into(), TOKEN.into()),
            ("HYPERPAY_ENTITY_ID_MADA".into(), MADA.into()),
            ("HYPERPAY_ENTITY_ID_CARD".into(), CARD.into()),
            ("HYPERPAY_WEBHOOK_KEY".into(), KEY.into()),
        ],
        ..Default::default()
    });
    hp.set_webhook_url(&edge.url("/v1/webhooks/hyperpay"));
    let driver = Driver::start();
    let c = driver.browser().await;
    c.goto(&edge.url("/")).await.unwrap();
    wait_css(&c, "#buy-dates").await.click().await.unwrap();
    let widget = wait_css(&c, "bawaba-checkout[data-state=ready]").await;
    let shadow = widget.shadow_root().await.unwrap();
    shadow.find(Locator::Css("input[value=mada]")).await.unwrap().click().await.unwrap();
    shadow.find(Locator::Css("button.pay")).await.unwrap().click().await.unwrap();
    wait_url(&c, "/v1/pay/hyperpay/mada").await;
    // The widget ran (its script is allowed by the page's policy) and shows the mada brand only.
    assert_eq!(wait_css(&c, "#hp-brands").await.text().await.unwrap(), "MADA");
    wait_css(&c, "#hp-approve").await.click().await.unwrap();
    let order_url = wait_url(&c, "/demo/shop/orders/").await;
    wait_css(&c, "#order-state[data-state=paid]").await;
    let reference = order_url.split("/demo/shop/orders/").nth(1).unwrap().split('?').next().unwrap().to_string();
    c.close().await.ok();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let order = http::get(&edge.url(&format!("/demo/shop/api/orders/{reference}"))).json();
    assert_eq!(order["notifications"].as_array().unwrap().len(), 1, "one notification: {order}");
    assert_eq!(order["state"], "paid");
    assert!(hp.calls().iter().all(|call| call.entity == MADA), "{:?}", hp.calls());
}

#[test]
fn an_unreachable_hyperpay_falls_back_to_the_next_gateway() {
    use bawaba_tests::fakes::tap::FakeTap;
    let hp = FakeHyperPay::start(TOKEN, &[(MADA, "mada"), (CARD, "card")], KEY);
    let tap = FakeTap::start("sk_test_fallback");
    let shop = FakeShop::start();
    let config = ShopConfig { id: "dukkan".into(), origin: shop.origin.clone(), secret: "dukkan-secret-012345".into() };
    let vars = vec![
        ("BAWABA_ROUTES".to_string(), "mada=hyperpay|tap,visa=hyperpay|tap".to_string()),
        ("HYPERPAY_API_BASE".into(), hp.base.clone()),
        ("HYPERPAY_MODE".into(), "test".into()),
        ("HYPERPAY_ACCESS_TOKEN".into(), TOKEN.into()),
        ("HYPERPAY_ENTITY_ID_MADA".into(), MADA.into()),
        ("HYPERPAY_ENTITY_ID_CARD".into(), CARD.into()),
        ("HYPERPAY_WEBHOOK_KEY".into(), KEY.into()),
        ("TAP_API_BASE".into(), tap.api_base()),
        ("TAP_SECRET_KEY".into(), "sk_test_fallback".into()),
        ("GATEWAY_TIMEOUT_MS".into(), "2000".into()),
    ];
    let edge = Edge::start(EdgeOptions { shops: vec![config.clone()], vars, ..Default::default() });
    let intent = |r: &str| sign(&config, &claims(&config, r, 1500));
    let up = flows::start_session(&edge, &intent(&reference("hp-up")), "mada");
    assert_eq!(up.json()["gateway"], "hyperpay", "{}", up.body);
    for health in [Health::Failing, Health::Hanging] {
        hp.set_health(health);
        let down = flows::start_session(&edge, &intent(&reference("hp-down")), "mada");
        assert_eq!((down.status, down.json()["gateway"].as_str()), (200, Some("tap")), "{}", down.body);
    }
    hp.set_health(Health::Up);
    // A refusal is an answer, not an outage: a wrong token is reported, not hidden behind Tap.
    hp.set_token("another-token");
    let refused = flows::start_session(&edge, &intent(&reference("hp-refused")), "visa");
    assert_eq!((refused.status, refused.error_code().as_str()), (502, "gateway_rejected"), "{}", refused.body);
}

#[test]
fn without_the_merchants_own_apple_merchant_apple_pay_stays_on_the_widget_page() {
    // The Apple Pay entity alone is HyperPay's widget page (HyperPay validates there): in the
    // page only with APPLE_PAY_MERCHANT_ID and its certificate (gateway_hyperpay_applepay.rs).
    let w = world();
    let mut c = claims(&w.config, &reference("hp-ap-flow"), 1000);
    c.methods = vec!["mada".into(), "applepay".into()];
    let answer = http::post_json(&w.edge.url("/v1/methods"), &serde_json::json!({ "intent": sign(&w.config, &c) }));
    assert_eq!(answer.status, 200, "{}", answer.body);
    let methods = answer.json()["methods"].as_array().unwrap().clone();
    let apple = methods.iter().find(|m| m["code"] == "applepay").expect("Apple Pay is offered");
    assert_eq!(apple["flow"], "redirect", "{answer:?}", answer = answer.body);
    let token = flows::applepay_token("mada");
    let refused = http::post_json(
        &w.edge.url("/v1/sessions"),
        &serde_json::json!({"intent": sign(&w.config, &c), "method": "applepay", "applepay_token": token}),
    );
    assert_ne!(refused.status, 200, "no token is taken for the widget page: {}", refused.body);
    assert!(w.hp.payment_requests().is_empty(), "nothing was charged server-to-server");
}
