//! A fake of Apple's Apple Pay merchant validation hosts (`apple-pay-gateway*.apple.com`
//! `/paymentservices/startSession` and `/paymentSession`), reached through the stand-in of the
//! edge's mTLS certificate binding (`tests/stand-ins/mtls-certificate.js`).
//!
//! Apple's rules, as the fake applies them (developer.apple.com "Providing merchant
//! validation"): the request must come with the merchant's identity certificate as the TLS
//! client certificate (here: the stand-in's `X-Test-Client-Certificate`, which the real binding
//! cannot forge either); its JSON body names the `merchantIdentifier` that certificate belongs to,
//! `initiative: "web"` and an `initiativeContext` domain registered (and verified) for that
//! merchant; the answer is an opaque merchant session signed by Apple. Refusals are Apple's
//! `{"statusMessage", "statusCode"}` bodies.

use super::{header, json_response, serve};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// The certificate name a test edge's stand-in presents for `merchant_id` (what
/// [`crate::edge::AppleMerchantBinding::for_merchant`] configures).
pub fn certificate_of(merchant_id: &str) -> String {
    format!("merchant-identity:{merchant_id}")
}

#[derive(Default)]
struct State {
    merchant_id: String,
    domains: HashSet<String>,
    /// Every validation asked: the body, the host it was meant for and the certificate.
    requests: Vec<Value>,
    counter: u64,
}

/// The fake.
#[derive(Clone)]
pub struct FakeApple {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    state: Arc<Mutex<State>>,
}

impl FakeApple {
    /// Apple, knowing one merchant (`merchant.…`) with no domain registered yet.
    pub fn start(merchant_id: &str) -> FakeApple {
        let state = Arc::new(Mutex::new(State { merchant_id: merchant_id.into(), ..State::default() }));
        let s = state.clone();
        let port = serve(move |req, body, segs| handle(&s, req, body, segs));
        FakeApple { base: format!("http://127.0.0.1:{port}"), state }
    }

    /// Registers (and verifies) a domain for the merchant, as its Apple developer account does.
    pub fn register_domain(&self, domain: &str) {
        self.state.lock().unwrap().domains.insert(domain.to_string());
    }

    /// The validations asked so far: `{"body", "host", "certificate", "path"}`.
    pub fn requests(&self) -> Vec<Value> {
        self.state.lock().unwrap().requests.clone()
    }
}

fn refuse(status: u16, message: String) -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
    json_response(status, &json!({ "statusMessage": message, "statusCode": status.to_string() }))
}

fn handle(state: &Arc<Mutex<State>>, req: tiny_http::Request, body: String, segs: Vec<String>) {
    let certificate = header(&req, "X-Test-Client-Certificate");
    let host = header(&req, "X-Test-Original-Host").unwrap_or_default();
    let path = format!("/{}", segs.join("/"));
    let parsed: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let mut s = state.lock().unwrap();
    s.requests.push(json!({ "body": parsed, "host": host, "certificate": certificate, "path": path }));
    let reply = if req.method() != &tiny_http::Method::Post
        || !matches!(path.as_str(), "/paymentservices/startSession" | "/paymentservices/paymentSession")
    {
        refuse(404, "Not Found".into())
    } else if certificate.as_deref() != Some(certificate_of(&s.merchant_id).as_str()) {
        // Without the merchant's identity certificate Apple does not know who asks.
        refuse(401, "Payment Services Exception Unauthorized: no valid merchant identity certificate".into())
    } else if parsed["merchantIdentifier"] != s.merchant_id.as_str() {
        refuse(
            400,
            format!("Payment Services Exception merchantId={} is not the certificate's", parsed["merchantIdentifier"]),
        )
    } else if parsed["initiative"] != "web" {
        refuse(400, "Payment Services Exception invalid initiative".into())
    } else if !parsed["initiativeContext"].as_str().is_some_and(|d| s.domains.contains(d)) {
        refuse(
            400,
            format!(
                "Payment Services Exception merchantId={} unregistered domain={}",
                s.merchant_id, parsed["initiativeContext"]
            ),
        )
    } else {
        s.counter += 1;
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
        json_response(
            200,
            &json!({
                "epochTimestamp": now,
                "expiresAt": now + 3_600_000,
                "merchantSessionIdentifier": format!("SSH{:016X}", s.counter),
                "nonce": format!("{:08x}", s.counter * 7919),
                "merchantIdentifier": hex::encode(bawaba_core::hmac_sha256(b"apple", s.merchant_id.as_bytes())),
                "domainName": parsed["initiativeContext"],
                "displayName": parsed["displayName"],
                "signature": "c2lnbmVkIGJ5IEFwcGxl",
                "operationalAnalyticsIdentifier": format!("{}:{}", parsed["displayName"], s.counter),
                "retries": 0,
            }),
        )
    };
    drop(s);
    let _ = req.respond(reply);
}
