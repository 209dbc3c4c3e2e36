//! STC Pay and Apple Pay in the widget, as a shopper does it in headless Chromium, in English and
//! Arabic: the demo storefront, the widget against the real edge in workerd, Moyasar's payments
//! API faked on 127.0.0.1, the demo shop's order page. Chromium has no Apple Pay: a scripted
//! `ApplePaySession` stand-in plays the sheet (merchant validation, then a token), and records
//! what the widget asked of it. axe-core checks each state (STC Pay's number and code, Apple Pay).

use bawaba_tests::browser::{axe_violations, wait_css, wait_url, Driver};
use bawaba_tests::edge::{Edge, EdgeOptions};
use bawaba_tests::fakes::moyasar::FakeMoyasar;
use bawaba_tests::http;
use fantoccini::{Client, Locator};
use std::sync::OnceLock;
use std::time::Duration;

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const KEY: &str = "sk_test_in_page_browser";
const PUBLISHABLE: &str = "pk_test_in_page_browser";

struct World {
    edge: Edge,
    moyasar: FakeMoyasar,
    driver: Driver,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let moyasar = FakeMoyasar::start(KEY, "tok-in-page-browser");
        let edge = Edge::start(EdgeOptions {
            shops: vec![],
            vars: vec![
                ("BAWABA_ROUTES".into(), "mada=moyasar,applepay=moyasar,stcpay=moyasar".into()),
                ("MOYASAR_API_BASE".into(), moyasar.api_base()),
                ("MOYASAR_SECRET_KEY".into(), KEY.into()),
                ("MOYASAR_PUBLISHABLE_KEY".into(), PUBLISHABLE.into()),
                ("MOYASAR_WEBHOOK_SECRET".into(), "tok-in-page-browser".into()),
            ],
            ..Default::default()
        });
        moyasar.set_webhook_url(&edge.url("/v1/webhooks/moyasar"));
        moyasar.register_applepay_domain("127.0.0.1", PUBLISHABLE);
        World { edge, moyasar, driver: Driver::start() }
    })
}

/// `ApplePaySession` as Safari has it, scripted: `begin()` asks for merchant validation with an
/// Apple URL; the merchant session handed back is kept and the sheet "authorizes" a token;
/// `completePayment` is recorded. What the widget did is kept in `sessionStorage.applePay` (the
/// shopper leaves the page once paid).
const APPLE_PAY_STAND_IN: &str = "
window.applePay = { requests: [], merchantSessions: [], completed: [], version: null };
const keep = () => sessionStorage.setItem('applePay', JSON.stringify(window.applePay));
class ApplePaySession {
  static STATUS_SUCCESS = 0; static STATUS_FAILURE = 1;
  static canMakePayments() { return true; }
  static supportsVersion(v) { return v <= 14; }
  constructor(version, request) { window.applePay.version = version; window.applePay.requests.push(request); keep(); }
  begin() {
    setTimeout(() => this.onvalidatemerchant({ validationURL:
      'https://apple-pay-gateway-cert.apple.com/paymentservices/startSession' }), 10);
  }
  completeMerchantValidation(session) {
    window.applePay.merchantSessions.push(session); keep();
    setTimeout(() => this.onpaymentauthorized({ payment: { token: {
      paymentData: { version: 'EC_v1', data: 'c3RhbmQtaW4=', signature: 'c2ln',
        header: { ephemeralPublicKey: 'a2V5', publicKeyHash: 'aGFzaA==', transactionId: 'abc' } },
      paymentMethod: { displayName: 'mada 1010', network: 'mada', type: 'debit' },
      transactionIdentifier: 'STAND-IN' } } }), 10);
  }
  completePayment(status) { window.applePay.completed.push(status); keep(); }
  abort() { window.applePay.aborted = true; }
}
window.ApplePaySession = ApplePaySession;";

/// Buys `product` on the storefront at `home`; the widget once ready, and its shadow root.
async fn checkout(c: &Client, home: &str, product: &str) -> fantoccini::elements::Element {
    c.goto(&world().edge.url(home)).await.expect("storefront");
    wait_css(c, &format!("#buy-{product}")).await.click().await.expect("buy");
    wait_url(c, "/demo/shop/checkout/").await;
    wait_css(c, "bawaba-checkout[data-state=ready]").await
}

async fn choose(widget: &fantoccini::elements::Element, method: &str) {
    let shadow = widget.shadow_root().await.unwrap();
    shadow.find(Locator::Css(&format!("input[value={method}]"))).await.unwrap().click().await.unwrap();
}

/// Saves the page as `name` (under target/, or docs/screenshots with `cargo xtask screenshots`).
async fn screenshot(c: &Client, name: &str) {
    let png = c.screenshot().await.expect("screenshot");
    std::fs::write(bawaba_tests::screenshot_path(name), png).unwrap();
}

async fn no_violations(c: &Client, what: &str) {
    assert_eq!(axe_violations(c).await, Vec::<serde_json::Value>::new(), "{what}");
}

/// The order page says paid, and the shop heard exactly once.
async fn the_order_is_paid(c: &Client) {
    let order_url = wait_url(c, "/demo/shop/orders/").await;
    wait_css(c, "#order-state[data-state=paid]").await;
    let reference = order_url.split("/demo/shop/orders/").nth(1).unwrap().split('?').next().unwrap().to_string();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let order = http::get(&world().edge.url(&format!("/demo/shop/api/orders/{reference}"))).json();
    assert_eq!(order["notifications"].as_array().unwrap().len(), 1, "one notification: {order}");
}

#[tokio::test(flavor = "multi_thread")]
async fn stc_pay_takes_the_number_then_the_code_in_both_languages() {
    let _one = SERIAL.lock().await;
    let c = world().driver.browser().await;
    for (home, label) in [("/", "STC Pay"), ("/ar/", "STC Pay")] {
        let widget = checkout(&c, home, "qahwa").await;
        choose(&widget, "stcpay").await;
        let shadow = widget.shadow_root().await.unwrap();
        let mobile = wait_shadow(&shadow, "#bawaba-mobile").await;
        assert_eq!(mobile.attr("autocomplete").await.unwrap().as_deref(), Some("tel"));
        let text = shadow.find(Locator::Css("label[for=bawaba-mobile]")).await.unwrap().text().await.unwrap();
        assert!(text.contains(label), "{home}: {text}");
        no_violations(&c, &format!("{home} STC Pay number")).await;
        let lang = if home == "/" { "en" } else { "ar" };

        // A number that is not Saudi is refused in the widget, in the page's language.
        mobile.send_keys("0112345678").await.unwrap();
        shadow.find(Locator::Css("button.pay")).await.unwrap().click().await.unwrap();
        wait_css(&c, "bawaba-checkout[data-state=error]").await;
        let error = shadow.find(Locator::Css(".error")).await.unwrap();
        assert_eq!(error.attr("data-code").await.unwrap().as_deref(), Some("mobile_invalid"));
        no_violations(&c, &format!("{home} STC Pay wrong number")).await;

        // Typed as Arabic shoppers do, in Arabic-Indic digits with the country code.
        mobile.clear().await.unwrap();
        mobile.send_keys("+966 ٥٥ ١٢٣ ٤٥٦٧").await.unwrap();
        shadow.find(Locator::Css("button.pay")).await.unwrap().click().await.unwrap();
        wait_css(&c, "bawaba-checkout[data-state=otp]").await;
        let code = wait_shadow(&shadow, "#bawaba-otp").await;
        assert_eq!(code.attr("autocomplete").await.unwrap().as_deref(), Some("one-time-code"));
        let focused =
            c.execute("return document.querySelector('bawaba-checkout').shadowRoot.activeElement?.id", vec![]);
        assert_eq!(focused.await.unwrap(), "bawaba-otp", "{home}: the code field takes the focus");
        no_violations(&c, &format!("{home} STC Pay code")).await;
        code.send_keys("123456").await.unwrap();
        screenshot(&c, &format!("widget-stcpay-{lang}.png")).await;
        shadow.find(Locator::Css("button.pay")).await.unwrap().click().await.unwrap();
        the_order_is_paid(&c).await;
    }
    let sent: Vec<_> =
        world().moyasar.direct_payments().into_iter().filter(|p| p["source"]["type"] == "stcpay").collect();
    assert_eq!(sent.len(), 2, "one STC Pay payment per language: {sent:?}");
    assert!(sent.iter().all(|p| p["source"]["mobile"] == "0551234567"), "the national form: {sent:?}");
    c.close().await.ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn apple_pay_opens_the_sheet_where_the_browser_has_it_in_both_languages() {
    let _one = SERIAL.lock().await;
    let c = world().driver.browser().await;
    for home in ["/", "/ar/"] {
        let widget = checkout(&c, home, "oud").await;
        let shadow = widget.shadow_root().await.unwrap();
        assert!(
            shadow.find(Locator::Css("input[value=applepay]")).await.is_err(),
            "{home}: no Apple Pay where the browser has none"
        );
        c.execute(APPLE_PAY_STAND_IN, vec![]).await.expect("the stand-in");
        // The element mounts again when an attribute changes: now with Apple Pay.
        c.execute("document.querySelector('bawaba-checkout').setAttribute('method', 'applepay')", vec![])
            .await
            .unwrap();
        let radio = wait_shadow(&shadow, "input[value=applepay]").await;
        radio.click().await.unwrap();
        let button = shadow.find(Locator::Css("button.pay")).await.unwrap();
        assert_eq!(button.attr("class").await.unwrap().as_deref(), Some("pay apple-pay"));
        no_violations(&c, &format!("{home} Apple Pay")).await;
        screenshot(&c, &format!("widget-applepay-{}.png", if home == "/" { "en" } else { "ar" })).await;
        button.click().await.unwrap();
        the_order_is_paid(&c).await;
        let did = c.execute("return JSON.parse(sessionStorage.getItem('applePay'))", vec![]).await.unwrap();
        let request = &did["requests"][0];
        assert_eq!(did["version"], 5);
        assert_eq!(request["countryCode"], "SA");
        assert_eq!(request["currencyCode"], "SAR");
        assert_eq!(request["supportedNetworks"], serde_json::json!(["mada", "visa", "masterCard", "amex"]));
        assert_eq!(request["total"]["amount"], "250.00");
        assert_eq!(did["merchantSessions"][0]["domainName"], "127.0.0.1", "validated through the edge: {did}");
        assert_eq!(did["completed"], serde_json::json!([0]), "the sheet was told it succeeded");
    }
    c.close().await.ok();
}

async fn wait_shadow(shadow: &fantoccini::elements::ShadowRoot, css: &str) -> fantoccini::elements::Element {
    for _ in 0..100 {
        if let Ok(e) = shadow.find(Locator::Css(css)).await {
            return e;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no {css} in the widget");
}
