//! A fake Tap: `/v2/charges` (create, fetch), `/v2/refunds` (create) and `/v2/refunds/{id}`
//! (fetch), Bearer auth with the secret key, Tap's error bodies, a hosted page at
//! `transaction.url` (mada goes through a 3-D Secure step), the return with `tap_id`, and webhooks
//! to `post.url` signed with `hashstring`.
//!
//! Refunds answer `REFUNDED` at once, or `PENDING` while [`FakeTap::set_refunds_pending`] is on
//! (Tap holds a refund while it checks the merchant's wallet balance); a pending refund keeps its
//! amount reserved against the charge until [`FakeTap::settle_refund`] makes it `REFUNDED` or
//! `FAILED` (which gives the amount back).
//!
//! Test cards: `4508750015741019` Visa and `5123450000000008` Mastercard are captured;
//! `4464040000000007` mada asks for 3-D Secure; `4000000000000002` is declined (505,
//! insufficient funds); anything else is declined (507).
//!
//! Apple Pay tokens (`POST /v2/tokens` `{"type": "applepay", "token_data": <Apple's
//! paymentData>}`): refused (400) until [`FakeTap::enable_applepay`] names the payment
//! processing certificate's public key hash, which the token's `header.publicKeyHash` must be
//! (Apple encrypted it for that certificate, whose key Tap holds); `token_data` must have
//! `version` `EC_v1` (with `header.ephemeralPublicKey`) or `RSA_v1` (with `header.wrappedKey`),
//! base64 `data` and `signature`, `header.transactionId`. The fake "decrypts" `data` as the base64
//! of `<outcome>` or `<outcome>:<brand>` ([`applepay_data`]): `approve` (the default token of
//! `flows::applepay_token`) is captured, `decline` declined (505), `threeds` asks for 3-D Secure
//! (`INITIATED` with `transaction.url`); anything else cannot be decrypted (400). The card's brand
//! is `VISA` unless the data names another (`MADA`). A Tap token (`tok_…`) is charged once (a
//! second charge is refused, 400), and an Apple Pay token (its `transactionId`) is exchanged once.

use super::{form, header, html_response, json_response, post_later, redirect, serve, unhealthy, Health, Switches};
use bawaba_core::gateway::tap::{webhook, wire::Charge};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct State {
    charges: HashMap<String, Value>,
    refunded: HashMap<String, f64>,
    refunds: HashMap<String, Value>,
    refunds_pending: bool,
    secret_key: String,
    tampered: HashMap<String, f64>,
    counter: u64,
    /// The public key hash of the payment processing certificate made from Tap's CSR.
    applepay_key_hash: Option<String>,
    /// `tok_…` → `{"token": <the answer>, "outcome": …}`.
    tokens: HashMap<String, Value>,
    /// Apple transaction ids exchanged already.
    applepay_transactions: std::collections::HashSet<String>,
    /// Every `POST /v2/tokens` body, in order.
    token_requests: Vec<Value>,
    /// While on, `POST /v2/tokens` answers 503.
    tokens_failing: bool,
    /// Charges created with this `reference.transaction` report this amount (in their creation
    /// answer and every fetch).
    tampered_references: HashMap<String, f64>,
    /// Charges waiting for the Apple Pay 3-D Secure step.
    three_ds: std::collections::HashSet<String>,
}

/// The `paymentData.data` the fake "decrypts" to `outcome` (`approve`, `decline`, `threeds`)
/// with the card brand `brand` (`VISA`, `MADA`, …).
pub fn applepay_data(outcome: &str, brand: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(format!("{outcome}:{brand}"))
}

/// How a pending refund ends ([`FakeTap::settle_refund`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundOutcome {
    /// `REFUNDED`: the money went back.
    Refunded,
    /// `FAILED`: nothing moved; the amount can be refunded again.
    Failed,
}

/// The fake.
#[derive(Clone)]
pub struct FakeTap {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    state: Arc<Mutex<State>>,
    switches: Switches,
    sent: Arc<Mutex<u32>>,
}

type Reply = tiny_http::Response<std::io::Cursor<Vec<u8>>>;

impl FakeTap {
    /// Starts it, accepting `secret_key` (which also signs its webhooks).
    pub fn start(secret_key: &str) -> FakeTap {
        let state = Arc::new(Mutex::new(State { secret_key: secret_key.into(), ..State::default() }));
        let switches = Switches::default();
        let sent = Arc::new(Mutex::new(0));
        let base = Arc::new(Mutex::new(String::new()));
        let inner =
            FakeTap { base: String::new(), state: state.clone(), switches: switches.clone(), sent: sent.clone() };
        let b = base.clone();
        let port = serve(move |req, body, segs| {
            let mut me = inner.clone();
            me.base = b.lock().unwrap().clone();
            me.handle(req, body, segs)
        });
        *base.lock().unwrap() = format!("http://127.0.0.1:{port}");
        FakeTap { base: format!("http://127.0.0.1:{port}"), state, switches, sent }
    }

    /// The API base to configure (`TAP_API_BASE`).
    pub fn api_base(&self) -> String {
        format!("{}/v2", self.base)
    }

    /// Makes the API fail or hang.
    pub fn set_health(&self, health: Health) {
        *self.switches.health.lock().unwrap() = health;
    }

    /// Changes the accepted key.
    pub fn set_secret_key(&self, key: &str) {
        self.state.lock().unwrap().secret_key = key.into();
    }

    /// Makes fetches of one charge report another amount.
    pub fn tamper_amount(&self, charge_id: &str, amount: f64) {
        self.state.lock().unwrap().tampered.insert(charge_id.into(), amount);
    }

    /// Accepts Apple Pay tokens encrypted for the payment processing certificate whose public
    /// key hash (`paymentData.header.publicKeyHash`) is `public_key_hash`.
    pub fn enable_applepay(&self, public_key_hash: &str) {
        self.state.lock().unwrap().applepay_key_hash = Some(public_key_hash.into());
    }

    /// Every `POST /v2/tokens` body so far, oldest first.
    pub fn token_requests(&self) -> Vec<Value> {
        self.state.lock().unwrap().token_requests.clone()
    }

    /// While on, `POST /v2/tokens` answers 503 (the rest of the API answers).
    pub fn set_tokens_failing(&self, failing: bool) {
        self.state.lock().unwrap().tokens_failing = failing;
    }

    /// Makes charges created for `reference` (Tap's `reference.transaction`, `<shop>:<ref>`)
    /// report `amount` instead, from their creation answer on.
    pub fn tamper_reference(&self, reference: &str, amount: f64) {
        self.state.lock().unwrap().tampered_references.insert(reference.into(), amount);
    }

    /// The charges made for `reference` (`<shop>:<ref>`), as the API shows them.
    pub fn charges_for(&self, reference: &str) -> Vec<Value> {
        let ids: Vec<String> = {
            let state = self.state.lock().unwrap();
            let mut ids: Vec<String> = state
                .charges
                .iter()
                .filter(|(_, c)| c["reference"]["transaction"] == reference)
                .map(|(id, _)| id.clone())
                .collect();
            ids.sort();
            ids
        };
        ids.iter().filter_map(|id| self.fetch(id)).collect()
    }

    /// Webhooks delivered so far.
    pub fn webhooks_sent(&self) -> u32 {
        *self.sent.lock().unwrap()
    }

    /// A charge as the API shows it.
    pub fn charge(&self, id: &str) -> Option<Value> {
        self.fetch(id)
    }

    /// While on, new refunds answer `PENDING` instead of `REFUNDED` (settle them with
    /// [`FakeTap::settle_refund`]).
    pub fn set_refunds_pending(&self, pending: bool) {
        self.state.lock().unwrap().refunds_pending = pending;
    }

    /// Ends a pending refund: `REFUNDED`, or `FAILED` (its amount is no longer reserved against
    /// the charge). Returns `false` when there is no such refund or it is not pending.
    pub fn settle_refund(&self, refund_id: &str, outcome: RefundOutcome) -> bool {
        let mut state = self.state.lock().unwrap();
        let Some(refund) = state.refunds.get_mut(refund_id) else { return false };
        if refund["status"] != "PENDING" {
            return false;
        }
        let (status, code, message) = match outcome {
            RefundOutcome::Refunded => ("REFUNDED", "000", "Refunded"),
            RefundOutcome::Failed => ("FAILED", "1173", "Refund failed"),
        };
        refund["status"] = json!(status);
        refund["response"] = json!({"code": code, "message": message});
        if outcome == RefundOutcome::Failed {
            let charge_id = refund["charge_id"].as_str().unwrap_or("").to_string();
            let amount = refund["amount"].as_f64().unwrap_or(0.0);
            if let Some(done) = state.refunded.get_mut(&charge_id) {
                *done = (*done - amount).max(0.0);
            }
        }
        true
    }

    /// A refund as the API shows it.
    pub fn refund_record(&self, refund_id: &str) -> Option<Value> {
        self.state.lock().unwrap().refunds.get(refund_id).cloned()
    }

    /// The charge's refunds, oldest first.
    pub fn refunds_of(&self, charge_id: &str) -> Vec<Value> {
        let state = self.state.lock().unwrap();
        let mut refunds: Vec<Value> = state.refunds.values().filter(|r| r["charge_id"] == charge_id).cloned().collect();
        refunds.sort_by_key(|r| r["id"].as_str().unwrap_or("").to_string());
        refunds
    }

    fn handle(&self, req: tiny_http::Request, body: String, segments: Vec<String>) {
        let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
        let method = req.method().as_str().to_string();
        let req = if segs.first() == Some(&"v2") {
            let Some(req) =
                unhealthy(&self.switches, req, &json!({"errors":[{"code":"5000","description":"Internal error"}]}))
            else {
                return;
            };
            let key = self.state.lock().unwrap().secret_key.clone();
            if header(&req, "Authorization") != Some(format!("Bearer {key}")) {
                let _ = req
                    .respond(json_response(401, &json!({"errors":[{"code":"2107","description":"No valid API key"}]})));
                return;
            }
            req
        } else {
            req
        };
        let reply = match (method.as_str(), segs.as_slice()) {
            ("POST", ["v2", "tokens"]) => match self.token(&body) {
                Some(reply) => reply,
                None => {
                    let _ = req.respond(json_response(
                        503,
                        &json!({"errors":[{"code":"5000","description":"Service unavailable"}]}),
                    ));
                    return;
                }
            },
            ("POST", ["v2", "charges"]) => self.create(&body),
            ("GET", ["v2", "charges", id]) => match self.fetch(id) {
                Some(c) => json_response(200, &c),
                None => json_response(404, &json!({"errors":[{"code":"1141","description":"Charge not found"}]})),
            },
            ("POST", ["v2", "refunds"]) => self.refund(&body),
            ("GET", ["v2", "refunds", id]) => match self.refund_record(id) {
                Some(r) => json_response(200, &r),
                None => json_response(404, &json!({"errors":[{"code":"1142","description":"Refund not found"}]})),
            },
            ("GET", ["pay", id]) => self.page(id),
            ("POST", ["pay", id]) => self.pay(id, &body),
            ("POST", ["pay", id, "3ds"]) => {
                let ok = form(&body).iter().any(|(k, v)| k == "result" && v == "ok");
                self.finish(
                    id,
                    if ok { ("CAPTURED", "000", "Captured") } else { ("DECLINED", "504", "3DS authentication failed") },
                )
            }
            _ => json_response(404, &json!({"errors":[{"code":"404","description":"Not found"}]})),
        };
        let _ = req.respond(reply);
    }

    fn create(&self, body: &str) -> Reply {
        let Ok(input) = serde_json::from_str::<Value>(body) else {
            return json_response(400, &json!({"errors":[{"code":"1100","description":"Invalid JSON"}]}));
        };
        let Some(amount) = input["amount"].as_f64().filter(|a| *a > 0.0) else {
            return json_response(400, &json!({"errors":[{"code":"1117","description":"Amount is required"}]}));
        };
        if input["redirect"]["url"].as_str().is_none() || input["source"]["id"].as_str().is_none() {
            return json_response(
                400,
                &json!({"errors":[{"code":"1108","description":"Source or redirect is missing"}]}),
            );
        }
        let source = input["source"]["id"].as_str().unwrap_or("").to_string();
        if source.starts_with("tok_") {
            return self.charge_token(&input, amount, &source);
        }
        let mut state = self.state.lock().unwrap();
        state.counter += 1;
        let id = format!("chg_TS{:06}{}", state.counter, std::process::id());
        let charge = json!({
            "id": id, "object": "charge", "live_mode": false, "status": "INITIATED", "amount": amount,
            "currency": input["currency"], "threeDSecure": true, "description": input["description"],
            "reference": {"transaction": input["reference"]["transaction"], "order": input["reference"]["order"]},
            "metadata": input["metadata"], "source": input["source"], "post": input["post"], "redirect": input["redirect"],
            "customer": input["customer"], "response": {"code": "100", "message": "Initiated"},
            "transaction": {"url": format!("{}/pay/{id}", self.base), "created": "1795800000000"},
        });
        state.charges.insert(id, charge.clone());
        json_response(200, &charge)
    }

    /// `POST /v2/tokens` for an Apple Pay token; `None` while [`FakeTap::set_tokens_failing`].
    fn token(&self, body: &str) -> Option<Reply> {
        let invalid = |code: &str, description: &str| {
            Some(json_response(400, &json!({"errors":[{"code": code, "description": description}]})))
        };
        let input: Value = serde_json::from_str(body).unwrap_or(Value::Null);
        let mut state = self.state.lock().unwrap();
        if state.tokens_failing {
            return None;
        }
        state.token_requests.push(input.clone());
        if input["type"] != "applepay" {
            return invalid("1125", "Invalid token type");
        }
        let data = &input["token_data"];
        let text = |v: &Value| v.as_str().filter(|s| !s.is_empty()).map(str::to_string);
        let header = &data["header"];
        let keyed = match data["version"].as_str() {
            Some("EC_v1") => text(&header["ephemeralPublicKey"]).is_some(),
            Some("RSA_v1") => text(&header["wrappedKey"]).is_some(),
            _ => false,
        };
        let (Some(encrypted), Some(_), Some(key_hash), Some(transaction)) = (
            text(&data["data"]),
            text(&data["signature"]),
            text(&header["publicKeyHash"]),
            text(&header["transactionId"]),
        ) else {
            return invalid("1126", "Invalid Apple Pay token data");
        };
        if !keyed {
            return invalid("1126", "Invalid Apple Pay token data");
        }
        if state.applepay_key_hash.as_deref() != Some(key_hash.as_str()) {
            // Encrypted for another certificate (or Apple Pay not set up with Tap's CSR).
            return invalid("1127", "Apple Pay token could not be decrypted");
        }
        use base64::Engine as _;
        let decrypted = base64::engine::general_purpose::STANDARD
            .decode(encrypted.as_bytes())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .unwrap_or_default();
        let (outcome, brand) = decrypted.split_once(':').unwrap_or((decrypted.as_str(), "VISA"));
        if !matches!(outcome, "approve" | "decline" | "threeds") {
            return invalid("1127", "Apple Pay token could not be decrypted");
        }
        if !state.applepay_transactions.insert(transaction) {
            return invalid("1128", "Apple Pay token already used");
        }
        state.counter += 1;
        let id = format!("tok_TS{:06}{}", state.counter, std::process::id());
        let first_six = if brand.eq_ignore_ascii_case("MADA") { "440647" } else { "450875" };
        let token = json!({
            "id": id, "object": "token", "type": "CARD", "created": 1795800000000u64, "live_mode": false,
            "used": false, "client_ip": input["client_ip"],
            "card": {"id": format!("card_TS{:06}", state.counter), "object": "card", "brand": brand.to_ascii_uppercase(),
                "first_six": first_six, "last_four": "1010", "exp_month": 12, "exp_year": 39, "funding": "DEBIT"},
        });
        state.tokens.insert(id, json!({"token": token, "outcome": outcome}));
        Some(json_response(200, &token))
    }

    /// `POST /v2/charges` with `source.id` = a `tok_…`: charged once, decided at once (or 3-D
    /// Secure first).
    fn charge_token(&self, input: &Value, amount: f64, token_id: &str) -> Reply {
        let (charge, outcome) = {
            let mut state = self.state.lock().unwrap();
            let Some(entry) = state.tokens.get_mut(token_id) else {
                return json_response(400, &json!({"errors":[{"code":"1149","description":"Invalid token"}]}));
            };
            if entry["token"]["used"] == true {
                return json_response(400, &json!({"errors":[{"code":"1150","description":"Token is already used"}]}));
            }
            entry["token"]["used"] = json!(true);
            let (token, outcome) = (entry["token"].clone(), entry["outcome"].as_str().unwrap_or("").to_string());
            state.counter += 1;
            let id = format!("chg_TS{:06}{}", state.counter, std::process::id());
            let card = json!({"object": "card", "brand": token["card"]["brand"], "first_six": token["card"]["first_six"],
                "last_four": token["card"]["last_four"]});
            let charge = json!({
                "id": id, "object": "charge", "live_mode": false, "status": "INITIATED", "amount": amount,
                "currency": input["currency"], "threeDSecure": input["threeDSecure"], "description": input["description"],
                "reference": {"transaction": input["reference"]["transaction"], "order": input["reference"]["order"]},
                "metadata": input["metadata"], "source": {"id": token_id, "object": "token", "type": "CARD",
                "payment_method": token["card"]["brand"]}, "post": input["post"], "redirect": input["redirect"],
                "customer": input["customer"], "card": card, "response": {"code": "100", "message": "Initiated"},
                "transaction": {"created": "1795800000000"},
            });
            state.charges.insert(id.clone(), charge.clone());
            if let Some(a) = input["reference"]["transaction"].as_str().and_then(|r| state.tampered_references.get(r)) {
                let a = *a;
                state.tampered.insert(id, a);
            }
            (charge, outcome)
        };
        let id = charge["id"].as_str().unwrap_or("").to_string();
        match outcome.as_str() {
            "threeds" => {
                let mut state = self.state.lock().unwrap();
                state.three_ds.insert(id.clone());
                let c = state.charges.get_mut(&id).expect("just made");
                c["transaction"]["url"] = json!(format!("{}/pay/{id}", self.base));
            }
            "decline" => {
                self.decide(&id, ("DECLINED", "505", "Insufficient Funds"));
            }
            _ => {
                self.decide(&id, ("CAPTURED", "000", "Captured"));
            }
        }
        json_response(200, &self.fetch(&id).expect("just made"))
    }

    fn fetch(&self, id: &str) -> Option<Value> {
        let state = self.state.lock().unwrap();
        let mut charge = state.charges.get(id)?.clone();
        if let Some(a) = state.tampered.get(id) {
            charge["amount"] = json!(a);
        }
        Some(charge)
    }

    fn page(&self, id: &str) -> Reply {
        let Some(charge) = self.fetch(id) else { return html_response(404, "<p>Not found</p>".into()) };
        if charge["status"] != "INITIATED" {
            return html_response(200, format!("<p id=closed>This charge is {}.</p>", charge["status"]));
        }
        if self.state.lock().unwrap().three_ds.contains(id) {
            return three_ds_page(id);
        }
        html_response(
            200,
            format!(
                "<!doctype html><html><head><meta charset=utf-8><title>Tap (fake)</title></head><body><h1>Tap</h1>\
<p id=amount>{} {}</p><form method=post action=\"/pay/{id}\"><input id=number name=number>\
<input id=expiry name=expiry value=\"01/39\"><input id=cvc name=cvc value=100><button id=pay type=submit>Pay</button></form></body></html>",
                charge["amount"], charge["currency"].as_str().unwrap_or("")
            ),
        )
    }

    fn pay(&self, id: &str, body: &str) -> Reply {
        let number: String = form(body)
            .into_iter()
            .find(|(k, _)| k == "number")
            .map(|(_, v)| v.chars().filter(char::is_ascii_digit).collect())
            .unwrap_or_default();
        let brand = match number.chars().next() {
            Some('5') => "MASTERCARD",
            _ if number.starts_with("446404") => "MADA",
            _ => "VISA",
        };
        {
            let mut state = self.state.lock().unwrap();
            let Some(charge) = state.charges.get_mut(id) else { return html_response(404, "<p>Not found</p>".into()) };
            if charge["status"] != "INITIATED" {
                drop(state);
                return self.page(id);
            }
            charge["card"] =
                json!({"brand": brand, "last_four": number.get(number.len().saturating_sub(4)..).unwrap_or("")});
        }
        match number.as_str() {
            "4508750015741019" | "5123450000000008" => self.finish(id, ("CAPTURED", "000", "Captured")),
            "4464040000000007" => three_ds_page(id),
            "4000000000000002" => self.finish(id, ("DECLINED", "505", "Insufficient Funds")),
            _ => self.finish(id, ("DECLINED", "507", "Declined, Card Issuer")),
        }
    }

    fn finish(&self, id: &str, outcome: (&str, &str, &str)) -> Reply {
        let Some(charge) = self.decide(id, outcome) else { return html_response(404, "<p>Not found</p>".into()) };
        let back = charge["redirect"]["url"].as_str().unwrap_or("");
        let sep = if back.contains('?') { '&' } else { '?' };
        redirect(&format!("{back}{sep}tap_id={id}"))
    }

    /// Decides a charge and sends its webhook to `post.url`.
    fn decide(&self, id: &str, (status, code, message): (&str, &str, &str)) -> Option<Value> {
        let charge = {
            let mut state = self.state.lock().unwrap();
            state.three_ds.remove(id);
            let charge = state.charges.get_mut(id)?;
            charge["status"] = json!(status);
            charge["response"] = json!({"code": code, "message": message});
            charge["reference"]["gateway"] = json!(format!("GW{id}"));
            charge["reference"]["payment"] = json!(format!("PY{id}"));
            charge.clone()
        };
        if let Some(url) = charge["post"]["url"].as_str() {
            // The webhook carries the charge as the API shows it (a tampered amount too).
            let charge = self.fetch(id).unwrap_or(charge.clone());
            let parsed: Charge = serde_json::from_value(charge.clone()).expect("a charge");
            let key = self.state.lock().unwrap().secret_key.clone();
            let hash = webhook::sign(key.as_bytes(), &parsed).expect("signable");
            post_later(
                url.to_string(),
                vec![("Content-Type".into(), "application/json".into()), (webhook::HEADER.into(), hash)],
                charge.to_string(),
                self.sent.clone(),
            );
        }
        Some(charge)
    }

    fn refund(&self, body: &str) -> Reply {
        let input: Value = serde_json::from_str(body).unwrap_or_default();
        let id = input["charge_id"].as_str().unwrap_or("").to_string();
        let amount = input["amount"].as_f64().unwrap_or(0.0);
        let mut state = self.state.lock().unwrap();
        let Some(charge) = state.charges.get(&id).cloned() else {
            return json_response(404, &json!({"errors":[{"code":"1141","description":"Charge not found"}]}));
        };
        if charge["status"] != "CAPTURED" {
            return json_response(400, &json!({"errors":[{"code":"1170","description":"Charge is not captured"}]}));
        }
        let total = charge["amount"].as_f64().unwrap_or(0.0);
        let done = state.refunded.get(&id).copied().unwrap_or(0.0);
        if amount <= 0.0 || done + amount > total + 1e-9 {
            return json_response(
                400,
                &json!({"errors":[{"code":"1172","description":"Refund amount exceeds the charge amount"}]}),
            );
        }
        state.refunded.insert(id.clone(), done + amount);
        state.counter += 1;
        let (status, code, message) =
            if state.refunds_pending { ("PENDING", "100", "Pending") } else { ("REFUNDED", "000", "Refunded") };
        let refund_id = format!("re_TS{:06}{}", state.counter, std::process::id());
        let refund = json!({"id": refund_id, "object": "refund", "api_version": "V1.2", "live_mode": false,
            "charge_id": id, "amount": amount, "currency": input["currency"], "created": "1795800000000",
            "status": status, "response": {"code": code, "message": message}, "reason": input["reason"],
            "reference": input["reference"], "metadata": input.get("metadata").cloned().unwrap_or(json!({}))});
        state.refunds.insert(refund_id, refund.clone());
        json_response(200, &refund)
    }
}

/// The fake ACS's page: authenticate or fail.
fn three_ds_page(id: &str) -> Reply {
    html_response(
        200,
        format!(
            "<!doctype html><title>3-D Secure</title><h1>3-D Secure (fake ACS)</h1><form method=post action=\"/pay/{id}/3ds\">\
<button id=authenticate name=result value=ok>Authenticate</button><button id=fail name=result value=fail>Fail</button></form>"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fakes::send;
    use bawaba_core::gateway::connector::Connector;
    use bawaba_core::gateway::{tap, OperationStatus};
    use bawaba_core::money::{Currency, Money};
    use bawaba_core::secret::Secret;

    const KEY: &str = "sk_test_fake_tap";

    fn captured_charge(fake: &FakeTap) -> String {
        let created = crate::http::post_with_headers(
            &format!("{}/charges", fake.api_base()),
            &[("Authorization", &format!("Bearer {KEY}")), ("Content-Type", "application/json")],
            json!({"amount": 45.5, "currency": "SAR", "source": {"id": "src_card"}, "redirect": {"url": "http://x/r"},
                "reference": {"transaction": "demo:S1"}})
            .to_string()
            .as_bytes(),
        );
        let id = created.json()["id"].as_str().unwrap().to_string();
        let paid = crate::http::post_form(&format!("{}/pay/{id}", fake.base), &[("number", "4508750015741019")]);
        assert_eq!(paid.status, 303);
        id
    }

    #[test]
    fn pending_refunds_are_fetched_and_settled_later() {
        let fake = FakeTap::start(KEY);
        let connector: Connector =
            Box::new(tap::Config { api_base: fake.api_base(), secret_key: Secret::new(KEY), applepay_merchant: None });
        let charge = captured_charge(&fake);
        let sar = |minor| Money::new(minor, Currency::parse("SAR").unwrap());

        let at_once =
            connector.parse_refund(&send(&connector.build_refund(&charge, &charge, &sar(1000), "r-0")), sar(1000));
        assert_eq!(at_once.unwrap().status, OperationStatus::Succeeded);

        fake.set_refunds_pending(true);
        let held = connector
            .parse_refund(&send(&connector.build_refund(&charge, &charge, &sar(2000), "r-1")), sar(2000))
            .unwrap();
        assert_eq!(held.status, OperationStatus::Pending);
        let ask = connector.build_refund_status(&held.id).expect("Tap refunds are asked again");
        assert_eq!(connector.parse_refund_status(&send(&ask), sar(2000)).unwrap().status, OperationStatus::Pending);
        // The pending 20.00 is reserved: 45.50 - 10.00 - 20.00 leaves 15.50.
        let over = send(&connector.build_refund(&charge, &charge, &sar(1600), "r-2"));
        assert_eq!(over.status, 400);

        assert!(fake.settle_refund(&held.id, RefundOutcome::Failed));
        assert!(!fake.settle_refund(&held.id, RefundOutcome::Refunded), "a settled refund stays settled");
        let failed = connector.parse_refund_status(&send(&ask), sar(2000)).unwrap();
        assert!(matches!(failed.status, OperationStatus::Failed(ref e) if e.code == "refund_declined"), "{failed:?}");

        let again = connector
            .parse_refund(&send(&connector.build_refund(&charge, &charge, &sar(3000), "r-3")), sar(3000))
            .unwrap();
        assert_eq!(again.status, OperationStatus::Pending, "a failed refund gave its amount back");
        assert!(fake.settle_refund(&again.id, RefundOutcome::Refunded));
        let ask = connector.build_refund_status(&again.id).unwrap();
        assert_eq!(connector.parse_refund_status(&send(&ask), sar(3000)).unwrap().status, OperationStatus::Succeeded);
        assert_eq!(fake.refunds_of(&charge).len(), 3);

        let missing = send(&connector.build_refund_status("re_nope").unwrap());
        assert_eq!(missing.status, 404);
    }

    /// The public key hash of `flows::applepay_token`'s header.
    const KEY_HASH: &str = "LbsUwAT6w1JV9tFXocU813TCHks+LSuFF0R/eBkrWnQ=";

    fn applepay_connector(fake: &FakeTap) -> Connector {
        Box::new(tap::Config {
            api_base: fake.api_base(),
            secret_key: Secret::new(KEY),
            applepay_merchant: Some("merchant.sa.bawaba.test".into()),
        })
    }

    #[test]
    fn apple_pay_tokens_are_exchanged_once_then_charged_once() {
        use bawaba_core::gateway::connector::Start;
        use bawaba_core::gateway::{GatewayError, SessionFlow, StartInput, Wallet};
        use bawaba_core::method::PaymentMethod;
        let fake = FakeTap::start(KEY);
        let connector = applepay_connector(&fake);
        let sar = Money::new(25000, Currency::parse("SAR").unwrap());
        let token = crate::flows::applepay_token_with("mada", &applepay_data("approve", "MADA"));
        let wallet = Wallet::Applepay { token: token.clone() };
        let input = StartInput {
            reference: "dukkan:fake-ap",
            money: sar,
            method: PaymentMethod::Applepay,
            return_url: "http://edge/v1/return/tap/ps_1",
            webhook_url: "http://127.0.0.1:9/v1/webhooks/tap",
            locale: "en",
            customer_name: None,
            description: "dukkan fake-ap",
            customer_email: None,
            session_key: "k",
            expires_at: None,
            now: None,
            wallet: Some(&wallet),
        };
        let Start::Prepare(exchange) = connector.build_start(&input).unwrap() else { panic!("a token first") };
        let refused = connector.continue_start(&input, &send(&exchange));
        assert!(matches!(refused, Err(GatewayError::Rejected { status: 400, .. })), "not set up yet: {refused:?}");
        fake.enable_applepay(KEY_HASH);
        let answered = send(&exchange);
        assert_eq!(answered.status, 200, "{}", String::from_utf8_lossy(&answered.body));
        let sent = fake.token_requests().pop().unwrap();
        assert_eq!(sent["token_data"], serde_json::from_str::<Value>(&token).unwrap()["paymentData"]);
        let Start::Call(charge) = connector.continue_start(&input, &answered).unwrap() else { panic!("the charge") };
        let created = send(&charge);
        let session = connector.parse_start_for(&input, &created).unwrap();
        assert_eq!(session.flow, SessionFlow::Direct, "captured at once");
        let paid = connector.parse_fetch_direct(&send(&connector.build_fetch_direct(&session.id)), &sar).unwrap();
        assert_eq!(paid.state, bawaba_core::payment::PaymentState::Paid);
        assert_eq!((paid.card_brand.as_deref(), paid.money), (Some("mada"), sar));
        assert_eq!(send(&charge).status, 400, "a tok_ is charged once");
        assert_eq!(send(&exchange).status, 400, "an Apple Pay token is exchanged once");
        assert_eq!(fake.charges_for("dukkan:fake-ap").len(), 1);

        // Encrypted for another certificate, or not Apple Pay's shape: refused.
        let other = json!({"type": "applepay", "token_data": {"version": "EC_v1", "data": applepay_data("approve", "VISA"),
            "signature": "c2ln", "header": {"ephemeralPublicKey": "a2V5", "publicKeyHash": "b3RoZXI=", "transactionId": "t2"}}});
        let no_key = json!({"type": "applepay", "token_data": {"version": "EC_v1", "data": applepay_data("approve", "VISA"),
            "signature": "c2ln", "header": {"publicKeyHash": KEY_HASH, "transactionId": "t3"}}});
        let gibberish = json!({"type": "applepay", "token_data": {"version": "EC_v1", "data": "bm9pc2U=",
            "signature": "c2ln", "header": {"ephemeralPublicKey": "a2V5", "publicKeyHash": KEY_HASH, "transactionId": "t4"}}});
        for body in [other, no_key, gibberish, json!({"type": "card", "token_data": {}})] {
            let reply = crate::http::post_with_headers(
                &format!("{}/tokens", fake.api_base()),
                &[("Authorization", &format!("Bearer {KEY}")), ("Content-Type", "application/json")],
                body.to_string().as_bytes(),
            );
            assert_eq!(reply.status, 400, "{body}");
            assert!(reply.json()["errors"][0]["description"].is_string());
        }
        let wrong_key = crate::http::post_with_headers(
            &format!("{}/tokens", fake.api_base()),
            &[("Authorization", "Bearer sk_test_other"), ("Content-Type", "application/json")],
            b"{}",
        );
        assert_eq!(wrong_key.status, 401);
    }
}
