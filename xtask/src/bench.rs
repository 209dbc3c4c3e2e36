//! `cargo xtask bench`: builds in release, then runs the benchmark program in `tests/`
//! (`tests/src/bin/bench.rs`), which prints sizes and latencies.

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
    )
}
