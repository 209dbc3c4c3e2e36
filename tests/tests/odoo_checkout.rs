//! A payment through Odoo 19's payment form and the Bawaba widget, against a running Odoo and
//! edge (the seed of `cargo xtask odoo-demo`). Ignored unless `BAWABA_ODOO_PAY_URL` is set to an
//! Odoo payment link whose provider points at an edge with the sandbox on.

use bawaba_tests::browser::{wait_css, wait_url, Driver};
use fantoccini::Locator;

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a running Odoo 19 with payment_bawaba and an edge: set BAWABA_ODOO_PAY_URL"]
async fn pay_in_odoos_payment_form() {
    let url = std::env::var("BAWABA_ODOO_PAY_URL").expect("BAWABA_ODOO_PAY_URL");
    let driver = Driver::start();
    let c = driver.browser().await;
    c.goto(&url).await.unwrap();
    let card = "input[name=o_payment_radio][data-provider-code=bawaba][data-payment-method-code=card]";
    wait_css(&c, card).await;
    // Odoo draws its own radio over the input; clicking the input itself is what a shopper's
    // click on the row does.
    c.execute(&format!("document.querySelector('{card}').click()"), vec![]).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(800)).await; // the inline form unfolds
    wait_css(&c, "button[name=o_payment_submit_button]:not([disabled])").await;
    c.execute("document.querySelector('button[name=o_payment_submit_button]').click()", vec![]).await.unwrap();
    let widget = wait_css(&c, "bawaba-checkout[data-state=ready]").await;
    let shadow = widget.shadow_root().await.unwrap();
    shadow.find(Locator::Css("button.pay")).await.unwrap().click().await.unwrap();
    wait_url(&c, "/sandbox/pay/").await;
    wait_css(&c, "#number").await.send_keys("4111111111111111").await.unwrap();
    c.find(Locator::Css("#expiry")).await.unwrap().send_keys("12/34").await.unwrap();
    c.find(Locator::Css("#cvc")).await.unwrap().send_keys("123").await.unwrap();
    c.find(Locator::Css("#pay")).await.unwrap().click().await.unwrap();
    // Odoo's status page polls until the signed result has arrived, then confirms.
    wait_url(&c, "/payment/confirmation").await;
    let text = wait_css(&c, "main").await.text().await.unwrap();
    assert!(text.contains("Bawaba"), "{text}");
    let png = c.screenshot().await.unwrap();
    std::fs::write(bawaba_tests::root().join("docs/screenshots/odoo-confirmation.png"), png).unwrap();
}
