//! `cargo xtask bench`: builds in release, runs the benchmark program in `tests/`
//! (`tests/src/bin/bench.rs`), which prints sizes and latencies, then soaks the payment
//! lifecycle's property tests with many more cases than `cargo xtask test` runs
//! (`BAWABA_SOAK_CASES`, 200 000 by default), after the fuzz targets' executions per target
//! (5 s each).

use crate::{build, root, run_cmd, setup, step, Result};
use std::process::Command;

/// Runs the benchmarks.
pub fn bench() -> Result {
    let tools = setup::tools()?;
    build::build(true)?;
    step("measuring sizes and edge latency (against a trivial worker)");
    run_cmd(
        Command::new(env!("CARGO"))
            .current_dir(root())
            .args(["run", "--release", "-q", "-p", "bawaba-tests", "--bin", "bench"])
            .env("BAWABA_NODE_DIR", tools.node.parent().expect("node dir")),
    )?;
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
