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
