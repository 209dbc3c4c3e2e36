//! `cargo xtask bench`: builds in release, runs the benchmark program in `tests/`
//! (`tests/src/bin/bench.rs`), which prints sizes and latencies, the checkout page loads side by
//! side in headless Chromium (Bawaba, Moyasar's form, a plain form) and the stats queries, then
//! soaks the payment lifecycle's property tests with many more cases than `cargo xtask test`
//! runs (`BAWABA_SOAK_CASES`, 200 000 by default), after the fuzz targets' executions per target
//! (5 s each).
//!
//! `cargo xtask bench -- widget` (or `bench widget`) runs only the page loads, `-- stats` only
//! the stats queries: neither fuzzes nor soaks.

use crate::{build, root, run_cmd, setup, step, Result};
use std::process::Command;

/// The parts of the benchmark program that can run alone.
const PARTS: [&str; 2] = ["widget", "stats"];

/// Runs the benchmarks.
pub fn bench() -> Result {
    // main.rs hands commands no arguments: read ours (after `bench`, with or without `--`).
    let args: Vec<String> = std::env::args().skip(2).filter(|a| a != "--").collect();
    let part = match args.as_slice() {
        [] => None,
        [part] if PARTS.contains(&part.as_str()) => Some(part.clone()),
        _ => return Err(format!("usage: cargo xtask bench [-- {}] (got {args:?})", PARTS.join(" | "))),
    };
    let tools = setup::tools()?;
    if part.as_deref() != Some("stats") {
        setup::ensure_browser()?;
    }
    build::build(true)?;
    step(match part.as_deref() {
        None => "measuring sizes, edge latency (against a trivial worker), checkout page loads and stats queries",
        Some("widget") => "measuring the widget's size and the checkout page loads (Bawaba, Moyasar, plain form)",
        Some(_) => "measuring the stats queries",
    });
    run_cmd(
        Command::new(env!("CARGO"))
            .current_dir(root())
            .args(["run", "--release", "-q", "-p", "bawaba-tests", "--bin", "bench", "--"])
            .args(part.as_slice())
            .env("BAWABA_NODE_DIR", tools.node.parent().expect("node dir")),
    )?;
    if part.is_some() {
        return Ok(());
    }
    crate::fuzz::report(5)?;
    let cases = std::env::var("BAWABA_SOAK_CASES").unwrap_or_else(|_| "200000".into());
    step(&format!("soaking the payment lifecycle's property tests ({cases} cases, about a minute per 100 000)"));
    run_cmd(
        Command::new(env!("CARGO"))
            .current_dir(root())
            .args(["test", "--release", "-q", "-p", "bawaba-core", "--test", "lifecycle"])
            .env("BAWABA_PROPTEST_CASES", cases),
    )
}
