//! `cargo xtask bench`: what shoppers download, and how fast the edge answers, next to a
//! trivial worker on the same workerd in the same run. Figures, not assertions: budgets are
//! in docs/design.md and are compared by people, never by a timed test.

use bawaba_tests::edge::{Edge, EdgeOptions, ShopConfig};
use bawaba_tests::flows;
use std::io::Write;
use std::time::{Duration, Instant};

const SAMPLES: usize = 200;

fn sizes(label: &str, files: &[&str]) -> (usize, usize, usize) {
    let root = bawaba_tests::root();
    let mut bytes = Vec::new();
    for f in files {
        let path = root.join(f);
        bytes.push(std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e} (build first)", path.display())));
    }
    let (mut raw, mut gz, mut br) = (0, 0, 0);
    for b in &bytes {
        raw += b.len();
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(b).unwrap();
        gz += enc.finish().unwrap().len();
        let mut out = Vec::new();
        brotli::BrotliCompress(
            &mut &b[..],
            &mut out,
            &brotli::enc::BrotliEncoderParams { quality: 11, ..Default::default() },
        )
        .unwrap();
        br += out.len();
    }
    println!("{label:<34} {raw:>10} {gz:>10} {br:>10}");
    (raw, gz, br)
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
    times.sort();
    println!(
        "{label:<44} median {:>7.2} ms   p99 {:>7.2} ms",
        percentile(&times, 0.5).as_secs_f64() * 1000.0,
        percentile(&times, 0.99).as_secs_f64() * 1000.0
    );
}

fn main() {
    println!("== sizes (bytes)                        raw       gzip     brotli");
    let (_, _, widget_br) = sizes(
        "widget: loader + glue + wasm",
        &["target/site/bawaba.js", "target/site/widget/bawaba_widget.js", "target/site/widget/bawaba_widget_bg.wasm"],
    );
    sizes("  of which wasm", &["target/site/widget/bawaba_widget_bg.wasm"]);
    let (_, edge_gz, _) = sizes("edge: wasm", &["target/edge/index_bg.wasm"]);
    sizes("edge: wasm + JS glue + shim", &["target/edge/index_bg.wasm", "target/edge/index.js", "target/edge/shim.js"]);
    println!("budgets: widget brotli {widget_br} / 51200 B; edge wasm gzip {edge_gz} / 1048576 B");
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
