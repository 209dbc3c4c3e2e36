//! Amazon Payment Services (formerly PAYFORT). The hosted page is a **signed form POST** from the
//! shopper's browser to APS's `paymentPage` (no server call creates it); the result is
//! confirmed server-side with `CHECK_STATUS` on APS's JSON `paymentApi`; refunds are `REFUND`
//! commands on the same API; notifications ("transaction feedback") are signed like every APS
//! message: SHA-256 (or SHA-512) of the sorted `key=value` pairs wrapped in the SHA phrase.
//! Facts and sources: `docs/gateways/aps.md`.
//!
//! Amounts are integers in the currency's minor unit (×100 for SAR, ×1000 for KWD).

pub mod applepay;
pub mod connector;
pub mod declines;
pub mod status;

use super::{
    Capabilities, CheckVerdict, GatewayError, GatewayPayment, HttpMethod, HttpRequest, HttpResponse, OperationResult,
    OperationStatus, WebhookError, WebhookHint,
};
use crate::method::PaymentMethod;
use crate::money::{Currency, Money};
use crate::notification::ErrorInfo;
use crate::secret::Secret;
use crate::signature::SignatureError;
use sha2::Digest;
use std::collections::BTreeMap;

/// Gateway code.
pub const CODE: &str = "aps";

/// Production hosts. Test: `https://sbcheckout.payfort.com` and `https://sbpaymentservices.payfort.com`.
pub const DEFAULT_PAGE_BASE: &str = "https://checkout.payfort.com";
/// Production API host.
pub const DEFAULT_API_BASE: &str = "https://paymentservices.payfort.com";

/// What Bawaba uses of APS: `PURCHASE` (sale) on the hosted page, so capture and void (which
/// act on `AUTHORIZATION`, never allowed for mada) are off.
pub const CAPABILITIES: Capabilities = Capabilities {
    methods: &[
        PaymentMethod::Mada,
        PaymentMethod::Visa,
        PaymentMethod::Mastercard,
        PaymentMethod::Amex,
        PaymentMethod::Stcpay,
        // In the page with the merchant's own Apple merchant (applepay.rs); otherwise APS's page.
        PaymentMethod::Applepay,
    ],
    currencies: &["SAR", "AED", "KWD", "BHD", "QAR", "OMR", "EGP", "JOD", "USD"],
    partial_refund: true,
    capture: false,
    void: false,
};

/// The SHA type chosen in the APS back office.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShaType {
    /// SHA-256 (recommended).
    Sha256,
    /// SHA-512.
    Sha512,
}

impl ShaType {
    /// Parses `SHA-256` / `SHA-512` (the back office's spelling); `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_uppercase().replace('_', "-").as_str() {
            "SHA-256" | "SHA256" => Some(ShaType::Sha256),
            "SHA-512" | "SHA512" => Some(ShaType::Sha512),
            _ => None,
        }
    }
}

/// Settings: `APS_MERCHANT_IDENTIFIER`, `APS_ACCESS_CODE`, `APS_SHA_REQUEST_PHRASE`,
/// `APS_SHA_RESPONSE_PHRASE`, `APS_SHA_TYPE`, `APS_PAGE_BASE`, `APS_API_BASE`.
#[derive(Debug, Clone)]
pub struct Config {
    /// Merchant identifier.
    pub merchant_identifier: String,
    /// Access code.
    pub access_code: Secret,
    /// SHA request phrase (signs what we send).
    pub request_phrase: Secret,
    /// SHA response phrase (signs what APS sends).
    pub response_phrase: Secret,
    /// SHA type.
    pub sha_type: ShaType,
    /// Where the hosted page is.
    pub page_base: String,
    /// Where the JSON API is.
    pub api_base: String,
}

/// The APS signature of `params` (the `signature` key itself is left out).
pub fn sign(params: &BTreeMap<String, String>, phrase: &str, sha: ShaType) -> String {
    let mut text = String::from(phrase);
    for (k, v) in params.iter().filter(|(k, _)| k.as_str() != "signature") {
        text.push_str(k);
        text.push('=');
        text.push_str(v);
    }
    text.push_str(phrase);
    digest(&text, sha)
}

/// The hex digest APS compares.
pub(crate) fn digest(text: &str, sha: ShaType) -> String {
    match sha {
        ShaType::Sha256 => hex::encode(sha2::Sha256::digest(text.as_bytes())),
        ShaType::Sha512 => hex::encode(sha2::Sha512::digest(text.as_bytes())),
    }
}

/// Verifies a message from APS (signed with the response phrase).
pub fn verify(params: &BTreeMap<String, String>, cfg: &Config) -> Result<(), SignatureError> {
    let given = params.get("signature").filter(|s| !s.is_empty()).ok_or(SignatureError::Missing)?;
    let expected = sign(params, cfg.response_phrase.expose(), cfg.sha_type);
    if crate::constant_time_eq(given.to_ascii_lowercase().as_bytes(), expected.as_bytes()) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// A `merchant_reference` APS accepts (letters, digits, `-_.`, at most 40) from a random id.
pub fn merchant_reference(random_hex: &str) -> String {
    let clean: String = random_hex.chars().filter(|c| c.is_ascii_alphanumeric()).take(30).collect();
    format!("bw-{clean}")
}

fn payment_option(method: PaymentMethod) -> Option<&'static str> {
    match method {
        PaymentMethod::Mada => Some("MADA"),
        PaymentMethod::Visa => Some("VISA"),
        PaymentMethod::Mastercard => Some("MASTERCARD"),
        PaymentMethod::Amex => Some("AMEX"),
        _ => None,
    }
}

/// The signed form the shopper's browser posts to the hosted page; its `merchant_reference` is
/// made from the session's random key.
pub fn build_page_form(
    cfg: &Config,
    input: &super::StartInput<'_>,
) -> Result<(String, BTreeMap<String, String>), GatewayError> {
    if !CAPABILITIES.serves(input.method, input.money.currency.code()) {
        return Err(GatewayError::Rejected {
            status: 400,
            message: format!("APS does not take {} in {}", input.method.code(), input.money.currency),
        });
    }
    let mut f = BTreeMap::new();
    f.insert("command".to_string(), "PURCHASE".to_string());
    f.insert("access_code".into(), cfg.access_code.expose().into());
    f.insert("merchant_identifier".into(), cfg.merchant_identifier.clone());
    f.insert("merchant_reference".into(), merchant_reference(input.session_key));
    f.insert("amount".into(), input.money.minor.to_string());
    f.insert("currency".into(), input.money.currency.code().into());
    f.insert("language".into(), if input.locale == "ar" { "ar" } else { "en" }.into());
    f.insert("customer_email".into(), input.customer_email.unwrap_or("customer@example.com").into());
    f.insert("return_url".into(), input.return_url.into());
    if input.method == PaymentMethod::Stcpay {
        f.insert("digital_wallet".into(), "STCPAY".into());
    } else if let Some(option) = payment_option(input.method) {
        f.insert("payment_option".into(), option.into());
    }
    let signature = sign(&f, cfg.request_phrase.expose(), cfg.sha_type);
    f.insert("signature".into(), signature);
    Ok((format!("{}/FortAPI/paymentPage", cfg.page_base), f))
}

fn api_request(cfg: &Config, mut params: BTreeMap<String, String>) -> HttpRequest {
    params.insert("access_code".into(), cfg.access_code.expose().into());
    params.insert("merchant_identifier".into(), cfg.merchant_identifier.clone());
    params.insert("language".into(), "en".into());
    let signature = sign(&params, cfg.request_phrase.expose(), cfg.sha_type);
    params.insert("signature".into(), signature);
    HttpRequest {
        method: HttpMethod::Post,
        url: format!("{}/FortAPI/paymentApi", cfg.api_base),
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: Some(serde_json::to_vec(&params).expect("a map serializes")),
    }
}

/// `CHECK_STATUS` for a `merchant_reference`.
pub fn build_fetch_payment(cfg: &Config, merchant_reference: &str) -> HttpRequest {
    let mut p = BTreeMap::new();
    p.insert("query_command".to_string(), "CHECK_STATUS".to_string());
    p.insert("merchant_reference".into(), merchant_reference.into());
    api_request(cfg, p)
}

/// Reads an APS answer into string pairs (numbers become their text, as APS signs them; an
/// object, such as an Apple Pay answer's `apple_header`, its pairs as APS signs them).
fn params_of(body: &[u8]) -> Result<BTreeMap<String, String>, GatewayError> {
    applepay::read_params(body).map(|p| applepay::flatten(&p))
}

fn signed_answer(cfg: &Config, resp: &HttpResponse) -> Result<BTreeMap<String, String>, GatewayError> {
    if resp.status >= 500 {
        return Err(GatewayError::Unreachable(format!("HTTP {}", resp.status)));
    }
    let params = params_of(&resp.body)?;
    // A bad request signature comes back unsigned or with "Signature mismatch": a refusal.
    if let Some(code) = params.get("response_code").filter(|c| c.ends_with("008")) {
        return Err(GatewayError::Rejected {
            status: 401,
            message: format!("{code} {}", params.get("response_message").cloned().unwrap_or_default()),
        });
    }
    verify(&params, cfg).map_err(|e| GatewayError::InvalidResponse(format!("APS answer not authentic: {e}")))?;
    Ok(params)
}

/// Parses `CHECK_STATUS`. "No transaction found" means no payment was ever attempted on the
/// page: `Created` (never opened), which an expired payment may be canceled with.
pub fn parse_fetch_payment(
    cfg: &Config,
    resp: &HttpResponse,
    expected: &Money,
) -> Result<GatewayPayment, GatewayError> {
    let p = signed_answer(cfg, resp)?;
    let reference = p.get("merchant_reference").cloned().unwrap_or_default();
    if p.get("status").map(String::as_str) != Some("12") {
        // 11: check status failed, typically no such transaction yet.
        return Ok(GatewayPayment {
            id: reference.clone(),
            transaction_id: None,
            reference,
            state: crate::payment::PaymentState::Created,
            money: *expected,
            card_brand: None,
            card_last4: None,
            error: None,
            refunded: None,
            three_ds: None,
        });
    }
    let transaction_status = p.get("transaction_status").cloned().unwrap_or_default();
    let state = status::to_state(&transaction_status)
        .ok_or_else(|| GatewayError::InvalidResponse(format!("unknown transaction_status {transaction_status:?}")))?;
    let currency = match p.get("currency") {
        Some(c) => Currency::parse(c).map_err(|e| GatewayError::InvalidResponse(e.to_string()))?,
        None => expected.currency,
    };
    let amount = match p.get("amount") {
        Some(a) => a.parse::<i64>().map_err(|_| GatewayError::InvalidResponse(format!("amount {a:?}")))?,
        None => return Err(GatewayError::InvalidResponse("CHECK_STATUS gave no amount".into())),
    };
    let error = matches!(state, crate::payment::PaymentState::Failed).then(|| {
        let code = p.get("transaction_code").unwrap_or(&transaction_status);
        let message = p.get("transaction_message").map(String::as_str);
        let reason = declines::reason(Some(code), message);
        ErrorInfo {
            code: reason.code().to_string(),
            message: crate::decline::gateway_message(
                reason,
                Some(message.unwrap_or("The payment failed.")),
                Some(code),
            ),
        }
    });
    Ok(GatewayPayment {
        id: reference.clone(),
        transaction_id: p.get("fort_id").cloned(),
        reference,
        state,
        money: Money::new(amount, currency),
        card_brand: p.get("payment_option").map(|o| o.to_ascii_lowercase()),
        card_last4: p.get("card_number").map(|n| crate::gateway::shared::last_four(n)),
        error,
        // CHECK_STATUS reports refunds only as a status; APS refunds answer at once.
        refunded: None,
        three_ds: None,
    })
}

/// `REFUND` of `amount` for the payment (`fort_id` and our `merchant_reference`).
pub fn build_refund(cfg: &Config, merchant_reference: &str, fort_id: &str, amount: &Money) -> HttpRequest {
    let mut p = BTreeMap::new();
    p.insert("command".to_string(), "REFUND".to_string());
    p.insert("merchant_reference".into(), merchant_reference.into());
    p.insert("fort_id".into(), fort_id.into());
    p.insert("amount".into(), amount.minor.to_string());
    p.insert("currency".into(), amount.currency.code().into());
    api_request(cfg, p)
}

/// Parses a refund: status `06` (refund success) succeeded; `07` (refund failed) is APS
/// declining it, `Failed` with the code `refund_declined` and APS's `response_code` and message;
/// anything else (`00` invalid request, …) is refused with APS's message, as an HTTP refusal is.
pub fn parse_refund(cfg: &Config, resp: &HttpResponse, amount: Money) -> Result<OperationResult, GatewayError> {
    let p = signed_answer(cfg, resp)?;
    let message = || {
        format!(
            "{} {}",
            p.get("response_code").cloned().unwrap_or_default(),
            p.get("response_message").cloned().unwrap_or_default()
        )
        .trim()
        .to_string()
    };
    let id = || p.get("fort_id").cloned().unwrap_or_default();
    match p.get("status").map(String::as_str) {
        Some("06") => Ok(OperationResult { id: id(), status: OperationStatus::Succeeded, money: amount }),
        Some("07") => Ok(OperationResult {
            id: id(),
            status: OperationStatus::Failed(ErrorInfo { code: "refund_declined".into(), message: message() }),
            money: amount,
        }),
        _ => Err(GatewayError::Rejected { status: 400, message: message() }),
    }
}

/// Credentials check: `CHECK_STATUS` for a reference that does not exist. A signed "not found"
/// means the access code and both phrases work.
pub fn build_check(cfg: &Config) -> HttpRequest {
    build_fetch_payment(cfg, "bw-credentials-check")
}

/// The check verdict.
pub fn parse_check(cfg: &Config, resp: &HttpResponse, currency: Option<&str>) -> (CheckVerdict, String) {
    match signed_answer(cfg, resp) {
        Ok(_) => match currency {
            Some(c) if !CAPABILITIES.currencies.contains(&c) => {
                (CheckVerdict::CurrencyUnsupported, format!("APS does not take {c}"))
            }
            _ => (CheckVerdict::Ok, "the access code and both SHA phrases work".into()),
        },
        Err(GatewayError::Rejected { message, .. }) => (CheckVerdict::InvalidCredentials, message),
        Err(GatewayError::InvalidResponse(why)) => {
            (CheckVerdict::InvalidCredentials, format!("{why}: check the SHA response phrase and SHA type"))
        }
        Err(e) => (CheckVerdict::Unreachable, e.to_string()),
    }
}

/// Verifies a notification (transaction feedback), sent form-encoded or as JSON.
pub fn verify_webhook(cfg: &Config, body: &[u8]) -> Result<WebhookHint, WebhookError> {
    let params: BTreeMap<String, String> = match params_of(body) {
        Ok(p) => p,
        Err(_) => url_decode_pairs(&String::from_utf8_lossy(body)),
    };
    verify(&params, cfg).map_err(WebhookError::Signature)?;
    let reference =
        params.get("merchant_reference").cloned().ok_or_else(|| WebhookError::Body("no merchant_reference".into()))?;
    Ok(WebhookHint { gateway_payment_id: Some(reference), reference: None })
}

/// Decodes `a=b&c=d` (`+` and `%XX`).
pub fn url_decode_pairs(text: &str) -> BTreeMap<String, String> {
    let decode = |s: &str| {
        let bytes = s.replace('+', " ").into_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' && i + 2 < bytes.len() {
                if let Ok(b) = u8::from_str_radix(&String::from_utf8_lossy(&bytes[i + 1..i + 3]), 16) {
                    out.push(b);
                    i += 3;
                    continue;
                }
            }
            out.push(bytes[i]);
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    text.split('&').filter_map(|p| p.split_once('=')).map(|(k, v)| (decode(k), decode(v))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> Config {
        Config {
            merchant_identifier: "MERCH".into(),
            access_code: Secret::new("ACCESS"),
            request_phrase: Secret::new("REQ"),
            response_phrase: Secret::new("RES"),
            sha_type: ShaType::Sha256,
            page_base: "https://sbcheckout.payfort.com".into(),
            api_base: "https://sbpaymentservices.payfort.com".into(),
        }
    }

    #[test]
    fn the_signature_wraps_sorted_pairs_in_the_phrase() {
        let mut p = BTreeMap::new();
        p.insert("merchant_identifier".to_string(), "MERCH".to_string());
        p.insert("access_code".into(), "ACCESS".into());
        p.insert("signature".into(), "ignored".into());
        let expected = hex::encode(sha2::Sha256::digest(b"REQaccess_code=ACCESSmerchant_identifier=MERCHREQ"));
        assert_eq!(sign(&p, "REQ", ShaType::Sha256), expected);
        assert_eq!(sign(&p, "REQ", ShaType::Sha512).len(), 128);
        assert_eq!(ShaType::parse("sha-512"), Some(ShaType::Sha512));
        assert_eq!(ShaType::parse("md5"), None);
    }

    #[test]
    fn the_page_form_is_signed_with_the_request_phrase() {
        let money = Money::new(4550, Currency::parse("SAR").unwrap());
        let input = crate::gateway::StartInput {
            session_key: "1", // merchant_reference "bw-1"
            return_url: "https://e/r",
            locale: "ar",
            customer_email: Some("a@b.c"),
            ..crate::gateway::StartInput::sample(money, PaymentMethod::Mada)
        };
        let (url, form) = build_page_form(&cfg(), &input).unwrap();
        assert_eq!(url, "https://sbcheckout.payfort.com/FortAPI/paymentPage");
        assert_eq!(form["amount"], "4550");
        assert_eq!(form["payment_option"], "MADA");
        assert_eq!(form["language"], "ar");
        assert_eq!(form["signature"], sign(&form, "REQ", ShaType::Sha256));
    }

    fn answer(mut p: BTreeMap<String, String>) -> HttpResponse {
        let s = sign(&p, "RES", ShaType::Sha256);
        p.insert("signature".into(), s);
        HttpResponse { status: 200, body: serde_json::to_vec(&p).unwrap() }
    }

    #[test]
    fn check_status_maps_and_refuses_unsigned_answers() {
        let sar = Money::new(4550, Currency::parse("SAR").unwrap());
        let mut p = BTreeMap::new();
        for (k, v) in [
            ("status", "12"),
            ("transaction_status", "14"),
            ("merchant_reference", "bw-1"),
            ("amount", "4550"),
            ("currency", "SAR"),
            ("fort_id", "169"),
            ("payment_option", "MADA"),
            ("card_number", "446404******0007"),
        ] {
            p.insert(k.to_string(), v.to_string());
        }
        let paid = parse_fetch_payment(&cfg(), &answer(p.clone()), &sar).unwrap();
        assert_eq!(
            (paid.state, paid.transaction_id.as_deref(), paid.card_last4.as_deref()),
            (crate::payment::PaymentState::Paid, Some("169"), Some("0007"))
        );
        let mut declined = p.clone();
        declined.insert("transaction_status".into(), "13".into());
        declined.insert("transaction_code".into(), "13012".into());
        declined.insert("transaction_message".into(), "Card expired".into());
        assert_eq!(
            parse_fetch_payment(&cfg(), &answer(declined), &sar).unwrap().error,
            Some(ErrorInfo { code: "expired_card".into(), message: "Card expired (13012)".into() })
        );
        let mut forged = p.clone();
        forged.insert("signature".into(), "00".into());
        let forged = HttpResponse { status: 200, body: serde_json::to_vec(&forged).unwrap() };
        assert!(matches!(parse_fetch_payment(&cfg(), &forged, &sar), Err(GatewayError::InvalidResponse(_))));
        let mut none = BTreeMap::new();
        none.insert("status".to_string(), "11".to_string());
        none.insert("merchant_reference".into(), "bw-1".into());
        assert_eq!(
            parse_fetch_payment(&cfg(), &answer(none), &sar).unwrap().state,
            crate::payment::PaymentState::Created,
            "no transaction: never opened"
        );
        let mismatch = HttpResponse {
            status: 200,
            body: br#"{"response_code":"00008","response_message":"Signature mismatch","status":"00"}"#.to_vec(),
        };
        assert_eq!(parse_check(&cfg(), &mismatch, None).0, CheckVerdict::InvalidCredentials);
    }

    #[test]
    fn notifications_are_verified_form_or_json() {
        let mut p = BTreeMap::new();
        p.insert("merchant_reference".to_string(), "bw-9".to_string());
        p.insert("status".into(), "14".into());
        let s = sign(&p, "RES", ShaType::Sha256);
        let form = format!("merchant_reference=bw-9&status=14&signature={s}");
        assert_eq!(verify_webhook(&cfg(), form.as_bytes()).unwrap().gateway_payment_id.as_deref(), Some("bw-9"));
        let bad = "merchant_reference=bw-9&status=14&signature=abc";
        assert_eq!(verify_webhook(&cfg(), bad.as_bytes()), Err(WebhookError::Signature(SignatureError::Mismatch)));
        assert_eq!(
            verify_webhook(&cfg(), b"merchant_reference=bw-9"),
            Err(WebhookError::Signature(SignatureError::Missing))
        );
    }

    #[test]
    fn refunds_succeed_are_declined_or_refused() {
        let sar = Money::new(4550, Currency::parse("SAR").unwrap());
        let refund = |status: &str, code: &str, message: &str| {
            let mut p = BTreeMap::new();
            for (k, v) in [
                ("command", "REFUND"),
                ("status", status),
                ("response_code", code),
                ("response_message", message),
                ("fort_id", "169"),
                ("merchant_reference", "bw-1"),
            ] {
                p.insert(k.to_string(), v.to_string());
            }
            answer(p)
        };
        assert_eq!(
            parse_refund(&cfg(), &refund("06", "06000", "Success"), sar).unwrap(),
            OperationResult { id: "169".into(), status: OperationStatus::Succeeded, money: sar }
        );
        assert_eq!(
            parse_refund(&cfg(), &refund("07", "07066", "Refund failed"), sar).unwrap().status,
            OperationStatus::Failed(ErrorInfo {
                code: "refund_declined".into(),
                message: "07066 Refund failed".into()
            })
        );
        assert_eq!(
            parse_refund(&cfg(), &refund("00", "00036", "Invalid amount"), sar),
            Err(GatewayError::Rejected { status: 400, message: "00036 Invalid amount".into() })
        );
    }
}
