//! The example shops of `examples/` (Node.js, Python, PHP), run as a site owner runs them,
//! against the edge in workerd with the sandbox gateway:
//!
//! - each one's signature code passes `tests/vectors/` (and its checker fails a vector made wrong);
//! - a payment end to end: the example makes an order and serves the checkout page, and the
//!   intent it minted (with jsonwebtoken, PyJWT, or by hand in PHP) goes through the calls the
//!   widget makes (`POST /v1/methods`, `POST /v1/sessions` from the shop's origin); the shopper
//!   pays on the sandbox's page and comes back through the edge; the example received the signed
//!   notification and answered 2xx at the first attempt, refuses a tampered, stale or unsigned
//!   one, and does not apply a replayed `event_id` twice;
//! - a signed refund through the example: the edge refunds, the same key refunds once, the
//!   `refund.succeeded` notification is stored, an impossible refund shows the edge's refusal.
//!
//! Node.js comes from `BAWABA_NODE_DIR` and the example's npm package (jsonwebtoken, pinned in
//! its lockfile) is installed under `target/`; Python is the PyJWT venv `cargo xtask test`
//! makes (`BAWABA_EXAMPLES_PYTHON`); PHP is Debian's `php-cli`. A missing interpreter fails the
//! test in CI and skips it, saying so, elsewhere.

use bawaba_core::intent::{self, ShopKey};
use bawaba_core::signature;
use bawaba_tests::edge::{eventually, Edge, EdgeOptions, ShopConfig};
use bawaba_tests::flows;
use bawaba_tests::http::{self, Reply};
use bawaba_tests::{free_port, now, root, Guarded};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lang {
    Node,
    Python,
    Php,
}

impl Lang {
    const ALL: [Lang; 3] = [Lang::Node, Lang::Python, Lang::Php];

    fn name(self) -> &'static str {
        match self {
            Lang::Node => "node",
            Lang::Python => "python",
            Lang::Php => "php",
        }
    }

    fn dir(self) -> PathBuf {
        root().join("examples").join(self.name())
    }

    fn shop_id(self) -> String {
        format!("example-{}", self.name())
    }
}

/// One edge for the three examples, each registered as its own shop on a port chosen now.
struct World {
    edge: Edge,
    shops: Vec<(Lang, ShopConfig, u16)>,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let shops: Vec<(Lang, ShopConfig, u16)> = Lang::ALL
            .iter()
            .map(|&lang| {
                let port = free_port();
                let secret = format!("{}-secret-{:x}-0123456789abcdef", lang.name(), now() ^ port as i64);
                let config = ShopConfig { id: lang.shop_id(), origin: format!("http://127.0.0.1:{port}"), secret };
                (lang, config, port)
            })
            .collect();
        let edge =
            Edge::start(EdgeOptions { shops: shops.iter().map(|(_, c, _)| c.clone()).collect(), ..Default::default() });
        World { edge, shops }
    })
}

fn shop_of(w: &World, lang: Lang) -> (&ShopConfig, u16) {
    let (_, config, port) = w.shops.iter().find(|(l, _, _)| *l == lang).expect("registered");
    (config, *port)
}

/// Whether this run is CI's, where a missing interpreter is a failure rather than a skip.
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// The interpreter of `lang` (a shell-quoted command) and the environment it needs, or `None`
/// (printed) when it is missing outside CI.
fn interpreter(lang: Lang) -> Option<(String, Vec<(&'static str, String)>)> {
    let missing = |what: String| {
        assert!(!in_ci(), "{what}");
        eprintln!("SKIPPED (not in CI): {what}");
        None
    };
    match lang {
        Lang::Node => {
            let node = bawaba_tests::edge::node_dir().join("node");
            assert!(node.exists(), "no Node.js at {} (set BAWABA_NODE_DIR)", node.display());
            let modules = node_modules();
            Some((format!("'{}'", node.display()), vec![("NODE_PATH", modules.display().to_string())]))
        }
        Lang::Python => {
            let python = examples_python();
            if !python.exists() {
                return missing(format!(
                    "no Python with PyJWT at {} (`cargo xtask test` makes it; or set BAWABA_EXAMPLES_PYTHON to \
                     a Python with examples/python/requirements.txt installed)",
                    python.display()
                ));
            }
            Some((format!("'{}' -B", python.display()), vec![("PYTHONDONTWRITEBYTECODE", "1".into())]))
        }
        Lang::Php => {
            let found = Command::new("php").arg("--version").output().is_ok_and(|o| o.status.success());
            if !found {
                return missing("no php on the PATH (`cargo xtask test` installs Debian's php-cli)".into());
            }
            Some(("php".into(), vec![("PHP_CLI_SERVER_WORKERS", "4".into())]))
        }
    }
}

/// The PyJWT venv's Python: `BAWABA_EXAMPLES_PYTHON`, else where `cargo xtask test` makes it
/// (`~/.cache/bawaba/pyjwt-<the version in examples/python/requirements.txt>`).
fn examples_python() -> PathBuf {
    if let Ok(python) = std::env::var("BAWABA_EXAMPLES_PYTHON") {
        return PathBuf::from(python);
    }
    let requirements = std::fs::read_to_string(Lang::Python.dir().join("requirements.txt")).expect("requirements.txt");
    let version = requirements
        .lines()
        .find_map(|l| l.trim().strip_prefix("PyJWT=="))
        .expect("requirements.txt pins PyJWT==<version>");
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let cache = std::env::var("XDG_CACHE_HOME").unwrap_or_else(|_| format!("{home}/.cache"));
    PathBuf::from(format!("{cache}/bawaba/pyjwt-{version}/bin/python"))
}

/// The Node example's packages (`npm ci` from its lockfile), installed once under `target/`.
fn node_modules() -> PathBuf {
    static MODULES: OnceLock<PathBuf> = OnceLock::new();
    MODULES
        .get_or_init(|| {
            let dir = root().join("target/examples/node-packages");
            let lock =
                std::fs::read(Lang::Node.dir().join("package-lock.json")).expect("examples/node/package-lock.json");
            let installed = std::fs::read(dir.join("node_modules/.package-lock.json")).is_ok()
                && std::fs::read(dir.join("package-lock.json")).is_ok_and(|l| l == lock);
            if !installed {
                std::fs::create_dir_all(&dir).expect("target/examples");
                for file in ["package.json", "package-lock.json"] {
                    std::fs::copy(Lang::Node.dir().join(file), dir.join(file)).expect("copy the package files");
                }
                let path = format!(
                    "{}:{}",
                    bawaba_tests::edge::node_dir().display(),
                    std::env::var("PATH").unwrap_or_default()
                );
                let out = Command::new("npm")
                    .args(["ci", "--no-fund", "--no-audit", "--ignore-scripts"])
                    .current_dir(&dir)
                    .env("PATH", path)
                    .output()
                    .expect("npm (it installs the Node example's jsonwebtoken)");
                assert!(
                    out.status.success(),
                    "npm ci for examples/node failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            dir.join("node_modules")
        })
        .clone()
}

/// Runs the example's vector checker on `vectors`; returns (success, what it printed).
fn run_checker(lang: Lang, command: &str, env: &[(&'static str, String)], vectors: &Path) -> (bool, String) {
    let script = match lang {
        Lang::Node => "check-vectors.js",
        Lang::Python => "check_vectors.py",
        Lang::Php => "check-vectors.php",
    };
    let line = format!("{command} {script} '{}'", vectors.display());
    let out = Command::new("sh")
        .args(["-c", &line])
        .current_dir(lang.dir())
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .expect("sh");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

fn signature_code_passes_the_vectors(lang: Lang) {
    let Some((command, env)) = interpreter(lang) else { return };
    let vectors = root().join("tests/vectors");
    let (ok, text) = run_checker(lang, &command, &env, &vectors);
    assert!(ok && text.contains(" passed, 0 failed"), "{} example against tests/vectors:\n{text}", lang.name());
    let passed: u32 =
        text.split(" passed").next().and_then(|s| s.rsplit(char::is_whitespace).next()?.parse().ok()).unwrap_or(0);
    assert!(passed >= 17, "every notification case and each valid call: {text}");
    // The checker is not vacuous: one expectation made wrong fails it.
    let broken = root().join(format!("target/examples/broken-vectors-{}", lang.name()));
    std::fs::create_dir_all(&broken).expect("target/examples");
    let mut notes: serde_json::Value =
        serde_json::from_slice(&std::fs::read(vectors.join("notification_signatures.json")).unwrap()).unwrap();
    notes["cases"][0]["expect"] = "signature_invalid".into();
    std::fs::write(broken.join("notification_signatures.json"), notes.to_string()).unwrap();
    std::fs::copy(vectors.join("call_signatures.json"), broken.join("call_signatures.json")).unwrap();
    let (ok, text) = run_checker(lang, &command, &env, &broken);
    assert!(!ok && text.contains("FAIL"), "a wrong expectation must fail the {} checker:\n{text}", lang.name());
}

#[test]
fn node_example_signature_code_passes_the_vectors() {
    signature_code_passes_the_vectors(Lang::Node);
}

#[test]
fn python_example_signature_code_passes_the_vectors() {
    signature_code_passes_the_vectors(Lang::Python);
}

#[test]
fn php_example_signature_code_passes_the_vectors() {
    signature_code_passes_the_vectors(Lang::Php);
}

/// A running example shop.
struct Running {
    origin: String,
    log: PathBuf,
    _process: Guarded,
}

fn start_example(w: &World, lang: Lang, command: &str, mut env: Vec<(&'static str, String)>) -> Running {
    let (config, port) = shop_of(w, lang);
    let dir = root().join(format!("target/examples/{}-{}", lang.name(), std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("target/examples");
    let log = dir.join("shop.log");
    let program = match lang {
        Lang::Node => format!("{command} shop.js"),
        Lang::Python => format!("{command} shop.py"),
        Lang::Php => format!("{command} -S 127.0.0.1:{port} router.php"),
    };
    env.extend([
        ("PORT", port.to_string()),
        ("BAWABA_EDGE", w.edge.base.clone()),
        ("BAWABA_SHOP_ID", config.id.clone()),
        ("BAWABA_SHOP_SECRET", config.secret.clone()),
        ("SHOP_ORIGIN", config.origin.clone()),
        ("SHOP_DB", dir.join("shop.json").display().to_string()),
    ]);
    let process = Guarded::spawn(&format!("exec {program} >'{}' 2>&1", log.display()), &lang.dir(), &env);
    let home = format!("{}/", config.origin);
    let started = std::time::Instant::now();
    loop {
        let up = ureq::get(&home).call().is_ok_and(|r| r.status() == 200);
        if up {
            break;
        }
        let said = std::fs::read_to_string(&log).unwrap_or_default();
        assert!(started.elapsed().as_secs() < 30, "the {} example did not start; it said:\n{said}", lang.name());
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    Running { origin: config.origin.clone(), log, _process: process }
}

/// The value of the first `name="…"` after `after` in `html`.
fn attribute(html: &str, after: &str, name: &str) -> Option<String> {
    let rest = &html[html.find(after)?..];
    let start = rest.find(&format!("{name}=\""))? + name.len() + 2;
    Some(rest[start..start + rest[start..].find('"')?].to_string())
}

/// Undoes HTML escaping (named and numeric entities), as each language writes it.
fn unescape(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let Some(end) = rest.find(';').filter(|e| *e <= 8) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..end];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .map(|h| u32::from_str_radix(h, 16))
                .or_else(|| entity.strip_prefix('#').map(str::parse::<u32>))
                .and_then(Result::ok)
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// What the example's order page says: its status, the refunded total, the events it stored.
struct OrderView {
    status: String,
    refunded: i64,
    events: Vec<String>,
    html: String,
}

fn order_view(shop: &Running, reference: &str) -> OrderView {
    let page = http::get(&format!("{}/orders/{reference}", shop.origin));
    assert_eq!(page.status, 200, "the order page: {}", page.body);
    let status = attribute(&page.body, "<main", "data-status").expect("data-status");
    let refunded = attribute(&page.body, "<main", "data-refunded").and_then(|r| r.parse().ok()).expect("data-refunded");
    let events =
        page.body.split("<li data-event=\"").skip(1).filter_map(|s| Some(s[..s.find('"')?].to_string())).collect();
    OrderView { status, refunded, events, html: page.body }
}

/// The edge's answer shown on the example's refund page: (HTTP status, JSON).
fn refund_through(shop: &Running, reference: &str, amount: i64, key: &str) -> (u16, serde_json::Value) {
    let url = format!("{}/orders/{reference}/refund", shop.origin);
    let page = http::post_form(&url, &[("amount", &amount.to_string()), ("key", key)]);
    assert_eq!(page.status, 200, "the refund page: {}", page.body);
    let status = attribute(&page.body, "<section", "data-http").and_then(|s| s.parse().ok()).expect("data-http");
    let pre = page.body.split("<pre>").nth(1).and_then(|s| s.split("</pre>").next()).expect("the answer in <pre>");
    let answer = serde_json::from_str(&unescape(pre)).unwrap_or_else(|e| panic!("the edge's answer ({e}): {pre}"));
    (status, answer)
}

fn post_notification(shop: &Running, header: Option<&str>, body: &[u8]) -> Reply {
    let url = format!("{}/bawaba/notify", shop.origin);
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(h) = header {
        headers.push((signature::HEADER, h));
    }
    http::post_with_headers(&url, &headers, body)
}

fn pays_end_to_end_and_refunds(lang: Lang) {
    let Some((command, env)) = interpreter(lang) else { return };
    let w = world();
    let shop = start_example(w, lang, &command, env);
    let (config, _) = shop_of(w, lang);
    let said = || std::fs::read_to_string(&shop.log).unwrap_or_default();

    // The shopper orders two bags of coffee (45.50 SAR each): the example sets the amount.
    let made = http::post_form(&format!("{}/orders", shop.origin), &[("quantity", "2")]);
    assert_eq!(made.status, 303, "POST /orders: {}", made.body);
    let path = made.location.clone().expect("to the order page");
    let reference = path.strip_prefix("/orders/").expect("/orders/{reference}").to_string();

    // The checkout page: one script tag, one element with the intent and the edge.
    let page = http::get(&format!("{}{path}", shop.origin));
    assert_eq!(page.status, 200, "the checkout page: {}", page.body);
    let script = format!("<script type=\"module\" src=\"{}/bawaba.js\"></script>", w.edge.base);
    assert!(page.body.contains(&script), "the loader's script tag: {}", page.body);
    assert_eq!(attribute(&page.body, "<bawaba-checkout", "edge").as_deref(), Some(w.edge.base.as_str()));
    let intent = attribute(&page.body, "<bawaba-checkout", "intent").expect("the intent attribute");
    let loader = http::get(&w.edge.url("/bawaba.js"));
    assert_eq!(loader.status, 200, "the loader the tag names");

    // The intent the example minted (jsonwebtoken, PyJWT, by hand) is one the edge accepts.
    let key = ShopKey { secret: config.secret.as_bytes(), origin: &config.origin };
    let verified = intent::verify(&intent, |iss| (iss == config.id).then_some(key), now())
        .unwrap_or_else(|e| panic!("the {} example's intent: {} ({e})", lang.name(), e.code()));
    assert_eq!((verified.claims.sub.as_str(), verified.money.minor), (reference.as_str(), 9100));
    assert_eq!(verified.claims.notify_url, format!("{}/bawaba/notify", shop.origin));

    // What the widget does from the shop's page: the methods, then a session.
    let origin = [("Origin", config.origin.as_str()), ("Content-Type", "application/json")];
    let body = serde_json::json!({ "intent": intent }).to_string();
    let methods = http::post_with_headers(&w.edge.url("/v1/methods"), &origin, body.as_bytes());
    assert_eq!(methods.status, 200, "POST /v1/methods: {}", methods.body);
    assert_eq!(methods.header("access-control-allow-origin"), Some(config.origin.as_str()), "CORS for the shop's page");
    assert_eq!(methods.json()["methods"][0]["code"], "mada", "{}", methods.body);
    assert_eq!(methods.json()["amount_display"], "91.00");
    let body = serde_json::json!({ "intent": intent, "method": "mada", "locale": "en" }).to_string();
    let session = http::post_with_headers(&w.edge.url("/v1/sessions"), &origin, body.as_bytes());
    assert_eq!(session.status, 200, "POST /v1/sessions: {}", session.body);

    // The shopper pays on the sandbox's page and comes back through the edge to the example.
    let paid = flows::submit_card(&flows::hosted_url(&session), "4464040000000007");
    let back = flows::back_through_edge(&paid);
    let to_shop = back.location.clone().expect("the return URL");
    assert_eq!(to_shop, format!("{}/orders/{reference}?reference={reference}&status=paid", shop.origin));
    let landing = http::get(&to_shop);
    assert_eq!(landing.status, 200);
    assert!(
        landing.body.contains("The edge says <i>paid</i>"),
        "the return's status shown as a hint: {}",
        landing.body
    );

    // The example stored the signed notification, and answered 2xx at the first attempt.
    let view = eventually(30, "the example to mark the order paid", || {
        Some(order_view(&shop, &reference)).filter(|v| v.status == "paid")
    });
    assert_eq!(view.events.len(), 1, "{}", view.html);
    let inspection = flows::signed_get(&w.edge, config, &format!("/v1/payments/{reference}")).json();
    let entry = inspection["outbox"][0].clone();
    assert_eq!(entry["event_type"], "payment.succeeded", "{inspection}");
    assert_eq!(view.events[0], entry["event_id"].as_str().unwrap());
    assert!(entry["delivered_at_ms"].is_i64() && entry["attempts"] == 1, "acknowledged at once: {entry}\n{}", said());

    // What the example refuses, and what it does not apply twice.
    let original = entry["body"].as_str().expect("the body the edge sent").to_string();
    let secret = config.secret.as_bytes();
    let resent =
        post_notification(&shop, Some(&signature::sign(secret, now(), original.as_bytes())), original.as_bytes());
    assert!((200..300).contains(&resent.status), "a retry of a stored event is acknowledged: {}", resent.body);
    let mut changed: serde_json::Value = serde_json::from_str(&original).unwrap();
    changed["type"] = "payment.failed".into();
    let changed = changed.to_string();
    let same_id =
        post_notification(&shop, Some(&signature::sign(secret, now(), changed.as_bytes())), changed.as_bytes());
    assert!((200..300).contains(&same_id.status), "the same event_id again: {}", same_id.body);
    let tampered = original.replace("\"amount\":9100", "\"amount\":1");
    assert_ne!(tampered, original);
    let header = signature::sign(secret, now(), original.as_bytes());
    for (what, header, body) in [
        ("a tampered body", Some(header.clone()), tampered.clone()),
        ("another secret", Some(signature::sign(b"not-the-shop-secret", now(), original.as_bytes())), original.clone()),
        ("a signature 400 s old", Some(signature::sign(secret, now() - 400, original.as_bytes())), original.clone()),
        ("no signature", None, original.clone()),
    ] {
        let r = post_notification(&shop, header.as_deref(), body.as_bytes());
        assert!((400..500).contains(&r.status), "{} refuses {what}: {} {}", lang.name(), r.status, r.body);
    }
    let stranger = serde_json::json!({"event_id": format!("evt_unknown_{reference}"), "type": "payment.succeeded",
        "shop_id": config.id, "reference": "NOT-AN-ORDER", "amount": 100, "currency": "SAR", "gateway": "sandbox",
        "gateway_payment_id": "sbx_x", "method": "mada", "created_at": now()})
    .to_string();
    let r = post_notification(&shop, Some(&signature::sign(secret, now(), stranger.as_bytes())), stranger.as_bytes());
    assert!((200..300).contains(&r.status), "an unknown reference is acknowledged (or the edge retries): {}", r.body);
    let view = order_view(&shop, &reference);
    assert_eq!((view.status.as_str(), view.events.len()), ("paid", 1), "nothing applied twice: {}", view.html);

    // A signed refund through the example, with the key its page put in the form.
    let form_key = attribute(&view.html, "name=\"key\"", "value").expect("the refund form's key");
    let (status, answer) = refund_through(&shop, &reference, 2500, &form_key);
    assert_eq!(status, 200, "{answer}\n{}", said());
    assert_eq!(answer["status"], "succeeded", "{answer}");
    assert_eq!((answer["amount"].as_i64(), answer["refunded_total"].as_i64()), (Some(2500), Some(2500)), "{answer}");
    assert_eq!(answer["payment_state"], "partially_refunded", "{answer}");
    let (again, repeated) = refund_through(&shop, &reference, 2500, &form_key);
    assert_eq!((again, &repeated), (200, &answer), "the same form sent twice refunds once");
    let view = eventually(30, "the refund's notification at the example", || {
        Some(order_view(&shop, &reference)).filter(|v| v.refunded != 0)
    });
    assert_eq!((view.refunded, view.events.len()), (2500, 2), "{}", view.html);
    let inspection = flows::signed_get(&w.edge, config, &format!("/v1/payments/{reference}")).json();
    assert_eq!(inspection["payment"]["state"], "partially_refunded", "{inspection}");
    let refund_event = inspection["outbox"]
        .as_array()
        .and_then(|o| o.iter().find(|e| e["event_type"] == "refund.succeeded"))
        .cloned()
        .unwrap_or_else(|| panic!("a refund.succeeded: {inspection}"));
    assert!(refund_event["delivered_at_ms"].is_i64(), "{refund_event}");
    let sent: serde_json::Value = serde_json::from_str(refund_event["body"].as_str().unwrap()).unwrap();
    assert_eq!((sent["idempotency_key"].as_str(), sent["amount"].as_i64()), (Some(form_key.as_str()), Some(2500)));

    // More than what remains: the example shows the edge's refusal; nothing moves.
    let (status, refusal) = refund_through(&shop, &reference, 1_000_000, &format!("{form_key}-more"));
    assert_eq!((status, refusal["error"]["code"].as_str()), (422, Some("refund_exceeds_payment")), "{refusal}");
    assert_eq!(order_view(&shop, &reference).refunded, 2500);
}

#[test]
fn node_example_takes_a_payment_and_refunds_it() {
    pays_end_to_end_and_refunds(Lang::Node);
}

#[test]
fn python_example_takes_a_payment_and_refunds_it() {
    pays_end_to_end_and_refunds(Lang::Python);
}

#[test]
fn php_example_takes_a_payment_and_refunds_it() {
    pays_end_to_end_and_refunds(Lang::Php);
}

#[test]
fn html_unescaping_reads_each_languages_escapes() {
    // Node writes &#34;, Python &quot; and &#x27;, PHP &quot; and &#039;.
    assert_eq!(unescape("{&#34;a&#34;:&quot;b&#x27;&#039;&amp;lt;&quot;}"), "{\"a\":\"b''&lt;\"}");
    assert_eq!(unescape("a & b &unknown; c"), "a & b &unknown; c");
}
