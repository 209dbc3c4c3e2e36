//! `cargo xtask <command>`: the project's one entry point for people and CI.
//!
//! - `demo`: install what is missing, build in release, run the edge in local workerd on
//!   http://127.0.0.1:8787 with the sandbox gateway and the demo shop.
//! - `test`: install what is missing, then run every test: native unit tests, widget tests in
//!   headless Chromium, integration tests against the edge in workerd, and the browser
//!   end-to-end test.
//! - `bench`: sizes of what shoppers download and latency of the edge, against a trivial worker.
//! - `deploy [--dry-run] [--env staging] [--secrets FILE]`: build, check the bundle against
//!   Cloudflare's limits, put secrets, deploy (docs/deploy.md).
//! - `load [--shoppers N] [--secs S]`: concurrent shoppers through the sandbox in local workerd,
//!   beside the trivial worker; every notification checked exactly once.
//! - `fuzz [--secs N]`: the stress targets of the parsers that face the internet.
//! - `build [--release]`: compile edge and widget to wasm and assemble `target/site` (wrangler's
//!   build command).
//! - `setup [--browser]`: only install the tools.
//! - `vectors`: regenerate the protocol test vectors in `tests/vectors/`.
//! - `screenshots`: refresh the README's pictures of the widget in `docs/screenshots/` (tests
//!   save theirs under `target/screenshots/`, so a test run changes nothing in the work tree).
//! - `odoo-test`: the Odoo addon's tests in a real Odoo 19 (needs `ODOO_SRC`).
//! - `odoo-demo [--exit] [--fresh]`: a real Odoo 19 shop with the addon against the local edge,
//!   and the browser test that buys on `/shop` through the widget (needs `ODOO_SRC`).

mod bench;
mod build;
mod deploy;
mod fuzz;
mod load;
mod odoo;
mod run;
mod setup;
mod vectors;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("build") => build::build(args.iter().any(|a| a == "--release")),
        Some("setup") => setup::setup(args.iter().any(|a| a == "--browser")),
        Some("demo") => run::demo(),
        Some("test") => run::test(&args[1..]),
        Some("bench") => bench::bench(),
        Some("vectors") => vectors::write(),
        Some("screenshots") => run::screenshots(),
        Some("odoo-test") => odoo::test(),
        Some("odoo-demo") => odoo::demo(&args[1..]),
        Some("deploy") => deploy::deploy(&args[1..]),
        Some("fuzz") => fuzz::fuzz(&args[1..]),
        Some("load") => load::load(&args[1..]),
        _ => {
            eprintln!("usage: cargo xtask <demo | test | bench | deploy [--dry-run] | fuzz [--secs N] | load | odoo-test | odoo-demo [--exit] [--fresh] | build [--release] | setup [--browser] | vectors | screenshots>");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Errors are plain messages: xtask is a command-line tool and its errors are read by people.
pub type Result<T = ()> = std::result::Result<T, String>;

/// The repository root (xtask lives in `<root>/xtask`).
pub fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask is in the workspace").to_path_buf()
}

/// Prints a progress step.
pub fn step(what: &str) {
    eprintln!("\x1b[1;34m==>\x1b[0m {what}");
}

/// Runs a command, failing with its name if it fails.
pub fn run_cmd(cmd: &mut std::process::Command) -> Result {
    let shown = format!("{cmd:?}");
    let status = cmd.status().map_err(|e| format!("cannot start {shown}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed ({status})"))
    }
}
