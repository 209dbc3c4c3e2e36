//! Headless Chromium driven through WebDriver (Debian's chromedriver), for end-to-end tests.

use crate::free_port;
use crate::Guarded;
use fantoccini::{Client, ClientBuilder, Locator};
use std::time::Duration;

/// A chromedriver process, killed on drop.
pub struct Driver {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    _process: Guarded,
}

impl Driver {
    /// Starts chromedriver on a free port and waits until it answers.
    pub fn start() -> Driver {
        let port = free_port();
        let binary = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        assert!(std::path::Path::new(&binary).exists(), "{binary} is missing: run `cargo xtask setup --browser`");
        let process = Guarded::spawn(&format!("'{binary}' --port={port} >/dev/null 2>&1"), &std::env::temp_dir(), &[]);
        let url = format!("http://127.0.0.1:{port}");
        crate::wait_for(20, "chromedriver", || std::net::TcpStream::connect(("127.0.0.1", port)).ok());
        Driver { url, _process: process }
    }

    /// A new headless browser session.
    pub async fn browser(&self) -> Client {
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
                "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                         "--disable-background-networking", "--disable-component-update", "--disable-sync",
                         "--no-first-run", "--window-size=1000,900"]
            }),
        );
        ClientBuilder::native().capabilities(caps).connect(&self.url).await.expect("a browser session")
    }
}

/// Waits up to 20 s for an element.
pub async fn wait_css(c: &Client, css: &str) -> fantoccini::elements::Element {
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
}

/// Waits up to 20 s for the URL to contain `part`; returns it.
pub async fn wait_url(c: &Client, part: &str) -> String {
    for _ in 0..200 {
        let url = c.current_url().await.expect("url").to_string();
        if url.contains(part) {
            return url;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("never reached a URL containing {part}");
}

/// Makes the widget's next redirect wait (the `bawaba:redirect` event is cancelable), so that a
/// test can look at the widget before the shopper leaves for the gateway; [`held_redirect`]
/// then gives the URL.
pub async fn hold_the_widgets_redirect(c: &Client) {
    c.execute(
        "window.bawabaRedirect = null;
         document.addEventListener('bawaba:redirect', (e) => {
             e.preventDefault(); window.bawabaRedirect = e.detail.url; }, { once: true });",
        vec![],
    )
    .await
    .expect("a script");
}

/// The URL the widget was about to send the shopper to (waits up to 20 s).
pub async fn held_redirect(c: &Client) -> String {
    for _ in 0..200 {
        if let Some(url) = c.execute("return window.bawabaRedirect", vec![]).await.expect("a script").as_str() {
            return url.to_string();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the widget never went to the gateway");
}

/// Pays on the sandbox's hosted page with a test card (any future expiry, any CVC).
pub async fn pay_on_the_sandbox(c: &Client, card: &str) {
    wait_url(c, "/sandbox/pay/").await;
    wait_css(c, "#number").await.send_keys(card).await.expect("typing");
    c.find(Locator::Css("#expiry")).await.expect("expiry").send_keys("12/34").await.expect("typing");
    c.find(Locator::Css("#cvc")).await.expect("cvc").send_keys("123").await.expect("typing");
    c.find(Locator::Css("#pay")).await.expect("pay").click().await.expect("a click");
}

/// axe-core (from the npm lockfile) on the widget: zero WCAG 2.2 A/AA violations.
pub async fn axe_violations(c: &Client) -> Vec<serde_json::Value> {
    let axe = crate::root().join("node_modules/axe-core/axe.min.js");
    let source = std::fs::read_to_string(&axe).unwrap_or_else(|e| panic!("{}: {e} (npm ci)", axe.display()));
    c.execute(&source, vec![]).await.expect("axe loads");
    let found = c
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document.querySelector('bawaba-checkout'),
                     { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] } })
                .then((r) => done(r.violations.map((v) => ({ id: v.id, help: v.help,
                                                            nodes: v.nodes.map((n) => n.target) }))),
                      (e) => done([{ id: 'axe-error', help: String(e) }]));",
            vec![],
        )
        .await
        .expect("axe runs");
    found.as_array().cloned().unwrap_or_default()
}
