//! End to end, as a shopper: the demo storefront in headless Chromium, the widget, the sandbox's
//! hosted page, the edge's return route, and the demo shop's order page, against the real edge
//! in workerd. Each path checks what the shop received: exactly one verified notification.

use bawaba_tests::browser::{
    axe_violations, held_redirect, hold_the_widgets_redirect, pay_on_the_sandbox, wait_css, wait_url, Driver,
};
use bawaba_tests::edge::{Edge, EdgeOptions};
use bawaba_tests::http;
use fantoccini::Locator;
use std::sync::OnceLock;
use std::time::Duration;

fn edge() -> &'static Edge {
    static EDGE: OnceLock<Edge> = OnceLock::new();
    EDGE.get_or_init(|| Edge::start(EdgeOptions::default()))
}

fn driver() -> &'static Driver {
    static DRIVER: OnceLock<Driver> = OnceLock::new();
    DRIVER.get_or_init(Driver::start)
}

/// One browser at a time: two cores, and screenshots want a quiet machine.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

struct Purchase {
    lang: &'static str,
    method: &'static str,
    card: &'static str,
    challenge: Option<&'static str>,
    expect: &'static str,
    screenshot: Option<&'static str>,
}

async fn buy(p: Purchase) {
    let _one_at_a_time = SERIAL.lock().await;
    let edge = edge();
    let c = driver().browser().await;
    let home = if p.lang == "ar" { "/ar/" } else { "/" };
    c.goto(&edge.url(home)).await.expect("storefront");
    wait_css(&c, "#buy-qahwa").await.click().await.expect("buy");
    wait_url(&c, "/demo/shop/checkout/").await;

    let widget = wait_css(&c, "bawaba-checkout[data-state=ready]").await;
    let html_dir = c.find(Locator::Css("html")).await.unwrap().attr("dir").await.unwrap();
    assert_eq!(html_dir.as_deref(), Some(if p.lang == "ar" { "rtl" } else { "ltr" }));
    let shadow = widget.shadow_root().await.expect("the widget has a shadow root");
    let container = shadow.find(Locator::Css(".bw")).await.expect("widget container");
    assert_eq!(container.attr("dir").await.unwrap().as_deref(), Some(if p.lang == "ar" { "rtl" } else { "ltr" }));
    let rows = shadow.find_all(Locator::Css("label.method")).await.unwrap();
    let mut order = Vec::new();
    for r in &rows {
        order.push(r.attr("data-method").await.unwrap().unwrap_or_default());
    }
    assert_eq!(order, ["mada", "visa", "mastercard"], "methods in the edge's order, mada first");
    if let Some(name) = p.screenshot {
        let png = c.screenshot().await.expect("screenshot");
        std::fs::write(bawaba_tests::screenshot_path(name), png).unwrap();
    }
    shadow.find(Locator::Css(&format!("input[value={}]", p.method))).await.unwrap().click().await.unwrap();
    shadow.find(Locator::Css("button.pay")).await.unwrap().click().await.unwrap();

    pay_on_the_sandbox(&c, p.card).await;
    if let Some(code) = p.challenge {
        wait_css(&c, "#code").await.send_keys(code).await.unwrap();
        c.find(Locator::Css("#verify")).await.unwrap().click().await.unwrap();
    }

    let order_url = wait_url(&c, "/demo/shop/orders/").await;
    assert!(order_url.contains(&format!("status={}", p.expect)), "{order_url}");
    let state = wait_css(&c, &format!("#order-state[data-state={}]", p.expect)).await;
    assert!(!state.text().await.unwrap().is_empty());
    // The demo shows how the edge's notification to the shop went.
    c.refresh().await.unwrap();
    wait_css(&c, "#delivery[data-state=delivered]").await;
    let reference = order_url.split("/demo/shop/orders/").nth(1).unwrap().split('?').next().unwrap().to_string();
    c.close().await.ok();

    // What the shop received: give the sandbox's webhook time to arrive too, then count.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let order = http::get(&edge.url(&format!("/demo/shop/api/orders/{reference}"))).json();
    let notifications = order["notifications"].as_array().unwrap();
    assert_eq!(notifications.len(), 1, "exactly one notification per payment: {order}");
    assert_eq!(notifications[0]["verified"], true);
    let expected_type = if p.expect == "paid" { "payment.succeeded" } else { "payment.failed" };
    assert_eq!(notifications[0]["type"], expected_type);
    let stats = http::get(&edge.url("/demo/shop/api/stats")).json();
    assert_eq!(stats["rejected_notifications"], 0, "no notification failed verification");
}

#[tokio::test(flavor = "multi_thread")]
async fn approve_with_mada_in_english() {
    buy(Purchase {
        lang: "en",
        method: "mada",
        card: "4464040000000007",
        challenge: None,
        expect: "paid",
        screenshot: Some("widget-en.png"),
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn decline_with_visa_in_arabic() {
    buy(Purchase {
        lang: "ar",
        method: "visa",
        card: "4000000000000002",
        challenge: None,
        expect: "failed",
        screenshot: Some("widget-ar.png"),
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn three_d_secure_with_mastercard() {
    buy(Purchase {
        lang: "en",
        method: "mastercard",
        card: "4000000000003220",
        challenge: Some("123456"),
        expect: "paid",
        screenshot: None,
    })
    .await;
}

/// A page that has already asked the shopper how to pay (Odoo's payment form) sets `method` and
/// `autostart`: the widget asks nothing more and goes straight to the gateway. `card` means any
/// card brand: the hosted page takes a Mastercard although the widget started with Visa.
#[tokio::test(flavor = "multi_thread")]
async fn a_page_that_already_asked_goes_straight_to_the_gateway() {
    let _one_at_a_time = SERIAL.lock().await;
    let edge = edge();
    let c = driver().browser().await;
    c.goto(&edge.url("/")).await.expect("storefront");
    wait_css(&c, "#buy-qahwa").await.click().await.expect("buy");
    wait_url(&c, "/demo/shop/checkout/").await;
    wait_css(&c, "bawaba-checkout[data-state=ready]").await;
    // The same intent in a widget told what the shopper chose; its redirect held to look at it.
    hold_the_widgets_redirect(&c).await;
    c.execute(
        "const old = document.querySelector('bawaba-checkout');
         const chosen = document.createElement('bawaba-checkout');
         chosen.setAttribute('intent', old.getAttribute('intent'));
         chosen.setAttribute('method', 'card');
         chosen.setAttribute('autostart', '');
         chosen.id = 'chosen';
         old.replaceWith(chosen);",
        vec![],
    )
    .await
    .unwrap();
    let redirect = held_redirect(&c).await;
    assert!(redirect.contains("/sandbox/pay/"), "{redirect}");
    let widget = wait_css(&c, "#chosen[data-state=redirecting]").await;
    let shadow = widget.shadow_root().await.unwrap();
    assert!(shadow.find(Locator::Css("fieldset[hidden]")).await.is_ok(), "no second question");
    assert_eq!(
        shadow.find(Locator::Css("input:checked")).await.unwrap().attr("value").await.unwrap().as_deref(),
        Some("visa")
    );

    c.goto(&redirect).await.unwrap();
    pay_on_the_sandbox(&c, "5555555555554444").await;
    let order_url = wait_url(&c, "/demo/shop/orders/").await;
    assert!(order_url.contains("status=paid"), "{order_url}");
    let reference = order_url.split("/demo/shop/orders/").nth(1).unwrap().split('?').next().unwrap().to_string();
    c.close().await.ok();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let order = http::get(&edge.url(&format!("/demo/shop/api/orders/{reference}"))).json();
    assert_eq!(order["notifications"][0]["type"], "payment.succeeded", "{order}");
    assert_eq!(order["payment_method"], "mastercard •••• 4444", "the brand paid with: {order}");
}

/// Buys the coffee on the demo storefront at `home` (`/` or `/ar/`); the widget once ready.
async fn open_the_checkout(c: &fantoccini::Client, home: &str) -> fantoccini::elements::Element {
    c.goto(&edge().url(home)).await.expect("storefront");
    wait_css(c, "#buy-qahwa").await.click().await.expect("buy");
    wait_url(c, "/demo/shop/checkout/").await;
    wait_css(c, "bawaba-checkout[data-state=ready]").await
}

/// The widget in each of its states, in both languages, passes axe: ready, redirecting (the
/// redirect held), and an error (the page's intent replaced by a broken one).
#[tokio::test(flavor = "multi_thread")]
async fn the_widget_has_no_accessibility_violations_in_any_state() {
    let _one_at_a_time = SERIAL.lock().await;
    let c = driver().browser().await;
    for home in ["/", "/ar/"] {
        let widget = open_the_checkout(&c, home).await;
        assert_eq!(axe_violations(&c).await, Vec::<serde_json::Value>::new(), "{home} ready");
        hold_the_widgets_redirect(&c).await;
        widget.shadow_root().await.unwrap().find(Locator::Css("button.pay")).await.unwrap().click().await.unwrap();
        held_redirect(&c).await;
        wait_css(&c, "bawaba-checkout[data-state=redirecting]").await;
        assert_eq!(axe_violations(&c).await, Vec::<serde_json::Value>::new(), "{home} redirecting");
        c.execute("document.querySelector('bawaba-checkout').setAttribute('intent', 'not-a-jwt')", vec![])
            .await
            .unwrap();
        wait_css(&c, "bawaba-checkout[data-state=error]").await;
        assert_eq!(axe_violations(&c).await, Vec::<serde_json::Value>::new(), "{home} error");
    }
    c.close().await.ok();
}

/// A shopper with only a keyboard: Tab into the widget, an arrow key to Visa, Tab to the button,
/// Enter; the card typed on the gateway's page and sent with Enter. The order is paid by Visa.
#[tokio::test(flavor = "multi_thread")]
async fn a_keyboard_only_shopper_pays() {
    use fantoccini::key::Key;
    let _one_at_a_time = SERIAL.lock().await;
    let c = driver().browser().await;
    open_the_checkout(&c, "/").await;
    let focused = "const w = document.activeElement; \
                   return w && w.shadowRoot && w.shadowRoot.activeElement \
                     ? (w.shadowRoot.activeElement.value || w.shadowRoot.activeElement.className) : '';";
    let mut reached = String::new();
    for _ in 0..30 {
        c.active_element().await.unwrap().send_keys(&Key::Tab.to_string()).await.unwrap();
        reached = c.execute(focused, vec![]).await.unwrap().as_str().unwrap_or_default().to_string();
        if !reached.is_empty() {
            break;
        }
    }
    assert_eq!(reached, "mada", "Tab reaches the preselected method first");
    c.active_element().await.unwrap().send_keys(&Key::Down.to_string()).await.unwrap();
    assert_eq!(c.execute(focused, vec![]).await.unwrap(), "visa", "an arrow key moves to Visa");
    c.active_element().await.unwrap().send_keys(&Key::Tab.to_string()).await.unwrap();
    assert_eq!(c.execute(focused, vec![]).await.unwrap(), "pay", "Tab reaches the button");
    c.active_element().await.unwrap().send_keys(&Key::Enter.to_string()).await.unwrap();
    wait_url(&c, "/sandbox/pay/").await;
    wait_css(&c, "#number").await.send_keys("4111111111111111").await.unwrap();
    c.find(Locator::Css("#expiry")).await.unwrap().send_keys("12/34").await.unwrap();
    let cvc = c.find(Locator::Css("#cvc")).await.unwrap();
    cvc.send_keys("123").await.unwrap();
    cvc.send_keys(&Key::Enter.to_string()).await.unwrap();
    let order_url = wait_url(&c, "/demo/shop/orders/").await;
    assert!(order_url.contains("status=paid"), "{order_url}");
    c.close().await.ok();
}
