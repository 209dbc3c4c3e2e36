//! Exactly-once results that are never lost, against the real edge in workerd: the shop down
//! (refused, then 500s, then timeouts), the same webhook ten times racing the return, a webhook
//! that never comes, a workerd restart in the middle of retries, and a payment nobody finishes.
//! Retry and reconciliation delays are shortened through settings so this runs in seconds; the
//! defaults stay production-grade (30 s first retry, 1 h cap, 72 h window, 5 min reconciliation).

use bawaba_core::gateway::sandbox;
use bawaba_core::notification::Notification;
use bawaba_core::signature;
use bawaba_tests::edge::{eventually, Edge, EdgeOptions, ShopConfig};
use bawaba_tests::fake_shop::{FakeShop, Mode};
use bawaba_tests::flows::{self, claims, reference, sign, signed_get};
use bawaba_tests::http;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;
use std::time::Duration;

fn fast_retries() -> Vec<(String, String)> {
    [
        ("NOTIFY_RETRY_BASE_MS", "300"),
        ("NOTIFY_RETRY_MAX_MS", "1500"),
        ("NOTIFY_TIMEOUT_MS", "1000"),
        ("RECONCILE_AFTER_SECS", "1"),
        ("SANDBOX_WEBHOOKS", "off"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

struct Shop {
    fake: FakeShop,
    config: ShopConfig,
}

fn shop(id: &str) -> Shop {
    let fake = FakeShop::start();
    let config = ShopConfig { id: id.into(), origin: fake.origin.clone(), secret: format!("{id}-secret-0123456789") };
    Shop { fake, config }
}

struct World {
    edge: Edge,
    down: Shop,
    race: Shop,
    recon: Shop,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let (down, race, recon) = (shop("down"), shop("race"), shop("recon"));
        let shops = vec![down.config.clone(), race.config.clone(), recon.config.clone()];
        let edge = Edge::start(EdgeOptions { shops, vars: fast_retries(), ..Default::default() });
        World { edge, down, race, recon }
    })
}

/// Notifications answered 2xx, grouped by reference, each verified; duplicates (same event id)
/// collapse, as the shop's deduplication does.
fn delivered(shop: &Shop) -> BTreeMap<String, BTreeSet<String>> {
    let mut by_reference: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in shop.fake.received().into_iter().filter(|r| r.path == "/notify" && r.answered == 200) {
        signature::verify(
            shop.config.secret.as_bytes(),
            r.header(signature::HEADER),
            &r.body,
            bawaba_tests::now(),
            300,
        )
        .expect("every delivered notification verifies");
        let n: Notification = serde_json::from_slice(&r.body).expect("a notification");
        by_reference.entry(n.reference).or_default().insert(n.event_id);
    }
    by_reference
}

fn session_status(edge: &Edge, session_id: &str) -> serde_json::Value {
    http::get(&edge.url(&format!("/v1/sessions/{session_id}"))).json()
}

#[test]
fn the_shop_down_for_a_while_loses_nothing_and_gets_each_result_once() {
    let w = world();
    let s = &w.down;
    s.fake.set_mode(Mode::Refuse);
    let mut sessions = Vec::new();
    let mut references = BTreeSet::new();
    for i in 0..20 {
        let r = reference(&format!("down{i}"));
        let intent = sign(&s.config, &claims(&s.config, &r, 1000 + i));
        let session = flows::start_session(&w.edge, &intent, "visa");
        let page = flows::submit_card(&flows::hosted_url(&session), "4111111111111111");
        let back = http::get(page.location.as_deref().expect("to the return route"));
        assert_eq!(back.status, 303);
        sessions.push(session.json()["id"].as_str().unwrap().to_string());
        references.insert(r);
    }
    // Every payment is paid; every notification is stored and failing, none delivered.
    for id in &sessions {
        let view = eventually(10, "a failed first attempt", || {
            let v = session_status(&w.edge, id);
            (v["delivery"]["state"] == "failing").then_some(v)
        });
        assert_eq!(view["status"], "paid");
        assert!(view["delivery"]["last_error"].as_str().is_some());
    }
    let failing = signed_get(&w.edge, &s.config, "/v1/deliveries?state=failing");
    assert_eq!(failing.status, 200, "{}", failing.body);
    assert_eq!(failing.json()["deliveries"].as_array().unwrap().len(), 20);
    assert!(delivered(s).is_empty());

    s.fake.set_mode(Mode::Answer(500));
    std::thread::sleep(Duration::from_secs(3));
    s.fake.set_mode(Mode::Hang);
    std::thread::sleep(Duration::from_secs(3));
    s.fake.set_mode(Mode::Answer(200));

    let got = eventually(60, "all 20 notifications", || {
        let d = delivered(s);
        (d.len() == 20).then_some(d)
    });
    assert_eq!(got.keys().cloned().collect::<BTreeSet<_>>(), references);
    for (r, events) in &got {
        assert_eq!(events.len(), 1, "{r}: one event, however often it was delivered");
    }
    let received = s.fake.received();
    assert!(received.iter().any(|r| r.answered == 500), "the 500 phase was exercised");
    assert!(received.iter().any(|r| r.answered == 0), "the timeout phase was exercised");
    eventually(20, "no failing deliveries left", || {
        let left = signed_get(&w.edge, &s.config, "/v1/deliveries?state=undelivered").json();
        left["deliveries"].as_array().unwrap().is_empty().then_some(())
    });
    assert_eq!(session_status(&w.edge, &sessions[0])["delivery"]["state"], "delivered");
}

#[test]
fn the_same_webhook_ten_times_racing_the_return_gives_one_transition() {
    let w = world();
    let s = &w.race;
    let r = reference("race");
    let intent = sign(&s.config, &claims(&s.config, &r, 7700));
    let session = flows::start_session(&w.edge, &intent, "mada");
    let hosted = flows::hosted_url(&session);
    let page = flows::submit_card(&hosted, "4464040000000007");
    let return_url = page.location.unwrap();
    // The webhook body a real delivery would carry: the payment as the gateway sees it.
    let payment_id = hosted.rsplit('/').next().unwrap();
    let payment = ureq::get(&w.edge.url(&format!("/sandbox/api/payments/{payment_id}")))
        .header("Authorization", &format!("Bearer {}", w.edge.sandbox_key))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    let body = format!(r#"{{"id":"sbxevt_dup","type":"payment.updated","data":{payment}}}"#);
    let webhook = w.edge.url("/v1/webhooks/sandbox");
    let mut threads = Vec::new();
    for i in 0..13 {
        let (body, webhook, return_url, secret) =
            (body.clone(), webhook.clone(), return_url.clone(), w.edge.webhook_secret.clone());
        threads.push(std::thread::spawn(move || {
            if i % 4 == 3 {
                http::get(&return_url).status
            } else {
                let header = sandbox::webhook::sign(secret.as_bytes(), bawaba_tests::now(), body.as_bytes());
                http::post_with_headers(&webhook, &[(sandbox::webhook::HEADER, &header)], body.as_bytes()).status
            }
        }));
    }
    let statuses: Vec<u16> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 10, "ten webhooks acknowledged: {statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 303).count(), 3, "three returns redirected: {statuses:?}");
    std::thread::sleep(Duration::from_secs(1));
    let got = delivered(s);
    assert_eq!(got.get(&r).map(BTreeSet::len), Some(1), "one notification: {got:?}");
    let inspection = signed_get(&w.edge, &s.config, &format!("/v1/payments/{r}")).json();
    let history = inspection["payment"]["history"].as_array().unwrap();
    let applied: Vec<_> = history.iter().filter(|h| h["outcome"] == "applied").collect();
    assert_eq!(applied.len(), 2, "created → pending → paid, nothing more: {history:?}");
    assert_eq!(applied[1]["offered"], "paid");
    assert_eq!(inspection["outbox"].as_array().unwrap().len(), 1);
}

#[test]
fn a_payment_whose_webhook_never_comes_is_settled_by_reconciliation() {
    let w = world();
    let s = &w.recon;
    let r = reference("recon");
    let intent = sign(&s.config, &claims(&s.config, &r, 5000));
    let session = flows::start_session(&w.edge, &intent, "mastercard");
    // The shopper pays and closes the tab: no return, and this sandbox sends no webhooks.
    let page = flows::submit_card(&flows::hosted_url(&session), "5555555555554444");
    assert_eq!(page.status, 303);
    std::thread::sleep(Duration::from_millis(1200));
    w.edge.run_cron();
    let got = eventually(20, "the reconciled result", || delivered(s).get(&r).cloned());
    assert_eq!(got.len(), 1);
    let inspection = signed_get(&w.edge, &s.config, &format!("/v1/payments/{r}")).json();
    assert_eq!(inspection["payment"]["state"], "paid");
    let sources: Vec<_> = inspection["payment"]["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["outcome"] == "applied" && h["offered"] == "paid")
        .map(|h| h["source"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(sources, ["reconciliation"]);
}

#[test]
fn signed_operator_routes_refuse_unsigned_calls() {
    let w = world();
    let r = http::get(&w.edge.url("/v1/deliveries?state=failing"));
    assert_eq!((r.status, r.error_code().as_str()), (401, "shop_missing"));
    let forged = ShopConfig { secret: "wrong".into(), ..w.race.config.clone() };
    let r = signed_get(&w.edge, &forged, "/v1/deliveries?state=failing");
    assert_eq!((r.status, r.error_code().as_str()), (401, "signature_invalid"));
    let r = signed_get(&w.edge, &w.race.config, "/v1/deliveries?state=bogus");
    assert_eq!((r.status, r.error_code().as_str()), (400, "invalid_request"));
    let r = signed_get(&w.edge, &w.race.config, "/v1/payments/never-seen");
    assert_eq!(r.status, 404);
}

#[test]
fn a_workerd_restart_in_the_middle_of_retries_loses_nothing() {
    let s = shop("restart");
    let edge = Edge::start(EdgeOptions { shops: vec![s.config.clone()], vars: fast_retries(), ..Default::default() });
    s.fake.set_mode(Mode::Refuse);
    let mut references = BTreeSet::new();
    for i in 0..3 {
        let r = reference(&format!("restart{i}"));
        let back = flows::pay(&edge, &s.config, &r, 900 + i, "visa", "4111111111111111");
        assert_eq!(back.status, 303);
        references.insert(r);
    }
    eventually(10, "failing deliveries", || {
        let failing = signed_get(&edge, &s.config, "/v1/deliveries?state=failing").json();
        (failing["deliveries"].as_array().unwrap().len() == 3).then_some(())
    });
    edge.restart();
    s.fake.set_mode(Mode::Answer(200));
    let got = eventually(60, "the 3 notifications after the restart", || {
        let d = delivered(&s);
        (d.len() == 3).then_some(d)
    });
    assert_eq!(got.keys().cloned().collect::<BTreeSet<_>>(), references);
    assert!(got.values().all(|events| events.len() == 1));
}

#[test]
fn a_payment_nobody_finishes_is_closed_as_canceled_and_notified() {
    let s = shop("expiry");
    let mut vars = fast_retries();
    vars.push(("SANDBOX_PAGE_TTL_SECS".into(), "2".into()));
    vars.push(("PAYMENT_EXPIRES_AFTER_SECS".into(), "3".into()));
    let edge = Edge::start(EdgeOptions { shops: vec![s.config.clone()], vars, ..Default::default() });
    let r = reference("expiry");
    let session = flows::start_session(&edge, &sign(&s.config, &claims(&s.config, &r, 1500)), "mada");
    assert_eq!(session.status, 200);
    std::thread::sleep(Duration::from_secs(4));
    edge.run_cron();
    let got = eventually(20, "the cancellation", || delivered(&s).get(&r).cloned());
    assert_eq!(got.len(), 1);
    let n: Notification = s
        .fake
        .received()
        .iter()
        .filter(|x| x.answered == 200)
        .map(|x| serde_json::from_slice::<Notification>(&x.body).unwrap())
        .find(|n| n.reference == r)
        .unwrap();
    assert_eq!(serde_json::to_value(n.event_type).unwrap(), "payment.canceled");
    assert_eq!(n.error.unwrap().code, "expired");
    // The page can no longer be paid.
    let late = flows::submit_card(&flows::hosted_url(&session), "4111111111111111");
    assert!(late.status == 303 || late.body.contains("closed"), "{}", late.body);
    let view = http::get(&edge.url(&format!("/v1/sessions/{}", session.json()["id"].as_str().unwrap()))).json();
    assert_eq!(view["status"], "canceled");
}
