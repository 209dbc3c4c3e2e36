//! A real Odoo 19 shop, end to end: guests buy a product on `/shop`, pay through the Bawaba
//! widget and the sandbox gateway, and Odoo confirms the order and e-mails the shopper; the
//! merchant refunds part of a card payment, and part of a mada payment with Odoo's refund wizard
//! in the back office; a customer pays a payment link the merchant generated in the back office,
//! another pays an invoice from the customer portal, a third chooses Odoo's bank transfer and is
//! given the shop's Saudi IBAN; and when the edge cannot be reached, Odoo's payment form says so
//! and lets the shopper try again. Everything is real: Odoo with `website_sale`, wire transfer
//! and the addon, the edge in workerd, Chromium, SMTP.
//!
//! `cargo xtask odoo-demo` starts Odoo and the edge and runs these tests; they are ignored
//! otherwise. They set the shop up through Odoo's external API, as a Saudi merchant would in the
//! settings: the provider in Test mode with the edge URL, shop id and secret; prices in SAR (so
//! mada is offered); the website in Arabic too; invoices payable online.

use bawaba_tests::browser::{held_redirect, hold_the_widgets_redirect, pay_on_the_sandbox, wait_css, wait_url, Driver};
use bawaba_tests::mailbox::Mailbox;
use bawaba_tests::odoo::Odoo;
use bawaba_tests::{now, wait_for};
use fantoccini::{Client, Locator};
use serde_json::{json, Value};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The shop as the tests set it up, once for all of them.
struct Shop {
    odoo: Odoo,
    mailbox: Mailbox,
    provider: i64,
}

fn shop() -> &'static Shop {
    static SHOP: OnceLock<Shop> = OnceLock::new();
    SHOP.get_or_init(|| {
        let odoo = Odoo::from_env().expect("BAWABA_ODOO_URL and BAWABA_ODOO_DB (set by cargo xtask odoo-demo)");
        let mailbox = Mailbox::start();
        let provider = set_up_shop(&odoo, &mailbox);
        Shop { odoo, mailbox, provider }
    })
}

/// Points the Bawaba provider at the edge, prices the website in SAR, adds Arabic to it, and
/// sends Odoo's outgoing mail to `mailbox`.
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

    // A Saudi shop sells in riyals: the website's first pricelist is in SAR (the demo company
    // keeps its USD books; Odoo converts at its SAR rate).
    let website = odoo.xmlid("website.default_website");
    let sar = odoo.xmlid("base.SAR");
    odoo.call("res.currency", "write", json!([[sar], { "active": true }]), json!({}));
    let pricelists = odoo.search_read("product.pricelist", json!([["name", "=", "Saudi riyal"]]), &["id"]);
    if pricelists.is_empty() {
        odoo.call(
            "product.pricelist",
            "create",
            json!([{ "name": "Saudi riyal", "currency_id": sar, "website_id": website, "selectable": true,
                     "sequence": 1 }]),
            json!({}),
        );
    }

    // Arabic on the website (Odoo's language wizard, as Settings → Languages does).
    let arabic = odoo.call(
        "res.lang",
        "search_read",
        json!([[["code", "=", "ar_001"]]]),
        json!({ "fields": ["active"], "context": { "active_test": false } }),
    );
    let arabic = arabic[0]["id"].as_i64().expect("the ar_001 language record");
    let wizard = odoo.call(
        "base.language.install",
        "create",
        json!([{ "lang_ids": [[6, 0, [arabic]]], "website_ids": [[6, 0, [website]]] }]),
        json!({}),
    );
    odoo.call("base.language.install", "lang_install", json!([[wizard]]), json!({}));

    // Settings → Invoicing → Customer Payments: "Invoice Online Payment".
    odoo.call("ir.config_parameter", "set_param", json!(["account_payment.enable_portal_payment", "True"]), json!({}));

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

    // Test connection, then do what it says, as a merchant would: the sandbox takes neither
    // euros (the demo data has a euro pricelist) nor Apple Pay, STC Pay, Amex or PayPal.
    let test_connection = || {
        odoo.call("payment.provider", "action_bawaba_test_connection", json!([[provider]]), json!({}))["params"].clone()
    };
    let usd = odoo.xmlid("base.USD");
    odoo.call(
        "payment.provider",
        "write",
        json!([[provider], { "available_currency_ids": [[6, 0, [sar, usd]]] }]),
        json!({}),
    );
    let unused = [
        "payment_bawaba.payment_method_applepay",
        "payment.payment_method_stcpay",
        "payment.payment_method_amex",
        "payment.payment_method_paypal",
    ];
    let unused: Vec<i64> = unused.iter().map(|x| odoo.xmlid(x)).collect();
    odoo.call("payment.method", "write", json!([unused.clone(), { "active": true }]), json!({}));
    let before = test_connection();
    let message = before["message"].as_str().unwrap_or_default();
    assert_eq!(before["type"], "warning", "{before}");
    assert!(message.contains("Not offered by the edge: ") && message.contains("Apple Pay"), "{message}");
    odoo.call("payment.method", "write", json!([unused, { "active": false }]), json!({}));
    let after = test_connection();
    assert_eq!(after["type"], "success", "{after}");
    assert!(after["message"].as_str().unwrap_or_default().contains("SAR · sandbox: works"), "{after}");
    provider
}

/// The page of a published product that goes straight into the cart (no variants to pick, no
/// options).
fn a_simple_product_url(odoo: &Odoo) -> String {
    a_simple_product(odoo)["website_url"].as_str().unwrap().to_string()
}

/// A published product without variants or options: its template's `website_url` and
/// `product_variant_id`.
fn a_simple_product(odoo: &Odoo) -> Value {
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
        &["website_url", "product_variant_id"],
    );
    products.first().expect("a published product in the demo data").clone()
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
    std::fs::write(bawaba_tests::screenshot_path(&format!("{name}.png")), png).unwrap();
}

/// From a product page to Odoo's payment page, as a guest from Riyadh. `lang` is the website's
/// language prefix: "" for English, "/ar" for Arabic.
async fn check_out_as_a_guest(c: &Client, odoo: &Odoo, lang: &str, email: &str) {
    let product_url = a_simple_product_url(odoo);
    c.goto(&format!("{}{lang}{product_url}", odoo.base)).await.unwrap();
    click(c, "#product_detail form #add_to_cart").await;
    wait_css(c, "sup.my_cart_quantity:not(.d-none)").await;
    c.goto(&format!("{}{lang}/shop/cart", odoo.base)).await.unwrap();
    click(c, "a[href*='/shop/checkout']").await;

    // A guest: the address form.
    wait_url(c, "/shop/address").await;
    wait_css(c, "#o_country_id").await;
    let saudi_arabia = odoo.xmlid("base.sa");
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
        ("email", email),
        ("phone", "+966500000000"),
        ("street", "King Fahd Road 1"),
        ("city", "Riyadh"),
        ("zip", "12211"),
    ] {
        if c.find(Locator::Css(&format!("form input[name={name}]"))).await.is_ok() {
            fill(c, name, value).await;
        }
    }
    click(c, "a[name=website_sale_main_button]").await;

    // Delivery / review step if the shop has one, then the payment page.
    for _ in 0..100 {
        let url = c.current_url().await.unwrap().to_string();
        if url.contains("/shop/payment") {
            break;
        }
        if let Ok(confirm) = c.find(Locator::Css("a[href*='/shop/payment']")).await {
            let _ = confirm.click().await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    wait_url(c, "/shop/payment").await;
}

/// Chooses a Bawaba method in Odoo's payment form and presses Odoo's Pay button: Odoo creates
/// the transaction and the addon mounts the widget with its intent.
async fn choose_and_pay(c: &Client, odoo_method: &str) {
    choose_and_pay_with(c, "bawaba", odoo_method).await;
}

/// Chooses `odoo_method` of the provider `provider_code` in Odoo's payment form and presses
/// Odoo's Pay button.
async fn choose_and_pay_with(c: &Client, provider_code: &str, odoo_method: &str) {
    let radio = format!(
        "input[name=o_payment_radio][data-provider-code={provider_code}][data-payment-method-code={odoo_method}]"
    );
    click(c, &radio).await;
    if c.find(Locator::Css("#website_sale_tc_checkbox")).await.is_ok() {
        click(c, "#website_sale_tc_checkbox").await;
    }
    tokio::time::sleep(Duration::from_millis(800)).await; // the inline form unfolds
    click(c, "button[name=o_payment_submit_button]:not([disabled])").await;
}

/// The widget's direction and the text of its button. It asks no second question: the method
/// list is hidden while it takes the shopper to the gateway.
async fn widget_direction_and_button(c: &Client) -> (String, String) {
    let widget = wait_css(c, "bawaba-checkout").await;
    let shadow = widget.shadow_root().await.unwrap();
    assert!(shadow.find(Locator::Css("fieldset[hidden]")).await.is_ok(), "the method list is hidden");
    let direction = shadow.find(Locator::Css(".bw")).await.unwrap().attr("dir").await.unwrap().unwrap_or_default();
    let button = shadow.find(Locator::Css("button.pay")).await.unwrap().text().await.unwrap();
    (direction, button)
}

/// The shopper's order, checked in Odoo: confirmed, and paid by one done Bawaba transaction
/// that carries the gateway's reference. Returns the order and the transaction.
fn confirmed_order(shop: &Shop, email: &str) -> (Value, Value) {
    let orders = shop.odoo.search_read(
        "sale.order",
        json!([["partner_id.email", "=", email]]),
        &["name", "state", "amount_total", "currency_id"],
    );
    assert_eq!(orders.len(), 1, "one order for the shopper: {orders:?}");
    let order = orders[0].clone();
    assert_eq!(order["state"], "sale", "the order is confirmed: {order}");
    let txs = shop.odoo.search_read(
        "payment.transaction",
        json!([["sale_order_ids", "in", [order["id"].clone()]]]),
        &["reference", "state", "provider_id", "provider_reference", "amount", "currency_id", "payment_method_code"],
    );
    assert_eq!(txs.len(), 1, "{txs:?}");
    let tx = txs[0].clone();
    assert_eq!(tx["state"], "done", "{tx}");
    assert_eq!(tx["provider_id"][0], shop.provider, "{tx}");
    assert!(tx["provider_reference"].as_str().is_some_and(|r| !r.is_empty()), "the gateway's reference: {tx}");
    assert_eq!(tx["amount"], order["amount_total"], "{tx} {order}");
    assert_eq!(tx["currency_id"][1], "SAR", "{tx}");
    (order, tx)
}

/// Waits for the order confirmation e-mail to the shopper, and checks it comes once.
async fn the_confirmation_email_arrives_once(shop: &Shop, email: &str, order_name: &str) {
    let to_shopper = |mails: Vec<bawaba_tests::mailbox::Mail>| -> Vec<_> {
        mails.into_iter().filter(|m| m.to.iter().any(|t| t == email)).collect()
    };
    let confirmations = wait_for(60, "the order confirmation e-mail", || {
        let mails: Vec<_> =
            to_shopper(shop.mailbox.mails()).into_iter().filter(|m| m.data.contains(order_name)).collect();
        (!mails.is_empty()).then_some(mails)
    });
    assert_eq!(confirmations.len(), 1, "one confirmation e-mail");
    // Odoo's template says "Pending Order" while the transaction is still pending.
    let subject = confirmations[0].data.lines().find(|l| l.starts_with("Subject:")).unwrap_or_default().to_string();
    assert!(
        subject.contains(&format!("Order (Ref {order_name})")) && !subject.contains("Pending"),
        "the confirmation of a paid order: {subject}"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(to_shopper(shop.mailbox.mails()).len(), 1, "no second e-mail");
}

/// One guest's purchase on the shop.
struct Purchase {
    /// The website's language prefix: "" for English, "/ar" for Arabic.
    lang: &'static str,
    /// The payment method the shopper picks in Odoo's form.
    odoo_method: &'static str,
    /// The sandbox test card.
    card: &'static str,
    /// What the widget looks like: its direction and its button.
    widget: (&'static str, &'static str),
    /// The provider's "done" message as Odoo shows it after paying, in the page's language.
    done_message: &'static str,
    /// The method Odoo records: what the gateway reported.
    recorded_method: &'static str,
    /// Screenshots of the widget in Odoo's form and of the confirmation page.
    screenshots: (&'static str, &'static str),
}

/// A guest buys a product: checkout, the widget (held a moment to look at it: it goes straight
/// to the gateway, the shopper having chosen already), the sandbox's page, back to Odoo's
/// confirmation. Then checks Odoo's order, transaction and e-mail; returns the order and the
/// transaction.
async fn purchase(p: Purchase) -> (Value, Value) {
    let shop = shop();
    let email = format!("shopper.{}.{}@example.com", p.odoo_method, now());
    let driver = Driver::start();
    let c = driver.browser().await;
    check_out_as_a_guest(&c, &shop.odoo, p.lang, &email).await;
    hold_the_widgets_redirect(&c).await;
    choose_and_pay(&c, p.odoo_method).await;
    let redirect = held_redirect(&c).await;
    let (direction, button) = widget_direction_and_button(&c).await;
    assert_eq!((direction.as_str(), button.as_str()), p.widget);
    shoot(&c, p.screenshots.0).await;
    c.goto(&redirect).await.unwrap();
    pay_on_the_sandbox(&c, p.card).await;

    // Back on Odoo: /payment/status polls until the signed result has arrived, then the shop's
    // confirmation page.
    wait_url(&c, "/shop/confirmation").await;
    let text = wait_css(&c, "[name=order_confirmation]").await.text().await.unwrap();
    assert!(text.contains(p.done_message), "{text}");
    shoot(&c, p.screenshots.1).await;

    let (order, tx) = confirmed_order(shop, &email);
    assert_eq!(tx["payment_method_code"], p.recorded_method, "{tx}");
    the_confirmation_email_arrives_once(shop, &email, order["name"].as_str().unwrap()).await;
    println!("{}: order {} confirmed, transaction {} done, e-mail sent", p.odoo_method, order["name"], tx["reference"]);
    (order, tx)
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a running Odoo 19 shop and edge: run `cargo xtask odoo-demo`"]
async fn a_guest_pays_by_card_then_the_merchant_refunds_part() {
    // "Card" goes to the gateway's page, which takes any brand: Odoo records the one paid with.
    let (_, tx) = purchase(Purchase {
        lang: "",
        odoo_method: "card",
        card: "5555555555554444",
        widget: ("ltr", "Pay now"),
        done_message: "Your payment has been processed",
        recorded_method: "mastercard",
        screenshots: ("odoo-shop-payment", "odoo-shop-confirmation"),
    })
    .await;

    // The merchant refunds part of it from Odoo: the edge refunds at the gateway and the signed
    // result comes back as a done refund transaction.
    let shop = shop();
    let tx_id = tx["id"].as_i64().unwrap();
    shop.odoo.call("payment.transaction", "action_refund", json!([[tx_id]]), json!({ "amount_to_refund": 1.0 }));
    let refund: Value = wait_for(60, "the refund to come back done", || {
        let refunds = shop.odoo.search_read(
            "payment.transaction",
            json!([["source_transaction_id", "=", tx_id], ["operation", "=", "refund"]]),
            &["state", "amount"],
        );
        refunds.into_iter().find(|r| r["state"] == "done")
    });
    assert_eq!(refund["amount"], -1.0, "{refund}");

    // Test connection, as the button on the provider form does.
    let check =
        shop.odoo.call("payment.provider", "action_bawaba_test_connection", json!([[shop.provider]]), json!({}));
    assert_eq!(check["params"]["type"], "success", "{check}");
    assert!(check["params"]["message"].as_str().unwrap().contains("sandbox"), "{check}");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a running Odoo 19 shop and edge: run `cargo xtask odoo-demo`"]
async fn an_arabic_speaking_guest_pays_with_mada_then_the_merchant_refunds_part_with_the_wizard() {
    // The website in Arabic: the widget right to left in Arabic, the addon's messages in Arabic.
    let (_, tx) = purchase(Purchase {
        lang: "/ar",
        odoo_method: "mada",
        card: "4464040000000007",
        widget: ("rtl", "ادفع الآن"),
        done_message: "تمت معالجة دفعتك",
        recorded_method: "mada",
        screenshots: ("odoo-shop-payment-ar", "odoo-shop-confirmation-ar"),
    })
    .await;

    // The merchant, in the back office: the payment Odoo recorded for this mada transaction,
    // Refund, a partial amount in the wizard, Refund. The edge refunds at the gateway.
    let shop = shop();
    let odoo = &shop.odoo;
    let tx_id = tx["id"].as_i64().unwrap();
    let payment = wait_for(60, "the payment Odoo records for the mada transaction", || {
        odoo.read("payment.transaction", tx_id, &["payment_id"])["payment_id"][0].as_i64()
    });
    let total = odoo.read("account.payment", payment, &["amount"])["amount"].as_f64().unwrap();
    let driver = Driver::start();
    let c = driver.browser().await;
    odoo.sign_in(&c).await;
    c.goto(&format!("{}/odoo/account.payment/{payment}", odoo.base)).await.unwrap();
    wait_css(&c, ".o_form_view .o_form_statusbar").await;
    let refund_button = c
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(".o_form_statusbar button[name=action_refund_wizard]"))
        .await
        .unwrap_or_else(|_| {
            let mada = odoo.xmlid("payment.payment_method_mada");
            let mada = odoo.read("payment.method", mada, &["support_refund"]);
            let provider = odoo.read("payment.provider", shop.provider, &["support_refund"]);
            panic!(
                "no Refund button on the mada payment {payment}: Odoo shows it only when the provider and the \
                 payment method both support refunds (Bawaba: {}, mada: {})",
                provider["support_refund"], mada["support_refund"]
            )
        });
    refund_button.click().await.unwrap();
    let amount = wait_css(&c, ".modal div[name=amount_to_refund] input").await;
    let shown: f64 = amount.prop("value").await.unwrap().unwrap_or_default().replace(',', "").parse().unwrap();
    assert!((shown - total).abs() < 0.005, "the wizard offers the whole payment ({total}), shows {shown}");
    let partial = 5.0;
    assert!(partial < total, "a partial refund of {total}");
    amount.clear().await.unwrap();
    amount.send_keys("5.00").await.unwrap();
    shoot(&c, "odoo-refund-wizard").await;
    wait_css(&c, ".modal footer button[name=action_refund]").await.click().await.unwrap();

    let refund: Value = wait_for(60, "the mada refund to come back done", || {
        let refunds = odoo.search_read(
            "payment.transaction",
            json!([["source_transaction_id", "=", tx_id], ["operation", "=", "refund"]]),
            &["state", "amount", "currency_id", "provider_reference", "payment_method_code"],
        );
        refunds.into_iter().find(|r| r["state"] == "done")
    });
    assert_eq!(refund["amount"], -partial, "{refund}");
    assert_eq!(refund["currency_id"][1], "SAR", "{refund}");
    assert_eq!(refund["payment_method_code"], "mada", "{refund}");
    assert!(refund["provider_reference"].as_str().is_some_and(|r| !r.is_empty()), "the edge's refund id: {refund}");
    println!("mada: {} SAR of {total} refunded through the wizard ({})", partial, refund["provider_reference"]);
}

/// Clicks the first `css` element whose text contains `text` (waits up to 20 s for it).
async fn click_text(c: &Client, css: &str, text: &str) {
    for _ in 0..200 {
        let clicked = c
            .execute(
                "const el = [...document.querySelectorAll(arguments[0])]
                     .find((e) => e.textContent.includes(arguments[1]));
                 if (el) { el.click(); }
                 return Boolean(el);",
                vec![json!(css), json!(text)],
            )
            .await
            .unwrap();
        if clicked == json!(true) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no {css} saying {text:?}");
}

/// A customer of the shop in Jeddah, with an e-mail address: what the merchant types in the
/// customer form.
fn a_saudi_customer(odoo: &Odoo, name: &str, email: &str, lang: &str) -> i64 {
    odoo.create(
        "res.partner",
        json!({ "name": name, "email": email, "lang": lang, "country_id": odoo.xmlid("base.sa"),
                "street": "Tahlia Street 7", "city": "Jeddah", "zip": "23433", "phone": "+966550000000" }),
    )
}

/// A quotation in riyals for `customer`: two of a product.
fn a_quotation_in_riyals(odoo: &Odoo, customer: i64) -> i64 {
    let pricelist = odoo.search_read("product.pricelist", json!([["name", "=", "Saudi riyal"]]), &["id"]);
    let product = a_simple_product(odoo)["product_variant_id"][0].as_i64().unwrap();
    odoo.create(
        "sale.order",
        json!({ "partner_id": customer, "pricelist_id": pricelist[0]["id"],
                "order_line": [[0, 0, { "product_id": product, "product_uom_qty": 2 }]] }),
    )
}

/// In the back office, on the quotation's form: Actions → Generate a Payment Link → Generate and
/// Copy Payment Link. Returns what Odoo copied for the merchant to send.
async fn generate_a_payment_link(c: &Client, odoo: &Odoo, order: i64) -> String {
    c.goto(&format!("{}/odoo/sale.order/{order}", odoo.base)).await.unwrap();
    wait_css(c, ".o_form_view .o_cp_action_menus button").await;
    click(c, ".o_cp_action_menus button").await;
    click_text(c, ".o_menu_item", "Generate a Payment Link").await;
    wait_css(c, ".modal .o_btn_char_copy").await;
    // What the copy button puts on the clipboard, for the test to read.
    c.execute(
        "window.bawabaCopied = null;
         navigator.clipboard.writeText = async (text) => { window.bawabaCopied = text; };",
        vec![],
    )
    .await
    .unwrap();
    shoot(c, "odoo-payment-link-wizard").await;
    click(c, ".modal .o_btn_char_copy").await;
    for _ in 0..100 {
        if let Some(link) = c.execute("return window.bawabaCopied", vec![]).await.unwrap().as_str() {
            return link.to_string();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the wizard copied no payment link");
}

/// The sales order, checked in Odoo: confirmed, and paid in riyals by one done Bawaba
/// transaction with `method`, for its whole amount.
fn paid_order(shop: &Shop, order: i64, method: &str) -> (Value, Value) {
    let order = wait_for(60, "the sales order to be confirmed", || {
        let order = shop.odoo.read("sale.order", order, &["name", "state", "amount_total"]);
        (order["state"] == "sale").then_some(order)
    });
    let txs = shop.odoo.search_read(
        "payment.transaction",
        json!([["sale_order_ids", "in", [order["id"].clone()]], ["state", "=", "done"]]),
        &["reference", "provider_id", "provider_reference", "amount", "currency_id", "payment_method_code"],
    );
    assert_eq!(txs.len(), 1, "one done transaction: {txs:?}");
    let tx = txs[0].clone();
    assert_eq!(tx["provider_id"][0], shop.provider, "{tx}");
    assert!(tx["provider_reference"].as_str().is_some_and(|r| !r.is_empty()), "the gateway's reference: {tx}");
    assert_eq!(tx["amount"], order["amount_total"], "{tx} {order}");
    assert_eq!(tx["currency_id"][1], "SAR", "{tx}");
    assert_eq!(tx["payment_method_code"], method, "{tx}");
    (order, tx)
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a running Odoo 19 shop and edge: run `cargo xtask odoo-demo`"]
async fn the_merchant_sends_a_payment_link_and_the_customer_pays_it_by_card() {
    let shop = shop();
    let odoo = &shop.odoo;
    let email = format!("customer.link.{}@example.com", now());
    let customer = a_saudi_customer(odoo, "Faisal Al-Qahtani", &email, "en_US");
    let order = a_quotation_in_riyals(odoo, customer);

    // The merchant generates the link on the quotation, in the back office. Odoo 19 links an
    // order's payment to its page on the customer portal (a `/payment/pay` link is what it makes
    // for documents that have no portal page).
    let driver = Driver::start();
    let merchant = driver.browser().await;
    odoo.sign_in(&merchant).await;
    let link = generate_a_payment_link(&merchant, odoo, order).await;
    assert!(link.starts_with(&format!("{}/my/orders/{order}?", odoo.base)), "{link}");
    assert!(link.contains("access_token=") && link.contains("payment_amount="), "{link}");

    // The customer opens it (no account, not signed in), pays by card on the sandbox, and comes
    // back to the order.
    let c = driver.browser().await;
    c.goto(&link).await.unwrap();
    click(&c, "#o_sale_portal_paynow").await;
    choose_and_pay(&c, "card").await;
    pay_on_the_sandbox(&c, "4111111111111111").await;
    wait_url(&c, &format!("/my/orders/{order}")).await;
    let (order, tx) = paid_order(shop, order, "visa");
    shoot(&c, "odoo-payment-link-paid").await;
    println!("payment link: order {} confirmed, transaction {} done", order["name"], tx["reference"]);
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a running Odoo 19 shop and edge: run `cargo xtask odoo-demo`"]
async fn a_customer_pays_an_invoice_from_the_portal_with_mada() {
    let shop = shop();
    let odoo = &shop.odoo;
    let email = format!("customer.invoice.{}@example.com", now());
    let customer = a_saudi_customer(odoo, "Reem Al-Otaibi", &email, "en_US");
    let product = a_simple_product(odoo)["product_variant_id"][0].as_i64().unwrap();
    let invoice = odoo.create(
        "account.move",
        json!({ "move_type": "out_invoice", "partner_id": customer, "currency_id": odoo.xmlid("base.SAR"),
                "invoice_line_ids": [[0, 0, { "product_id": product, "quantity": 3, "price_unit": 115.0 }]] }),
    );
    odoo.call("account.move", "action_post", json!([[invoice]]), json!({}));

    // The customer follows the invoice's link (the one Odoo's invoice e-mail carries): Pay Now,
    // Bawaba's mada, the sandbox.
    let url = odoo.call("account.move", "get_portal_url", json!([[invoice]]), json!({}));
    let url = format!("{}{}", odoo.base, url.as_str().expect("the invoice's portal URL"));
    let driver = Driver::start();
    let c = driver.browser().await;
    c.goto(&url).await.unwrap();
    click(&c, "a[data-bs-target='#pay_with']").await;
    choose_and_pay(&c, "mada").await;
    pay_on_the_sandbox(&c, "4464040000000007").await;
    wait_url(&c, &format!("/my/invoices/{invoice}")).await;

    let paid = wait_for(60, "the invoice to be paid", || {
        let invoice = odoo.read("account.move", invoice, &["name", "payment_state", "amount_total", "amount_residual"]);
        ["paid", "in_payment"].contains(&invoice["payment_state"].as_str().unwrap_or_default()).then_some(invoice)
    });
    assert_eq!(paid["amount_residual"], 0.0, "{paid}");
    let txs = odoo.search_read(
        "payment.transaction",
        json!([["invoice_ids", "in", [invoice]], ["state", "=", "done"]]),
        &["reference", "provider_id", "amount", "currency_id", "payment_method_code"],
    );
    assert_eq!(txs.len(), 1, "{txs:?}");
    assert_eq!(txs[0]["provider_id"][0], shop.provider, "{txs:?}");
    assert_eq!(txs[0]["amount"], paid["amount_total"], "{txs:?} {paid}");
    assert_eq!(txs[0]["currency_id"][1], "SAR", "{txs:?}");
    assert_eq!(txs[0]["payment_method_code"], "mada", "{txs:?}");
    wait_css(&c, "[name=invoice_paid_badge]").await;
    shoot(&c, "odoo-portal-invoice-paid").await;
    println!("portal: invoice {} {}, transaction {} done", paid["name"], paid["payment_state"], txs[0]["reference"]);
}

/// Points the provider at another edge URL for a moment; the real one is written back when this
/// is dropped, also when the test fails half-way.
struct EdgeUrlSwitched<'a> {
    odoo: &'a Odoo,
    provider: i64,
    real: String,
}

impl<'a> EdgeUrlSwitched<'a> {
    fn to(shop: &'a Shop, url: &str) -> EdgeUrlSwitched<'a> {
        let real = shop.odoo.read("payment.provider", shop.provider, &["bawaba_edge_url"])["bawaba_edge_url"]
            .as_str()
            .expect("the provider's edge URL")
            .to_string();
        shop.odoo.write("payment.provider", &[shop.provider], json!({ "bawaba_edge_url": url }));
        EdgeUrlSwitched { odoo: &shop.odoo, provider: shop.provider, real }
    }
}

impl Drop for EdgeUrlSwitched<'_> {
    fn drop(&mut self) {
        self.odoo.write("payment.provider", &[self.provider], json!({ "bawaba_edge_url": self.real }));
    }
}

/// An address where nothing answers: a server that takes connections and never replies (an
/// edge that hangs). It lives as long as the test process.
fn a_silent_server() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    url
}

/// Waits for Odoo's error dialog, closes it with its button, and returns its title and text.
async fn odoos_error_dialog(c: &Client) -> (String, String) {
    let title = wait_css(c, ".o_dialog .modal-title").await.text().await.unwrap();
    let body = c.find(Locator::Css(".o_dialog .modal-body")).await.unwrap().text().await.unwrap();
    click(c, ".o_dialog .modal-footer button").await;
    for _ in 0..100 {
        if c.find(Locator::Css(".o_dialog")).await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (title, body)
}

/// The page is usable again: not blocked, and Odoo's Pay button enabled.
async fn the_pay_button_works_again(c: &Client) {
    assert!(c.find(Locator::Css(".o_blockUI")).await.is_err(), "the page is still blocked");
    let button = wait_css(c, "button[name=o_payment_submit_button]").await;
    for _ in 0..50 {
        if button.attr("disabled").await.unwrap().is_none() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the Pay button stays disabled");
}

/// The customer's payment page for a new quotation: the link the merchant would send.
fn a_payment_link(shop: &Shop, customer: i64) -> (i64, String) {
    let order = a_quotation_in_riyals(&shop.odoo, customer);
    let context = json!({ "active_model": "sale.order", "active_id": order });
    let wizard = shop.odoo.call("payment.link.wizard", "create", json!([{}]), json!({ "context": context }));
    let wizard = wizard.as_i64().or_else(|| wizard[0].as_i64()).expect("a payment link wizard");
    let link = shop.odoo.read("payment.link.wizard", wizard, &["link"])["link"].as_str().unwrap().to_string();
    (order, link)
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a running Odoo 19 shop and edge: run `cargo xtask odoo-demo`"]
async fn the_payment_form_never_locks_up_when_the_edge_is_out_of_reach() {
    let shop = shop();
    let email = format!("customer.offline.{}@example.com", now());
    let customer = a_saudi_customer(&shop.odoo, "Omar Al-Shehri", &email, "en_US");
    let (order, link) = a_payment_link(shop, customer);
    let driver = Driver::start();
    let c = driver.browser().await;

    // The edge's script cannot be fetched (nothing listens where the edge should be): Odoo's
    // dialog says so at once, and Pay works again.
    let unreachable = EdgeUrlSwitched::to(shop, &format!("http://127.0.0.1:{}", bawaba_tests::free_port()));
    c.goto(&link).await.unwrap();
    click(&c, "#o_sale_portal_paynow").await;
    choose_and_pay(&c, "mada").await;
    let (title, body) = odoos_error_dialog(&c).await;
    assert_eq!(title, "Payment processing failed");
    assert!(body.contains("The secure payment form could not be loaded."), "{body}");
    the_pay_button_works_again(&c).await;
    drop(unreachable);

    // The edge takes the connection and never answers: after 10 s, the same.
    let silent = EdgeUrlSwitched::to(shop, &a_silent_server());
    let pressed = Instant::now();
    click(&c, "button[name=o_payment_submit_button]:not([disabled])").await;
    let (title, body) = odoos_error_dialog(&c).await;
    let waited = pressed.elapsed();
    assert!(waited >= Duration::from_secs(9) && waited < Duration::from_secs(20), "told after {waited:?}");
    assert_eq!(title, "Payment processing failed");
    assert!(body.contains("The secure payment form is taking too long to load."), "{body}");
    the_pay_button_works_again(&c).await;
    shoot(&c, "odoo-edge-unreachable").await;
    drop(silent);

    // The edge is back: the same page, Pay, and the payment goes through.
    click(&c, "button[name=o_payment_submit_button]:not([disabled])").await;
    pay_on_the_sandbox(&c, "4464040000000007").await;
    wait_url(&c, &format!("/my/orders/{order}")).await;
    let (order, tx) = paid_order(shop, order, "mada");
    println!("edge out of reach, then back: order {} confirmed, transaction {} done", order["name"], tx["reference"]);
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a running Odoo 19 shop and edge: run `cargo xtask odoo-demo`"]
async fn the_payment_form_says_the_edge_is_out_of_reach_in_arabic_too() {
    let shop = shop();
    let email = format!("customer.offline.ar.{}@example.com", now());
    let customer = a_saudi_customer(&shop.odoo, "سارة العتيبي", &email, "ar_001");
    let (_, link) = a_payment_link(shop, customer);
    let link = link.replacen(&shop.odoo.base, &format!("{}/ar", shop.odoo.base), 1);
    let driver = Driver::start();
    let c = driver.browser().await;
    let _unreachable = EdgeUrlSwitched::to(shop, &format!("http://127.0.0.1:{}", bawaba_tests::free_port()));
    c.goto(&link).await.unwrap();
    click(&c, "#o_sale_portal_paynow").await;
    choose_and_pay(&c, "mada").await;
    let (title, body) = odoos_error_dialog(&c).await;
    let arabic = |text: &str| text.chars().any(|ch| ('\u{0600}'..='\u{06FF}').contains(&ch));
    assert_eq!(
        title, "تعذّرت معالجة الدفع",
        "the dialog in Arabic: Odoo loads the website's JavaScript translations only for the modules that \
         ir.http._get_translation_frontend_modules_name() lists, which must include payment_bawaba"
    );
    assert!(
        arabic(&body) && !body.contains("could not be loaded"),
        "the dialog in Arabic (payment_bawaba/i18n/ar.po has the addon's JavaScript strings): {body}"
    );
    the_pay_button_works_again(&c).await;
    shoot(&c, "odoo-edge-unreachable-ar").await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a running Odoo 19 shop and edge: run `cargo xtask odoo-demo`"]
async fn a_customer_chooses_a_bank_transfer_and_is_given_the_saudi_iban_in_arabic() {
    // Odoo's own wire transfer, which `cargo xtask odoo-demo` enables next to Bawaba: the shop
    // explains it under the option, and after ordering shows its bank details in the page's
    // language; the order waits for the money.
    let shop = shop();
    let email = format!("customer.transfer.{}@example.com", now());
    let customer = a_saudi_customer(&shop.odoo, "خالد الدوسري", &email, "ar_001");
    let (order, link) = a_payment_link(shop, customer);
    let link = link.replacen(&shop.odoo.base, &format!("{}/ar", shop.odoo.base), 1);
    let driver = Driver::start();
    let c = driver.browser().await;
    c.goto(&link).await.unwrap();
    click(&c, "#o_sale_portal_paynow").await;
    let option = "li[name=o_payment_option]:has(input[data-provider-code=custom])";
    wait_css(&c, option).await;
    let explained = c.execute("return document.querySelector(arguments[0]).textContent", vec![json!(option)]).await;
    let explained = explained.unwrap().as_str().unwrap_or_default().to_string();
    assert!(explained.contains("ادفع بتحويل بنكي من حسابك في بنك سعودي"), "{explained}");
    choose_and_pay_with(&c, "custom", "wire_transfer").await;
    let iban = "SA03 8000 0000 6080 1016 7519";
    let page = wait_for_text(&c, iban).await;
    assert!(page.contains("يُرجى تحويل المبلغ إلى هذا الحساب") && page.contains("مصرف الراجحي"), "{page}");
    shoot(&c, "odoo-bank-transfer-ar").await;
    let txs = shop.odoo.search_read(
        "payment.transaction",
        json!([["sale_order_ids", "in", [order]]]),
        &["state", "provider_code"],
    );
    assert_eq!(txs.len(), 1, "{txs:?}");
    assert_eq!((txs[0]["provider_code"].as_str(), txs[0]["state"].as_str()), (Some("custom"), Some("pending")));
}

/// Waits up to 30 s for the page's text to contain `text`; returns the text.
async fn wait_for_text(c: &Client, text: &str) -> String {
    let mut page = String::new();
    for _ in 0..300 {
        page = c.execute("return document.body.innerText", vec![]).await.unwrap().as_str().unwrap_or("").to_string();
        if page.contains(text) {
            return page;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the page never said {text:?}: {page}");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a running Odoo 19 shop and edge: run `cargo xtask odoo-demo`"]
async fn the_merchant_opens_the_dashboard_from_the_provider_form() {
    // A payment first, so that the dashboard has one to show whatever ran before.
    let (_, tx) = purchase(Purchase {
        lang: "",
        odoo_method: "card",
        card: "4111111111111111",
        widget: ("ltr", "Pay now"),
        done_message: "Your payment has been processed",
        recorded_method: "visa",
        screenshots: ("odoo-shop-payment-dashboard", "odoo-shop-confirmation-dashboard"),
    })
    .await;
    let shop = shop();
    let odoo = &shop.odoo;
    let driver = Driver::start();
    let c = driver.browser().await;
    odoo.sign_in(&c).await;
    c.goto(&format!("{}/odoo/action-payment.action_payment_provider/{}", odoo.base, shop.provider)).await.unwrap();
    let before = c.windows().await.unwrap();
    click(&c, "button[name=action_bawaba_open_dashboard]").await;
    // Odoo opens the link in a new tab (act_url, target new).
    let mut tab = None;
    for _ in 0..200 {
        let now = c.windows().await.unwrap();
        if let Some(new) = now.into_iter().find(|w| !before.contains(w)) {
            tab = Some(new);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    c.switch_to_window(tab.expect("a new tab with the dashboard")).await.unwrap();
    let attempts = wait_css(&c, "[data-metric=attempts]").await;
    let url = c.current_url().await.unwrap().to_string();
    assert!(url.contains("/dashboard?token=") && url.contains("lang=en"), "{url}");
    let attempts: i64 = attempts.attr("data-value").await.unwrap().unwrap_or_default().parse().unwrap();
    let paid: i64 = c
        .find(Locator::Css("[data-metric=paid]"))
        .await
        .unwrap()
        .attr("data-value")
        .await
        .unwrap()
        .unwrap_or_default()
        .parse()
        .unwrap();
    // The edge records attempts a moment after each answer: the one just paid is among them.
    assert!(attempts >= 1 && paid >= 1, "attempts {attempts}, paid {paid} after {}", tx["reference"]);
    shoot(&c, "odoo-dashboard").await;
    println!("dashboard opened from Odoo: {attempts} attempts, {paid} paid");
}
