//! A blocking HTTP client for tests: returns every status as a value and never follows redirects.

use std::sync::OnceLock;

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
}

impl Reply {
    /// The body as JSON (panics with the body if it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
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
    let mut resp = result.unwrap_or_else(|e| panic!("request failed: {e}"));
    let header = |name: &str| resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let location = header("location");
    let content_type = header("content-type");
    let status = resp.status().as_u16();
    let body = resp.body_mut().with_config().limit(10 * 1024 * 1024).read_to_string().unwrap_or_default();
    Reply { status, location, content_type, body }
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
