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
            ApiError::Misconfigured(why) => write!(f, "the edge is misconfigured: {why}"),
            ApiError::Internal(why) => write!(f, "internal error: {why}"),
        }
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
