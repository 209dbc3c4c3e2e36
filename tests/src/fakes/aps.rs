//! A fake Amazon Payment Services: the hosted `FortAPI/paymentPage` (a signed form post from
//! the browser; bad signatures refused), its card page with a 3-D Secure step, the return as an
//! auto-submitted form signed with the response phrase, the JSON `FortAPI/paymentApi`
//! (`CHECK_STATUS`, `REFUND`; "Signature mismatch" 00008 for a bad request signature), and
//! transaction feedback (form-encoded, signed) to the URL set in its back office.
//!
//! Test cards (APS's own): `4005550000000001` Visa and `5123456789012346` Mastercard succeed;
//! `4557012345678902` Visa and `4464040000000007` mada ask for 3-D Secure; `4000000000000002`
//! is declined; anything else is declined too.

use super::{form, html_response, json_response, post_later, serve, unhealthy, Health, Switches};
use bawaba_core::gateway::aps::{sign, ShaType};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

/// The merchant's credentials as the fake's back office holds them.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// Merchant identifier.
    pub merchant_identifier: String,
    /// Access code.
    pub access_code: String,
    /// SHA request phrase.
    pub request_phrase: String,
    /// SHA response phrase.
    pub response_phrase: String,
}

#[derive(Default)]
struct State {
    transactions: HashMap<String, BTreeMap<String, String>>,
    feedback_url: Option<String>,
    counter: u64,
}

/// The fake.
#[derive(Clone)]
pub struct FakeAps {
    /// `http://127.0.0.1:<port>` (page and API on one host here).
    pub base: String,
    creds: Arc<Mutex<Credentials>>,
    state: Arc<Mutex<State>>,
    switches: Switches,
    sent: Arc<Mutex<u32>>,
}

type Reply = tiny_http::Response<std::io::Cursor<Vec<u8>>>;

impl FakeAps {
    /// Starts it with these credentials (SHA-256).
    pub fn start(creds: Credentials) -> FakeAps {
        let creds = Arc::new(Mutex::new(creds));
        let state = Arc::new(Mutex::new(State::default()));
        let switches = Switches::default();
        let sent = Arc::new(Mutex::new(0));
        let base = Arc::new(Mutex::new(String::new()));
        let inner = FakeAps {
            base: String::new(),
            creds: creds.clone(),
            state: state.clone(),
            switches: switches.clone(),
            sent: sent.clone(),
        };
        let b = base.clone();
        let port = serve(move |req, body, segs| {
            let mut me = inner.clone();
            me.base = b.lock().unwrap().clone();
            me.handle(req, body, segs)
        });
        *base.lock().unwrap() = format!("http://127.0.0.1:{port}");
        FakeAps { base: format!("http://127.0.0.1:{port}"), creds, state, switches, sent }
    }

    /// Sets the transaction feedback URL (the merchant's back office setting).
    pub fn set_feedback_url(&self, url: &str) {
        self.state.lock().unwrap().feedback_url = Some(url.into());
    }

    /// Makes the API fail or hang.
    pub fn set_health(&self, health: Health) {
        *self.switches.health.lock().unwrap() = health;
    }

    /// Changes the request phrase in the back office (the edge's is now wrong).
    pub fn set_request_phrase(&self, phrase: &str) {
        self.creds.lock().unwrap().request_phrase = phrase.into();
    }

    /// Notifications delivered.
    pub fn feedback_sent(&self) -> u32 {
        *self.sent.lock().unwrap()
    }

    /// Changes what `CHECK_STATUS` reports as the amount of a transaction.
    pub fn tamper_amount(&self, merchant_reference: &str, amount: i64) {
        if let Some(t) = self.state.lock().unwrap().transactions.get_mut(merchant_reference) {
            t.insert("reported_amount".into(), amount.to_string());
        }
    }

    fn signed(&self, mut fields: BTreeMap<String, String>) -> BTreeMap<String, String> {
        let phrase = self.creds.lock().unwrap().response_phrase.clone();
        fields.remove("signature");
        let s = sign(&fields, &phrase, ShaType::Sha256);
        fields.insert("signature".into(), s);
        fields
    }

    fn request_signature_ok(&self, fields: &BTreeMap<String, String>) -> bool {
        let c = self.creds.lock().unwrap().clone();
        fields.get("access_code") == Some(&c.access_code)
            && fields.get("merchant_identifier") == Some(&c.merchant_identifier)
            && fields.get("signature").map(String::as_str)
                == Some(sign(fields, &c.request_phrase, ShaType::Sha256).as_str())
    }

    fn handle(&self, req: tiny_http::Request, body: String, segments: Vec<String>) {
        let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
        let method = req.method().as_str().to_string();
        let req = if segs == ["FortAPI", "paymentApi"] {
            let Some(req) =
                unhealthy(&self.switches, req, &serde_json::json!({"status":"00","response_message":"System error"}))
            else {
                return;
            };
            req
        } else {
            req
        };
        let reply = match (method.as_str(), segs.as_slice()) {
            ("POST", ["FortAPI", "paymentPage"]) => self.page(&body),
            ("POST", ["FortAPI", "paymentPage", reference, "card"]) => self.card(reference, &body),
            ("POST", ["FortAPI", "paymentPage", reference, "3ds"]) => {
                let ok = form(&body).iter().any(|(k, v)| k == "result" && v == "ok");
                self.finish(
                    reference,
                    if ok { ("14", "000", "Success") } else { ("13", "071", "3DS authentication failed") },
                )
            }
            ("POST", ["FortAPI", "paymentApi"]) => self.api(&body),
            _ => html_response(404, "<p>Not found</p>".into()),
        };
        let _ = req.respond(reply);
    }

    fn page(&self, body: &str) -> Reply {
        let fields: BTreeMap<String, String> = form(body).into_iter().collect();
        if !self.request_signature_ok(&fields) {
            return html_response(400, "<p id=error>00008 Signature mismatch</p>".into());
        }
        let reference = fields.get("merchant_reference").cloned().unwrap_or_default();
        let mut t = fields.clone();
        t.insert("stage".into(), "page".into());
        self.state.lock().unwrap().transactions.insert(reference.clone(), t);
        html_response(
            200,
            format!(
                "<!doctype html><html><head><meta charset=utf-8><title>Amazon Payment Services (fake)</title></head><body>\
<h1>Amazon Payment Services</h1><p id=amount>{} {}</p><form method=post action=\"/FortAPI/paymentPage/{reference}/card\">\
<input id=number name=card_number><input id=expiry name=expiry_date value=3005><input id=cvc name=card_security_code value=123>\
<button id=pay type=submit>Pay</button></form></body></html>",
                fields.get("amount").cloned().unwrap_or_default(),
                fields.get("currency").cloned().unwrap_or_default()
            ),
        )
    }

    fn card(&self, reference: &str, body: &str) -> Reply {
        let number: String = form(body)
            .into_iter()
            .find(|(k, _)| k == "card_number")
            .map(|(_, v)| v.chars().filter(char::is_ascii_digit).collect())
            .unwrap_or_default();
        {
            let mut state = self.state.lock().unwrap();
            let Some(t) = state.transactions.get_mut(reference) else {
                return html_response(404, "<p>Not found</p>".into());
            };
            if t.get("stage").map(String::as_str) != Some("page") {
                return html_response(200, "<p id=closed>This transaction is finished.</p>".into());
            }
            let masked = format!(
                "{}******{}",
                &number.get(..6).unwrap_or(""),
                &number.get(number.len().saturating_sub(4)..).unwrap_or("")
            );
            t.insert("card_number".into(), masked);
        }
        match number.as_str() {
            "4005550000000001" | "5123456789012346" => self.finish(reference, ("14", "000", "Success")),
            "4557012345678902" | "4464040000000007" => html_response(
                200,
                format!(
                    "<!doctype html><title>3-D Secure</title><h1>3-D Secure (fake ACS)</h1>\
<form method=post action=\"/FortAPI/paymentPage/{reference}/3ds\"><button id=authenticate name=result value=ok>Authenticate</button>\
<button id=fail name=result value=fail>Fail</button></form>"
                ),
            ),
            "4000000000000002" => self.finish(reference, ("13", "016", "Insufficient Funds")),
            _ => self.finish(reference, ("13", "005", "Transaction declined")),
        }
    }

    fn finish(&self, reference: &str, (status, message_code, message): (&str, &str, &str)) -> Reply {
        let (response, return_url, feedback) = {
            let mut state = self.state.lock().unwrap();
            state.counter += 1;
            let fort_id = format!("1690{:08}{}", state.counter, std::process::id());
            let feedback = state.feedback_url.clone();
            let Some(t) = state.transactions.get_mut(reference) else {
                return html_response(404, "<p>Not found</p>".into());
            };
            t.insert("stage".into(), "done".into());
            t.insert("status".into(), status.into());
            t.insert("response_code".into(), format!("{status}{message_code}"));
            t.insert("response_message".into(), message.into());
            t.insert("fort_id".into(), fort_id.clone());
            let mut r = BTreeMap::new();
            for k in [
                "merchant_reference",
                "amount",
                "currency",
                "payment_option",
                "customer_email",
                "language",
                "card_number",
                "command",
            ] {
                if let Some(v) = t.get(k) {
                    r.insert(k.to_string(), v.clone());
                }
            }
            r.insert("merchant_identifier".into(), t.get("merchant_identifier").cloned().unwrap_or_default());
            r.insert("access_code".into(), t.get("access_code").cloned().unwrap_or_default());
            r.insert("fort_id".into(), fort_id);
            r.insert("status".into(), status.into());
            r.insert("response_code".into(), format!("{status}{message_code}"));
            r.insert("response_message".into(), message.into());
            (r, t.get("return_url").cloned().unwrap_or_default(), feedback)
        };
        let signed = self.signed(response);
        if let Some(url) = feedback {
            let body = signed
                .iter()
                .map(|(k, v)| format!("{}={}", crate::http::urlencode(k), crate::http::urlencode(v)))
                .collect::<Vec<_>>()
                .join("&");
            post_later(
                url,
                vec![("Content-Type".into(), "application/x-www-form-urlencoded".into())],
                body,
                self.sent.clone(),
            );
        }
        let inputs: String = signed
            .iter()
            .map(|(k, v)| format!("<input type=hidden name=\"{k}\" value=\"{}\">", v.replace('"', "&quot;")))
            .collect();
        html_response(
            200,
            format!(
                "<!doctype html><title>Returning</title><form id=back method=post action=\"{return_url}\">{inputs}\
<noscript><button type=submit>Continue</button></noscript></form><script>document.getElementById('back').submit()</script>"
            ),
        )
    }

    fn api(&self, body: &str) -> Reply {
        let Ok(value) = serde_json::from_str::<serde_json::Value>(body) else {
            return json_response(
                200,
                &serde_json::json!({"status":"00","response_code":"00001","response_message":"Invalid JSON"}),
            );
        };
        let fields: BTreeMap<String, String> = value
            .as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        if !self.request_signature_ok(&fields) {
            return json_response(
                200,
                &serde_json::json!({"status":"00","response_code":"00008","response_message":"Signature mismatch"}),
            );
        }
        let reference = fields.get("merchant_reference").cloned().unwrap_or_default();
        let mut state = self.state.lock().unwrap();
        let t = state.transactions.get(&reference).cloned();
        let mut out = BTreeMap::new();
        out.insert("merchant_reference".to_string(), reference.clone());
        if fields.get("query_command").map(String::as_str) == Some("CHECK_STATUS") {
            match t.filter(|t| t.get("stage").map(String::as_str) == Some("done")) {
                None => {
                    out.insert("status".into(), "11".into());
                    out.insert("response_code".into(), "11031".into());
                    out.insert("response_message".into(), "No transaction found".into());
                }
                Some(t) => {
                    out.insert("status".into(), "12".into());
                    out.insert("response_code".into(), "12000".into());
                    out.insert("response_message".into(), "Success".into());
                    out.insert("transaction_status".into(), t["status"].clone());
                    out.insert("transaction_code".into(), t["response_code"].clone());
                    out.insert("transaction_message".into(), t["response_message"].clone());
                    out.insert("amount".into(), t.get("reported_amount").unwrap_or(&t["amount"]).clone());
                    out.insert("currency".into(), t["currency"].clone());
                    out.insert("fort_id".into(), t["fort_id"].clone());
                    for k in ["payment_option", "card_number"] {
                        if let Some(v) = t.get(k) {
                            out.insert(k.into(), v.clone());
                        }
                    }
                }
            }
        } else if fields.get("command").map(String::as_str) == Some("REFUND") {
            let asked: i64 = fields.get("amount").and_then(|a| a.parse().ok()).unwrap_or(0);
            match state.transactions.get_mut(&reference).filter(|t| t.get("status").map(String::as_str) == Some("14")) {
                None => {
                    out.insert("status".into(), "07".into());
                    out.insert("response_code".into(), "07016".into());
                    out.insert("response_message".into(), "Transaction not refundable".into());
                }
                Some(t) => {
                    let total: i64 = t["amount"].parse().unwrap_or(0);
                    let done: i64 = t.get("refunded").and_then(|r| r.parse().ok()).unwrap_or(0);
                    if asked <= 0 || done + asked > total {
                        out.insert("status".into(), "07".into());
                        out.insert("response_code".into(), "07067".into());
                        out.insert("response_message".into(), "Amount exceeds the refundable amount".into());
                    } else {
                        t.insert("refunded".into(), (done + asked).to_string());
                        out.insert("status".into(), "06".into());
                        out.insert("response_code".into(), "06000".into());
                        out.insert("response_message".into(), "Success".into());
                        out.insert("fort_id".into(), t["fort_id"].clone());
                        out.insert("amount".into(), asked.to_string());
                    }
                }
            }
        } else {
            out.insert("status".into(), "00".into());
            out.insert("response_code".into(), "00005".into());
            out.insert("response_message".into(), "Invalid command".into());
        }
        drop(state);
        json_response(200, &serde_json::to_value(self.signed(out)).expect("map"))
    }
}
