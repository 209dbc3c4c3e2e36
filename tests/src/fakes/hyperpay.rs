//! A fake HyperPay (OPPWA COPYandPAY): `POST /v1/checkouts` (form-encoded, Bearer token, one
//! entity per channel), `GET /v1/checkouts/{id}/payment?entityId=` (the status, on the
//! checkout's own entity only), `POST /v1/payments/{id}` (`RF` refunds, partial, never more than
//! was paid; `RV` reversals; `CP` refused on a debit), OPPWA's `{result:{code,description}}`
//! bodies (a declined payment answers HTTP 400 with the payment, as OPPWA does [U]), and
//! `GET /v1/paymentWidgets.js?checkoutId=` — a tiny widget that replaces the page's
//! `form.paymentWidgets` with buttons (approve, decline, hold for review, fail 3-D Secure) and
//! submits the outcome here, after which the browser goes to the form's action (the
//! shopperResultUrl) with `id` and `resourcePath`, as HyperPay's widget does. Each payment is
//! then notified to the registered webhook URL, encrypted with AES-256-GCM under the webhook key
//! (hex IV and tag in `X-Initialization-Vector` / `X-Authentication-Tag`, hex body).
//!
//! Apple Pay server-to-server (`POST /v1/payments` with `applePay.paymentToken`, then
//! `GET /v1/payments/{id}?entityId=`): taken on the Apple Pay entity only (another channel's
//! entity answers `600.200.500`, an unknown one `800.900.100`), the token must have Apple's shape
//! (`paymentData{version, data, signature, header{ephemeralPublicKey|wrappedKey, publicKeyHash,
//! transactionId}}` as JSON, `applePay.source` `web`), and the outcome is the marker in the
//! token's `paymentData.data` (base64 of a word): `approve` → `000.100.110`, `decline` →
//! `800.100.155`, `review` → `000.400.000`, `3ds` → `000.200.000` with a `redirect` to the fake's
//! 3-D Secure page (which approves and sends the shopper to `shopperResultUrl`), anything else →
//! `800.100.151` (invalid card). Each such request's fields are kept
//! ([`FakeHyperPay::payment_requests`]).
//!
//! The fake records which entity each call used ([`FakeHyperPay::calls`]).

use super::{form, header, html_response, json_response, new_id, serve, unhealthy, Health, Switches};
use bawaba_core::gateway::hyperpay::webhook;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// What the shopper does in the widget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// `000.100.110`: success in integrator test mode.
    Approve,
    /// `800.100.155`: declined by the bank (amount exceeds credit).
    Decline,
    /// `000.400.000`: succeeded, to be reviewed manually (fraud suspicion).
    Review,
    /// `100.380.401`: 3-D Secure authentication failed.
    ThreeDsFail,
}

impl Outcome {
    fn from_word(w: &str) -> Option<Outcome> {
        Some(match w {
            "approve" => Outcome::Approve,
            "decline" => Outcome::Decline,
            "review" => Outcome::Review,
            "3ds_fail" => Outcome::ThreeDsFail,
            _ => return None,
        })
    }

    fn result(self) -> (&'static str, &'static str) {
        match self {
            Outcome::Approve => ("000.100.110", "Request successfully processed in 'Merchant in Integrator Test Mode'"),
            Outcome::Decline => ("800.100.155", "transaction declined (amount exceeds credit)"),
            Outcome::Review => ("000.400.000", "Transaction succeeded (please review manually due to fraud suspicion)"),
            Outcome::ThreeDsFail => ("100.380.401", "User Authentication Failed"),
        }
    }
}

/// One API call as the fake saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// `checkout`, `status`, `RF`, `RV`, `CP`.
    pub op: String,
    /// The checkout or payment it was about (empty for a new checkout).
    pub id: String,
    /// The `entityId` it carried.
    pub entity: String,
}

/// A webhook as sent: `(IV hex, tag hex, body hex)`.
pub type Delivery = (String, String, String);

#[derive(Default)]
struct State {
    token: String,
    entities: Vec<(String, &'static str)>,
    key: [u8; 32],
    webhook_url: Option<String>,
    checkouts: HashMap<String, Value>,
    payments: HashMap<String, Value>,
    refunded: HashMap<String, i64>,
    tampered: HashMap<String, String>,
    tampered_references: HashMap<String, String>,
    payment_requests: Vec<Vec<(String, String)>>,
    calls: Vec<Call>,
    deliveries: Vec<Delivery>,
}

/// The fake.
#[derive(Clone)]
pub struct FakeHyperPay {
    /// `http://127.0.0.1:<port>`: the API base (`HYPERPAY_API_BASE`).
    pub base: String,
    state: Arc<Mutex<State>>,
    switches: Switches,
    sent: Arc<Mutex<u32>>,
}

type Reply = tiny_http::Response<std::io::Cursor<Vec<u8>>>;

fn result_body(code: &str, description: &str) -> Value {
    json!({"result": {"code": code, "description": description}, "buildNumber": "fake@2026", "timestamp": "2026-12-03 06:00:00+0000", "ndc": new_id()})
}

/// Cents from `"45.50"`: exactly two decimals, as OPPWA's amount pattern wants [U].
fn cents(amount: &str) -> Option<i64> {
    let (int, frac) = amount.split_once('.')?;
    if int.is_empty()
        || int.len() > 10
        || frac.len() != 2
        || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
    {
        return None;
    }
    Some(int.parse::<i64>().ok()? * 100 + frac.parse::<i64>().ok()?)
}

fn amount_of(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// Removes what the fake keeps for itself from a payment it shows.
fn strip_internal(payment: &mut Value) {
    if let Some(o) = payment.as_object_mut() {
        o.remove("entity");
        o.remove("shopperResultUrl");
    }
}

/// The outcome marker of an Apple Pay token sent as `applePay.paymentToken`: Apple's
/// `paymentData` as JSON (the reading Bawaba chose, [U] in docs/gateways/hyperpay.md); `None`
/// if it is not that shape (the whole token included, so that sending it is noticed).
fn apple_marker(token: &str) -> Option<String> {
    use base64::Engine;
    let v: Value = serde_json::from_str(token).ok()?;
    let data = &v;
    let b64 = |s: &Value| {
        s.as_str().filter(|s| !s.is_empty()).and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
    };
    let header = &data["header"];
    let shaped = matches!(data["version"].as_str(), Some("EC_v1" | "RSA_v1"))
        && b64(&data["signature"]).is_some()
        && (b64(&header["ephemeralPublicKey"]).is_some() || b64(&header["wrappedKey"]).is_some())
        && b64(&header["publicKeyHash"]).is_some()
        && header["transactionId"].as_str().is_some_and(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_hexdigit()));
    if !shaped {
        return None;
    }
    String::from_utf8(b64(&data["data"])?).ok()
}

impl FakeHyperPay {
    /// Starts it with a bearer `token`, its entities (`(id, "mada"|"card"|"applepay")`) and the
    /// webhook key (64 hex digits).
    pub fn start(token: &str, entities: &[(&str, &'static str)], webhook_key_hex: &str) -> FakeHyperPay {
        let key: [u8; 32] = hex::decode(webhook_key_hex).expect("hex").try_into().expect("32 bytes");
        let state = Arc::new(Mutex::new(State {
            token: token.into(),
            entities: entities.iter().map(|(id, k)| (id.to_string(), *k)).collect(),
            key,
            ..State::default()
        }));
        let switches = Switches::default();
        let sent = Arc::new(Mutex::new(0));
        let base = Arc::new(Mutex::new(String::new()));
        let inner =
            FakeHyperPay { base: String::new(), state: state.clone(), switches: switches.clone(), sent: sent.clone() };
        let b = base.clone();
        let port = serve(move |req, body, segs| {
            let mut me = inner.clone();
            me.base = b.lock().unwrap().clone();
            me.handle(req, body, segs)
        });
        *base.lock().unwrap() = format!("http://127.0.0.1:{port}");
        FakeHyperPay { base: format!("http://127.0.0.1:{port}"), state, switches, sent }
    }

    /// Where payments are notified (registered at HyperPay, not per request).
    pub fn set_webhook_url(&self, url: &str) {
        self.state.lock().unwrap().webhook_url = Some(url.into());
    }

    /// Makes the API fail or hang.
    pub fn set_health(&self, health: Health) {
        *self.switches.health.lock().unwrap() = health;
    }

    /// Changes the accepted token.
    pub fn set_token(&self, token: &str) {
        self.state.lock().unwrap().token = token.into();
    }

    /// Makes the status of one checkout report another amount.
    pub fn tamper_amount(&self, checkout_id: &str, amount: &str) {
        self.state.lock().unwrap().tampered.insert(checkout_id.into(), amount.into());
    }

    /// Makes HyperPay record any server-to-server payment for `reference` with another amount
    /// (its answer and its status then say `amount`).
    pub fn tamper_payment_amount(&self, reference: &str, amount: &str) {
        self.state.lock().unwrap().tampered_references.insert(reference.into(), amount.into());
    }

    /// The form fields of every server-to-server payment asked (`POST /v1/payments`), oldest first.
    pub fn payment_requests(&self) -> Vec<Vec<(String, String)>> {
        self.state.lock().unwrap().payment_requests.clone()
    }

    /// A payment as the fake holds it (with the `entity` it was made on).
    pub fn payment(&self, id: &str) -> Option<Value> {
        self.state.lock().unwrap().payments.get(id).cloned()
    }

    /// Every API call so far, oldest first.
    pub fn calls(&self) -> Vec<Call> {
        self.state.lock().unwrap().calls.clone()
    }

    /// Webhooks delivered (answered 2xx) so far.
    pub fn webhooks_sent(&self) -> u32 {
        *self.sent.lock().unwrap()
    }

    /// Every webhook built so far, oldest first.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.state.lock().unwrap().deliveries.clone()
    }

    /// A checkout as the fake holds it.
    pub fn checkout(&self, id: &str) -> Option<Value> {
        self.state.lock().unwrap().checkouts.get(id).cloned()
    }

    /// A payment's refunded cents.
    pub fn refunded(&self, payment_id: &str) -> i64 {
        self.state.lock().unwrap().refunded.get(payment_id).copied().unwrap_or(0)
    }

    /// The shopper's action in the widget, without a browser: what the widget's button does.
    /// Returns the fake's answer (303 to `shopper_result_url?id=…&resourcePath=…`).
    pub fn pay(&self, checkout_id: &str, outcome: Outcome, shopper_result_url: &str) -> crate::http::Reply {
        let word = match outcome {
            Outcome::Approve => "approve",
            Outcome::Decline => "decline",
            Outcome::Review => "review",
            Outcome::ThreeDsFail => "3ds_fail",
        };
        crate::http::post_form(
            &format!("{}/fake/pay/{checkout_id}", self.base),
            &[("outcome", word), ("shopperResultUrl", shopper_result_url)],
        )
    }

    fn kind_of(&self, entity: &str) -> Option<&'static str> {
        self.state.lock().unwrap().entities.iter().find(|(id, _)| id == entity).map(|(_, k)| *k)
    }

    fn record(&self, op: &str, id: &str, entity: &str) {
        self.state.lock().unwrap().calls.push(Call { op: op.into(), id: id.into(), entity: entity.into() });
    }

    fn handle(&self, req: tiny_http::Request, body: String, segments: Vec<String>) {
        // Path segments arrive percent-encoded (`%2E` for a dot), as a real server decodes them.
        let segments: Vec<String> = segments.iter().map(|s| super::decode(s)).collect();
        let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
        let method = req.method().as_str().to_string();
        let query: Vec<(String, String)> = form(req.url().split_once('?').map(|(_, q)| q).unwrap_or(""));
        let q = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
        let api = segs.first() == Some(&"v1") && segs.get(1) != Some(&"paymentWidgets.js");
        let req = if api {
            let failure = result_body("900.100.100", "unexpected communication error with connector/acquirer");
            let Some(req) = unhealthy(&self.switches, req, &failure) else { return };
            let token = self.state.lock().unwrap().token.clone();
            if header(&req, "Authorization") != Some(format!("Bearer {token}")) {
                let _ =
                    req.respond(json_response(401, &result_body("800.900.300", "invalid authentication information")));
                return;
            }
            req
        } else {
            req
        };
        let reply = match (method.as_str(), segs.as_slice()) {
            ("POST", ["v1", "checkouts"]) => self.create(&body),
            ("GET", ["v1", "checkouts", id, "payment"]) => self.status(id, &q("entityId")),
            ("POST", ["v1", "payments"]) => self.server_to_server(&body),
            ("GET", ["v1", "payments", id]) => self.payment_status(id, &q("entityId")),
            ("POST", ["v1", "payments", id]) => self.operation(id, &body),
            ("POST", ["fake", "3ds", id]) => self.three_ds_done(id, &body),
            ("GET", ["v1", "paymentWidgets.js"]) => self.widget(&q("checkoutId")),
            ("POST", ["fake", "pay", id]) => self.shopper_pays(id, &body),
            _ => json_response(404, &result_body("200.300.404", "invalid or missing parameter")),
        };
        let _ = req.respond(reply);
    }

    fn create(&self, body: &str) -> Reply {
        let f = form(body);
        let get = |n: &str| f.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
        let entity = get("entityId").unwrap_or_default();
        self.record("checkout", "", &entity);
        let Some(kind) = self.kind_of(&entity) else {
            return json_response(400, &result_body("800.900.100", "sender authorization failed"));
        };
        let amount = get("amount").unwrap_or_default();
        let Some(c) = cents(&amount).filter(|c| *c > 0) else {
            let mut b = result_body("200.300.404", "invalid or missing parameter");
            b["result"]["parameterErrors"] =
                json!([{"name": "amount", "value": amount, "message": "must match ^[0-9]{1,10}(\\.[0-9]{2})?$"}]);
            return json_response(400, &b);
        };
        let (Some(currency), Some(reference)) = (get("currency"), get("merchantTransactionId")) else {
            return json_response(400, &result_body("200.300.404", "invalid or missing parameter"));
        };
        if get("paymentType").as_deref() != Some("DB") {
            return json_response(400, &result_body("200.300.404", "invalid or missing parameter"));
        }
        let id = format!("{}.uat01-vm-tx04", new_id().replace('-', "").to_uppercase());
        let checkout = json!({"id": id, "entity": entity, "kind": kind, "cents": c, "currency": currency,
            "merchantTransactionId": reference, "payment": null,
            "customer": {"email": get("customer.email"), "givenName": get("customer.givenName"), "surname": get("customer.surname")}});
        self.state.lock().unwrap().checkouts.insert(id.clone(), checkout);
        let mut b = result_body("000.200.100", "successfully created checkout");
        b["id"] = json!(id);
        json_response(200, &b)
    }

    fn status(&self, id: &str, entity: &str) -> Reply {
        self.record("status", id, entity);
        let state = self.state.lock().unwrap();
        let Some(checkout) = state.checkouts.get(id) else {
            return json_response(400, &result_body("200.300.404", "No payment session found for the requested id"));
        };
        if checkout["entity"] != entity {
            return json_response(400, &result_body("800.900.100", "sender authorization failed"));
        }
        let Some(payment_id) = checkout["payment"].as_str() else {
            return json_response(200, &result_body("000.200.000", "transaction pending"));
        };
        let mut payment = state.payments[payment_id].clone();
        if let Some(a) = state.tampered.get(id) {
            payment["amount"] = json!(a);
        }
        let ok = payment["result"]["code"].as_str().is_some_and(|c| c.starts_with("000."));
        json_response(if ok { 200 } else { 400 }, &payment)
    }

    fn widget(&self, checkout_id: &str) -> Reply {
        if self.checkout(checkout_id).is_none() {
            return tiny_http::Response::from_data(b"/* no such checkout */".to_vec()).with_status_code(404);
        }
        let js = format!(
            r#"(function () {{
function mount() {{
  var form = document.querySelector("form.paymentWidgets");
  if (!form) {{ return; }}
  var back = form.getAttribute("action");
  var brands = form.getAttribute("data-brands") || "";
  var pay = document.createElement("form");
  pay.method = "post";
  pay.action = "{base}/fake/pay/{id}";
  var result = document.createElement("input");
  result.type = "hidden"; result.name = "shopperResultUrl"; result.value = back;
  pay.appendChild(result);
  var label = document.createElement("p");
  label.id = "hp-brands"; label.textContent = brands;
  pay.appendChild(label);
  ["approve", "decline", "review", "3ds_fail"].forEach(function (o) {{
    var b = document.createElement("button");
    b.type = "submit"; b.name = "outcome"; b.value = o; b.id = "hp-" + o; b.textContent = o;
    pay.appendChild(b);
  }});
  form.appendChild(pay);
}}
// Loaded in the page's head, like HyperPay's: the form is there once the document is parsed.
if (document.readyState === "loading") {{ document.addEventListener("DOMContentLoaded", mount); }} else {{ mount(); }}
}})();"#,
            base = self.base,
            id = checkout_id
        );
        tiny_http::Response::from_data(js.into_bytes())
            .with_status_code(200)
            .with_header(tiny_http::Header::from_bytes("Content-Type", "application/javascript").expect("header"))
    }

    fn shopper_pays(&self, id: &str, body: &str) -> Reply {
        let f = form(body);
        let get = |n: &str| f.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone()).unwrap_or_default();
        let Some(outcome) = Outcome::from_word(&get("outcome")) else {
            return html_response(400, "<p>no outcome</p>".into());
        };
        let back = get("shopperResultUrl");
        let payment = {
            let mut state = self.state.lock().unwrap();
            let Some(checkout) = state.checkouts.get(id).cloned() else {
                return html_response(404, "<p>no such checkout</p>".into());
            };
            if !checkout["payment"].is_null() {
                return html_response(409, "<p>this checkout is paid</p>".into());
            }
            let (code, description) = outcome.result();
            let brand = match checkout["kind"].as_str() {
                Some("mada") => "MADA",
                Some("applepay") => "APPLEPAY",
                _ => "VISA",
            };
            let payment_id = format!("8ac7{}", new_id().replace('-', ""));
            let payment = json!({"id": payment_id, "paymentType": "DB", "paymentBrand": brand,
                "amount": amount_of(checkout["cents"].as_i64().unwrap_or(0)), "currency": checkout["currency"],
                "descriptor": "1234.5678.9012 Bawaba", "merchantTransactionId": checkout["merchantTransactionId"],
                "result": {"code": code, "description": description},
                "card": {"bin": if brand == "MADA" { "440647" } else { "420000" }, "last4Digits": "0091", "holder": "Test", "expiryMonth": "05", "expiryYear": "2034"},
                "buildNumber": "fake@2026", "timestamp": "2026-12-03 06:00:00+0000", "ndc": id,
                "entity": checkout["entity"]});
            state.payments.insert(payment_id.clone(), payment.clone());
            if let Some(c) = state.checkouts.get_mut(id) {
                c["payment"] = json!(payment_id);
            }
            payment
        };
        self.notify(&payment);
        let sep = if back.contains('?') { '&' } else { '?' };
        let resource = crate::http::urlencode(&format!("/v1/checkouts/{id}/payment"));
        tiny_http::Response::from_data(Vec::new()).with_status_code(303).with_header(
            tiny_http::Header::from_bytes("Location", format!("{back}{sep}id={id}&resourcePath={resource}"))
                .expect("header"),
        )
    }

    /// Encrypts `{type: PAYMENT, payload}` and posts it to the webhook URL in the background.
    fn notify(&self, payment: &Value) {
        let mut payload = payment.clone();
        strip_internal(&mut payload);
        let plain = json!({"type": "PAYMENT", "payload": payload}).to_string();
        let (delivery, url) = {
            let mut state = self.state.lock().unwrap();
            let iv: [u8; 12] = {
                let n = new_id().replace('-', "");
                let bytes = n.as_bytes();
                std::array::from_fn(|i| bytes[i % bytes.len()] ^ (i as u8).wrapping_mul(31))
            };
            let delivery = webhook::encrypt(&state.key, &iv, plain.as_bytes());
            state.deliveries.push(delivery.clone());
            (delivery, state.webhook_url.clone())
        };
        if let Some(url) = url {
            let (iv, tag, body) = delivery;
            super::post_later(
                url,
                vec![
                    ("Content-Type".into(), "text/plain".into()),
                    (webhook::IV_HEADER.into(), iv),
                    (webhook::TAG_HEADER.into(), tag),
                ],
                body,
                self.sent.clone(),
            );
        }
    }

    /// `POST /v1/payments`: an Apple Pay token, server-to-server.
    fn server_to_server(&self, body: &str) -> Reply {
        let f = form(body);
        let get = |n: &str| f.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
        let entity = get("entityId").unwrap_or_default();
        self.state.lock().unwrap().payment_requests.push(f.clone());
        let missing = |name: &str, why: &str| {
            let mut b = result_body("200.300.404", "invalid or missing parameter");
            b["result"]["parameterErrors"] =
                json!([{"name": name, "value": get(name).unwrap_or_default(), "message": why}]);
            json_response(400, &b)
        };
        let Some(kind) = self.kind_of(&entity) else {
            self.record("payment", "", &entity);
            return json_response(400, &result_body("800.900.100", "sender authorization failed"));
        };
        let Some(token) = get("applePay.paymentToken") else {
            self.record("payment", "", &entity);
            return missing("applePay.paymentToken", "the fake takes Apple Pay tokens only");
        };
        if kind != "applepay" {
            // A token on the card or mada channel: that channel is not set up for Apple Pay.
            self.record("payment", "", &entity);
            return json_response(
                400,
                &result_body(
                    "600.200.500",
                    "Invalid payment data. You are not configured for this currency or sub type (country or brand)",
                ),
            );
        }
        let Some(marker) = apple_marker(&token) else {
            self.record("payment", "", &entity);
            return missing("applePay.paymentToken", "not an Apple Pay payment token");
        };
        if !matches!(get("applePay.source").as_deref(), Some("web" | "app")) {
            self.record("payment", "", &entity);
            return missing("applePay.source", "must be web or app");
        }
        if get("paymentBrand").is_some_and(|b| b != "APPLEPAY") {
            self.record("payment", "", &entity);
            return missing("paymentBrand", "an Apple Pay token pays APPLEPAY");
        }
        let amount = get("amount").unwrap_or_default();
        let (Some(c), Some(currency), Some(reference)) =
            (cents(&amount).filter(|c| *c > 0), get("currency"), get("merchantTransactionId"))
        else {
            self.record("payment", "", &entity);
            return missing("amount", "amount, currency and merchantTransactionId are required");
        };
        if get("paymentType").as_deref() != Some("DB") {
            self.record("payment", "", &entity);
            return missing("paymentType", "DB");
        }
        let (code, description) = match marker.as_str() {
            "approve" => Outcome::Approve.result(),
            "decline" => Outcome::Decline.result(),
            "review" => Outcome::Review.result(),
            "3ds" => ("000.200.000", "transaction pending"),
            _ => ("800.100.151", "transaction declined (invalid card)"),
        };
        let payment_id = format!("8ac7{}", new_id().replace('-', ""));
        self.record("payment", &payment_id, &entity);
        let amount = self.state.lock().unwrap().tampered_references.get(&reference).cloned().unwrap_or(amount_of(c));
        let mut payment = json!({"id": payment_id, "paymentType": "DB", "paymentBrand": "APPLEPAY",
            "amount": amount, "currency": currency, "descriptor": "1234.5678.9012 Bawaba",
            "merchantTransactionId": reference, "result": {"code": code, "description": description},
            "card": {"bin": "440647", "last4Digits": "1010", "expiryMonth": "05", "expiryYear": "2034"},
            "buildNumber": "fake@2026", "timestamp": "2026-12-03 06:00:00+0000", "ndc": new_id(),
            "entity": entity, "shopperResultUrl": get("shopperResultUrl")});
        self.state.lock().unwrap().payments.insert(payment_id.clone(), payment.clone());
        if marker == "3ds" {
            payment["redirect"] = json!({"url": format!("{}/fake/3ds/{payment_id}", self.base), "method": "POST",
                "parameters": [{"name": "PaReq", "value": format!("fake-pareq-{payment_id}")}]});
        } else {
            self.notify(&payment);
        }
        strip_internal(&mut payment);
        let ok = code.starts_with("000.");
        json_response(if ok { 200 } else { 400 }, &payment)
    }

    /// `GET /v1/payments/{id}?entityId=`: on the payment's own entity only.
    fn payment_status(&self, id: &str, entity: &str) -> Reply {
        self.record("payment_status", id, entity);
        let Some(mut payment) = self.payment(id) else {
            return json_response(400, &result_body("700.100.100", "reference id not existing"));
        };
        if payment["entity"] != entity {
            return json_response(400, &result_body("800.900.100", "sender authorization failed"));
        }
        strip_internal(&mut payment);
        let ok = payment["result"]["code"].as_str().is_some_and(|c| c.starts_with("000."));
        json_response(if ok { 200 } else { 400 }, &payment)
    }

    /// The fake's 3-D Secure page, posted by the shopper's browser: approves (or, with
    /// `outcome=fail`, fails) and sends the shopper to the payment's `shopperResultUrl`.
    fn three_ds_done(&self, id: &str, body: &str) -> Reply {
        let f = form(body);
        let fail = f.iter().any(|(k, v)| k == "outcome" && v == "fail");
        let pareq_ok = f.iter().any(|(k, v)| k == "PaReq" && *v == format!("fake-pareq-{id}"));
        let payment = {
            let mut state = self.state.lock().unwrap();
            let Some(p) = state.payments.get_mut(id) else {
                return html_response(404, "<p>no such payment</p>".into());
            };
            if !pareq_ok || p["result"]["code"] != "000.200.000" {
                return html_response(400, "<p>not waiting for 3-D Secure</p>".into());
            }
            let (code, description) = if fail { Outcome::ThreeDsFail.result() } else { Outcome::Approve.result() };
            p["result"] = json!({"code": code, "description": description});
            p.clone()
        };
        self.notify(&payment);
        let back = payment["shopperResultUrl"].as_str().unwrap_or_default().to_string();
        let sep = if back.contains('?') { '&' } else { '?' };
        let resource = crate::http::urlencode(&format!("/v1/payments/{id}"));
        tiny_http::Response::from_data(Vec::new()).with_status_code(303).with_header(
            tiny_http::Header::from_bytes("Location", format!("{back}{sep}id={id}&resourcePath={resource}"))
                .expect("header"),
        )
    }

    fn operation(&self, payment_id: &str, body: &str) -> Reply {
        let f = form(body);
        let get = |n: &str| f.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone()).unwrap_or_default();
        let (entity, kind) = (get("entityId"), get("paymentType"));
        self.record(&kind, payment_id, &entity);
        let mut state = self.state.lock().unwrap();
        let Some(payment) = state.payments.get(payment_id).cloned() else {
            return json_response(400, &result_body("700.100.100", "reference id not existing"));
        };
        if payment["entity"] != entity.as_str() {
            return json_response(400, &result_body("800.900.100", "sender authorization failed"));
        }
        let paid =
            payment["result"]["code"].as_str().is_some_and(|c| c.starts_with("000.000.") || c.starts_with("000.100.1"));
        let total = cents(payment["amount"].as_str().unwrap_or("")).unwrap_or(0);
        let done = state.refunded.get(payment_id).copied().unwrap_or(0);
        let new_id = format!("8ac7{}", new_id().replace('-', ""));
        let answer = |code: &str, description: &str, amount: Option<i64>| {
            let mut b = result_body(code, description);
            b["id"] = json!(new_id);
            b["referencedId"] = json!(payment_id);
            b["paymentType"] = json!(kind);
            if let Some(a) = amount {
                b["amount"] = json!(amount_of(a));
                b["currency"] = payment["currency"].clone();
            }
            b
        };
        match kind.as_str() {
            "RF" => {
                let Some(amount) = cents(&get("amount")).filter(|a| *a > 0) else {
                    return json_response(400, &result_body("200.300.404", "invalid or missing parameter"));
                };
                if get("currency") != payment["currency"].as_str().unwrap_or("") {
                    return json_response(
                        400,
                        &result_body("100.550.310", "amount exceeds limit for the registered account"),
                    );
                }
                if !paid || done + amount > total {
                    let b = answer(
                        "700.400.200",
                        "cannot refund (refund volume exceeded or tx reversed or invalid workflow)",
                        None,
                    );
                    return json_response(400, &b);
                }
                state.refunded.insert(payment_id.into(), done + amount);
                json_response(
                    200,
                    &answer(
                        "000.100.110",
                        "Request successfully processed in 'Merchant in Integrator Test Mode'",
                        Some(amount),
                    ),
                )
            }
            "RV" if paid && done == 0 => {
                state.refunded.insert(payment_id.into(), total);
                json_response(
                    200,
                    &answer(
                        "000.100.110",
                        "Request successfully processed in 'Merchant in Integrator Test Mode'",
                        None,
                    ),
                )
            }
            "RV" => json_response(
                400,
                &answer("700.300.700", "referenced tx can not be reversed (reversal not possible anymore)", None),
            ),
            "CP" => json_response(
                400,
                &answer("700.400.100", "cannot capture (PA value exceeded, PA reverted or invalid workflow?)", None),
            ),
            _ => json_response(400, &result_body("200.300.404", "invalid or missing parameter")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fakes::send;
    use bawaba_core::gateway::connector::{configure, Connector, Start};
    use bawaba_core::gateway::{OperationStatus, StartInput};
    use bawaba_core::method::PaymentMethod;
    use bawaba_core::money::{Currency, Money};
    use bawaba_core::payment::PaymentState;

    const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn the_real_connector_against_the_fake_refunds_on_the_payments_entity_and_never_more() {
        let fake = FakeHyperPay::start("tok", &[("e_mada", "mada"), ("e_card", "card")], KEY);
        let settings = |name: &str| {
            Some(match name {
                "HYPERPAY_ACCESS_TOKEN" => "tok".to_string(),
                "HYPERPAY_MODE" => "test".into(),
                "HYPERPAY_API_BASE" => fake.base.clone(),
                "HYPERPAY_ENTITY_ID_MADA" => "e_mada".into(),
                "HYPERPAY_ENTITY_ID_CARD" => "e_card".into(),
                "HYPERPAY_WEBHOOK_KEY" => KEY.into(),
                _ => return None,
            })
        };
        let connector: Connector = configure("hyperpay", &settings, "http://edge").unwrap();
        let sar = |minor| Money::new(minor, Currency::parse("SAR").unwrap());
        let input = StartInput {
            reference: "demo:S1",
            money: sar(4550),
            method: PaymentMethod::Mada,
            return_url: "http://edge/v1/return/hyperpay/s1",
            webhook_url: "http://edge/v1/webhooks/hyperpay",
            locale: "ar",
            customer_name: None,
            description: "d",
            customer_email: None,
            session_key: "k",
            expires_at: None,
            now: None,
            wallet: None,
        };
        let Start::Call(req) = connector.build_start(&input).unwrap() else { panic!("a call") };
        let session = connector.parse_start_for(&input, &send(&req)).unwrap();
        let checkout = session.id.strip_prefix("mada:").unwrap().to_string();
        let open = connector.parse_fetch(&send(&connector.build_fetch(&session.id)), &sar(4550));
        assert!(open.is_err(), "no payment yet: {open:?}");
        assert_eq!(fake.pay(&checkout, Outcome::Approve, "http://edge/r").status, 303);
        let paid = connector.parse_fetch(&send(&connector.build_fetch(&session.id)), &sar(4550)).unwrap();
        assert_eq!((paid.state, paid.money, paid.reference.as_str()), (PaymentState::Paid, sar(4550), "demo:S1"));
        let payment_id = paid.transaction_id.unwrap();

        let refund = |amount| {
            let req = connector.build_refund(&session.id, &payment_id, &sar(amount), "r");
            connector.parse_refund(&send(&req), sar(amount)).unwrap()
        };
        assert_eq!(refund(4000).status, OperationStatus::Succeeded);
        let over = refund(551);
        assert!(
            matches!(over.status, OperationStatus::Failed(ref e) if e.code == "refund_declined" && e.message.contains("700.400.200")),
            "{over:?}"
        );
        assert_eq!(refund(550).status, OperationStatus::Succeeded);
        assert_eq!(fake.refunded(&payment_id), 4550);
        assert!(fake.calls().iter().all(|c| c.entity == "e_mada"), "{:?}", fake.calls());
        // The card entity cannot act on a mada payment (the fake refuses, as HyperPay would).
        let wrong = connector.build_refund(&format!("card:{checkout}"), &payment_id, &sar(1), "r");
        let answer = connector.parse_refund(&send(&wrong), sar(1)).unwrap();
        assert!(matches!(answer.status, OperationStatus::Failed(_)), "{answer:?}");
    }

    fn applepay_token(word: &str) -> String {
        use base64::Engine;
        crate::flows::applepay_token_with("mada", &base64::engine::general_purpose::STANDARD.encode(word))
    }

    #[test]
    fn the_real_connector_charges_apple_pay_tokens_on_the_apple_pay_entity_only() {
        use bawaba_core::gateway::{GatewayError, SessionFlow, Wallet};
        let fake = FakeHyperPay::start("tok", &[("e_card", "card"), ("e_apple", "applepay")], KEY);
        let settings = |apple: &'static str| {
            let base = fake.base.clone();
            move |name: &str| {
                Some(match name {
                    "HYPERPAY_ACCESS_TOKEN" => "tok".to_string(),
                    "HYPERPAY_MODE" => "test".into(),
                    "HYPERPAY_API_BASE" => base.clone(),
                    "HYPERPAY_ENTITY_ID_CARD" => "e_card".into(),
                    "HYPERPAY_ENTITY_ID_APPLEPAY" => apple.into(),
                    "HYPERPAY_WEBHOOK_KEY" => KEY.into(),
                    "APPLE_PAY_MERCHANT_ID" => "merchant.sa.bawaba.test".into(),
                    _ => return None,
                })
            }
        };
        let connector: Connector = configure("hyperpay", &settings("e_apple"), "http://edge").unwrap();
        let sar = |minor| Money::new(minor, Currency::parse("SAR").unwrap());
        let start = |c: &Connector, reference: &'static str, word: &str| {
            let wallet = Wallet::Applepay { token: applepay_token(word) };
            let input = StartInput {
                reference,
                money: sar(25000),
                method: PaymentMethod::Applepay,
                return_url: "http://edge/v1/return/hyperpay/s1",
                webhook_url: "http://edge/v1/webhooks/hyperpay",
                locale: "en",
                customer_name: None,
                description: "d",
                customer_email: None,
                session_key: "k",
                expires_at: None,
                now: None,
                wallet: Some(&wallet),
            };
            let Start::Call(req) = c.build_start(&input).unwrap() else { panic!("a call") };
            c.parse_start_for(&input, &send(&req))
        };
        let read = |c: &Connector, id: &str| c.parse_fetch_direct(&send(&c.build_fetch_direct(id)), &sar(25000));
        for (word, state) in [
            ("approve", PaymentState::Paid),
            ("decline", PaymentState::Failed),
            ("review", PaymentState::Pending),
            ("other", PaymentState::Failed),
        ] {
            let session = start(&connector, "demo:AP1", word).unwrap();
            assert_eq!(session.flow, SessionFlow::Direct, "{word}");
            let p = read(&connector, &session.id).unwrap();
            assert_eq!((p.state, p.money, p.reference.as_str()), (state, sar(25000), "demo:AP1"), "{word}");
        }
        let sent = fake.payment_requests().last().cloned().unwrap();
        let field = |n: &str| sent.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
        assert_eq!(field("entityId").as_deref(), Some("e_apple"));
        assert_eq!(field("shopperResultUrl").as_deref(), Some("http://edge/v1/return/hyperpay/s1"));
        assert!(fake.calls().iter().filter(|c| c.op.starts_with("payment")).all(|c| c.entity == "e_apple"));

        // A refund of an Apple Pay payment goes to its entity.
        let paid = start(&connector, "demo:AP2", "approve").unwrap();
        let payment_id = paid.id.strip_prefix("applepay-payment:").unwrap().to_string();
        let refund = connector.build_refund(&paid.id, &payment_id, &sar(1000), "r");
        assert_eq!(connector.parse_refund(&send(&refund), sar(1000)).unwrap().status, OperationStatus::Succeeded);

        // 3-D Secure: HyperPay's page, then back to the edge; the payment is read as before.
        let waiting = start(&connector, "demo:AP3", "3ds").unwrap();
        assert_eq!(waiting.flow, SessionFlow::Hosted);
        assert!(waiting.redirect_url.starts_with(&format!("{}/fake/3ds/", fake.base)), "{}", waiting.redirect_url);
        assert_eq!(read(&connector, &waiting.id).unwrap().state, PaymentState::Pending);
        let fields: Vec<(&str, &str)> =
            waiting.form.as_ref().unwrap().iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let back = crate::http::post_form(&waiting.redirect_url, &fields);
        assert!(back.location.unwrap().starts_with("http://edge/v1/return/hyperpay/s1?id="));
        let p = connector.parse_fetch(&send(&connector.build_fetch(&waiting.id)), &sar(25000)).unwrap();
        assert_eq!(p.state, PaymentState::Paid);

        // Another amount on HyperPay's record: HyperPay's word, which the edge refuses to pay.
        fake.tamper_payment_amount("demo:AP4", "2.50");
        let tampered = start(&connector, "demo:AP4", "approve").unwrap();
        let p = read(&connector, &tampered.id).unwrap();
        assert!(bawaba_core::gateway::check_matches(&p, &sar(25000), "demo:AP4").is_err());

        // The Apple Pay entity set to the card one: the fake refuses the token there.
        let wrong: Connector = configure("hyperpay", &settings("e_card"), "http://edge").unwrap();
        let refused = start(&wrong, "demo:AP5", "approve").unwrap_err();
        assert!(
            matches!(&refused, GatewayError::Rejected { message, .. } if message.contains("600.200.500")),
            "{refused:?}"
        );
        // The fake refuses what is not Apple's paymentData (the whole token, a bare string).
        let body = |token: &str| {
            let fields = [
                ("entityId", "e_apple"),
                ("amount", "1.00"),
                ("currency", "SAR"),
                ("paymentType", "DB"),
                ("merchantTransactionId", "demo:AP6"),
                ("applePay.source", "web"),
                ("applePay.paymentToken", token),
            ];
            let text: Vec<String> = fields
                .iter()
                .map(|(k, v)| format!("{}={}", crate::http::urlencode(k), crate::http::urlencode(v)))
                .collect();
            bawaba_core::gateway::HttpRequest {
                method: bawaba_core::gateway::HttpMethod::Post,
                url: format!("{}/v1/payments", fake.base),
                headers: vec![
                    ("Authorization".into(), "Bearer tok".into()),
                    ("Content-Type".into(), "application/x-www-form-urlencoded".into()),
                ],
                body: Some(text.join("&").into_bytes()),
            }
        };
        for bad in [applepay_token("approve"), "\"abc\"".to_string(), "{}".to_string()] {
            let answer = send(&body(&bad));
            assert_eq!(answer.status, 400, "{bad}");
            assert!(String::from_utf8_lossy(&answer.body).contains("200.300.404"), "{bad}");
        }
        let data = serde_json::from_str::<Value>(&applepay_token("approve")).unwrap()["paymentData"].to_string();
        assert_eq!(send(&body(&data)).status, 200, "Apple's paymentData is taken");
    }
}
