//! Protocol-faithful fake gateways: real HTTP servers on 127.0.0.1 that speak each gateway's
//! documented API (paths, auth, JSON shapes, statuses, error bodies), serve a hosted page a
//! browser can complete, and send webhooks signed the gateway's way. The edge's real connector
//! code talks to them over real HTTP from real workerd.

pub mod moyasar;

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

/// A random-looking id (the fakes need unique ids, not secure ones).
pub(crate) fn new_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(1);
    let n = N.fetch_add(1, Ordering::SeqCst);
    format!("{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}", std::process::id(), n & 0xffff, n % 4096, (n * 7) % 4096, n * 7919)
}
