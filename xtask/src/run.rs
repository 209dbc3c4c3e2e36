//! `cargo xtask demo` and `cargo xtask test`.

use crate::{build, root, run_cmd, setup, step, Result};
use std::process::Command;

/// Wrangler's environment: no telemetry, no fetch of `request.cf` data (the network is closed).
pub(crate) fn wrangler_env(cmd: &mut Command, tools: &setup::Tools) {
    cmd.env("PATH", tools.path_env()).env("WRANGLER_SEND_METRICS", "false").env("CLOUDFLARE_CF_FETCH_ENABLED", "false");
}

fn random_hex() -> Result<String> {
    let mut bytes = [0u8; 16];
    std::io::Read::read_exact(&mut std::fs::File::open("/dev/urandom").map_err(|e| e.to_string())?, &mut bytes)
        .map_err(|e| e.to_string())?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Creates `.dev.vars` (local secrets, git-ignored) with random values if it does not exist.
fn ensure_dev_vars() -> Result {
    let path = root().join(".dev.vars");
    if path.exists() {
        return Ok(());
    }
    step("creating .dev.vars with fresh local secrets (git-ignored)");
    let text = format!(
        "# Local secrets for `cargo xtask demo` (wrangler reads this file). Never commit it.\n\
         SHOP_DEMO_SECRET={}\nSANDBOX_SECRET_KEY=sk_sandbox_{}\nSANDBOX_WEBHOOK_SECRET=whsec_{}\n",
        random_hex()?,
        random_hex()?,
        random_hex()?
    );
    std::fs::write(path, text).map_err(|e| e.to_string())
}

/// The value of `name` in `.dev.vars`, added there with a fresh random value if missing.
pub(crate) fn ensure_dev_var(name: &str) -> Result<String> {
    ensure_dev_vars()?;
    let path = root().join(".dev.vars");
    let text = std::fs::read_to_string(&path).map_err(|e| e.to_string())?;
    let prefix = format!("{name}=");
    if let Some(value) = text.lines().find_map(|l| l.strip_prefix(&prefix)) {
        return Ok(value.trim().to_string());
    }
    let value = random_hex()?;
    let separator = if text.ends_with('\n') || text.is_empty() { "" } else { "\n" };
    std::fs::write(&path, format!("{text}{separator}{name}={value}\n")).map_err(|e| e.to_string())?;
    Ok(value)
}

/// `cargo xtask demo`.
pub fn demo() -> Result {
    let tools = setup::tools()?;
    build::build(true)?;
    ensure_dev_vars()?;
    step("applying the stats database's migrations to local D1 (edge/migrations)");
    let mut migrate = Command::new(&tools.node);
    migrate.current_dir(root()).arg(&tools.wrangler).args([
        "d1",
        "migrations",
        "apply",
        "STATS",
        "--local",
        "--env",
        "local",
    ]);
    wrangler_env(&mut migrate, &tools);
    migrate.env("CI", "1");
    run_cmd(&mut migrate)?;
    step("starting the edge in local workerd (wrangler dev); Ctrl-C stops everything");
    eprintln!();
    eprintln!("    Demo storefront:  http://127.0.0.1:8787/");
    eprintln!("    Arabic:           http://127.0.0.1:8787/ar/");
    eprintln!("    Edge health:      http://127.0.0.1:8787/v1/health");
    eprintln!("    Test cards: 4464 0400 0000 0007 (mada, approves), 4000 0000 0000 0002 (declines),");
    eprintln!("                4000 0000 0000 3220 (3-D Secure, code 123456); any future expiry, any CVC.");
    eprintln!();
    // Same process group as us: Ctrl-C reaches wrangler, which stops workerd itself.
    let mut cmd = Command::new(&tools.node);
    // [env.local] in wrangler.toml: the sandbox, the demo shop and the demo storefront.
    cmd.current_dir(root()).arg(&tools.wrangler).args([
        "dev",
        "--env",
        "local",
        "--ip",
        "127.0.0.1",
        "--port",
        "8787",
        "--show-interactive-dev-session=false",
    ]);
    wrangler_env(&mut cmd, &tools);
    run_cmd(&mut cmd)
}

/// Test counts over several `cargo test` runs.
#[derive(Default)]
struct Tally {
    passed: u64,
    failed: u64,
    ignored: u64,
}

impl Tally {
    /// Runs a `cargo test` command, echoing its output and adding up its `test result:` lines.
    fn run(&mut self, cmd: &mut Command) -> Result {
        use std::io::BufRead;
        let shown = format!("{cmd:?}");
        let mut child =
            cmd.stdout(std::process::Stdio::piped()).spawn().map_err(|e| format!("cannot start {shown}: {e}"))?;
        let stdout = child.stdout.take().expect("piped");
        for line in std::io::BufReader::new(stdout).lines() {
            let line = line.map_err(|e| e.to_string())?;
            println!("{line}");
            // pytest: "==== 32 passed, 1 skipped in 0.06s ====" (or without the rules, with -q).
            let trimmed = line.trim().trim_matches('=').trim();
            if trimmed.contains(" in ")
                && (trimmed.contains(" passed") || trimmed.contains(" failed"))
                && !trimmed.starts_with("test result")
            {
                for part in trimmed.split(" in ").next().unwrap_or("").split(',') {
                    let mut words = part.split_whitespace();
                    let (Some(n), Some(kind)) = (words.next(), words.next()) else { continue };
                    let n: u64 = n.parse().unwrap_or(0);
                    match kind {
                        "passed" => self.passed += n,
                        "failed" | "errors" | "error" => self.failed += n,
                        "skipped" => self.ignored += n,
                        _ => {}
                    }
                }
            }
            if let Some(rest) = line.trim().strip_prefix("test result: ") {
                for part in rest.split(';') {
                    let mut words = part.split_whitespace().rev();
                    let (Some(kind), Some(n)) = (words.next(), words.next()) else {
                        continue;
                    };
                    let n: u64 = n.parse().unwrap_or(0);
                    match kind {
                        "passed" => self.passed += n,
                        "failed" => self.failed += n,
                        "ignored" => self.ignored += n,
                        _ => {}
                    }
                }
            }
        }
        let status = child.wait().map_err(|e| e.to_string())?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("{shown} failed ({status})"))
        }
    }
}

/// `cargo xtask test [--no-browser]`.
pub fn test(args: &[String]) -> Result {
    let browser = !args.iter().any(|a| a == "--no-browser");
    let tools = setup::tools()?;
    if browser {
        setup::ensure_browser()?;
    }
    let cargo = env!("CARGO");

    step("checking formatting (cargo fmt --check)");
    run_cmd(Command::new(cargo).current_dir(root()).args(["fmt", "--all", "--check"]))?;

    step("clippy on every crate (warnings are errors)");
    run_cmd(Command::new(cargo).current_dir(root()).args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--quiet",
        "--",
        "-D",
        "warnings",
    ]))?;

    let mut tally = Tally::default();
    step("native unit tests: core, edge, widget, xtask");
    tally.run(Command::new(cargo).current_dir(root()).args([
        "test",
        "-p",
        "bawaba-core",
        "-p",
        "bawaba-edge",
        "-p",
        "bawaba-widget",
        "-p",
        "xtask",
    ]))?;

    crate::fuzz::brief()?;

    step("Odoo addon: the protocol module against tests/vectors (pytest, no Odoo needed)");
    let python = setup::ensure_pytest()?;
    tally.run(Command::new(&python).current_dir(root()).args([
        "-m",
        "pytest",
        "odoo/tests_pure",
        "-q",
        "-p",
        "no:cacheprovider",
    ]))?;

    build::build(true)?;

    if browser {
        step("widget tests in headless Chromium (wasm-bindgen-test)");
        run_cmd(
            Command::new(cargo)
                .current_dir(root())
                .args(["test", "-p", "bawaba-widget", "--target", "wasm32-unknown-unknown"])
                .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER", &tools.wasm_bindgen_test_runner)
                .env("CHROMEDRIVER", "/usr/bin/chromedriver")
                .env("WASM_BINDGEN_TEST_TIMEOUT", "60"),
        )?;
    }

    step("integration tests against the edge in workerd, and the browser end-to-end test");
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root()).args(["test", "-p", "bawaba-tests"]);
    if browser {
        // The example shops' interpreters (tests/tests/examples.rs): PHP, and Python with PyJWT.
        setup::ensure_php()?;
        cmd.env("BAWABA_EXAMPLES_PYTHON", setup::ensure_pyjwt()?);
    } else {
        cmd.args(["--test", "edge_api"]);
    }
    cmd.env("BAWABA_NODE_DIR", tools.node.parent().expect("node dir"));
    tally.run(&mut cmd)?;
    step("all tests passed");
    // The closing line CI reads: every test of every runner above, added up.
    println!("tests: {} passed, {} failed, {} skipped", tally.passed, tally.failed, tally.ignored);
    Ok(())
}

/// `cargo xtask screenshots`: the browser tests of the demo storefront and of the dashboard
/// (`stats`), saving their pictures in
/// `docs/screenshots/` (the Odoo ones come from
/// `BAWABA_SCREENSHOTS_DIR=docs/screenshots cargo xtask odoo-demo --exit`).
pub fn screenshots() -> Result {
    let tools = setup::tools()?;
    setup::ensure_browser()?;
    build::build(true)?;
    step("refreshing docs/screenshots from the storefront's and the dashboard's browser tests");
    run_cmd(
        Command::new(env!("CARGO"))
            .current_dir(root())
            .args([
                "test",
                "-p",
                "bawaba-tests",
                "--test",
                "browser_checkout",
                "--test",
                "in_page_browser",
                "--test",
                "stats",
            ])
            .env("BAWABA_NODE_DIR", tools.node.parent().expect("node dir"))
            .env("BAWABA_SCREENSHOTS_DIR", root().join("docs/screenshots")),
    )?;
    eprintln!("    The Odoo screenshots: BAWABA_SCREENSHOTS_DIR=docs/screenshots cargo xtask odoo-demo --exit");
    Ok(())
}
