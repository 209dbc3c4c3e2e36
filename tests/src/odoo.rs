//! A running Odoo 19, seen from outside as a merchant's tools see it: Odoo's external JSON-RPC
//! API (`/jsonrpc`, `execute_kw`) with a user's login. Used by the Odoo end-to-end test to
//! configure the provider the way the settings form would, and to read back what the checkout
//! did (transaction state, order state, e-mails).

use serde_json::{json, Value};

/// A logged-in connection to one Odoo database.
pub struct Odoo {
    /// `http://127.0.0.1:8069`.
    pub base: String,
    db: String,
    uid: i64,
    password: String,
}

impl Odoo {
    /// Connects from the environment `cargo xtask odoo-demo` sets: `BAWABA_ODOO_URL`,
    /// `BAWABA_ODOO_DB`, and optionally `BAWABA_ODOO_LOGIN` / `BAWABA_ODOO_PASSWORD` (the demo
    /// database's `admin` / `admin` otherwise).
    pub fn from_env() -> Option<Odoo> {
        let base = std::env::var("BAWABA_ODOO_URL").ok()?;
        let db = std::env::var("BAWABA_ODOO_DB").ok()?;
        let login = std::env::var("BAWABA_ODOO_LOGIN").unwrap_or_else(|_| "admin".into());
        let password = std::env::var("BAWABA_ODOO_PASSWORD").unwrap_or_else(|_| "admin".into());
        Some(Odoo::login(&base, &db, &login, &password))
    }

    /// Logs in (`common.authenticate`).
    pub fn login(base: &str, db: &str, login: &str, password: &str) -> Odoo {
        let uid = rpc(base, "common", "authenticate", json!([db, login, password, {}]));
        let uid = uid.as_i64().unwrap_or_else(|| panic!("Odoo refused the login {login} on {db}: {uid}"));
        Odoo { base: base.trim_end_matches('/').to_string(), db: db.to_string(), uid, password: password.to_string() }
    }

    /// `model.method(*args, **kwargs)` as the logged-in user.
    pub fn call(&self, model: &str, method: &str, args: Value, kwargs: Value) -> Value {
        rpc(&self.base, "object", "execute_kw", json!([self.db, self.uid, self.password, model, method, args, kwargs]))
    }

    /// `search_read` with a domain and field list.
    pub fn search_read(&self, model: &str, domain: Value, fields: &[&str]) -> Vec<Value> {
        let rows = self.call(model, "search_read", json!([domain]), json!({ "fields": fields }));
        rows.as_array().cloned().unwrap_or_default()
    }

    /// The id of the record an XML id names.
    pub fn xmlid(&self, xmlid: &str) -> i64 {
        let (module, name) = xmlid.split_once('.').expect("module.name");
        let rows =
            self.search_read("ir.model.data", json!([["module", "=", module], ["name", "=", name]]), &["res_id"]);
        rows.first().and_then(|r| r["res_id"].as_i64()).unwrap_or_else(|| panic!("no record {xmlid}"))
    }
}

fn rpc(base: &str, service: &str, method: &str, args: Value) -> Value {
    let body = json!({ "jsonrpc": "2.0", "method": "call", "id": 1,
                       "params": { "service": service, "method": method, "args": args } });
    let url = format!("{}/jsonrpc", base.trim_end_matches('/'));
    let mut answer = ureq::post(&url)
        .send_json(&body)
        .unwrap_or_else(|e| panic!("Odoo at {base} did not answer {service}.{method}: {e}"));
    let answer: Value = answer.body_mut().read_json().expect("Odoo answers JSON-RPC in JSON");
    if let Some(error) = answer.get("error") {
        let message = error["data"]["message"].as_str().unwrap_or("");
        let debug = error["data"]["debug"].as_str().unwrap_or("");
        let tail: Vec<&str> = debug.lines().rev().take(6).collect::<Vec<_>>().into_iter().rev().collect();
        panic!("Odoo refused {service}.{method}: {message}\n{}", tail.join("\n"));
    }
    answer["result"].clone()
}
