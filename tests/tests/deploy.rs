//! The production and staging configurations (issue 15): what wrangler would deploy for each
//! environment of `wrangler.toml` (its dry run, no Cloudflare account needed), and a production
//! edge run locally: no sandbox, no demo pages, and a missing setting named at the first request.

use bawaba_tests::edge::{node_dir, Edge, EdgeOptions, ShopConfig};
use bawaba_tests::flows::{claims, reference, sign};
use bawaba_tests::{http, root};
use std::process::Command;

/// `wrangler deploy --dry-run` for `env` ("" is the top level: production) into
/// `target/deploy/test-<name>`; returns what wrangler printed.
fn dry_run(env: &str, name: &str) -> String {
    let wrangler = root().join("node_modules/wrangler/bin/wrangler.js");
    let outdir = root().join(format!("target/deploy/test-{name}"));
    let path = format!("{}:{}", node_dir().display(), std::env::var("PATH").unwrap_or_default());
    // The config without [build]: xtask already built, and this test must not rebuild the
    // edge under the other tests' feet.
    let original = std::fs::read_to_string(root().join("wrangler.toml")).expect("wrangler.toml");
    let mut config = String::new();
    let mut in_build = false;
    for line in original.lines() {
        if line.trim().starts_with('[') {
            in_build = line.trim() == "[build]";
        }
        if !in_build {
            config.push_str(line);
            config.push('\n');
        }
    }
    // Its relative paths (main, assets) made absolute: the copy is in target/deploy.
    let config_path = root().join(format!("target/deploy/wrangler-test-{name}.toml"));
    std::fs::create_dir_all(config_path.parent().unwrap()).unwrap();
    let config = config.replace("\"target/", &format!("\"{}/target/", root().display()));
    std::fs::write(&config_path, config).unwrap();
    let out = Command::new(node_dir().join("node"))
        .current_dir(root())
        .arg(&wrangler)
        .arg("deploy")
        .arg("-c")
        .arg(&config_path)
        .arg(format!("--env={env}"))
        .arg("--dry-run")
        .arg("--outdir")
        .arg(&outdir)
        .env("PATH", path)
        .env("WRANGLER_SEND_METRICS", "false")
        .env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
        .env("CI", "1")
        .output()
        .expect("run wrangler");
    let printed = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "wrangler deploy --dry-run --env={env} failed:\n{printed}");
    assert!(!printed.contains("WARNING") && !printed.contains("▲"), "wrangler warned for env {env:?}:\n{printed}");
    assert!(outdir.join("shim.js").exists(), "no bundle in {}", outdir.display());
    printed
}

fn binding_line<'a>(printed: &'a str, name: &str) -> &'a str {
    printed.lines().find(|l| l.contains(&format!("env.{name} "))).unwrap_or_else(|| panic!("no {name} in:\n{printed}"))
}

fn assert_bindings(printed: &str, sandbox: &str) {
    for (binding, class) in [
        ("PAYMENTS", "PaymentObject"),
        ("SANDBOX", "SandboxGateway"),
        ("DEMO_SHOP", "DemoShop"),
        ("LEDGERS", "Ledger"),
        ("GATEWAY_INDEX", "GatewayIndex"),
        ("LIMITS", "SessionLimiter"),
    ] {
        let line = binding_line(printed, binding);
        assert!(line.contains(class) && line.contains("Durable Object"), "{line}");
    }
    assert!(binding_line(printed, "SANDBOX_ENABLED").contains(&format!("(\"{sandbox}\")")), "{printed}");
    assert!(binding_line(printed, "DEMO_SHOP_ENABLED").contains("(\"false\")"), "{printed}");
    assert!(printed.contains("target/site-production"), "the assets are not the production site:\n{printed}");
    assert!(!printed.contains("env.DEMO_SHOP_ID"), "{printed}");
}

#[test]
fn production_and_staging_deploy_no_demo() {
    let site = root().join("target/site-production");
    let widget = bawaba_tests::bench_widget::WidgetFiles::of_site(&site);
    for public in [&site.join("_headers"), &widget.loader, &widget.glue, &widget.wasm] {
        assert!(public.exists(), "{} is missing from target/site-production", public.display());
    }
    for demo in ["index.html", "ar", "demo"] {
        assert!(!site.join(demo).exists(), "target/site-production has the demo's {demo}");
    }

    let production = dry_run("", "production");
    assert_bindings(&production, "false");
    assert!(!production.contains("env.BAWABA_SHOPS"), "production ships no shops:\n{production}");

    let staging = dry_run("staging", "staging");
    assert_bindings(&staging, "true");
}

#[test]
fn a_production_edge_has_no_sandbox_and_names_what_is_missing() {
    let edge = Edge::start(EdgeOptions { production: true, ..Default::default() });
    let health = http::get(&edge.url("/v1/health"));
    assert_eq!(health.status, 200, "{}", health.body);
    assert_eq!(health.json()["sandbox"], false, "{}", health.body);
    for path in ["/", "/ar/", "/demo/shop/", "/sandbox/pay/x", "/index.html"] {
        let r = http::get(&edge.url(path));
        assert_eq!(r.status, 404, "{path} on a production edge: {} {}", r.status, r.body);
    }
    let loader = http::get(&edge.url("/bawaba.js"));
    assert_eq!(loader.status, 200, "{}", loader.body);
    assert!(loader.body.contains("bawaba"), "{}", loader.body);

    let demo = ShopConfig { id: "demo".into(), origin: edge.base.clone(), secret: edge.demo_secret.clone() };
    let intent = sign(&demo, &claims(&demo, &reference("prod"), 1000));
    let r = http::post_json(&edge.url("/v1/methods"), &serde_json::json!({ "intent": intent }));
    assert_eq!(r.status, 500, "{}", r.body);
    assert_eq!(r.error_code(), "edge_misconfigured", "{}", r.body);
    let message = r.json()["error"]["message"].as_str().unwrap_or_default().to_string();
    assert!(message.contains("BAWABA_ROUTES"), "the error does not name BAWABA_ROUTES: {}", r.body);
    drop(edge);

    let edge = Edge::start(EdgeOptions {
        production: true,
        vars: vec![("BAWABA_ROUTES".into(), "mada=moyasar".into())],
        ..Default::default()
    });
    let demo = ShopConfig { id: "demo".into(), origin: edge.base.clone(), secret: edge.demo_secret.clone() };
    let intent = sign(&demo, &claims(&demo, &reference("prod"), 1000));
    let r = http::post_json(&edge.url("/v1/methods"), &serde_json::json!({ "intent": intent }));
    assert_eq!(r.status, 500, "{}", r.body);
    assert_eq!(r.error_code(), "edge_misconfigured", "{}", r.body);
    assert!(r.body.contains("MOYASAR_SECRET_KEY"), "the error does not name MOYASAR_SECRET_KEY: {}", r.body);
}
