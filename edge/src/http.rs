//! Executes the connectors' [`HttpRequest`]s with the platform's `fetch`.

use bawaba_core::gateway::connector::Gateway;
use bawaba_core::gateway::{GatewayError, HttpMethod, HttpRequest, HttpResponse};
use std::cell::RefCell;
use std::collections::HashMap;
use worker::{AbortController, Fetch, Headers, Method, Request, RequestInit};

thread_local! {
    /// Gateway tokens (OAuth2) by gateway and credentials, with when they expire (unix ms). A
    /// worker isolate keeps them between requests; a new isolate asks again.
    static TOKENS: RefCell<HashMap<String, (String, i64)>> = RefCell::new(HashMap::new());
}

/// Sends a request a gateway built, with the gateway's token first where it needs one (asked
/// once, kept until a minute before it expires, asked again once if the gateway answers 401).
/// The built-in sandbox is served by this edge itself: its requests go to its Durable Object
/// through the binding, since a Worker cannot fetch its own hostname on Cloudflare.
pub async fn call(
    env: &worker::Env,
    gateway: &dyn Gateway,
    req: HttpRequest,
    timeout_ms: u64,
) -> Result<HttpResponse, GatewayError> {
    if gateway.served_by_this_edge() {
        return crate::sandbox_object::serve(env, &req, timeout_ms).await;
    }
    let Some(auth) = gateway.build_auth() else { return send(&req, timeout_ms).await };
    if req == auth {
        // The token call itself (PayPal's credentials check): its own answer is what is asked.
        return send(&req, timeout_ms).await;
    }
    let key = format!(
        "{}:{}",
        gateway.code(),
        hex::encode(bawaba_core::hmac_sha256(b"token-cache", format!("{}|{:?}", auth.url, auth.headers).as_bytes()))
    );
    for attempt in 0..2 {
        let now = crate::util::now_millis();
        let cached = TOKENS.with(|t| t.borrow().get(&key).filter(|(_, exp)| *exp > now).map(|(tok, _)| tok.clone()));
        let token = match cached {
            Some(token) => token,
            None => {
                let resp = send(&auth, timeout_ms).await?;
                let (token, lives_secs) = gateway.parse_auth(&resp)?;
                let expires = now + (lives_secs.saturating_sub(60)).max(0).saturating_mul(1000);
                TOKENS.with(|t| t.borrow_mut().insert(key.clone(), (token.clone(), expires)));
                token
            }
        };
        let resp = send(&gateway.authorize(req.clone(), &token), timeout_ms).await?;
        if resp.status == 401 && attempt == 0 {
            TOKENS.with(|t| t.borrow_mut().remove(&key));
            continue;
        }
        return Ok(resp);
    }
    unreachable!("the second attempt returns")
}

/// Sends `req` and returns the status and body. Transport failures and timeouts are
/// [`GatewayError::Unreachable`]; every HTTP answer (even 500) is returned for the connector
/// to interpret.
pub async fn send(req: &HttpRequest, timeout_ms: u64) -> Result<HttpResponse, GatewayError> {
    send_request_within(to_request(req)?, timeout_ms).await
}

/// The platform request for a connector's [`HttpRequest`].
pub fn to_request(req: &HttpRequest) -> Result<Request, GatewayError> {
    let headers = Headers::new();
    for (k, v) in &req.headers {
        headers.set(k, v).map_err(|e| GatewayError::InvalidResponse(format!("bad header {k}: {e}")))?;
    }
    let mut init = RequestInit::new();
    init.with_method(match req.method {
        HttpMethod::Get => Method::Get,
        HttpMethod::Post => Method::Post,
        HttpMethod::Put => Method::Put,
    })
    .with_headers(headers);
    if let Some(body) = &req.body {
        init.with_body(Some(js_sys::Uint8Array::from(body.as_slice()).into()));
    }
    Request::new_with_init(&req.url, &init).map_err(|e| GatewayError::Unreachable(e.to_string()))
}

/// Sends `req` through a binding (the Apple Pay merchant identity certificate's mTLS binding,
/// which presents the certificate to the server), giving up after `timeout_ms`.
pub async fn send_through(
    fetcher: &worker::Fetcher,
    req: &HttpRequest,
    timeout_ms: u64,
) -> Result<HttpResponse, GatewayError> {
    // The binding's fetch takes no signal: on the timeout its future is dropped instead.
    let sent = fetcher.fetch_request(to_request(req)?);
    within(sent, AbortController::default(), timeout_ms).await
}

/// Sends a prepared request, giving up after `timeout_ms`.
pub async fn send_request_within(request: Request, timeout_ms: u64) -> Result<HttpResponse, GatewayError> {
    let controller = AbortController::default();
    let signal = controller.signal();
    let fetch = Fetch::Request(request);
    let sent = fetch.send_with_signal(&signal);
    within(sent, controller, timeout_ms).await
}

/// Waits for `sent` at most `timeout_ms` (then aborts it through `controller`).
pub async fn within(
    sent: impl std::future::Future<Output = worker::Result<worker::Response>>,
    controller: AbortController,
    timeout_ms: u64,
) -> Result<HttpResponse, GatewayError> {
    let timeout = worker::Delay::from(std::time::Duration::from_millis(timeout_ms));
    futures_select(sent, timeout, controller, timeout_ms).await
}

async fn futures_select(
    sent: impl std::future::Future<Output = worker::Result<worker::Response>>,
    timeout: worker::Delay,
    controller: AbortController,
    timeout_ms: u64,
) -> Result<HttpResponse, GatewayError> {
    use std::future::Future;
    use std::pin::pin;
    use std::task::Poll;
    let mut sent = pin!(sent);
    let mut timeout = pin!(timeout);
    let mut controller = Some(controller);
    let outcome = std::future::poll_fn(|cx| {
        if let Poll::Ready(r) = sent.as_mut().poll(cx) {
            return Poll::Ready(Some(r));
        }
        if timeout.as_mut().poll(cx).is_ready() {
            if let Some(c) = controller.take() {
                c.abort();
            }
            return Poll::Ready(None);
        }
        Poll::Pending
    })
    .await;
    match outcome {
        None => Err(GatewayError::Unreachable(format!("no answer within {timeout_ms} ms"))),
        Some(Err(e)) => Err(GatewayError::Unreachable(e.to_string())),
        Some(Ok(mut resp)) => {
            let status = resp.status_code();
            let body = resp.bytes().await.map_err(|e| GatewayError::Unreachable(e.to_string()))?;
            Ok(HttpResponse { status, body })
        }
    }
}

/// Posts a signed body to the shop (a payment notification or a shop event): one `v1=` per key
/// while its key is rotated; `Ok` only for a 2xx.
pub async fn post_to_shop(shop: &crate::config::Shop, url: &str, body: &str, timeout_ms: u64) -> Result<(), String> {
    use bawaba_core::signature;
    let keys: Vec<&[u8]> = shop.keys().collect();
    let header = signature::sign_with_each(&keys, crate::util::now_secs(), body.as_bytes());
    let headers = Headers::new();
    headers.set("Content-Type", "application/json").map_err(|e| e.to_string())?;
    headers.set(signature::HEADER, &header).map_err(|e| e.to_string())?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_headers(headers).with_body(Some(wasm_bindgen::JsValue::from_str(body)));
    let req = Request::new_with_init(url, &init).map_err(|e| e.to_string())?;
    let resp = send_request_within(req, timeout_ms).await.map_err(|e| e.to_string())?;
    if (200..300).contains(&resp.status) {
        Ok(())
    } else {
        Err(format!("the shop answered HTTP {}", resp.status))
    }
}
