//! Small helpers for the worker: clock, random ids, bounded body reads, JSON responses.

use bawaba_core::api::{ApiError, MAX_BODY_BYTES};
use worker::{Request, Response};

/// Unix seconds from the platform clock.
pub fn now_secs() -> i64 {
    (worker::Date::now().as_millis() / 1000) as i64
}

/// Unix milliseconds.
pub fn now_millis() -> i64 {
    worker::Date::now().as_millis() as i64
}

/// A random id: `prefix` + 32 hex chars from the platform's CSPRNG.
pub fn random_id(prefix: &str) -> String {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).expect("crypto.getRandomValues is available in workers");
    format!("{prefix}{}", hex::encode(bytes))
}

/// Reads the body, refusing more than [`MAX_BODY_BYTES`]: by `Content-Length` first, then
/// while streaming, so a body sent without a length (chunked) is cut off at the limit instead
/// of being buffered whole.
pub async fn read_body(req: &mut Request) -> Result<Vec<u8>, ApiError> {
    use futures_util::StreamExt;
    if let Ok(Some(len)) = req.headers().get("Content-Length") {
        if len.parse::<usize>().map(|n| n > MAX_BODY_BYTES).unwrap_or(false) {
            return Err(ApiError::BodyTooLarge);
        }
    }
    let unreadable = |e: worker::Error| ApiError::InvalidRequest(format!("unreadable body: {e}"));
    let mut stream = match req.stream() {
        Ok(s) => s,
        // No body at all.
        Err(_) => return Ok(Vec::new()),
    };
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(unreadable)?;
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(ApiError::BodyTooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Reads and parses a JSON body into `T`, with a message that names what was wrong.
pub async fn read_json<T: serde::de::DeserializeOwned>(req: &mut Request) -> Result<T, ApiError> {
    let bytes = read_body(req).await?;
    if bytes.is_empty() {
        return Err(ApiError::InvalidRequest("the body is empty; send a JSON object".into()));
    }
    serde_json::from_slice(&bytes).map_err(|e| ApiError::InvalidRequest(e.to_string()))
}

/// A JSON response with a status.
pub fn json<T: serde::Serialize>(status: u16, value: &T) -> Response {
    match Response::from_json(value) {
        Ok(r) => r.with_status(status),
        Err(e) => crate::error::response(&ApiError::Internal(e.to_string())),
    }
}

/// An HTML page with no inline content, under the edge's strict page policy
/// ([`bawaba_core::web_policy`]).
pub fn html(status: u16, body: String) -> Response {
    html_with_styles(status, body, &[])
}

/// An HTML page whose only inline content is `inline_styles` (the exact text of each of its
/// `<style>` elements, allowed by hash).
pub fn html_with_styles(status: u16, body: String, inline_styles: &[&str]) -> Response {
    let resp = Response::from_html(body).map(|r| r.with_status(status));
    let mut resp = resp.unwrap_or_else(|e| crate::error::response(&ApiError::Internal(e.to_string())));
    let csp = bawaba_core::web_policy::content_security_policy(inline_styles);
    let _ = resp.headers_mut().set("Content-Security-Policy", &csp);
    resp
}

/// A 303 redirect (POST → GET).
pub fn see_other(location: &str) -> Response {
    let resp = Response::empty().map(|r| r.with_status(303));
    match resp {
        Ok(mut r) => {
            let _ = r.headers_mut().set("Location", location);
            r
        }
        Err(e) => crate::error::response(&ApiError::Internal(e.to_string())),
    }
}

/// The origin (`scheme://host[:port]`) the request was made to.
pub fn origin_of(req: &Request) -> String {
    req.url().map(|u| u.origin().ascii_serialization()).unwrap_or_default()
}

/// Percent-encodes a query value.
pub fn query_escape(value: &str) -> String {
    serde_urlencoded::to_string([("v", value)]).map(|s| s[2..].to_string()).unwrap_or_default()
}

/// Sets the object's alarm to the absolute time `at_ms` (unix ms). worker's `From<i64>` for
/// `ScheduledTime` means an offset, which is easy to misuse: this helper is the only way in.
pub async fn set_alarm_at(storage: &worker::Storage, at_ms: i64) -> worker::Result<()> {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(at_ms as f64));
    storage.set_alarm(worker::ScheduledTime::new(date)).await
}
