//! `cargo xtask load [--shoppers N] [--secs S] [--settle S] [--no-trivial]`: builds in release,
//! then runs the load driver in `tests/` (`tests/src/bin/load.rs`, the logic in
//! `tests/src/load.rs`): N concurrent shoppers (8 by default) pay on the edge in local workerd
//! for S seconds (20), beside the trivial worker; it prints throughput, p50/p99 per step and
//! errors, and fails unless there was no 5xx and every paid reference was notified exactly once.

use crate::{build, root, run_cmd, setup, step, Result};
use std::process::Command;

/// Runs the load test.
pub fn load(args: &[String]) -> Result {
    let (mut shoppers, mut secs) = ("8".to_string(), "20".to_string());
    let mut extra = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--shoppers" | "--secs" | "--settle" => {
                let value = it.next().ok_or(format!("{arg} needs a number"))?;
                if !value.parse::<u64>().is_ok_and(|n| n > 0) {
                    return Err(format!("{arg}: `{value}` is not a positive number"));
                }
                match arg.as_str() {
                    "--shoppers" => shoppers = value.clone(),
                    "--secs" => secs = value.clone(),
                    _ => extra.extend([arg.clone(), value.clone()]),
                }
            }
            "--no-trivial" => extra.push(arg.clone()),
            other => {
                return Err(format!(
                    "unknown argument `{other}`; usage: cargo xtask load [--shoppers N] [--secs S] [--settle S] [--no-trivial]"
                ))
            }
        }
    }
    let tools = setup::tools()?;
    build::build(true)?;
    let beside = if extra.iter().any(|a| a == "--no-trivial") { "" } else { ", beside the trivial worker" };
    step(&format!("load: {shoppers} shoppers paying on the edge in local workerd for {secs} s{beside}"));
    run_cmd(
        Command::new(env!("CARGO"))
            .current_dir(root())
            .args(["run", "--release", "-q", "-p", "bawaba-tests", "--bin", "load", "--"])
            .args(["--shoppers", &shoppers, "--secs", &secs])
            .args(&extra)
            .env("BAWABA_NODE_DIR", tools.node.parent().expect("node dir")),
    )
}
