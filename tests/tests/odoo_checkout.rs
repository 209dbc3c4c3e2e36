//! A real Odoo 19 shop, end to end: a guest buys a product on `/shop`, pays through the Bawaba
//! widget and the sandbox gateway, and Odoo confirms the order and e-mails the shopper; then the
//! merchant refunds part of it from Odoo. Everything is real: Odoo with `website_sale` and the
//! addon, the edge in workerd, Chromium, SMTP.
//!
//! `cargo xtask odoo-demo` starts Odoo and the edge and runs this test; it is ignored otherwise.
//! It sets the provider up through Odoo's external API, as the merchant would in the settings
//! form: state Test, the edge URL, the shop id and secret.

use bawaba_tests::browser::{wait_css, wait_url, Driver};
use bawaba_tests::mailbox::Mailbox;
use bawaba_tests::odoo::Odoo;
use bawaba_tests::{now, wait_for};
use fantoccini::{Client, Locator};
use serde_json::{json, Value};
use std::time::Duration;

/// Points the Bawaba provider at the edge, and Odoo's outgoing mail at `mailbox`.
fn set_up_shop(odoo: &Odoo, mailbox: &Mailbox) -> i64 {
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} (set by cargo xtask odoo-demo)"));
    // Links in e-mails and the intent's return/notify URLs are built from web.base.url.
    odoo.call("ir.config_parameter", "set_param", json!(["web.base.url", odoo.base]), json!({}));
    odoo.call("ir.config_parameter", "set_param", json!(["web.base.url.freeze", "True"]), json!({}));

    let provider = odoo.xmlid("payment_bawaba.payment_provider_bawaba");
    odoo.call(
        "payment.provider",
        "write",
        json!([[provider], {
            "state": "test",
            "is_published": true,
            "bawaba_edge_url": var("BAWABA_EDGE_URL"),
            "bawaba_shop_id": var("BAWABA_ODOO_SHOP_ID"),
            "bawaba_signing_secret": var("BAWABA_ODOO_SHOP_SECRET"),
        }]),
        json!({}),
    );

    let servers = odoo.search_read("ir.mail_server", json!([["name", "=", "Bawaba test mailbox"]]), &["id"]);
    let ids: Vec<i64> = servers.iter().filter_map(|s| s["id"].as_i64()).collect();
    odoo.call("ir.mail_server", "unlink", json!([ids]), json!({}));
    odoo.call(
        "ir.mail_server",
        "create",
        json!([{ "name": "Bawaba test mailbox", "smtp_host": "127.0.0.1", "smtp_port": mailbox.port,
                 "smtp_encryption": "none", "sequence": 1 }]),
        json!({}),
    );
    provider
}

/// A published product that goes straight into the cart (no variants to pick, no options).
fn a_simple_product(odoo: &Odoo) -> (String, String) {
    let products = odoo.search_read(
        "product.template",
        json!([
            ["is_published", "=", true],
            ["sale_ok", "=", true],
            ["attribute_line_ids", "=", false],
            ["optional_product_ids", "=", false],
            ["list_price", ">", 10],
            ["type", "=", "consu"]
        ]),
        &["name", "website_url"],
    );
    let product = products.first().expect("a published product in the demo data");
    (product["name"].as_str().unwrap().to_string(), product["website_url"].as_str().unwrap().to_string())
}

async fn click(c: &Client, css: &str) {
    wait_css(c, css).await;
    // Odoo draws its own controls over some inputs; a script click is what a shopper's click on
    // the drawn control does.
    c.execute("document.querySelector(arguments[0]).click()", vec![json!(css)]).await.unwrap();
}

async fn fill(c: &Client, name: &str, value: &str) {
    let input = wait_css(c, &format!("form input[name={name}]")).await;
    input.clear().await.unwrap();
    input.send_keys(value).await.unwrap();
}

async fn shoot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    std::fs::write(bawaba_tests::root().join(format!("docs/screenshots/{name}.png")), png).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a running Odoo 19 shop and edge: run `cargo xtask odoo-demo`"]
async fn a_guest_buys_on_the_shop_and_odoo_confirms_the_order() {
    let odoo = Odoo::from_env().expect("BAWABA_ODOO_URL and BAWABA_ODOO_DB (set by cargo xtask odoo-demo)");
    let mailbox = Mailbox::start();
    let provider = set_up_shop(&odoo, &mailbox);
    let (product, product_url) = a_simple_product(&odoo);
    let email = format!("shopper.{}@example.com", now());
    let saudi_arabia = odoo.xmlid("base.sa");

    let driver = Driver::start();
    let c = driver.browser().await;
    c.goto(&format!("{}{product_url}", odoo.base)).await.unwrap();
    click(&c, "#product_detail form #add_to_cart").await;
    wait_css(&c, "sup.my_cart_quantity:not(.d-none)").await;
    c.goto(&format!("{}/shop/cart", odoo.base)).await.unwrap();
    click(&c, "a[href^='/shop/checkout']").await;

    // A guest: the address form.
    wait_url(&c, "/shop/address").await;
    wait_css(&c, "#o_country_id").await;
    c.execute(
        "const s = document.querySelector('#o_country_id'); s.value = String(arguments[0]);
         s.dispatchEvent(new Event('change', { bubbles: true }));",
        vec![json!(saudi_arabia)],
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await; // the form re-renders for the country
    for (name, value) in [
        ("name", "Noura Al-Harbi"),
        ("email", email.as_str()),
        ("phone", "+966500000000"),
        ("street", "King Fahd Road 1"),
        ("city", "Riyadh"),
        ("zip", "12211"),
    ] {
        if c.find(Locator::Css(&format!("form input[name={name}]"))).await.is_ok() {
            fill(&c, name, value).await;
        }
    }
    click(&c, "a[name=website_sale_main_button]").await;

    // Delivery / review step if the shop has one, then the payment page.
    for _ in 0..100 {
        let url = c.current_url().await.unwrap().to_string();
        if url.contains("/shop/payment") {
            break;
        }
        if let Ok(confirm) = c.find(Locator::Css("a[href^='/shop/payment']")).await {
            let _ = confirm.click().await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    wait_url(&c, "/shop/payment").await;
    let card = "input[name=o_payment_radio][data-provider-code=bawaba][data-payment-method-code=card]";
    click(&c, card).await;
    if c.find(Locator::Css("#website_sale_tc_checkbox")).await.is_ok() {
        click(&c, "#website_sale_tc_checkbox").await;
    }
    tokio::time::sleep(Duration::from_millis(800)).await; // the inline form unfolds
    click(&c, "button[name=o_payment_submit_button]:not([disabled])").await;

    // Odoo created the transaction and the addon handed its intent to the widget.
    let widget = wait_css(&c, "bawaba-checkout[data-state=ready]").await;
    shoot(&c, "odoo-shop-payment").await;
    let shadow = widget.shadow_root().await.unwrap();
    shadow.find(Locator::Css("button.pay")).await.unwrap().click().await.unwrap();
    wait_url(&c, "/sandbox/pay/").await;
    wait_css(&c, "#number").await.send_keys("4111111111111111").await.unwrap();
    c.find(Locator::Css("#expiry")).await.unwrap().send_keys("12/34").await.unwrap();
    c.find(Locator::Css("#cvc")).await.unwrap().send_keys("123").await.unwrap();
    c.find(Locator::Css("#pay")).await.unwrap().click().await.unwrap();

    // Back on Odoo: /payment/status polls until the signed result has arrived, then the shop's
    // confirmation page.
    wait_url(&c, "/shop/confirmation").await;
    let text = wait_css(&c, "[name=order_confirmation]").await.text().await.unwrap();
    assert!(text.contains("Your payment has been processed"), "{text}");
    shoot(&c, "odoo-shop-confirmation").await;

    // In Odoo: the transaction is done with the gateway's reference, the order is confirmed.
    let orders = odoo.search_read(
        "sale.order",
        json!([["partner_id.email", "=", email]]),
        &["name", "state", "amount_total", "transaction_ids", "currency_id"],
    );
    assert_eq!(orders.len(), 1, "one order for the shopper: {orders:?}");
    let order = &orders[0];
    assert_eq!(order["state"], "sale", "the order is confirmed: {order}");
    let txs = odoo.search_read(
        "payment.transaction",
        json!([["sale_order_ids", "in", [order["id"].clone()]]]),
        &["reference", "state", "provider_id", "provider_reference", "amount", "payment_method_code"],
    );
    assert_eq!(txs.len(), 1, "{txs:?}");
    let tx = &txs[0];
    assert_eq!(tx["state"], "done", "{tx}");
    assert_eq!(tx["provider_id"][0], provider, "{tx}");
    assert!(tx["provider_reference"].as_str().is_some_and(|r| !r.is_empty()), "the gateway's reference: {tx}");
    assert_eq!(tx["amount"], order["amount_total"], "{tx} {order}");

    // The shopper got the confirmation e-mail, once.
    let order_name = order["name"].as_str().unwrap().to_string();
    let confirmations = wait_for(60, "the order confirmation e-mail", || {
        let mails: Vec<_> = mailbox
            .mails()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t == &email) && m.data.contains(&order_name))
            .collect();
        (!mails.is_empty()).then_some(mails)
    });
    tokio::time::sleep(Duration::from_secs(2)).await;
    let again: Vec<_> = mailbox.mails().into_iter().filter(|m| m.to.iter().any(|t| t == &email)).collect();
    assert_eq!(again.len(), confirmations.len(), "no second e-mail");
    println!("{product}: order {order_name} confirmed, transaction {} done, e-mail sent", tx["reference"]);

    // The merchant refunds part of it from Odoo: the edge refunds at the gateway and the signed
    // result comes back as a done refund transaction.
    let tx_id = tx["id"].as_i64().unwrap();
    odoo.call("payment.transaction", "action_refund", json!([[tx_id]]), json!({ "amount_to_refund": 1.0 }));
    let refund: Value = wait_for(60, "the refund to come back done", || {
        let refunds = odoo.search_read(
            "payment.transaction",
            json!([["source_transaction_id", "=", tx_id], ["operation", "=", "refund"]]),
            &["state", "amount"],
        );
        refunds.into_iter().find(|r| r["state"] == "done")
    });
    assert_eq!(refund["amount"], -1.0, "{refund}");

    // Test connection, as the button on the provider form does.
    let check = odoo.call("payment.provider", "action_bawaba_test_connection", json!([[provider]]), json!({}));
    assert_eq!(check["params"]["type"], "success", "{check}");
    assert!(check["params"]["message"].as_str().unwrap().contains("sandbox"), "{check}");
}
