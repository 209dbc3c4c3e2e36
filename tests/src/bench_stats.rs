//! The stats part of `cargo xtask bench`: an edge in local workerd whose D1 holds a realistic
//! record of [`SHOP_ATTEMPTS`] attempts of one shop over the last 90 days (plus older ones of
//! that shop and another shop's), for timing `GET /v1/stats` and the dashboard over it.
//!
//! The rows come from a deterministic generator (an LCG: the same mix on every run, at times
//! relative to now) and are loaded with the documented tool, `wrangler d1 execute STATS --local
//! --file`, into the edge's own state while its workerd is stopped. Every report the bench reads
//! before timing is checked against [`bawaba_core::stats::compute`] over the same rows, so the
//! bench cannot silently time an empty or wrong table.

use crate::edge::{node_dir, Edge, EdgeOptions, ShopConfig};
use crate::{flows, http, root, wait_for};
use bawaba_core::dashboard::link::{self, LinkClaims};
use bawaba_core::decline::DeclineReason;
use bawaba_core::stats::{self, Attempt, AttemptResult, GroupBy, GroupStats, StatsQuery, StatsReport};
use std::fmt::Write;

/// Attempts of the bench's shop inside the last 90 days.
pub const SHOP_ATTEMPTS: usize = 100_000;
/// Attempts of the bench's shop 91 to 120 days ago: outside every window the bench reads.
const SHOP_OLDER_ATTEMPTS: usize = 5_000;
/// Attempts of another shop over 120 days, which the shop filter must leave out.
const OTHER_ATTEMPTS: usize = 20_000;
const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;
/// Rows per multi-row INSERT (well under D1's 100 KB statement limit).
const ROWS_PER_INSERT: usize = 400;

/// A 64-bit linear congruential generator (Knuth's MMIX constants): deterministic, no crate.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        self.next() as f64 / (1u64 << 31) as f64
    }

    /// Uniform in `[lo, hi]`.
    fn between(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo + 1) as u64) as i64
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// One of `choices`, by weight.
    fn pick<T: Copy>(&mut self, choices: &[(T, u32)]) -> T {
        let total: u32 = choices.iter().map(|(_, w)| w).sum();
        let mut roll = (self.next() % u64::from(total)) as u32;
        for (value, weight) in choices {
            if roll < *weight {
                return *value;
            }
            roll -= weight;
        }
        unreachable!("the roll is below the total weight")
    }
}

const GATEWAYS: [(&str, u32); 4] = [("moyasar", 40), ("tap", 25), ("aps", 25), ("sandbox", 10)];
const METHODS: [(&str, u32); 4] = [("mada", 45), ("visa", 25), ("mastercard", 15), ("applepay", 15)];
const RESULTS: [(AttemptResult, u32); 5] = [
    (AttemptResult::Paid, 800),
    (AttemptResult::Authorized, 10),
    (AttemptResult::Failed, 120),
    (AttemptResult::Canceled, 50),
    (AttemptResult::Pending, 20),
];
const DECLINES: [(DeclineReason, u32); 10] = [
    (DeclineReason::InsufficientFunds, 30),
    (DeclineReason::DoNotHonor, 20),
    (DeclineReason::Declined, 15),
    (DeclineReason::InvalidCard, 10),
    (DeclineReason::AuthenticationFailed, 10),
    (DeclineReason::ExpiredCard, 5),
    (DeclineReason::SuspectedFraud, 4),
    (DeclineReason::LimitExceeded, 3),
    (DeclineReason::CardNotSupported, 2),
    (DeclineReason::GatewayError, 1),
];
const CANCELS: [(&str, u32); 3] = [("canceled_by_shopper", 60), ("expired_session", 25), ("superseded", 15)];

/// What the bench put into D1.
pub struct Seed {
    /// Every attempt row, all shops.
    pub attempts: Vec<Attempt>,
    /// Every checkout row: (shop, reference, shown at ms).
    pub checkouts: Vec<(String, String, i64)>,
}

impl Seed {
    /// Generates the rows, at times before `now_ms`.
    pub fn generate(shop: &str, other: &str, now_ms: i64) -> Seed {
        let mut seed = Seed { attempts: Vec::new(), checkouts: Vec::new() };
        let mut rng = Lcg(0x00ba_3aba_5eed);
        // Nothing within an hour of a 90-day window's edge, so the bench's own minutes never
        // move a row in or out of it; the 30-day window's edge falls among rows (its report is
        // checked against the window the edge says it used).
        let recent = (now_ms - 90 * DAY_MS + HOUR_MS, now_ms - HOUR_MS);
        let older = (now_ms - 120 * DAY_MS, now_ms - 91 * DAY_MS);
        seed.payments(&mut rng, shop, "SO", SHOP_ATTEMPTS, recent);
        seed.payments(&mut rng, shop, "OLD", SHOP_OLDER_ATTEMPTS, older);
        seed.payments(&mut rng, other, "X", OTHER_ATTEMPTS, (older.0, recent.1));
        seed
    }

    /// Payments of `shop` until they made exactly `count` attempts between `from` and `to`:
    /// each shown to a shopper (some never started), most paid at the first attempt, some
    /// retried after a decline or a cancel. Volume grows over the span (about 3× from start to end).
    fn payments(&mut self, rng: &mut Lcg, shop: &str, prefix: &str, count: usize, (from, to): (i64, i64)) {
        let target = self.attempts.len() + count;
        let mut n = 0;
        while self.attempts.len() < target {
            n += 1;
            let reference = format!("{prefix}{n:07}");
            let x = if rng.chance(0.5) { rng.unit() } else { rng.unit().sqrt() };
            let shown = from + (x * (to - from) as f64) as i64;
            self.checkouts.push((shop.to_string(), reference.clone(), shown));
            if rng.chance(0.12) {
                continue; // looked at the methods, never started
            }
            let amount_minor = rng.between(1_500, 250_000);
            let mut started = shown + rng.between(3_000, 90_000);
            for try_no in 1..=3 {
                let a = attempt(rng, shop, &reference, &format!("ses_{prefix}{n:07}_{try_no}"), started, amount_minor);
                let retry = matches!(a.result, AttemptResult::Failed | AttemptResult::Canceled) && rng.chance(0.4);
                started += a.time_to_result_ms.unwrap_or(60_000) + rng.between(10_000, 120_000);
                self.attempts.push(a);
                if !retry || self.attempts.len() == target {
                    break;
                }
            }
        }
    }

    /// The SQL that loads the rows: multi-row INSERTs, which `wrangler d1 execute` runs as one
    /// batch, in one transaction.
    pub fn sql(&self) -> String {
        let mut out = String::with_capacity(self.attempts.len() * 200 + self.checkouts.len() * 60);
        let text = |s: &str| {
            assert!(!s.contains('\''), "generated text has no quotes");
            format!("'{s}'")
        };
        let opt = |v: Option<i64>| v.map_or("NULL".to_string(), |v| v.to_string());
        for chunk in self.attempts.chunks(ROWS_PER_INSERT) {
            out.push_str(
                "INSERT INTO attempts (shop, reference, session_id, method, gateway, amount_minor, currency, \
                 started_at_ms, day, result, reason, three_ds, gateway_latency_ms, time_to_result_ms, updated_at_ms) \
                 VALUES\n",
            );
            for (i, a) in chunk.iter().enumerate() {
                let _ = write!(
                    out,
                    "{}({},{},{},{},{},{},{},{},{},{},{},{},{},{},{})",
                    if i == 0 { "" } else { ",\n" },
                    text(&a.shop),
                    text(&a.reference),
                    text(&a.session_id),
                    text(&a.method),
                    text(&a.gateway),
                    a.amount_minor,
                    text(&a.currency),
                    a.started_at_ms,
                    text(&stats::utc_day(a.started_at_ms)),
                    text(a.result.as_str()),
                    a.reason.as_deref().map_or("NULL".to_string(), text),
                    opt(a.three_ds.map(i64::from)),
                    opt(a.gateway_latency_ms),
                    opt(a.time_to_result_ms),
                    a.started_at_ms + a.time_to_result_ms.unwrap_or(0),
                );
            }
            out.push_str(";\n");
        }
        for chunk in self.checkouts.chunks(ROWS_PER_INSERT * 2) {
            out.push_str("INSERT INTO checkouts (shop, reference, shown_at_ms) VALUES\n");
            for (i, (shop, reference, at)) in chunk.iter().enumerate() {
                let _ = write!(out, "{}({},{},{at})", if i == 0 { "" } else { ",\n" }, text(shop), text(reference));
            }
            out.push_str(";\n");
        }
        out
    }

    /// How many attempts of `shop` started in `[from_ms, to_ms)`.
    pub fn count(&self, shop: &str, from_ms: i64, to_ms: i64) -> usize {
        self.attempts.iter().filter(|a| a.shop == shop && a.started_at_ms >= from_ms && a.started_at_ms < to_ms).count()
    }
}

/// One attempt started at `started`, with a realistic outcome, reason, 3-D Secure, latency and
/// time to result.
fn attempt(rng: &mut Lcg, shop: &str, reference: &str, session_id: &str, started: i64, amount_minor: i64) -> Attempt {
    let gateway = rng.pick(&GATEWAYS);
    let method = rng.pick(&METHODS);
    let result = rng.pick(&RESULTS);
    let reason = match result {
        AttemptResult::Failed => Some(rng.pick(&DECLINES).code().to_string()),
        AttemptResult::Canceled => Some(rng.pick(&CANCELS).to_string()),
        _ => None,
    };
    let card = method != "applepay";
    let three_ds = match reason.as_deref() {
        Some("authentication_failed") => Some(false),
        _ if card && matches!(result, AttemptResult::Paid | AttemptResult::Authorized) && rng.chance(0.3) => Some(true),
        _ => None,
    };
    let base = match gateway {
        "moyasar" => 280.0,
        "tap" => 340.0,
        "aps" => 520.0,
        _ => 25.0,
    };
    let tail = if rng.chance(0.05) { 2.0 + 3.0 * rng.unit() } else { 1.0 };
    let latency = (base * (0.6 + 0.8 * rng.unit()) * tail) as i64;
    let time_to_result = match (result, reason.as_deref()) {
        (AttemptResult::Pending, _) => None,
        (_, Some("expired_session")) => Some(rng.between(900_000, 960_000)),
        (_, Some("canceled_by_shopper")) => Some(rng.between(5_000, 300_000)),
        (AttemptResult::Paid | AttemptResult::Authorized, _) if !card => Some(rng.between(4_000, 30_000)),
        (AttemptResult::Paid | AttemptResult::Authorized, _) if three_ds.is_some() => {
            Some(rng.between(30_000, 240_000))
        }
        _ => Some(rng.between(12_000, 150_000)),
    };
    Attempt {
        shop: shop.to_string(),
        reference: reference.to_string(),
        session_id: session_id.to_string(),
        method: method.to_string(),
        gateway: gateway.to_string(),
        amount_minor,
        currency: "SAR".into(),
        started_at_ms: started,
        result,
        reason,
        three_ds,
        gateway_latency_ms: Some(latency),
        time_to_result_ms: time_to_result,
    }
}

/// A running edge whose D1 holds the [`Seed`].
pub struct StatsBench {
    /// The edge.
    pub edge: Edge,
    /// The shop whose numbers are read.
    pub shop: ShopConfig,
    /// The rows in its D1.
    pub seed: Seed,
    /// How long loading the rows took (`wrangler d1 execute`), seconds.
    pub load_secs: f64,
}

impl StatsBench {
    /// Starts an edge, stops its workerd, loads the rows into its local D1 with `wrangler d1
    /// execute`, and starts it again on the same storage.
    pub fn start() -> StatsBench {
        let shop = ShopConfig {
            id: "bench".into(),
            origin: "http://127.0.0.1:9".into(),
            secret: "bench-secret-0123456".into(),
        };
        let other = ShopConfig {
            id: "bench-other".into(),
            origin: "http://127.0.0.1:9".into(),
            secret: "bench-other-secret-0123456".into(),
        };
        let edge = Edge::start(EdgeOptions { shops: vec![shop.clone(), other.clone()], ..Default::default() });
        let seed = Seed::generate(&shop.id, &other.id, crate::now() * 1000);
        let dir = edge.log.parent().expect("the edge's directory").to_path_buf();
        let sql_file = root().join("target/bench-stats.sql");
        std::fs::write(&sql_file, seed.sql()).expect("write the seed SQL");

        // One writer at a time: workerd must have let go of the database first.
        edge.stop();
        let port: u16 = edge.base.rsplit(':').next().and_then(|p| p.parse().ok()).expect("port");
        wait_for(30, "the edge to stop", || std::net::TcpListener::bind(("127.0.0.1", port)).ok().map(drop));
        let started = std::time::Instant::now();
        let path = format!("{}:{}", node_dir().display(), std::env::var("PATH").unwrap_or_default());
        let output = std::process::Command::new(node_dir().join("node"))
            .arg(root().join("node_modules/wrangler/bin/wrangler.js"))
            .args(["d1", "execute", "STATS", "--local", "--yes", "--persist-to"])
            .arg(dir.join("state"))
            .arg("-c")
            .arg(dir.join("wrangler.toml"))
            .arg("--file")
            .arg(&sql_file)
            .env("PATH", path)
            .env("CI", "1")
            .env("WRANGLER_SEND_METRICS", "false")
            .output()
            .expect("wrangler d1 execute");
        assert!(
            output.status.success(),
            "wrangler d1 execute failed:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let load_secs = started.elapsed().as_secs_f64();
        let _ = std::fs::remove_file(&sql_file); // kept only when loading failed, to look at
        edge.restart();
        StatsBench { edge, shop, seed, load_secs }
    }

    /// Attempts in the table, all shops.
    pub fn rows(&self) -> usize {
        self.seed.attempts.len()
    }

    /// `GET /v1/stats{query}`, signed by the shop.
    pub fn stats(&self, query: &str) -> http::Reply {
        flows::signed_get(&self.edge, &self.shop, &format!("/v1/stats{query}"))
    }

    /// The query string of a `group=day` report over the 90 days up to now.
    pub fn ninety_days_by_day() -> String {
        let now = crate::now();
        format!("?from={}&to={}&group=day", now - 90 * 86_400, now + 1)
    }

    /// A fresh dashboard link for the shop.
    pub fn dashboard_token(&self) -> String {
        let now = crate::now();
        let claims =
            LinkClaims { iss: self.shop.id.clone(), aud: link::AUDIENCE.into(), iat: now - 5, exp: now + 1800 };
        link::sign(&claims, self.shop.secret.as_bytes())
    }

    /// `GET /dashboard?token=…&days=90`.
    pub fn dashboard(&self, token: &str) -> http::Reply {
        http::get(&self.edge.url(&format!("/dashboard?token={token}&days=90")))
    }

    /// Reads a report and panics unless it is exactly what [`stats::compute`] makes of the
    /// seeded rows, grouped by `group`, for the window the edge says it used; returns its total
    /// attempts.
    pub fn check_stats(&self, reply: &http::Reply, group: GroupBy) -> i64 {
        assert_eq!(reply.status, 200, "stats: {}", reply.body);
        let mut got: StatsReport = serde_json::from_str(&reply.body).expect("a stats report");
        let query = StatsQuery { from_ms: got.from_ms, to_ms: got.to_ms, group };
        let mut want = stats::compute(&query, &self.shop.id, &self.seed.attempts, &self.seed.checkouts);
        let seeded = self.seed.count(&self.shop.id, got.from_ms, got.to_ms) as i64;
        assert_eq!(got.total.attempts, seeded, "the report's attempts are the rows seeded in its window");
        assert!(seeded > 0, "the window holds seeded rows");
        // Rates travel as JSON numbers: equal to within rounding, then compared as the rest.
        let rates = |r: &mut StatsReport| -> Vec<Option<f64>> {
            let all = r.groups.iter_mut().chain(std::iter::once(&mut r.total));
            all.map(|g: &mut GroupStats| g.success_rate.take()).collect()
        };
        let (got_rates, want_rates) = (rates(&mut got), rates(&mut want));
        assert_eq!(got_rates.len(), want_rates.len(), "groups");
        for (g, w) in got_rates.iter().zip(&want_rates) {
            assert!(
                g.zip(*w).map_or(g.is_none() && w.is_none(), |(g, w)| (g - w).abs() < 1e-12),
                "success rate {g:?}, computed {w:?}"
            );
        }
        assert_eq!(got, want, "the edge's report is what the seeded rows make");
        got.total.attempts
    }

    /// Panics unless the dashboard page shows the seeded attempts of the 90 days before `at_ms`
    /// (every one of the shop's recent rows); returns that number.
    pub fn check_dashboard(&self, reply: &http::Reply, at_ms: i64) -> usize {
        assert_eq!(reply.status, 200, "dashboard: {}", reply.body);
        let seeded = self.seed.count(&self.shop.id, at_ms - 90 * DAY_MS, at_ms);
        assert_eq!(seeded, SHOP_ATTEMPTS, "every recent row is in the 90-day window");
        let metric = format!("data-metric=\"attempts\" data-value=\"{seeded}\"");
        assert!(reply.body.contains(&metric), "the dashboard shows {seeded} attempts: {}", reply.body);
        seeded
    }
}
