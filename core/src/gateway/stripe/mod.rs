//! Stripe: a hosted **Checkout Session** (`POST /v1/checkout/sessions`, the shopper pays on its
//! `url`), the truth from the session with its PaymentIntent and latest charge expanded
//! (`GET /v1/checkout/sessions/{id}?expand[]=payment_intent.latest_charge`), closing a page
//! with `POST /v1/checkout/sessions/{id}/expire`, refunds on the PaymentIntent
//! (`POST /v1/refunds`, followed with `GET /v1/refunds/{id}`), and webhooks signed with
//! `Stripe-Signature`. Requests are form-encoded with the secret key as a Bearer token. Facts
//! and sources: `docs/gateways/stripe.md`.
//!
//! Stripe does not onboard businesses registered in Saudi Arabia, and has no mada and no STC
//! Pay: it serves merchants with an entity elsewhere (UAE, abroad) who sell to Saudi shoppers.

pub mod connector;
pub mod declines;
pub mod status;
pub mod webhook;
pub mod wire;

use super::{
    CancelOutcome, Capabilities, CheckVerdict, GatewayError, GatewayPayment, GatewaySession, HttpMethod, HttpRequest,
    HttpResponse, OperationResult, OperationStatus,
};
use crate::method::PaymentMethod;
use crate::money::{Currency, Money};
use crate::notification::ErrorInfo;
use crate::payment::PaymentState;
use crate::secret::Secret;

/// Gateway code.
pub const CODE: &str = "stripe";

/// Production API base.
pub const DEFAULT_API_BASE: &str = "https://api.stripe.com/v1";

/// A Checkout Session's page may be told to close 30 minutes to 24 hours after it is created.
pub const EXPIRES_MIN_SECS: i64 = 30 * 60;
/// See [`EXPIRES_MIN_SECS`].
pub const EXPIRES_MAX_SECS: i64 = 24 * 3600;

/// What Stripe does here. Cards (Visa, Mastercard, Amex) and Apple Pay on the Checkout page; no
/// mada, no STC Pay. Every currency of Bawaba's table is a Stripe presentment currency (SAR
/// included). Capture and void need `capture_method=manual`, which Bawaba does not ask for.
pub const CAPABILITIES: Capabilities = Capabilities {
    methods: &[PaymentMethod::Visa, PaymentMethod::Mastercard, PaymentMethod::Amex, PaymentMethod::Applepay],
    currencies: &["SAR", "AED", "QAR", "EGP", "USD", "EUR", "GBP", "KWD", "BHD", "OMR", "JOD", "JPY"],
    partial_refund: true,
    capture: false,
    void: false,
};

/// Settings: `STRIPE_SECRET_KEY` (`sk_…` or a restricted `rk_…`), `STRIPE_WEBHOOK_SECRET`
/// (the endpoint's signing secret, `whsec_…`), `STRIPE_API_BASE`.
#[derive(Debug, Clone)]
pub struct Config {
    /// API base without a trailing slash (`https://api.stripe.com/v1`).
    pub api_base: String,
    /// The secret or restricted key.
    pub secret_key: Secret,
    /// The webhook endpoint's signing secret.
    pub webhook_secret: Secret,
}

/// Test or live, from the key's prefix (`sk_test_`, `sk_live_`, `rk_test_`, `rk_live_`).
pub fn mode_of_key(key: &str) -> Option<super::Mode> {
    match key.strip_prefix("rk_") {
        Some(rest) => super::Mode::of_secret_key(&format!("sk_{rest}")),
        None => super::Mode::of_secret_key(key),
    }
}

// === Amounts === //

/// Stripe's zero-decimal currencies among Bawaba's (the amount is the whole count).
const ZERO_DECIMAL: &[&str] = &["JPY"];

/// An amount in Stripe's units: the currency's minor units (cents, halalas; yen as is). The
/// three-decimal currencies (KWD, BHD, OMR, JOD) are sent in minor units too, but Stripe takes
/// only multiples of 10 there: anything else is refused here, never rounded.
pub fn to_stripe_amount(money: &Money) -> Result<i64, GatewayError> {
    let code = money.currency.code();
    if !CAPABILITIES.currencies.contains(&code) {
        return Err(GatewayError::Rejected { status: 400, message: format!("Stripe is not set up here for {code}") });
    }
    if money.minor <= 0 {
        return Err(GatewayError::Rejected { status: 400, message: "the amount must be positive".into() });
    }
    match money.currency.exponent() {
        3 if money.minor % 10 != 0 => Err(GatewayError::Rejected {
            status: 400,
            message: format!(
                "Stripe takes {code} amounts only in whole hundredths (a last digit of 0): {} {code} would need rounding",
                money.to_major_string()
            ),
        }),
        0 | 2 | 3 => Ok(money.minor),
        e => Err(GatewayError::Rejected { status: 400, message: format!("{code} has {e} decimals: not supported") }),
    }
}

/// An amount Stripe reports (`amount_total`, `amount`) with its lower-case currency, as Money.
pub fn from_stripe_amount(amount: i64, currency: &str) -> Result<Money, GatewayError> {
    let currency = Currency::parse(&currency.to_ascii_uppercase())
        .map_err(|e| GatewayError::InvalidResponse(format!("Stripe currency: {e}")))?;
    if ZERO_DECIMAL.contains(&currency.code()) != (currency.exponent() == 0) {
        return Err(GatewayError::InvalidResponse(format!("{currency}'s decimals differ at Stripe")));
    }
    Ok(Money::new(amount, currency))
}

// === Requests === //

/// Percent-encodes a form key or value (RFC 3986 unreserved characters stay).
pub fn form_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `application/x-www-form-urlencoded` body, Stripe's nested keys (`a[b][c]`) as they are.
pub fn form_body(fields: &[(String, String)]) -> Vec<u8> {
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", form_escape(k), form_escape(v)))
        .collect::<Vec<_>>()
        .join("&")
        .into_bytes()
}

fn request(cfg: &Config, method: HttpMethod, path: &str, form: Option<&[(String, String)]>) -> HttpRequest {
    let mut headers = vec![("Authorization".to_string(), format!("Bearer {}", cfg.secret_key.expose()))];
    if form.is_some() {
        headers.push(("Content-Type".into(), "application/x-www-form-urlencoded".into()));
    }
    HttpRequest { method, url: format!("{}{path}", cfg.api_base), headers, body: form.map(form_body) }
}

fn path_id(id: &str) -> String {
    crate::gateway::shared::urlencode_path(id)
}

/// The `expires_at` to send for a page created at `now` that should close at `wanted`: within
/// Stripe's window of 30 minutes to 24 hours after creation (a minute of margin on the short
/// end, for the request's own time).
pub fn clamp_expires_at(wanted: i64, now: i64) -> i64 {
    // Saturating, so that no clock value can make the bounds cross (clamp panics if they do).
    let earliest = now.saturating_add(EXPIRES_MIN_SECS + 60);
    let latest = now.saturating_add(EXPIRES_MAX_SECS - 60).max(earliest);
    wanted.clamp(earliest, latest)
}

/// `POST /checkout/sessions`: `mode=payment`, one line item in the payment's currency, the
/// edge's return route as `success_url` and `cancel_url`, our reference in
/// `client_reference_id` and in the session's and the PaymentIntent's metadata.
///
/// `now` (unix seconds) is when the page is created: with it, [`super::StartInput::expires_at`]
/// is sent as `expires_at`, clamped to Stripe's window ([`clamp_expires_at`]). Without it no
/// `expires_at` is sent (Stripe's default: 24 hours); the edge closes the page with
/// [`build_expire`] when the payment expires.
pub fn build_create_session(
    cfg: &Config,
    input: &super::StartInput<'_>,
    now: Option<i64>,
) -> Result<HttpRequest, GatewayError> {
    if !CAPABILITIES.methods.contains(&input.method) {
        return Err(GatewayError::Rejected { status: 400, message: format!("Stripe has no {}", input.method.code()) });
    }
    let amount = to_stripe_amount(&input.money)?;
    let currency = input.money.currency.code().to_ascii_lowercase();
    let name = if input.description.trim().is_empty() { input.reference } else { input.description };
    let mut f: Vec<(String, String)> = vec![
        ("mode".into(), "payment".into()),
        ("payment_method_types[0]".into(), "card".into()),
        ("line_items[0][quantity]".into(), "1".into()),
        ("line_items[0][price_data][currency]".into(), currency),
        ("line_items[0][price_data][unit_amount]".into(), amount.to_string()),
        ("line_items[0][price_data][product_data][name]".into(), name.to_string()),
        ("success_url".into(), input.return_url.to_string()),
        ("cancel_url".into(), input.return_url.to_string()),
        ("client_reference_id".into(), input.reference.to_string()),
        ("metadata[bawaba_reference]".into(), input.reference.to_string()),
        ("payment_intent_data[metadata][bawaba_reference]".into(), input.reference.to_string()),
        ("locale".into(), checkout_locale(input.locale).into()),
    ];
    if let Some(email) = input.customer_email.filter(|e| !e.is_empty()) {
        f.push(("customer_email".into(), email.to_string()));
    }
    if let (Some(wanted), Some(now)) = (input.expires_at, now) {
        f.push(("expires_at".into(), clamp_expires_at(wanted, now).to_string()));
    }
    Ok(request(cfg, HttpMethod::Post, "/checkout/sessions", Some(&f)))
}

/// Checkout's `locale` for ours. Checkout has no Arabic (Stripe.js's supported-locales table
/// marks `ar` for Elements only, and Checkout's `locale` enum has no `ar`: sending it is refused),
/// so `ar` becomes `auto` (the shopper's browser language, where Checkout has it); `en` stays.
pub fn checkout_locale(ours: &str) -> &'static str {
    if ours.starts_with("en") {
        "en"
    } else {
        "auto"
    }
}

/// Parses the created session: its id and its page.
pub fn parse_create_session(resp: &HttpResponse) -> Result<GatewaySession, GatewayError> {
    let session: wire::CheckoutSession = parse(resp)?;
    let url = session.url.ok_or_else(|| GatewayError::InvalidResponse("the session has no url".into()))?;
    Ok(GatewaySession { id: session.id, redirect_url: url, form: None, flow: super::SessionFlow::Hosted })
}

/// `GET /checkout/sessions/{id}?expand[]=payment_intent.latest_charge`.
pub fn build_fetch_session(cfg: &Config, session_id: &str) -> HttpRequest {
    let path = format!("/checkout/sessions/{}?expand%5B%5D=payment_intent.latest_charge", path_id(session_id));
    request(cfg, HttpMethod::Get, &path, None)
}

/// Parses a session with its PaymentIntent and charge into the normalized payment: the
/// PaymentIntent decides ([`status::session_state`]), the charge gives the card and the
/// refunded total, and refunds act on the PaymentIntent (`transaction_id`).
pub fn parse_fetch_session(resp: &HttpResponse) -> Result<GatewayPayment, GatewayError> {
    let session: wire::CheckoutSession = parse(resp)?;
    let session_status = session.status.clone().unwrap_or_default();
    let intent = match &session.payment_intent {
        Some(wire::Expandable::Object(pi)) => Some(pi.as_ref()),
        Some(wire::Expandable::Id(id)) => {
            return Err(GatewayError::InvalidResponse(format!("PaymentIntent {id} was not expanded")));
        }
        None => None,
    };
    let state =
        status::session_state(&session_status, intent.map(|pi| (pi.status.as_str(), pi.last_payment_error.is_some())))
            .ok_or_else(|| {
                GatewayError::InvalidResponse(format!(
                    "unknown status: session {session_status:?}, PaymentIntent {:?}",
                    intent.map(|pi| pi.status.as_str())
                ))
            })?;
    let (amount, currency) = match (session.amount_total, session.currency.as_deref(), intent) {
        (Some(a), Some(c), _) => (a, c.to_string()),
        (_, _, Some(pi)) if pi.amount.is_some() && pi.currency.is_some() => {
            (pi.amount.unwrap_or_default(), pi.currency.clone().unwrap_or_default())
        }
        _ => return Err(GatewayError::InvalidResponse("the session has no amount".into())),
    };
    let money = from_stripe_amount(amount, &currency)?;
    let charge = intent.and_then(latest_charge);
    let card = charge.and_then(|c| c.payment_method_details.as_ref()).and_then(|d| d.card.as_ref());
    let error = match state {
        PaymentState::Failed => Some(decline(intent.and_then(|pi| pi.last_payment_error.as_ref()))),
        PaymentState::Canceled => Some(ErrorInfo {
            code: if session_status == "expired" { "expired".into() } else { "canceled".into() },
            message: format!("The Stripe Checkout Session is {session_status}."),
        }),
        _ => None,
    };
    let reference =
        session.metadata.get("bawaba_reference").cloned().or(session.client_reference_id.clone()).unwrap_or_default();
    Ok(GatewayPayment {
        id: session.id,
        transaction_id: intent.map(|pi| pi.id.clone()),
        reference,
        state,
        money,
        card_brand: card.and_then(|c| c.brand.clone()),
        card_last4: card.and_then(|c| c.last4.clone()),
        error,
        // Refunds only exist on a charge that went through.
        refunded: charge.filter(|_| state == PaymentState::Paid).map(|c| c.amount_refunded),
        three_ds: None,
    })
}

fn latest_charge(pi: &wire::PaymentIntent) -> Option<&wire::Charge> {
    pi.latest_charge
        .as_ref()
        .and_then(wire::Expandable::object)
        .or_else(|| pi.charges.as_ref().and_then(|l| l.data.first()))
}

/// The failure of the last attempt: the normalized reason ([`declines`]), Stripe's message with
/// the issuer's `decline_code` (or Stripe's `code` when there is none).
fn decline(error: Option<&wire::PaymentError>) -> ErrorInfo {
    let code = error.and_then(|e| e.code.as_deref());
    let decline_code = error.and_then(|e| e.decline_code.as_deref());
    let reason = declines::reason(code, decline_code);
    let message = error.and_then(|e| e.message.as_deref()).unwrap_or("The payment failed.");
    ErrorInfo {
        code: reason.code().to_string(),
        message: crate::decline::gateway_message(reason, Some(message), decline_code.or(code)),
    }
}

/// `POST /checkout/sessions/{id}/expire`: the page takes no more payments.
pub fn build_expire(cfg: &Config, session_id: &str) -> HttpRequest {
    request(cfg, HttpMethod::Post, &format!("/checkout/sessions/{}/expire", path_id(session_id)), Some(&[]))
}

/// The answer to [`build_expire`]: the expired session is `Closed`. Stripe refuses (400) to
/// expire a session that is no longer open — it completed (paid, or processing) or already
/// expired: `AlreadyFinal`, to be fetched to learn which (the fetch decides, never this answer).
pub fn parse_expire(resp: &HttpResponse) -> CancelOutcome {
    match resp.status {
        200..=299 => match serde_json::from_slice::<wire::CheckoutSession>(&resp.body) {
            Ok(s) if s.status.as_deref() == Some("expired") => CancelOutcome::Closed,
            Ok(s) => CancelOutcome::Refused(format!("the session is {:?} after expire", s.status)),
            Err(e) => CancelOutcome::Unreachable(format!("unreadable answer: {e}")),
        },
        // "Only Checkout Sessions with a status in [\"open\"] can be expired" [U wording].
        400 => CancelOutcome::AlreadyFinal,
        500..=599 => CancelOutcome::Unreachable(format!("HTTP {}", resp.status)),
        _ => CancelOutcome::Refused(gateway_message(&resp.body)),
    }
}

/// `POST /refunds` on the PaymentIntent, with our refund reference in `metadata[bawaba_refund]`
/// and as the `Idempotency-Key` (a resent refund moves no money twice). The amount is in
/// Stripe's units, the minor units of every currency here ([`to_stripe_amount`]); a
/// three-decimal part not ending in 0 is sent as it is and refused by Stripe (400): never rounded.
pub fn build_refund(cfg: &Config, payment_intent: &str, amount: &Money, refund_reference: &str) -> HttpRequest {
    let f = vec![
        ("payment_intent".to_string(), payment_intent.to_string()),
        ("amount".into(), amount.minor.to_string()),
        ("metadata[bawaba_refund]".into(), refund_reference.to_string()),
    ];
    let mut req = request(cfg, HttpMethod::Post, "/refunds", Some(&f));
    req.headers.push(("Idempotency-Key".into(), refund_reference.to_string()));
    req
}

/// `GET /refunds/{id}`.
pub fn build_refund_status(cfg: &Config, refund_id: &str) -> HttpRequest {
    request(cfg, HttpMethod::Get, &format!("/refunds/{}", path_id(refund_id)), None)
}

/// Parses a Refund: `succeeded` → succeeded; `pending` and `requires_action` → pending (asked
/// again); `failed` and `canceled` → failed with Stripe's reason.
pub fn parse_refund(resp: &HttpResponse, amount: Money) -> Result<OperationResult, GatewayError> {
    let refund: wire::Refund = parse(resp)?;
    let status = match refund.status.as_str() {
        "succeeded" => OperationStatus::Succeeded,
        "pending" | "requires_action" => OperationStatus::Pending,
        "failed" | "canceled" => OperationStatus::Failed(ErrorInfo {
            code: format!("refund_{}", refund.status),
            message: format!(
                "Stripe's refund is {}{}",
                refund.status,
                refund.failure_reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default()
            ),
        }),
        other => return Err(GatewayError::InvalidResponse(format!("unknown refund status {other:?}"))),
    };
    if let Some(a) = refund.amount.filter(|a| *a != amount.minor) {
        return Err(GatewayError::Mismatch(format!("Stripe's refund is for {a}, not {}", amount.minor)));
    }
    Ok(OperationResult { id: refund.id, status, money: amount })
}

/// `GET /balance`: the cheapest read that needs the secret key.
pub fn build_check(cfg: &Config) -> HttpRequest {
    request(cfg, HttpMethod::Get, "/balance", None)
}

/// The verdict for a check answer: 401 wrong key; 403 a restricted key without this permission
/// (or an account that may not use the API) [U]; 5xx unreachable.
pub fn parse_check(resp: &HttpResponse, currency: Option<&str>) -> (CheckVerdict, String) {
    let message = gateway_message(&resp.body);
    match resp.status {
        200..=299 => match currency {
            Some(c) if !CAPABILITIES.currencies.contains(&c) => {
                (CheckVerdict::CurrencyUnsupported, format!("Stripe is not set up here for {c}"))
            }
            _ => (CheckVerdict::Ok, "the secret key works".into()),
        },
        401 => (CheckVerdict::InvalidCredentials, message),
        403 => (CheckVerdict::NotPermitted, message),
        _ => (CheckVerdict::Unreachable, format!("HTTP {}: {message}", resp.status)),
    }
}

fn error_message(body: &[u8]) -> Option<String> {
    let e = serde_json::from_slice::<wire::ErrorBody>(body).ok()?.error;
    match (e.message, e.code) {
        (Some(m), _) => Some(m),
        (None, Some(c)) => Some(c),
        (None, None) => e.kind,
    }
}

fn gateway_message(body: &[u8]) -> String {
    super::body_message(body, error_message)
}

fn parse<T: serde::de::DeserializeOwned>(resp: &HttpResponse) -> Result<T, GatewayError> {
    super::parse_json_answer(resp, error_message)
}

#[cfg(test)]
mod tests;
