//! A brief load run against the real edge in workerd (4 shoppers for about 8 s, each paying in
//! a loop: session, sandbox page, return), with the same checks as `cargo xtask load`: no 5xx,
//! no failed request, and every paid reference notified exactly once as `payment.succeeded`,
//! verified with the shop's secret; none lost, none duplicated. And the checker itself, on
//! made-up deliveries: it must see a lost, a duplicated and a forged notification.

use bawaba_core::notification::{EventType, Notification};
use bawaba_core::signature;
use bawaba_tests::edge::ShopConfig;
use bawaba_tests::fake_shop::Received;
use bawaba_tests::load::{self, check_deliveries, Options, Paid};
use std::time::Duration;

#[test]
fn a_brief_load_answers_no_5xx_and_notifies_each_payment_exactly_once() {
    let outcome = load::run(&Options {
        shoppers: 4,
        duration: Duration::from_secs(8),
        settle: Duration::from_secs(60),
        trivial: false,
    });
    println!("{}", outcome.table());
    println!("{}", outcome.summary());
    let failures = outcome.failures();
    assert!(
        failures.is_empty(),
        "the load run failed its checks:\n- {}\n\n{}\n{}",
        failures.join("\n- "),
        outcome.table(),
        outcome.summary()
    );
    assert!(outcome.payments.ok >= 4, "each shopper paid at least once: {}", outcome.summary());
    assert_eq!(outcome.deliveries.notified, outcome.paid.len());
}

fn shop() -> ShopConfig {
    ShopConfig { id: "load".into(), origin: "http://127.0.0.1:9".into(), secret: "load-secret-0123456789abcdef".into() }
}

fn notification(event_id: &str, kind: EventType, reference: &str, amount: i64) -> Notification {
    Notification {
        event_id: event_id.into(),
        event_type: kind,
        shop_id: "load".into(),
        reference: reference.into(),
        amount,
        currency: "SAR".into(),
        gateway: "sandbox".into(),
        gateway_payment_id: format!("sbx_{event_id}"),
        method: "mada".into(),
        card_brand: None,
        card_last4: None,
        error: None,
        created_at: bawaba_tests::now(),
        refund_id: None,
        idempotency_key: None,
    }
}

/// What the fake shop records for a delivery of `n` signed with `secret`, answered `answered`.
fn delivery(n: &Notification, secret: &str, answered: u16) -> Received {
    let body = serde_json::to_vec(n).unwrap();
    let header = signature::sign(secret.as_bytes(), bawaba_tests::now(), &body);
    Received { path: "/notify".into(), headers: vec![(signature::HEADER.to_ascii_lowercase(), header)], body, answered }
}

#[test]
fn the_checker_sees_lost_duplicated_and_forged_notifications() {
    let shop = shop();
    let paid: Vec<Paid> = (1..=4).map(|i| Paid { reference: format!("R{i}"), amount: 1000 * i }).collect();
    let ok = |i: i64| notification(&format!("evt_{i}"), EventType::PaymentSucceeded, &format!("R{i}"), 1000 * i);

    // All four delivered, one of them twice (a retry of the same event) and one refused first.
    let mut received: Vec<Received> = (1..=4).map(|i| delivery(&ok(i), &shop.secret, 200)).collect();
    received.push(delivery(&ok(2), &shop.secret, 200));
    received.insert(0, delivery(&ok(3), &shop.secret, 500));
    let d = check_deliveries(&shop, &paid, &received, 300);
    assert!(d.clean(), "{d:?}");
    assert_eq!((d.notified, d.acknowledged, d.redelivered, d.refused), (4, 5, 1, 1));

    // R4 only ever refused by the shop: lost.
    let mut lossy = received.clone();
    lossy.retain(|r| serde_json::from_slice::<Notification>(&r.body).unwrap().reference != "R4");
    lossy.push(delivery(&ok(4), &shop.secret, 503));
    let d = check_deliveries(&shop, &paid, &lossy, 300);
    assert_eq!(d.lost, ["R4"], "{d:?}");
    assert!(d.duplicated.is_empty() && d.wrong.is_empty(), "{d:?}");

    // A second, distinct event for R1: duplicated, whatever its type.
    let mut twice = received.clone();
    twice.push(delivery(&notification("evt_1b", EventType::PaymentSucceeded, "R1", 1000), &shop.secret, 200));
    let d = check_deliveries(&shop, &paid, &twice, 300);
    assert_eq!(d.duplicated.len(), 1, "{d:?}");
    assert!(d.duplicated[0].starts_with("R1:"), "{d:?}");

    // Signed with another key, for a reference never paid, of the wrong type or amount.
    let mut bad = received.clone();
    bad.push(delivery(&notification("evt_x", EventType::PaymentSucceeded, "R9", 1), "not-the-secret", 200));
    bad.push(delivery(&notification("evt_y", EventType::PaymentSucceeded, "R9", 1), &shop.secret, 200));
    let d = check_deliveries(&shop, &paid, &bad, 300);
    assert_eq!(d.wrong.len(), 2, "{d:?}");
    assert!(d.wrong[0].contains("signature"), "{d:?}");
    assert!(d.wrong[1].contains("never paid"), "{d:?}");
    let mut mixed: Vec<Received> = received.iter().skip(1).take(3).cloned().collect(); // R1..R3
    mixed.push(delivery(&notification("evt_4", EventType::PaymentFailed, "R4", 4000), &shop.secret, 200));
    let d = check_deliveries(&shop, &paid, &mixed, 300);
    assert_eq!(d.wrong.len(), 1, "{d:?}");
    assert!(d.wrong[0].starts_with("R4: payment.failed"), "{d:?}");
    let mut cheap = received.iter().skip(1).take(3).cloned().collect::<Vec<_>>();
    cheap.push(delivery(&notification("evt_4", EventType::PaymentSucceeded, "R4", 1), &shop.secret, 200));
    assert_eq!(check_deliveries(&shop, &paid, &cheap, 300).wrong.len(), 1);
}
