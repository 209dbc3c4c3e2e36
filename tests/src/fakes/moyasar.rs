//! A fake Moyasar: `/v1/invoices` (create, fetch), `/v1/payments` (list, refund, void), Basic auth
//! with the secret key, Moyasar's error bodies, a hosted invoice page with a 3-D Secure step for
//! mada, and webhooks with the shared `secret_token` in the body.
//!
//! Invoices take `expired_at` (an ISO 8601 date or datetime, docs.moyasar.com/api/invoices/
//! 01-create-invoice): once it has passed, an unpaid invoice is `expired` and its page takes no
//! payment. There is no invoice cancel here: it is in Moyasar's SDKs, not its reference docs, and
//! Bawaba does not use it. [`FakeMoyasar::pay_invoice`] pays an invoice directly, as a shopper
//! would in a tab left open.
//!
//! Payments made in the page (`POST /v1/payments` with a `source`, `GET /v1/payments/{id}`)
//! follow Moyasar's sandbox tables (docs.moyasar.com/guides/stc-pay/testing,
//! guides/apple-pay/test-cards; gateways.md §1.8). STC Pay: mobiles `0515555555`…`559` fail at
//! initiation with their messages, others are `initiated` with a `transaction_url` that takes
//! `otp_value`: `123456`/`000000` paid, `111111` insufficient balance, `222222` daily limit,
//! `333333` transaction limit, `444444` timeout, anything else "Invalid OTP". Apple Pay: the
//! amount decides (20000–30000 paid; 100000–110000 fails 99, 110100–120000 51, 120100–130000 41,
//! …; anything else fails). `POST /v1/applepay/initiate` answers a merchant session for a
//! registered domain and the right publishable key ([`FakeMoyasar::register_applepay_domain`]).
//!
//! Test cards: `4111111111111111` Visa and `5421080101000000` Mastercard pay at once;
//! `4201320111111010` mada asks for 3-D Secure first; `4123120001090000` fails with
//! insufficient funds; anything else fails.

use super::{
    form, header, html_response, json_response, new_id, now_secs, post_later, redirect, serve, unhealthy, Switches,
};
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
    /// How many times the API was asked about each invoice (`GET /v1/invoices/{id}`).
    invoice_reads: HashMap<String, u32>,
    /// STC Pay payments waiting for their code: payment id → the `otp_id` of its url.
    otp_ids: HashMap<String, String>,
    /// Codes received, per payment.
    otps_received: HashMap<String, u32>,
    /// The publishable key Apple Pay's merchant validation must carry.
    publishable_key: String,
    /// Domains registered for Apple Pay in the dashboard.
    applepay_domains: Vec<String>,
    /// The merchant validation requests received.
    applepay_requests: Vec<Value>,
    /// Payments are made, then answered with a 500 (the answer lost on the way).
    lose_payment_answers: bool,
}

/// A payment attempt just created: its id and what the card does (`Ok(true)`: 3-D Secure first;
/// `Err`: declined with this message).
type Attempt = (String, Result<bool, &'static str>);

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

    /// How many times the edge asked the API about `invoice_id`.
    pub fn invoice_reads(&self, invoice_id: &str) -> u32 {
        self.state.lock().unwrap().invoice_reads.get(invoice_id).copied().unwrap_or(0)
    }

    /// The API base to configure (`MOYASAR_API_BASE`).
    pub fn api_base(&self) -> String {
        format!("{}/v1", self.base)
    }

    /// Registers the webhook URL, as the merchant does in the dashboard.
    pub fn set_webhook_url(&self, url: &str) {
        self.state.lock().unwrap().webhook_url = Some(url.into());
    }

    /// Registers `domain` for Apple Pay on the web with `publishable_key`, as the merchant does in
    /// Moyasar's dashboard ("web registration").
    pub fn register_applepay_domain(&self, domain: &str, publishable_key: &str) {
        let mut state = self.state.lock().unwrap();
        state.applepay_domains.push(domain.into());
        state.publishable_key = publishable_key.into();
    }

    /// The Apple Pay merchant validation requests received, as sent.
    pub fn applepay_requests(&self) -> Vec<Value> {
        self.state.lock().unwrap().applepay_requests.clone()
    }

    /// How many one-time codes reached the payment `id`.
    pub fn otps_received(&self, id: &str) -> u32 {
        self.state.lock().unwrap().otps_received.get(id).copied().unwrap_or(0)
    }

    /// Payments made in the page (no invoice), newest last by creation.
    pub fn direct_payments(&self) -> Vec<Value> {
        let state = self.state.lock().unwrap();
        let mut out: Vec<Value> = state.payments.values().filter(|p| p["invoice_id"].is_null()).cloned().collect();
        out.sort_by_key(|p| p["created_seq"].as_u64());
        out
    }

    /// Payments made in the page are created, then answered with a 500.
    pub fn lose_payment_answers(&self, on: bool) {
        self.state.lock().unwrap().lose_payment_answers = on;
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
        let mut state = self.state.lock().unwrap();
        expire_if_due(&mut state, id);
        state.invoices.get(id).cloned()
    }

    /// Makes an invoice's `expired_at` now (as if its time had run out): from then on it is
    /// `expired` unless it was already paid or finished. Returns `false` for an unknown invoice.
    pub fn expire_invoice(&self, id: &str) -> bool {
        let mut state = self.state.lock().unwrap();
        let Some(invoice) = state.invoices.get_mut(id) else { return false };
        invoice["expired_at"] = json!(bawaba_core::gateway::moyasar::iso8601_utc(now_secs()));
        expire_if_due(&mut state, id);
        true
    }

    /// Pays an invoice directly with a test card, as a shopper would on a page left open in an
    /// old tab (3-D Secure counts as passed). The invoice becomes `paid` (or `failed` for a
    /// declining card) with the payment inside, and the webhook goes out as for the hosted page.
    /// Returns the payment; `Err` when the invoice does not exist or takes no payment (paid,
    /// failed, expired, …), which is what Moyasar's page does then.
    pub fn pay_invoice(&self, invoice_id: &str, card: &str) -> Result<Value, String> {
        let number: String = card.chars().filter(char::is_ascii_digit).collect();
        let (payment_id, outcome) = self.attempt(invoice_id, &number)?;
        let (_, payment) = self.settle(invoice_id, &payment_id, outcome.map(|_| ()));
        Ok(payment)
    }

    fn handle(&self, req: tiny_http::Request, body: String, segments: Vec<String>) {
        let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
        let method = req.method().as_str().to_string();
        let query = req.url().split_once('?').map(|(_, q)| q.to_string()).unwrap_or_default();
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
            ("GET", ["v1", "invoices", id]) => {
                *self.state.lock().unwrap().invoice_reads.entry(id.to_string()).or_default() += 1;
                self.get_invoice(id)
            }
            ("GET", ["v1", "payments"]) => json_response(200, &json!({"payments": [], "meta": {"current_page": 1}})),
            ("POST", ["v1", "payments"]) => {
                let made = self.create_payment(&body);
                if self.state.lock().unwrap().lose_payment_answers {
                    json_response(500, &json!({"type":"api_error","message":"Internal server error"}))
                } else {
                    made
                }
            }
            ("GET", ["v1", "payments", id]) => match self.payment(id) {
                Some(p) => json_response(200, &p),
                None => json_response(404, &json!({"type":"record_not_found","message":"Object not found"})),
            },
            ("POST" | "GET", ["v1", "stc_pays", id, "proceed"]) => self.proceed(id, &query, &body),
            ("POST", ["v1", "applepay", "initiate"]) => self.applepay_initiate(&body),
            ("POST", ["v1", "payments", id, "refund"]) => self.refund(id, &body),
            ("POST", ["v1", "payments", id, "void"]) => self.void(id),
            ("GET", ["invoices", id]) => self.page(id, None),
            ("POST", ["invoices", id, "pay"]) => self.pay(id, &body),
            ("POST", ["invoices", id, "3ds", payment]) => self.three_ds(id, payment, &body),
            _ => json_response(404, &json!({"type":"record_not_found","message":"Not found"})),
        };
        let _ = req.respond(response);
    }

    fn create_payment(&self, body: &str) -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
        let invalid = |field: &str, why: &str| {
            json_response(
                400,
                &json!({"type":"invalid_request_error","message":"Validation Failed","errors":{field:[why]}}),
            )
        };
        let Ok(input) = serde_json::from_str::<Value>(body) else {
            return invalid("body", "is not JSON");
        };
        let amount = input["amount"].as_i64().unwrap_or(0);
        if amount < 100 {
            return invalid("amount", "must be greater than or equal to 100");
        }
        // `given_id`: the id the caller chose; the same one again is the same payment, not a
        // second charge (docs.moyasar.com/api/idempotency).
        let given = input["given_id"].as_str().map(str::to_string);
        let mut state = self.state.lock().unwrap();
        if let Some(existing) = given.as_ref().and_then(|id| state.payments.get(id)) {
            return json_response(201, existing);
        }
        let id = given.unwrap_or_else(new_id);
        let seq = state.payments.len();
        let mut payment = json!({
            "id": id, "status": "initiated", "amount": amount, "fee": 0,
            "currency": input["currency"].as_str().unwrap_or("SAR"), "refunded": 0, "invoice_id": null,
            "description": input["description"], "callback_url": input["callback_url"],
            "metadata": input["metadata"], "created_seq": seq,
        });
        let outcome: Option<Result<(), &str>> = match input["source"]["type"].as_str() {
            Some("stcpay") => {
                let mobile = input["source"]["mobile"].as_str().unwrap_or("");
                let valid = mobile.len() == 10
                    && mobile.starts_with("05")
                    && mobile.as_bytes()[2] != b'2'
                    && mobile.bytes().all(|b| b.is_ascii_digit());
                if !valid {
                    return invalid("source.mobile", "is invalid");
                }
                let refusal = match mobile {
                    "0515555555" => Some("Mobile number is not registered to use the STC Pay service."),
                    "0515555556" => {
                        Some("Please update your information using the STC Pay app before attempting payment.")
                    }
                    "0515555557" => Some("The customer account status is invalid, please contact STC Pay support."),
                    "0515555558" => {
                        Some("You have exhausted your OTP attempts, please wait 15 minutes then try again.")
                    }
                    "0515555559" => Some("Please wait 60 seconds before attempting a new payment."),
                    _ => None,
                };
                let otp_id = new_id();
                payment["source"] = json!({"type": "stcpay", "mobile": mobile, "message": refusal,
                    "transaction_url": format!("{}/v1/stc_pays/{id}/proceed?otp_id={otp_id}", self.base)});
                match refusal {
                    Some(why) => Some(Err(why)),
                    None => {
                        state.otp_ids.insert(id.clone(), otp_id);
                        None
                    }
                }
            }
            Some("applepay") => {
                let token_ok = input["source"]["token"]
                    .as_str()
                    .and_then(|t| serde_json::from_str::<Value>(t).ok())
                    .is_some_and(|t| t.get("paymentData").is_some());
                if !token_ok {
                    return invalid("source.token", "is invalid");
                }
                let (code, message) = match amount {
                    20_000..=30_000 => ("00", "APPROVED"),
                    100_000..=110_000 => ("99", "UNSPECIFIED FAILURE"),
                    110_100..=120_000 => ("51", "INSUFFICIENT FUNDS"),
                    120_100..=130_000 => ("41", "DECLINED: LOST CARD"),
                    130_100..=140_000 => ("05", "DECLINED"),
                    140_100..=150_000 => ("54", "DECLINED: EXPIRED CARD"),
                    _ => ("99", "UNSPECIFIED FAILURE"),
                };
                payment["source"] = json!({"type": "applepay", "company": "mada", "name": null,
                    "number": "4201-32XX-XXXX-1010", "message": message, "response_code": code});
                Some(if code == "00" { Ok(()) } else { Err(message) })
            }
            _ => return invalid("source.type", "is not supported"),
        };
        if let Some(outcome) = outcome {
            payment["status"] = json!(if outcome.is_ok() { "paid" } else { "failed" });
        }
        state.payments.insert(id.clone(), payment.clone());
        drop(state);
        if let Some(outcome) = outcome {
            self.send_webhook(if outcome.is_ok() { "payment_paid" } else { "payment_failed" }, payment.clone());
        }
        json_response(201, &payment)
    }

    /// The one-time code for an initiated STC Pay payment, at its `transaction_url`.
    fn proceed(&self, id: &str, query: &str, body: &str) -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
        let otp_id = query.split('&').find_map(|kv| kv.strip_prefix("otp_id=")).unwrap_or("");
        let otp = serde_json::from_str::<Value>(body)
            .ok()
            .and_then(|b| b["otp_value"].as_str().map(str::to_string))
            .or_else(|| query.split('&').find_map(|kv| kv.strip_prefix("otp_value=")).map(str::to_string))
            .unwrap_or_default();
        let payment = {
            let mut state = self.state.lock().unwrap();
            *state.otps_received.entry(id.to_string()).or_default() += 1;
            if state.otp_ids.get(id).map(String::as_str) != Some(otp_id) {
                return json_response(404, &json!({"type":"record_not_found","message":"Object not found"}));
            }
            let Some(payment) = state.payments.get_mut(id) else {
                return json_response(404, &json!({"type":"record_not_found","message":"Object not found"}));
            };
            if payment["status"] != "initiated" {
                return json_response(
                    400,
                    &json!({"type":"invalid_request_error","message":"Payment is not in initiated state","errors":null}),
                );
            }
            let failure = match otp.as_str() {
                "123456" | "000000" => None,
                "111111" => Some("Insufficient Balance."),
                "222222" => Some("You have exceeded the allowed daily transaction limit for your STC Pay account."),
                "333333" => Some("You have exceeded the maximum allowed transaction amount."),
                "444444" => Some("Connection timed out while waiting for response from STC Pay service."),
                _ => Some("Invalid OTP"),
            };
            payment["status"] = json!(if failure.is_none() { "paid" } else { "failed" });
            payment["source"]["message"] = json!(failure.unwrap_or("Paid"));
            payment["source"]["transaction_url"] = Value::Null;
            payment.clone()
        };
        self.state.lock().unwrap().otp_ids.remove(id);
        let paid = payment["status"] == "paid";
        self.send_webhook(if paid { "payment_paid" } else { "payment_failed" }, payment.clone());
        json_response(200, &payment)
    }

    /// Moyasar's Apple Pay merchant validation for a domain registered in the dashboard.
    fn applepay_initiate(&self, body: &str) -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
        let input = serde_json::from_str::<Value>(body).unwrap_or(Value::Null);
        let mut state = self.state.lock().unwrap();
        state.applepay_requests.push(input.clone());
        let domain = input["domain_name"].as_str().unwrap_or("");
        if input["publishable_api_key"].as_str() != Some(state.publishable_key.as_str())
            || state.publishable_key.is_empty()
        {
            return json_response(
                401,
                &json!({"type":"authentication_error","message":"Invalid publishable key","errors":null}),
            );
        }
        if !state.applepay_domains.iter().any(|d| d == domain) {
            return json_response(
                400,
                &json!({"type":"invalid_request_error","message":format!("Domain {domain} is not registered for Apple Pay"),"errors":null}),
            );
        }
        let apple = input["validation_url"].as_str().is_some_and(|u| u.starts_with("https://apple-pay-gateway"));
        if !apple {
            return json_response(
                400,
                &json!({"type":"invalid_request_error","message":"Invalid validation URL","errors":null}),
            );
        }
        // The shape of Apple's merchant session (opaque to the merchant).
        json_response(
            200,
            &json!({"epochTimestamp": now_secs() * 1000, "expiresAt": (now_secs() + 3600) * 1000,
                "merchantSessionIdentifier": format!("SSH{}", new_id()), "nonce": "a1b2c3d4",
                "merchantIdentifier": "merchant.com.moyasar.test", "domainName": domain,
                "displayName": input["display_name"], "signature": "MIAGCSqGSIb3DQEHAqCAMIACAQExDzANBglghkgBZQMEAgEFADCABgkqhkiG9w0BBwEAAKCAMIID", "operationalAnalyticsIdentifier": "x", "retries": 0}),
        )
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
        let expired_at = match &input["expired_at"] {
            Value::Null => Value::Null,
            Value::String(text) => match parse_expired_at(text) {
                Some(at) => json!(bawaba_core::gateway::moyasar::iso8601_utc(at)),
                None => {
                    return json_response(
                        400,
                        &json!({"type":"invalid_request_error","message":"Validation Failed","errors":{"expired_at":["is invalid"]}}),
                    )
                }
            },
            _ => {
                return json_response(
                    400,
                    &json!({"type":"invalid_request_error","message":"Validation Failed","errors":{"expired_at":["is invalid"]}}),
                )
            }
        };
        let id = new_id();
        let invoice = json!({
            "id": id, "status": "initiated", "amount": amount, "currency": input["currency"].as_str().unwrap_or("SAR"),
            "description": input["description"], "amount_format": format!("{}.{:02} SAR", amount / 100, amount % 100),
            "url": format!("{}/invoices/{id}", self.base), "success_url": input["success_url"], "back_url": input["back_url"],
            "expired_at": expired_at, "paid_at": null, "metadata": input["metadata"], "payments": [],
        });
        self.state.lock().unwrap().invoices.insert(id, invoice.clone());
        json_response(201, &invoice)
    }

    fn invoice_with_payments(&self, id: &str) -> Option<Value> {
        let mut state = self.state.lock().unwrap();
        expire_if_due(&mut state, id);
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
        if self.invoice_with_payments(id).is_none() {
            return html_response(404, "<p>Not found</p>".into());
        }
        let Ok((payment_id, outcome)) = self.attempt(id, &number) else { return self.page(id, None) };
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

    /// Starts a payment on an invoice that takes payments (`initiated`, not expired) with a test
    /// card: its id and what the card does (`Ok(true)`: 3-D Secure first; `Err`: declined).
    fn attempt(&self, id: &str, number: &str) -> Result<Attempt, String> {
        let (company, outcome) = match number {
            "4111111111111111" => ("visa", Ok(false)),
            "5421080101000000" => ("master", Ok(false)),
            "4201320111111010" => ("mada", Ok(true)),
            "4123120001090000" => ("visa", Err("INSUFFICIENT_FUNDS")),
            _ => ("visa", Err("UNSPECIFIED FAILURE")),
        };
        let mut state = self.state.lock().unwrap();
        expire_if_due(&mut state, id);
        let Some(inv) = state.invoices.get(id).cloned() else { return Err(format!("no invoice {id}")) };
        if inv["status"] != "initiated" {
            return Err(format!("the invoice is {}", inv["status"].as_str().unwrap_or("")));
        }
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
        state.payments.insert(payment_id.clone(), payment);
        Ok((payment_id, outcome))
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
        let (success_url, payment) = self.settle(id, payment_id, outcome);
        let sep = if success_url.contains('?') { '&' } else { '?' };
        redirect(&format!(
            "{success_url}{sep}id={payment_id}&status={}&message=",
            payment["status"].as_str().unwrap_or("")
        ))
    }

    /// Ends a payment attempt (paid or failed), the invoice with it, and sends the webhook:
    /// the invoice's `success_url` and the payment.
    fn settle(&self, id: &str, payment_id: &str, outcome: Result<(), &str>) -> (String, Value) {
        let (success_url, payment) = {
            let mut state = self.state.lock().unwrap();
            let status = if outcome.is_ok() { "paid" } else { "failed" };
            let payment = state.payments.get_mut(payment_id).expect("payment");
            payment["status"] = json!(status);
            payment["source"]["message"] = json!(outcome.err().unwrap_or("APPROVED"));
            let payment = payment.clone();
            let invoice = state.invoices.get_mut(id).expect("invoice");
            invoice["status"] = json!(status);
            if outcome.is_ok() {
                invoice["paid_at"] = json!(bawaba_core::gateway::moyasar::iso8601_utc(now_secs()));
            }
            (invoice["success_url"].as_str().unwrap_or("").to_string(), payment)
        };
        self.send_webhook(if outcome.is_ok() { "payment_paid" } else { "payment_failed" }, payment.clone());
        (success_url, payment)
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

/// Marks an unpaid invoice `expired` once its `expired_at` has passed.
fn expire_if_due(state: &mut State, id: &str) {
    let Some(invoice) = state.invoices.get_mut(id) else { return };
    let due = invoice["expired_at"].as_str().and_then(parse_expired_at).is_some_and(|at| now_secs() >= at);
    if due && invoice["status"] == "initiated" {
        invoice["status"] = json!("expired");
    }
}

/// `expired_at` as Moyasar takes it: `2017-01-12` (midnight UTC) or an ISO 8601 datetime
/// (`2018-01-01T09:55:14.000Z`, or with a `+03:00` offset). Unix seconds.
pub(crate) fn parse_expired_at(text: &str) -> Option<i64> {
    let num =
        |s: &str| -> Option<i64> { (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok())? };
    let (date, time) = match text.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (text, None),
    };
    let mut parts = date.split('-');
    let (y, m, d) = (num(parts.next()?)?, num(parts.next()?)?, num(parts.next()?)?);
    if parts.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Days from civil (H. Hinnant), the inverse of the connector's formatter.
    let (y2, m2) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let doy = (153 * m2 + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let Some(time) = time else { return Some(days * 86_400) };
    let (clock, offset) = if let Some(c) = time.strip_suffix('Z') {
        (c, 0)
    } else if let Some(i) = time.rfind(['+', '-']) {
        let (c, o) = time.split_at(i);
        let (oh, om) = o[1..].split_once(':')?;
        let sign = if o.starts_with('-') { -1 } else { 1 };
        (c, sign * (num(oh)? * 3600 + num(om)? * 60))
    } else {
        (time, 0)
    };
    let clock = clock.split('.').next()?;
    let mut hms = clock.split(':');
    let (h, mi, se) = (num(hms.next()?)?, num(hms.next()?)?, hms.next().map(num).unwrap_or(Some(0))?);
    if hms.next().is_some() || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    Some(days * 86_400 + h * 3600 + mi * 60 + se - offset)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fakes::send;
    use bawaba_core::gateway::connector::{Connector, Start, StartInput};
    use bawaba_core::gateway::moyasar::{self, iso8601_utc};
    use bawaba_core::method::PaymentMethod;
    use bawaba_core::money::{Currency, Money};
    use bawaba_core::payment::PaymentState;
    use bawaba_core::secret::Secret;

    fn session(fake: &FakeMoyasar, connector: &Connector, expires_at: Option<i64>) -> String {
        let input = StartInput {
            reference: "demo:S1",
            money: Money::new(4550, Currency::parse("SAR").unwrap()),
            method: PaymentMethod::Visa,
            return_url: "http://edge/r",
            webhook_url: "http://edge/w",
            locale: "en",
            customer_name: None,
            description: "Order S1",
            customer_email: None,
            session_key: "1",
            expires_at,
            now: None,
            wallet: None,
        };
        let Ok(Start::Call(req)) = connector.build_start(&input) else { panic!("Moyasar sessions are a call") };
        let created = connector.parse_start(&send(&req)).unwrap();
        assert!(created.redirect_url.starts_with(&fake.base));
        created.id
    }

    #[test]
    fn invoices_expire_and_can_be_paid_directly_until_then() {
        let fake = FakeMoyasar::start("sk_test_m", "token");
        let connector: Connector = Box::new(moyasar::Config {
            api_base: fake.api_base(),
            secret_key: Secret::new("sk_test_m"),
            webhook_secret: Secret::new("token"),
            publishable_key: None,
        });
        let sar = Money::new(4550, Currency::parse("SAR").unwrap());
        let state = |id: &str| connector.parse_fetch(&send(&connector.build_fetch(id)), &sar).unwrap();

        let open = session(&fake, &connector, Some(now_secs() + 900));
        assert_eq!(state(&open).state, PaymentState::Pending);
        let paid = fake.pay_invoice(&open, "4111111111111111").unwrap();
        assert_eq!(paid["status"], "paid");
        let p = state(&open);
        assert_eq!((p.state, p.transaction_id.as_deref()), (PaymentState::Paid, paid["id"].as_str()));
        assert!(fake.pay_invoice(&open, "4111111111111111").is_err(), "a paid invoice takes no second payment");

        let late = session(&fake, &connector, Some(now_secs() + 900));
        assert!(fake.expire_invoice(&late));
        assert_eq!(state(&late).state, PaymentState::Canceled);
        assert_eq!(fake.invoice(&late).unwrap()["status"], "expired");
        assert!(fake.pay_invoice(&late, "4111111111111111").is_err(), "an expired invoice takes no payment");
        let page =
            crate::http::post_form(&format!("{}/invoices/{late}/pay", fake.base), &[("number", "4111111111111111")]);
        assert!(page.body.contains("id=\"closed\""), "{}", page.body);

        let past = session(&fake, &connector, Some(now_secs() - 1));
        assert_eq!(state(&past).state, PaymentState::Canceled);
        let forever = session(&fake, &connector, None);
        assert_eq!(fake.invoice(&forever).unwrap()["expired_at"], Value::Null);
        let declined = fake.pay_invoice(&forever, "4123120001090000").unwrap();
        assert_eq!(declined["status"], "failed");
    }

    #[test]
    fn expired_at_takes_dates_and_datetimes() {
        assert_eq!(parse_expired_at("2018-01-01T09:55:14.000Z"), Some(1_514_800_514));
        assert_eq!(parse_expired_at("2018-01-01T12:55:14+03:00"), Some(1_514_800_514));
        assert_eq!(parse_expired_at("2017-01-12"), Some(1_484_179_200));
        for secs in [0, 951_782_400, 1_795_800_000, 4_107_542_399] {
            assert_eq!(parse_expired_at(&iso8601_utc(secs)), Some(secs));
        }
        for bad in ["", "tomorrow", "2018-13-01", "2018-01-01T25:00:00Z", "2018-01-01T09:55:14+3"] {
            assert_eq!(parse_expired_at(bad), None, "{bad}");
        }
    }
}
