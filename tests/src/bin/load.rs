//! `cargo xtask load`: concurrent shoppers paying on the edge in local workerd for a fixed time,
//! beside the trivial worker in the same run; prints throughput, p50/p99 per step and errors,
//! then checks that nothing answered 5xx and that every paid reference was notified exactly once.
//! Exits non-zero when a check fails.
//!
//! ```text
//! load [--shoppers N] [--secs S] [--settle S] [--no-trivial]
//! ```
//!
//! Defaults: 8 shoppers, 20 s, at most 60 s to wait for the last notifications.

use bawaba_tests::load::{self, Options};
use std::process::ExitCode;
use std::time::Duration;

fn parse(args: &[String]) -> Result<Options, String> {
    let mut options = Options::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut number = |name: &str| -> Result<u64, String> {
            let value = it.next().ok_or(format!("{name} needs a number"))?;
            value.parse::<u64>().ok().filter(|n| *n > 0).ok_or(format!("{name}: `{value}` is not a positive number"))
        };
        match arg.as_str() {
            "--shoppers" => options.shoppers = number("--shoppers")? as usize,
            "--secs" => options.duration = Duration::from_secs(number("--secs")?),
            "--settle" => options.settle = Duration::from_secs(number("--settle")?),
            "--no-trivial" => options.trivial = false,
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(options)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let options = match parse(&args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("load: {e}\nusage: load [--shoppers N] [--secs S] [--settle S] [--no-trivial]");
            return ExitCode::from(2);
        }
    };
    let outcome = load::run(&options);
    println!();
    print!("{}", outcome.table());
    let failures = outcome.failures();
    for f in &failures {
        println!("FAILED: {f}");
    }
    println!("{}", outcome.summary());
    if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
