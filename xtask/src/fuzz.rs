//! `cargo xtask fuzz [--secs N] [--seed S] [--target NAME] [--execs N] [--iter I] [--list]`:
//! the stress targets of the parsers that face the internet (`fuzz/`, the `bawaba-fuzz`
//! binary), on stable Rust. `--secs` is per target (default 60); the other options go to the
//! binary as they are (`--target gateway:aps` runs APS's targets, `--seed S --target T --iter I`
//! makes one reported input again). Prints each target's executions, executions per second and
//! verdict; fails on the first panic or broken rule of any target.
//!
//! [`brief`] is the short run in `cargo xtask test`, [`report`] the long one in `cargo xtask bench`.

use crate::{root, run_cmd, step, Result};
use std::process::Command;

/// Seconds per target when `--secs` is not given.
pub const DEFAULT_SECS: u64 = 60;

/// Seconds per target of [`brief`].
pub const BRIEF_SECS: u64 = 2;

/// `cargo xtask fuzz`.
pub fn fuzz(args: &[String]) -> Result {
    let mut secs = DEFAULT_SECS;
    let mut pass: Vec<String> = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--secs" => {
                let v = it.next().ok_or("--secs needs a number of seconds per target")?;
                secs = v.parse().map_err(|e| format!("--secs {v:?}: {e}"))?;
            }
            "--brief" => return brief(),
            "--seed" | "--target" | "--execs" | "--iter" => {
                let v = it.next().ok_or_else(|| format!("{arg} needs a value"))?;
                pass.extend([arg.clone(), v.clone()]);
            }
            "--list" => pass.push(arg.clone()),
            other => {
                return Err(format!(
                    "unknown argument {other:?}: cargo xtask fuzz [--secs N] [--seed S] [--target NAME] [--execs N] \
                     [--iter I] [--list] [--brief]"
                ))
            }
        }
    }
    if pass.is_empty() {
        return report(secs);
    }
    step(&format!("fuzzing the parsers that face the internet ({secs} s per target)"));
    run(secs, &pass)
}

/// The seed of the brief run in `cargo xtask test`.
const BRIEF_SEED: u64 = 20261202;

/// The short run for `cargo xtask test`: every target for [`BRIEF_SECS`] seconds.
pub fn brief() -> Result {
    step(&format!("fuzzing the parsers that face the internet ({BRIEF_SECS} s per target, seed {BRIEF_SEED})"));
    // A fixed seed: CI must not fail by chance on an input no other run would see; the long runs
    // (`cargo xtask fuzz`, the bench) explore with a fresh seed each time.
    run(BRIEF_SECS, &["--seed".to_string(), BRIEF_SEED.to_string()])
}

/// The run for `cargo xtask bench`: every target for `secs` seconds, with its executions and
/// executions per second.
pub fn report(secs: u64) -> Result {
    step(&format!("fuzzing the parsers that face the internet ({secs} s per target): executions per target"));
    run(secs, &[])
}

fn run(secs: u64, extra: &[String]) -> Result {
    let mut cmd = Command::new(env!("CARGO"));
    cmd.current_dir(root()).args(["run", "--profile", "fuzz", "-q", "-p", "bawaba-fuzz", "--", "--secs"]);
    cmd.arg(secs.to_string()).args(extra);
    run_cmd(&mut cmd).map_err(|e| format!("fuzzing found a failure (the report above has the input): {e}"))
}
