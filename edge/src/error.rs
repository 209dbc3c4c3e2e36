//! The one place where errors become HTTP responses.

use bawaba_core::api::ApiError;
use worker::Response;

/// Renders an [`ApiError`] as `{"error":{"code","message"}}` with its status. Server-side
/// errors are logged (without secrets: messages never contain them).
pub fn response(err: &ApiError) -> Response {
    let status = err.status();
    if status >= 500 {
        worker::console_error!("{} {}: {}", status, err.code(), err);
    }
    let body = serde_json::to_string(&err.body())
        .unwrap_or_else(|_| r#"{"error":{"code":"internal_error","message":"internal error"}}"#.to_string());
    let mut resp = Response::ok(body).unwrap_or_else(|_| Response::empty().expect("empty response"));
    let _ = resp.headers_mut().set("Content-Type", "application/json");
    if let Some(secs) = err.retry_after_secs() {
        let _ = resp.headers_mut().set("Retry-After", &secs.to_string());
    }
    resp.with_status(status)
}

/// Converts platform errors (storage, bindings) into [`ApiError::Internal`].
pub fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(e.to_string())
}
