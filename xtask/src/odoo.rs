//! `cargo xtask odoo-test`: the addon's tests in a real Odoo 19 (`odoo-bin --test-tags
//! /payment_bawaba`). Odoo is not on PyPI: point `ODOO_SRC` at an Odoo 19.0 source tree. The
//! command installs what Odoo needs (Debian's PostgreSQL and C libraries, Odoo's Python
//! requirements in a venv of their own), starts PostgreSQL, and runs the tests on a fresh
//! database.

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
    if have("/usr/bin/pg_ctlcluster") && have("/usr/include/postgresql/libpq-fe.h") && have("/usr/include/ldap.h") {
        return Ok(());
    }
    step("installing PostgreSQL and the C libraries Odoo's requirements build against (Debian)");
    crate::setup::apt_install(&["postgresql", "libpq-dev", "libldap2-dev", "libsasl2-dev", "libmagic1"])
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

/// Runs the addon's tests in Odoo.
pub fn test() -> Result {
    let src = odoo_src()?;
    ensure_system_packages()?;
    let python = ensure_venv(&src)?;
    ensure_postgres()?;
    let dir = root().join("target/odoo");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let db = format!("bawaba_test_{}", std::process::id());
    let conf = dir.join("odoo.conf");
    std::fs::write(
        &conf,
        format!(
            "[options]\naddons_path = {},{},{}\ndb_host = 127.0.0.1\ndb_port = 5432\ndb_user = odoo\n\
             db_password = odoo\nhttp_interface = 127.0.0.1\nworkers = 0\nmax_cron_threads = 0\n",
            root().join("odoo").display(),
            src.join("addons").display(),
            src.join("odoo/addons").display()
        ),
    )
    .map_err(|e| e.to_string())?;
    step(&format!("running the payment_bawaba tests in Odoo 19 on a fresh database {db}"));
    let mut child = Command::new(&python)
        .current_dir(&src)
        .arg("odoo-bin")
        .arg("-c")
        .arg(&conf)
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
