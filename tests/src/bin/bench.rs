//! `cargo xtask bench`: what shoppers download, and how fast the edge answers, next to a
//! trivial worker on the same workerd in the same run. Figures, not assertions: budgets are
//! in docs/design.md and are compared by people, never by a timed test.
//!
//! `cargo run --release -p bawaba-tests --bin bench -- widget` runs only the checkout page loads
//! side by side (Bawaba, Moyasar's form, a plain form: [`bawaba_tests::bench_widget`]), and
//! `-- stats` only the last part, the stats queries over 100 000 attempts in local D1
//! ([`bawaba_tests::bench_stats`]).

use bawaba_core::stats::GroupBy;
use bawaba_tests::bench_stats::{StatsBench, SHOP_ATTEMPTS};
use bawaba_tests::bench_widget::{self, Sizes, WidgetFiles, WIDGET_BROTLI_BUDGET};
use bawaba_tests::edge::{Edge, EdgeOptions, ShopConfig};
use bawaba_tests::flows;
use std::path::Path;
use std::time::{Duration, Instant};

const SAMPLES: usize = 200;
/// Requests per stats query (each reads the whole window of 100 000 attempts).
const STATS_SAMPLES: usize = 10;

fn sizes(label: &str, files: &[&Path]) -> Sizes {
    let s = bench_widget::sizes(files);
    println!("{label:<34} {:>10} {:>10} {:>10}", s.raw, s.gzip, s.brotli);
    s
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

fn measure(label: &str, mut request: impl FnMut(usize) -> u16) {
    for i in 0..20 {
        request(i); // warm-up: compile, instantiate, open Durable Objects
    }
    let mut times = Vec::with_capacity(SAMPLES);
    for i in 0..SAMPLES {
        let start = Instant::now();
        let status = request(1000 + i);
        times.push(start.elapsed());
        assert_eq!(status, 200, "{label}: request {i} failed");
    }
    print_times(label, times, "p99", 0.99);
}

fn print_times(label: &str, mut times: Vec<Duration>, tail: &str, p: f64) {
    times.sort();
    println!(
        "{label:<44} median {:>7.2} ms   {tail} {:>7.2} ms",
        percentile(&times, 0.5).as_secs_f64() * 1000.0,
        percentile(&times, p).as_secs_f64() * 1000.0
    );
}

/// Times `samples` sequential requests (after the caller's one checked warm-up request).
fn measure_p95(label: &str, samples: usize, mut request: impl FnMut() -> u16) {
    let mut times = Vec::with_capacity(samples);
    for i in 0..samples {
        let start = Instant::now();
        let status = request();
        times.push(start.elapsed());
        assert_eq!(status, 200, "{label}: request {i} failed");
    }
    print_times(label, times, "p95", 0.95);
}

/// `GET /v1/stats` and the dashboard over a seeded D1. Each query's first answer (the warm-up)
/// is checked against the seeded rows before any is timed.
fn stats() {
    let bench = StatsBench::start();
    println!(
        "== stats: {SHOP_ATTEMPTS} attempts of the shop in 90 days ({} rows in local D1, 2 shops), \
         {STATS_SAMPLES} sequential requests each",
        bench.rows()
    );
    println!("(rows loaded by wrangler d1 execute in {:.1} s)", bench.load_secs);

    bench.check_stats(&bench.stats(""), GroupBy::Gateway);
    measure_p95("bawaba edge: GET /v1/stats (30 d, gateway)", STATS_SAMPLES, || bench.stats("").status);

    let attempts = bench.check_stats(&bench.stats(&StatsBench::ninety_days_by_day()), GroupBy::Day);
    assert_eq!(attempts, SHOP_ATTEMPTS as i64, "the 90-day report holds every recent row");
    measure_p95("bawaba edge: GET /v1/stats (90 d, day)", STATS_SAMPLES, || {
        bench.stats(&StatsBench::ninety_days_by_day()).status
    });

    let token = bench.dashboard_token();
    let at_ms = bawaba_tests::now() * 1000;
    bench.check_dashboard(&bench.dashboard(&token), at_ms);
    measure_p95("bawaba edge: GET /dashboard (90 d)", STATS_SAMPLES, || bench.dashboard(&token).status);
    println!("(each answer checked first: the reports equal bawaba_core::stats::compute over the seeded rows)");
}

fn main() {
    let part = std::env::args().nth(1);
    match part.as_deref() {
        None => {
            sizes_and_latency();
            println!();
            bench_widget::run();
            println!();
            stats();
        }
        Some("widget") => bench_widget::run(),
        Some("stats") => stats(),
        Some(other) => {
            eprintln!("usage: bench [widget | stats]   (unknown argument {other:?})");
            std::process::exit(2);
        }
    }
}

fn sizes_and_latency() {
    println!("== sizes (bytes)                        raw       gzip     brotli");
    let widget = WidgetFiles::built();
    let widget_br = sizes("widget: loader + glue + wasm", &widget.all()).brotli;
    sizes("  of which wasm", &[&widget.wasm]);
    let edge = bawaba_tests::root().join("target/edge");
    let edge_gz = sizes("edge: wasm", &[&edge.join("index_bg.wasm")]).gzip;
    sizes("edge: wasm + JS glue + shim", &[&edge.join("index_bg.wasm"), &edge.join("index.js"), &edge.join("shim.js")]);
    // The widget's own budget (issue 14: the smallest checkout) is tighter than design.md's 50 KB.
    println!("budgets: widget brotli {widget_br} / {WIDGET_BROTLI_BUDGET} B; edge wasm gzip {edge_gz} / 1048576 B");
    println!();

    println!("== latency over loopback, {SAMPLES} sequential requests each (local workerd, this machine)");
    let trivial = Edge::start_trivial();
    let shop =
        ShopConfig { id: "bench".into(), origin: "http://127.0.0.1:9".into(), secret: "bench-secret-0123456".into() };
    let edge = Edge::start(EdgeOptions { shops: vec![shop.clone()], vars: vec![], ..Default::default() });
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let get = |url: String| agent.get(&url).call().map(|r| r.status().as_u16()).unwrap_or(0);
    measure("trivial worker: GET /", |_| get(trivial.url("/")));
    measure("bawaba edge: GET /v1/health", |_| get(edge.url("/v1/health")));
    let run = std::process::id();
    let post_session = |intent: String| {
        let body = serde_json::json!({"intent": intent, "method": "mada"}).to_string();
        agent
            .post(&edge.url("/v1/sessions"))
            .header("Content-Type", "application/json")
            .send(body.as_bytes())
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    };
    measure("bawaba edge: POST /v1/sessions (new payment)", |i| {
        post_session(flows::sign(&shop, &flows::claims(&shop, &format!("B{run}-{i}"), 4550)))
    });
    let intent = flows::sign(&shop, &flows::claims(&shop, &format!("B{run}-same"), 4550));
    measure("bawaba edge: POST /v1/sessions (repeat)", |_| post_session(intent.clone()));
    println!("(a new payment includes the edge's HTTP call to the sandbox gateway on the same workerd)");
}
