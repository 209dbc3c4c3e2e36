//! A fake Moyasar: `/v1/invoices` (create, fetch), `/v1/payments` (list, refund, void), Basic auth
//! with the secret key, Moyasar's error bodies, a hosted invoice page with a 3-D Secure step for
//! mada, and webhooks with the shared `secret_token` in the body.
//!
//! Test cards: `4111111111111111` Visa and `5421080101000000` Mastercard pay at once;
//! `4201320111111010` mada asks for 3-D Secure first; `4123120001090000` fails with
//! insufficient funds; anything else fails.

use super::{form, header, html_response, json_response, new_id, post_later, redirect, serve, unhealthy, Switches};
use base64::Engine;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct State {
    invoices: HashMap<String, Value>,
    payments: HashMap<String, Value>,
    secret_key: String,
    webhook_url: Option<String>,
    webhook_token: String,
    tampered: HashMap<String, i64>,
}

/// The fake.
#[derive(Clone)]
pub struct FakeMoyasar {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    state: Arc<Mutex<State>>,
    switches: Switches,
    sent: Arc<Mutex<u32>>,
}

impl FakeMoyasar {
    /// Starts it, accepting `secret_key` and signing webhooks with `webhook_token`.
    pub fn start(secret_key: &str, webhook_token: &str) -> FakeMoyasar {
        let state = Arc::new(Mutex::new(State {
            secret_key: secret_key.into(),
            webhook_token: webhook_token.into(),
            ..State::default()
        }));
        let switches = Switches::default();
        let sent = Arc::new(Mutex::new(0));
        let base = Arc::new(Mutex::new(String::new()));
        let inner =
            FakeMoyasar { base: String::new(), state: state.clone(), switches: switches.clone(), sent: sent.clone() };
        let b = base.clone();
        let port = serve(move |req, body, segs| {
            let mut me = inner.clone();
            me.base = b.lock().unwrap().clone();
            me.handle(req, body, segs)
        });
        *base.lock().unwrap() = format!("http://127.0.0.1:{port}");
        FakeMoyasar { base: format!("http://127.0.0.1:{port}"), state, switches, sent }
    }

    /// The API base to configure (`MOYASAR_API_BASE`).
    pub fn api_base(&self) -> String {
        format!("{}/v1", self.base)
    }

    /// Registers the webhook URL, as the merchant does in the dashboard.
    pub fn set_webhook_url(&self, url: &str) {
        self.state.lock().unwrap().webhook_url = Some(url.into());
    }

    /// Makes the API fail or hang.
    pub fn set_health(&self, health: super::Health) {
        *self.switches.health.lock().unwrap() = health;
    }

    /// Changes the accepted secret key (the merchant rotated it: the edge's key is now wrong).
    pub fn set_secret_key(&self, key: &str) {
        self.state.lock().unwrap().secret_key = key.into();
    }

    /// Makes fetches of one invoice report another amount (a tampered or misrouted result).
    pub fn tamper_amount(&self, invoice_id: &str, amount: i64) {
        self.state.lock().unwrap().tampered.insert(invoice_id.into(), amount);
    }

    /// Webhooks sent so far.
    pub fn webhooks_sent(&self) -> u32 {
        *self.sent.lock().unwrap()
    }

    /// A payment as stored (for assertions on refunds).
    pub fn payment(&self, id: &str) -> Option<Value> {
        self.state.lock().unwrap().payments.get(id).cloned()
    }

    /// The invoice as stored.
    pub fn invoice(&self, id: &str) -> Option<Value> {
        self.state.lock().unwrap().invoices.get(id).cloned()
    }

    fn handle(&self, req: tiny_http::Request, body: String, segments: Vec<String>) {
        let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
        let method = req.method().as_str().to_string();
        let req = if segs.first() == Some(&"v1") {
            let Some(req) =
                unhealthy(&self.switches, req, &json!({"type":"api_error","message":"Internal server error"}))
            else {
                return;
            };
            if !self.authorized(&req) {
                let _ = req.respond(json_response(
                    401,
                    &json!({"type":"authentication_error","message":"Invalid authorization credentials","errors":null}),
                ));
                return;
            }
            req
        } else {
            req
        };
        let response = match (method.as_str(), segs.as_slice()) {
            ("POST", ["v1", "invoices"]) => self.create_invoice(&body),
            ("GET", ["v1", "invoices", id]) => self.get_invoice(id),
            ("GET", ["v1", "payments"]) => json_response(200, &json!({"payments": [], "meta": {"current_page": 1}})),
            ("POST", ["v1", "payments", id, "refund"]) => self.refund(id, &body),
            ("POST", ["v1", "payments", id, "void"]) => self.void(id),
            ("GET", ["invoices", id]) => self.page(id, None),
            ("POST", ["invoices", id, "pay"]) => self.pay(id, &body),
            ("POST", ["invoices", id, "3ds", payment]) => self.three_ds(id, payment, &body),
            _ => json_response(404, &json!({"type":"record_not_found","message":"Not found"})),
        };
        let _ = req.respond(response);
    }

    fn authorized(&self, req: &tiny_http::Request) -> bool {
        let expected =
            base64::engine::general_purpose::STANDARD.encode(format!("{}:", self.state.lock().unwrap().secret_key));
        header(req, "Authorization").is_some_and(|h| h == format!("Basic {expected}"))
    }

    fn create_invoice(&self, body: &str) -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
        let Ok(input) = serde_json::from_str::<Value>(body) else {
            return json_response(400, &json!({"type":"invalid_request_error","message":"Invalid JSON","errors":null}));
        };
        let amount = input["amount"].as_i64().unwrap_or(0);
        if amount < 100 {
            return json_response(
                400,
                &json!({"type":"invalid_request_error","message":"Validation Failed","errors":{"amount":["must be greater than or equal to 100"]}}),
            );
        }
        if input["description"].as_str().unwrap_or("").is_empty() {
            return json_response(
                400,
                &json!({"type":"invalid_request_error","message":"Validation Failed","errors":{"description":["can't be blank"]}}),
            );
        }
        let id = new_id();
        let invoice = json!({
            "id": id, "status": "initiated", "amount": amount, "currency": input["currency"].as_str().unwrap_or("SAR"),
            "description": input["description"], "amount_format": format!("{}.{:02} SAR", amount / 100, amount % 100),
            "url": format!("{}/invoices/{id}", self.base), "success_url": input["success_url"], "back_url": input["back_url"],
            "metadata": input["metadata"], "payments": [],
        });
        self.state.lock().unwrap().invoices.insert(id, invoice.clone());
        json_response(201, &invoice)
    }

    fn invoice_with_payments(&self, id: &str) -> Option<Value> {
        let state = self.state.lock().unwrap();
        let mut invoice = state.invoices.get(id)?.clone();
        let payments: Vec<Value> = state.payments.values().filter(|p| p["invoice_id"] == id).cloned().collect();
        invoice["payments"] = Value::from(payments);
        if let Some(t) = state.tampered.get(id) {
            invoice["amount"] = json!(t);
        }
        Some(invoice)
    }

    fn get_invoice(&self, id: &str) -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
        match self.invoice_with_payments(id) {
            Some(inv) => json_response(200, &inv),
            None => json_response(404, &json!({"type":"record_not_found","message":"Object not found"})),
        }
    }

    fn page(&self, id: &str, error: Option<&str>) -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
        let Some(inv) = self.invoice_with_payments(id) else {
            return html_response(404, "<p>Invoice not found</p>".into());
        };
        if inv["status"] != "initiated" {
            return html_response(200, format!("<p id=\"closed\">This invoice is {}.</p>", inv["status"]));
        }
        let error = error.map(|e| format!("<p id=\"error\" role=\"alert\">{e}</p>")).unwrap_or_default();
        html_response(
            200,
            format!(
                "<!doctype html><html><head><meta charset=utf-8><title>Moyasar (fake)</title></head><body>\
<h1>Moyasar</h1><p id=amount>{amount}</p>{error}<form method=post action=\"/invoices/{id}/pay\">\
<input id=name name=name value=\"Test Shopper\"><input id=number name=number>\
<input id=month name=month value=12><input id=year name=year value=30><input id=cvc name=cvc value=123>\
<button id=pay type=submit>Pay</button></form></body></html>",
                amount = inv["amount_format"].as_str().unwrap_or(""),
            ),
        )
    }

    fn pay(&self, id: &str, body: &str) -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
        let fields: HashMap<String, String> = form(body).into_iter().collect();
        let number: String =
            fields.get("number").cloned().unwrap_or_default().chars().filter(char::is_ascii_digit).collect();
        let Some(inv) = self.invoice_with_payments(id) else { return html_response(404, "<p>Not found</p>".into()) };
        if inv["status"] != "initiated" {
            return self.page(id, None);
        }
        let (company, outcome) = match number.as_str() {
            "4111111111111111" => ("visa", Ok(false)),
            "5421080101000000" => ("master", Ok(false)),
            "4201320111111010" => ("mada", Ok(true)),
            "4123120001090000" => ("visa", Err("INSUFFICIENT_FUNDS")),
            _ => ("visa", Err("UNSPECIFIED FAILURE")),
        };
        let payment_id = new_id();
        let masked = format!(
            "{}XX-XXXX-{}",
            &number.get(..4).unwrap_or("0000"),
            &number.get(number.len().saturating_sub(4)..).unwrap_or("")
        );
        let payment = json!({
            "id": payment_id, "status": "initiated", "amount": inv["amount"], "currency": inv["currency"], "refunded": 0,
            "invoice_id": id, "source": {"type": "creditcard", "company": company, "number": masked, "message": Value::Null},
        });
        self.state.lock().unwrap().payments.insert(payment_id.clone(), payment);
        match outcome {
            Ok(true) => html_response(
                200,
                format!(
                    "<!doctype html><title>3-D Secure</title><h1>3-D Secure (fake ACS)</h1>\
<form method=post action=\"/invoices/{id}/3ds/{payment_id}\"><button id=authenticate name=result value=ok>Authenticate</button>\
<button id=fail name=result value=fail>Fail</button></form>"
                ),
            ),
            Ok(false) => self.finish(id, &payment_id, Ok(())),
            Err(message) => self.finish(id, &payment_id, Err(message)),
        }
    }

    fn three_ds(&self, id: &str, payment_id: &str, body: &str) -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
        let ok = form(body).iter().any(|(k, v)| k == "result" && v == "ok");
        self.finish(id, payment_id, if ok { Ok(()) } else { Err("3-D Secure transaction attempt failed") })
    }

    fn finish(
        &self,
        id: &str,
        payment_id: &str,
        outcome: Result<(), &str>,
    ) -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
        let (success_url, payment) = {
            let mut state = self.state.lock().unwrap();
            let status = if outcome.is_ok() { "paid" } else { "failed" };
            let payment = state.payments.get_mut(payment_id).expect("payment");
            payment["status"] = json!(status);
            payment["source"]["message"] = json!(outcome.err().unwrap_or("APPROVED"));
            let payment = payment.clone();
            let invoice = state.invoices.get_mut(id).expect("invoice");
            invoice["status"] = json!(status);
            (invoice["success_url"].as_str().unwrap_or("").to_string(), payment)
        };
        self.send_webhook(if outcome.is_ok() { "payment_paid" } else { "payment_failed" }, payment.clone());
        let sep = if success_url.contains('?') { '&' } else { '?' };
        redirect(&format!(
            "{success_url}{sep}id={payment_id}&status={}&message=",
            payment["status"].as_str().unwrap_or("")
        ))
    }

    fn send_webhook(&self, event_type: &str, payment: Value) {
        let (url, token) = {
            let s = self.state.lock().unwrap();
            (s.webhook_url.clone(), s.webhook_token.clone())
        };
        let Some(url) = url else { return };
        let body = json!({
            "id": new_id(), "type": event_type, "created_at": "2026-11-27T12:00:00Z", "secret_token": token,
            "account_name": "Bawaba test", "live": false, "data": payment,
        });
        post_later(url, vec![("Content-Type".into(), "application/json".into())], body.to_string(), self.sent.clone());
    }

    fn refund(&self, id: &str, body: &str) -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
        let requested = serde_json::from_str::<Value>(body).ok().and_then(|b| b["amount"].as_i64());
        let mut state = self.state.lock().unwrap();
        let Some(payment) = state.payments.get_mut(id) else {
            return json_response(404, &json!({"type":"record_not_found","message":"Object not found"}));
        };
        if payment["status"] != "paid" {
            return json_response(
                400,
                &json!({"type":"invalid_request_error","message":"Payment is not paid","errors":null}),
            );
        }
        let amount = payment["amount"].as_i64().unwrap_or(0);
        let refunded = payment["refunded"].as_i64().unwrap_or(0);
        let asked = requested.unwrap_or(amount - refunded);
        if asked <= 0 || refunded + asked > amount {
            return json_response(
                400,
                &json!({"type":"invalid_request_error","message":"Refund amount is greater than the refundable amount","errors":null}),
            );
        }
        payment["refunded"] = json!(refunded + asked);
        if refunded + asked == amount {
            payment["status"] = json!("refunded");
        }
        let out = payment.clone();
        let invoice_id = out["invoice_id"].as_str().unwrap_or("").to_string();
        if out["status"] == "refunded" {
            if let Some(inv) = state.invoices.get_mut(&invoice_id) {
                inv["status"] = json!("refunded");
            }
        }
        json_response(200, &out)
    }

    fn void(&self, id: &str) -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
        let mut state = self.state.lock().unwrap();
        let Some(payment) = state.payments.get_mut(id) else {
            return json_response(404, &json!({"type":"record_not_found","message":"Object not found"}));
        };
        if payment["status"] != "paid" || payment["refunded"].as_i64().unwrap_or(0) > 0 {
            return json_response(
                400,
                &json!({"type":"invalid_request_error","message":"Payment cannot be voided","errors":null}),
            );
        }
        payment["status"] = json!("voided");
        let out = payment.clone();
        if let Some(inv) = state.invoices.get_mut(out["invoice_id"].as_str().unwrap_or("")) {
            inv["status"] = json!("voided");
        }
        json_response(200, &out)
    }
}
