//! A fake Stripe: Checkout Sessions (`/v1/checkout/sessions` create, fetch with `expand[]`,
//! `/{id}/expire`), PaymentIntents and charges behind them, `/v1/refunds` (create with an
//! `Idempotency-Key`, fetch), `/v1/balance`, Bearer auth with the secret key, Stripe's error
//! bodies (`{"error":{"type","code","message"}}`), form-encoded requests, a hosted Checkout page
//! with a 3-D Secure step, and webhooks signed with `Stripe-Signature`.
//!
//! As at Stripe (API versions from 2022-08-01), a session has no PaymentIntent until the shopper
//! tries to pay; a declined card leaves the session `open` and its PaymentIntent
//! `requires_payment_method` with a `last_payment_error`, and the page shows the error with its
//! "back" link (`cancel_url`). A session with `expires_at` is `expired` once it passes
//! ([`FakeStripe::expire_session`] makes it pass now), and its PaymentIntent `canceled`.
//!
//! Refunds answer `succeeded`, or `pending` while [`FakeStripe::set_refunds_pending`] is on,
//! until [`FakeStripe::settle_refund`]; a pending refund counts in the charge's
//! `amount_refunded` until it fails.
//!
//! Test cards: `4242424242424242` Visa, `5555555555554444` Mastercard and `378282246310005`
//! Amex succeed; `4000002500003155` asks for 3-D Secure first; `4000000000000002` is declined
//! (`card_declined`, `generic_decline`); anything else is declined too.

use super::{form, header, html_response, json_response, now_secs, post_later, redirect, serve, unhealthy, Switches};
use bawaba_core::gateway::stripe::webhook;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

type Reply = tiny_http::Response<std::io::Cursor<Vec<u8>>>;

#[derive(Default)]
struct State {
    sessions: HashMap<String, Value>,
    intents: HashMap<String, Value>,
    charges: HashMap<String, Value>,
    refunds: HashMap<String, Value>,
    /// Idempotency-Key → (request body, answer status, answer body).
    idempotent: HashMap<String, (String, u16, Value)>,
    secret_key: String,
    webhook_secret: String,
    webhook_url: Option<String>,
    refunds_pending: bool,
    tampered: HashMap<String, i64>,
    /// Sessions whose payment events the fake does not deliver (the test sends its own).
    silent: std::collections::HashSet<String>,
    counter: u64,
}

/// The fake.
#[derive(Clone)]
pub struct FakeStripe {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    state: Arc<Mutex<State>>,
    switches: Switches,
    sent: Arc<Mutex<u32>>,
}

fn error(status: u16, kind: &str, code: Option<&str>, message: &str) -> Reply {
    let mut e = json!({"type": kind, "message": message});
    if let Some(c) = code {
        e["code"] = json!(c);
    }
    json_response(status, &json!({ "error": e }))
}

fn missing(kind: &str, id: &str) -> Reply {
    error(404, "invalid_request_error", Some("resource_missing"), &format!("No such {kind}: '{id}'"))
}

impl FakeStripe {
    /// Starts it, accepting `secret_key` and signing webhooks with `webhook_secret` (`whsec_…`).
    pub fn start(secret_key: &str, webhook_secret: &str) -> FakeStripe {
        let state = Arc::new(Mutex::new(State {
            secret_key: secret_key.into(),
            webhook_secret: webhook_secret.into(),
            ..State::default()
        }));
        let switches = Switches::default();
        let sent = Arc::new(Mutex::new(0));
        let base = Arc::new(Mutex::new(String::new()));
        let inner =
            FakeStripe { base: String::new(), state: state.clone(), switches: switches.clone(), sent: sent.clone() };
        let b = base.clone();
        let port = serve(move |req, body, segs| {
            let mut me = inner.clone();
            me.base = b.lock().unwrap().clone();
            me.handle(req, body, segs)
        });
        *base.lock().unwrap() = format!("http://127.0.0.1:{port}");
        FakeStripe { base: format!("http://127.0.0.1:{port}"), state, switches, sent }
    }

    /// The API base to configure (`STRIPE_API_BASE`).
    pub fn api_base(&self) -> String {
        format!("{}/v1", self.base)
    }

    /// Registers the webhook endpoint, as the merchant does in the dashboard.
    pub fn set_webhook_url(&self, url: &str) {
        self.state.lock().unwrap().webhook_url = Some(url.into());
    }

    /// Stripe delivers no events for this session's payment: the test sends them itself, and
    /// knows nothing else reaches the edge meanwhile.
    pub fn withhold_webhooks(&self, session_id: &str) {
        self.state.lock().unwrap().silent.insert(session_id.into());
    }

    /// Makes the API fail or hang.
    pub fn set_health(&self, health: super::Health) {
        *self.switches.health.lock().unwrap() = health;
    }

    /// Changes the accepted secret key (the edge's key is now wrong).
    pub fn set_secret_key(&self, key: &str) {
        self.state.lock().unwrap().secret_key = key.into();
    }

    /// Makes fetches of one session report another amount (a tampered or misrouted result).
    pub fn tamper_amount(&self, session_id: &str, amount: i64) {
        self.state.lock().unwrap().tampered.insert(session_id.into(), amount);
    }

    /// New refunds stay `pending` until [`FakeStripe::settle_refund`].
    pub fn set_refunds_pending(&self, pending: bool) {
        self.state.lock().unwrap().refunds_pending = pending;
    }

    /// Ends a pending refund: `succeeded`, or `failed` (its amount is no longer refunded on the
    /// charge). `false` when there is no such pending refund.
    pub fn settle_refund(&self, refund_id: &str, succeeded: bool) -> bool {
        let mut state = self.state.lock().unwrap();
        let Some(refund) = state.refunds.get_mut(refund_id) else { return false };
        if refund["status"] != "pending" {
            return false;
        }
        refund["status"] = json!(if succeeded { "succeeded" } else { "failed" });
        if !succeeded {
            refund["failure_reason"] = json!("expired_or_canceled_card");
            let (charge, amount) = (refund["charge"].as_str().unwrap_or("").to_string(), refund["amount"].clone());
            if let Some(c) = state.charges.get_mut(&charge) {
                let left = c["amount_refunded"].as_i64().unwrap_or(0) - amount.as_i64().unwrap_or(0);
                c["amount_refunded"] = json!(left.max(0));
                c["refunded"] = json!(false);
            }
        }
        true
    }

    /// Webhooks delivered so far (answered 2xx or not).
    pub fn webhooks_sent(&self) -> u32 {
        *self.sent.lock().unwrap()
    }

    /// A session as stored (its PaymentIntent is an id).
    pub fn session(&self, id: &str) -> Option<Value> {
        let mut state = self.state.lock().unwrap();
        expire_if_due(&mut state, id);
        state.sessions.get(id).cloned()
    }

    /// The refunds made on a PaymentIntent.
    pub fn refunds_of(&self, payment_intent: &str) -> Vec<Value> {
        let state = self.state.lock().unwrap();
        state.refunds.values().filter(|r| r["payment_intent"] == payment_intent).cloned().collect()
    }

    /// Makes an open session's time run out now (`expires_at` passes): it becomes `expired`,
    /// its PaymentIntent `canceled`, and `checkout.session.expired` goes out. `false` for an
    /// unknown session or one that is not open.
    pub fn expire_session(&self, id: &str) -> bool {
        let event = {
            let mut state = self.state.lock().unwrap();
            match state.sessions.get(id) {
                Some(s) if s["status"] == "open" => {}
                _ => return false,
            }
            expire(&mut state, id);
            state.sessions[id].clone()
        };
        self.send_event("checkout.session.expired", event);
        true
    }

    /// A webhook body for an event about `object`, and its `Stripe-Signature` header at `t`.
    pub fn signed_event(&self, event_type: &str, object: Value, t: i64) -> (String, String) {
        let body = event_body(event_type, object);
        let secret = self.state.lock().unwrap().webhook_secret.clone();
        let header = webhook::sign(&secret, t, body.as_bytes());
        (body, header)
    }

    fn next_id(&self, prefix: &str) -> String {
        let mut state = self.state.lock().unwrap();
        state.counter += 1;
        format!("{prefix}_test_{:06}{}", state.counter, &super::new_id().replace('-', "")[..12])
    }

    fn handle(&self, req: tiny_http::Request, body: String, segments: Vec<String>) {
        let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
        let method = req.method().as_str().to_string();
        let query = req.url().split_once('?').map(|(_, q)| q.to_string()).unwrap_or_default();
        let req = if segs.first() == Some(&"v1") {
            let failure = json!({"error":{"type":"api_error","message":"An unknown error occurred"}});
            let Some(req) = unhealthy(&self.switches, req, &failure) else { return };
            let key = self.state.lock().unwrap().secret_key.clone();
            if header(&req, "Authorization").as_deref() != Some(&format!("Bearer {key}")) {
                let _ = req.respond(error(
                    401,
                    "invalid_request_error",
                    None,
                    "Invalid API Key provided: sk_test_****0000",
                ));
                return;
            }
            req
        } else {
            req
        };
        let idempotency_key = header(&req, "Idempotency-Key");
        let response = match (method.as_str(), segs.as_slice()) {
            ("POST", ["v1", "checkout", "sessions"]) => self.create_session(&body),
            ("GET", ["v1", "checkout", "sessions", id]) => self.get_session(id, &query),
            ("POST", ["v1", "checkout", "sessions", id, "expire"]) => self.expire_call(id),
            ("POST", ["v1", "refunds"]) => self.refund(&body, idempotency_key),
            ("GET", ["v1", "refunds", id]) => self.get_refund(id),
            ("GET", ["v1", "balance"]) => json_response(
                200,
                &json!({"object":"balance","livemode":false,"available":[{"amount":0,"currency":"usd"}],"pending":[]}),
            ),
            ("GET", ["c", "pay", id]) => self.page(id, None),
            ("POST", ["c", "pay", id]) => self.pay(id, &body),
            ("POST", ["c", "pay", id, "3ds"]) => self.three_ds(id, &body),
            _ => error(
                404,
                "invalid_request_error",
                None,
                &format!("Unrecognized request URL ({method} /{})", segs.join("/")),
            ),
        };
        let _ = req.respond(response);
    }

    fn create_session(&self, body: &str) -> Reply {
        let f: HashMap<String, String> = form(body).into_iter().collect();
        let get = |k: &str| f.get(k).cloned().unwrap_or_default();
        let bad = |param: &str, message: &str| {
            json_response(
                400,
                &json!({"error":{"type":"invalid_request_error","code":"parameter_invalid","param":param,"message":message}}),
            )
        };
        if get("mode") != "payment" {
            return bad("mode", "Missing required param: mode.");
        }
        let currency = get("line_items[0][price_data][currency]");
        let Ok(amount) = get("line_items[0][price_data][unit_amount]").parse::<i64>() else {
            return bad("line_items[0][price_data][unit_amount]", "Invalid integer");
        };
        let quantity = get("line_items[0][quantity]").parse::<i64>().unwrap_or(0);
        if currency.is_empty() || currency != currency.to_lowercase() || quantity < 1 {
            return bad("line_items[0]", "Invalid line item");
        }
        if ["kwd", "bhd", "omr", "jod"].contains(&currency.as_str()) && amount % 10 != 0 {
            return bad(
                "line_items[0][price_data][unit_amount]",
                "Amounts in three-decimal currencies must be divisible by 10.",
            );
        }
        // Checkout's locales (no `ar`: Stripe.js's table marks Arabic for Elements only).
        const LOCALES: &[&str] = &[
            "auto", "bg", "cs", "da", "de", "el", "en", "en-GB", "es", "es-419", "et", "fi", "fil", "fr", "fr-CA",
            "hr", "hu", "id", "it", "ja", "ko", "lt", "lv", "ms", "mt", "nb", "nl", "pl", "pt", "pt-BR", "ro", "ru",
            "sk", "sl", "sv", "th", "tr", "vi", "zh", "zh-HK", "zh-TW",
        ];
        if f.get("locale").is_some_and(|l| !LOCALES.contains(&l.as_str())) {
            return bad("locale", "Invalid locale");
        }
        if !get("success_url").starts_with("http") {
            return bad("success_url", "Not a valid URL");
        }
        let now = now_secs();
        let expires_at = match f.get("expires_at").map(|v| v.parse::<i64>()) {
            None => now + 86_400,
            Some(Ok(at)) if at >= now + 1800 && at <= now + 86_400 => at,
            Some(_) => return bad(
                "expires_at",
                "The `expires_at` timestamp must be between 30 minutes and 24 hours from Checkout Session creation.",
            ),
        };
        let id = self.next_id("cs");
        let meta = |prefix: &str| -> Value {
            let mut m = serde_json::Map::new();
            for (k, v) in &f {
                if let Some(name) = k.strip_prefix(prefix).and_then(|r| r.strip_suffix(']')) {
                    m.insert(name.to_string(), json!(v));
                }
            }
            Value::Object(m)
        };
        let session = json!({
            "id": id, "object": "checkout.session", "mode": "payment", "status": "open", "payment_status": "unpaid",
            "amount_total": amount * quantity, "currency": currency, "client_reference_id": f.get("client_reference_id"),
            "metadata": meta("metadata["), "success_url": get("success_url"), "cancel_url": get("cancel_url"),
            "url": format!("{}/c/pay/{id}", self.base), "expires_at": expires_at, "created": now, "livemode": false,
            "locale": f.get("locale"), "payment_intent": Value::Null,
            "payment_intent_data_metadata": meta("payment_intent_data[metadata]["),
        });
        self.state.lock().unwrap().sessions.insert(id.clone(), session.clone());
        json_response(200, &public(&session))
    }

    fn get_session(&self, id: &str, query: &str) -> Reply {
        let expands: Vec<String> = form(query).into_iter().filter(|(k, _)| k == "expand[]").map(|(_, v)| v).collect();
        let mut state = self.state.lock().unwrap();
        expire_if_due(&mut state, id);
        let Some(stored) = state.sessions.get(id).cloned() else { return missing("checkout.session", id) };
        let mut session = public(&stored);
        if let Some(&amount) = state.tampered.get(id) {
            session["amount_total"] = json!(amount);
        }
        let wants = |path: &str| expands.iter().any(|e| e == path || e.starts_with(&format!("{path}.")));
        if wants("payment_intent") {
            if let Some(pi) = stored["payment_intent"].as_str().and_then(|p| state.intents.get(p)).cloned() {
                let mut pi = pi;
                if let Some(&amount) = state.tampered.get(id) {
                    pi["amount"] = json!(amount);
                }
                if wants("payment_intent.latest_charge") {
                    if let Some(ch) = pi["latest_charge"].as_str().and_then(|c| state.charges.get(c)).cloned() {
                        pi["latest_charge"] = ch;
                    }
                }
                session["payment_intent"] = pi;
            }
        }
        json_response(200, &session)
    }

    fn expire_call(&self, id: &str) -> Reply {
        let session = {
            let mut state = self.state.lock().unwrap();
            expire_if_due(&mut state, id);
            let Some(s) = state.sessions.get(id).cloned() else { return missing("checkout.session", id) };
            if s["status"] != "open" {
                return error(
                    400,
                    "invalid_request_error",
                    None,
                    &format!(
                        "Only Checkout Sessions with a status in [\"open\"] can be expired. This Checkout Session has a status of {}.",
                        s["status"]
                    ),
                );
            }
            expire(&mut state, id);
            state.sessions[id].clone()
        };
        self.send_event("checkout.session.expired", session.clone());
        json_response(200, &public(&session))
    }

    fn page(&self, id: &str, message: Option<&str>) -> Reply {
        let Some(s) = self.session(id) else { return html_response(404, "<p>Not found</p>".into()) };
        if s["status"] != "open" {
            return html_response(200, format!("<p id=\"closed\">This Checkout Session is {}.</p>", s["status"]));
        }
        let error = message.map(|e| format!("<p id=\"error\" role=\"alert\">{e}</p>")).unwrap_or_default();
        html_response(
            200,
            format!(
                "<!doctype html><html><head><meta charset=utf-8><title>Stripe Checkout (fake)</title></head><body>\
<h1>Stripe Checkout</h1><p id=amount>{amount} {currency}</p>{error}<form method=post action=\"/c/pay/{id}\">\
<input id=email name=email value=\"shopper@example.com\"><input id=number name=number>\
<input id=expiry name=expiry value=\"12 / 34\"><input id=cvc name=cvc value=123>\
<button id=pay type=submit>Pay</button></form><a id=back href=\"{back}\">Back</a></body></html>",
                amount = s["amount_total"],
                currency = s["currency"].as_str().unwrap_or("").to_uppercase(),
                back = s["cancel_url"].as_str().unwrap_or(""),
            ),
        )
    }

    fn pay(&self, id: &str, body: &str) -> Reply {
        let number: String = form(body)
            .into_iter()
            .find(|(k, _)| k == "number")
            .map(|(_, v)| v)
            .unwrap_or_default()
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        match self.session(id) {
            Some(s) if s["status"] == "open" => {}
            Some(_) => return self.page(id, None),
            None => return html_response(404, "<p>Not found</p>".into()),
        }
        let (brand, outcome) = match number.as_str() {
            "4242424242424242" => ("visa", Outcome::Success),
            "5555555555554444" => ("mastercard", Outcome::Success),
            "378282246310005" => ("amex", Outcome::Success),
            "4000002500003155" => ("visa", Outcome::Challenge),
            _ => ("visa", Outcome::Decline),
        };
        let pi = self.intent_for(id);
        let last4 = number.get(number.len().saturating_sub(4)..).unwrap_or("").to_string();
        {
            let mut state = self.state.lock().unwrap();
            let p = state.intents.get_mut(&pi).expect("intent");
            p["pending_card"] = json!({"brand": brand, "last4": last4});
        }
        match outcome {
            Outcome::Success => self.succeed(id, &pi),
            Outcome::Challenge => {
                self.state.lock().unwrap().intents.get_mut(&pi).expect("intent")["status"] = json!("requires_action");
                html_response(
                    200,
                    format!(
                        "<!doctype html><title>3-D Secure</title><h1>3-D Secure 2 (fake test page)</h1>\
<form method=post action=\"/c/pay/{id}/3ds\"><button id=authenticate name=result value=ok>Complete authentication</button>\
<button id=fail name=result value=fail>Fail authentication</button></form>"
                    ),
                )
            }
            Outcome::Decline => self.decline(
                id,
                &pi,
                json!({"type":"card_error","code":"card_declined","decline_code":"generic_decline",
                    "message":"Your card was declined."}),
            ),
        }
    }

    fn three_ds(&self, id: &str, body: &str) -> Reply {
        let ok = form(body).iter().any(|(k, v)| k == "result" && v == "ok");
        let pi = match self.session(id) {
            Some(s) if s["status"] == "open" && s["payment_intent"].is_string() => {
                s["payment_intent"].as_str().unwrap_or("").to_string()
            }
            _ => return self.page(id, None),
        };
        if ok {
            self.succeed(id, &pi)
        } else {
            self.decline(
                id,
                &pi,
                json!({"type":"invalid_request_error","code":"payment_intent_authentication_failure",
                    "message":"We are unable to authenticate your payment method. Please choose a different payment method and try again."}),
            )
        }
    }

    /// The session's PaymentIntent, made at the first attempt.
    fn intent_for(&self, id: &str) -> String {
        if let Some(pi) = self.session(id).and_then(|s| s["payment_intent"].as_str().map(str::to_string)) {
            return pi;
        }
        let pi = self.next_id("pi");
        let mut state = self.state.lock().unwrap();
        let s = state.sessions.get_mut(id).expect("session");
        s["payment_intent"] = json!(pi);
        let intent = json!({
            "id": pi, "object": "payment_intent", "status": "requires_payment_method", "amount": s["amount_total"],
            "currency": s["currency"], "metadata": s["payment_intent_data_metadata"], "last_payment_error": Value::Null,
            "latest_charge": Value::Null, "capture_method": "automatic_async",
        });
        state.intents.insert(pi.clone(), intent);
        pi
    }

    fn succeed(&self, id: &str, pi: &str) -> Reply {
        let charge_id = self.next_id("ch");
        let (session, intent, success_url) = {
            let mut state = self.state.lock().unwrap();
            let intent = state.intents.get_mut(pi).expect("intent");
            let card = intent["pending_card"].clone();
            let charge = json!({
                "id": charge_id, "object": "charge", "amount": intent["amount"], "currency": intent["currency"],
                "amount_refunded": 0, "refunded": false, "paid": true, "status": "succeeded", "payment_intent": pi,
                "metadata": intent["metadata"],
                "payment_method_details": {"type": "card", "card": {"brand": card["brand"], "last4": card["last4"],
                    "exp_month": 12, "exp_year": 2034, "wallet": Value::Null}},
            });
            intent["status"] = json!("succeeded");
            intent["last_payment_error"] = Value::Null;
            intent["latest_charge"] = json!(charge_id);
            let intent = intent.clone();
            state.charges.insert(charge_id, charge);
            let s = state.sessions.get_mut(id).expect("session");
            s["status"] = json!("complete");
            s["payment_status"] = json!("paid");
            s["url"] = Value::Null;
            (s.clone(), intent, s["success_url"].as_str().unwrap_or("").to_string())
        };
        if !self.state.lock().unwrap().silent.contains(id) {
            self.send_event("payment_intent.succeeded", public(&intent));
            self.send_event("checkout.session.completed", session);
        }
        redirect(&success_url)
    }

    fn decline(&self, id: &str, pi: &str, last_error: Value) -> Reply {
        let intent = {
            let mut state = self.state.lock().unwrap();
            let intent = state.intents.get_mut(pi).expect("intent");
            intent["status"] = json!("requires_payment_method");
            intent["last_payment_error"] = last_error.clone();
            intent.clone()
        };
        self.send_event("payment_intent.payment_failed", public(&intent));
        self.page(id, last_error["message"].as_str())
    }

    fn refund(&self, body: &str, key: Option<String>) -> Reply {
        if let Some(k) = &key {
            let state = self.state.lock().unwrap();
            if let Some((first_body, status, answer)) = state.idempotent.get(k) {
                if first_body != body {
                    return error(
                        400,
                        "idempotency_error",
                        None,
                        "Keys for idempotent requests can only be used with the same parameters they were first used with.",
                    );
                }
                return json_response(*status, answer);
            }
        }
        let (status, answer) = self.make_refund(body);
        if let Some(k) = key {
            self.state.lock().unwrap().idempotent.insert(k, (body.to_string(), status, answer.clone()));
        }
        json_response(status, &answer)
    }

    fn make_refund(&self, body: &str) -> (u16, Value) {
        let f: HashMap<String, String> = form(body).into_iter().collect();
        let pi = f.get("payment_intent").cloned().unwrap_or_default();
        let invalid = |code: &str, message: String| {
            (400, json!({"error":{"type":"invalid_request_error","code":code,"message":message}}))
        };
        let (refund, charge_after) = {
            let state = self.state.lock().unwrap();
            let pending = state.refunds_pending;
            let Some(intent) = state.intents.get(&pi).cloned() else {
                return (
                    404,
                    json!({"error":{"type":"invalid_request_error","code":"resource_missing","message":format!("No such payment_intent: '{pi}'")}}),
                );
            };
            let Some(charge_id) = intent["latest_charge"].as_str().filter(|_| intent["status"] == "succeeded") else {
                return invalid(
                    "charge_not_refundable",
                    format!("This PaymentIntent ({pi}) does not have a successful charge to refund."),
                );
            };
            let charge_id = charge_id.to_string();
            let charge = state.charges.get(&charge_id).cloned().expect("charge");
            let total = charge["amount"].as_i64().unwrap_or(0);
            let done = charge["amount_refunded"].as_i64().unwrap_or(0);
            let amount = match f.get("amount").map(|a| a.parse::<i64>()) {
                None => total - done,
                Some(Ok(a)) if a > 0 => a,
                Some(_) => return invalid("parameter_invalid_integer", "Invalid positive integer".into()),
            };
            if done >= total {
                return invalid("charge_already_refunded", format!("Charge {charge_id} has already been refunded."));
            }
            if done + amount > total {
                return invalid(
                    "amount_too_large",
                    format!("Refund amount ({amount}) is greater than unrefunded amount on charge ({})", total - done),
                );
            }
            let currency = charge["currency"].as_str().unwrap_or("").to_string();
            if ["kwd", "bhd", "omr", "jod"].contains(&currency.as_str()) && amount % 10 != 0 {
                return invalid(
                    "parameter_invalid_integer",
                    "Amounts in three-decimal currencies must be divisible by 10.".into(),
                );
            }
            drop(state);
            let id = self.next_id("re");
            let mut state = self.state.lock().unwrap();
            let mut metadata = serde_json::Map::new();
            for (k, v) in &f {
                if let Some(name) = k.strip_prefix("metadata[").and_then(|r| r.strip_suffix(']')) {
                    metadata.insert(name.to_string(), json!(v));
                }
            }
            let refund = json!({
                "id": id, "object": "refund", "amount": amount, "currency": currency, "charge": charge_id,
                "payment_intent": pi, "status": if pending { "pending" } else { "succeeded" }, "metadata": metadata,
                "failure_reason": Value::Null,
            });
            state.refunds.insert(id, refund.clone());
            let c = state.charges.get_mut(&charge_id).expect("charge");
            c["amount_refunded"] = json!(done + amount);
            c["refunded"] = json!(done + amount == total);
            (refund, c.clone())
        };
        self.send_event("charge.refunded", charge_after);
        (200, refund)
    }

    fn get_refund(&self, id: &str) -> Reply {
        match self.state.lock().unwrap().refunds.get(id) {
            Some(r) => json_response(200, r),
            None => missing("refund", id),
        }
    }

    fn send_event(&self, event_type: &str, object: Value) {
        let (url, secret) = {
            let s = self.state.lock().unwrap();
            (s.webhook_url.clone(), s.webhook_secret.clone())
        };
        let Some(url) = url else { return };
        let body = event_body(event_type, public(&object));
        let header = webhook::sign(&secret, now_secs(), body.as_bytes());
        post_later(
            url,
            vec![("Content-Type".into(), "application/json; charset=utf-8".into()), (webhook::HEADER.into(), header)],
            body,
            self.sent.clone(),
        );
    }
}

enum Outcome {
    Success,
    Challenge,
    Decline,
}

/// An event as Stripe delivers it.
fn event_body(event_type: &str, object: Value) -> String {
    json!({
        "id": format!("evt_{}", super::new_id().replace('-', "")), "object": "event", "api_version": "2025-03-31.basil",
        "created": now_secs(), "livemode": false, "pending_webhooks": 1, "type": event_type,
        "request": {"id": Value::Null, "idempotency_key": Value::Null}, "data": {"object": object},
    })
    .to_string()
}

/// The object without the fake's own bookkeeping fields.
fn public(object: &Value) -> Value {
    let mut o = object.clone();
    if let Some(map) = o.as_object_mut() {
        map.remove("payment_intent_data_metadata");
        map.remove("pending_card");
    }
    o
}

fn expire(state: &mut State, id: &str) {
    let Some(s) = state.sessions.get_mut(id) else { return };
    s["status"] = json!("expired");
    s["url"] = Value::Null;
    let pi = s["payment_intent"].as_str().map(str::to_string);
    if let Some(p) = pi.and_then(|p| state.intents.get_mut(&p)) {
        if p["status"] != "succeeded" {
            p["status"] = json!("canceled");
        }
    }
}

/// An open session whose `expires_at` has passed is `expired`.
fn expire_if_due(state: &mut State, id: &str) {
    let due = state
        .sessions
        .get(id)
        .is_some_and(|s| s["status"] == "open" && s["expires_at"].as_i64().is_some_and(|at| now_secs() >= at));
    if due {
        expire(state, id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fakes::send;
    use bawaba_core::gateway::connector::{Connector, Start, StartInput};
    use bawaba_core::gateway::{stripe, CancelOutcome, OperationStatus};
    use bawaba_core::method::PaymentMethod;
    use bawaba_core::money::{Currency, Money};
    use bawaba_core::payment::PaymentState;
    use bawaba_core::secret::Secret;

    #[test]
    fn the_real_connector_against_the_fake() {
        let fake = FakeStripe::start("sk_test_s", "whsec_s");
        let connector: Connector = Box::new(stripe::Config {
            api_base: fake.api_base(),
            secret_key: Secret::new("sk_test_s"),
            webhook_secret: Secret::new("whsec_s"),
        });
        let sar = Money::new(4550, Currency::parse("SAR").unwrap());
        let input = StartInput {
            reference: "demo:S1",
            money: sar,
            method: PaymentMethod::Visa,
            return_url: "http://edge/r",
            webhook_url: "http://edge/w",
            locale: "en",
            customer_name: None,
            description: "Order S1",
            customer_email: None,
            session_key: "1",
            expires_at: None,
            now: None,
            wallet: None,
        };
        let Ok(Start::Call(req)) = connector.build_start(&input) else { panic!("a call") };
        let created = connector.parse_start(&send(&req)).unwrap();
        let fetch = |id: &str| connector.parse_fetch(&send(&connector.build_fetch(id)), &sar).unwrap();
        assert_eq!(fetch(&created.id).state, PaymentState::Created);
        let paid = crate::http::post_form(&created.redirect_url, &[("number", "4242424242424242")]);
        assert_eq!(paid.status, 303);
        let p = fetch(&created.id);
        assert_eq!((p.state, p.card_last4.as_deref(), p.refunded), (PaymentState::Paid, Some("4242"), Some(0)));
        assert_eq!(p.reference, "demo:S1");
        let pi = p.transaction_id.unwrap();
        let refund = connector.build_refund(&created.id, &pi, &Money::new(1000, sar.currency), "r-1");
        let first = connector.parse_refund(&send(&refund), Money::new(1000, sar.currency)).unwrap();
        let again = connector.parse_refund(&send(&refund), Money::new(1000, sar.currency)).unwrap();
        assert_eq!((first.status.clone(), first.id.clone()), (OperationStatus::Succeeded, again.id), "idempotent");
        assert_eq!(fake.refunds_of(&pi).len(), 1);
        assert_eq!(fetch(&created.id).refunded, Some(1000));
        assert_eq!(
            connector.parse_cancel(&send(&connector.build_cancel(&created.id).unwrap())),
            CancelOutcome::AlreadyFinal
        );

        let Ok(Start::Call(req)) = connector.build_start(&input) else { panic!() };
        let open = connector.parse_start(&send(&req)).unwrap();
        let declined = crate::http::post_form(&open.redirect_url, &[("number", "4000000000000002")]);
        assert!(declined.body.contains("Your card was declined."), "{}", declined.body);
        let p = fetch(&open.id);
        assert_eq!((p.state, p.error.unwrap().code.as_str()), (PaymentState::Failed, "declined"));
        assert_eq!(connector.parse_cancel(&send(&connector.build_cancel(&open.id).unwrap())), CancelOutcome::Closed);
        assert_eq!(fetch(&open.id).state, PaymentState::Canceled);
        let closed = crate::http::post_form(&open.redirect_url, &[("number", "4242424242424242")]);
        assert!(closed.body.contains("id=\"closed\""), "an expired page takes no payment");
    }
}
