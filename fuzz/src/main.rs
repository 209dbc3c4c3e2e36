//! `bawaba-fuzz`: stress targets for the parsers that face the internet, on stable Rust.
//!
//! cargo-fuzz needs a nightly toolchain; this runs anywhere `cargo` does. Each target (see
//! `bawaba-fuzz --list`) makes inputs from realistic seeds (unit-test bodies, `tests/vectors/`)
//! with byte-level and JSON-aware mutations, correctly signed where the target can sign as the
//! sender does, so the parsers are driven past their signature checks too. Every input runs
//! under `catch_unwind` with a silent panic hook: the first panic, or the first broken rule (a
//! 5xx for bad input, a valid signature refused), is reported with the input in hex and as text
//! and the command that makes that one input again.
//!
//! ```text
//! bawaba-fuzz [--secs N] [--seed S] [--target NAME] [--execs N] [--iter I] [--list]
//! ```
//!
//! `--secs` is per target (default 10), `--target` runs the targets whose name contains NAME,
//! `--execs` caps the inputs per target (a run bounded by count is the same on any machine),
//! `--iter I` runs and shows input I alone (with `--seed` and `--target`, from a report).

mod input;
mod mutate;
mod rng;
mod targets;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The last panic's message and place, kept by the silent hook.
static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);

struct Options {
    secs: f64,
    seed: u64,
    target: Option<String>,
    execs: Option<u64>,
    iter: Option<u64>,
    list: bool,
}

fn parse_args() -> Result<Options, String> {
    let mut o = Options { secs: 10.0, seed: 0, target: None, execs: None, iter: None, list: false };
    let mut seed = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--secs" => o.secs = value("--secs")?.parse().map_err(|e| format!("--secs: {e}"))?,
            "--seed" => seed = Some(value("--seed")?.parse().map_err(|e| format!("--seed: {e}"))?),
            "--target" => o.target = Some(value("--target")?),
            "--execs" => o.execs = Some(value("--execs")?.parse().map_err(|e| format!("--execs: {e}"))?),
            "--iter" => o.iter = Some(value("--iter")?.parse().map_err(|e| format!("--iter: {e}"))?),
            "--list" => o.list = true,
            "-h" | "--help" => {
                return Err("usage: bawaba-fuzz [--secs N per target] [--seed S] [--target NAME] [--execs N] \
                            [--iter I] [--list]"
                    .into())
            }
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    o.seed = seed.unwrap_or_else(|| {
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        rng::fnv1a(&t.as_nanos().to_le_bytes())
    });
    Ok(o)
}

/// What one input did.
enum Outcome {
    Ok(bool),
    Broke(String),
    Panicked(String),
}

fn run_one(target: &dyn targets::Target, seed: u64, iter: u64) -> (input::Input, Outcome) {
    let name = target.name();
    let mut rng = rng::Rng::for_input(seed, &name, iter);
    let input = match catch_unwind(AssertUnwindSafe(|| target.generate(&mut rng))) {
        Ok(input) => input,
        Err(_) => return (input::Input::new(), Outcome::Panicked(format!("while generating: {}", last_panic()))),
    };
    let outcome = match catch_unwind(AssertUnwindSafe(|| target.execute(&input))) {
        Ok(Ok(accepted)) => Outcome::Ok(accepted),
        Ok(Err(why)) => Outcome::Broke(why),
        Err(_) => Outcome::Panicked(last_panic()),
    };
    (input, outcome)
}

fn last_panic() -> String {
    LAST_PANIC.lock().map(|mut p| p.take()).ok().flatten().unwrap_or_else(|| "(no message)".into())
}

fn main() -> ExitCode {
    let o = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let all = targets::all();
    if o.list {
        for t in &all {
            println!("{:<28} {}", t.name(), t.about());
        }
        return ExitCode::SUCCESS;
    }
    // An exact name runs that target alone (as the replay command names it); otherwise every
    // target whose name contains NAME (`gateway:aps`, `gateway:`).
    let exact = o.target.as_ref().is_some_and(|n| all.iter().any(|t| t.name() == *n));
    let chosen: Vec<_> = all
        .iter()
        .filter(|t| match &o.target {
            None => true,
            Some(n) if exact => t.name() == *n,
            Some(n) => t.name().contains(n.as_str()),
        })
        .collect();
    if chosen.is_empty() {
        eprintln!("no target matches {:?} (see --list)", o.target.unwrap_or_default());
        return ExitCode::from(2);
    }
    std::panic::set_hook(Box::new(|info| {
        if let Ok(mut last) = LAST_PANIC.lock() {
            *last = Some(info.to_string());
        }
    }));

    if let Some(iter) = o.iter {
        let mut failed = false;
        for t in &chosen {
            let (input, outcome) = run_one(t.as_ref(), o.seed, iter);
            let verdict = match outcome {
                Outcome::Ok(accepted) => format!("OK ({})", if accepted { "accepted" } else { "refused" }),
                Outcome::Broke(why) => {
                    failed = true;
                    format!("FAIL: {why}")
                }
                Outcome::Panicked(why) => {
                    failed = true;
                    format!("FAIL: panic: {why}")
                }
            };
            println!("{} input {iter} (seed {}): {verdict}\n{}", t.name(), o.seed, input.describe());
        }
        return if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS };
    }

    println!("bawaba-fuzz: seed {}, {} s per target, {} targets", o.seed, o.secs, chosen.len());
    println!("{:<28} {:>12} {:>12} {:>9}  verdict", "target", "executions", "per second", "accepted");
    let budget = Duration::from_secs_f64(o.secs.max(0.0));
    let mut failures = 0;
    let mut total = 0u64;
    for t in &chosen {
        let name = t.name();
        let start = Instant::now();
        let mut iter = 0u64;
        let mut accepted = 0u64;
        let mut failure = None;
        while start.elapsed() < budget && o.execs.is_none_or(|max| iter < max) {
            let (input, outcome) = run_one(t.as_ref(), o.seed, iter);
            match outcome {
                Outcome::Ok(a) => accepted += u64::from(a),
                Outcome::Broke(why) => failure = Some((why, input)),
                Outcome::Panicked(why) => failure = Some((format!("panic: {why}"), input)),
            }
            iter += 1;
            if failure.is_some() {
                break;
            }
        }
        total += iter;
        let secs = start.elapsed().as_secs_f64().max(1e-9);
        let rate = iter as f64 / secs;
        let share = format!("{:.1}%", 100.0 * accepted as f64 / iter.max(1) as f64);
        match failure {
            None => println!("{name:<28} {iter:>12} {rate:>12.0} {share:>9}  OK"),
            Some((why, input)) => {
                failures += 1;
                println!("{name:<28} {iter:>12} {rate:>12.0} {share:>9}  FAIL");
                println!("  input {} failed: {why}", iter - 1);
                print!("{}", input.describe());
                println!(
                    "  again: cargo run --release -p bawaba-fuzz -- --seed {} --target {name} --iter {}",
                    o.seed,
                    iter - 1
                );
            }
        }
    }
    println!("{total} executions, {failures} failing target(s), seed {}", o.seed);
    if failures > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
