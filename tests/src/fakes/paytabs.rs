//! A fake PayTabs PT2 region host: `POST /payment/request` (`tran_type` sale, auth, refund,
//! capture, void) and `POST /payment/query`, authenticated by the server key in the
//! `authorization` header **and** the `profile_id` in the body (either wrong: 401 `{"code":1,
//! "message":"Authentication failed. Check authentication header."}`, which is also what a
//! profile of another region gets: start a second fake with another profile to stand for another
//! region's host), PayTabs' business errors as HTTP 200 `{code, message, trace}`, duplicate
//! follow-up `cart_id`s refused (`code 4`), the hosted page at `redirect_url`, the callback (IPN)
//! POSTed to `callback` with the `signature` header over the raw body, and the return.
//!
//! The return: PayTabs POSTs signed form fields (`tranRef`, `cartId`, `respStatus`, `respCode`,
//! `respMessage`, `acquirerRRN`, `acquirerMessage`, `customerEmail`, `token`, `signature`) to
//! HTTPS return URLs only, and sends the shopper to other URLs with a bare GET. The fake does the
//! same, unless [`FakePayTabs::set_post_http_returns`] makes it post to plain-HTTP URLs too (the
//! test edge is plain HTTP): the page then answers with an auto-submitting form that
//! [`return_form`] reads.
//!
//! Refunds answer `A` at once, or `P` while [`FakePayTabs::set_refunds_pending`] is on (then
//! [`FakePayTabs::settle_refund`] decides them). A pending refund keeps its amount reserved.
//!
//! Test cards (the fake's own: PayTabs' live in the dashboard of a test profile):
//! `4111111111111111` Visa and `5200000000000114` Mastercard are authorised (`A`);
//! `4000000000000002` asks for 3-D Secure (authenticate → `A`, fail → `D` "Authentication
//! failed"); `4000000000000051` is declined (`D`, 51 Insufficient Funds); `4000000000000259` is
//! held for fraud review (`H`; [`FakePayTabs::release_hold`] decides it later); anything else is
//! declined (`D`, 05 Do not honour).

use super::{form, header, html_response, json_response, post_later, redirect, serve, unhealthy, Health, Switches};
use bawaba_core::gateway::paytabs::webhook;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

const AUTH_FAILED: &str = "Authentication failed. Check authentication header.";

#[derive(Default)]
struct State {
    profile_id: String,
    server_key: String,
    /// Every transaction (sales, auths and follow-ups) as a query shows it.
    trans: HashMap<String, Value>,
    /// Where a sale's callback and return go.
    urls: HashMap<String, (String, String)>,
    /// Follow-up cart ids seen (duplicate detection).
    follow_up_carts: HashSet<String>,
    /// Minor units refunded (or reserved by a pending refund) per sale.
    refunded: HashMap<String, i64>,
    /// The last callback body sent per transaction.
    callbacks: HashMap<String, String>,
    tampered: HashMap<String, String>,
    foreign: HashMap<String, i64>,
    queries: HashMap<String, u32>,
    refunds_pending: bool,
    post_http_returns: bool,
    counter: u64,
}

/// How a pending refund or a hold ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// `A`.
    Approve,
    /// `D` (a refund: its amount is free again).
    Decline,
}

/// The fake.
#[derive(Clone)]
pub struct FakePayTabs {
    /// `http://127.0.0.1:<port>` (the region host, `PAYTABS_API_BASE`).
    pub base: String,
    state: Arc<Mutex<State>>,
    switches: Switches,
    sent: Arc<Mutex<u32>>,
}

type Reply = tiny_http::Response<std::io::Cursor<Vec<u8>>>;

fn exponent(currency: &str) -> Option<u32> {
    bawaba_core::money::Currency::parse(currency).ok().map(|c| u32::from(c.exponent()))
}

/// Major units (a JSON number, as PayTabs takes it) → minor units; `None` when it has more
/// decimals than the currency (PayTabs refuses those). Independent of the edge's converter.
fn minor_of(amount: &Value, currency: &str) -> Option<i64> {
    let exp = exponent(currency)?;
    let a = amount.as_f64()?;
    let scaled = a * 10f64.powi(exp as i32);
    let minor = scaled.round();
    ((scaled - minor).abs() < 1e-6 && minor > 0.0).then_some(minor as i64)
}

fn major_text(minor: i64, currency: &str) -> String {
    let exp = exponent(currency).unwrap_or(2) as usize;
    let scale = 10i64.pow(exp as u32);
    if exp == 0 {
        return minor.to_string();
    }
    format!("{}.{:0exp$}", minor / scale, minor % scale)
}

fn business(code: u32, message: &str) -> Reply {
    json_response(200, &json!({"code": code, "message": message, "trace": "PMNT0101.6A1B2C3D.0001"}))
}

impl FakePayTabs {
    /// Starts it for `profile_id`, accepting `server_key` (which also signs its callbacks and
    /// returns).
    pub fn start(profile_id: &str, server_key: &str) -> FakePayTabs {
        let state = Arc::new(Mutex::new(State {
            profile_id: profile_id.into(),
            server_key: server_key.into(),
            ..State::default()
        }));
        let switches = Switches::default();
        let sent = Arc::new(Mutex::new(0));
        let base = Arc::new(Mutex::new(String::new()));
        let inner =
            FakePayTabs { base: String::new(), state: state.clone(), switches: switches.clone(), sent: sent.clone() };
        let b = base.clone();
        let port = serve(move |req, body, segs| {
            let mut me = inner.clone();
            me.base = b.lock().unwrap().clone();
            me.handle(req, body, segs)
        });
        *base.lock().unwrap() = format!("http://127.0.0.1:{port}");
        FakePayTabs { base: format!("http://127.0.0.1:{port}"), state, switches, sent }
    }

    /// The host to configure (`PAYTABS_API_BASE`).
    pub fn api_base(&self) -> String {
        self.base.clone()
    }

    /// Makes the API fail or hang (the hosted pages keep working).
    pub fn set_health(&self, health: Health) {
        *self.switches.health.lock().unwrap() = health;
    }

    /// Changes the accepted server key.
    pub fn set_server_key(&self, key: &str) {
        self.state.lock().unwrap().server_key = key.into();
    }

    /// Changes the profile this host holds (the key and a profile id of another merchant, or of
    /// another region's host, are refused alike).
    pub fn set_profile_id(&self, profile_id: &str) {
        self.state.lock().unwrap().profile_id = profile_id.into();
    }

    /// How many times a transaction was queried.
    pub fn queries_of(&self, tran_ref: &str) -> u32 {
        self.state.lock().unwrap().queries.get(tran_ref).copied().unwrap_or(0)
    }

    /// Posts returns to plain-HTTP return URLs too (PayTabs posts only to HTTPS ones).
    pub fn set_post_http_returns(&self, on: bool) {
        self.state.lock().unwrap().post_http_returns = on;
    }

    /// Makes queries of one transaction report another amount (`"1.00"`).
    pub fn tamper_amount(&self, tran_ref: &str, amount: &str) {
        self.state.lock().unwrap().tampered.insert(tran_ref.into(), amount.into());
    }

    /// Makes queries of one transaction name another merchant's profile.
    pub fn answer_for_profile(&self, tran_ref: &str, profile_id: i64) {
        self.state.lock().unwrap().foreign.insert(tran_ref.into(), profile_id);
    }

    /// Callbacks delivered so far (answered 2xx).
    pub fn callbacks_sent(&self) -> u32 {
        *self.sent.lock().unwrap()
    }

    /// The last callback body sent for a transaction, byte for byte.
    pub fn callback_body(&self, tran_ref: &str) -> Option<String> {
        self.state.lock().unwrap().callbacks.get(tran_ref).cloned()
    }

    /// A transaction as a query shows it.
    pub fn transaction(&self, tran_ref: &str) -> Option<Value> {
        self.query_view(tran_ref)
    }

    /// The follow-ups of a transaction, oldest first.
    pub fn follow_ups_of(&self, tran_ref: &str) -> Vec<Value> {
        let state = self.state.lock().unwrap();
        let mut out: Vec<Value> =
            state.trans.values().filter(|t| t["previous_tran_ref"] == tran_ref).cloned().collect();
        out.sort_by_key(|t| t["tran_ref"].as_str().unwrap_or("").to_string());
        out
    }

    /// While on, refunds answer `P` (pending) instead of `A`.
    pub fn set_refunds_pending(&self, on: bool) {
        self.state.lock().unwrap().refunds_pending = on;
    }

    /// Decides a pending refund; `false` when it is not pending.
    pub fn settle_refund(&self, refund_ref: &str, decision: Decision) -> bool {
        let mut state = self.state.lock().unwrap();
        let Some(refund) = state.trans.get_mut(refund_ref) else { return false };
        if refund["payment_result"]["response_status"] != "P" {
            return false;
        }
        let (status, code, message) = match decision {
            Decision::Approve => ("A", "G00000", "Authorised"),
            Decision::Decline => ("D", "05", "Refund declined"),
        };
        refund["payment_result"] =
            json!({"response_status": status, "response_code": code, "response_message": message});
        if decision == Decision::Decline {
            let sale = refund["previous_tran_ref"].as_str().unwrap_or("").to_string();
            let currency = refund["cart_currency"].as_str().unwrap_or("SAR").to_string();
            let minor = minor_of(
                &json!(refund["cart_amount"].as_str().unwrap_or("0").parse::<f64>().unwrap_or(0.0)),
                &currency,
            );
            if let (Some(done), Some(m)) = (state.refunded.get_mut(&sale), minor) {
                *done -= m;
            }
        }
        true
    }

    /// Decides a held (`H`) payment after review, and sends its callback again.
    pub fn release_hold(&self, tran_ref: &str, decision: Decision) -> bool {
        let held = self
            .state
            .lock()
            .unwrap()
            .trans
            .get(tran_ref)
            .is_some_and(|t| t["payment_result"]["response_status"] == "H");
        if held {
            let result = match decision {
                Decision::Approve => ("A", "G96547", "Authorised"),
                Decision::Decline => ("D", "59", "Suspected fraud"),
            };
            let _ = self.finish(tran_ref, result);
        }
        held
    }

    fn handle(&self, req: tiny_http::Request, body: String, segments: Vec<String>) {
        let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
        let method = req.method().as_str().to_string();
        let reply = match (method.as_str(), segs.as_slice()) {
            ("POST", ["payment", "request" | "query"]) => {
                let Some(req) =
                    unhealthy(&self.switches, req, &json!({"code": 500, "message": "Internal Server Error"}))
                else {
                    return;
                };
                let input: Value = serde_json::from_str(&body).unwrap_or_default();
                let (key, profile) = {
                    let s = self.state.lock().unwrap();
                    (s.server_key.clone(), s.profile_id.clone())
                };
                let their_profile = match &input["profile_id"] {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                if header(&req, "authorization") != Some(key) || their_profile != profile {
                    let _ = req
                        .respond(json_response(401, &json!({"code": 1, "message": AUTH_FAILED, "trace": "PMNT0404"})));
                    return;
                }
                let reply = if segs[1] == "query" { self.query(&input) } else { self.request(&input) };
                let _ = req.respond(reply);
                return;
            }
            ("GET", ["payment", "page", id]) => self.page(id),
            ("POST", ["payment", "page", id]) => self.pay(id, &body),
            ("POST", ["payment", "page", id, "3ds"]) => {
                let ok = form(&body).iter().any(|(k, v)| k == "result" && v == "ok");
                self.finish(id, if ok { ("A", "G96547", "Authorised") } else { ("D", "4", "Authentication failed") })
            }
            _ => json_response(404, &json!({"code": 404, "message": "Not found"})),
        };
        let _ = req.respond(reply);
    }

    fn query(&self, input: &Value) -> Reply {
        let tran_ref = input["tran_ref"].as_str().unwrap_or("");
        *self.state.lock().unwrap().queries.entry(tran_ref.to_string()).or_default() += 1;
        match self.query_view(tran_ref) {
            Some(view) => json_response(200, &view),
            None => {
                json_response(400, &json!({"code": 2, "message": "Invalid transaction reference", "trace": "PMNT0402"}))
            }
        }
    }

    fn query_view(&self, tran_ref: &str) -> Option<Value> {
        let state = self.state.lock().unwrap();
        let mut view = state.trans.get(tran_ref)?.clone();
        if let Some(a) = state.tampered.get(tran_ref) {
            view["cart_amount"] = json!(a);
            view["tran_total"] = json!(a);
        }
        if let Some(p) = state.foreign.get(tran_ref) {
            view["profile_id"] = json!(p);
        }
        Some(view)
    }

    fn request(&self, input: &Value) -> Reply {
        let tran_type = input["tran_type"].as_str().unwrap_or("").to_ascii_lowercase();
        if input["tran_class"] != "ecom" {
            return business(113, "Invalid transaction class");
        }
        let currency = input["cart_currency"].as_str().unwrap_or("");
        if !["SAR", "AED", "USD", "KWD"].contains(&currency) {
            return json_response(400, &json!({"code": 206, "message": "Invalid currency code", "trace": "PMNT0401"}));
        }
        let Some(minor) = minor_of(&input["cart_amount"], currency) else {
            return business(207, "Invalid amount");
        };
        let cart_id = input["cart_id"].as_str().unwrap_or("").to_string();
        if cart_id.is_empty() {
            return business(210, "Cart ID is required");
        }
        match tran_type.as_str() {
            "sale" | "auth" => self.create(input, &tran_type, currency, minor, &cart_id),
            "refund" | "capture" | "void" => self.follow_up(input, &tran_type, currency, minor, &cart_id),
            _ => business(112, "Invalid transaction type"),
        }
    }

    fn next_ref(state: &mut State) -> String {
        state.counter += 1;
        format!("TST2{:05}{:07}", std::process::id() % 100_000, state.counter)
    }

    fn create(&self, input: &Value, tran_type: &str, currency: &str, minor: i64, cart_id: &str) -> Reply {
        let (Some(callback), Some(back)) = (input["callback"].as_str(), input["return"].as_str()) else {
            return business(220, "Callback and return URLs are required");
        };
        let mut state = self.state.lock().unwrap();
        let tran_ref = Self::next_ref(&mut state);
        let amount = major_text(minor, currency);
        let profile: i64 = state.profile_id.parse().unwrap_or(0);
        let view = json!({
            "tran_ref": tran_ref, "tran_type": if tran_type == "auth" { "Auth" } else { "Sale" }, "cart_id": cart_id,
            "cart_description": input["cart_description"], "cart_currency": currency, "cart_amount": amount,
            "tran_currency": currency, "tran_total": amount, "profile_id": profile, "merchant_id": 7001,
            "customer_details": input["customer_details"], "payment_methods": input["payment_methods"],
            "paypage_lang": input["paypage_lang"], "serviceId": 2, "trace": "PMNT0101",
        });
        state.trans.insert(tran_ref.clone(), view.clone());
        state.urls.insert(tran_ref.clone(), (callback.to_string(), back.to_string()));
        let mut answer = view;
        answer["redirect_url"] = json!(format!("{}/payment/page/{tran_ref}", self.base));
        answer["callback"] = json!(callback);
        answer["return"] = json!(back);
        json_response(200, &answer)
    }

    fn follow_up(&self, input: &Value, tran_type: &str, currency: &str, minor: i64, cart_id: &str) -> Reply {
        let original_ref = input["tran_ref"].as_str().unwrap_or("").to_string();
        let mut state = self.state.lock().unwrap();
        let Some(original) = state.trans.get(&original_ref).cloned() else {
            return business(2, "Invalid transaction reference");
        };
        if state.follow_up_carts.contains(cart_id) {
            return json_response(409, &json!({"code": 4, "message": "Duplicate Request", "trace": "PMNT0409"}));
        }
        let status = original["payment_result"]["response_status"].as_str().unwrap_or("");
        let kind = original["tran_type"].as_str().unwrap_or("").to_ascii_lowercase();
        if status == "H" {
            return business(305, "Transaction is on hold");
        }
        if original["cart_currency"] != currency || status != "A" {
            return business(301, "Transaction can not be processed");
        }
        let total =
            minor_of(&json!(original["cart_amount"].as_str().unwrap_or("0").parse::<f64>().unwrap_or(0.0)), currency)
                .unwrap_or(0);
        let done = state.refunded.get(&original_ref).copied().unwrap_or(0);
        let result = match tran_type {
            "refund" if kind != "sale" && kind != "capture" => return business(301, "Transaction can not be refunded"),
            "refund" if done + minor > total => return business(302, "Refund amount exceeds the available amount"),
            "refund" => {
                state.refunded.insert(original_ref.clone(), done + minor);
                if state.refunds_pending {
                    ("P", "P0", "Pending")
                } else {
                    ("A", "G00000", "Authorised")
                }
            }
            "capture" | "void" if kind != "auth" => {
                return business(303, "Only authorisations can be captured or voided")
            }
            _ if minor > total => return business(304, "Amount exceeds the authorised amount"),
            "void" => {
                if let Some(o) = state.trans.get_mut(&original_ref) {
                    o["payment_result"]["response_status"] = json!("V");
                }
                ("A", "G00000", "Authorised")
            }
            _ => ("A", "G00000", "Authorised"),
        };
        state.follow_up_carts.insert(cart_id.to_string());
        let tran_ref = Self::next_ref(&mut state);
        let name = match tran_type {
            "refund" => "Refund",
            "capture" => "Capture",
            _ => "Void",
        };
        let view = json!({
            "tran_ref": tran_ref, "previous_tran_ref": original_ref, "tran_type": name, "cart_id": cart_id,
            "cart_description": input["cart_description"], "cart_currency": currency,
            "cart_amount": major_text(minor, currency), "tran_currency": currency,
            "tran_total": major_text(minor, currency), "profile_id": original["profile_id"],
            "payment_result": {"response_status": result.0, "response_code": result.1, "response_message": result.2,
                "transaction_time": "2026-12-03T05:00:00Z"},
        });
        state.trans.insert(tran_ref, view.clone());
        json_response(200, &view)
    }

    fn open(&self, id: &str) -> Option<Value> {
        let state = self.state.lock().unwrap();
        state.trans.get(id).filter(|t| t["payment_result"].is_null() && state.urls.contains_key(id)).cloned()
    }

    fn page(&self, id: &str) -> Reply {
        let Some(tran) = self.open(id) else {
            return match self.transaction(id) {
                Some(t) => html_response(
                    200,
                    format!("<p id=closed>This payment is {}.</p>", t["payment_result"]["response_status"]),
                ),
                None => html_response(404, "<p>Not found</p>".into()),
            };
        };
        html_response(
            200,
            format!(
                "<!doctype html><html><head><meta charset=utf-8><title>PayTabs (fake)</title></head><body><h1>PayTabs</h1>\
<p id=amount>{} {}</p><form method=post action=\"/payment/page/{id}\"><input id=number name=number>\
<input id=expiry name=expiry value=\"01/39\"><input id=cvv name=cvv value=123><button id=pay type=submit>Pay</button></form></body></html>",
                tran["cart_amount"].as_str().unwrap_or(""),
                tran["cart_currency"].as_str().unwrap_or("")
            ),
        )
    }

    fn pay(&self, id: &str, body: &str) -> Reply {
        if self.open(id).is_none() {
            return self.page(id);
        }
        let number: String = form(body)
            .into_iter()
            .find(|(k, _)| k == "number")
            .map(|(_, v)| v.chars().filter(char::is_ascii_digit).collect())
            .unwrap_or_default();
        let scheme = if number.starts_with('5') { "MasterCard" } else { "Visa" };
        let masked = format!(
            "{} {}## #### {}",
            number.get(..4).unwrap_or(""),
            number.get(4..6).unwrap_or(""),
            number.get(number.len().saturating_sub(4)..).unwrap_or("")
        );
        if let Some(t) = self.state.lock().unwrap().trans.get_mut(id) {
            t["payment_info"] = json!({"payment_method": scheme, "card_type": "Credit", "card_scheme": scheme,
                "payment_description": masked, "expiryMonth": 1, "expiryYear": 2039});
        }
        match number.as_str() {
            "4111111111111111" | "5200000000000114" => self.finish(id, ("A", "G96547", "Authorised")),
            "4000000000000002" => html_response(
                200,
                format!(
                    "<!doctype html><title>3-D Secure</title><h1>3-D Secure (fake ACS)</h1><form method=post action=\"/payment/page/{id}/3ds\">\
<button id=authenticate name=result value=ok>Authenticate</button><button id=fail name=result value=fail>Fail</button></form>"
                ),
            ),
            "4000000000000051" => self.finish(id, ("D", "51", "Insufficient Funds")),
            "4000000000000259" => self.finish(id, ("H", "G96547", "Authorised, held for review")),
            _ => self.finish(id, ("D", "05", "Do not honour")),
        }
    }

    /// Decides a payment: records the result, sends the signed callback, and sends the shopper
    /// back (a signed POST, or a bare GET).
    fn finish(&self, id: &str, (status, code, message): (&str, &str, &str)) -> Reply {
        let (view, key, urls, post_http) = {
            let mut state = self.state.lock().unwrap();
            let Some(t) = state.trans.get_mut(id) else { return html_response(404, "<p>Not found</p>".into()) };
            t["payment_result"] = json!({"response_status": status, "response_code": code, "response_message": message,
                "acquirer_message": "", "acquirer_rrn": "", "transaction_time": "2026-12-03T05:00:00Z"});
            (t.clone(), state.server_key.clone(), state.urls.get(id).cloned(), state.post_http_returns)
        };
        let Some((callback, back)) = urls else { return html_response(404, "<p>Not found</p>".into()) };
        let body = view.to_string();
        self.state.lock().unwrap().callbacks.insert(id.to_string(), body.clone());
        post_later(
            callback,
            vec![
                ("Content-Type".into(), "application/json".into()),
                ("signature".into(), webhook::sign(key.as_bytes(), body.as_bytes())),
                ("User-Agent".into(), "Go-http-client/1.1".into()),
            ],
            body,
            self.sent.clone(),
        );
        if !back.starts_with("https://") && !post_http {
            return redirect(&back);
        }
        let mut fields: Vec<(String, String)> = [
            ("acquirerMessage", ""),
            ("acquirerRRN", ""),
            ("cartId", view["cart_id"].as_str().unwrap_or("")),
            ("customerEmail", view["customer_details"]["email"].as_str().unwrap_or("")),
            ("respCode", code),
            ("respMessage", message),
            ("respStatus", status),
            ("token", ""),
            ("tranRef", id),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let signature = webhook::sign_return(key.as_bytes(), &fields);
        fields.push(("signature".into(), signature));
        let inputs: String = fields
            .iter()
            .map(|(k, v)| format!("<input type=hidden name=\"{}\" value=\"{}\">", attr(k), attr(v)))
            .collect();
        html_response(
            200,
            format!(
                "<!doctype html><title>Redirecting</title><body onload=\"document.forms[0].submit()\">\
<form id=return method=post action=\"{}\">{inputs}</form></body>",
                attr(&back)
            ),
        )
    }
}

fn attr(s: &str) -> String {
    s.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;")
}

fn unattr(s: &str) -> String {
    s.replace("&lt;", "<").replace("&quot;", "\"").replace("&amp;", "&")
}

/// Reads the auto-submitting return form the fake answers with: its action and its fields.
pub fn return_form(html: &str) -> Option<(String, Vec<(String, String)>)> {
    let after = |s: &str, key: &str| -> Option<String> {
        let start = s.find(key)? + key.len();
        Some(unattr(&s[start..start + s[start..].find('"')?]))
    };
    let form_at = html.find("<form id=return")?;
    let action = after(&html[form_at..], "action=\"")?;
    let fields = html[form_at..]
        .split("<input type=hidden ")
        .skip(1)
        .filter_map(|input| Some((after(input, "name=\"")?, after(input, "value=\"")?)))
        .collect();
    Some((action, fields))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fakes::send;
    use bawaba_core::gateway::connector::Connector;
    use bawaba_core::gateway::{paytabs, OperationStatus};
    use bawaba_core::money::{Currency, Money};
    use bawaba_core::secret::Secret;

    const KEY: &str = "SKJNDKLMRB-fake-paytabs";

    fn connector(fake: &FakePayTabs) -> Connector {
        Box::new(paytabs::Config {
            api_base: fake.api_base(),
            profile_id: "44017".into(),
            server_key: Secret::new(KEY),
        })
    }

    fn sar(minor: i64) -> Money {
        Money::new(minor, Currency::parse("SAR").unwrap())
    }

    fn paid_sale(fake: &FakePayTabs, c: &Connector, https: bool) -> (String, crate::http::Reply) {
        let back = if https { "https://edge.example/v1/return/paytabs/ps_1" } else { "http://edge.example/r" };
        let input = bawaba_core::gateway::StartInput {
            reference: "demo:S1",
            money: sar(4550),
            method: bawaba_core::method::PaymentMethod::Visa,
            return_url: back,
            webhook_url: "http://127.0.0.1:9/v1/webhooks/paytabs",
            locale: "en",
            customer_name: None,
            description: "d",
            customer_email: Some("a+b@example.com"),
            session_key: "1",
            expires_at: None,
            now: None,
            wallet: None,
        };
        let bawaba_core::gateway::connector::Start::Call(req) = c.build_start(&input).unwrap() else { panic!() };
        let session = c.parse_start(&send(&req)).unwrap();
        assert!(session.redirect_url.starts_with(&fake.base));
        let paid = crate::http::post_form(&session.redirect_url, &[("number", "4111111111111111")]);
        (session.id, paid)
    }

    #[test]
    fn the_fake_signs_its_returns_and_callbacks_as_the_connector_reads_them() {
        let fake = FakePayTabs::start("44017", KEY);
        let c = connector(&fake);
        let (tran_ref, paid) = paid_sale(&fake, &c, true);
        let (action, fields) = return_form(&paid.body).expect("an HTTPS return is POSTed");
        assert_eq!(action, "https://edge.example/v1/return/paytabs/ps_1");
        let body: String = fields
            .iter()
            .map(|(k, v)| format!("{}={}", crate::http::urlencode(k), crate::http::urlencode(v)))
            .collect::<Vec<_>>()
            .join("&");
        assert!(c.verify_return(body.as_bytes()).is_ok());
        assert!(c.verify_return(body.replace("respStatus=A", "respStatus=D").as_bytes()).is_err());
        let callback = fake.callback_body(&tran_ref).unwrap();
        let sig = webhook::sign(KEY.as_bytes(), callback.as_bytes());
        let header = |name: &str| (name == "signature").then(|| sig.clone());
        assert_eq!(
            c.verify_webhook(&header, callback.as_bytes(), 0).unwrap().gateway_payment_id,
            Some(tran_ref.clone())
        );
        let truth = c.parse_fetch(&send(&c.build_fetch(&tran_ref)), &sar(4550)).unwrap();
        assert_eq!(
            (truth.state, truth.money, truth.card_last4.as_deref()),
            (bawaba_core::payment::PaymentState::Paid, sar(4550), Some("1111"))
        );

        let (_, plain) = paid_sale(&fake, &c, false);
        assert_eq!((plain.status, plain.location.as_deref()), (303, Some("http://edge.example/r")), "a bare GET");
    }

    #[test]
    fn refunds_are_follow_ups_with_unique_cart_ids_and_can_stay_pending() {
        let fake = FakePayTabs::start("44017", KEY);
        let c = connector(&fake);
        let (sale, _) = paid_sale(&fake, &c, true);
        let refund = |amount: i64, cart: &str| {
            c.parse_refund(&send(&c.build_refund(&sale, &sale, &sar(amount), cart)), sar(amount))
        };
        assert_eq!(refund(1000, "r-0").unwrap().status, OperationStatus::Succeeded);
        assert!(
            matches!(refund(1000, "r-0"), Err(bawaba_core::gateway::GatewayError::Rejected { status: 409, .. })),
            "duplicate cart_id"
        );
        assert!(
            matches!(refund(3600, "r-1"), Err(bawaba_core::gateway::GatewayError::Rejected { status: 200, .. })),
            "over-refund"
        );
        fake.set_refunds_pending(true);
        let held = refund(2000, "r-2").unwrap();
        assert_eq!(held.status, OperationStatus::Pending);
        let ask = c.build_refund_status(&held.id).unwrap();
        assert_eq!(c.parse_refund_status(&send(&ask), sar(2000)).unwrap().status, OperationStatus::Pending);
        assert!(fake.settle_refund(&held.id, Decision::Decline));
        assert!(matches!(c.parse_refund_status(&send(&ask), sar(2000)).unwrap().status, OperationStatus::Failed(_)));
        fake.set_refunds_pending(false);
        assert_eq!(
            refund(3550, "r-3").unwrap().status,
            OperationStatus::Succeeded,
            "the declined refund freed its amount"
        );
        assert_eq!(fake.follow_ups_of(&sale).len(), 3);
        let wrong = paytabs::Config { api_base: fake.api_base(), profile_id: "1".into(), server_key: Secret::new(KEY) };
        assert_eq!(send(&paytabs::build_query(&wrong, &sale)).status, 401, "another profile with our key");
    }
}
