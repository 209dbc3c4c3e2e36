//! A fake PayPal (REST, Orders v2): `POST /v1/oauth2/token` (Basic client_id:secret → a Bearer
//! token; every other API call needs one), `/v2/checkout/orders` (create, idempotent by
//! `PayPal-Request-Id`; get; capture, idempotent by `PayPal-Request-Id`, 422 `ORDER_NOT_APPROVED`
//! / `ORDER_ALREADY_CAPTURED` otherwise), the approval page at the `payer-action` link (approve or
//! cancel, back to `return_url` / `cancel_url` with `token` and `PayerID`), refunds of captures
//! (`COMPLETED`, or `PENDING` while [`FakePayPal::set_refunds_pending`] is on) and
//! `GET /v2/payments/refunds/{id}`, PayPal's error bodies, webhooks to the URL registered with
//! [`FakePayPal::set_webhook_url`] (`CHECKOUT.ORDER.APPROVED`, `PAYMENT.CAPTURE.COMPLETED`) with
//! the five `PAYPAL-*` headers, and `POST /v1/notifications/verify-webhook-signature`, which says
//! `SUCCESS` only for a delivery it sent itself, unchanged, to the registered webhook id.

use super::{
    form, header, html_response, json_response, new_id, now_secs, redirect, serve, unhealthy, Health, Switches,
};
use base64::Engine;
use bawaba_core::money::{Currency, Money};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

type Reply = tiny_http::Response<std::io::Cursor<Vec<u8>>>;

/// The currencies the fake takes (PayPal's list, as Bawaba's money table knows them).
const CURRENCIES: &[&str] = &["USD", "EUR", "GBP", "JPY"];

#[derive(Default)]
struct State {
    client_id: String,
    client_secret: String,
    webhook_id: String,
    webhook_url: Option<String>,
    tokens: HashSet<String>,
    tokens_issued: u32,
    orders: HashMap<String, Value>,
    /// `PayPal-Request-Id` → the answer given (status, body), per route.
    replies: HashMap<String, (u16, Value)>,
    refunds: HashMap<String, Value>,
    refunds_pending: bool,
    /// transmission id → (signature, event as sent).
    sent_webhooks: HashMap<String, (String, Value)>,
    tampered: HashMap<String, String>,
    counter: u64,
}

/// How a pending refund ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundOutcome {
    /// `COMPLETED`.
    Completed,
    /// `FAILED` (its amount can be refunded again).
    Failed,
}

/// The fake.
#[derive(Clone)]
pub struct FakePayPal {
    /// `http://127.0.0.1:<port>` (the API base and the approval pages).
    pub base: String,
    state: Arc<Mutex<State>>,
    switches: Switches,
    sent: Arc<Mutex<u32>>,
}

fn error(status: u16, name: &str, issue: &str, description: &str) -> Reply {
    json_response(
        status,
        &json!({"name": name, "message": description, "debug_id": "f4k3d3bu9",
            "details": [{"issue": issue, "description": description}], "links": []}),
    )
}

fn unprocessable(issue: &str, description: &str) -> Reply {
    error(422, "UNPROCESSABLE_ENTITY", issue, description)
}

fn not_found() -> Reply {
    error(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID", "Specified resource ID does not exist.")
}

/// Seconds since 1970 as ISO 8601 (`2026-12-02T01:50:00Z`), as PayPal writes times.
pub fn iso_time(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil from days (H. Hinnant).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

impl FakePayPal {
    /// Starts it, accepting `client_id`:`client_secret`; its webhooks are for `webhook_id`.
    pub fn start(client_id: &str, client_secret: &str, webhook_id: &str) -> FakePayPal {
        let state = Arc::new(Mutex::new(State {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            webhook_id: webhook_id.into(),
            ..State::default()
        }));
        let switches = Switches::default();
        let sent = Arc::new(Mutex::new(0));
        let base = Arc::new(Mutex::new(String::new()));
        let inner =
            FakePayPal { base: String::new(), state: state.clone(), switches: switches.clone(), sent: sent.clone() };
        let b = base.clone();
        let port = serve(move |req, body, segs| {
            let mut me = inner.clone();
            me.base = b.lock().unwrap().clone();
            me.handle(req, body, segs)
        });
        *base.lock().unwrap() = format!("http://127.0.0.1:{port}");
        FakePayPal { base: format!("http://127.0.0.1:{port}"), state, switches, sent }
    }

    /// The API base to configure (`PAYPAL_API_BASE`).
    pub fn api_base(&self) -> String {
        self.base.clone()
    }

    /// Where webhooks go (the dashboard's webhook URL: the edge's `/v1/webhooks/paypal`).
    pub fn set_webhook_url(&self, url: &str) {
        self.state.lock().unwrap().webhook_url = Some(url.into());
    }

    /// Makes the API fail or hang (the approval pages keep working).
    pub fn set_health(&self, health: Health) {
        *self.switches.health.lock().unwrap() = health;
    }

    /// Changes the accepted secret (tokens already issued stop working too).
    pub fn set_client_secret(&self, secret: &str) {
        let mut s = self.state.lock().unwrap();
        s.client_secret = secret.into();
        s.tokens.clear();
    }

    /// Expires every token issued so far (the next call gets 401 and must ask again).
    pub fn expire_tokens(&self) {
        self.state.lock().unwrap().tokens.clear();
    }

    /// Tokens issued so far.
    pub fn tokens_issued(&self) -> u32 {
        self.state.lock().unwrap().tokens_issued
    }

    /// Webhooks delivered so far.
    pub fn webhooks_sent(&self) -> u32 {
        *self.sent.lock().unwrap()
    }

    /// An order as the API shows it.
    pub fn order(&self, id: &str) -> Option<Value> {
        self.fetch(id)
    }

    /// Makes reads of one order report another amount (`value`).
    pub fn tamper_amount(&self, order_id: &str, value: &str) {
        self.state.lock().unwrap().tampered.insert(order_id.into(), value.into());
    }

    /// While on, new refunds answer `PENDING`.
    pub fn set_refunds_pending(&self, pending: bool) {
        self.state.lock().unwrap().refunds_pending = pending;
    }

    /// Ends a pending refund; `false` when there is none pending by that id.
    pub fn settle_refund(&self, refund_id: &str, outcome: RefundOutcome) -> bool {
        let mut s = self.state.lock().unwrap();
        let Some(refund) = s.refunds.get_mut(refund_id) else { return false };
        if refund["status"] != "PENDING" {
            return false;
        }
        refund["status"] = json!(match outcome {
            RefundOutcome::Completed => "COMPLETED",
            RefundOutcome::Failed => "FAILED",
        });
        true
    }

    /// A refund as the API shows it.
    pub fn refund_record(&self, id: &str) -> Option<Value> {
        self.state.lock().unwrap().refunds.get(id).cloned()
    }

    /// The five `PAYPAL-*` headers the fake signs `event` with (and remembers, so that
    /// verify-webhook-signature says `SUCCESS` for exactly this event).
    pub fn sign_webhook(&self, event: &Value) -> Vec<(String, String)> {
        let id = new_id();
        let sig = base64::engine::general_purpose::STANDARD
            .encode(bawaba_core::hmac_sha256(b"fake-paypal-private-key", format!("{id}|{event}").as_bytes()));
        self.state.lock().unwrap().sent_webhooks.insert(id.clone(), (sig.clone(), event.clone()));
        vec![
            ("Content-Type".into(), "application/json".into()),
            ("PAYPAL-TRANSMISSION-ID".into(), id),
            ("PAYPAL-TRANSMISSION-TIME".into(), iso_time(now_secs())),
            ("PAYPAL-TRANSMISSION-SIG".into(), sig),
            (
                "PAYPAL-CERT-URL".into(),
                "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-fake".into(),
            ),
            ("PAYPAL-AUTH-ALGO".into(), "SHA256withRSA".into()),
        ]
    }

    /// A webhook event about an order (`CHECKOUT.ORDER.APPROVED`) or its capture
    /// (`PAYMENT.CAPTURE.*`), as PayPal would send it now.
    pub fn event(&self, event_type: &str, order_id: &str) -> Option<Value> {
        let order = self.fetch(order_id)?;
        let resource = if event_type.starts_with("CHECKOUT.ORDER.") {
            order
        } else {
            let mut capture = order["purchase_units"][0]["payments"]["captures"][0].clone();
            capture["supplementary_data"] = json!({"related_ids": {"order_id": order_id}});
            capture
        };
        let resource_type = if event_type.starts_with("CHECKOUT.ORDER.") { "checkout-order" } else { "capture" };
        Some(json!({"id": format!("WH-{}", new_id()), "event_version": "1.0", "create_time": iso_time(now_secs()),
            "resource_type": resource_type, "resource_version": "2.0", "event_type": event_type,
            "summary": format!("{event_type} for {order_id}"), "resource": resource, "links": []}))
    }

    fn send_webhook(&self, event_type: &str, order_id: &str) {
        let Some(url) = self.state.lock().unwrap().webhook_url.clone() else { return };
        let Some(event) = self.event(event_type, order_id) else { return };
        let headers = self.sign_webhook(&event);
        super::post_later(url, headers, event.to_string(), self.sent.clone());
    }

    fn basic_ok(&self, req: &tiny_http::Request) -> bool {
        let s = self.state.lock().unwrap();
        let expected = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", s.client_id, s.client_secret));
        header(req, "Authorization") == Some(format!("Basic {expected}"))
    }

    fn bearer_ok(&self, req: &tiny_http::Request) -> bool {
        let token = header(req, "Authorization").and_then(|h| h.strip_prefix("Bearer ").map(str::to_string));
        token.is_some_and(|t| self.state.lock().unwrap().tokens.contains(&t))
    }

    fn handle(&self, req: tiny_http::Request, body: String, segments: Vec<String>) {
        let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
        let method = req.method().as_str().to_string();
        let api = matches!(segs.first(), Some(&"v1") | Some(&"v2"));
        let req = if api {
            let failure = json!({"name": "INTERNAL_SERVER_ERROR", "message": "An internal server error occurred.", "debug_id": "f4k3"});
            let Some(req) = unhealthy(&self.switches, req, &failure) else { return };
            req
        } else {
            req
        };
        if api && segs != ["v1", "oauth2", "token"] && !self.bearer_ok(&req) {
            let _ = req.respond(json_response(
                401,
                &json!({"error": "invalid_token", "error_description": "Token signature verification failed"}),
            ));
            return;
        }
        let request_id = header(&req, "PayPal-Request-Id");
        let reply = match (method.as_str(), segs.as_slice()) {
            ("POST", ["v1", "oauth2", "token"]) => self.token(&req, &body),
            ("POST", ["v2", "checkout", "orders"]) => self.create(&body, request_id),
            ("GET", ["v2", "checkout", "orders", id]) => match self.fetch(id) {
                Some(o) => json_response(200, &o),
                None => not_found(),
            },
            ("POST", ["v2", "checkout", "orders", id, "capture"]) => self.capture(id, request_id),
            ("POST", ["v2", "payments", "captures", id, "refund"]) => self.refund(id, &body, request_id),
            ("GET", ["v2", "payments", "refunds", id]) => match self.refund_record(id) {
                Some(r) => json_response(200, &r),
                None => not_found(),
            },
            ("POST", ["v1", "notifications", "verify-webhook-signature"]) => self.verify(&body),
            ("GET", ["checkoutnow", id]) => self.page(id),
            ("POST", ["checkoutnow", id]) => self.decide(id, &body),
            _ => not_found(),
        };
        let _ = req.respond(reply);
    }

    fn token(&self, req: &tiny_http::Request, body: &str) -> Reply {
        if !self.basic_ok(req) {
            return json_response(
                401,
                &json!({"error": "invalid_client", "error_description": "Client Authentication failed"}),
            );
        }
        if !form(body).iter().any(|(k, v)| k == "grant_type" && v == "client_credentials") {
            return json_response(
                400,
                &json!({"error": "unsupported_grant_type", "error_description": "Grant Type is NULL"}),
            );
        }
        let mut s = self.state.lock().unwrap();
        s.tokens_issued += 1;
        let token = format!("A21AA{}", new_id().replace('-', ""));
        s.tokens.insert(token.clone());
        json_response(
            200,
            &json!({"scope": "https://uri.paypal.com/services/payments/payment https://uri.paypal.com/services/payments/refund",
                "access_token": token, "token_type": "Bearer", "app_id": "APP-80W284485P519543T",
                "expires_in": 32400, "nonce": format!("{}fake", iso_time(now_secs()))}),
        )
    }

    fn replay(&self, key: &Option<String>) -> Option<Reply> {
        let key = key.as_ref()?;
        let (status, body) = self.state.lock().unwrap().replies.get(key).cloned()?;
        Some(json_response(status, &body))
    }

    fn remember(&self, key: &Option<String>, status: u16, body: &Value) -> Reply {
        if let Some(k) = key {
            self.state.lock().unwrap().replies.insert(k.clone(), (status, body.clone()));
        }
        json_response(status, body)
    }

    fn create(&self, body: &str, request_id: Option<String>) -> Reply {
        let key = request_id.map(|k| format!("create:{k}"));
        if let Some(r) = self.replay(&key) {
            return r;
        }
        let Ok(input) = serde_json::from_str::<Value>(body) else {
            return error(400, "INVALID_REQUEST", "MALFORMED_REQUEST_JSON", "The request JSON is not well formed.");
        };
        if input["intent"] != "CAPTURE" && input["intent"] != "AUTHORIZE" {
            return error(400, "INVALID_REQUEST", "INVALID_PARAMETER_VALUE", "intent must be CAPTURE or AUTHORIZE");
        }
        let unit = &input["purchase_units"][0];
        let code = unit["amount"]["currency_code"].as_str().unwrap_or("");
        let value = unit["amount"]["value"].as_str().unwrap_or("");
        if !CURRENCIES.contains(&code) {
            return unprocessable("CURRENCY_NOT_SUPPORTED", "Currency code is not currently supported.");
        }
        let decimals = value.split_once('.').map_or(0, |(_, d)| d.len());
        let allowed = if code == "JPY" { 0 } else { 2 };
        let parsed = Currency::parse(code).ok().and_then(|c| Money::from_major_str(value, c).ok());
        if decimals > allowed || parsed.is_none_or(|m| m.minor <= 0) {
            return error(
                400,
                "INVALID_REQUEST",
                "DECIMAL_PRECISION",
                "The value of the field should not be more than two decimals (zero for JPY).",
            );
        }
        let ctx = &input["payment_source"]["paypal"]["experience_context"];
        let ctx = if ctx.is_object() { ctx.clone() } else { input["application_context"].clone() };
        if ctx["return_url"].as_str().is_none() {
            return error(400, "INVALID_REQUEST", "MISSING_REQUIRED_PARAMETER", "return_url is required");
        }
        let id = {
            let mut s = self.state.lock().unwrap();
            s.counter += 1;
            format!("{:X}{:06}FAKE", std::process::id(), s.counter)
        };
        let order = json!({
            "id": id, "intent": input["intent"], "status": "PAYER_ACTION_REQUIRED", "create_time": iso_time(now_secs()),
            "purchase_units": [{"reference_id": unit["reference_id"], "custom_id": unit["custom_id"],
                "description": unit["description"], "amount": unit["amount"]}],
            "payment_source": {"paypal": {}},
            "experience_context": ctx,
            "links": [
                {"href": format!("{}/v2/checkout/orders/{id}", self.base), "rel": "self", "method": "GET"},
                {"href": format!("{}/checkoutnow/{id}", self.base), "rel": "payer-action", "method": "GET"},
            ],
        });
        self.state.lock().unwrap().orders.insert(id, order.clone());
        self.remember(&key, 200, &without_context(&order))
    }

    fn fetch(&self, id: &str) -> Option<Value> {
        let s = self.state.lock().unwrap();
        let mut order = s.orders.get(id)?.clone();
        if let Some(v) = s.tampered.get(id) {
            order["purchase_units"][0]["amount"]["value"] = json!(v);
            if let Some(c) = order.pointer_mut("/purchase_units/0/payments/captures/0/amount/value") {
                *c = json!(v);
            }
        }
        Some(without_context(&order))
    }

    fn page(&self, id: &str) -> Reply {
        let Some(order) = self.fetch(id) else { return html_response(404, "<p>Not found</p>".into()) };
        if order["status"] != "PAYER_ACTION_REQUIRED" {
            return html_response(200, format!("<p id=closed>This order is {}.</p>", order["status"]));
        }
        let amount = &order["purchase_units"][0]["amount"];
        html_response(
            200,
            format!(
                "<!doctype html><html><head><meta charset=utf-8><title>PayPal (fake)</title></head><body><h1>PayPal</h1>\
<p id=amount>{} {}</p><form method=post action=\"/checkoutnow/{id}\">\
<button id=approve name=action value=approve>Pay Now</button>\
<button id=cancel name=action value=cancel>Cancel and return to the store</button></form></body></html>",
                amount["value"].as_str().unwrap_or(""),
                amount["currency_code"].as_str().unwrap_or("")
            ),
        )
    }

    fn decide(&self, id: &str, body: &str) -> Reply {
        let approve = form(body).iter().any(|(k, v)| k == "action" && v == "approve");
        let (return_url, cancel_url) = {
            let mut s = self.state.lock().unwrap();
            let Some(order) = s.orders.get_mut(id) else { return html_response(404, "<p>Not found</p>".into()) };
            let urls = (
                order["experience_context"]["return_url"].as_str().unwrap_or("").to_string(),
                order["experience_context"]["cancel_url"].as_str().unwrap_or("").to_string(),
            );
            if approve && order["status"] == "PAYER_ACTION_REQUIRED" {
                order["status"] = json!("APPROVED");
                order["payer"] = json!({"payer_id": "FAKEPAYER123", "email_address": "buyer@example.com",
                    "name": {"given_name": "Test", "surname": "Buyer"}});
                order["payment_source"] =
                    json!({"paypal": {"account_id": "FAKEPAYER123", "email_address": "buyer@example.com"}});
            }
            urls
        };
        if approve {
            self.send_webhook("CHECKOUT.ORDER.APPROVED", id);
            let sep = if return_url.contains('?') { '&' } else { '?' };
            redirect(&format!("{return_url}{sep}token={id}&PayerID=FAKEPAYER123"))
        } else {
            let sep = if cancel_url.contains('?') { '&' } else { '?' };
            redirect(&format!("{cancel_url}{sep}token={id}"))
        }
    }

    fn capture(&self, id: &str, request_id: Option<String>) -> Reply {
        let key = request_id.map(|k| format!("capture:{k}"));
        if let Some(r) = self.replay(&key) {
            return r;
        }
        {
            let mut s = self.state.lock().unwrap();
            s.counter += 1;
            let capture_id = format!("CAP{:06}{:X}", s.counter, std::process::id());
            let Some(order) = s.orders.get_mut(id) else { return not_found() };
            match order["status"].as_str().unwrap_or("") {
                "APPROVED" => {}
                "COMPLETED" => {
                    return unprocessable(
                        "ORDER_ALREADY_CAPTURED",
                        "Order already captured. If 'intent=CAPTURE' only one capture per order is allowed.",
                    )
                }
                _ => return unprocessable("ORDER_NOT_APPROVED", "Payer has not yet approved the Order for payment."),
            }
            let amount = order["purchase_units"][0]["amount"].clone();
            order["status"] = json!("COMPLETED");
            order["purchase_units"][0]["payments"] = json!({"captures": [{
                "id": capture_id, "status": "COMPLETED", "amount": amount, "final_capture": true,
                "custom_id": order["purchase_units"][0]["custom_id"], "seller_protection": {"status": "ELIGIBLE"},
                "create_time": iso_time(now_secs()),
                "links": [{"href": format!("{}/v2/payments/captures/{capture_id}/refund", self.base), "rel": "refund", "method": "POST"}],
            }], "refunds": []});
        }
        let shown = self.fetch(id).expect("the order exists");
        let reply = self.remember(&key, 201, &shown);
        self.send_webhook("PAYMENT.CAPTURE.COMPLETED", id);
        reply
    }

    fn refund(&self, capture_id: &str, body: &str, request_id: Option<String>) -> Reply {
        let key = request_id.map(|k| format!("refund:{k}"));
        if let Some(r) = self.replay(&key) {
            return r;
        }
        let input: Value = serde_json::from_str(body).unwrap_or_default();
        let mut s = self.state.lock().unwrap();
        let found = s.orders.iter().find_map(|(oid, o)| {
            let c = &o["purchase_units"][0]["payments"]["captures"][0];
            (c["id"] == capture_id).then(|| (oid.clone(), c.clone()))
        });
        let Some((order_id, capture)) = found else { return not_found() };
        let currency = Currency::parse(capture["amount"]["currency_code"].as_str().unwrap_or("")).expect("a currency");
        let total = Money::from_major_str(capture["amount"]["value"].as_str().unwrap_or("0"), currency).unwrap().minor;
        let asked = match input["amount"]["value"].as_str() {
            Some(v) => match Money::from_major_str(v, currency) {
                Ok(m) if m.minor > 0 && input["amount"]["currency_code"] == capture["amount"]["currency_code"] => {
                    m.minor
                }
                _ => return error(400, "INVALID_REQUEST", "INVALID_PARAMETER_VALUE", "The refund amount is invalid."),
            },
            None => total,
        };
        let refunded: i64 = s
            .refunds
            .values()
            .filter(|r| r["capture_id"] == capture_id && r["status"] != "FAILED" && r["status"] != "CANCELLED")
            .map(|r| Money::from_major_str(r["amount"]["value"].as_str().unwrap_or("0"), currency).unwrap().minor)
            .sum();
        if refunded >= total {
            return unprocessable("CAPTURE_FULLY_REFUNDED", "The capture has already been fully refunded.");
        }
        if refunded + asked > total {
            return unprocessable(
                "REFUND_AMOUNT_EXCEEDED",
                "The refund amount must be less than or equal to the capture amount that has not yet been refunded.",
            );
        }
        s.counter += 1;
        let refund_id = format!("REF{:06}{:X}", s.counter, std::process::id());
        let status = if s.refunds_pending { "PENDING" } else { "COMPLETED" };
        let refund = json!({"id": refund_id, "status": status, "capture_id": capture_id,
            "amount": {"currency_code": currency.code(), "value": Money::new(asked, currency).to_major_string()},
            "custom_id": input["custom_id"], "create_time": iso_time(now_secs()),
            "links": [{"href": format!("{}/v2/payments/refunds/{refund_id}", self.base), "rel": "self", "method": "GET"}]});
        s.refunds.insert(refund_id, refund.clone());
        if let Some(order) = s.orders.get_mut(&order_id) {
            let c = &mut order["purchase_units"][0]["payments"]["captures"][0];
            c["status"] = json!(if refunded + asked == total { "REFUNDED" } else { "PARTIALLY_REFUNDED" });
            if let Some(list) = order["purchase_units"][0]["payments"]["refunds"].as_array_mut() {
                list.push(refund.clone());
            }
        }
        drop(s);
        self.remember(&key, 201, &refund)
    }

    fn verify(&self, body: &str) -> Reply {
        let Ok(input) = serde_json::from_str::<Value>(body) else {
            return error(400, "INVALID_REQUEST", "MALFORMED_REQUEST_JSON", "The request JSON is not well formed.");
        };
        for field in ["auth_algo", "cert_url", "transmission_id", "transmission_sig", "transmission_time", "webhook_id"]
        {
            if input[field].as_str().is_none_or(str::is_empty) {
                return error(400, "VALIDATION_ERROR", "MISSING_REQUIRED_PARAMETER", &format!("{field} is required"));
            }
        }
        if !input["webhook_event"].is_object() {
            return error(400, "VALIDATION_ERROR", "MISSING_REQUIRED_PARAMETER", "webhook_event is required");
        }
        let s = self.state.lock().unwrap();
        let ok = input["webhook_id"] == s.webhook_id.as_str()
            && s.sent_webhooks.get(input["transmission_id"].as_str().unwrap_or("")).is_some_and(|(sig, event)| {
                input["transmission_sig"] == sig.as_str() && input["webhook_event"] == *event
            });
        json_response(200, &json!({"verification_status": if ok { "SUCCESS" } else { "FAILURE" }}))
    }
}

/// An order as the API shows it (the fake keeps the experience context to itself).
fn without_context(order: &Value) -> Value {
    let mut o = order.clone();
    if let Some(map) = o.as_object_mut() {
        map.remove("experience_context");
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fakes::send;
    use bawaba_core::gateway::connector::Connector;
    use bawaba_core::gateway::{paypal, CheckVerdict, GatewayError, HttpRequest, HttpResponse, OperationStatus};
    use bawaba_core::method::PaymentMethod;
    use bawaba_core::payment::PaymentState;
    use bawaba_core::secret::Secret;

    const ID: &str = "AcFakeClientId";
    const SECRET: &str = "EFakeSecret";
    const HOOK: &str = "8PT597110X687430LKGECATA";

    fn connector(fake: &FakePayPal) -> Connector {
        Box::new(paypal::Config {
            api_base: fake.api_base(),
            client_id: ID.into(),
            client_secret: Secret::new(SECRET),
            webhook_id: HOOK.into(),
        })
    }

    /// What the edge's `http::call` does: the token first, then the request with it.
    fn call(c: &Connector, req: &HttpRequest) -> Result<HttpResponse, GatewayError> {
        let auth = c.build_auth().expect("PayPal needs a token");
        let (token, lives) = c.parse_auth(&send(&auth))?;
        assert!(lives > 60);
        Ok(send(&c.authorize(req.clone(), &token)))
    }

    fn usd(minor: i64) -> Money {
        Money::new(minor, Currency::parse("USD").unwrap())
    }

    fn open(fake: &FakePayPal, c: &Connector, amount: Money) -> (String, String) {
        let input = bawaba_core::gateway::StartInput {
            reference: "demo:PP1",
            money: amount,
            method: PaymentMethod::Paypal,
            return_url: "http://edge/v1/return/paypal/ps_1",
            webhook_url: "http://edge/v1/webhooks/paypal",
            locale: "en",
            customer_name: None,
            description: "demo PP1",
            customer_email: None,
            session_key: "k1",
            expires_at: None,
            now: None,
            wallet: None,
        };
        let bawaba_core::gateway::connector::Start::Call(req) = c.build_start(&input).unwrap() else {
            panic!("PayPal starts with a call")
        };
        let session = c.parse_start(&call(c, &req).unwrap()).unwrap();
        assert!(session.redirect_url.starts_with(&fake.base), "{}", session.redirect_url);
        (session.id, session.redirect_url)
    }

    /// The edge's fetch: the order, then the settling call if the gateway asks for one.
    fn fetch(c: &Connector, id: &str) -> Result<bawaba_core::gateway::GatewayPayment, GatewayError> {
        let fetched = call(c, &c.build_fetch(id))?;
        let resp = match c.build_settle(id, &fetched) {
            Some(settle) => call(c, &settle)?,
            None => fetched,
        };
        c.parse_fetch(&resp, &usd(0))
    }

    #[test]
    fn approve_capture_once_and_refund() {
        let fake = FakePayPal::start(ID, SECRET, HOOK);
        let c = connector(&fake);
        let (order, page) = open(&fake, &c, usd(4550));
        assert!(crate::http::get(&page).body.contains("id=approve"));
        let before = fetch(&c, &order).unwrap();
        assert_eq!(before.state, PaymentState::Pending, "not approved yet: nothing captured");
        let back = crate::http::post_form(&page, &[("action", "approve")]);
        assert_eq!(back.status, 303);
        let location = back.location.unwrap();
        assert!(location.starts_with("http://edge/v1/return/paypal/ps_1?token="), "{location}");
        let paid = fetch(&c, &order).unwrap();
        assert_eq!((paid.state, paid.money, paid.reference.as_str()), (PaymentState::Paid, usd(4550), "demo:PP1"));
        let capture = paid.transaction_id.clone().expect("the capture id");
        // Asked again (return, webhook, reconciliation): read, never captured twice.
        let again = fetch(&c, &order).unwrap();
        assert_eq!((again.state, again.transaction_id.as_deref()), (PaymentState::Paid, Some(capture.as_str())));
        let replay = call(
            &c,
            &paypal::build_capture_order(
                &paypal::connector::config(&|n| match n {
                    "PAYPAL_API_BASE" => Some(fake.api_base()),
                    "PAYPAL_CLIENT_ID" => Some(ID.into()),
                    "PAYPAL_CLIENT_SECRET" => Some(SECRET.into()),
                    "PAYPAL_WEBHOOK_ID" => Some(HOOK.into()),
                    _ => None,
                })
                .unwrap(),
                &order,
            ),
        )
        .unwrap();
        let replayed = c.parse_fetch(&replay, &usd(0)).unwrap();
        assert_eq!(replayed.transaction_id.as_deref(), Some(capture.as_str()), "the same capture, by its request id");
        let other_id = {
            let mut req = c.build_fetch(&order);
            req.url.push_str("/capture");
            req.method = bawaba_core::gateway::HttpMethod::Post;
            req.headers.push(("PayPal-Request-Id".into(), "another".into()));
            req
        };
        let refused = call(&c, &other_id).unwrap();
        assert_eq!(refused.status, 422);
        assert!(matches!(c.parse_fetch(&refused, &usd(0)), Err(GatewayError::Rejected { status: 422, .. })));

        let r1 =
            c.parse_refund(&call(&c, &c.build_refund(&order, &capture, &usd(1000), "demo:PP1-r0")).unwrap(), usd(1000));
        assert_eq!(r1.unwrap().status, OperationStatus::Succeeded);
        let same =
            c.parse_refund(&call(&c, &c.build_refund(&order, &capture, &usd(1000), "demo:PP1-r0")).unwrap(), usd(1000));
        assert_eq!(same.unwrap().status, OperationStatus::Succeeded, "the same reference: the same refund");
        let over = call(&c, &c.build_refund(&order, &capture, &usd(3600), "demo:PP1-r1")).unwrap();
        assert!(
            matches!(c.parse_refund(&over, usd(3600)), Err(GatewayError::Rejected { status: 422, ref message }) if message.starts_with("REFUND_AMOUNT_EXCEEDED"))
        );
        fake.set_refunds_pending(true);
        let held = c
            .parse_refund(&call(&c, &c.build_refund(&order, &capture, &usd(3550), "demo:PP1-r2")).unwrap(), usd(3550))
            .unwrap();
        assert_eq!(held.status, OperationStatus::Pending);
        let ask = c.build_refund_status(&held.id).expect("PayPal refunds are asked again");
        assert_eq!(
            c.parse_refund_status(&call(&c, &ask).unwrap(), usd(3550)).unwrap().status,
            OperationStatus::Pending
        );
        assert!(fake.settle_refund(&held.id, RefundOutcome::Completed));
        assert_eq!(
            c.parse_refund_status(&call(&c, &ask).unwrap(), usd(3550)).unwrap().status,
            OperationStatus::Succeeded
        );
        assert_eq!(fake.order(&order).unwrap()["purchase_units"][0]["payments"]["captures"][0]["status"], "REFUNDED");
        assert_eq!(fetch(&c, &order).unwrap().state, PaymentState::Paid, "a refunded capture was paid");
    }

    #[test]
    fn a_tampered_amount_is_reported_as_paypal_shows_it() {
        let fake = FakePayPal::start(ID, SECRET, HOOK);
        let c = connector(&fake);
        let (order, page) = open(&fake, &c, usd(9900));
        fake.tamper_amount(&order, "1.00");
        crate::http::post_form(&page, &[("action", "approve")]);
        let p = fetch(&c, &order).unwrap();
        assert_eq!((p.state, p.money), (PaymentState::Paid, usd(100)));
    }

    #[test]
    fn a_canceled_order_stays_unpaid_and_sar_is_refused() {
        let fake = FakePayPal::start(ID, SECRET, HOOK);
        let c = connector(&fake);
        let (order, page) = open(&fake, &c, usd(700));
        let back = crate::http::post_form(&page, &[("action", "cancel")]);
        assert!(back.location.unwrap().contains(&format!("token={order}")));
        assert_eq!(fetch(&c, &order).unwrap().state, PaymentState::Pending);
        let capture = call(
            &c,
            &paypal::build_capture_order(
                &paypal::Config {
                    api_base: fake.api_base(),
                    client_id: ID.into(),
                    client_secret: Secret::new(SECRET),
                    webhook_id: HOOK.into(),
                },
                &order,
            ),
        )
        .unwrap();
        assert_eq!(capture.status, 422, "nothing to capture");
        let sar = Money::new(100, Currency::parse("SAR").unwrap());
        let input = bawaba_core::gateway::StartInput {
            reference: "demo:PP2",
            money: sar,
            method: PaymentMethod::Paypal,
            return_url: "r",
            webhook_url: "w",
            locale: "ar",
            customer_name: None,
            description: "d",
            customer_email: None,
            session_key: "k",
            expires_at: None,
            now: None,
            wallet: None,
        };
        assert!(c.build_start(&input).is_err(), "PayPal does not take SAR");
        let (verdict, message) = c.parse_check(&send(&c.build_check()), Some("SAR"));
        assert_eq!(verdict, CheckVerdict::CurrencyUnsupported);
        assert!(message.contains("USD"), "{message}");
    }

    #[test]
    fn webhooks_it_sent_verify_and_others_do_not() {
        let fake = FakePayPal::start(ID, SECRET, HOOK);
        let c = connector(&fake);
        let (order, page) = open(&fake, &c, usd(2500));
        crate::http::post_form(&page, &[("action", "approve")]);
        let event = fake.event("CHECKOUT.ORDER.APPROVED", &order).unwrap();
        let body = event.to_string();
        let headers = fake.sign_webhook(&event);
        let header = |name: &str| headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone());
        let hint = c.verify_webhook(&header, body.as_bytes(), 0).unwrap();
        assert_eq!(hint.gateway_payment_id.as_deref(), Some(order.as_str()));
        let check = c.build_webhook_check(&header, body.as_bytes()).expect("PayPal verifies by a call");
        assert_eq!(c.parse_webhook_check(&call(&c, &check).unwrap()), Ok(()));

        let mut tampered = event.clone();
        tampered["resource"]["purchase_units"][0]["amount"]["value"] = json!("0.01");
        let forged = c.build_webhook_check(&header, tampered.to_string().as_bytes()).unwrap();
        assert!(c.parse_webhook_check(&call(&c, &forged).unwrap()).is_err(), "a changed event fails");
        let other = FakePayPal::start(ID, SECRET, "OTHER-WEBHOOK");
        let elsewhere = other.sign_webhook(&event);
        let header2 = |name: &str| elsewhere.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone());
        let foreign = c.build_webhook_check(&header2, body.as_bytes()).unwrap();
        assert!(c.parse_webhook_check(&call(&c, &foreign).unwrap()).is_err(), "not a delivery this PayPal sent");
        let none = |_: &str| None;
        assert!(c.verify_webhook(&none, body.as_bytes(), 0).is_err());
        let refused = c.build_webhook_check(&none, body.as_bytes()).expect("fail closed");
        assert!(c.parse_webhook_check(&call(&c, &refused).unwrap()).is_err());

        let capture_event = fake.event("PAYMENT.CAPTURE.COMPLETED", &order);
        assert!(capture_event.is_some());
    }

    #[test]
    fn tokens_credentials_and_outages() {
        let fake = FakePayPal::start(ID, SECRET, HOOK);
        let c = connector(&fake);
        assert_eq!(c.parse_check(&send(&c.build_check()), None).0, CheckVerdict::Ok);
        let get = c.build_fetch("NOPE");
        assert_eq!(send(&get).status, 401, "no token, no answer");
        assert_eq!(call(&c, &get).unwrap().status, 404);
        let issued = fake.tokens_issued();
        fake.expire_tokens();
        let (token, _) = c.parse_auth(&send(&c.build_auth().unwrap())).unwrap();
        assert_eq!(fake.tokens_issued(), issued + 1);
        fake.expire_tokens();
        assert_eq!(send(&c.authorize(get.clone(), &token)).status, 401, "an expired token is refused: ask again");
        fake.set_client_secret("EOther");
        let (verdict, message) = c.parse_check(&send(&c.build_check()), None);
        assert_eq!(
            (verdict, message.as_str()),
            (CheckVerdict::InvalidCredentials, "Client Authentication failed (invalid_client)")
        );
        assert!(matches!(
            c.parse_auth(&send(&c.build_auth().unwrap())),
            Err(GatewayError::Rejected { status: 401, .. })
        ));
        fake.set_client_secret(SECRET);
        fake.set_health(Health::Failing);
        assert_eq!(c.parse_check(&send(&c.build_check()), None).0, CheckVerdict::Unreachable);
        assert!(matches!(c.parse_auth(&send(&c.build_auth().unwrap())), Err(GatewayError::Unreachable(_))));
        fake.set_health(Health::Up);
        assert_eq!(iso_time(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso_time(1_795_830_600), "2026-11-28T01:50:00Z");
    }
}
