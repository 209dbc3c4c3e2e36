//! The widget part of `cargo xtask bench` (issue 14): what the widget weighs, and how fast a
//! checkout page is ready with it, side by side with the alternatives a shop has.
//!
//! In one headless Chromium, the same checkout page is loaded [`LOADS`] times in each of three
//! versions (interleaved, after one warm-up round), with the browser's HTTP cache cleared before
//! every load:
//!
//! - **Bawaba**: the demo's `<bawaba-checkout>` with a valid intent, its loader from the edge in
//!   local workerd (as a shop embeds it: the page is on the shop's origin, the widget on the
//!   edge's); ready when the element's `data-state` becomes `ready` (the methods are shown);
//! - **Moyasar**: Moyasar's published payment form (npm `moyasar-payment-form`, its dist JS and
//!   CSS served from 127.0.0.1), `Moyasar.init` with a test publishable key and
//!   `methods: ["creditcard"]`; ready when its card inputs exist in the DOM;
//! - **plain**: a plain HTML form (inputs and a submit button); ready at `DOMContentLoaded`.
//!
//! Each page sets `performance.mark("ready")`; its `startTime` is the time from navigation start.
//! Bytes are Chromium's own count of what came over the wire for each request (see [`Load`]):
//! the Performance API's `transferSize` and `encodedBodySize` are 0 for the widget's files, which
//! are cross-origin and carry no `Timing-Allow-Origin`. The pages are in
//! `tests/fixtures/bench/`; a small local server ([`PageServer`]) serves them, the demo's
//! stylesheet and Moyasar's files, gzipped as local workerd serves the widget. Chromium resolves
//! no host name (`--host-resolver-rules`), so nothing here can reach the internet: a request
//! the Moyasar form makes is answered locally (its `base_url` is the local server) and counted.
//!
//! Figures, never assertions on time: budgets are compared by people (docs/design.md).

use crate::browser::Driver;
use crate::edge::{Edge, EdgeOptions, ShopConfig};
use crate::{flows, root};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The widget's budget: loader + glue + wasm, brotli (issue 14: tighter than design.md's 50 KB).
pub const WIDGET_BROTLI_BUDGET: usize = 25_600;
/// Loads of each page (after one warm-up round that is not counted).
pub const LOADS: usize = 20;

/// The widget's files in a built site (`target/site` or `target/site-production`): the loader
/// and the two content-hashed files it names.
#[derive(Debug, Clone)]
pub struct WidgetFiles {
    /// `bawaba.js`.
    pub loader: PathBuf,
    /// `widget/bawaba_widget.<hash>.js`.
    pub glue: PathBuf,
    /// `widget/bawaba_widget_bg.<hash>.wasm`.
    pub wasm: PathBuf,
}

impl WidgetFiles {
    /// Reads the built loader of `site` for the names of the widget's files.
    pub fn of_site(site: &Path) -> WidgetFiles {
        let loader = site.join("bawaba.js");
        let text =
            std::fs::read_to_string(&loader).unwrap_or_else(|e| panic!("{}: {e} (build first)", loader.display()));
        let names = HashedNames::in_loader(&text);
        WidgetFiles { glue: site.join(&names.glue), wasm: site.join(&names.wasm), loader }
    }

    /// The release build's files in `target/site`.
    pub fn built() -> WidgetFiles {
        WidgetFiles::of_site(&root().join("target/site"))
    }

    /// Loader, glue, wasm: what a shopper downloads for the widget.
    pub fn all(&self) -> [&Path; 3] {
        [&self.loader, &self.glue, &self.wasm]
    }
}

/// The widget's file names as the built loader gives them, relative to the edge's root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashedNames {
    /// `widget/bawaba_widget.<16 hex digits>.js`.
    pub glue: String,
    /// `widget/bawaba_widget_bg.<16 hex digits>.wasm`.
    pub wasm: String,
}

impl HashedNames {
    /// The names in a built loader (every quoted `widget/…` string in it); panics unless there
    /// is exactly one glue and one wasm, each with a 16-digit hash in its name.
    pub fn in_loader(loader: &str) -> HashedNames {
        let quoted: Vec<&str> = loader.split('"').skip(1).step_by(2).filter(|s| s.starts_with("widget/")).collect();
        let one = |ext: &str| -> String {
            let found: Vec<&&str> = quoted.iter().filter(|s| s.ends_with(ext)).collect();
            assert_eq!(found.len(), 1, "the loader names {found:?} as the widget's {ext} file:\n{loader}");
            assert!(content_hash_of(found[0]).is_some(), "{} has no content hash in its name", found[0]);
            found[0].to_string()
        };
        HashedNames { glue: one(".js"), wasm: one(".wasm") }
    }
}

/// The content hash in a published file's name (`widget/bawaba_widget.<hash>.js`,
/// `widget/bawaba_widget_bg.<hash>.wasm`): 16 lowercase hex digits, or `None`.
pub fn content_hash_of(name: &str) -> Option<&str> {
    let hash = name
        .strip_prefix("widget/bawaba_widget.")
        .and_then(|rest| rest.strip_suffix(".js"))
        .or_else(|| name.strip_prefix("widget/bawaba_widget_bg.").and_then(|rest| rest.strip_suffix(".wasm")))?;
    let hex = hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    hex.then_some(hash)
}

/// Sizes of a set of files, each compressed on its own (as they are sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    /// Bytes as stored.
    pub raw: usize,
    /// gzip, best compression.
    pub gzip: usize,
    /// brotli, quality 11.
    pub brotli: usize,
}

/// Measures `files` (panics, saying to build first, if one is missing).
pub fn sizes(files: &[&Path]) -> Sizes {
    let mut total = Sizes { raw: 0, gzip: 0, brotli: 0 };
    for path in files {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e} (build first)", path.display()));
        total.raw += bytes.len();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&bytes).expect("gzip in memory");
        total.gzip += gz.finish().expect("gzip in memory").len();
        let mut br = Vec::new();
        let params = brotli::enc::BrotliEncoderParams { quality: 11, ..Default::default() };
        brotli::BrotliCompress(&mut &bytes[..], &mut br, &params).expect("brotli in memory");
        total.brotli += br.len();
    }
    total
}

/// The widget's transfer size (loader + glue + wasm of the release build): the one figure the
/// budget [`WIDGET_BROTLI_BUDGET`] is about.
pub fn widget_sizes() -> Sizes {
    sizes(&WidgetFiles::built().all())
}

/// Moyasar's files as the bench serves them (from `node_modules`, installed from
/// package-lock.json).
fn moyasar_dist() -> PathBuf {
    root().join("node_modules/moyasar-payment-form/dist")
}

/// The version of `moyasar-payment-form` in `node_modules`.
pub fn moyasar_version() -> String {
    let path = root().join("node_modules/moyasar-payment-form/package.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run `cargo xtask setup`: it installs package-lock.json)", path.display()));
    let json: serde_json::Value = serde_json::from_str(&text).expect("package.json is JSON");
    json["version"].as_str().expect("a version").to_string()
}

/// The three pages, in the order they are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// `<bawaba-checkout>` against the edge.
    Bawaba,
    /// Moyasar's payment form from local files.
    Moyasar,
    /// A plain HTML form.
    Plain,
}

impl Page {
    /// Every page.
    pub const ALL: [Page; 3] = [Page::Bawaba, Page::Moyasar, Page::Plain];

    fn fixture(self) -> &'static str {
        match self {
            Page::Bawaba => "bawaba.html",
            Page::Moyasar => "moyasar.html",
            Page::Plain => "plain.html",
        }
    }

    fn label(self) -> String {
        match self {
            Page::Bawaba => "Bawaba widget (edge in workerd)".into(),
            Page::Moyasar => format!("Moyasar form {} (local files)", moyasar_version()),
            Page::Plain => "plain HTML form".into(),
        }
    }
}

/// What the local server saw besides the pages and files it serves.
#[derive(Debug, Default)]
struct Seen {
    /// Requests under `/moyasar-api/` (the form's `base_url`).
    moyasar_api: Vec<String>,
    /// Any other path it had no file for.
    unknown: Vec<String>,
}

/// Serves the bench's pages (`tests/fixtures/bench/`, with a fresh intent in the Bawaba page on
/// every load), the demo's stylesheet and Moyasar's dist files, on 127.0.0.1.
pub struct PageServer {
    /// `http://127.0.0.1:<port>`: the bench shop's registered origin.
    pub origin: String,
    seen: Arc<Mutex<Seen>>,
}

impl PageServer {
    /// Starts the server on `listener`; pages are filled in with `edge`'s URL and intents
    /// signed for `shop`.
    fn start(listener: TcpListener, edge: String, shop: ShopConfig) -> PageServer {
        let origin = format!("http://{}", listener.local_addr().expect("an address"));
        let seen = Arc::new(Mutex::new(Seen::default()));
        let page_server = PageServer { origin: origin.clone(), seen: seen.clone() };
        let context = Arc::new(Context::new(origin, edge, shop));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (context, seen) = (context.clone(), seen.clone());
                std::thread::spawn(move || serve(stream, |path| answer(path, &context, &seen)));
            }
        });
        page_server
    }

    fn url(&self, page: Page) -> String {
        format!("{}/{}", self.origin, page.fixture())
    }
}

/// Answers the GET requests of one keep-alive connection, gzipped when the browser takes it
/// (as local workerd answers it: Chromium asks for brotli only over https). Each answer leaves
/// in one write with Nagle's algorithm off: a small body written after its headers would
/// otherwise wait for the browser's delayed ACK (40 ms on Linux), which would be timed as the
/// page's.
fn serve(stream: TcpStream, answer: impl Fn(&str) -> Answer) {
    let _ = stream.set_nodelay(true);
    let mut writer = stream.try_clone().expect("a second handle on the connection");
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut gzip = false;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            if header.trim().is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                gzip |= name.trim().eq_ignore_ascii_case("accept-encoding") && value.contains("gzip");
            }
        }
        let target = request_line.split_whitespace().nth(1).unwrap_or("/");
        let Answer { status, content_type, body, gzipped } = answer(target.split('?').next().unwrap_or("/"));
        let (body, encoding) = match (gzip, gzipped) {
            (true, Some(gz)) => (gz, "Content-Encoding: gzip\r\n"),
            _ => (body, ""),
        };
        let mut response = format!(
            "HTTP/1.1 {status} {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n{encoding}\
             Vary: Accept-Encoding\r\nCache-Control: no-cache\r\n\r\n",
            if status == 200 { "OK" } else { "Not Found" },
            body.len()
        )
        .into_bytes();
        response.extend_from_slice(&body);
        if writer.write_all(&response).is_err() {
            return;
        }
    }
}

/// An answer of the local server.
struct Answer {
    status: u16,
    content_type: &'static str,
    body: Arc<Vec<u8>>,
    /// The body gzipped, for a browser that takes it.
    gzipped: Option<Arc<Vec<u8>>>,
}

impl Answer {
    fn new(status: u16, content_type: &'static str, body: Vec<u8>) -> Answer {
        let gzipped = (status == 200).then(|| Arc::new(gzip(&body)));
        Answer { status, content_type, body: Arc::new(body), gzipped }
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).expect("gzip in memory");
    gz.finish().expect("gzip in memory")
}

/// The local server's answer to `path`. The files are read (and gzipped) once: the server
/// takes no time of its own during a load that a real one would not.
fn answer(path: &str, context: &Context, seen: &Mutex<Seen>) -> Answer {
    let Context { origin, edge, shop, files } = context;
    match path {
        "/bawaba.html" | "/moyasar.html" | "/plain.html" => {
            let template = std::fs::read_to_string(root().join("tests/fixtures/bench").join(&path[1..]))
                .expect("a bench page in tests/fixtures/bench");
            let reference = flows::reference("BENCH");
            let intent = flows::sign(shop, &flows::claims(shop, &reference, 4550));
            let page = template
                .replace("{{EDGE}}", edge)
                .replace("{{ORIGIN}}", origin)
                .replace("{{REFERENCE}}", &reference)
                .replace("{{INTENT}}", &intent);
            Answer::new(200, "text/html; charset=utf-8", page.into_bytes())
        }
        _ if path.starts_with("/moyasar-api/") => {
            seen.lock().unwrap().moyasar_api.push(path.to_string());
            Answer::new(404, "application/json", br#"{"type":"not_found","message":"the bench is offline"}"#.to_vec())
        }
        _ => match files.iter().find(|(p, _)| *p == path) {
            Some((_, file)) => Answer {
                status: 200,
                content_type: file.content_type,
                body: file.body.clone(),
                gzipped: file.gzipped.clone(),
            },
            None => {
                if path != "/favicon.ico" {
                    seen.lock().unwrap().unknown.push(path.to_string());
                }
                Answer::new(404, "text/plain", b"not found".to_vec())
            }
        },
    }
}

/// What the local server answers with.
struct Context {
    origin: String,
    edge: String,
    shop: ShopConfig,
    /// The static files by path.
    files: Vec<(&'static str, Answer)>,
}

impl Context {
    fn new(origin: String, edge: String, shop: ShopConfig) -> Context {
        let file = |path: PathBuf, content_type: &'static str| {
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            Answer::new(200, content_type, bytes)
        };
        let files = vec![
            ("/shop.css", file(root().join("www/demo/shop.css"), "text/css; charset=utf-8")),
            ("/moyasar/moyasar.umd.js", file(moyasar_dist().join("moyasar.umd.js"), "text/javascript; charset=utf-8")),
            ("/moyasar/moyasar.css", file(moyasar_dist().join("moyasar.css"), "text/css; charset=utf-8")),
        ];
        Context { origin, edge, shop, files }
    }
}

/// One measured load of a page.
#[derive(Debug, Clone)]
pub struct Load {
    /// `performance.mark("ready")`'s `startTime`: ms from navigation start.
    pub ready_ms: f64,
    /// Bytes on the wire, headers included, of every request of the page until it was ready:
    /// Chromium's own count (`encodedDataLength` of DevTools' `Network.loadingFinished`).
    pub bytes: u64,
    /// Requests that finished (CORS preflights not counted here).
    pub requests: usize,
    /// CORS preflights (`OPTIONS`) that finished.
    pub preflights: usize,
    /// URLs asked of hosts other than 127.0.0.1 (blocked: Chromium resolves no name).
    pub elsewhere: Vec<String>,
    /// Answers received (over http, preflights included), and how many of them came gzipped.
    pub answers: usize,
    /// See `answers`.
    pub gzipped: usize,
}

/// Whether a loaded page is ready: `null` until then, else whether it failed and the time.
const READ_READY: &str = r#"
const failed = performance.getEntriesByName("failed").length > 0;
const ready = performance.getEntriesByName("ready")[0];
return ready || failed ? { failed, ready: ready ? ready.startTime : null } : null;
"#;

/// A WebDriver session with the harness's flags (tests/src/browser.rs) plus no name resolution:
/// every host but 127.0.0.1 is unreachable, so the bench measures only local files. Its
/// performance log (DevTools' network events) gives the bytes on the wire.
async fn offline_browser(driver: &Driver) -> fantoccini::Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
            "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--no-first-run", "--window-size=1000,900",
                     "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
        }),
    );
    caps.insert("goog:loggingPrefs".into(), serde_json::json!({ "performance": "ALL" }));
    fantoccini::ClientBuilder::native().capabilities(caps).connect(&driver.url).await.expect("a browser session")
}

/// A chromedriver command of its own (not in WebDriver, so not in fantoccini): `path` under
/// the session, JSON in, the answer's `value` out.
fn chromedriver(driver: &Driver, session: &str, path: &str, body: serde_json::Value) -> serde_json::Value {
    let url = format!("{}/session/{session}/{path}", driver.url);
    let mut resp = ureq::post(&url)
        .header("Content-Type", "application/json")
        .send(body.to_string().as_bytes())
        .unwrap_or_else(|e| panic!("chromedriver: {path}: {e}"));
    let answer: serde_json::Value = resp.body_mut().with_config().limit(64 * 1024 * 1024).read_json().expect("JSON");
    answer["value"].clone()
}

/// The DevTools events logged since the last call (reading empties the log).
fn network_events(driver: &Driver, session: &str) -> Vec<serde_json::Value> {
    let entries = chromedriver(driver, session, "se/log", serde_json::json!({ "type": "performance" }));
    let entries = entries.as_array().cloned().unwrap_or_default();
    entries
        .iter()
        .filter_map(|e| serde_json::from_str::<serde_json::Value>(e["message"].as_str()?).ok())
        .map(|m| m["message"].clone())
        .collect()
}

/// Loads `page` once with an empty HTTP cache and reads it when ready.
async fn load(c: &fantoccini::Client, driver: &Driver, session: &str, server: &PageServer, page: Page) -> Load {
    c.goto("about:blank").await.expect("about:blank");
    chromedriver(
        driver,
        session,
        "goog/cdp/execute",
        serde_json::json!({"cmd": "Network.clearBrowserCache", "params": {}}),
    );
    network_events(driver, session);
    c.goto(&server.url(page)).await.unwrap_or_else(|e| panic!("{page:?}: {e}"));
    let mut value = serde_json::Value::Null;
    for _ in 0..400 {
        value = c.execute(READ_READY, vec![]).await.expect("a script");
        if !value.is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!value.is_null(), "{page:?} was not ready within 20 s");
    assert_eq!(value["failed"], false, "{page:?} failed: the widget's data-state became error");
    let mut load = Load {
        ready_ms: value["ready"].as_f64().expect("a ready time"),
        bytes: 0,
        requests: 0,
        preflights: 0,
        elsewhere: Vec::new(),
        answers: 0,
        gzipped: 0,
    };
    // Bytes per request id; data: URLs (Moyasar's card marks) are logged too but cost nothing.
    let mut urls = std::collections::HashMap::new();
    for event in network_events(driver, session) {
        let params = &event["params"];
        let id = params["requestId"].as_str().unwrap_or_default().to_string();
        match event["method"].as_str().unwrap_or_default() {
            "Network.requestWillBeSent" => {
                let url = params["request"]["url"].as_str().unwrap_or_default().to_string();
                let preflight = params["type"] == "Preflight" || params["request"]["method"] == "OPTIONS";
                if url.starts_with("http") && !url.starts_with("http://127.0.0.1:") {
                    load.elsewhere.push(url.clone());
                }
                urls.insert(id, (url, preflight));
            }
            "Network.responseReceived" if params["response"]["url"].as_str().is_some_and(|u| u.starts_with("http")) => {
                let headers = params["response"]["headers"].as_object().cloned().unwrap_or_default();
                let encoding = headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("content-encoding"));
                load.answers += 1;
                if encoding.is_some_and(|(_, v)| v == "gzip") {
                    load.gzipped += 1;
                }
            }
            "Network.loadingFinished" => {
                let Some((url, preflight)) = urls.get(&id) else { continue };
                if !url.starts_with("http") {
                    continue;
                }
                load.bytes += params["encodedDataLength"].as_f64().unwrap_or(0.0) as u64;
                if *preflight {
                    load.preflights += 1;
                } else {
                    load.requests += 1;
                }
            }
            _ => {}
        }
    }
    load
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// Runs the side-by-side load bench and prints its table (needs the release build, Chromium and
/// chromedriver: `cargo xtask bench` sees to all three).
pub fn run() {
    let widget = widget_sizes();
    let moyasar = sizes(&[&moyasar_dist().join("moyasar.umd.js"), &moyasar_dist().join("moyasar.css")]);

    let listener = TcpListener::bind("127.0.0.1:0").expect("a local port");
    let origin = format!("http://{}", listener.local_addr().expect("an address"));
    let shop = ShopConfig { id: "benchshop".into(), origin, secret: "bench-widget-secret-0123".into() };
    let edge = Edge::start(EdgeOptions { shops: vec![shop.clone()], ..Default::default() });
    let server = PageServer::start(listener, edge.base.clone(), shop);
    let driver = Driver::start();

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a runtime");
    let loads = runtime.block_on(async {
        let c = offline_browser(&driver).await;
        let session = c.session_id().await.expect("a session id").expect("a session id");
        let mut loads: Vec<Vec<Load>> = vec![Vec::new(); Page::ALL.len()];
        // One warm-up round (workerd compiles the edge, Chromium its caches of itself), then
        // the pages in turn, so that a slow moment of the machine falls on all three alike.
        for round in 0..=LOADS {
            for (i, page) in Page::ALL.into_iter().enumerate() {
                let measured = load(&c, &driver, &session, &server, page).await;
                if round > 0 {
                    loads[i].push(measured);
                }
            }
        }
        c.close().await.ok();
        loads
    });

    println!(
        "== checkout page load, side by side: one headless Chromium, {LOADS} loads of each page (interleaved, \
         after a warm-up round), HTTP cache cleared before each"
    );
    println!("{:<38} {:>11} {:>11} {:>11} {:>10}  requests", "page", "ready p50", "ready min", "ready max", "bytes");
    for (page, loads) in Page::ALL.into_iter().zip(&loads) {
        let times: Vec<f64> = loads.iter().map(|l| l.ready_ms).collect();
        let (min, max) = times.iter().fold((f64::MAX, f64::MIN), |(lo, hi), t| (lo.min(*t), hi.max(*t)));
        let preflights = median(loads.iter().map(|l| l.preflights as f64).collect());
        println!(
            "{:<38} {:>8.1} ms {:>8.1} ms {:>8.1} ms {:>10.0}  {:.0}{}",
            page.label(),
            median(times.clone()),
            min,
            max,
            median(loads.iter().map(|l| l.bytes as f64).collect()),
            median(loads.iter().map(|l| l.requests as f64).collect()),
            if preflights > 0.0 { format!(" + {preflights:.0} CORS preflight") } else { String::new() },
        );
    }
    println!(
        "(ready: performance.mark(\"ready\").startTime, ms from navigation start, set when the widget's data-state \
         is ready / Moyasar's card inputs exist / DOMContentLoaded)"
    );
    let (gzipped, answers): (usize, usize) =
        loads.iter().flatten().fold((0, 0), |(g, n), l| (g + l.gzipped, n + l.answers));
    println!(
        "(bytes, requests: medians. Bytes on the wire, headers included, of every request until ready, as Chromium \
         counts them: DevTools' Network.loadingFinished encodedDataLength, from chromedriver's performance log; the \
         Performance API's transferSize and encodedBodySize are 0 for the widget's files, cross-origin without \
         Timing-Allow-Origin. Local workerd and the bench's server gzip ({gzipped} of {answers} answers): Chromium \
         asks for brotli only over https, so these are gzip sizes where a CDN would send brotli)"
    );
    println!(
        "brotli: Bawaba loader + glue + wasm {} B of the widget's {WIDGET_BROTLI_BUDGET} B budget; \
         Moyasar JS + CSS {} B",
        widget.brotli, moyasar.brotli
    );
    let seen = server.seen.lock().unwrap();
    let elsewhere: Vec<&String> = loads.iter().flatten().flat_map(|l| &l.elsewhere).collect();
    println!(
        "network: {} requests to Moyasar's API (its base_url is the bench's server){}, {} to other hosts{}",
        seen.moyasar_api.len(),
        if seen.moyasar_api.is_empty() { String::new() } else { format!(" {:?}", seen.moyasar_api) },
        elsewhere.len(),
        if elsewhere.is_empty() { String::new() } else { format!(" {elsewhere:?}") }
    );
    assert!(seen.unknown.is_empty(), "a bench page asked for files the server does not have: {:?}", seen.unknown);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_loaders_hashed_names_are_found_and_checked() {
        let loader = r#"const files = { glue: "widget/bawaba_widget.0123456789abcdef.js", wasm: "widget/bawaba_widget_bg.fedcba9876543210.wasm" };
const base = new URL(".", import.meta.url).href;"#;
        let names = HashedNames::in_loader(loader);
        assert_eq!(names.glue, "widget/bawaba_widget.0123456789abcdef.js");
        assert_eq!(names.wasm, "widget/bawaba_widget_bg.fedcba9876543210.wasm");
        assert_eq!(content_hash_of(&names.wasm), Some("fedcba9876543210"));
        for unhashed in ["widget/bawaba_widget.js", "widget/bawaba_widget_bg.wasm", "widget/bawaba_widget.0123.js"] {
            assert_eq!(content_hash_of(unhashed), None, "{unhashed}");
        }
        let old = r#"import(new URL("widget/bawaba_widget.js", base).href)"#;
        assert!(std::panic::catch_unwind(|| HashedNames::in_loader(old)).is_err(), "an unhashed loader");
    }
}
