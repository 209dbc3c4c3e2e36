//! PayPal, Orders v2 with intent `CAPTURE`: an order (`POST /v2/checkout/orders`) whose
//! `payer-action` / `approve` link is the hosted page. On the shopper's return the order is
//! `APPROVED`, not paid: the fetch reads the order (`GET /v2/checkout/orders/{id}`) and, when it
//! is approved, the settling call captures it (`POST /v2/checkout/orders/{id}/capture`,
//! idempotent by a `PayPal-Request-Id` fixed per order), whose answer is the order with its
//! capture. Refunds act on the capture (`POST /v2/payments/captures/{id}/refund`, followed by
//! `GET /v2/payments/refunds/{id}`). Every API call takes an OAuth2 Bearer token
//! (`POST /v1/oauth2/token`, Basic client_id:secret), and webhooks are verified by a call to
//! PayPal (`POST /v1/notifications/verify-webhook-signature`): the trait's optional steps
//! (`build_auth`/`parse_auth`/`authorize`, `build_settle`, `build_webhook_check`). Facts, sources
//! and what the edge does in which order: docs/gateways/paypal.md.
//!
//! PayPal does not take SAR. Amounts travel as decimal strings with **PayPal's** decimals for
//! the currency (2, or 0 for JPY/HUF/TWD): the converter here is the only place that turns our
//! minor units into PayPal's and back, and refuses what does not fit.
//!
//! [`Gateway`]: crate::gateway::connector::Gateway

pub mod connector;
pub mod declines;
pub mod status;
pub mod webhook;
pub mod wire;

use super::Capabilities;
use super::{
    CheckVerdict, GatewayError, GatewayPayment, GatewaySession, HttpMethod, HttpRequest, HttpResponse, Mode,
    OperationResult, OperationStatus,
};
use crate::method::PaymentMethod;
use crate::money::{Currency, Money};
use crate::notification::ErrorInfo;
use crate::payment::PaymentState;
use crate::secret::Secret;
use base64::Engine;

/// Gateway code.
pub const CODE: &str = "paypal";

/// Production API base (`PAYPAL_API_BASE` overrides it; the sandbox is
/// `https://api-m.sandbox.paypal.com`).
pub const DEFAULT_API_BASE: &str = "https://api-m.paypal.com";

/// The sandbox API base.
pub const SANDBOX_API_BASE: &str = "https://api-m.sandbox.paypal.com";

/// The currencies PayPal takes and its decimals for each (developer.paypal.com/api/rest/reference/currency-codes).
/// Not SAR, not any Gulf currency.
pub const CURRENCY_DECIMALS: &[(&str, u8)] = &[
    ("AUD", 2),
    ("BRL", 2),
    ("CAD", 2),
    ("CNY", 2),
    ("CZK", 2),
    ("DKK", 2),
    ("EUR", 2),
    ("HKD", 2),
    ("HUF", 0),
    ("ILS", 2),
    ("JPY", 0),
    ("MYR", 2),
    ("MXN", 2),
    ("TWD", 0),
    ("NZD", 2),
    ("NOK", 2),
    ("PHP", 2),
    ("PLN", 2),
    ("GBP", 2),
    ("SGD", 2),
    ("SEK", 2),
    ("CHF", 2),
    ("THB", 2),
    ("USD", 2),
];

/// What Bawaba uses of PayPal: the PayPal wallet, captured at once (intent `CAPTURE`: no
/// authorize-then-capture, no void), in the currencies of [`CURRENCY_DECIMALS`] that Bawaba's
/// money table knows.
pub const CAPABILITIES: Capabilities = Capabilities {
    methods: &[PaymentMethod::Paypal],
    currencies: &["USD", "EUR", "GBP", "JPY"],
    partial_refund: true,
    capture: false,
    void: false,
};

/// Settings: `PAYPAL_CLIENT_ID`, `PAYPAL_CLIENT_SECRET`, `PAYPAL_WEBHOOK_ID`, `PAYPAL_API_BASE`.
#[derive(Debug, Clone)]
pub struct Config {
    /// API base without a trailing slash.
    pub api_base: String,
    /// The REST app's client id.
    pub client_id: String,
    /// Its secret.
    pub client_secret: Secret,
    /// The id PayPal gave the webhook registered for this edge (`PAYPAL_WEBHOOK_ID`).
    pub webhook_id: String,
}

/// An OAuth2 access token and how long it lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessToken {
    /// The Bearer token.
    pub token: Secret,
    /// Seconds PayPal says it is valid (`expires_in`).
    pub expires_in: u64,
}

impl AccessToken {
    /// Seconds the edge may keep using it: `expires_in` less a minute, so a token is never sent
    /// at the edge of its life.
    pub fn cache_for_secs(&self) -> u64 {
        self.expires_in.saturating_sub(60)
    }
}

/// Test or live, from the API host: the sandbox host is test money, PayPal's live host is live;
/// anything else (a fake) does not say.
pub fn mode_of(api_base: &str) -> Option<Mode> {
    let host = api_base.split("://").nth(1).unwrap_or("").split(['/', ':']).next().unwrap_or("");
    match host {
        "api-m.sandbox.paypal.com" | "api.sandbox.paypal.com" => Some(Mode::Test),
        "api-m.paypal.com" | "api.paypal.com" => Some(Mode::Live),
        _ => None,
    }
}

/// PayPal's decimals for a currency it takes.
pub fn paypal_decimals(code: &str) -> Option<u8> {
    CURRENCY_DECIMALS.iter().find(|(c, _)| *c == code).map(|(_, d)| *d)
}

fn unsupported(currency: &str) -> String {
    format!("PayPal does not take {currency}: it takes {}", CAPABILITIES.currencies.join(", "))
}

/// Minor units → PayPal's `{currency_code, value}`, `value` with PayPal's decimals for the
/// currency. Refused: a currency PayPal does not take, and an amount that PayPal's decimals
/// cannot carry exactly (never rounded).
pub fn to_paypal_amount(money: &Money) -> Result<wire::Amount, GatewayError> {
    let code = money.currency.code();
    let decimals =
        paypal_decimals(code).ok_or_else(|| GatewayError::Rejected { status: 400, message: unsupported(code) })?;
    let exponent = money.currency.exponent();
    let value = if decimals >= exponent {
        let scaled = money
            .minor
            .checked_mul(10i64.pow(u32::from(decimals - exponent)))
            .ok_or_else(|| GatewayError::Rejected { status: 400, message: "amount too large".into() })?;
        major_string(scaled, decimals)
    } else {
        let div = 10i64.pow(u32::from(exponent - decimals));
        if money.minor % div != 0 {
            return Err(GatewayError::Rejected {
                status: 400,
                message: format!(
                    "{} {code} does not fit PayPal's {decimals} decimals for {code}",
                    money.to_major_string()
                ),
            });
        }
        major_string(money.minor / div, decimals)
    };
    Ok(wire::Amount { currency_code: code.to_string(), value })
}

fn major_string(units: i64, decimals: u8) -> String {
    let sign = if units < 0 { "-" } else { "" };
    let abs = units.unsigned_abs();
    if decimals == 0 {
        return format!("{sign}{abs}");
    }
    let scale = 10u64.pow(u32::from(decimals));
    format!("{sign}{}.{:0width$}", abs / scale, abs % scale, width = usize::from(decimals))
}

/// PayPal's amount → minor units, refusing anything that would need rounding.
pub fn from_paypal_amount(amount: &wire::Amount) -> Result<Money, GatewayError> {
    let currency = Currency::parse(&amount.currency_code).map_err(|e| GatewayError::InvalidResponse(e.to_string()))?;
    Money::from_major_str(amount.value.trim(), currency).map_err(|e| GatewayError::InvalidResponse(e.to_string()))
}

/// PayPal's locale for ours.
pub fn paypal_locale(locale: &str) -> &'static str {
    if locale.starts_with("ar") {
        "ar-SA"
    } else {
        "en-US"
    }
}

/// Headers of every REST call but the token's. They carry no credentials: [`authorize`] puts
/// the Bearer token on (PayPal's REST calls take nothing else).
pub(crate) fn api_headers(_cfg: &Config) -> Vec<(String, String)> {
    vec![("Content-Type".into(), "application/json".into()), ("Accept".into(), "application/json".into())]
}

/// The token request's URL.
pub fn token_url(cfg: &Config) -> String {
    format!("{}/v1/oauth2/token", cfg.api_base)
}

/// Puts the Bearer token on a REST call (replacing any `Authorization`). The token request itself
/// keeps its Basic credentials.
pub fn authorize(cfg: &Config, mut request: HttpRequest, token: &str) -> HttpRequest {
    if request.url == token_url(cfg) {
        return request;
    }
    request.headers.retain(|(k, _)| !k.eq_ignore_ascii_case("authorization"));
    request.headers.insert(0, ("Authorization".into(), format!("Bearer {token}")));
    request
}

fn basic(cfg: &Config) -> String {
    let pair = format!("{}:{}", cfg.client_id, cfg.client_secret.expose());
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair))
}

fn with(mut headers: Vec<(String, String)>, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    headers.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    headers
}

/// `POST /v1/oauth2/token` with `grant_type=client_credentials`, Basic client_id:secret.
pub fn build_token(cfg: &Config) -> HttpRequest {
    HttpRequest {
        method: HttpMethod::Post,
        url: token_url(cfg),
        headers: vec![
            ("Authorization".into(), basic(cfg)),
            ("Content-Type".into(), "application/x-www-form-urlencoded".into()),
            ("Accept".into(), "application/json".into()),
        ],
        body: Some(b"grant_type=client_credentials".to_vec()),
    }
}

/// The token and its life. A 401 is PayPal refusing the client id or secret.
pub fn parse_token(resp: &HttpResponse) -> Result<AccessToken, GatewayError> {
    let token: wire::Token = super::parse_json_answer(resp, oauth_error)?;
    if token.access_token.is_empty() || token.token_type.as_deref().is_some_and(|t| !t.eq_ignore_ascii_case("bearer")) {
        return Err(GatewayError::InvalidResponse("the token answer has no Bearer token".into()));
    }
    Ok(AccessToken { token: Secret::new(token.access_token), expires_in: token.expires_in })
}

fn oauth_error(body: &[u8]) -> Option<String> {
    let e: wire::OauthError = serde_json::from_slice(body).ok()?;
    Some(match e.error_description {
        Some(d) if !d.is_empty() => format!("{d} ({})", e.error),
        _ => e.error,
    })
    .filter(|m| !m.is_empty())
}

/// PayPal's message from a REST error body: `ISSUE: description` of the first detail, else the
/// message, with PayPal's `debug_id` for support.
pub(crate) fn paypal_error(body: &[u8]) -> Option<String> {
    let e: wire::ErrorBody = serde_json::from_slice(body).ok()?;
    let text = match e.details.first() {
        Some(d) => format!("{}: {}", d.issue, d.description.clone().or(e.message.clone()).unwrap_or_default()),
        None => e.message.clone().unwrap_or_else(|| e.name.clone()),
    };
    let text = match e.debug_id {
        Some(id) => format!("{text} (debug_id {id})"),
        None => text,
    };
    (!text.trim().is_empty()).then_some(text)
}

fn first_issue(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<wire::ErrorBody>(body).ok()?.details.into_iter().next().map(|d| d.issue)
}

fn parse<T: serde::de::DeserializeOwned>(resp: &HttpResponse) -> Result<T, GatewayError> {
    super::parse_json_answer(resp, paypal_error)
}

fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// `POST /v2/checkout/orders`: intent `CAPTURE`, one purchase unit carrying our reference
/// (`reference_id` and `custom_id`), the amount with PayPal's decimals, and the edge's return URL
/// as both `return_url` and `cancel_url` (the edge asks PayPal either way).
pub fn build_create_session(cfg: &Config, input: &super::StartInput<'_>) -> Result<HttpRequest, GatewayError> {
    let code = input.money.currency.code();
    if !CAPABILITIES.currencies.contains(&code) {
        return Err(GatewayError::Rejected { status: 400, message: unsupported(code) });
    }
    if !CAPABILITIES.serves(input.method, code) {
        return Err(GatewayError::Rejected {
            status: 400,
            message: format!("PayPal does not take {} in {code}", input.method.code()),
        });
    }
    let amount = to_paypal_amount(&input.money)?;
    let body = serde_json::json!({
        "intent": "CAPTURE",
        "purchase_units": [{
            "reference_id": truncate(input.reference, 256),
            "custom_id": truncate(input.reference, 127),
            "description": truncate(input.description, 127),
            "amount": amount,
        }],
        "payment_source": { "paypal": { "experience_context": {
            "return_url": input.return_url,
            "cancel_url": input.return_url,
            "locale": paypal_locale(input.locale),
            "user_action": "PAY_NOW",
            "shipping_preference": "NO_SHIPPING",
        }}},
    });
    let request_id = format!("bawaba-order-{}", input.session_key);
    Ok(HttpRequest {
        method: HttpMethod::Post,
        url: format!("{}/v2/checkout/orders", cfg.api_base),
        headers: with(api_headers(cfg), &[("PayPal-Request-Id", &request_id), ("Prefer", "return=representation")]),
        body: Some(body.to_string().into_bytes()),
    })
}

/// The order and its hosted page (`links[rel=payer-action]`, or `approve` for
/// `application_context` orders).
pub fn parse_create_session(resp: &HttpResponse) -> Result<GatewaySession, GatewayError> {
    let order: wire::Order = parse(resp)?;
    let link = ["payer-action", "approve"]
        .iter()
        .find_map(|rel| order.links.iter().find(|l| l.rel == *rel))
        .ok_or_else(|| GatewayError::InvalidResponse("the order has no approve or payer-action link".into()))?;
    Ok(GatewaySession { id: order.id, redirect_url: link.href.clone(), form: None, flow: super::SessionFlow::Hosted })
}

/// The `PayPal-Request-Id` of an order's capture: fixed per order, so asking again (return,
/// webhook, reconciliation, a retry after a lost answer) never captures twice and gets the
/// first capture's answer back.
pub fn capture_request_id(order_id: &str) -> String {
    format!("bawaba-capture-{order_id}")
}

/// `POST /v2/checkout/orders/{id}/capture`, the settling call: it captures an approved order, and
/// its answer (`Prefer: return=representation`) is the order with its capture.
pub fn build_capture_order(cfg: &Config, order_id: &str) -> HttpRequest {
    let request_id = capture_request_id(order_id);
    HttpRequest {
        method: HttpMethod::Post,
        url: format!("{}/v2/checkout/orders/{}/capture", cfg.api_base, super::shared::urlencode_path(order_id)),
        headers: with(api_headers(cfg), &[("PayPal-Request-Id", &request_id), ("Prefer", "return=representation")]),
        body: Some(b"{}".to_vec()),
    }
}

/// `GET /v2/checkout/orders/{id}`, the fetch: the order as it stands, without acting on it.
pub fn build_get_order(cfg: &Config, order_id: &str) -> HttpRequest {
    HttpRequest {
        method: HttpMethod::Get,
        url: format!("{}/v2/checkout/orders/{}", cfg.api_base, super::shared::urlencode_path(order_id)),
        headers: api_headers(cfg),
        body: None,
    }
}

/// After the fetch (`GET` the order): the capture, when the order is `APPROVED`; its answer is
/// parsed in place of the order's. Anything else (not approved yet, completed, voided, an error)
/// is the truth as fetched.
pub fn build_settle(cfg: &Config, order_id: &str, fetched: &HttpResponse) -> Option<HttpRequest> {
    if !(200..=299).contains(&fetched.status) {
        return None;
    }
    let order: wire::Order = serde_json::from_slice(&fetched.body).ok()?;
    (order.status == "APPROVED").then(|| build_capture_order(cfg, order_id))
}

/// Parses the order (`GET`) or the capture's answer: the order, normalized. A 422 from the
/// capture (`ORDER_NOT_APPROVED`, `ORDER_ALREADY_CAPTURED` when another call captured it first,
/// `INSTRUMENT_DECLINED`: the shopper must choose another funding source) is a refusal with
/// PayPal's issue: the payment stays open and is asked again, and the next fetch reads the order
/// as it then is.
pub fn parse_order_answer(resp: &HttpResponse) -> Result<GatewayPayment, GatewayError> {
    if resp.status == 422 {
        let issue = first_issue(&resp.body).unwrap_or_default();
        let why = match issue.as_str() {
            "ORDER_NOT_APPROVED" => "the shopper has not approved the order (yet)",
            "ORDER_ALREADY_CAPTURED" => "the order was captured already (the next fetch reads it)",
            "INSTRUMENT_DECLINED" => "the shopper's funding source was declined; they may choose another",
            "PAYER_ACTION_REQUIRED" => "the shopper has not finished on PayPal's page",
            _ => "PayPal cannot capture the order now",
        };
        return Err(GatewayError::Rejected {
            status: 422,
            message: format!("{why} ({})", super::body_message(&resp.body, paypal_error)),
        });
    }
    let order: wire::Order = parse(resp)?;
    payment_from_order(order)
}

/// An order, normalized: a capture decides (its status, amount and id, which refunds act on);
/// without one, the order's status.
pub fn payment_from_order(order: wire::Order) -> Result<GatewayPayment, GatewayError> {
    let unit = order
        .purchase_units
        .into_iter()
        .next()
        .ok_or_else(|| GatewayError::InvalidResponse("the order has no purchase unit".into()))?;
    let capture = unit.payments.as_ref().and_then(|p| p.captures.last().cloned());
    let (state, amount, error_code, reason) = match &capture {
        Some(c) => {
            let state = status::capture_state(&c.status)
                .ok_or_else(|| GatewayError::InvalidResponse(format!("unknown capture status {:?}", c.status)))?;
            let reason = c.status_details.as_ref().and_then(|d| d.reason.clone());
            (state, c.amount.clone().or(unit.amount.clone()), c.status.clone(), reason)
        }
        None => {
            let state = status::order_state(&order.status)
                .ok_or_else(|| GatewayError::InvalidResponse(format!("unknown order status {:?}", order.status)))?;
            if state == PaymentState::Paid {
                return Err(GatewayError::InvalidResponse("a COMPLETED order without a capture".into()));
            }
            (state, unit.amount.clone(), order.status.clone(), None)
        }
    };
    let amount = amount.ok_or_else(|| GatewayError::InvalidResponse("the order has no amount".into()))?;
    let money = from_paypal_amount(&amount)?;
    let error = matches!(state, PaymentState::Failed | PaymentState::Canceled).then(|| ErrorInfo {
        code: declines::reason(&error_code, reason.as_deref()).code().to_string(),
        message: match reason {
            Some(r) => {
                format!("PayPal reports the payment {} ({r})", capture.as_ref().map_or(&order.status, |c| &c.status))
            }
            None => format!("PayPal reports the payment {}", capture.as_ref().map_or(&order.status, |c| &c.status)),
        },
    });
    let reference = unit.custom_id.or(unit.reference_id).or(capture.as_ref().and_then(|c| c.custom_id.clone()));
    Ok(GatewayPayment {
        id: order.id,
        transaction_id: capture.map(|c| c.id),
        reference: reference.unwrap_or_default(),
        state,
        money,
        card_brand: None,
        card_last4: None,
        error,
        // The capture's answer may be replayed from before a refund (idempotency): refunds are
        // followed by their own status, not reconciled from here.
        refunded: None,
        three_ds: None,
    })
}

/// `POST /v2/payments/captures/{capture_id}/refund` for `amount`, `PayPal-Request-Id` = the
/// refund reference (a retry refunds once).
pub fn build_refund(cfg: &Config, capture_id: &str, amount: &Money, refund_reference: &str) -> HttpRequest {
    // A refund is of a payment taken in a currency PayPal takes, so the converter accepts it; the
    // fallback is the exact amount (never rounded), which PayPal would refuse if it were not.
    let amount = to_paypal_amount(amount).unwrap_or_else(|_| wire::Amount {
        currency_code: amount.currency.code().to_string(),
        value: amount.to_major_string(),
    });
    let body = serde_json::json!({ "amount": amount, "custom_id": truncate(refund_reference, 127) });
    HttpRequest {
        method: HttpMethod::Post,
        url: format!("{}/v2/payments/captures/{}/refund", cfg.api_base, super::shared::urlencode_path(capture_id)),
        headers: with(
            api_headers(cfg),
            &[("PayPal-Request-Id", refund_reference), ("Prefer", "return=representation")],
        ),
        body: Some(body.to_string().into_bytes()),
    }
}

/// Parses a refund (the answer to [`build_refund`] or [`build_refund_status`]): `COMPLETED`
/// succeeded, `PENDING` pending, `FAILED` / `CANCELLED` failed (`refund_declined`). An HTTP
/// refusal (422 `REFUND_AMOUNT_EXCEEDED`, `CAPTURE_FULLY_REFUNDED`…) stays a
/// [`GatewayError::Rejected`] with PayPal's issue.
pub fn parse_refund(resp: &HttpResponse, amount: Money) -> Result<OperationResult, GatewayError> {
    let refund: wire::Refund = parse(resp)?;
    let stage = status::refund_stage(&refund.status)
        .ok_or_else(|| GatewayError::InvalidResponse(format!("unknown refund status {:?}", refund.status)))?;
    let status = match stage {
        status::RefundStage::Succeeded => OperationStatus::Succeeded,
        status::RefundStage::Pending => OperationStatus::Pending,
        status::RefundStage::Failed => {
            let reason = refund.status_details.as_ref().and_then(|d| d.reason.clone());
            let message = match reason {
                Some(r) => format!("PayPal reports the refund {} ({r}).", refund.status),
                None => format!("PayPal reports the refund {}.", refund.status),
            };
            OperationStatus::Failed(ErrorInfo { code: "refund_declined".into(), message })
        }
    };
    Ok(OperationResult { id: refund.id, status, money: amount })
}

/// `GET /v2/payments/refunds/{id}`.
pub fn build_refund_status(cfg: &Config, refund_id: &str) -> HttpRequest {
    HttpRequest {
        method: HttpMethod::Get,
        url: format!("{}/v2/payments/refunds/{}", cfg.api_base, super::shared::urlencode_path(refund_id)),
        headers: api_headers(cfg),
        body: None,
    }
}

/// The check: the token call itself (do the client id and secret work?).
pub fn build_check(cfg: &Config) -> HttpRequest {
    build_token(cfg)
}

/// 200 with a token: ok (or `currency_unsupported` for a currency PayPal does not take, SAR
/// first of all); 401: invalid credentials; 403: not permitted; anything else: unreachable.
pub fn parse_check(resp: &HttpResponse, currency: Option<&str>) -> (CheckVerdict, String) {
    let message = super::body_message(&resp.body, oauth_error);
    match resp.status {
        200..=299 => match parse_token(resp) {
            Err(e) => (CheckVerdict::Unreachable, e.to_string()),
            Ok(_) => match currency {
                Some(c) if !CAPABILITIES.currencies.contains(&c) => (CheckVerdict::CurrencyUnsupported, unsupported(c)),
                _ => (CheckVerdict::Ok, "the client id and secret work".into()),
            },
        },
        401 => (CheckVerdict::InvalidCredentials, message),
        403 => (CheckVerdict::NotPermitted, message),
        s => (CheckVerdict::Unreachable, format!("HTTP {s}: {message}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cur(c: &str) -> Currency {
        Currency::parse(c).unwrap()
    }

    fn cfg() -> Config {
        Config {
            api_base: "http://p".into(),
            client_id: "AcID".into(),
            client_secret: Secret::new("EsECRET"),
            webhook_id: "WH-1".into(),
        }
    }

    fn answer(status: u16, body: &str) -> HttpResponse {
        HttpResponse { status, body: body.as_bytes().to_vec() }
    }

    fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
        req.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    #[test]
    fn amounts_use_paypals_decimals_and_are_never_rounded() {
        let usd = to_paypal_amount(&Money::new(4550, cur("USD"))).unwrap();
        assert_eq!((usd.currency_code.as_str(), usd.value.as_str()), ("USD", "45.50"));
        assert_eq!(to_paypal_amount(&Money::new(7, cur("JPY"))).unwrap().value, "7");
        assert_eq!(to_paypal_amount(&Money::new(1, cur("EUR"))).unwrap().value, "0.01");
        for refused in ["SAR", "KWD", "AED", "BHD"] {
            let e = to_paypal_amount(&Money::new(100, cur(refused))).unwrap_err();
            assert!(
                matches!(e, GatewayError::Rejected { ref message, .. } if message.contains("USD, EUR, GBP, JPY")),
                "{e}"
            );
        }
        let back = |v: &str, c: &str| from_paypal_amount(&wire::Amount { currency_code: c.into(), value: v.into() });
        assert_eq!(back("45.50", "USD").unwrap().minor, 4550);
        assert_eq!(back("45.5", "USD").unwrap().minor, 4550);
        assert_eq!(back("7", "JPY").unwrap().minor, 7);
        assert!(back("1.005", "USD").is_err(), "never rounded");
        assert!(back("7.5", "JPY").is_err());
        assert!(back("1.00", "XXX").is_err());
        for minor in [1, 99, 100, 4550, 123456, 999_999_999] {
            for c in ["USD", "EUR", "GBP", "JPY"] {
                let m = Money::new(minor, cur(c));
                assert_eq!(from_paypal_amount(&to_paypal_amount(&m).unwrap()).unwrap(), m, "{minor} {c}");
            }
        }
        // A currency whose PayPal decimals are fewer than ISO's (HUF, TWD) would be refused
        // unless whole: the rule, on the formatter.
        assert_eq!(major_string(150, 2), "1.50");
        assert_eq!(major_string(-5, 0), "-5");
    }

    #[test]
    fn the_mode_is_the_host() {
        assert_eq!(mode_of("https://api-m.sandbox.paypal.com"), Some(Mode::Test));
        assert_eq!(mode_of("https://api-m.paypal.com"), Some(Mode::Live));
        assert_eq!(mode_of("https://api-m.paypal.com/"), Some(Mode::Live));
        assert_eq!(mode_of("http://127.0.0.1:4000"), None);
        assert_eq!(mode_of("https://api-m.paypal.com.evil.example"), None);
    }

    #[test]
    fn the_token_is_asked_with_basic_credentials_and_used_as_bearer() {
        let req = build_token(&cfg());
        assert_eq!((req.method, req.url.as_str()), (HttpMethod::Post, "http://p/v1/oauth2/token"));
        // base64("AcID:EsECRET")
        assert_eq!(header(&req, "Authorization"), Some("Basic QWNJRDpFc0VDUkVU"));
        assert_eq!(header(&req, "Content-Type"), Some("application/x-www-form-urlencoded"));
        assert_eq!(req.body.as_deref(), Some(&b"grant_type=client_credentials"[..]));
        let ok = answer(
            200,
            r#"{"scope":"https://uri.paypal.com/services/payments/payment","access_token":"A21AAFEpH4PsADK7qSS7pSRsgzfENtu-Q1ysgEDVDESseMHBYXVJYE8ovjj68elIDy8nF26AwPhfXTIeWAZHSLIsQkSYz9ifg","token_type":"Bearer","app_id":"APP-80W284485P519543T","expires_in":31668,"nonce":"2020-04-03T15:35:36ZaYZlGvEkV4yVSz8g6bAKFoGSEzuy3CQcz3ljhibkOHg"}"#,
        );
        let token = parse_token(&ok).unwrap();
        assert_eq!(token.expires_in, 31668);
        assert_eq!(token.cache_for_secs(), 31608);
        assert!(token.token.expose().starts_with("A21AAF"));
        let fetch = authorize(&cfg(), build_capture_order(&cfg(), "5O190127TN364715T"), token.token.expose());
        assert_eq!(header(&fetch, "Authorization"), Some(format!("Bearer {}", token.token.expose()).as_str()));
        assert_eq!(authorize(&cfg(), req.clone(), "A21"), req, "the token call keeps its Basic credentials");
        let refused = answer(401, r#"{"error":"invalid_client","error_description":"Client Authentication failed"}"#);
        assert_eq!(
            parse_token(&refused),
            Err(GatewayError::Rejected {
                status: 401,
                message: "Client Authentication failed (invalid_client)".into()
            })
        );
        assert!(matches!(parse_token(&answer(503, "")), Err(GatewayError::Unreachable(_))));
        assert!(parse_token(&answer(200, r#"{"access_token":"","expires_in":1}"#)).is_err());
        assert!(format!("{token:?}").contains("redacted"), "the token never prints");
    }

    #[test]
    fn the_check_is_the_token_call() {
        let ok = answer(200, r#"{"access_token":"A21","token_type":"Bearer","expires_in":32400}"#);
        assert_eq!(parse_check(&ok, None).0, CheckVerdict::Ok);
        assert_eq!(parse_check(&ok, Some("USD")).0, CheckVerdict::Ok);
        let (verdict, message) = parse_check(&ok, Some("SAR"));
        assert_eq!(verdict, CheckVerdict::CurrencyUnsupported);
        assert_eq!(message, "PayPal does not take SAR: it takes USD, EUR, GBP, JPY");
        let refused = answer(401, r#"{"error":"invalid_client","error_description":"Client Authentication failed"}"#);
        assert_eq!(
            parse_check(&refused, None),
            (CheckVerdict::InvalidCredentials, "Client Authentication failed (invalid_client)".into())
        );
        assert_eq!(parse_check(&answer(403, "{}"), None).0, CheckVerdict::NotPermitted);
        assert_eq!(parse_check(&answer(500, ""), None).0, CheckVerdict::Unreachable);
        assert_eq!(parse_check(&answer(200, "<html>"), None).0, CheckVerdict::Unreachable);
    }

    #[test]
    fn orders_are_intent_capture_with_our_reference_and_the_edges_return_url() {
        let tok = cfg();
        let input = super::super::StartInput {
            locale: "ar",
            return_url: "https://edge/v1/return/paypal/ps_1",
            ..super::super::StartInput::sample(Money::new(4550, cur("USD")), PaymentMethod::Paypal)
        };
        let req = build_create_session(&tok, &input).unwrap();
        assert_eq!((req.method, req.url.as_str()), (HttpMethod::Post, "http://p/v2/checkout/orders"));
        assert_eq!(header(&req, "Authorization"), None, "the edge authorizes it");
        assert_eq!(header(&authorize(&tok, req.clone(), "A21tok"), "Authorization"), Some("Bearer A21tok"));
        assert_eq!(header(&req, "PayPal-Request-Id"), Some("bawaba-order-1"));
        let body: serde_json::Value = serde_json::from_slice(req.body.as_ref().unwrap()).unwrap();
        assert_eq!(body["intent"], "CAPTURE");
        let unit = &body["purchase_units"][0];
        assert_eq!((unit["reference_id"].as_str(), unit["custom_id"].as_str()), (Some("demo:S1"), Some("demo:S1")));
        assert_eq!(unit["amount"], serde_json::json!({"currency_code": "USD", "value": "45.50"}));
        let ctx = &body["payment_source"]["paypal"]["experience_context"];
        assert_eq!(ctx["return_url"], "https://edge/v1/return/paypal/ps_1");
        assert_eq!(ctx["cancel_url"], "https://edge/v1/return/paypal/ps_1");
        assert_eq!(ctx["locale"], "ar-SA");
        let sar = super::super::StartInput::sample(Money::new(100, cur("SAR")), PaymentMethod::Paypal);
        let e = build_create_session(&tok, &sar).unwrap_err();
        assert!(
            matches!(e, GatewayError::Rejected { ref message, .. } if message.starts_with("PayPal does not take SAR")),
            "{e}"
        );
        let visa = super::super::StartInput::sample(Money::new(100, cur("USD")), PaymentMethod::Visa);
        assert!(build_create_session(&tok, &visa).is_err(), "only the PayPal wallet here");

        let created = answer(
            200,
            r#"{"id":"5O190127TN364715T","status":"PAYER_ACTION_REQUIRED","payment_source":{"paypal":{}},
            "links":[{"href":"https://api-m.paypal.com/v2/checkout/orders/5O190127TN364715T","rel":"self","method":"GET"},
            {"href":"https://www.paypal.com/checkoutnow?token=5O190127TN364715T","rel":"payer-action","method":"GET"}]}"#,
        );
        let session = parse_create_session(&created).unwrap();
        assert_eq!(session.id, "5O190127TN364715T");
        assert_eq!(session.redirect_url, "https://www.paypal.com/checkoutnow?token=5O190127TN364715T");
        let approve =
            answer(200, r#"{"id":"O1","status":"CREATED","links":[{"href":"https://x/approve","rel":"approve"}]}"#);
        assert_eq!(parse_create_session(&approve).unwrap().redirect_url, "https://x/approve");
        assert!(parse_create_session(&answer(200, r#"{"id":"O1","status":"CREATED","links":[]}"#)).is_err());
        let invalid = answer(
            400,
            r#"{"name":"INVALID_REQUEST","message":"Request is not well-formed","debug_id":"90957fca61718","details":[{"field":"/purchase_units/0/amount/value","issue":"DECIMAL_PRECISION","description":"too many decimals"}]}"#,
        );
        assert_eq!(
            parse_create_session(&invalid),
            Err(GatewayError::Rejected {
                status: 400,
                message: "DECIMAL_PRECISION: too many decimals (debug_id 90957fca61718)".into()
            })
        );
    }

    fn order(status: &str, capture: Option<(&str, &str)>) -> String {
        let payments = capture.map_or(String::new(), |(id, s)| {
            format!(r#","payments":{{"captures":[{{"id":"{id}","status":"{s}","amount":{{"currency_code":"USD","value":"45.50"}},"final_capture":true,"custom_id":"demo:S1","status_details":{{"reason":"PENDING_REVIEW"}}}}]}}"#)
        });
        format!(
            r#"{{"id":"5O190127TN364715T","status":"{status}","intent":"CAPTURE","purchase_units":[{{"reference_id":"demo:S1","custom_id":"demo:S1","amount":{{"currency_code":"USD","value":"45.50"}}{payments}}}],"links":[]}}"#
        )
    }

    #[test]
    fn the_capture_is_idempotent_and_its_answer_is_the_order() {
        let req = build_capture_order(&cfg(), "5O190127TN364715T");
        assert_eq!(
            (req.method, req.url.as_str()),
            (HttpMethod::Post, "http://p/v2/checkout/orders/5O190127TN364715T/capture")
        );
        assert_eq!(header(&req, "PayPal-Request-Id"), Some("bawaba-capture-5O190127TN364715T"));
        assert_eq!(header(&req, "Prefer"), Some("return=representation"));
        assert_eq!(build_capture_order(&cfg(), "5O190127TN364715T"), req, "the same request every time: idempotent");
        assert_eq!(build_capture_order(&cfg(), "a/../b").url, "http://p/v2/checkout/orders/a%2F%2E%2E%2Fb/capture");

        let paid =
            parse_order_answer(&answer(201, &order("COMPLETED", Some(("3C679366HH908993F", "COMPLETED"))))).unwrap();
        assert_eq!(paid.state, PaymentState::Paid);
        assert_eq!(
            (paid.id.as_str(), paid.transaction_id.as_deref()),
            ("5O190127TN364715T", Some("3C679366HH908993F"))
        );
        assert_eq!((paid.reference.as_str(), paid.money), ("demo:S1", Money::new(4550, cur("USD"))));
        assert_eq!((paid.error, paid.refunded), (None, None));
        for (s, state) in [
            ("PENDING", PaymentState::Pending),
            ("DECLINED", PaymentState::Failed),
            ("FAILED", PaymentState::Failed),
            ("REFUNDED", PaymentState::Paid),
            ("PARTIALLY_REFUNDED", PaymentState::Paid),
        ] {
            let p = parse_order_answer(&answer(200, &order("COMPLETED", Some(("C1", s))))).unwrap();
            assert_eq!(p.state, state, "{s}");
        }
        let declined = parse_order_answer(&answer(201, &order("COMPLETED", Some(("C1", "DECLINED"))))).unwrap();
        assert_eq!(declined.error.unwrap().code, "declined");
        for (s, state) in [
            ("CREATED", PaymentState::Pending),
            ("APPROVED", PaymentState::Pending),
            ("VOIDED", PaymentState::Canceled),
        ] {
            assert_eq!(parse_order_answer(&answer(200, &order(s, None))).unwrap().state, state, "{s}");
        }
        assert!(matches!(
            parse_order_answer(&answer(200, &order("COMPLETED", None))),
            Err(GatewayError::InvalidResponse(_))
        ));
        assert!(matches!(
            parse_order_answer(&answer(200, &order("SOMETHING", None))),
            Err(GatewayError::InvalidResponse(_))
        ));
        assert!(matches!(parse_order_answer(&answer(503, "")), Err(GatewayError::Unreachable(_))));
    }

    #[test]
    fn an_approved_order_is_captured_and_nothing_else_is() {
        let get = build_get_order(&cfg(), "O1");
        assert_eq!(
            (get.method, get.url.as_str(), get.body.as_ref()),
            (HttpMethod::Get, "http://p/v2/checkout/orders/O1", None)
        );
        let approved = answer(200, &order("APPROVED", None));
        let capture = build_settle(&cfg(), "5O190127TN364715T", &approved).expect("an approved order is captured");
        assert_eq!(capture, build_capture_order(&cfg(), "5O190127TN364715T"));
        for other in [
            order("CREATED", None),
            order("PAYER_ACTION_REQUIRED", None),
            order("VOIDED", None),
            order("COMPLETED", Some(("C1", "COMPLETED"))),
        ] {
            assert!(build_settle(&cfg(), "O1", &answer(200, &other)).is_none(), "{other}");
        }
        assert!(build_settle(&cfg(), "O1", &answer(404, r#"{"name":"RESOURCE_NOT_FOUND"}"#)).is_none());
        assert!(build_settle(&cfg(), "O1", &answer(500, "")).is_none());

        let not_approved = answer(
            422,
            r#"{"name":"UNPROCESSABLE_ENTITY","details":[{"issue":"ORDER_NOT_APPROVED","description":"Payer has not yet approved the Order for payment."}],"message":"The requested action could not be performed, semantically incorrect, or failed business validation.","debug_id":"d1"}"#,
        );
        let e = parse_order_answer(&not_approved).unwrap_err();
        assert!(
            matches!(e, GatewayError::Rejected { status: 422, ref message } if message.starts_with("the shopper has not approved")),
            "{e}"
        );
        let already = answer(
            422,
            r#"{"name":"UNPROCESSABLE_ENTITY","details":[{"issue":"ORDER_ALREADY_CAPTURED","description":"Order already captured."}]}"#,
        );
        assert!(
            matches!(parse_order_answer(&already), Err(GatewayError::Rejected { status: 422, ref message }) if message.contains("captured already"))
        );
    }

    fn refund_body(status: &str) -> String {
        format!(
            r#"{{"id":"1JU08902781691411","status":"{status}","amount":{{"value":"10.99","currency_code":"USD"}},"links":[]}}"#
        )
    }

    #[test]
    fn refunds_act_on_the_capture_once_per_reference() {
        let usd = |m| Money::new(m, cur("USD"));
        let req = build_refund(&cfg(), "3C679366HH908993F", &usd(1099), "demo:S1-refund-0");
        assert_eq!(
            (req.method, req.url.as_str()),
            (HttpMethod::Post, "http://p/v2/payments/captures/3C679366HH908993F/refund")
        );
        assert_eq!(header(&req, "PayPal-Request-Id"), Some("demo:S1-refund-0"));
        let body: serde_json::Value = serde_json::from_slice(req.body.as_ref().unwrap()).unwrap();
        assert_eq!(body["amount"], serde_json::json!({"currency_code": "USD", "value": "10.99"}));
        let ok = parse_refund(&answer(201, &refund_body("COMPLETED")), usd(1099)).unwrap();
        assert_eq!(
            ok,
            OperationResult { id: "1JU08902781691411".into(), status: OperationStatus::Succeeded, money: usd(1099) }
        );
        assert_eq!(
            parse_refund(&answer(201, &refund_body("PENDING")), usd(1099)).unwrap().status,
            OperationStatus::Pending
        );
        for failed in ["FAILED", "CANCELLED"] {
            let OperationStatus::Failed(e) = parse_refund(&answer(200, &refund_body(failed)), usd(1)).unwrap().status
            else {
                panic!("{failed}")
            };
            assert_eq!(
                (e.code.as_str(), e.message),
                ("refund_declined", format!("PayPal reports the refund {failed}."))
            );
        }
        assert!(matches!(
            parse_refund(&answer(200, &refund_body("NEW")), usd(1)),
            Err(GatewayError::InvalidResponse(_))
        ));
        let over = answer(
            422,
            r#"{"name":"UNPROCESSABLE_ENTITY","details":[{"issue":"REFUND_AMOUNT_EXCEEDED","description":"The refund amount must be less than or equal to the capture amount that has not yet been refunded."}]}"#,
        );
        assert!(
            matches!(parse_refund(&over, usd(1)), Err(GatewayError::Rejected { status: 422, ref message }) if message.starts_with("REFUND_AMOUNT_EXCEEDED"))
        );
        let ask = build_refund_status(&cfg(), "1JU08902781691411");
        assert_eq!((ask.method, ask.url.as_str()), (HttpMethod::Get, "http://p/v2/payments/refunds/1JU08902781691411"));
    }
}
