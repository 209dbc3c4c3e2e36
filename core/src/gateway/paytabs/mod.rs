//! PayTabs PT2, Hosted Payment Page: `POST /payment/request` (`tran_type: sale`) creates the
//! page the shopper pays on (`redirect_url`); `POST /payment/query` by `tran_ref` is the truth on
//! every return, callback and reconciliation; refunds are the same `POST /payment/request` with
//! `tran_type: refund` on the original `tran_ref`. Every call carries the profile's server key
//! in the `authorization` header and the `profile_id` in the body, and every answer must name
//! our profile. The callback (IPN) and the return are signed with the server key
//! (`webhook.rs`). Facts and sources: `docs/gateways/paytabs.md`, gateways.md §4.
//!
//! Amounts travel in **major** units (`cart_amount: 45.5`): [`to_paytabs_amount`] and
//! [`from_paytabs_amount`] are the only conversions, and neither rounds.
//!
//! Hosts are per region and a profile authenticates only on its own ([`DEFAULT_API_BASE`] is the
//! Saudi one); test and live profiles share the host and differ only by profile id and key.

pub mod connector;
pub mod declines;
pub mod status;
pub mod webhook;
pub mod wire;

use super::{
    Capabilities, CheckVerdict, GatewayError, GatewayPayment, GatewaySession, HttpMethod, HttpRequest, HttpResponse,
    OperationResult, OperationStatus,
};
use crate::method::PaymentMethod;
use crate::money::{Currency, Money};
use crate::notification::ErrorInfo;
use crate::payment::PaymentState;
use crate::secret::Secret;

/// Gateway code.
pub const CODE: &str = "paytabs";

/// The Saudi region's host (a Saudi profile authenticates nowhere else).
pub const DEFAULT_API_BASE: &str = "https://secure.paytabs.sa";

/// What Bawaba uses of PayTabs' hosted page. Sessions are `sale`s, so there is no
/// authorization to capture or void ([`build_follow_up`] builds both, for when `auth` sessions
/// come); refunds may be partial. Currencies: SAR, the one the Saudi profile is documented with;
/// PayTabs enables others per profile on request (docs/gateways/paytabs.md).
pub const CAPABILITIES: Capabilities = Capabilities {
    methods: &[
        PaymentMethod::Mada,
        PaymentMethod::Visa,
        PaymentMethod::Mastercard,
        PaymentMethod::Amex,
        PaymentMethod::Applepay,
        PaymentMethod::Stcpay,
    ],
    currencies: &["SAR"],
    partial_refund: true,
    capture: false,
    void: false,
};

/// Settings: `PAYTABS_PROFILE_ID`, `PAYTABS_SERVER_KEY` (it also signs the callback and the
/// return), `PAYTABS_API_BASE`. `Debug` shows the profile id, never the key.
#[derive(Debug, Clone)]
pub struct Config {
    /// The region's host without a trailing slash.
    pub api_base: String,
    /// The profile id (digits).
    pub profile_id: String,
    /// The profile's server key.
    pub server_key: Secret,
}

/// The largest amount in minor units that travels exactly as a JSON number (15 significant
/// digits survive a double); anything larger is refused, not rounded.
pub const MAX_MINOR: i64 = 999_999_999_999_999;

/// Minor units → PayTabs' `cart_amount`: a JSON number in major units (4550 SAR → 45.5,
/// 1500 KWD → 1.5). Refused: zero, negative, or an amount that would not read back exactly.
pub fn to_paytabs_amount(money: &Money) -> Result<serde_json::Value, GatewayError> {
    let refuse = |why: &str| GatewayError::Rejected {
        status: 400,
        message: format!("PayTabs cannot take {} {}: {why}", money.to_major_string(), money.currency),
    };
    if money.minor <= 0 {
        return Err(refuse("the amount must be positive"));
    }
    if money.minor > MAX_MINOR {
        return Err(refuse("too large to send exactly"));
    }
    let number: serde_json::Number = money.to_major_string().parse().map_err(|_| refuse("not a number"))?;
    let value = serde_json::Value::Number(number);
    match from_paytabs_amount(&value, money.currency) {
        Ok(back) if back == *money => Ok(value),
        _ => Err(refuse("it would not read back exactly")),
    }
}

/// PayTabs' amount (a number, or a string such as `"45.50"`) → minor units; an amount with more
/// decimals than the currency has is an invalid response, never rounded.
pub fn from_paytabs_amount(amount: &serde_json::Value, currency: Currency) -> Result<Money, GatewayError> {
    let text = match amount {
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::String(s) => s.trim().to_string(),
        other => return Err(GatewayError::InvalidResponse(format!("amount {other} is not a number"))),
    };
    if text.contains(['e', 'E']) {
        return Err(GatewayError::InvalidResponse(format!("amount {text} is not a plain decimal")));
    }
    Money::from_major_str(&text, currency).map_err(|e| GatewayError::InvalidResponse(e.to_string()))
}

/// A profile id as PayTabs writes it (a number, or a string of one).
pub fn profile_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.trim().to_string(),
        other => other.to_string(),
    }
}

fn profile_number(cfg: &Config) -> serde_json::Value {
    cfg.profile_id
        .parse::<u64>()
        .map(serde_json::Value::from)
        .unwrap_or_else(|_| serde_json::Value::String(cfg.profile_id.clone()))
}

fn request(cfg: &Config, path: &str, body: serde_json::Value) -> HttpRequest {
    HttpRequest {
        method: HttpMethod::Post,
        url: format!("{}{path}", cfg.api_base),
        headers: vec![
            ("authorization".into(), cfg.server_key.expose().to_string()),
            ("content-type".into(), "application/json".into()),
        ],
        body: Some(body.to_string().into_bytes()),
    }
}

/// The `payment_methods` a method limits the hosted page to (PayTabs' HPP codes:
/// docs.paytabs.com "Supported Payment Methods in Hosted Payment Page").
pub fn method_code(method: PaymentMethod) -> &'static str {
    match method {
        PaymentMethod::Mada => "mada",
        PaymentMethod::Visa | PaymentMethod::Mastercard => "creditcard",
        PaymentMethod::Amex => "amex",
        PaymentMethod::Applepay => "applepay",
        PaymentMethod::Stcpay => "stcpay",
        // Not in CAPABILITIES: build_create_session refuses it before this.
        PaymentMethod::Paypal => "paypal",
    }
}

/// `POST /payment/request`, `tran_type: sale`: the hosted page for `input`.
pub fn build_create_session(cfg: &Config, input: &super::StartInput<'_>) -> Result<HttpRequest, GatewayError> {
    if !CAPABILITIES.serves(input.method, input.money.currency.code()) {
        return Err(GatewayError::Rejected {
            status: 400,
            message: format!("PayTabs does not take {} in {}", input.method.code(), input.money.currency),
        });
    }
    let mut customer = serde_json::Map::new();
    if let Some(name) = input.customer_name.filter(|n| !n.trim().is_empty()) {
        customer.insert("name".into(), name.into());
    }
    if let Some(email) = input.customer_email.filter(|e| !e.trim().is_empty()) {
        customer.insert("email".into(), email.into());
    }
    let body = serde_json::json!({
        "profile_id": profile_number(cfg),
        "tran_type": "sale",
        "tran_class": "ecom",
        "cart_id": input.reference,
        "cart_currency": input.money.currency.code(),
        "cart_amount": to_paytabs_amount(&input.money)?,
        "cart_description": input.description,
        "paypage_lang": if input.locale == "ar" { "ar" } else { "en" },
        "customer_details": customer,
        "hide_shipping": true,
        "payment_methods": [method_code(input.method)],
        "callback": input.webhook_url,
        "return": input.return_url,
    });
    Ok(request(cfg, "/payment/request", body))
}

/// Parses the created page: `tran_ref` and `redirect_url`. PayTabs answers business errors with
/// HTTP 200 and `{code, message}` instead of a page: a refusal.
pub fn parse_create_session(resp: &HttpResponse) -> Result<GatewaySession, GatewayError> {
    let tran: wire::Transaction = parse(resp)?;
    match (tran.tran_ref.filter(|t| !t.is_empty()), tran.redirect_url.filter(|u| !u.is_empty())) {
        (Some(id), Some(url)) => {
            Ok(GatewaySession { id, redirect_url: url, form: None, flow: super::SessionFlow::Hosted })
        }
        _ => Err(business_error(resp.status, tran.code.as_ref(), tran.message.as_deref())),
    }
}

/// `POST /payment/query` for `tran_ref`.
pub fn build_query(cfg: &Config, tran_ref: &str) -> HttpRequest {
    request(cfg, "/payment/query", serde_json::json!({ "profile_id": profile_number(cfg), "tran_ref": tran_ref }))
}

/// Checks that an answer is about our profile: an answer naming another profile (or none) is a
/// [`GatewayError::Mismatch`], never read as ours.
pub fn check_profile(cfg: &Config, tran: &wire::Transaction) -> Result<(), GatewayError> {
    match tran.profile_id.as_ref().map(profile_text) {
        Some(p) if p == cfg.profile_id => Ok(()),
        Some(p) => Err(GatewayError::Mismatch(format!("the answer is for PayTabs profile {p}, not ours"))),
        None => Err(GatewayError::Mismatch("the answer names no PayTabs profile".into())),
    }
}

const FOLLOW_UP_TYPES: [&str; 4] = ["refund", "capture", "void", "release"];

/// Parses the query of a payment (our hosted page's `sale`).
pub fn parse_query(cfg: &Config, resp: &HttpResponse) -> Result<GatewayPayment, GatewayError> {
    let tran: wire::Transaction = parse(resp)?;
    let Some(id) = tran.tran_ref.clone().filter(|t| !t.is_empty()) else {
        return Err(business_error(resp.status, tran.code.as_ref(), tran.message.as_deref()));
    };
    check_profile(cfg, &tran)?;
    let tran_type = tran.tran_type.as_deref().map(str::trim).unwrap_or_default().to_ascii_lowercase();
    if FOLLOW_UP_TYPES.contains(&tran_type.as_str()) {
        return Err(GatewayError::InvalidResponse(format!("{id} is a {tran_type}, not a payment")));
    }
    let currency_code = tran.cart_currency.as_deref().unwrap_or_default();
    let currency = Currency::parse(currency_code).map_err(|e| GatewayError::InvalidResponse(e.to_string()))?;
    let amount = tran.cart_amount.as_ref().ok_or_else(|| GatewayError::InvalidResponse("no cart_amount".into()))?;
    let money = from_paytabs_amount(amount, currency)?;
    // A page not paid yet has no result [U]: pending.
    let result = tran.payment_result.clone().unwrap_or_default();
    let state = if result.response_status.trim().is_empty() {
        PaymentState::Pending
    } else {
        status::to_state(&result.response_status, tran.tran_type.as_deref()).ok_or_else(|| {
            GatewayError::InvalidResponse(format!("unknown response_status {:?}", result.response_status))
        })?
    };
    let error = matches!(state, PaymentState::Failed | PaymentState::Canceled).then(|| {
        let reason = declines::reason(
            &result.response_status,
            result.response_code.as_deref(),
            result.response_message.as_deref(),
        );
        ErrorInfo {
            code: reason.code().to_string(),
            message: crate::decline::gateway_message(
                reason,
                result.response_message.as_deref(),
                result.response_code.as_deref(),
            ),
        }
    });
    let info = tran.payment_info.clone().unwrap_or_default();
    let digits: String =
        info.payment_description.as_deref().unwrap_or_default().chars().filter(char::is_ascii_digit).collect();
    Ok(GatewayPayment {
        id,
        transaction_id: None,
        reference: tran.cart_id.clone().unwrap_or_default(),
        state,
        money,
        card_brand: info.card_scheme.as_deref().map(card_brand),
        card_last4: (digits.len() >= 4).then(|| super::shared::last_four(&digits)),
        error,
        // A sale's query does not carry its refunds; refunds are followed by their own tran_ref.
        refunded: None,
        three_ds: None,
    })
}

/// PayTabs' card scheme as Bawaba writes brands.
pub fn card_brand(scheme: &str) -> String {
    let s: String = scheme.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_ascii_lowercase();
    match s.as_str() {
        "americanexpress" => "amex".into(),
        _ => s,
    }
}

/// A follow-up on a transaction (`tran_type` of `POST /payment/request`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowUp {
    /// Money back on a sale (or a capture).
    Refund,
    /// Takes an authorization's money.
    Capture,
    /// Releases an authorization.
    Void,
}

impl FollowUp {
    /// PayTabs' `tran_type`.
    pub fn tran_type(self) -> &'static str {
        match self {
            FollowUp::Refund => "refund",
            FollowUp::Capture => "capture",
            FollowUp::Void => "void",
        }
    }
}

/// `POST /payment/request` with `tran_type` refund / capture / void on `tran_ref`, for `amount`;
/// `cart_id` must be unique per operation (PayTabs' duplicate detection is how a repeated
/// operation is refused: `code 4, Duplicate Request`).
pub fn build_follow_up(
    cfg: &Config,
    kind: FollowUp,
    tran_ref: &str,
    amount: &Money,
    cart_id: &str,
) -> Result<HttpRequest, GatewayError> {
    let body = serde_json::json!({
        "profile_id": profile_number(cfg),
        "tran_type": kind.tran_type(),
        "tran_class": "ecom",
        "tran_ref": tran_ref,
        "cart_id": cart_id,
        "cart_currency": amount.currency.code(),
        "cart_amount": to_paytabs_amount(amount)?,
        "cart_description": format!("{} of {tran_ref}", kind.tran_type()),
    });
    Ok(request(cfg, "/payment/request", body))
}

/// The refund request. The amount was a payment's (or less), which [`to_paytabs_amount`]
/// already took, so it converts; were it not to, the request carries no amount and PayTabs
/// refuses it: nothing is rounded.
pub fn build_refund(cfg: &Config, tran_ref: &str, amount: &Money, cart_id: &str) -> HttpRequest {
    build_follow_up(cfg, FollowUp::Refund, tran_ref, amount, cart_id).unwrap_or_else(|_| {
        request(cfg, "/payment/request", serde_json::json!({ "profile_id": profile_number(cfg), "tran_ref": tran_ref }))
    })
}

/// Parses the answer to a follow-up (or the query of one): `A` succeeded, `P`/`H` pending (asked
/// again by its `tran_ref`), anything else failed with `<kind>_declined` and PayTabs' words. The
/// answer must be our profile's, and for the amount and currency asked; a business error (HTTP
/// 200 without `payment_result`) is a refusal.
pub fn parse_follow_up(
    cfg: &Config,
    kind: FollowUp,
    resp: &HttpResponse,
    amount: Money,
) -> Result<OperationResult, GatewayError> {
    let tran: wire::Transaction = parse(resp)?;
    let (Some(id), Some(result)) = (tran.tran_ref.clone().filter(|t| !t.is_empty()), tran.payment_result.clone())
    else {
        return Err(business_error(resp.status, tran.code.as_ref(), tran.message.as_deref()));
    };
    check_profile(cfg, &tran)?;
    if let (Some(c), Some(a)) = (tran.cart_currency.as_deref(), tran.cart_amount.as_ref()) {
        let currency = Currency::parse(c).map_err(|e| GatewayError::InvalidResponse(e.to_string()))?;
        let answered = from_paytabs_amount(a, currency)?;
        if answered != amount {
            return Err(GatewayError::Mismatch(format!(
                "the {} is for {} {} instead of {} {}",
                kind.tran_type(),
                answered.to_major_string(),
                answered.currency,
                amount.to_major_string(),
                amount.currency
            )));
        }
    }
    let stage = status::follow_up_stage(&result.response_status).ok_or_else(|| {
        GatewayError::InvalidResponse(format!("unknown response_status {:?}", result.response_status))
    })?;
    let status = match stage {
        status::FollowUpStage::Succeeded => OperationStatus::Succeeded,
        status::FollowUpStage::Pending => OperationStatus::Pending,
        status::FollowUpStage::Failed => OperationStatus::Failed(ErrorInfo {
            code: format!("{}_declined", kind.tran_type()),
            message: crate::decline::gateway_message(
                crate::decline::DeclineReason::Declined,
                Some(result.response_message.as_deref().unwrap_or(&format!(
                    "PayTabs reports the {} {}",
                    kind.tran_type(),
                    result.response_status
                ))),
                result.response_code.as_deref(),
            ),
        }),
    };
    Ok(OperationResult { id, status, money: amount })
}

/// The transaction reference no transaction has, for the credentials check.
pub const CHECK_TRAN_REF: &str = "TST0000000000BAWABA";

/// `POST /payment/query` of a transaction that does not exist, authenticated.
pub fn build_check(cfg: &Config) -> HttpRequest {
    build_query(cfg, CHECK_TRAN_REF)
}

/// The verdict: 401 (or PayTabs' `code 1`, "Authentication failed") is a wrong server key, a key
/// of another profile, or a profile of another region's host: PayTabs answers all three alike, so
/// the message names the profile and the host asked. Any other answer (the transaction is not
/// found) means the key works. 403 is a profile that may not use the API; 5xx or no answer,
/// unreachable.
pub fn parse_check(cfg: &Config, resp: &HttpResponse, currency: Option<&str>) -> (CheckVerdict, String) {
    let body: wire::ErrorBody = serde_json::from_slice(&resp.body).unwrap_or_default();
    let message = error_message(&resp.body);
    let auth_failed = resp.status == 401 || body.code.as_ref().map(profile_text).as_deref() == Some("1");
    if (500..=599).contains(&resp.status) {
        return (CheckVerdict::Unreachable, format!("HTTP {}: {message}", resp.status));
    }
    if auth_failed {
        let host = cfg.api_base.as_str();
        let region = if host == DEFAULT_API_BASE {
            "a profile of another region (this edge asks the Saudi host)".to_string()
        } else {
            format!("a profile of another region (this edge asks {host}, not the Saudi host {DEFAULT_API_BASE})")
        };
        return (
            CheckVerdict::InvalidCredentials,
            format!(
                "PayTabs refused the server key for profile {} at {host} ({message}): a wrong server key, a key of \
                 another profile, or {region}",
                cfg.profile_id
            ),
        );
    }
    if resp.status == 403 {
        return (CheckVerdict::NotPermitted, message);
    }
    match currency {
        Some(c) if !CAPABILITIES.currencies.contains(&c) => {
            (CheckVerdict::CurrencyUnsupported, format!("PayTabs (Saudi profile) does not take {c} here"))
        }
        _ => (CheckVerdict::Ok, format!("the server key works for profile {}", cfg.profile_id)),
    }
}

fn business_error(status: u16, code: Option<&serde_json::Value>, message: Option<&str>) -> GatewayError {
    let message = message.filter(|m| !m.trim().is_empty()).unwrap_or("no result and no message");
    GatewayError::Rejected {
        status,
        message: match code {
            Some(c) => format!("{message} (code {})", profile_text(c)),
            None => message.to_string(),
        },
    }
}

fn paytabs_error(body: &[u8]) -> Option<String> {
    let e: wire::ErrorBody = serde_json::from_slice(body).ok()?;
    let message = e.message.filter(|m| !m.trim().is_empty())?;
    Some(match e.code {
        Some(c) => format!("{message} (code {})", profile_text(&c)),
        None => message,
    })
}

fn error_message(body: &[u8]) -> String {
    super::body_message(body, paytabs_error)
}

fn parse<T: serde::de::DeserializeOwned>(resp: &HttpResponse) -> Result<T, GatewayError> {
    super::parse_json_answer(resp, paytabs_error)
}

#[cfg(test)]
mod tests;
