//! A running Odoo 19, driven the way its own web client drives it: a session from
//! `/web/session/authenticate`, then model calls on `/web/dataset/call_kw` (Odoo 19 deprecates
//! `/jsonrpc`). Used by the Odoo end-to-end test to configure the provider as the settings form
//! would, and to read back what the checkout did (transaction state, order state); and
//! [`Odoo::sign_in`] opens the back office in a browser as the same user, for what a merchant
//! does with Odoo's own screens.

use fantoccini::{Client, Locator};
use serde_json::{json, Value};

/// A logged-in session on one Odoo database.
pub struct Odoo {
    /// `http://127.0.0.1:8069`.
    pub base: String,
    session_cookie: String,
    login: String,
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

    /// Logs in and keeps the session cookie.
    pub fn login(base: &str, db: &str, login: &str, password: &str) -> Odoo {
        let base = base.trim_end_matches('/').to_string();
        let (answer, cookie) = post(
            &format!("{base}/web/session/authenticate"),
            None,
            json!({ "db": db, "login": login, "password": password }),
        );
        assert!(answer["uid"].as_i64().is_some(), "Odoo refused the login {login} on {db}: {answer}");
        let session_cookie = cookie.unwrap_or_else(|| panic!("Odoo set no session cookie for {login}"));
        Odoo { base, session_cookie, login: login.into(), password: password.into() }
    }

    /// Signs in to the back office in the browser `c` through Odoo's login page, as this
    /// session's user, and waits for the web client.
    pub async fn sign_in(&self, c: &Client) {
        c.goto(&format!("{}/web/login", self.base)).await.expect("the login page");
        // The form shows once the page's script has decided that there is no previous user to
        // offer.
        let field = |name: &'static str| async move {
            c.wait()
                .at_most(std::time::Duration::from_secs(20))
                .for_element(Locator::Css(&format!("form.oe_login_form:not(.d-none) input[name={name}]")))
                .await
                .unwrap_or_else(|e| panic!("no {name} field on Odoo's login page: {e}"))
        };
        field("login").await.send_keys(&self.login).await.expect("typing");
        field("password").await.send_keys(&self.password).await.expect("typing");
        c.find(Locator::Css("form.oe_login_form button[type=submit]"))
            .await
            .expect("the log in button")
            .click()
            .await
            .expect("a click");
        c.wait()
            .at_most(std::time::Duration::from_secs(30))
            .for_element(Locator::Css(".o_main_navbar"))
            .await
            .unwrap_or_else(|e| panic!("the back office did not open for {}: {e}", self.login));
    }

    /// `model.method(*args, **kwargs)` as the logged-in user.
    pub fn call(&self, model: &str, method: &str, args: Value, kwargs: Value) -> Value {
        let url = format!("{}/web/dataset/call_kw/{model}.{method}", self.base);
        let params = json!({ "model": model, "method": method, "args": args, "kwargs": kwargs });
        post(&url, Some(&self.session_cookie), params).0
    }

    /// `model.create(values)`: the new record's id.
    pub fn create(&self, model: &str, values: Value) -> i64 {
        let id = self.call(model, "create", json!([values]), json!({}));
        id.as_i64().or_else(|| id[0].as_i64()).unwrap_or_else(|| panic!("{model}.create answered {id}"))
    }

    /// `model.write(ids, values)`.
    pub fn write(&self, model: &str, ids: &[i64], values: Value) {
        self.call(model, "write", json!([ids, values]), json!({}));
    }

    /// The `fields` of one record.
    pub fn read(&self, model: &str, id: i64, fields: &[&str]) -> Value {
        let rows = self.search_read(model, json!([["id", "=", id]]), fields);
        rows.into_iter().next().unwrap_or_else(|| panic!("no {model} {id}"))
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

/// One JSON-RPC call to an Odoo route; returns its result and the session cookie it set, if any.
fn post(url: &str, cookie: Option<&str>, params: Value) -> (Value, Option<String>) {
    let body = json!({ "jsonrpc": "2.0", "method": "call", "id": 1, "params": params });
    let mut request = ureq::post(url);
    if let Some(cookie) = cookie {
        request = request.header("Cookie", cookie);
    }
    let mut answer = request.send_json(&body).unwrap_or_else(|e| panic!("Odoo did not answer {url}: {e}"));
    let cookie = answer
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("session_id="))
        .map(|v| v.split(';').next().unwrap_or(v).to_string());
    let answer: Value = answer.body_mut().read_json().expect("Odoo answers JSON-RPC in JSON");
    if let Some(error) = answer.get("error") {
        let message = error["data"]["message"].as_str().unwrap_or("");
        let debug = error["data"]["debug"].as_str().unwrap_or("");
        let tail: Vec<&str> = debug.lines().rev().take(6).collect::<Vec<_>>().into_iter().rev().collect();
        panic!("Odoo refused {url}: {message}\n{}", tail.join("\n"));
    }
    (answer["result"].clone(), cookie)
}
