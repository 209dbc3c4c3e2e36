//! Protocol-faithful fake gateways: real HTTP servers on 127.0.0.1 that speak each gateway's
//! documented API (paths, auth, JSON shapes, statuses, error bodies), serve a hosted page a
//! browser can complete, and send webhooks signed the gateway's way. The edge's real connector
//! code talks to them over real HTTP from real workerd.

pub mod apple;
pub mod aps;
pub mod hyperpay;
pub mod moyasar;
pub mod paypal;
pub mod paytabs;
pub mod stripe;
pub mod tap;

use std::sync::{Arc, Mutex};

/// How a fake answers its API (the hosted pages keep working).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// Normal.
    Up,
    /// Every API call gets a 500.
    Failing,
    /// API calls get no answer for 30 s.
    Hanging,
}

/// Shared, test-controlled switches.
#[derive(Clone)]
pub struct Switches {
    pub(crate) health: Arc<Mutex<Health>>,
}

impl Default for Switches {
    fn default() -> Self {
        Switches { health: Arc::new(Mutex::new(Health::Up)) }
    }
}

/// A tiny_http response with a JSON body.
pub(crate) fn json_response(status: u16, body: &serde_json::Value) -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
    tiny_http::Response::from_data(body.to_string().into_bytes())
        .with_status_code(status)
        .with_header(tiny_http::Header::from_bytes("Content-Type", "application/json").expect("header"))
}

/// A tiny_http response with an HTML body.
pub(crate) fn html_response(status: u16, body: String) -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
    tiny_http::Response::from_data(body.into_bytes())
        .with_status_code(status)
        .with_header(tiny_http::Header::from_bytes("Content-Type", "text/html; charset=utf-8").expect("header"))
}

/// A 303 redirect.
pub(crate) fn redirect(location: &str) -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
    tiny_http::Response::from_data(Vec::new())
        .with_status_code(303)
        .with_header(tiny_http::Header::from_bytes("Location", location).expect("header"))
}

/// A header's value.
pub(crate) fn header(req: &tiny_http::Request, name: &str) -> Option<String> {
    req.headers()
        .iter()
        .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str().to_string())
}

/// Parses `a=b&c=d`.
pub(crate) fn form(body: &str) -> Vec<(String, String)> {
    body.split('&')
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            Some((decode(k), decode(v)))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.replace('+', " ").into_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or(""), 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).to_string()
}

/// Seconds since 1970 (the fakes' clock, the same machine's as the edge's).
pub(crate) fn now_secs() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// A random-looking id (the fakes need unique ids, not secure ones).
pub(crate) fn new_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(1);
    let n = N.fetch_add(1, Ordering::SeqCst);
    format!("{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}", std::process::id(), n & 0xffff, n % 4096, (n * 7) % 4096, n * 7919)
}

/// Starts a server on a free port; each request runs `handler(request, body, segments)` on its
/// own thread (so a hanging answer blocks nothing else). Returns the port.
pub(crate) fn serve(handler: impl Fn(tiny_http::Request, String, Vec<String>) + Send + Sync + 'static) -> u16 {
    let server = tiny_http::Server::http("127.0.0.1:0").expect("bind");
    let port = server.server_addr().to_ip().expect("ip").port();
    let handler = Arc::new(handler);
    std::thread::spawn(move || {
        for mut request in server.incoming_requests() {
            let handler = handler.clone();
            std::thread::spawn(move || {
                let mut body = String::new();
                let _ = std::io::Read::read_to_string(request.as_reader(), &mut body);
                let url = request.url().to_string();
                let path = url.split('?').next().unwrap_or("").to_string();
                let segments = path.trim_matches('/').split('/').map(str::to_string).collect();
                handler(request, body, segments);
            });
        }
    });
    port
}

/// Applies the health switch to an API call: `true` when the call was answered (or swallowed).
pub(crate) fn unhealthy(
    switches: &Switches,
    request: tiny_http::Request,
    failure_body: &serde_json::Value,
) -> Option<tiny_http::Request> {
    let health = *switches.health.lock().unwrap(); // not held while hanging
    match health {
        Health::Up => Some(request),
        Health::Failing => {
            let _ = request.respond(json_response(500, failure_body));
            None
        }
        Health::Hanging => {
            std::thread::sleep(std::time::Duration::from_secs(30));
            None
        }
    }
}

/// Sends a webhook in the background after a short delay, as gateways do; counts successes.
pub(crate) fn post_later(url: String, headers: Vec<(String, String)>, body: String, sent: Arc<Mutex<u32>>) {
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(300));
        let mut req = ureq::post(&url);
        for (k, v) in &headers {
            req = req.header(k, v);
        }
        if req.send(body.as_bytes()).is_ok() {
            *sent.lock().unwrap() += 1;
        }
    });
}

/// Sends a connector's request the way the edge does (every status is an answer), for the fakes'
/// own tests against the real connectors.
#[cfg(test)]
pub(crate) fn send(req: &bawaba_core::gateway::HttpRequest) -> bawaba_core::gateway::HttpResponse {
    use bawaba_core::gateway::HttpMethod;
    let method = match req.method {
        HttpMethod::Get => "GET",
        HttpMethod::Post => "POST",
        HttpMethod::Put => "PUT",
    };
    let mut builder = ureq::http::Request::builder().method(method).uri(&req.url);
    for (k, v) in &req.headers {
        builder = builder.header(k, v);
    }
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).max_redirects(0).build().into();
    let mut resp = agent.run(builder.body(req.body.clone().unwrap_or_default()).expect("request")).expect("an answer");
    let status = resp.status().as_u16();
    let body = resp.body_mut().read_to_vec().unwrap_or_default();
    bawaba_core::gateway::HttpResponse { status, body }
}
