//! One browser payment per gateway, as a shopper does it: the demo storefront, the widget, the
//! gateway's hosted page (the fake's), back through the edge to the shop's order page.

use bawaba_tests::browser::{wait_css, wait_url, Driver};
use bawaba_tests::edge::{Edge, EdgeOptions};
use bawaba_tests::fakes::{aps, moyasar::FakeMoyasar, paytabs::FakePayTabs, tap::FakeTap};
use bawaba_tests::http;
use fantoccini::{Client, Locator};
use std::time::Duration;

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Buys with `method` on the storefront; `on_gateway` completes the gateway's page. Returns the
/// URL the shopper landed on and the order as the shop has it.
async fn buy<F, Fut>(edge: &Edge, gateway_base: &str, method: &str, on_gateway: F) -> (String, serde_json::Value)
where
    F: FnOnce(Client) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let _one = SERIAL.lock().await;
    let driver = Driver::start();
    let c = driver.browser().await;
    c.goto(&edge.url("/")).await.unwrap();
    wait_css(&c, "#buy-dates").await.click().await.unwrap();
    let widget = wait_css(&c, "bawaba-checkout[data-state=ready]").await;
    let shadow = widget.shadow_root().await.unwrap();
    shadow.find(Locator::Css(&format!("input[value={method}]"))).await.unwrap().click().await.unwrap();
    shadow.find(Locator::Css("button.pay")).await.unwrap().click().await.unwrap();
    wait_url(&c, gateway_base).await;
    on_gateway(c.clone()).await;
    let order_url = wait_url(&c, "/demo/shop/orders/").await;
    wait_css(&c, "#order-state[data-state=paid]").await;
    let reference = order_url.split("/demo/shop/orders/").nth(1).unwrap().split('?').next().unwrap().to_string();
    c.close().await.ok();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let order = http::get(&edge.url(&format!("/demo/shop/api/orders/{reference}"))).json();
    assert_eq!(order["notifications"].as_array().unwrap().len(), 1, "one notification: {order}");
    assert_eq!(order["state"], "paid");
    (order_url, order)
}

#[tokio::test(flavor = "multi_thread")]
async fn pay_on_moyasars_page() {
    let moyasar = FakeMoyasar::start("sk_test_browser", "tok-browser");
    let edge = Edge::start(EdgeOptions {
        shops: vec![],
        vars: vec![
            ("BAWABA_ROUTES".into(), "mada=moyasar,visa=moyasar,mastercard=moyasar".into()),
            ("MOYASAR_API_BASE".into(), moyasar.api_base()),
            ("MOYASAR_SECRET_KEY".into(), "sk_test_browser".into()),
            ("MOYASAR_WEBHOOK_SECRET".into(), "tok-browser".into()),
        ],
        ..Default::default()
    });
    moyasar.set_webhook_url(&edge.url("/v1/webhooks/moyasar"));
    buy(&edge, &moyasar.base, "mada", |c| async move {
        wait_css(&c, "#number").await.send_keys("4201320111111010").await.unwrap();
        c.find(Locator::Css("#pay")).await.unwrap().click().await.unwrap();
        wait_css(&c, "#authenticate").await.click().await.unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn pay_on_taps_page() {
    let tap = FakeTap::start("sk_test_browser");
    let edge = Edge::start(EdgeOptions {
        shops: vec![],
        vars: vec![
            ("BAWABA_ROUTES".into(), "mada=tap,visa=tap,mastercard=tap".into()),
            ("TAP_API_BASE".into(), tap.api_base()),
            ("TAP_SECRET_KEY".into(), "sk_test_browser".into()),
        ],
        ..Default::default()
    });
    buy(&edge, &tap.base, "visa", |c| async move {
        wait_css(&c, "#number").await.send_keys("4508750015741019").await.unwrap();
        c.find(Locator::Css("#pay")).await.unwrap().click().await.unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn pay_on_the_aps_page_opened_by_a_signed_form_post() {
    let creds = aps::Credentials {
        merchant_identifier: "Merchant".into(),
        access_code: "access-browser".into(),
        request_phrase: "req-browser".into(),
        response_phrase: "res-browser".into(),
    };
    let fake = aps::FakeAps::start(creds.clone());
    let edge = Edge::start(EdgeOptions {
        shops: vec![],
        vars: vec![
            ("BAWABA_ROUTES".into(), "mada=aps,visa=aps,mastercard=aps".into()),
            ("APS_MERCHANT_IDENTIFIER".into(), creds.merchant_identifier),
            ("APS_ACCESS_CODE".into(), creds.access_code),
            ("APS_SHA_REQUEST_PHRASE".into(), creds.request_phrase),
            ("APS_SHA_RESPONSE_PHRASE".into(), creds.response_phrase),
            ("APS_PAGE_BASE".into(), fake.base.clone()),
            ("APS_API_BASE".into(), fake.base.clone()),
        ],
        ..Default::default()
    });
    buy(&edge, &fake.base, "mastercard", |c| async move {
        wait_css(&c, "#number").await.send_keys("5123456789012346").await.unwrap();
        c.find(Locator::Css("#pay")).await.unwrap().click().await.unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn pay_on_stripes_checkout_page_with_3d_secure() {
    let stripe = bawaba_tests::fakes::stripe::FakeStripe::start("sk_test_browser", "whsec_browser");
    let edge = Edge::start(EdgeOptions {
        shops: vec![],
        vars: vec![
            ("BAWABA_ROUTES".into(), "visa=stripe,mastercard=stripe".into()),
            ("STRIPE_API_BASE".into(), stripe.api_base()),
            ("STRIPE_SECRET_KEY".into(), "sk_test_browser".into()),
            ("STRIPE_WEBHOOK_SECRET".into(), "whsec_browser".into()),
        ],
        ..Default::default()
    });
    stripe.set_webhook_url(&edge.url("/v1/webhooks/stripe"));
    buy(&edge, &stripe.base, "visa", |c| async move {
        wait_css(&c, "#number").await.send_keys("4000002500003155").await.unwrap();
        c.find(Locator::Css("#pay")).await.unwrap().click().await.unwrap();
        wait_css(&c, "#authenticate").await.click().await.unwrap();
    })
    .await;
}

/// PayPal takes no SAR: the demo shop sells in USD here.
#[tokio::test(flavor = "multi_thread")]
async fn pay_on_paypals_page() {
    let paypal = bawaba_tests::fakes::paypal::FakePayPal::start("AcBrowser", "EBrowser", "WH-BROWSER");
    let edge = Edge::start(EdgeOptions {
        shops: vec![],
        vars: vec![
            ("BAWABA_ROUTES".into(), "paypal=paypal".into()),
            ("PAYPAL_API_BASE".into(), paypal.api_base()),
            ("PAYPAL_CLIENT_ID".into(), "AcBrowser".into()),
            ("PAYPAL_CLIENT_SECRET".into(), "EBrowser".into()),
            ("PAYPAL_WEBHOOK_ID".into(), "WH-BROWSER".into()),
            ("DEMO_SHOP_CURRENCY".into(), "USD".into()),
        ],
        ..Default::default()
    });
    paypal.set_webhook_url(&edge.url("/v1/webhooks/paypal"));
    buy(&edge, &paypal.base, "paypal", |c| async move {
        wait_css(&c, "#approve").await.click().await.unwrap();
    })
    .await;
}

/// PayTabs posts its signed return to HTTPS return URLs only; the test edge is plain HTTP, so
/// the fake is told to post to it all the same: the browser submits the fake's auto-submitting
/// form, and the edge checks its signature before asking PayTabs for the truth. (A return
/// signed with another key lands on `status=pending` instead, unless PayTabs' callback happened
/// to confirm the payment first: this test catches that only when the browser is the quicker.)
#[tokio::test(flavor = "multi_thread")]
async fn pay_on_paytabs_page_and_come_back_by_its_signed_return() {
    let paytabs = FakePayTabs::start("44017", "SKJNDKLMRB-browser");
    paytabs.set_post_http_returns(true);
    let edge = Edge::start(EdgeOptions {
        shops: vec![],
        vars: vec![
            ("BAWABA_ROUTES".into(), "mada=paytabs,visa=paytabs,mastercard=paytabs".into()),
            ("PAYTABS_API_BASE".into(), paytabs.api_base()),
            ("PAYTABS_PROFILE_ID".into(), "44017".into()),
            ("PAYTABS_SERVER_KEY".into(), "SKJNDKLMRB-browser".into()),
        ],
        ..Default::default()
    });
    let tran_ref = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let (seen, fake) = (tran_ref.clone(), paytabs.clone());
    let (landed, order) = buy(&edge, &paytabs.base, "visa", |c| async move {
        let page = c.current_url().await.unwrap().to_string();
        let id = page.rsplit('/').next().unwrap().to_string();
        let sale = fake.transaction(&id).expect("the sale exists at PayTabs");
        assert_eq!(sale["payment_methods"], serde_json::json!(["creditcard"]), "Visa: the card page only");
        assert_eq!(wait_css(&c, "#amount").await.text().await.unwrap(), "89.00 SAR", "the dates, in riyals");
        *seen.lock().unwrap() = id;
        wait_css(&c, "#number").await.send_keys("4111111111111111").await.unwrap();
        c.find(Locator::Css("#pay")).await.unwrap().click().await.unwrap();
    })
    .await;
    assert!(landed.contains("reference=") && landed.contains("status=paid"), "{landed}");
    let tran_ref = tran_ref.lock().unwrap().clone();
    assert_eq!((order["amount"].as_i64(), order["currency"].as_str()), (Some(8900), Some("SAR")), "{order}");
    let received = &order["notifications"][0];
    assert_eq!(
        (received["type"].as_str(), received["verified"].as_bool(), received["duplicates"].as_u64()),
        (Some("payment.succeeded"), Some(true), Some(0)),
        "{order}"
    );
    assert_eq!(order["payment_method"], "visa •••• 1111");
    let stats = http::get(&edge.url("/demo/shop/api/stats")).json();
    assert_eq!(stats["rejected_notifications"], 0, "no notification failed the shop's signature check");
    assert_eq!(paytabs.transaction(&tran_ref).unwrap()["payment_result"]["response_status"], "A");
    assert!(paytabs.queries_of(&tran_ref) >= 1, "the edge asked PayTabs for the truth");
    for _ in 0..100 {
        if paytabs.callbacks_sent() > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(paytabs.callbacks_sent(), 1, "PayTabs' signed callback reached the edge");
}
