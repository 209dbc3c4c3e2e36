//! Odoo 19 with the addon, for real. Odoo is not on PyPI: point `ODOO_SRC` at an Odoo 19.0
//! source tree. Both commands install what Odoo needs (Debian's PostgreSQL, wkhtmltopdf and C
//! libraries, Odoo's Python requirements in a venv of their own) and start PostgreSQL.
//!
//! - `cargo xtask odoo-test`: the addon's tests (`odoo-bin --test-tags /payment_bawaba`) on a
//!   fresh database.
//! - `cargo xtask odoo-demo [--exit]`: a shop (`website_sale` with demo data, Odoo's wire
//!   transfer with a Saudi IBAN, and the addon) on http://127.0.0.1:8069, the edge in workerd
//!   with the sandbox on http://127.0.0.1:8787, then the browser test
//!   (`tests/tests/odoo_checkout.rs`): purchases on `/shop` through the widget (order confirmed,
//!   e-mail sent), refunds (one through Odoo's refund wizard), a payment link, an invoice paid
//!   from the portal, a bank transfer, and the payment form when the edge is out of reach. Then
//!   both keep running for you, also after a failure, until Ctrl-C (or stop at once with
//!   `--exit`).

use crate::{root, run_cmd, step, Result};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn cache() -> PathBuf {
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    PathBuf::from(std::env::var("XDG_CACHE_HOME").unwrap_or_else(|_| format!("{home}/.cache"))).join("bawaba")
}

fn odoo_src() -> Result<PathBuf> {
    let Ok(src) = std::env::var("ODOO_SRC") else {
        return Err("ODOO_SRC is not set. Point it at an Odoo 19.0 source tree (a checkout of odoo/odoo, branch \
                    19.0: the folder with odoo-bin, odoo/ and addons/), e.g. \
                    `ODOO_SRC=/opt/odoo19 cargo xtask odoo-test`. The pure-Python protocol tests run without it \
                    in `cargo xtask test`."
            .into());
    };
    let src = PathBuf::from(src);
    if !src.join("odoo-bin").exists() || !src.join("addons/payment").exists() {
        return Err(format!("{} is not an Odoo source tree (no odoo-bin or addons/payment)", src.display()));
    }
    Ok(src)
}

fn ensure_system_packages() -> Result {
    let have = |p: &str| Path::new(p).exists();
    if have("/usr/bin/pg_ctlcluster")
        && have("/usr/include/postgresql/libpq-fe.h")
        && have("/usr/include/ldap.h")
        && have("/usr/bin/wkhtmltopdf")
    {
        return Ok(());
    }
    // wkhtmltopdf: the order confirmation e-mail carries the quotation as a PDF; without it the
    // e-mail fails during payment post-processing and the order stays a quotation.
    step("installing PostgreSQL, wkhtmltopdf and the C libraries Odoo's requirements build against (Debian)");
    crate::setup::apt_install(&["postgresql", "libpq-dev", "libldap2-dev", "libsasl2-dev", "libmagic1", "wkhtmltopdf"])
}

fn ensure_venv(src: &Path) -> Result<PathBuf> {
    let venv = cache().join("odoo19-venv");
    let python = venv.join("bin/python");
    let stamp = venv.join(".requirements");
    let requirements = std::fs::read_to_string(src.join("requirements.txt")).map_err(|e| e.to_string())?;
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(requirements.as_str()) {
        return Ok(python);
    }
    step("installing Odoo's Python requirements into a venv (about 2 minutes, once)");
    run_cmd(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    run_cmd(Command::new(&python).args(["-m", "pip", "install", "--quiet", "-U", "pip"]))?;
    // Old sdists (cbor2, …) still import pkg_resources, gone from setuptools 81.
    let constraint = venv.join("build-constraint.txt");
    std::fs::write(&constraint, "setuptools<81\n").map_err(|e| e.to_string())?;
    run_cmd(
        Command::new(&python)
            .args(["-m", "pip", "install", "--quiet", "--build-constraint"])
            .arg(&constraint)
            .arg("-r")
            .arg(src.join("requirements.txt")),
    )?;
    std::fs::write(&stamp, requirements).map_err(|e| e.to_string())?;
    Ok(python)
}

fn ensure_postgres() -> Result {
    let clusters = Command::new("pg_lsclusters").arg("--no-header").output().map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&clusters.stdout).to_string();
    let first = text.lines().next().ok_or("no PostgreSQL cluster (pg_lsclusters is empty)")?;
    let cols: Vec<&str> = first.split_whitespace().collect();
    if cols.get(3) != Some(&"online") {
        step("starting PostgreSQL");
        run_cmd(Command::new("pg_ctlcluster").args([cols[0], cols[1], "start"]))?;
    }
    // Odoo refuses to run as the postgres superuser: a login role that may create databases.
    let sql = "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='odoo') THEN \
               CREATE ROLE odoo LOGIN CREATEDB PASSWORD 'odoo'; END IF; END $$;";
    let mut psql = Command::new("su")
        .args(["postgres", "-c", "psql -q -v ON_ERROR_STOP=1"])
        .stdin(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    std::io::Write::write_all(&mut psql.stdin.take().expect("piped"), sql.as_bytes()).map_err(|e| e.to_string())?;
    let status = psql.wait().map_err(|e| e.to_string())?;
    if status.success() {
        Ok(())
    } else {
        Err("could not create the odoo database role".into())
    }
}

/// What both commands need: the source tree, the venv's Python, a running PostgreSQL.
struct Prepared {
    src: PathBuf,
    python: PathBuf,
}

fn prepare() -> Result<Prepared> {
    let src = odoo_src()?;
    ensure_system_packages()?;
    let python = ensure_venv(&src)?;
    ensure_postgres()?;
    Ok(Prepared { src, python })
}

impl Prepared {
    /// Writes an `odoo.conf` in `dir` (the addon's folder first on the addons path) with `extra`
    /// options appended.
    fn write_conf(&self, dir: &Path, extra: &str) -> Result<PathBuf> {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let conf = dir.join("odoo.conf");
        let text = format!(
            "[options]\naddons_path = {},{},{}\ndb_host = 127.0.0.1\ndb_port = 5432\ndb_user = odoo\n\
             db_password = odoo\nhttp_interface = 127.0.0.1\nworkers = 0\nmax_cron_threads = 0\n{extra}",
            root().join("odoo").display(),
            self.src.join("addons").display(),
            self.src.join("odoo/addons").display()
        );
        std::fs::write(&conf, text).map_err(|e| e.to_string())?;
        Ok(conf)
    }

    /// `odoo-bin -c conf <args>`.
    fn odoo_bin(&self, conf: &Path) -> Command {
        let mut cmd = Command::new(&self.python);
        cmd.current_dir(&self.src).arg("odoo-bin").arg("-c").arg(conf);
        cmd
    }

    /// Runs `script` (Python, with `env` as the superuser) in `odoo-bin shell` on `db`. The script
    /// commits what it changes; it prints `ok` last, so a script that stopped half-way is an error.
    fn run_python(&self, conf: &Path, db: &str, what: &str, script: &str) -> Result {
        let mut child = Command::new(&self.python)
            .current_dir(&self.src)
            .args(["odoo-bin", "shell", "-c"])
            .arg(conf)
            .args(["-d", db, "--no-http", "--log-level", "warn", "--shell-interface", "python"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start odoo-bin shell: {e}"))?;
        std::io::Write::write_all(&mut child.stdin.take().expect("piped"), script.as_bytes())
            .map_err(|e| e.to_string())?;
        let out = child.wait_with_output().map_err(|e| e.to_string())?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        if out.status.success() && stdout.lines().last().map(str::trim) == Some("ok") {
            Ok(())
        } else {
            Err(format!("{what} failed ({}): {stdout}", out.status))
        }
    }
}

fn database_exists(db: &str) -> bool {
    let out = Command::new("su").args(["postgres", "-c", "psql -lqtA"]).output();
    out.map(|o| String::from_utf8_lossy(&o.stdout).lines().any(|l| l.split('|').next() == Some(db))).unwrap_or(false)
}

/// Runs the addon's tests in Odoo.
pub fn test() -> Result {
    let odoo = prepare()?;
    let db = format!("bawaba_test_{}", std::process::id());
    let conf = odoo.write_conf(&root().join("target/odoo"), "")?;
    step(&format!("running the payment_bawaba tests in Odoo 19 on a fresh database {db}"));
    let mut child = odoo
        .odoo_bin(&conf)
        .args(["-d", &db, "-i", "payment_bawaba", "--test-tags", "/payment_bawaba", "--http-port", "8169"])
        .arg(format!("--db-filter=^{db}$"))
        .arg("--stop-after-init")
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let mut summary = None;
    for line in std::io::BufReader::new(child.stderr.take().expect("piped")).lines().map_while(|l| l.ok()) {
        if line.contains(" ERROR ")
            || line.contains("FAIL")
            || line.contains("post-tests")
            || line.contains("Starting ")
        {
            eprintln!("{line}");
        }
        if let Some(i) = line.find(" failed, ") {
            summary = Some(line[..].split("odoo.tests.result: ").nth(1).unwrap_or(&line[i..]).to_string());
        }
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    let _ = Command::new("su").args(["postgres", "-c", &format!("dropdb --if-exists {db}")]).status();
    let summary = summary.ok_or("Odoo ran no tests (is payment_bawaba on the addons path?)")?;
    // "0 failed, 0 error(s) of 14 tests when loading database …"
    let numbers: Vec<u64> = summary.split_whitespace().filter_map(|w| w.parse().ok()).collect();
    let (failed, errors, total) = (
        numbers.first().copied().unwrap_or(1),
        numbers.get(1).copied().unwrap_or(1),
        numbers.get(2).copied().unwrap_or(0),
    );
    println!("odoo: {} passed, {} failed", total.saturating_sub(failed + errors), failed + errors);
    if status.success() && failed + errors == 0 && total > 0 {
        Ok(())
    } else {
        Err(format!("Odoo tests: {summary}"))
    }
}

/// The demo shop's database, and where Odoo and the edge listen.
const DEMO_DB: &str = "bawaba_shop";
const ODOO_PORT: u16 = 8069;
const EDGE_PORT: u16 = 8787;

/// A server started for the demo, in our process group (so Ctrl-C reaches it too), stopped
/// with SIGINT when dropped: both Odoo and wrangler shut down cleanly on it.
struct Server {
    name: &'static str,
    child: std::process::Child,
}

impl Server {
    fn start(name: &'static str, cmd: &mut Command) -> Result<Server> {
        let child = cmd.spawn().map_err(|e| format!("cannot start {name}: {e}"))?;
        Ok(Server { name, child })
    }

    /// Waits until `GET path` on `port` answers 200 (or 303 for Odoo's redirects), failing
    /// early if the server died.
    fn wait_ready(&mut self, port: u16, path: &str, secs: u64, log: &Path) -> Result {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            if let Some(status) = http_status(port, path) {
                if status == 200 || status == 303 {
                    return Ok(());
                }
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("{} stopped ({status}); see {}", self.name, log.display()));
            }
            if std::time::Instant::now() > deadline {
                return Err(format!(
                    "{} did not answer on port {port} within {secs} s; see {}",
                    self.name,
                    log.display()
                ));
            }
            std::thread::sleep(std::time::Duration::from_millis(300));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-INT", &self.child.id().to_string()]).status();
        for _ in 0..100 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The status of `GET path` on 127.0.0.1:`port`, if anything answers there.
fn http_status(port: u16, path: &str) -> Option<u16> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n").ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

/// `cargo xtask odoo-demo [--exit] [--fresh]`.
pub fn demo(args: &[String]) -> Result {
    let exit_after_test = args.iter().any(|a| a == "--exit");
    let fresh = args.iter().any(|a| a == "--fresh");
    for port in [ODOO_PORT, EDGE_PORT] {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Err(format!("port {port} is in use (another demo?): stop it first"));
        }
    }
    let odoo = prepare()?;
    let tools = crate::setup::tools()?;
    crate::setup::ensure_browser()?;
    crate::build::build(true)?;
    let shop_secret = crate::run::ensure_dev_var("SHOP_ODOO_SECRET")?;

    let dir = root().join("target/odoo-demo");
    let odoo_log = dir.join("odoo.log");
    let conf = odoo.write_conf(
        &dir,
        &format!("http_port = {ODOO_PORT}\ndb_name = {DEMO_DB}\ndbfilter = ^{DEMO_DB}$\nlist_db = False\n"),
    )?;
    let edge_state = dir.join("edge-state");
    prepare_database(&odoo, &conf, fresh, &edge_state)?;
    configure_wire_transfer(&odoo, &conf)?;

    step(&format!("starting Odoo on http://127.0.0.1:{ODOO_PORT} (log: {})", odoo_log.display()));
    let _ = std::fs::remove_file(&odoo_log);
    // rtlcss (an npm package of ours): Odoo turns its stylesheets right to left with it for the
    // Arabic website.
    let path = format!("{}:{}", root().join("node_modules/.bin").display(), tools.path_env());
    let mut odoo_server = Server::start(
        "Odoo",
        odoo.odoo_bin(&conf).args(["-d", DEMO_DB, "--logfile"]).arg(&odoo_log).env("PATH", path),
    )?;

    let edge_log = dir.join("edge.log");
    let mut edge = start_edge(&tools, &edge_state, &edge_log)?;
    edge.wait_ready(EDGE_PORT, "/v1/health", 120, &edge_log)?;
    odoo_server.wait_ready(ODOO_PORT, "/web/login", 120, &odoo_log)?;

    step(
        "buying a product on /shop through the widget, then checking the order in Odoo (tests/tests/odoo_checkout.rs)",
    );
    // Not run_cmd: its error message would print the command's environment, the shop secret
    // among it.
    let status = Command::new(env!("CARGO"))
        .current_dir(root())
        .args(["test", "-p", "bawaba-tests", "--test", "odoo_checkout", "--", "--ignored", "--nocapture"])
        .arg("--test-threads=1")
        .env("BAWABA_ODOO_URL", format!("http://127.0.0.1:{ODOO_PORT}"))
        .env("BAWABA_ODOO_DB", DEMO_DB)
        .env("BAWABA_EDGE_URL", format!("http://127.0.0.1:{EDGE_PORT}"))
        .env("BAWABA_ODOO_SHOP_ID", "odoo")
        .env("BAWABA_ODOO_SHOP_SECRET", &shop_secret)
        .status()
        .map_err(|e| format!("cannot run the Odoo checkout test: {e}"))?;
    let outcome = if status.success() {
        step("the payments made through the widget are confirmed in Odoo");
        Ok(())
    } else {
        Err(format!("the Odoo checkout test failed; logs: {} and {}", odoo_log.display(), edge_log.display()))
    };
    if exit_after_test {
        return outcome;
    }
    if let Err(e) = &outcome {
        // Without --exit, both stay up after a failure too, to look at what the test saw.
        step(&format!("{e}; Odoo and the edge keep running to look into it"));
    }
    eprintln!();
    eprintln!("    Shop:             http://127.0.0.1:{ODOO_PORT}/shop  (Arabic: /ar/shop)");
    eprintln!("    Odoo backend:     http://127.0.0.1:{ODOO_PORT}/odoo  (admin / admin)");
    eprintln!("    Bawaba provider:  http://127.0.0.1:{ODOO_PORT}/odoo/action-payment.action_payment_provider");
    eprintln!("    Wire transfer:    offered next to Bawaba; the bank details (IBAN {DEMO_IBAN}) follow the order");
    eprintln!("    Test cards: 4464 0400 0000 0007 (mada, approves), 4111 1111 1111 1111 (Visa, approves),");
    eprintln!("                4000 0000 0000 0002 (declines), 4000 0000 0000 3220 (3-D Secure, code 123456);");
    eprintln!("                any future expiry, any CVC.");
    eprintln!("    Ctrl-C stops Odoo and the edge.");
    eprintln!();
    let _ = edge.child.wait();
    outcome
}

/// Creates the shop database (website_sale with demo data, and the addon), or updates the addon
/// in it. `--fresh` drops it first.
fn prepare_database(odoo: &Prepared, conf: &Path, fresh: bool, edge_state: &Path) -> Result {
    if fresh && database_exists(DEMO_DB) {
        step(&format!("dropping the shop database {DEMO_DB} (--fresh)"));
        run_cmd(Command::new("su").args(["postgres", "-c", &format!("dropdb {DEMO_DB}")]))?;
    }
    if database_exists(DEMO_DB) {
        step("updating payment_bawaba in the shop database");
        // `-i` installs only what is missing: wire transfer in a database made before it was in
        // the demo.
        return run_cmd(
            odoo.odoo_bin(conf)
                .args(["-d", DEMO_DB, "-u", "payment_bawaba", "-i", DEMO_MODULES, "--stop-after-init"])
                .args(["--log-level", "warn"]),
        );
    }
    // The edge's payments belong with the database: Odoo numbers its orders S00001, S00002, …
    // again in a new database, and the edge rightly refuses a reference it already knows for
    // another amount. So a new database gets a new edge state.
    let _ = std::fs::remove_dir_all(edge_state);
    step(&format!(
        "creating the shop database {DEMO_DB}: website_sale with demo data, wire transfer and payment_bawaba \
         (about 3 minutes, once)"
    ));
    run_cmd(
        odoo.odoo_bin(conf)
            .args(["-d", DEMO_DB, "-i", DEMO_MODULES, "--with-demo", "--stop-after-init"])
            .args(["--log-level", "warn"]),
    )
}

/// What the shop database has: the shop, Odoo's own wire transfer (`payment_custom`: the shopper
/// pays from a Saudi bank account by transfer, the merchant confirms when the money arrives), and
/// the addon.
const DEMO_MODULES: &str = "website_sale,payment_custom,payment_bawaba";

/// The bank details the demo shop shows for a transfer: an IBAN of the Saudi format (SA, 2 check
/// digits, a 2-digit bank code — 80 is Al Rajhi Bank — and an 18-digit account), and the
/// beneficiary, which is the company's name.
const DEMO_IBAN: &str = "SA03 8000 0000 6080 1016 7519";

/// Enables and publishes Odoo's wire-transfer provider on the website, with the instructions in
/// English and Arabic (Arabic is made a website language for it, as the shop has it anyway).
/// Idempotent: every run leaves it so.
fn configure_wire_transfer(odoo: &Prepared, conf: &Path) -> Result {
    step(&format!("enabling wire transfer (Saudi IBAN {DEMO_IBAN}) on the website, in English and Arabic"));
    let script = format!(
        r#"
website = env.ref('website.default_website')
arabic = env['res.lang'].with_context(active_test=False).search([('code', '=', 'ar_001')])
if not arabic.active or arabic not in website.language_ids:
    env['base.language.install'].create({{
        'lang_ids': [(6, 0, arabic.ids)], 'website_ids': [(6, 0, website.ids)],
    }}).lang_install()
provider = env.ref('payment.payment_provider_transfer')
beneficiary = provider.company_id.name
iban = {iban:?}
# The same markup in both languages, one text per element: Odoo translates HTML fields term by
# term, each English term to its Arabic one.
english = {{
    'pre_msg': '<p>Pay by bank transfer from your Saudi bank account. Your order is confirmed when the money '
               'arrives.</p>',
    'pending_msg': (
        '<div><h5>Please transfer the amount to this account</h5>'
        '<p>Bank: Al Rajhi Bank</p>'
        f'<p>Beneficiary: {{beneficiary}}</p>'
        f'<p>IBAN: <span dir="ltr">{{iban}}</span></p>'
        '<p>Write the reference below in the transfer details. Your order is confirmed when the money '
        'arrives.</p></div>'
    ),
}}
arabic_texts = {{
    'pre_msg': '<p>ادفع بتحويل بنكي من حسابك في بنك سعودي. يُؤكَّد طلبك عند وصول المبلغ.</p>',
    'pending_msg': (
        '<div><h5>يُرجى تحويل المبلغ إلى هذا الحساب</h5>'
        '<p>البنك: مصرف الراجحي</p>'
        f'<p>المستفيد: {{beneficiary}}</p>'
        f'<p>رقم الآيبان (IBAN): <span dir="ltr">{{iban}}</span></p>'
        '<p>اكتب المرجع أدناه في تفاصيل التحويل. يُؤكَّد طلبك عند وصول المبلغ.</p></div>'
    ),
}}
provider.write({{'state': 'enabled', 'is_published': True}})
for name, text in english.items():
    field = provider._fields[name]
    terms = lambda html: field.get_trans_terms(field.convert_to_cache(html, provider))
    pairs = list(zip(terms(text), terms(arabic_texts[name]), strict=True))
    provider.write({{name: False}})  # Forget earlier texts and their translations.
    provider.with_context(lang='en_US').write({{name: text}})
    provider._update_field_translations(name, {{'ar_001': dict(pairs)}})
env.cr.commit()
print('ok')
"#,
        iban = DEMO_IBAN
    );
    odoo.run_python(conf, DEMO_DB, "configuring wire transfer", &script)
}

/// The edge in local workerd with the sandbox, and two shops registered: the edge's own demo
/// shop and the Odoo shop (`SHOP_ODOO_SECRET` in `.dev.vars`).
fn start_edge(tools: &crate::setup::Tools, state: &Path, log: &Path) -> Result<Server> {
    step(&format!("starting the edge in local workerd on http://127.0.0.1:{EDGE_PORT} with the sandbox gateway"));
    let shops = serde_json::json!([
        { "id": "demo", "origin": format!("http://127.0.0.1:{EDGE_PORT}"), "secret": "SHOP_DEMO_SECRET", "mode": "test" },
        { "id": "odoo", "origin": format!("http://127.0.0.1:{ODOO_PORT}"), "secret": "SHOP_ODOO_SECRET", "mode": "test" },
    ]);
    let config = edge_config(state.parent().unwrap_or(state))?;
    let mut migrate = Command::new(&tools.node);
    migrate.current_dir(root()).arg(&tools.wrangler).args(["d1", "migrations", "apply", "STATS", "--local"]);
    migrate.arg("--config").arg(&config).args(["--env", "local", "--persist-to"]).arg(state).env("CI", "1");
    crate::run::wrangler_env(&mut migrate, tools);
    crate::run_cmd(&mut migrate)?;
    let log_file = std::fs::File::create(log).map_err(|e| e.to_string())?;
    let mut wrangler = Command::new(&tools.node);
    wrangler
        .current_dir(root())
        .arg(&tools.wrangler)
        .arg("dev")
        .arg("--config")
        .arg(&config)
        .args(["--env", "local"])
        .arg("--env-file")
        .arg(root().join(".dev.vars"))
        .args(["--ip", "127.0.0.1", "--port", &EDGE_PORT.to_string()])
        .args(["--show-interactive-dev-session=false", "--persist-to"])
        .arg(state)
        .arg("--var")
        .arg(format!("BAWABA_SHOPS:{shops}"))
        .stdout(log_file.try_clone().map_err(|e| e.to_string())?)
        .stderr(log_file);
    crate::run::wrangler_env(&mut wrangler, tools);
    Server::start("the edge (wrangler dev)", &mut wrangler)
}

/// The edge's configuration for the demo, written in `dir`: the project's `wrangler.toml` with
/// absolute paths and without its `[build]` section. The edge was built before it starts; with a
/// build command, wrangler would build it again, and rebuild and restart it whenever a source
/// file changes, in the middle of the browser test too.
fn edge_config(dir: &Path) -> Result<PathBuf> {
    let original = std::fs::read_to_string(root().join("wrangler.toml")).map_err(|e| e.to_string())?;
    let mut text = String::new();
    let mut section = String::new();
    for line in original.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            section = trimmed.to_string();
        }
        if section == "[build]" {
            continue;
        }
        let path_setting = ["main", "directory", "migrations_dir"].into_iter().find_map(|key| {
            let value = trimmed.strip_prefix(key)?.trim_start().strip_prefix('=')?.trim().trim_matches('"');
            Some((key, value))
        });
        match path_setting {
            Some((key, value)) => text.push_str(&format!("{key} = {:?}\n", root().join(value).display().to_string())),
            None => {
                text.push_str(line);
                text.push('\n');
            }
        }
    }
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let config = dir.join("wrangler.toml");
    std::fs::write(&config, text).map_err(|e| e.to_string())?;
    Ok(config)
}
