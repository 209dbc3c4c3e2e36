//! A blocking HTTP client for tests: returns every status as a value and never follows redirects.
//!
//! Every answer it reads is also audited: no secret configured on a test edge or fake (shop keys,
//! gateway keys, webhook secrets: see [`register_secret`]) may appear in any status line,
//! header or body the tests receive, so a whole test run checks that secrets never leave.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

static SECRETS: Mutex<Vec<String>> = Mutex::new(Vec::new());
static AUDITED: AtomicU64 = AtomicU64::new(0);

/// Registers a secret value that no answer may contain (values shorter than 8 characters are
/// too likely to occur by chance and are not registered).
pub fn register_secret(value: &str) {
    if value.len() >= 8 {
        let mut secrets = SECRETS.lock().unwrap_or_else(|e| e.into_inner());
        if !secrets.iter().any(|s| s == value) {
            secrets.push(value.to_string());
        }
    }
}

/// How many answers this process has audited so far.
pub fn audited() -> u64 {
    AUDITED.load(Ordering::Relaxed)
}

/// Panics if `reply` contains a registered secret (naming only where, never the value).
pub fn audit(reply: &Reply) {
    AUDITED.fetch_add(1, Ordering::Relaxed);
    let secrets = SECRETS.lock().unwrap_or_else(|e| e.into_inner()).clone();
    for (i, secret) in secrets.iter().enumerate() {
        if reply.body.contains(secret.as_str()) {
            panic!("registered secret #{i} appears in an answer's body (HTTP {})", reply.status);
        }
        if let Some((name, _)) = reply.headers.iter().find(|(_, v)| v.contains(secret.as_str())) {
            panic!("registered secret #{i} appears in an answer's {name} header (HTTP {})", reply.status);
        }
    }
}

/// A response.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// `Location` header, if any.
    pub location: Option<String>,
    /// `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// Body text.
    pub body: String,
    /// Every header, names lower-cased.
    pub headers: Vec<(String, String)>,
}

impl Reply {
    /// The body as JSON (panics with the body if it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// A header's value (the first, if repeated).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str())
    }

    /// The `error.code` of an error body.
    pub fn error_code(&self) -> String {
        self.json()["error"]["code"].as_str().unwrap_or_else(|| panic!("no error code in {}", self.body)).to_string()
    }
}

fn agent() -> &'static ureq::Agent {
    static AGENT: OnceLock<ureq::Agent> = OnceLock::new();
    AGENT.get_or_init(|| {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(std::time::Duration::from_secs(30)))
            .build()
            .into()
    })
}

fn reply(result: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Reply {
    read_reply(result.unwrap_or_else(|e| panic!("request failed: {e}")))
}

/// Reads an answer into a [`Reply`], and audits it.
pub fn read_reply(mut resp: ureq::http::Response<ureq::Body>) -> Reply {
    let headers: Vec<(String, String)> = resp
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_ascii_lowercase(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    let header = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let location = header("location");
    let content_type = header("content-type");
    let status = resp.status().as_u16();
    let body = resp.body_mut().with_config().limit(10 * 1024 * 1024).read_to_string().unwrap_or_default();
    let reply = Reply { status, location, content_type, body, headers };
    audit(&reply);
    reply
}

/// GET with extra headers.
pub fn get_with_headers(url: &str, headers: &[(&str, &str)]) -> Reply {
    let mut req = agent().get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    reply(req.call())
}

/// GET.
pub fn get(url: &str) -> Reply {
    reply(agent().get(url).call())
}

/// POST with a body and content type.
pub fn post(url: &str, content_type: &str, body: &[u8]) -> Reply {
    reply(agent().post(url).header("Content-Type", content_type).send(body))
}

/// POST JSON.
pub fn post_json(url: &str, body: &serde_json::Value) -> Reply {
    post(url, "application/json", body.to_string().as_bytes())
}

/// POST a form.
pub fn post_form(url: &str, fields: &[(&str, &str)]) -> Reply {
    let body: String =
        fields.iter().map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v))).collect::<Vec<_>>().join("&");
    post(url, "application/x-www-form-urlencoded", body.as_bytes())
}

/// POST with extra headers.
pub fn post_with_headers(url: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    let mut req = agent().post(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    reply(req.send(body))
}

/// A request with any method (for 405 checks).
pub fn request(method: &str, url: &str) -> Reply {
    let req = ureq::http::Request::builder().method(method).uri(url).body(()).expect("valid request");
    reply(agent().run(req))
}

/// Percent-encodes a form value.
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_carrying_a_registered_secret_fails_the_test() {
        register_secret("whsec_this-must-never-leave");
        let clean = Reply { status: 200, location: None, content_type: None, body: "{}".into(), headers: vec![] };
        audit(&clean);
        let in_body = Reply { body: "token: whsec_this-must-never-leave".into(), ..clean.clone() };
        assert!(std::panic::catch_unwind(|| audit(&in_body)).is_err());
        let in_header = Reply { headers: vec![("x-debug".into(), "whsec_this-must-never-leave".into())], ..clean };
        assert!(std::panic::catch_unwind(|| audit(&in_header)).is_err());
    }
}
