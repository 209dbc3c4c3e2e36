//! The load driver behind `cargo xtask load` and `tests/tests/load.rs`: N concurrent shoppers pay
//! on the real edge in local workerd for a fixed time, each in a loop (mint an intent, `POST
//! /v1/sessions`, pay with the approving mada card on the sandbox's hosted page, come back through
//! the edge's return route), while a [`FakeShop`] receives the signed notifications. Then it
//! waits, bounded, until every paid reference is notified and checks what arrived: no 5xx
//! anywhere, and each reference that paid has exactly one distinct `payment.succeeded`, verified
//! with the shop's secret, for its amount; none lost, none duplicated, nothing else.
//!
//! Beside it, in the same run, the same number of clients send plain `GET /` to the trivial
//! worker (`tests/bench/trivial`) for the same time, so the figures can be read against what
//! workerd on this machine does with no work at all. The two phases run one after the other,
//! not at the same time, so that they do not share the CPU.
//!
//! Figures are printed, never compared with a budget: only the checks can fail a run.

use crate::edge::{Edge, EdgeOptions, ShopConfig};
use crate::fake_shop::{FakeShop, Received};
use crate::flows;
use bawaba_core::notification::{EventType, Notification};
use bawaba_core::signature;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::time::{Duration, Instant};

/// The sandbox's approving mada card.
pub const APPROVED_CARD: &str = "4464040000000007";

/// How many error samples each step keeps for the report.
const SAMPLES_KEPT: usize = 5;

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Concurrent shoppers (and concurrent clients of the trivial worker).
    pub shoppers: usize,
    /// How long shoppers start new payments (a payment under way at the end is finished).
    pub duration: Duration,
    /// How long to wait afterwards for the last notifications.
    pub settle: Duration,
    /// Whether to drive the trivial worker too, for comparison.
    pub trivial: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { shoppers: 8, duration: Duration::from_secs(20), settle: Duration::from_secs(60), trivial: true }
    }
}

/// The `[vars]` of the edge under load: rate limits on session starts raised out of the way
/// (everything comes from one client and one shop), the sandbox's webhook sent soon after the
/// payment (so it races the return, as in production), and a failed delivery retried within
/// seconds rather than the default 30 s, so a run settles in bounded time.
pub fn edge_vars() -> Vec<(String, String)> {
    [
        ("LIMIT_SESSIONS_PER_CLIENT_PER_MINUTE", "1000000"),
        ("LIMIT_SESSIONS_PER_SHOP_PER_MINUTE", "1000000"),
        ("SANDBOX_WEBHOOK_DELAY_MS", "50"),
        ("NOTIFY_RETRY_BASE_MS", "1000"),
        ("NOTIFY_RETRY_MAX_MS", "5000"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// One kind of request: its latencies and how its answers went.
#[derive(Debug, Clone, Default)]
pub struct Step {
    /// What it is, as printed.
    pub name: String,
    /// Latency of every answered request (any status).
    pub latencies: Vec<Duration>,
    /// Answered with the expected status.
    pub ok: usize,
    /// Answered 4xx (when 4xx was not expected).
    pub client_errors: usize,
    /// Answered 5xx.
    pub server_errors: usize,
    /// Answered with another unexpected status (a 200 where a 303 was due, …).
    pub unexpected: usize,
    /// No answer at all (connection refused or reset, timeout).
    pub failed: usize,
    /// The first few distinct problems, for the report.
    pub samples: Vec<String>,
}

impl Step {
    fn new(name: &str) -> Step {
        Step { name: name.into(), ..Default::default() }
    }

    /// Counts one request that started at `started`; `expected` is the status it should get.
    fn record(&mut self, started: Instant, answer: &Result<Answer, String>, expected: u16) {
        match answer {
            Ok(a) => {
                self.latencies.push(started.elapsed());
                match a.status {
                    s if s == expected => self.ok += 1,
                    400..=499 => self.client_errors += 1,
                    500..=599 => self.server_errors += 1,
                    _ => self.unexpected += 1,
                }
                if a.status != expected {
                    let body: String = a.body.chars().take(200).collect();
                    self.sample(format!("{} (expected {expected}): {body}", a.status));
                }
            }
            Err(e) => {
                self.failed += 1;
                self.sample(format!("no answer: {e}"));
            }
        }
    }

    fn sample(&mut self, what: String) {
        if self.samples.len() < SAMPLES_KEPT && !self.samples.contains(&what) {
            self.samples.push(what);
        }
    }

    /// Requests sent.
    pub fn count(&self) -> usize {
        self.ok + self.client_errors + self.server_errors + self.unexpected + self.failed
    }

    /// Requests that did not go as expected (any reason).
    pub fn errors(&self) -> usize {
        self.count() - self.ok
    }

    fn merge(&mut self, other: Step) {
        self.latencies.extend(other.latencies);
        self.ok += other.ok;
        self.client_errors += other.client_errors;
        self.server_errors += other.server_errors;
        self.unexpected += other.unexpected;
        self.failed += other.failed;
        for s in other.samples {
            self.sample(s);
        }
    }

    /// The `p` quantile (0.5, 0.99) of the latencies, nearest rank; zero without samples.
    pub fn percentile(&self, p: f64) -> Duration {
        let mut sorted = self.latencies.clone();
        sorted.sort();
        if sorted.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((sorted.len() as f64) * p).ceil() as usize;
        sorted[rank.clamp(1, sorted.len()) - 1]
    }
}

/// A reference whose payment the sandbox approved: the shop must hear of it exactly once.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Paid {
    /// The intent's `sub`.
    pub reference: String,
    /// Minor units.
    pub amount: i64,
}

/// What the fake shop received, checked against what was paid.
#[derive(Debug, Clone, Default)]
pub struct Deliveries {
    /// Paid references notified exactly once, as `payment.succeeded` for their amount.
    pub notified: usize,
    /// Paid references with no notification.
    pub lost: Vec<String>,
    /// Paid references with more than one distinct event (by `event_id`), and what they were.
    pub duplicated: Vec<String>,
    /// Anything else wrong: a signature that does not verify, a body that is not a
    /// notification, another event type or amount, a notification for a reference nobody paid.
    pub wrong: Vec<String>,
    /// Notification requests the shop acknowledged (2xx), redeliveries included.
    pub acknowledged: usize,
    /// Of those, repeats of an event already acknowledged (allowed: the shop deduplicates on
    /// `event_id`; a retry after a lost acknowledgement looks like this).
    pub redelivered: usize,
    /// Notification requests the shop did not acknowledge (it answered otherwise or not at all).
    pub refused: usize,
}

impl Deliveries {
    /// No lost, duplicated or wrong notification.
    pub fn clean(&self) -> bool {
        self.lost.is_empty() && self.duplicated.is_empty() && self.wrong.is_empty()
    }
}

/// Checks what a shop received (`received`, everything its [`FakeShop`] recorded) against the
/// references that paid. Only requests the shop acknowledged count, as a real shop acts only on
/// those; each is verified with the shop's secret (`tolerance_secs` for its timestamp) and
/// deduplicated by `event_id`, as the shop does.
pub fn check_deliveries(shop: &ShopConfig, paid: &[Paid], received: &[Received], tolerance_secs: i64) -> Deliveries {
    let mut out = Deliveries::default();
    let mut events: BTreeMap<String, BTreeMap<String, Notification>> = BTreeMap::new();
    let now = crate::now();
    for r in received.iter().filter(|r| r.path.split('?').next() == Some("/notify")) {
        if !(200..300).contains(&r.answered) {
            out.refused += 1;
            continue;
        }
        out.acknowledged += 1;
        if let Err(e) =
            signature::verify(shop.secret.as_bytes(), r.header(signature::HEADER), &r.body, now, tolerance_secs)
        {
            out.wrong.push(format!("a notification whose signature does not verify ({e:?})"));
            continue;
        }
        let n: Notification = match serde_json::from_slice(&r.body) {
            Ok(n) => n,
            Err(e) => {
                out.wrong
                    .push(format!("a body that is not a notification ({e}): {}", String::from_utf8_lossy(&r.body)));
                continue;
            }
        };
        let for_reference = events.entry(n.reference.clone()).or_default();
        if for_reference.contains_key(&n.event_id) {
            out.redelivered += 1;
        } else {
            for_reference.insert(n.event_id.clone(), n);
        }
    }
    let paid_references: BTreeSet<&str> = paid.iter().map(|p| p.reference.as_str()).collect();
    for p in paid {
        let Some(got) = events.get(&p.reference) else {
            out.lost.push(p.reference.clone());
            continue;
        };
        if got.len() > 1 {
            let kinds: Vec<String> = got.values().map(|n| format!("{} {}", n.event_id, kind(n.event_type))).collect();
            out.duplicated.push(format!("{}: {}", p.reference, kinds.join(", ")));
            continue;
        }
        let n = got.values().next().expect("one event");
        if n.event_type != EventType::PaymentSucceeded || n.amount != p.amount || n.shop_id != shop.id {
            out.wrong.push(format!(
                "{}: {} for {} by shop {}, expected payment.succeeded for {} by {}",
                p.reference,
                kind(n.event_type),
                n.amount,
                n.shop_id,
                p.amount,
                shop.id
            ));
            continue;
        }
        out.notified += 1;
    }
    for (reference, got) in &events {
        if !paid_references.contains(reference.as_str()) {
            let kinds: Vec<String> = got.values().map(|n| kind(n.event_type)).collect();
            out.wrong.push(format!("{reference}: notified ({}) but never paid", kinds.join(", ")));
        }
    }
    out
}

fn kind(t: EventType) -> String {
    serde_json::to_value(t).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_else(|| format!("{t:?}"))
}

/// The whole run: figures and check results.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// What was run.
    pub options: Options,
    /// The trivial worker's `GET /` (when driven).
    pub trivial: Option<Step>,
    /// How long the trivial phase took.
    pub trivial_elapsed: Duration,
    /// The edge's steps, in a payment's order.
    pub steps: Vec<Step>,
    /// The whole payment, from `POST /v1/sessions` to the edge's redirect to the shop.
    pub payments: Step,
    /// How long the edge phase took (until the last shopper finished).
    pub edge_elapsed: Duration,
    /// How the edge's return route said the payment stood (`paid`, `pending`, …), by count.
    pub return_statuses: BTreeMap<String, usize>,
    /// References the sandbox approved.
    pub paid: Vec<Paid>,
    /// The notification check, at the end.
    pub deliveries: Deliveries,
    /// From the end of the edge phase until every paid reference was notified (or the wait
    /// gave up).
    pub settled_after: Duration,
    /// Deliveries the edge still lists as `undelivered` at the end (`None`: could not ask).
    pub undelivered: Option<usize>,
    /// Lines of wrangler's log that look like trouble (uncaught errors, panics), first few.
    pub log_trouble: Vec<String>,
}

impl Outcome {
    /// 5xx answers anywhere in the run.
    pub fn server_errors(&self) -> usize {
        self.steps.iter().map(|s| s.server_errors).sum::<usize>() + self.trivial.as_ref().map_or(0, |t| t.server_errors)
    }

    /// Requests that failed otherwise: no answer, a 4xx, another unexpected status.
    pub fn other_errors(&self) -> usize {
        let step = |s: &Step| s.errors() - s.server_errors;
        self.steps.iter().map(step).sum::<usize>() + self.trivial.as_ref().map_or(0, step)
    }

    /// What failed, one line each; empty when every check passed.
    pub fn failures(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut all: Vec<&Step> = self.steps.iter().collect();
        all.extend(self.trivial.as_ref());
        for s in all {
            if s.errors() > 0 {
                out.push(format!(
                    "{}: {} of {} requests went wrong ({} 5xx, {} 4xx, {} other status, {} unanswered); first: {}",
                    s.name,
                    s.errors(),
                    s.count(),
                    s.server_errors,
                    s.client_errors,
                    s.unexpected,
                    s.failed,
                    s.samples.join(" | ")
                ));
            }
        }
        let d = &self.deliveries;
        if self.paid.is_empty() {
            out.push("no payment was approved: nothing was load-tested".into());
        }
        if !d.lost.is_empty() {
            out.push(format!(
                "{} of {} paid references were never notified within {} s: {}",
                d.lost.len(),
                self.paid.len(),
                self.options.settle.as_secs(),
                first(&d.lost)
            ));
        }
        if !d.duplicated.is_empty() {
            out.push(format!(
                "{} paid references got more than one distinct event: {}",
                d.duplicated.len(),
                first(&d.duplicated)
            ));
        }
        if !d.wrong.is_empty() {
            out.push(format!("{} wrong notifications: {}", d.wrong.len(), first(&d.wrong)));
        }
        out
    }

    /// The figures as a small aligned table.
    pub fn table(&self) -> String {
        let mut t = String::new();
        let o = &self.options;
        let _ = writeln!(
            t,
            "== load: {} concurrent clients for {} s on local workerd (this machine)",
            o.shoppers,
            o.duration.as_secs()
        );
        let _ = writeln!(
            t,
            "{:<34} {:>7} {:>7} {:>5} {:>5} {:>6} {:>7} {:>9} {:>9} {:>9}",
            "", "count", "ok", "4xx", "5xx", "other", "failed", "ok/s", "p50 ms", "p99 ms"
        );
        let row = |t: &mut String, s: &Step, elapsed: Duration| {
            let per_s = s.ok as f64 / elapsed.as_secs_f64().max(1e-9);
            let _ = writeln!(
                t,
                "{:<34} {:>7} {:>7} {:>5} {:>5} {:>6} {:>7} {:>9.1} {:>9.1} {:>9.1}",
                s.name,
                s.count(),
                s.ok,
                s.client_errors,
                s.server_errors,
                s.unexpected,
                s.failed,
                per_s,
                ms(s.percentile(0.5)),
                ms(s.percentile(0.99))
            );
        };
        if let Some(trivial) = &self.trivial {
            row(&mut t, trivial, self.trivial_elapsed);
        }
        for s in &self.steps {
            row(&mut t, s, self.edge_elapsed);
        }
        row(&mut t, &self.payments, self.edge_elapsed);
        let _ = writeln!(
            t,
            "(other: an unexpected status; failed: no answer, or for a whole payment, not completed; \
             latencies of answered requests, whole payments of completed ones)"
        );
        let d = &self.deliveries;
        let returns: Vec<String> = self.return_statuses.iter().map(|(k, v)| format!("{v} {k}")).collect();
        let _ = writeln!(t, "the return said: {}", if returns.is_empty() { "-".into() } else { returns.join(", ") });
        let _ = writeln!(
            t,
            "notifications: {} paid, {} notified once, {} lost, {} duplicated, {} wrong; {} acknowledged \
             ({} redelivered), {} not acknowledged; settled {:.1} s after the last payment; {} left undelivered",
            self.paid.len(),
            d.notified,
            d.lost.len(),
            d.duplicated.len(),
            d.wrong.len(),
            d.acknowledged,
            d.redelivered,
            d.refused,
            self.settled_after.as_secs_f64(),
            self.undelivered.map_or("?".into(), |n| n.to_string()),
        );
        if !self.log_trouble.is_empty() {
            let _ = writeln!(t, "wrangler's log shows trouble:");
            for line in &self.log_trouble {
                let _ = writeln!(t, "  {line}");
            }
        }
        t
    }

    /// The one-line summary: `load: … 0 5xx, 0 lost, 0 duplicated`.
    pub fn summary(&self) -> String {
        let p = &self.payments;
        let pay_rate = p.ok as f64 / self.edge_elapsed.as_secs_f64().max(1e-9);
        let beside = match &self.trivial {
            Some(t) => format!(
                " beside the trivial worker's {:.0} requests/s",
                t.ok as f64 / self.trivial_elapsed.as_secs_f64().max(1e-9)
            ),
            None => String::new(),
        };
        format!(
            "load: {} shoppers, {} s: {} payments ({pay_rate:.1}/s, p50 {:.0} ms, p99 {:.0} ms){beside}; \
             {} other errors, {} wrong; {} 5xx, {} lost, {} duplicated",
            self.options.shoppers,
            self.options.duration.as_secs(),
            p.ok,
            ms(p.percentile(0.5)),
            ms(p.percentile(0.99)),
            self.other_errors(),
            self.deliveries.wrong.len(),
            self.server_errors(),
            self.deliveries.lost.len(),
            self.deliveries.duplicated.len(),
        )
    }
}

fn first(items: &[String]) -> String {
    let shown: Vec<&str> = items.iter().take(SAMPLES_KEPT).map(String::as_str).collect();
    let more =
        if items.len() > SAMPLES_KEPT { format!(" (and {} more)", items.len() - SAMPLES_KEPT) } else { "".into() };
    format!("{}{more}", shown.join("; "))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// An HTTP answer.
#[derive(Debug, Clone)]
struct Answer {
    status: u16,
    location: Option<String>,
    body: String,
}

/// A client: every status is a value, no redirects, a transport failure is an `Err` (counted,
/// never a panic, so that one bad answer does not end a shopper).
struct Client(ureq::Agent);

impl Client {
    fn new() -> Client {
        Client(
            ureq::Agent::config_builder()
                .http_status_as_error(false)
                .max_redirects(0)
                .timeout_global(Some(Duration::from_secs(30)))
                .build()
                .into(),
        )
    }

    fn answer(result: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Result<Answer, String> {
        let mut resp = result.map_err(|e| e.to_string())?;
        let location = resp.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_string);
        let status = resp.status().as_u16();
        let body = resp.body_mut().read_to_string().map_err(|e| format!("reading the body: {e}"))?;
        Ok(Answer { status, location, body })
    }

    fn get(&self, url: &str) -> Result<Answer, String> {
        Self::answer(self.0.get(url).call())
    }

    fn post(&self, url: &str, content_type: &str, body: &[u8]) -> Result<Answer, String> {
        Self::answer(self.0.post(url).header("Content-Type", content_type).send(body))
    }
}

/// What one shopper did.
struct Shopper {
    steps: Vec<Step>,
    payments: Step,
    paid: Vec<Paid>,
    return_statuses: BTreeMap<String, usize>,
}

fn step_names() -> [&'static str; 3] {
    ["edge: POST /v1/sessions", "edge: sandbox page: pay (POST)", "edge: GET return (confirms)"]
}

/// Pays in a loop until `until`; `warmup` marks the run's first payment, left out of the figures
/// (it compiles and instantiates the worker) but checked like the others.
fn shop_until(edge: &Edge, shop: &ShopConfig, id: usize, until: Instant, warmup: bool) -> Shopper {
    let client = Client::new();
    let mut me = Shopper {
        steps: step_names().iter().map(|n| Step::new(n)).collect(),
        payments: Step::new("edge: whole payment"),
        paid: Vec::new(),
        return_statuses: BTreeMap::new(),
    };
    let sessions_url = edge.url("/v1/sessions");
    let mut n = 0u64;
    loop {
        if Instant::now() >= until && !(warmup && n == 0) {
            break;
        }
        n += 1;
        let reference = format!("load-{}-{id}-{n}", std::process::id());
        let amount = 1000 + (n as i64 * 7 + id as i64) % 9000;
        let mut steps = step_names().map(Step::new);
        let mut payment = Step::new("");
        let started = Instant::now();
        let result = pay_once(&client, shop, &sessions_url, &reference, amount, &mut steps);
        let pause = match result {
            Some((true, status)) => {
                me.paid.push(Paid { reference, amount });
                payment.record(started, &Ok(Answer { status: 303, location: None, body: String::new() }), 303);
                *me.return_statuses.entry(status).or_default() += 1;
                false
            }
            Some((false, _)) => {
                me.paid.push(Paid { reference, amount });
                payment.failed += 1;
                true
            }
            None => {
                payment.failed += 1;
                true
            }
        };
        if warmup && n == 1 {
            // Left out of the figures, but paid and checked, and its errors count.
            for (mine, s) in me.steps.iter_mut().zip(steps) {
                mine.merge(Step { latencies: Vec::new(), ok: 0, ..s });
            }
            continue;
        }
        for (mine, s) in me.steps.iter_mut().zip(steps) {
            mine.merge(s);
        }
        me.payments.merge(payment);
        if pause {
            std::thread::sleep(Duration::from_millis(50)); // do not spin on a failing edge
        }
    }
    me
}

/// One payment. `None`: not approved (the session or the card failed); `Some((true, status))`:
/// approved, and the return redirected to the shop saying `status`; `Some((false, _))`: approved
/// but the return failed (the shop must still hear of it).
fn pay_once(
    client: &Client,
    shop: &ShopConfig,
    sessions_url: &str,
    reference: &str,
    amount: i64,
    steps: &mut [Step; 3],
) -> Option<(bool, String)> {
    let intent = flows::sign(shop, &flows::claims(shop, reference, amount));
    let body = serde_json::json!({"intent": intent, "method": "mada"}).to_string();
    let t = Instant::now();
    let session = client.post(sessions_url, "application/json", body.as_bytes());
    steps[0].record(t, &session, 200);
    let session = session.ok().filter(|a| a.status == 200)?;
    let hosted = serde_json::from_str::<serde_json::Value>(&session.body)
        .ok()
        .and_then(|v| v["next_action"]["url"].as_str().map(str::to_string));
    let Some(hosted) = hosted else {
        steps[0].ok -= 1;
        steps[0].unexpected += 1;
        steps[0].sample(format!("a session without a redirect: {}", session.body));
        return None;
    };
    let form = format!("number={APPROVED_CARD}&expiry=12%2F34&cvc=123");
    let t = Instant::now();
    let page = client.post(&hosted, "application/x-www-form-urlencoded", form.as_bytes());
    steps[1].record(t, &page, 303);
    let back_url = page.ok().filter(|a| a.status == 303)?.location?;
    let t = Instant::now();
    let back = client.get(&back_url);
    steps[2].record(t, &back, 303);
    match back {
        Ok(a) if a.status == 303 => {
            let status = a
                .location
                .as_deref()
                .and_then(|l| l.split(['?', '&']).find_map(|kv| kv.strip_prefix("status=")))
                .unwrap_or("?")
                .to_string();
            Some((true, status))
        }
        _ => Some((false, String::new())),
    }
}

/// `GET /` on the trivial worker from `clients` clients until `until`.
fn hammer(url: &str, clients: usize, duration: Duration) -> (Step, Duration) {
    let warm = Client::new();
    for _ in 0..20 {
        let _ = warm.get(url);
    }
    let started = Instant::now();
    let until = started + duration;
    let mut total = Step::new("trivial worker: GET /");
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..clients)
            .map(|_| {
                scope.spawn(move || {
                    let client = Client::new();
                    let mut s = Step::new("");
                    while Instant::now() < until {
                        let t = Instant::now();
                        let a = client.get(url);
                        s.record(t, &a, 200);
                    }
                    s
                })
            })
            .collect();
        for h in handles {
            total.merge(h.join().expect("a trivial client"));
        }
    });
    (total, started.elapsed())
}

/// Wrangler's log lines that look like trouble.
fn trouble(log: &str) -> Vec<String> {
    let mut lines: Vec<String> = log
        .lines()
        .filter(|l| {
            let lower = l.to_ascii_lowercase();
            lower.contains("panicked")
                || lower.contains("uncaught")
                || lower.contains("[wrangler:error]")
                || lower.contains("✘")
                || lower.contains("exceeded")
        })
        .map(|l| l.chars().take(240).collect())
        .collect();
    let total = lines.len();
    lines.truncate(SAMPLES_KEPT * 2);
    if total > lines.len() {
        lines.push(format!("… {} such lines in all", total));
    }
    lines
}

/// Runs the load: starts a fake shop, the edge (and the trivial worker), drives them, waits
/// for the notifications and checks them. Progress goes to stderr.
pub fn run(options: &Options) -> Outcome {
    let fake = FakeShop::start();
    let shop =
        ShopConfig { id: "load".into(), origin: fake.origin.clone(), secret: "load-secret-0123456789abcdef".into() };
    eprintln!(
        "load: starting the edge{} in local workerd",
        if options.trivial { " and the trivial worker" } else { "" }
    );
    let (edge, trivial_edge) = std::thread::scope(|scope| {
        let trivial = options.trivial.then(|| scope.spawn(Edge::start_trivial));
        let edge = Edge::start(EdgeOptions { shops: vec![shop.clone()], vars: edge_vars(), ..Default::default() });
        (edge, trivial.map(|t| t.join().expect("the trivial worker starts")))
    });

    let (trivial, trivial_elapsed) = match &trivial_edge {
        Some(t) => {
            eprintln!(
                "load: {} clients GET / on the trivial worker for {} s",
                options.shoppers,
                options.duration.as_secs()
            );
            let (step, elapsed) = hammer(&t.url("/"), options.shoppers, options.duration);
            t.stop(); // free the CPU for the edge phase
            (Some(step), elapsed)
        }
        None => (None, Duration::ZERO),
    };
    drop(trivial_edge);

    eprintln!(
        "load: {} shoppers pay on the edge for {} s (create session, pay on the sandbox, return)",
        options.shoppers,
        options.duration.as_secs()
    );
    // One payment first, left out of the figures: it compiles and instantiates the worker.
    let warm = shop_until(&edge, &shop, 0, Instant::now(), true);
    let started = Instant::now();
    let until = started + options.duration;
    let mut steps: Vec<Step> = step_names().iter().map(|n| Step::new(n)).collect();
    let mut payments = Step::new("edge: whole payment");
    let mut paid = warm.paid.clone();
    let mut return_statuses = BTreeMap::new();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (1..=options.shoppers)
            .map(|id| {
                scope.spawn({
                    let (edge, shop) = (&edge, &shop);
                    move || shop_until(edge, shop, id, until, false)
                })
            })
            .collect();
        for h in handles {
            let me = h.join().expect("a shopper");
            for (all, s) in steps.iter_mut().zip(me.steps) {
                all.merge(s);
            }
            payments.merge(me.payments);
            paid.extend(me.paid);
            for (k, v) in me.return_statuses {
                *return_statuses.entry(k).or_default() += v;
            }
        }
    });
    let edge_elapsed = started.elapsed();
    // Warm-up problems count too (they are not in the figures, but a 5xx is a 5xx).
    for (all, s) in steps.iter_mut().zip(warm.steps) {
        all.merge(s);
    }

    eprintln!(
        "load: waiting (at most {} s) for the notifications of {} paid references",
        options.settle.as_secs(),
        paid.len()
    );
    let tolerance = (started.elapsed() + options.settle).as_secs() as i64 + signature::DEFAULT_TOLERANCE_SECS;
    let settle_started = Instant::now();
    let settle_until = settle_started + options.settle;
    let mut last_cron = Instant::now();
    let cron = Client::new();
    let mut deliveries = loop {
        let d = check_deliveries(&shop, &paid, &fake.received(), tolerance);
        if d.lost.is_empty() || Instant::now() >= settle_until {
            break d;
        }
        // Local workerd fires no crons: run the reconciliation sweep now and then, as
        // production's cron would (it only settles what the webhook and the return did not).
        if last_cron.elapsed() > Duration::from_secs(10) {
            let _ = cron.get(&edge.url("/cdn-cgi/handler/scheduled?cron=*+*+*+*+*"));
            last_cron = Instant::now();
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let settled_after = settle_started.elapsed();
    if deliveries.lost.is_empty() {
        // A duplicate would come later than the first delivery: give it a moment to show.
        std::thread::sleep(Duration::from_secs(2));
        deliveries = check_deliveries(&shop, &paid, &fake.received(), tolerance);
    }
    let undelivered = undelivered(&edge, &shop);
    let log_trouble = trouble(&edge.log_text());
    edge.stop();
    Outcome {
        options: options.clone(),
        trivial,
        trivial_elapsed,
        steps,
        payments,
        edge_elapsed,
        return_statuses,
        paid,
        deliveries,
        settled_after,
        undelivered,
        log_trouble,
    }
}

/// How many of the shop's deliveries the edge still lists as undelivered.
fn undelivered(edge: &Edge, shop: &ShopConfig) -> Option<usize> {
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        flows::signed_get(edge, shop, "/v1/deliveries?state=undelivered")
    }))
    .ok()?;
    if r.status != 200 {
        return None;
    }
    let listed: serde_json::Value = serde_json::from_str(&r.body).ok()?;
    listed["deliveries"].as_array().map(Vec::len)
}
