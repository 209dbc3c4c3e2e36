//! The edge's HTTP API v1: request and response bodies, and the one error type with its
//! mapping to HTTP statuses. Bad input always maps to a 4xx with a stable code.

use crate::intent::IntentError;
use crate::method::PaymentMethod;
use crate::payment::PaymentState;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The largest request body the edge reads (64 KiB); larger bodies get `body_too_large`.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Every error the API returns. Each variant documents when it happens; [`ApiError::status`]
/// is the only place that maps errors to HTTP statuses.
///
/// Errors cross the boundary between the worker and a payment's Durable Object as JSON, so the
/// enum is serializable; the two variants only the worker produces (intent and signature
/// refusals) are not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", content = "detail", rename_all = "snake_case")]
pub enum ApiError {
    /// The body is not JSON, or not the documented shape (missing field, wrong type). 400.
    InvalidRequest(String),
    /// The body is larger than [`MAX_BODY_BYTES`]. 413.
    BodyTooLarge,
    /// The intent was refused (signature, expiry, audience, shop, contents). 401 or 422.
    #[serde(skip)]
    Intent(IntentError),
    /// The method code is not one Bawaba knows. 422.
    UnknownMethod(String),
    /// The intent does not allow this method, or no configured gateway offers it. 422.
    MethodNotAllowed(String),
    /// No payment session has this id. 404.
    SessionNotFound,
    /// No route matches the path. 404.
    NotFound,
    /// The route exists but not for this HTTP method. 405.
    HttpMethodNotAllowed,
    /// A shop → edge call or a webhook failed signature verification. 401.
    #[serde(skip)]
    Unauthorized {
        /// Stable code, e.g. `signature_invalid`.
        code: std::borrow::Cow<'static, str>,
        /// What was wrong.
        message: String,
    },
    /// The payment is already finished (paid, failed, ...): no new session can start. 409.
    PaymentFinished(PaymentState),
    /// No payment has this reference. 404.
    PaymentNotFound,
    /// The payment is not in a state that allows this operation (refund of an unpaid payment). 409.
    OperationNotAllowed(String),
    /// The gateway cannot do this (capture on a sale-only gateway, void where there is none). 422.
    OperationNotSupported(String),
    /// The refund is larger than what remains of the payment. 422.
    RefundExceedsPayment {
        /// What can still be refunded, in minor units.
        remaining: i64,
    },
    /// The reference was already used for a payment of another amount or currency: the shop
    /// must use a new reference. 409.
    ReferenceReused {
        /// The reference.
        reference: String,
        /// What differs, in words (`amount 45.50 SAR, first 40.00 SAR`).
        differs: String,
    },
    /// A refund, capture or void came without an `Idempotency-Key` header. 400.
    IdempotencyKeyMissing,
    /// The `Idempotency-Key` is not 1–255 printable ASCII characters without spaces. 400.
    IdempotencyKeyInvalid(String),
    /// The `Idempotency-Key` was already used for another call (another route or body). 409.
    IdempotencyKeyReused,
    /// The gateway could not be reached or answered with a server error. 502.
    GatewayUnavailable(String),
    /// The gateway refused the request (bad credentials, bad data). 502.
    GatewayRejected(String),
    /// Too many session starts: the card-testing defence ([`crate::limits`]). 429, with a
    /// `Retry-After` header.
    RateLimited {
        /// Which limit, in words.
        reason: String,
        /// Whole seconds until a start may be admitted again.
        retry_after_secs: i64,
    },
    /// What the shopper gave the widget for a payment made in the page was refused (the mobile
    /// number, the one-time code, the Apple Pay token or validation URL). 422, with the
    /// [`InPageError`]'s own code.
    InPage(InPageError),
    /// The session does not wait for a one-time code now (a hosted page, a payment already
    /// decided, a session replaced by another). 409.
    OtpNotExpected,
    /// [`MAX_OTP_ATTEMPTS`] codes were sent on this session: the shopper starts again. 409.
    OtpAttemptsExhausted,
    /// A setting the request needs is missing or malformed; names the setting. 500.
    Misconfigured(String),
    /// A bug or an unexpected platform failure. 500.
    Internal(String),
}

impl ApiError {
    /// The HTTP status for this error.
    pub fn status(&self) -> u16 {
        match self {
            ApiError::InvalidRequest(_) => 400,
            ApiError::BodyTooLarge => 413,
            ApiError::Intent(
                IntentError::AmountInvalid
                | IntentError::CurrencyUnsupported(_)
                | IntentError::UrlNotAllowed(_)
                | IntentError::MethodUnknown(_),
            ) => 422,
            ApiError::Intent(_) => 401,
            ApiError::UnknownMethod(_) | ApiError::MethodNotAllowed(_) => 422,
            ApiError::SessionNotFound | ApiError::NotFound => 404,
            ApiError::HttpMethodNotAllowed => 405,
            ApiError::Unauthorized { .. } => 401,
            ApiError::PaymentFinished(_) | ApiError::OperationNotAllowed(_) => 409,
            ApiError::ReferenceReused { .. } | ApiError::IdempotencyKeyReused => 409,
            ApiError::IdempotencyKeyMissing | ApiError::IdempotencyKeyInvalid(_) => 400,
            ApiError::PaymentNotFound => 404,
            ApiError::OperationNotSupported(_) | ApiError::RefundExceedsPayment { .. } => 422,
            ApiError::RateLimited { .. } => 429,
            ApiError::InPage(_) => 422,
            ApiError::OtpNotExpected | ApiError::OtpAttemptsExhausted => 409,
            ApiError::GatewayUnavailable(_) | ApiError::GatewayRejected(_) => 502,
            ApiError::Misconfigured(_) | ApiError::Internal(_) => 500,
        }
    }

    /// The stable code.
    pub fn code(&self) -> &str {
        match self {
            ApiError::InvalidRequest(_) => "invalid_request",
            ApiError::BodyTooLarge => "body_too_large",
            ApiError::Intent(e) => e.code(),
            ApiError::UnknownMethod(_) => "method_unknown",
            ApiError::MethodNotAllowed(_) => "method_not_allowed",
            ApiError::SessionNotFound => "session_not_found",
            ApiError::NotFound => "not_found",
            ApiError::HttpMethodNotAllowed => "http_method_not_allowed",
            ApiError::Unauthorized { code, .. } => code,
            ApiError::PaymentFinished(_) => "payment_finished",
            ApiError::PaymentNotFound => "payment_not_found",
            ApiError::OperationNotAllowed(_) => "operation_not_allowed",
            ApiError::OperationNotSupported(_) => "operation_not_supported",
            ApiError::RefundExceedsPayment { .. } => "refund_exceeds_payment",
            ApiError::ReferenceReused { .. } => "reference_reused",
            ApiError::IdempotencyKeyMissing => "idempotency_key_missing",
            ApiError::IdempotencyKeyInvalid(_) => "idempotency_key_invalid",
            ApiError::IdempotencyKeyReused => "idempotency_key_reused",
            ApiError::GatewayUnavailable(_) => "gateway_unavailable",
            ApiError::GatewayRejected(_) => "gateway_rejected",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::InPage(e) => e.code(),
            ApiError::OtpNotExpected => "otp_not_expected",
            ApiError::OtpAttemptsExhausted => "otp_attempts_exhausted",
            ApiError::Misconfigured(_) => "edge_misconfigured",
            ApiError::Internal(_) => "internal_error",
        }
    }

    /// The body: `{"error":{"code":"...","message":"..."}}`.
    pub fn body(&self) -> ErrorBody {
        ErrorBody { error: ErrorDetail { code: self.code().to_string(), message: self.to_string() } }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::InvalidRequest(why) => write!(f, "invalid request: {why}"),
            ApiError::BodyTooLarge => {
                write!(f, "the request body is larger than {MAX_BODY_BYTES} bytes")
            }
            ApiError::Intent(e) => e.fmt(f),
            ApiError::UnknownMethod(m) => write!(f, "unknown payment method {m:?}"),
            ApiError::MethodNotAllowed(m) => {
                write!(f, "payment method {m:?} is not available for this payment")
            }
            ApiError::SessionNotFound => f.write_str("no payment session has this id"),
            ApiError::NotFound => f.write_str("no such route"),
            ApiError::HttpMethodNotAllowed => f.write_str("this route does not accept that HTTP method"),
            ApiError::Unauthorized { message, .. } => f.write_str(message),
            ApiError::PaymentFinished(s) => write!(f, "this payment is already {}", s.as_str()),
            ApiError::PaymentNotFound => f.write_str("no payment has this reference"),
            ApiError::OperationNotAllowed(why) => f.write_str(why),
            ApiError::OperationNotSupported(why) => f.write_str(why),
            ApiError::RefundExceedsPayment { remaining } => {
                write!(f, "the refund is larger than what remains of the payment ({remaining} in minor units)")
            }
            ApiError::ReferenceReused { reference, differs } => write!(
                f,
                "reference {reference:?} was already used for another payment ({differs}); the shop must use a new \
                 reference"
            ),
            ApiError::IdempotencyKeyMissing => {
                f.write_str("refunds, captures and voids need an Idempotency-Key header (one new key per operation)")
            }
            ApiError::IdempotencyKeyInvalid(why) => write!(f, "Idempotency-Key: {why}"),
            ApiError::IdempotencyKeyReused => f.write_str(
                "this Idempotency-Key was already used for another call; send a new key for a new operation",
            ),
            ApiError::GatewayUnavailable(why) => {
                write!(f, "the payment gateway is unavailable: {why}")
            }
            ApiError::GatewayRejected(why) => {
                write!(f, "the payment gateway refused the request: {why}")
            }
            ApiError::RateLimited { reason, retry_after_secs } => {
                write!(f, "{reason}; try again in {retry_after_secs} s")
            }
            ApiError::InPage(e) => e.fmt(f),
            ApiError::OtpNotExpected => f.write_str("this payment session is not waiting for a one-time code"),
            ApiError::OtpAttemptsExhausted => {
                write!(f, "{MAX_OTP_ATTEMPTS} one-time codes were tried on this session; start the payment again")
            }
            ApiError::Misconfigured(why) => write!(f, "the edge is misconfigured: {why}"),
            ApiError::Internal(why) => write!(f, "internal error: {why}"),
        }
    }
}

/// How many one-time codes one STC Pay session takes (the gateway's own limit may be lower).
pub const MAX_OTP_ATTEMPTS: u8 = 3;

/// Why what the shopper gave for a payment made in the page was refused. Each has its own code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "why", rename_all = "snake_case")]
pub enum InPageError {
    /// `mobile_invalid`: the STC Pay number is missing or not a Saudi mobile number.
    MobileInvalid(String),
    /// `otp_invalid`: the one-time code is not 4 to 8 digits.
    OtpInvalid,
    /// `applepay_token_invalid`: the Apple Pay token is missing, or is not one (not Apple's
    /// `{paymentData, paymentMethod, transactionIdentifier}` with its encrypted data and key, or
    /// too large); the reason says which.
    ApplepayTokenInvalid(String),
    /// `applepay_validation_url_invalid`: the merchant validation URL is not Apple's (https, a
    /// host `apple-pay-gateway….apple.com`).
    ApplepayValidationUrlInvalid(String),
    /// `applepay_unavailable`: no gateway serving Apple Pay for this payment takes it in the
    /// page (it stays on the gateway's page).
    ApplepayUnavailable,
    /// `wallet_not_expected`: a mobile number or token came for a method paid on the gateway's
    /// page.
    WalletNotExpected(String),
}

impl InPageError {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            InPageError::MobileInvalid(_) => "mobile_invalid",
            InPageError::OtpInvalid => "otp_invalid",
            InPageError::ApplepayTokenInvalid(_) => "applepay_token_invalid",
            InPageError::ApplepayValidationUrlInvalid(_) => "applepay_validation_url_invalid",
            InPageError::ApplepayUnavailable => "applepay_unavailable",
            InPageError::WalletNotExpected(_) => "wallet_not_expected",
        }
    }
}

impl fmt::Display for InPageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InPageError::MobileInvalid(why) => write!(f, "STC Pay: {why}"),
            InPageError::OtpInvalid => f.write_str("the one-time code must be 4 to 8 digits"),
            InPageError::ApplepayTokenInvalid(why) => write!(f, "Apple Pay: {why}"),
            InPageError::ApplepayValidationUrlInvalid(url) => {
                write!(f, "{url:?} is not an Apple Pay merchant validation URL")
            }
            InPageError::ApplepayUnavailable => {
                f.write_str("Apple Pay is taken on the gateway's page for this payment, not in the page")
            }
            InPageError::WalletNotExpected(method) => {
                write!(f, "{method} is paid on the gateway's page: send no mobile number or token for it")
            }
        }
    }
}

/// A one-time code as typed (Arabic-Indic digits read as digits, spaces dropped): 4 to 8 digits.
pub fn parse_otp(typed: &str) -> Result<String, InPageError> {
    let mut code = String::new();
    for c in typed.chars().filter(|c| !c.is_whitespace()) {
        code.push(crate::mobile::ascii_digit(c).ok_or(InPageError::OtpInvalid)?);
    }
    if (4..=8).contains(&code.len()) {
        Ok(code)
    } else {
        Err(InPageError::OtpInvalid)
    }
}

/// Checks an Apple Pay merchant validation URL: Apple documents its hosts as
/// `apple-pay-gateway[-…].apple.com` and `cn-apple-pay-gateway[-…].apple.com`. Anything else
/// would make the gateway call a host of the caller's choosing.
pub fn check_applepay_validation_url(url: &str) -> Result<(), InPageError> {
    let refused = || InPageError::ApplepayValidationUrlInvalid(url.chars().take(200).collect());
    let rest = url.strip_prefix("https://").ok_or_else(refused)?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default().to_ascii_lowercase();
    let name = host.strip_suffix(".apple.com").ok_or_else(refused)?;
    let name = name.strip_prefix("cn-").unwrap_or(name);
    let apple = name.starts_with("apple-pay-gateway")
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !host.contains('@')
        && !host.contains(':');
    if apple {
        Ok(())
    } else {
        Err(refused())
    }
}

impl From<crate::limits::Refusal> for ApiError {
    fn from(r: crate::limits::Refusal) -> Self {
        ApiError::RateLimited { reason: r.scope.describe().to_string(), retry_after_secs: r.retry_after_secs }
    }
}

impl ApiError {
    /// The `Retry-After` header's value (seconds) for errors that have one.
    pub fn retry_after_secs(&self) -> Option<i64> {
        match self {
            ApiError::RateLimited { retry_after_secs, .. } => Some(*retry_after_secs),
            _ => None,
        }
    }
}

impl From<IntentError> for ApiError {
    fn from(e: IntentError) -> Self {
        ApiError::Intent(e)
    }
}

/// The JSON error body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// Code and message of an error body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// Stable code.
    pub code: String,
    /// Human-readable message.
    pub message: String,
}

/// `POST /v1/methods` request.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MethodsRequest {
    /// The signed intent.
    pub intent: String,
}

/// One method the shopper may choose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MethodOption {
    /// Method code.
    pub code: PaymentMethod,
    /// The gateway that would serve it.
    pub gateway: String,
    /// How the widget takes it there: `redirect` (the gateway's page), `otp` (STC Pay's number
    /// and code in the page), `applepay` (the Apple Pay sheet, where the browser has it).
    #[serde(default)]
    pub flow: crate::gateway::MethodFlow,
}

/// `POST /v1/methods` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MethodsResponse {
    /// The shop's reference.
    pub reference: String,
    /// Amount in minor units.
    pub amount: i64,
    /// ISO 4217 code.
    pub currency: String,
    /// Amount as a major-unit decimal, for display ("100.50").
    pub amount_display: String,
    /// Available methods in display order (mada first).
    pub methods: Vec<MethodOption>,
    /// The shop's name as shoppers know it (the Apple Pay sheet's total line).
    #[serde(default)]
    pub merchant_name: String,
}

/// `POST /v1/sessions` request.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionRequest {
    /// The signed intent.
    pub intent: String,
    /// The chosen method code.
    pub method: String,
    /// The page's language (`ar` or `en`).
    #[serde(default)]
    pub locale: Option<String>,
    /// STC Pay in the page: the shopper's mobile number, as typed.
    #[serde(default)]
    pub mobile: Option<String>,
    /// Apple Pay in the page: the sheet's `payment.token`, as JSON text.
    #[serde(default)]
    pub applepay_token: Option<String>,
}

/// `POST /v1/sessions/{id}/otp` request.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtpRequest {
    /// The code the shopper received.
    pub otp: String,
}

/// `POST /v1/applepay/validate` request: Apple's `validationURL` from `onvalidatemerchant`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplepayValidateRequest {
    /// The signed intent.
    pub intent: String,
    /// Apple's merchant validation URL.
    pub validation_url: String,
}

/// What the widget must do next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum NextAction {
    /// Send the shopper to `url` (a gateway-hosted page).
    Redirect {
        /// The page.
        url: String,
    },
    /// POST `fields` to `url` from the shopper's browser (a signed hosted-page form).
    FormPost {
        /// The page.
        url: String,
        /// The form fields, signed by the edge.
        fields: std::collections::BTreeMap<String, String>,
    },
    /// Ask the shopper for the one-time code the wallet sent (STC Pay) and send it to
    /// `POST /v1/sessions/{id}/otp`.
    Otp,
    /// Nothing: the payment is already decided.
    None,
}

/// A payment session as the widget sees it (`POST /v1/sessions`, `GET /v1/sessions/{id}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionView {
    /// Session id.
    pub id: String,
    /// The shop's reference.
    pub reference: String,
    /// Chosen method.
    pub method: PaymentMethod,
    /// Gateway code.
    pub gateway: String,
    /// The payment's state.
    pub status: PaymentState,
    /// Amount in minor units.
    pub amount: i64,
    /// ISO 4217 code.
    pub currency: String,
    /// Where the shop wants the shopper at the end.
    pub return_url: String,
    /// What to do next.
    pub next_action: NextAction,
    /// Why it failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<crate::notification::ErrorInfo>,
    /// How the result notification to the shop is doing (absent until there is one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<DeliveryView>,
}

/// Where a notification to the shop stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    /// Written, first attempt not made or not answered yet.
    Pending,
    /// At least one attempt failed; retrying.
    Failing,
    /// The shop answered 2xx.
    Delivered,
    /// Retried for the whole delivery window (72 h) without a 2xx; kept for the operator.
    Failed,
}

/// The latest notification's delivery, as `GET /v1/sessions/{id}` and `/v1/deliveries` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryView {
    /// The event.
    pub event_id: String,
    /// The event type.
    #[serde(rename = "type")]
    pub event_type: crate::notification::EventType,
    /// State.
    pub state: DeliveryState,
    /// Attempts so far.
    pub attempts: u32,
    /// Last failure, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Next attempt (unix ms), if one is scheduled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at_ms: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_time_codes_are_four_to_eight_digits_in_any_script() {
        assert_eq!(parse_otp("123456"), Ok("123456".into()));
        assert_eq!(parse_otp(" 123 456 "), Ok("123456".into()));
        assert_eq!(parse_otp("١٢٣٤٥٦"), Ok("123456".into()));
        for bad in ["", "123", "123456789", "12a456", "12-456"] {
            assert_eq!(parse_otp(bad), Err(InPageError::OtpInvalid), "{bad}");
        }
        assert_eq!(ApiError::InPage(InPageError::OtpInvalid).status(), 422);
        assert_eq!(ApiError::InPage(InPageError::OtpInvalid).code(), "otp_invalid");
    }

    #[test]
    fn only_apples_validation_hosts_are_accepted() {
        for ok in [
            "https://apple-pay-gateway.apple.com/paymentservices/paymentSession",
            "https://apple-pay-gateway-cert.apple.com/paymentservices/startSession",
            "https://apple-pay-gateway-nc-pod5.apple.com/paymentservices/paymentSession",
            "https://cn-apple-pay-gateway.apple.com/paymentservices/paymentSession",
        ] {
            assert_eq!(check_applepay_validation_url(ok), Ok(()), "{ok}");
        }
        for bad in [
            "http://apple-pay-gateway.apple.com/x",
            "https://apple-pay-gateway.apple.com.evil.example/x",
            "https://evil.example/apple-pay-gateway.apple.com",
            "https://user@apple-pay-gateway.apple.com/x",
            "https://apple-pay-gateway.apple.com:8443/x",
            "https://www.apple.com/x",
            "https://x.apple-pay-gateway.apple.com/x",
            "",
        ] {
            assert!(check_applepay_validation_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn intent_errors_split_between_401_and_422() {
        assert_eq!(ApiError::Intent(IntentError::Expired).status(), 401);
        assert_eq!(ApiError::Intent(IntentError::InvalidSignature).status(), 401);
        assert_eq!(ApiError::Intent(IntentError::AmountInvalid).status(), 422);
        assert_eq!(ApiError::Intent(IntentError::CurrencyUnsupported("X".into())).status(), 422);
    }

    #[test]
    fn errors_cross_the_durable_object_boundary_intact() {
        for e in [
            ApiError::RefundExceedsPayment { remaining: 5 },
            ApiError::PaymentFinished(PaymentState::Paid),
            ApiError::IdempotencyKeyReused,
            ApiError::OtpAttemptsExhausted,
            ApiError::InPage(InPageError::MobileInvalid("empty".into())),
            ApiError::GatewayUnavailable("down".into()),
        ] {
            let back: ApiError = serde_json::from_str(&serde_json::to_string(&e).unwrap()).unwrap();
            assert_eq!(back, e);
        }
    }

    #[test]
    fn body_has_the_stable_shape() {
        let json = serde_json::to_value(ApiError::SessionNotFound.body()).unwrap();
        assert_eq!(json["error"]["code"], "session_not_found");
        assert!(json["error"]["message"].as_str().unwrap().contains("session"));
    }
}
