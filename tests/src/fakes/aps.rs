//! A fake Amazon Payment Services: the hosted `FortAPI/paymentPage` (a signed form post from
//! the browser; bad signatures refused), its card page with a 3-D Secure step, the return as an
//! auto-submitted form signed with the response phrase, the JSON `FortAPI/paymentApi`
//! (`CHECK_STATUS`, `REFUND`; "Signature mismatch" 00008 for a bad request signature), and
//! transaction feedback (form-encoded, signed) to the URL set in its back office.
//!
//! Apple Pay (`digital_wallet: "APPLE_PAY"` on `FortAPI/paymentApi`, after
//! [`FakeAps::enable_applepay`]): the merchant's Apple Pay profile has its own access code, SHA
//! phrases (SHA-256 here); the purchase must carry every field APS's PHP SDK requires
//! (`ApplePayAuthorization.php`), `apple_header` and `apple_paymentMethod` with their three keys
//! each in the SDK's order, and be signed with the Apple Pay request phrase (`apple_header={k=v,
//! k=v}` in that order, `APSSignature.php`); otherwise `00008 Signature mismatch` (unsigned) or a
//! signed `00` refusal. The outcome is read from `apple_data` (base64 of a marker; real data is
//! Apple's ciphertext): `approve` → `14000`, `decline` → `13016 Insufficient Funds`, `hold` →
//! `15777` (held for review), anything else → `13005`. The answer echoes the request (its
//! objects in their order) and is signed with the Apple Pay response phrase; feedback follows,
//! signed the same way. `CHECK_STATUS` and `REFUND` are answered for the profile whose access
//! code they carry: an Apple Pay payment is not found with the card access code [U: what APS
//! does then; WooCommerce's plugin always asks with the Apple Pay access code].
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

/// The merchant's Apple Pay profile (APS back office, Apple Pay settings).
#[derive(Debug, Clone)]
pub struct ApplepayCredentials {
    /// Apple Pay access code.
    pub access_code: String,
    /// Apple Pay SHA request phrase.
    pub request_phrase: String,
    /// Apple Pay SHA response phrase.
    pub response_phrase: String,
}

/// Which of the merchant's profiles a message is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Profile {
    Card,
    Applepay,
}

impl Profile {
    fn name(self) -> &'static str {
        match self {
            Profile::Card => "card",
            Profile::Applepay => "applepay",
        }
    }
}

#[derive(Default)]
struct State {
    transactions: HashMap<String, BTreeMap<String, String>>,
    applepay: Option<ApplepayCredentials>,
    applepay_requests: Vec<serde_json::Value>,
    forge_applepay_answers: bool,
    lose_applepay_answers: bool,
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

    /// Sets up the merchant's Apple Pay profile (its own access code and phrases).
    pub fn enable_applepay(&self, creds: ApplepayCredentials) {
        self.state.lock().unwrap().applepay = Some(creds);
    }

    /// Every Apple Pay purchase received (the JSON bodies), signed right or not.
    pub fn applepay_requests(&self) -> Vec<serde_json::Value> {
        self.state.lock().unwrap().applepay_requests.clone()
    }

    /// Makes the Apple Pay purchase answers forged: what is paid is changed after signing.
    pub fn forge_applepay_answers(&self, on: bool) {
        self.state.lock().unwrap().forge_applepay_answers = on;
    }

    /// Apple Pay purchases are made, then answered with a 500 (the answer lost on the way).
    pub fn lose_applepay_answers(&self, on: bool) {
        self.state.lock().unwrap().lose_applepay_answers = on;
    }

    /// A transaction as the fake holds it.
    pub fn transaction(&self, merchant_reference: &str) -> Option<BTreeMap<String, String>> {
        self.state.lock().unwrap().transactions.get(merchant_reference).cloned()
    }

    fn response_phrase(&self, profile: Profile) -> String {
        match profile {
            Profile::Card => self.creds.lock().unwrap().response_phrase.clone(),
            Profile::Applepay => {
                self.state.lock().unwrap().applepay.as_ref().map(|a| a.response_phrase.clone()).unwrap_or_default()
            }
        }
    }

    /// The profile whose access code and request phrase signed `fields`, if any.
    fn signed_by(&self, fields: &BTreeMap<String, String>) -> Option<Profile> {
        if self.request_signature_ok(fields) {
            return Some(Profile::Card);
        }
        let c = self.creds.lock().unwrap().clone();
        let ap = self.state.lock().unwrap().applepay.clone()?;
        (fields.get("access_code") == Some(&ap.access_code)
            && fields.get("merchant_identifier") == Some(&c.merchant_identifier)
            && fields.get("signature").map(String::as_str)
                == Some(sign(fields, &ap.request_phrase, ShaType::Sha256).as_str()))
        .then_some(Profile::Applepay)
    }

    fn signed(&self, fields: BTreeMap<String, String>) -> BTreeMap<String, String> {
        self.signed_for(Profile::Card, fields)
    }

    fn signed_for(&self, profile: Profile, mut fields: BTreeMap<String, String>) -> BTreeMap<String, String> {
        let phrase = self.response_phrase(profile);
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
            self.post_feedback(url, &signed);
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
        if value.get("digital_wallet").and_then(|w| w.as_str()) == Some("APPLE_PAY") && value.get("command").is_some() {
            let answer = self.applepay_purchase(body, &value);
            if self.state.lock().unwrap().lose_applepay_answers {
                return json_response(500, &serde_json::json!({"status":"00","response_message":"System error"}));
            }
            return answer;
        }
        let Some(profile) = self.signed_by(&fields) else {
            return json_response(
                200,
                &serde_json::json!({"status":"00","response_code":"00008","response_message":"Signature mismatch"}),
            );
        };
        let reference = fields.get("merchant_reference").cloned().unwrap_or_default();
        let mut state = self.state.lock().unwrap();
        // Each profile sees its own transactions.
        let of_profile =
            |t: &BTreeMap<String, String>| t.get("profile").map(String::as_str).unwrap_or("card") == profile.name();
        if state.transactions.get(&reference).is_some_and(|t| !of_profile(t)) {
            drop(state);
            let mut out = BTreeMap::new();
            out.insert("merchant_reference".to_string(), reference);
            out.insert("status".into(), if fields.contains_key("query_command") { "11" } else { "07" }.into());
            out.insert("response_code".into(), "11031".into());
            out.insert("response_message".into(), "No transaction found".into());
            return json_response(200, &serde_json::to_value(self.signed_for(profile, out)).expect("map"));
        }
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
        json_response(200, &serde_json::to_value(self.signed_for(profile, out)).expect("map"))
    }

    fn applepay_purchase(&self, body: &str, value: &serde_json::Value) -> Reply {
        let Some(ap) = self.state.lock().unwrap().applepay.clone() else {
            return json_response(
                200,
                &serde_json::json!({"status":"00","response_code":"00008","response_message":"Signature mismatch"}),
            );
        };
        self.state.lock().unwrap().applepay_requests.push(value.clone());
        let merchant = self.creds.lock().unwrap().merchant_identifier.clone();
        let str_of = |k: &str| value.get(k).and_then(|v| v.as_str()).map(str::to_string);
        // The objects, in the SDK's order; the body must send them in it (their signature follows
        // the order they are sent in).
        const HEADER: [&str; 3] = ["apple_transactionId", "apple_ephemeralPublicKey", "apple_publicKeyHash"];
        const METHOD: [&str; 3] = ["apple_displayName", "apple_network", "apple_type"];
        let object = |name: &str, keys: &[&str; 3]| -> Option<String> {
            let o = value.get(name)?.as_object()?;
            if o.len() != 3 {
                return None;
            }
            let mut at = 0;
            let mut parts = Vec::new();
            for k in keys {
                let v = o.get(*k)?.as_str()?;
                if v.is_empty() && *k != "apple_type" {
                    return None;
                }
                let found = body[at..].find(&format!("\"{k}\""))?;
                at += found;
                parts.push(format!("{k}={v}"));
            }
            Some(format!("{{{}}}", parts.join(", ")))
        };
        let mut fields: BTreeMap<String, String> = BTreeMap::new();
        for (k, v) in value.as_object().into_iter().flatten() {
            if let Some(text) = v.as_str() {
                fields.insert(k.clone(), text.to_string());
            } else if !v.is_object() {
                fields.insert(k.clone(), v.to_string());
            }
        }
        let header = object("apple_header", &HEADER);
        let method = object("apple_paymentMethod", &METHOD);
        if let (Some(h), Some(m)) = (&header, &method) {
            fields.insert("apple_header".into(), h.clone());
            fields.insert("apple_paymentMethod".into(), m.clone());
        }
        let signature_ok = fields.get("access_code") == Some(&ap.access_code)
            && fields.get("merchant_identifier") == Some(&merchant)
            && fields.get("signature").map(String::as_str)
                == Some(sign(&fields, &ap.request_phrase, ShaType::Sha256).as_str());
        if !signature_ok {
            return json_response(
                200,
                &serde_json::json!({"status":"00","response_code":"00008","response_message":"Signature mismatch"}),
            );
        }
        let reference = fields.get("merchant_reference").cloned().unwrap_or_default();
        let mut echo: Vec<(String, String)> = Vec::new();
        for k in ["command", "digital_wallet", "merchant_reference", "amount", "currency", "language", "customer_email"]
        {
            if let Some(v) = fields.get(k) {
                echo.push((k.to_string(), v.clone()));
            }
        }
        echo.push(("access_code".into(), ap.access_code.clone()));
        echo.push(("merchant_identifier".into(), merchant.clone()));
        let required = [
            "command",
            "merchant_reference",
            "amount",
            "currency",
            "language",
            "customer_email",
            "apple_data",
            "apple_signature",
        ];
        let missing = required
            .iter()
            .find(|k| fields.get(**k).is_none_or(|v| v.is_empty()))
            .map(|k| k.to_string())
            .or_else(|| header.is_none().then(|| "apple_header".to_string()))
            .or_else(|| method.is_none().then(|| "apple_paymentMethod".to_string()));
        let valid_command = matches!(fields.get("command").map(String::as_str), Some("PURCHASE" | "AUTHORIZATION"));
        let amount_ok = fields.get("amount").is_some_and(|a| a.parse::<i64>().is_ok_and(|n| n > 0));
        let outcome = if let Some(m) = missing {
            Err(("00002", format!("Missing parameter {m}")))
        } else if !valid_command {
            Err(("00005", "Invalid command".to_string()))
        } else if !amount_ok {
            Err(("00036", "Invalid amount".to_string()))
        } else if self.state.lock().unwrap().transactions.contains_key(&reference) {
            Err(("00046", "Duplicate order number".to_string()))
        } else {
            let marker = str_of("apple_data")
                .and_then(|d| base64::Engine::decode(&base64::engine::general_purpose::STANDARD, d).ok())
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            Ok(match marker.as_str() {
                "approve" => ("14", "14000", "Success"),
                "decline" => ("13", "13016", "Insufficient Funds"),
                "hold" => ("15", "15777", "Transaction on hold for review"),
                _ => ("13", "13005", "Transaction declined"),
            })
        };
        let (status, code, message) = match outcome {
            Err((code, message)) => ("00".to_string(), code.to_string(), message),
            Ok((status, code, message)) => (status.to_string(), code.to_string(), message.to_string()),
        };
        if status != "00" {
            let mut state = self.state.lock().unwrap();
            state.counter += 1;
            let fort_id = format!("1700{:08}{}", state.counter, std::process::id());
            let network =
                value["apple_paymentMethod"]["apple_network"].as_str().unwrap_or_default().to_ascii_uppercase();
            let mut t: BTreeMap<String, String> = echo.iter().cloned().collect();
            t.insert("profile".into(), Profile::Applepay.name().into());
            t.insert("stage".into(), "done".into());
            t.insert("status".into(), status.clone());
            t.insert("response_code".into(), code.clone());
            t.insert("response_message".into(), message.clone());
            t.insert("fort_id".into(), fort_id.clone());
            t.insert("payment_option".into(), network);
            t.insert("card_number".into(), "446404******1010".into());
            state.transactions.insert(reference.clone(), t.clone());
            for k in ["fort_id", "payment_option", "card_number"] {
                echo.push((k.to_string(), t[k].clone()));
            }
            echo.push(("eci".into(), "ECOMMERCE".into()));
        }
        echo.push(("status".into(), status.clone()));
        echo.push(("response_code".into(), code));
        echo.push(("response_message".into(), message));
        // The answer: its pairs, the request's objects echoed in their order, signed with the
        // Apple Pay response phrase over the objects as they are sent.
        let mut signed: BTreeMap<String, String> = echo.iter().cloned().collect();
        let objects: Vec<(&str, &[&str; 3])> = vec![("apple_header", &HEADER), ("apple_paymentMethod", &METHOD)];
        for (name, keys) in &objects {
            if let Some(text) = object(name, keys) {
                signed.insert(name.to_string(), text);
            }
        }
        let mut signature = sign(&signed, &ap.response_phrase, ShaType::Sha256);
        let forged = self.state.lock().unwrap().forge_applepay_answers;
        if forged {
            // Someone in between claims a success APS did not sign.
            signature = sign(&signed, "not-the-phrase", ShaType::Sha256);
        }
        let quote = |s: &str| serde_json::to_string(s).unwrap();
        let mut parts: Vec<String> = echo.iter().map(|(k, v)| format!("{}:{}", quote(k), quote(v))).collect();
        for (name, keys) in &objects {
            if let Some(o) = value.get(*name).and_then(|o| o.as_object()) {
                let inner: Vec<String> = keys
                    .iter()
                    .filter_map(|k| o.get(*k).and_then(|v| v.as_str()).map(|v| format!("{}:{}", quote(k), quote(v))))
                    .collect();
                parts.push(format!("{}:{{{}}}", quote(name), inner.join(",")));
            }
        }
        parts.push(format!("{}:{}", quote("signature"), quote(&signature)));
        let answer = format!("{{{}}}", parts.join(","));
        if status != "00" && !forged {
            self.feedback(Profile::Applepay, &reference);
        }
        tiny_http::Response::from_data(answer.into_bytes())
            .with_status_code(200)
            .with_header(tiny_http::Header::from_bytes("Content-Type", "application/json").unwrap())
    }

    /// Transaction feedback of a finished transaction, signed for its profile.
    fn feedback(&self, profile: Profile, reference: &str) {
        let (url, t) = {
            let state = self.state.lock().unwrap();
            (state.feedback_url.clone(), state.transactions.get(reference).cloned())
        };
        let (Some(url), Some(t)) = (url, t) else { return };
        let mut r = BTreeMap::new();
        for k in [
            "command",
            "digital_wallet",
            "merchant_reference",
            "amount",
            "currency",
            "customer_email",
            "language",
            "access_code",
            "merchant_identifier",
            "fort_id",
            "payment_option",
            "card_number",
            "status",
            "response_code",
            "response_message",
        ] {
            if let Some(v) = t.get(k) {
                r.insert(k.to_string(), v.clone());
            }
        }
        let signed = self.signed_for(profile, r);
        self.post_feedback(url, &signed);
    }

    /// Sends signed feedback to the merchant's URL, form-encoded as APS posts it.
    fn post_feedback(&self, url: String, signed: &BTreeMap<String, String>) {
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
}
