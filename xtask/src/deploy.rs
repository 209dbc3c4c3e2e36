//! `cargo xtask deploy [--dry-run] [--env staging] [--secrets FILE]`: builds the release, checks
//! the bundle against Cloudflare's limits, refuses a production configuration with the sandbox
//! or the demo shop on, puts the secrets (`wrangler secret bulk`), deploys with wrangler (or
//! only bundles, with `--dry-run`: no Cloudflare account needed, which is what CI runs), and
//! prints the webhook URL to paste into each gateway's dashboard (docs/deploy.md).

use crate::{root, run::wrangler_env, setup, step, Result};
use bawaba_core::gateway::connector;
use bawaba_core::gateway::routes::Routes;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Cloudflare's limit on a worker's compressed size on the free plan (warned about).
pub const FREE_PLAN_LIMIT: u64 = 3 * 1024 * 1024;
/// Cloudflare's limit on a worker's compressed size on the paid plan (refused).
pub const PAID_PLAN_LIMIT: u64 = 10 * 1024 * 1024;
/// Largest static asset file Cloudflare takes.
pub const ASSET_FILE_LIMIT: u64 = 25 * 1024 * 1024;
/// Most static asset files Cloudflare takes per worker version.
pub const ASSET_COUNT_LIMIT: usize = 20_000;

/// Files of the demo storefront that must never be in a deployed edge's assets.
const DEMO_PAGES: [&str; 3] = ["index.html", "ar", "demo"];

struct Options {
    dry_run: bool,
    /// `None`: production (the top level of wrangler.toml).
    env: Option<String>,
    secrets: Option<PathBuf>,
}

fn parse_args(args: &[String]) -> Result<Options> {
    let mut options = Options { dry_run: false, env: None, secrets: None };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) => (f, Some(v.to_string())),
            None => (arg.as_str(), None),
        };
        let mut value =
            |name: &str| inline.clone().or_else(|| args.next().cloned()).ok_or_else(|| format!("{name} needs a value"));
        match flag {
            "--dry-run" => options.dry_run = true,
            "--env" | "-e" => {
                let env = value("--env")?;
                options.env = match env.as_str() {
                    "" | "production" => None,
                    "local" => {
                        return Err("the local environment is for `cargo xtask demo` only; it is never deployed".into())
                    }
                    _ => Some(env),
                };
            }
            "--secrets" => options.secrets = Some(PathBuf::from(value("--secrets")?)),
            _ => {
                return Err(format!(
                    "unknown argument {arg:?}; usage: cargo xtask deploy [--dry-run] [--env staging] [--secrets FILE]"
                ))
            }
        }
    }
    Ok(options)
}

/// One environment of wrangler.toml as wrangler resolves it: what is inherited from the top
/// level (name, routes, assets) and what is not (vars).
struct Target {
    /// `production`, `staging`, …
    label: String,
    /// The worker's name (`bawaba-edge`, `bawaba-edge-staging`).
    name: String,
    vars: BTreeMap<String, String>,
    /// Hosts from `routes`/`route` (a pattern without a path).
    routes: Vec<String>,
    assets: Option<PathBuf>,
    durable_objects: Vec<String>,
    /// Names of the `[[mtls_certificates]]` bindings (not inherited either).
    mtls_certificates: Vec<String>,
}

fn read_target(env: Option<&str>) -> Result<Target> {
    let path = root().join("wrangler.toml");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    target_from(&text, env)
}

fn target_from(text: &str, env: Option<&str>) -> Result<Target> {
    let top: toml::Table = text.parse().map_err(|e| format!("wrangler.toml: {e}"))?;
    let scope = match env {
        None => &top,
        Some(name) => top
            .get("env")
            .and_then(|e| e.get(name))
            .and_then(toml::Value::as_table)
            .ok_or_else(|| format!("wrangler.toml has no [env.{name}]"))?,
    };
    // Inherited: the env's own value, or the top level's.
    let inherited = |key: &str| scope.get(key).or_else(|| top.get(key));
    let base_name = top.get("name").and_then(toml::Value::as_str).unwrap_or("bawaba-edge");
    let name = match (scope.get("name").and_then(toml::Value::as_str), env) {
        (Some(n), _) => n.to_string(),
        (None, Some(e)) => format!("{base_name}-{e}"),
        (None, None) => base_name.to_string(),
    };
    // Not inherited: an environment's vars and bindings are its own.
    let vars = scope
        .get("vars")
        .and_then(toml::Value::as_table)
        .map(|t| {
            t.iter()
                .map(|(k, v)| {
                    (k.clone(), v.as_str().map_or_else(|| serde_json::to_string(v).unwrap_or_default(), str::to_string))
                })
                .collect()
        })
        .unwrap_or_default();
    let durable_objects = scope
        .get("durable_objects")
        .and_then(|d| d.get("bindings"))
        .and_then(toml::Value::as_array)
        .map(|a| a.iter().filter_map(|b| b.get("name").and_then(toml::Value::as_str).map(str::to_string)).collect())
        .unwrap_or_default();
    let mtls_certificates = scope
        .get("mtls_certificates")
        .and_then(toml::Value::as_array)
        .map(|a| a.iter().filter_map(|b| b.get("binding").and_then(toml::Value::as_str).map(str::to_string)).collect())
        .unwrap_or_default();
    let mut routes = Vec::new();
    let mut add_route = |r: &toml::Value| {
        let pattern = r.as_str().or_else(|| r.get("pattern").and_then(toml::Value::as_str));
        if let Some(p) = pattern {
            routes.push(p.split('/').next().unwrap_or(p).to_string());
        }
    };
    if let Some(list) = inherited("routes").and_then(toml::Value::as_array) {
        list.iter().for_each(&mut add_route);
    }
    if let Some(r) = inherited("route") {
        add_route(r);
    }
    let assets =
        inherited("assets").and_then(|a| a.get("directory")).and_then(toml::Value::as_str).map(|d| root().join(d));
    let label = env.unwrap_or("production").to_string();
    Ok(Target { label, name, vars, routes, assets, durable_objects, mtls_certificates })
}

/// The secrets file: a JSON object, names to string values (`null` deletes a secret, as
/// `wrangler secret bulk` does). Values are never printed.
fn read_secrets(path: &Path) -> Result<BTreeMap<String, Option<String>>> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("secrets file {}: {e}", path.display()))?;
    parse_secrets(&text).map_err(|e| format!("secrets file {}: {e}", path.display()))
}

fn parse_secrets(text: &str) -> Result<BTreeMap<String, Option<String>>> {
    // serde_json's error names a line and column, never the text around it.
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not valid JSON (line {}, column {})", e.line(), e.column()))?;
    let object = value.as_object().ok_or("must be a JSON object of names to string values")?;
    let mut out = BTreeMap::new();
    for (name, value) in object {
        let valid_name = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid_name {
            return Err(format!("{name:?} is not a valid secret name (letters, digits and _)"));
        }
        let value = match value {
            serde_json::Value::String(s) if s.trim().is_empty() => return Err(format!("{name} is empty")),
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Null => None,
            _ => return Err(format!("the value of {name} must be a string (or null to delete it)")),
        };
        out.insert(name.clone(), value);
    }
    Ok(out)
}

/// What the edge will read for `name`, as far as this machine knows: a secret in the file wins
/// over a var (as on Cloudflare).
fn known_setting(target: &Target, secrets: &BTreeMap<String, Option<String>>, name: &str) -> Option<String> {
    match secrets.get(name) {
        Some(value) => value.clone(),
        None => target.vars.get(name).cloned(),
    }
}

/// The checks before anything is built or sent: refusals (errors) and warnings.
fn check_config(target: &Target, secrets: &BTreeMap<String, Option<String>>) -> Result<Vec<String>> {
    let lookup = |name: &str| known_setting(target, secrets, name);
    let flag = |name: &str| connector::flag(&lookup, name);
    let production = target.label == "production";
    if production && flag("SANDBOX_ENABLED") {
        return Err("production would turn on the sandbox (SANDBOX_ENABLED): test cards would become real \
                    payment.succeeded notifications. Set SANDBOX_ENABLED = \"false\" in wrangler.toml's [vars] \
                    (and not in the secrets file); the sandbox is for --env staging"
            .into());
    }
    if flag("DEMO_SHOP_ENABLED") {
        return Err(format!(
            "{} would turn on the demo shop (DEMO_SHOP_ENABLED): it is for `cargo xtask demo` only",
            target.label
        ));
    }
    let mut warnings = Vec::new();
    let missing = |name: &str| {
        format!("{name} is not in wrangler.toml's vars for {} nor in the secrets file: unless it is already a secret on Cloudflare, the edge answers edge_misconfigured naming it", target.label)
    };
    match lookup("BAWABA_SHOPS") {
        None => warnings.push(missing("BAWABA_SHOPS")),
        Some(raw) => {
            let shops: Vec<serde_json::Value> =
                serde_json::from_str(&raw).map_err(|e| format!("BAWABA_SHOPS is not a JSON list of shops: {e}"))?;
            for shop in &shops {
                let id = shop["id"].as_str().unwrap_or("?");
                let mode = shop["mode"].as_str();
                if mode != Some("test") && mode != Some("live") {
                    return Err(format!("BAWABA_SHOPS: shop {id:?} needs \"mode\": \"test\" or \"live\""));
                }
                if flag("SANDBOX_ENABLED") && mode == Some("live") {
                    return Err(format!(
                        "{} has the sandbox on and lists the live shop {id:?}: staging is for test-mode shops only",
                        target.label
                    ));
                }
                for key in ["secret", "previous_secret"] {
                    if let Some(secret) = shop[key].as_str() {
                        if lookup(secret).is_none() {
                            warnings.push(missing(secret));
                        }
                    }
                }
            }
        }
    }
    if let Some(raw) = lookup("APPLE_PAY_MERCHANT_ID") {
        bawaba_core::applepay::MerchantId::parse(&raw).map_err(|why| format!("APPLE_PAY_MERCHANT_ID: {why}"))?;
        if !target.mtls_certificates.iter().any(|b| b == "APPLE_PAY_MERCHANT_CERT") {
            warnings.push(format!(
                "APPLE_PAY_MERCHANT_ID is set but {} has no [[mtls_certificates]] binding APPLE_PAY_MERCHANT_CERT: \
                 Apple cannot be asked to validate the merchant, so Apple Pay stays on the gateways' pages \
                 (docs/deploy.md, \"Apple Pay with your own Apple merchant\")",
                target.label
            ));
        }
    }
    let gateways = match lookup("BAWABA_ROUTES") {
        Some(raw) => Routes::parse(&raw).map_err(|e| format!("BAWABA_ROUTES: {e}"))?.gateways_in_use(),
        None if flag("SANDBOX_ENABLED") => vec![bawaba_core::gateway::sandbox::CODE],
        None => {
            warnings.push(missing("BAWABA_ROUTES"));
            Vec::new()
        }
    };
    for gateway in gateways {
        if let Err(why) = connector::configure(gateway, &lookup, "https://edge.invalid") {
            warnings.push(format!(
                "{gateway}: {why} (not in wrangler.toml nor the secrets file; fine if it is already a secret on Cloudflare)"
            ));
        }
    }
    Ok(warnings)
}

/// A deployed edge serves no demo page: its assets are target/site-production's.
fn check_assets(target: &Target) -> Result {
    let Some(assets) = &target.assets else { return Ok(()) };
    match DEMO_PAGES.iter().find(|p| assets.join(p).exists()) {
        Some(page) => Err(format!(
            "{}'s assets ({}) hold the demo storefront ({page}): deploy target/site-production",
            target.label,
            assets.display()
        )),
        None => Ok(()),
    }
}

/// Sizes of the worker and its assets, checked against Cloudflare's limits.
fn check_bundle(assets: Option<&Path>) -> Result {
    let edge = root().join("target/edge");
    let mut raw = 0u64;
    let mut gzip = 0u64;
    for file in files(&edge)? {
        let bytes = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        raw += bytes.len() as u64;
        gzip += gzip_len(&bytes)?;
    }
    let mib = |n: u64| n as f64 / (1024.0 * 1024.0);
    println!(
        "worker (target/edge): {:.2} MiB, {:.2} MiB gzip; Cloudflare's limits: {:.0} MiB gzip on the free plan, {:.0} MiB on paid",
        mib(raw),
        mib(gzip),
        mib(FREE_PLAN_LIMIT),
        mib(PAID_PLAN_LIMIT)
    );
    if gzip > PAID_PLAN_LIMIT {
        return Err(format!("the worker is {:.2} MiB gzip, over Cloudflare's 10 MiB limit", mib(gzip)));
    }
    if gzip > FREE_PLAN_LIMIT {
        eprintln!("warning: the worker is over the free plan's 3 MiB gzip limit: it needs the Workers paid plan");
    }
    if let Some(dir) = assets {
        let list = files(dir)?;
        let mut largest = (0u64, PathBuf::new());
        let mut total = 0u64;
        for file in &list {
            let len = std::fs::metadata(file).map_err(|e| e.to_string())?.len();
            total += len;
            if len > largest.0 {
                largest = (len, file.clone());
            }
        }
        let shown = largest.1.strip_prefix(dir).unwrap_or(&largest.1).display().to_string();
        println!(
            "assets ({}): {} files, {:.2} MiB, the largest {shown} {:.2} MiB; limits: {ASSET_COUNT_LIMIT} files, {:.0} MiB each",
            dir.strip_prefix(root()).unwrap_or(dir).display(),
            list.len(),
            mib(total),
            mib(largest.0),
            mib(ASSET_FILE_LIMIT)
        );
        if list.len() > ASSET_COUNT_LIMIT {
            return Err(format!("{} asset files, over Cloudflare's {ASSET_COUNT_LIMIT}", list.len()));
        }
        if largest.0 > ASSET_FILE_LIMIT {
            return Err(format!("the asset {shown} is {:.2} MiB, over Cloudflare's 25 MiB", mib(largest.0)));
        }
    }
    Ok(())
}

fn gzip_len(bytes: &[u8]) -> Result<u64> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).map_err(|e| e.to_string())?;
    Ok(encoder.finish().map_err(|e| e.to_string())?.len() as u64)
}

fn files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| format!("{}: {e} (was the build run?)", dir.display()))? {
        let entry = entry.map_err(|e| e.to_string())?;
        if entry.file_type().map_err(|e| e.to_string())?.is_dir() {
            out.extend(files(&entry.path())?);
        } else {
            out.push(entry.path());
        }
    }
    out.sort();
    Ok(out)
}

/// Runs wrangler with `args`, echoing its output; returns what it printed.
fn wrangler(tools: &setup::Tools, args: &[&str]) -> Result<String> {
    let mut cmd = Command::new(&tools.node);
    cmd.current_dir(root()).arg(&tools.wrangler).args(args);
    wrangler_env(&mut cmd, tools);
    let shown = format!("wrangler {}", args.join(" "));
    step(&shown);
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start {shown}: {e}"))?;
    let mut printed = String::new();
    use std::io::BufRead;
    for line in std::io::BufReader::new(child.stdout.take().expect("piped")).lines() {
        let line = line.map_err(|e| e.to_string())?;
        println!("{line}");
        printed.push_str(&line);
        printed.push('\n');
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    if status.success() {
        Ok(printed)
    } else {
        Err(format!("{shown} failed ({status})"))
    }
}

/// `https://host` URLs wrangler printed after a deploy (workers.dev and custom domains).
fn deployed_hosts(printed: &str) -> Vec<String> {
    let mut out = Vec::new();
    for word in printed.split_whitespace() {
        if let Some(rest) = word.strip_prefix("https://") {
            let host = rest.split(['/', ' ']).next().unwrap_or(rest).trim_end_matches([')', ',', '.']);
            if !host.is_empty() && !out.iter().any(|h| h == host) {
                out.push(host.to_string());
            }
        }
    }
    out
}

/// `cargo xtask deploy [--dry-run] [--env staging] [--secrets FILE]`.
pub fn deploy(args: &[String]) -> Result {
    let options = parse_args(args)?;
    let target = read_target(options.env.as_deref())?;
    let secrets = match &options.secrets {
        Some(path) => read_secrets(path)?,
        None => BTreeMap::new(),
    };
    step(&format!(
        "deploying {} (worker {}){}",
        target.label,
        target.name,
        if options.dry_run { ", dry run: nothing is sent to Cloudflare" } else { "" }
    ));
    if !secrets.is_empty() {
        let names: Vec<&str> = secrets.keys().map(String::as_str).collect();
        println!("secrets file: {} (values not shown)", names.join(", "));
    }
    let warnings = check_config(&target, &secrets)?;
    for required in ["PAYMENTS", "LEDGERS", "GATEWAY_INDEX"] {
        if !target.durable_objects.iter().any(|b| b == required) {
            return Err(format!("{} has no Durable Object binding {required} in wrangler.toml", target.label));
        }
    }

    let tools = setup::tools()?;
    crate::build::build(true)?;
    step("checking the bundle against Cloudflare's limits");
    check_assets(&target)?;
    check_bundle(target.assets.as_deref())?;

    let env_arg = format!("--env={}", options.env.as_deref().unwrap_or(""));
    let printed = if options.dry_run {
        let outdir = format!("target/deploy/{}", target.label);
        wrangler(&tools, &["deploy", &env_arg, "--dry-run", "--outdir", &outdir])?
    } else {
        if let Some(path) = &options.secrets {
            let path = path.display().to_string();
            wrangler(&tools, &["secret", "bulk", &path, &env_arg])?;
        }
        wrangler(&tools, &["deploy", &env_arg])?
    };

    for warning in &warnings {
        eprintln!("warning: {warning}");
    }
    print_webhooks(&target, &secrets, &printed, options.dry_run);
    let node_dir = tools.node.parent().expect("node has a directory").display().to_string();
    println!();
    println!("Wrangler by hand (`npx wrangler …`) needs Node.js 22, which setup installed in {node_dir}:");
    println!("    export PATH=\"{node_dir}:$PATH\"");
    Ok(())
}

fn print_webhooks(target: &Target, secrets: &BTreeMap<String, Option<String>>, printed: &str, dry_run: bool) {
    let hosts: Vec<String> = if !target.routes.is_empty() {
        target.routes.clone()
    } else if dry_run {
        vec![format!("{}.<your-subdomain>.workers.dev", target.name)]
    } else {
        deployed_hosts(printed).into_iter().filter(|h| h.ends_with(".workers.dev") || h.contains('.')).collect()
    };
    let routes = known_setting(target, secrets, "BAWABA_ROUTES");
    let sandbox_on = connector::flag(&|n: &str| known_setting(target, secrets, n), "SANDBOX_ENABLED");
    // The sandbox posts its webhooks to this edge by itself: nothing to paste.
    let gateways: Vec<&str> = routes
        .as_deref()
        .map(|raw| Routes::parse(raw).map(|r| r.gateways_in_use()).unwrap_or_default())
        .unwrap_or_default()
        .into_iter()
        .filter(|g| *g != bawaba_core::gateway::sandbox::CODE)
        .collect();
    println!();
    let host = hosts.first().cloned().unwrap_or_else(|| "<your edge's host>".into());
    if gateways.is_empty() && routes.is_none() && sandbox_on {
        println!("Webhooks: only the sandbox is routed, and it sends its webhooks to https://{host}/v1/webhooks/sandbox itself");
    } else if gateways.is_empty() {
        println!("Webhook URLs: BAWABA_ROUTES is not in wrangler.toml or the secrets file; each gateway's is");
        println!("    https://{host}/v1/webhooks/<gateway>   (moyasar, tap, aps, stripe, paypal, paytabs, hyperpay)");
    } else {
        println!("Webhook URLs to paste into each gateway's dashboard (docs/gateways/):");
        for gateway in gateways {
            println!("    {gateway:<8} https://{host}/v1/webhooks/{gateway}");
        }
    }
    println!("The widget for shops: <script type=\"module\" src=\"https://{host}/bawaba.js\"></script>");
    if hosts.len() > 1 {
        println!("(the edge also answers on: {})", hosts[1..].join(", "));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(text: &str, env: Option<&str>) -> Target {
        target_from(text, env).unwrap()
    }

    #[test]
    fn the_project_config_is_safe_per_environment() {
        let text = std::fs::read_to_string(root().join("wrangler.toml")).unwrap();
        let production = target(&text, None);
        assert_eq!(production.name, "bawaba-edge");
        assert_eq!(production.vars["SANDBOX_ENABLED"], "false");
        assert_eq!(production.vars["DEMO_SHOP_ENABLED"], "false");
        assert!(production.assets.unwrap().ends_with("target/site-production"));
        let staging = target(&text, Some("staging"));
        assert_eq!(staging.name, "bawaba-edge-staging");
        assert_eq!(staging.vars["SANDBOX_ENABLED"], "true");
        assert_eq!(staging.vars["DEMO_SHOP_ENABLED"], "false");
        assert!(staging.assets.unwrap().ends_with("target/site-production"));
        // Wrangler does not inherit bindings: every environment repeats the top level's.
        let top = target(&text, None).durable_objects;
        for b in ["PAYMENTS", "SANDBOX", "DEMO_SHOP", "LEDGERS", "GATEWAY_INDEX"] {
            assert!(top.iter().any(|d| d == b), "production lacks {b}");
        }
        for env in ["staging", "local"] {
            assert_eq!(target(&text, Some(env)).durable_objects, top, "[env.{env}]'s Durable Object bindings");
        }
        assert!(target(&text, Some("local")).assets.unwrap().ends_with("target/site"));
    }

    #[test]
    fn an_apple_merchant_needs_its_form_and_its_certificate_binding() {
        let none = BTreeMap::new();
        let config = |vars: &str, binding: &str| format!("name = \"e\"\n[vars]\n{vars}\n{binding}");
        let bad = target(&config("APPLE_PAY_MERCHANT_ID = \"shop.example\"", ""), None);
        assert!(check_config(&bad, &none).unwrap_err().contains("APPLE_PAY_MERCHANT_ID"));
        let unbound = target(&config("APPLE_PAY_MERCHANT_ID = \"merchant.sa.shop\"", ""), None);
        let warned = |t: &Target| check_config(t, &none).unwrap().iter().any(|w| w.contains("APPLE_PAY_MERCHANT_CERT"));
        assert!(warned(&unbound));
        let binding = "[[mtls_certificates]]\nbinding = \"APPLE_PAY_MERCHANT_CERT\"\ncertificate_id = \"c0ffee\"\n";
        let bound = target(&config("APPLE_PAY_MERCHANT_ID = \"merchant.sa.shop\"", binding), None);
        assert!(!warned(&bound));
    }

    #[test]
    fn production_refuses_the_sandbox_and_the_demo_shop() {
        let config = |vars: &str| format!("name = \"e\"\n[vars]\n{vars}\n");
        let none = BTreeMap::new();
        let sandbox = target(&config("SANDBOX_ENABLED = \"true\""), None);
        assert!(check_config(&sandbox, &none).unwrap_err().contains("SANDBOX_ENABLED"));
        let demo = target(&config("DEMO_SHOP_ENABLED = \"1\""), None);
        assert!(check_config(&demo, &none).unwrap_err().contains("DEMO_SHOP_ENABLED"));
        // A secret wins over a var on Cloudflare: the secrets file is checked too.
        let off = target(&config("SANDBOX_ENABLED = \"false\""), None);
        let sneaky = BTreeMap::from([("SANDBOX_ENABLED".to_string(), Some("yes".to_string()))]);
        assert!(check_config(&off, &sneaky).is_err());
        let warnings = check_config(&off, &none).unwrap();
        assert!(warnings.iter().any(|w| w.contains("BAWABA_ROUTES")), "{warnings:?}");
        assert!(warnings.iter().any(|w| w.contains("BAWABA_SHOPS")), "{warnings:?}");
        let routed = target(&config("BAWABA_ROUTES = \"mada=moyasar\""), None);
        let warnings = check_config(&routed, &none).unwrap();
        assert!(warnings.iter().any(|w| w.contains("MOYASAR_SECRET_KEY")), "{warnings:?}");
        // Staging: the sandbox, but no live shop.
        let live = r#"BAWABA_SHOPS = '[{"id":"s","origin":"https://s.example","secret":"S","mode":"live"}]'"#;
        let staging = format!("name = \"e\"\n[env.staging.vars]\nSANDBOX_ENABLED = \"true\"\n{live}\n");
        assert!(check_config(&target(&staging, Some("staging")), &none).unwrap_err().contains("live"));
    }

    #[test]
    fn secrets_files_are_checked_without_showing_values() {
        assert_eq!(parse_secrets(r#"{"A":"x","B_2":null}"#).unwrap().len(), 2);
        let bad = parse_secrets(r#"{"A": "hunter2", "B": 5}"#).unwrap_err();
        assert!(bad.contains('B') && !bad.contains("hunter2"), "{bad}");
        let broken = parse_secrets(r#"{"A": "hunter2""#).unwrap_err();
        assert!(!broken.contains("hunter2"), "{broken}");
        assert!(parse_secrets(r#"["A"]"#).is_err());
        assert!(parse_secrets(r#"{"A-B":"x"}"#).is_err());
        assert!(parse_secrets(r#"{"A":" "}"#).is_err());
    }

    #[test]
    fn routes_give_the_webhook_host() {
        let t = target("name = \"e\"\nroutes = [{ pattern = \"pay.example.com\", custom_domain = true }]\n", None);
        assert_eq!(t.routes, ["pay.example.com"]);
        let t = target("name = \"e\"\nroute = \"pay.example.com/*\"\n", None);
        assert_eq!(t.routes, ["pay.example.com"]);
        let printed = "Deployed bawaba-edge triggers\n  https://bawaba-edge.me.workers.dev\n";
        assert_eq!(deployed_hosts(printed), ["bawaba-edge.me.workers.dev"]);
    }
}
