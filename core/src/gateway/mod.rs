//! Gateway connectors, sans-IO: each gateway builds [`HttpRequest`]s and parses
//! [`HttpResponse`]s; the edge alone performs the I/O. Every gateway folder has the same shape:
//! `mod.rs` (config, capabilities, flows), `wire.rs` (the gateway's JSON), `status.rs` (its
//! statuses mapped to [`PaymentState`]) and `webhook.rs` (its notification scheme).

pub mod aps;
pub mod connector;
pub mod hyperpay;
pub mod moyasar;
pub mod paypal;
pub mod paytabs;
pub mod routes;
pub mod sandbox;
pub mod shared;
pub mod stripe;
pub mod tap;

use crate::method::PaymentMethod;
use crate::money::Money;
use crate::notification::ErrorInfo;
use crate::payment::PaymentState;
use std::fmt;

/// HTTP verbs the connectors use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpMethod {
    /// GET
    Get,
    /// POST
    Post,
    /// PUT
    Put,
}

/// A request for the edge to send. Built by connectors, sent by the edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// Verb.
    pub method: HttpMethod,
    /// Absolute URL.
    pub url: String,
    /// Headers (may include credentials: never log a request whole).
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Option<Vec<u8>>,
}

/// A response as the edge received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Body bytes.
    pub body: Vec<u8>,
}

/// A gateway's view of one payment, normalized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayPayment {
    /// The gateway's id for the session (invoice, charge, checkout).
    pub id: String,
    /// The id refunds, captures and voids act on, when it differs from `id` (Moyasar: the
    /// payment inside the invoice).
    pub transaction_id: Option<String>,
    /// Our reference, as the gateway echoes it.
    pub reference: String,
    /// Normalized state.
    pub state: PaymentState,
    /// Amount and currency as the gateway reports them.
    pub money: Money,
    /// Card brand, if known.
    pub card_brand: Option<String>,
    /// Last four digits, if known.
    pub card_last4: Option<String>,
    /// Failure reason, if failed.
    pub error: Option<ErrorInfo>,
    /// Minor units refunded so far on this payment, where the gateway reports it (Moyasar, the
    /// sandbox): how the edge learns of refunds whose answer it lost, and of refunds made in the
    /// gateway's dashboard.
    pub refunded: Option<i64>,
    /// Whether the shopper passed 3-D Secure (`Some(false)`: asked and failed), where the gateway
    /// says; `None` when it was not asked or the gateway does not tell.
    pub three_ds: Option<bool>,
}

/// What a session needs, whatever the gateway: each gateway reads the fields it uses.
#[derive(Debug, Clone)]
pub struct StartInput<'a> {
    /// The reference the gateway sees (`<shop id>:<reference>`).
    pub reference: &'a str,
    /// Amount.
    pub money: Money,
    /// Chosen method.
    pub method: PaymentMethod,
    /// The edge's return route for this session.
    pub return_url: &'a str,
    /// The edge's webhook route for this gateway.
    pub webhook_url: &'a str,
    /// `ar` or `en`.
    pub locale: &'a str,
    /// The customer's name.
    pub customer_name: Option<&'a str>,
    /// Shown on the gateway's page.
    pub description: &'a str,
    /// The customer's e-mail (APS requires one).
    pub customer_email: Option<&'a str>,
    /// A fresh random id for this session (APS makes its `merchant_reference` from it).
    pub session_key: &'a str,
    /// When the gateway's page must stop taking payments (unix seconds), for gateways that can be
    /// told so (Moyasar's `expired_at`); `None`: the gateway's own default.
    pub expires_at: Option<i64>,
    /// When the session is started (unix seconds), for gateways whose expiry must fall in a
    /// window from now (Stripe: 30 min to 24 h); `None` in tests that do not need it.
    pub now: Option<i64>,
    /// What the shopper gave the widget, for a payment made without leaving the page (STC Pay's
    /// mobile number, an Apple Pay token); `None` for a hosted page.
    pub wallet: Option<&'a Wallet>,
}

/// What the shopper gave the widget for a payment made in the page ([`MethodFlow::Otp`],
/// [`MethodFlow::Applepay`]). It crosses to the payment object for the one call that starts the
/// payment and is never stored: the token is a card credential, the number personal data.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Wallet {
    /// STC Pay: the number the one-time code is sent to.
    Stcpay {
        /// `05XXXXXXXX` ([`crate::mobile::SaudiMobile`]).
        mobile: String,
    },
    /// Apple Pay: the `token` of the sheet's `ApplePayPayment`, as JSON, encrypted by Apple for
    /// the gateway.
    Applepay {
        /// The token's JSON.
        token: String,
    },
}

impl std::fmt::Debug for Wallet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Neither the token nor the number is written to a log.
        match self {
            Wallet::Stcpay { .. } => f.write_str("Wallet::Stcpay { mobile: <redacted> }"),
            Wallet::Applepay { token } => write!(f, "Wallet::Applepay {{ token: <{} bytes> }}", token.len()),
        }
    }
}

/// How the widget takes a method at the gateway that serves it (`flow` in `/v1/methods`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MethodFlow {
    /// On the gateway's page: the widget sends the shopper there.
    #[default]
    Redirect,
    /// In the page: the mobile number, then the one-time code the wallet sends (STC Pay).
    Otp,
    /// In the page: the Apple Pay sheet, where the browser has Apple Pay (Safari).
    Applepay,
}

/// How a started session goes on.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SessionFlow {
    /// The shopper pays on the gateway's page (`redirect_url`, with `form` where it is posted).
    #[default]
    Hosted,
    /// The gateway sent a one-time code to the shopper's phone; the code goes to `url` through
    /// the edge (`POST /v1/sessions/{id}/otp`). The url stays in the edge.
    Otp {
        /// Where the gateway takes the code.
        url: String,
    },
    /// The charge was asked for when the session started (an Apple Pay token, or an STC Pay
    /// payment the gateway refused at once): its result is fetched at once.
    Direct,
}

impl SessionFlow {
    /// Whether the session's payment was made in the page, not on a hosted page: its status is
    /// read with [`connector::Gateway::build_fetch_direct`].
    pub fn is_direct(&self) -> bool {
        !matches!(self, SessionFlow::Hosted)
    }
}

#[cfg(test)]
impl StartInput<'static> {
    /// A complete input for connector tests, to be adjusted with struct update syntax.
    pub fn sample(money: Money, method: PaymentMethod) -> Self {
        StartInput {
            reference: "demo:S1",
            money,
            method,
            return_url: "http://edge/r",
            webhook_url: "http://edge/w",
            locale: "en",
            customer_name: None,
            description: "d",
            customer_email: None,
            session_key: "1",
            expires_at: None,
            now: None,
            wallet: None,
        }
    }
}

/// A hosted session created at a gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewaySession {
    /// The gateway's payment id.
    pub id: String,
    /// Where to send the shopper.
    pub redirect_url: String,
    /// When set, the shopper's browser must POST these fields to `redirect_url` (APS's hosted
    /// page is opened by a signed form post, not a link).
    pub form: Option<std::collections::BTreeMap<String, String>>,
    /// How it goes on: a hosted page, or a payment made in the page (then `redirect_url` is
    /// empty and the edge sends the shopper to its own return route once it is decided).
    pub flow: SessionFlow,
}

/// Where an operation (refund, capture, void) stands at the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OperationStatus {
    /// It went through.
    Succeeded,
    /// Accepted, not final yet (Tap refunds can be PENDING): ask again with the follow-up request.
    Pending,
    /// The gateway declined it; nothing moved.
    Failed(crate::notification::ErrorInfo),
}

/// The result of a refund, capture or void.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationResult {
    /// The gateway's id for the operation (or the payment's, where it has none of its own).
    pub id: String,
    /// Where it stands.
    pub status: OperationStatus,
    /// The amount it was for.
    pub money: Money,
}

/// What the gateway said to a request closing a hosted session ([`connector::Connector::build_cancel`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CancelOutcome {
    /// The page is closed: it will take no payment.
    Closed,
    /// The payment had already finished (paid, failed, refunded): nothing to close; fetch it to
    /// learn how it ended.
    AlreadyFinal,
    /// The gateway refused to close it (the gateway's message).
    Refused(String),
    /// No usable answer (5xx, or a body that does not say): the page may still be open.
    Unreachable(String),
}

/// Test or live money. A shop is registered as one or the other (`BAWABA_SHOPS`); a gateway's
/// credentials say which they are where the gateway makes it visible (`sk_test_…` keys, a
/// sandbox host). A test shop never reaches live credentials and a live shop never reaches test
/// ones (the sandbox included), so a shop in Test mode cannot take real money and a live shop
/// cannot confirm orders with test cards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Test cards, no real money.
    Test,
    /// Real money.
    Live,
}

impl Mode {
    /// Whether a shop in `self` may use a gateway whose credentials are `gateway` (`None`:
    /// the credentials do not say; allowed, and reported as unknown by the check).
    pub fn admits(self, gateway: Option<Mode>) -> bool {
        gateway.is_none_or(|g| g == self)
    }

    /// Which a secret key is, from the `sk_test_` / `sk_live_` prefix Moyasar and Tap use.
    pub fn of_secret_key(key: &str) -> Option<Mode> {
        if key.starts_with("sk_test_") {
            Some(Mode::Test)
        } else if key.starts_with("sk_live_") {
            Some(Mode::Live)
        } else {
            None
        }
    }
}

/// The verdict of a credentials check ("Test connection").
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckVerdict {
    /// The keys work.
    Ok,
    /// The gateway refused the keys (wrong key, wrong mode, wrong region).
    InvalidCredentials,
    /// The keys are valid but the account may not do this (not activated, missing permission).
    NotPermitted,
    /// No answer, or a server error.
    Unreachable,
    /// The keys work but the gateway does not take this currency.
    CurrencyUnsupported,
    /// The keys are of the other mode than the shop (live keys for a test shop, test keys or
    /// the sandbox for a live shop): the edge will not use them for this shop.
    WrongMode,
}

/// What a gateway supports, declared as data so routing and the UI can read it.
#[derive(Debug, Clone, Copy)]
pub struct Capabilities {
    /// Methods it can serve.
    pub methods: &'static [PaymentMethod],
    /// ISO codes it accepts.
    pub currencies: &'static [&'static str],
    /// Partial refunds.
    pub partial_refund: bool,
    /// Authorize, then capture (never for mada: it is sale-only).
    pub capture: bool,
    /// Void an authorization (or a payment before settlement).
    pub void: bool,
}

/// Why a webhook was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookError {
    /// Missing, malformed, stale or wrong signature or token.
    Signature(crate::signature::SignatureError),
    /// Authentic, but not a body we understand.
    Body(String),
}

/// What an authentic webhook says about which payment changed. The edge then asks the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookHint {
    /// The gateway's id for the session, when the webhook carries it.
    pub gateway_payment_id: Option<String>,
    /// Our reference, when the webhook carries it.
    pub reference: Option<String>,
}

impl Capabilities {
    /// Whether `method` in `currency` can be served.
    pub fn serves(&self, method: PaymentMethod, currency: &str) -> bool {
        self.methods.contains(&method)
            && self.currencies.contains(&currency)
            && method.only_currencies().is_none_or(|only| only.contains(&currency))
    }
}

/// Why a gateway call did not give a usable answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GatewayError {
    /// No answer (connection refused, timeout) or a 5xx.
    Unreachable(String),
    /// The gateway said no (401, 4xx with a message).
    Rejected {
        /// HTTP status.
        status: u16,
        /// The gateway's message.
        message: String,
    },
    /// The answer was not the documented shape.
    InvalidResponse(String),
    /// The gateway's record disagrees with ours (amount, currency or reference): treated as a
    /// failure, never as a success.
    Mismatch(String),
}

impl GatewayError {
    /// Whether this is an outage (no answer, a 5xx, a timeout) rather than an answer: a
    /// session then starts at the method's next gateway. A refusal is an answer and is
    /// reported, never hidden behind another gateway.
    pub fn is_outage(&self) -> bool {
        matches!(self, GatewayError::Unreachable(_))
    }
}

impl fmt::Display for GatewayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GatewayError::Unreachable(why) => write!(f, "gateway unreachable: {why}"),
            GatewayError::Rejected { status, message } => {
                write!(f, "gateway refused ({status}): {message}")
            }
            GatewayError::InvalidResponse(why) => write!(f, "unexpected gateway response: {why}"),
            GatewayError::Mismatch(why) => {
                write!(f, "gateway record does not match the payment: {why}")
            }
        }
    }
}

impl std::error::Error for GatewayError {}

/// Reads a gateway's JSON answer the way every connector does: 2xx is the documented body
/// (anything else there is an invalid response), 5xx means unreachable, any other status is a
/// refusal carrying the gateway's own message (`error_message` reads it from the error body; the
/// first 200 characters of the body are used when it cannot).
pub fn parse_json_answer<T: serde::de::DeserializeOwned>(
    resp: &HttpResponse,
    error_message: impl Fn(&[u8]) -> Option<String>,
) -> Result<T, GatewayError> {
    match resp.status {
        200..=299 => serde_json::from_slice(&resp.body).map_err(|e| GatewayError::InvalidResponse(e.to_string())),
        500..=599 => Err(GatewayError::Unreachable(format!("HTTP {}", resp.status))),
        status => Err(GatewayError::Rejected { status, message: body_message(&resp.body, error_message) }),
    }
}

/// The gateway's message from an error body, or the start of the body itself.
pub fn body_message(body: &[u8], error_message: impl Fn(&[u8]) -> Option<String>) -> String {
    error_message(body).unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(200).collect())
}

/// Checks that what the gateway reports is the payment we asked for. A result for another
/// amount, currency or reference is refused: a tampered or misrouted result must not pay an order.
pub fn check_matches(payment: &GatewayPayment, expected: &Money, reference: &str) -> Result<(), GatewayError> {
    if payment.reference != reference {
        return Err(GatewayError::Mismatch(format!("reference {:?} instead of {reference:?}", payment.reference)));
    }
    if payment.money != *expected {
        return Err(GatewayError::Mismatch(format!(
            "{} {} instead of {} {}",
            payment.money.to_major_string(),
            payment.money.currency,
            expected.to_major_string(),
            expected.currency
        )));
    }
    Ok(())
}
