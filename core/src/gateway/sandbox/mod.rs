//! The built-in sandbox gateway: a test gateway with its own hosted card page, test cards
//! (approve, decline, 3-D Secure challenge) and signed webhooks. It exists for the demo and the
//! end-to-end tests, and is on only when `SANDBOX_ENABLED` is set, like Odoo's `payment_demo`.
//!
//! This module is the *client* side (the connector the edge uses) and [`server`] is the
//! gateway itself (its rules and hosted page), so both halves of the protocol are tested here.

pub mod connector;
pub mod declines;
pub mod server;
pub mod status;
pub mod webhook;
pub mod wire;

use super::{Capabilities, GatewayError, GatewayPayment, GatewaySession, HttpMethod, HttpRequest, HttpResponse};
use crate::method::PaymentMethod;
use crate::money::{Currency, Money};
use crate::notification::ErrorInfo;
use crate::secret::Secret;

/// Gateway code.
pub const CODE: &str = "sandbox";

/// What the sandbox can do.
pub const CAPABILITIES: Capabilities = Capabilities {
    methods: &[PaymentMethod::Mada, PaymentMethod::Visa, PaymentMethod::Mastercard],
    currencies: &["SAR", "AED", "KWD", "BHD", "USD"],
    partial_refund: true,
    capture: false,
    void: false,
};

/// Connector settings (`SANDBOX_API_BASE`, `SANDBOX_SECRET_KEY`, `SANDBOX_WEBHOOK_SECRET`).
#[derive(Debug, Clone)]
pub struct Config {
    /// Base URL of the sandbox API, without a trailing slash.
    pub api_base: String,
    /// API key, sent as a bearer token.
    pub secret_key: Secret,
    /// Secret the sandbox signs its webhooks with.
    pub webhook_secret: Secret,
    /// Whether `api_base` is this edge's own `/sandbox/api` (no `SANDBOX_API_BASE`): the
    /// edge then serves the requests in-process.
    pub on_this_edge: bool,
}

fn auth_headers(cfg: &Config) -> Vec<(String, String)> {
    vec![
        ("Authorization".into(), format!("Bearer {}", cfg.secret_key.expose())),
        ("Content-Type".into(), "application/json".into()),
    ]
}

/// `POST {api_base}/payments`.
pub fn build_create_session(cfg: &Config, input: &super::StartInput<'_>) -> HttpRequest {
    let body = wire::CreatePayment {
        reference: input.reference.to_string(),
        amount: input.money.minor,
        currency: input.money.currency.code().to_string(),
        method: input.method.code().to_string(),
        return_url: input.return_url.to_string(),
        webhook_url: input.webhook_url.to_string(),
        locale: input.locale.to_string(),
        customer_name: input.customer_name.map(str::to_string),
    };
    HttpRequest {
        method: HttpMethod::Post,
        url: format!("{}/payments", cfg.api_base),
        headers: auth_headers(cfg),
        body: Some(serde_json::to_vec(&body).expect("serializable")),
    }
}

/// Parses the answer to [`build_create_session`].
pub fn parse_create_session(resp: &HttpResponse) -> Result<GatewaySession, GatewayError> {
    let payment = parse_wire(resp)?;
    Ok(GatewaySession {
        id: payment.id,
        redirect_url: payment.hosted_url,
        form: None,
        flow: super::SessionFlow::Hosted,
    })
}

/// `GET {api_base}/payments/{id}`: the server-side status check that every result goes through.
pub fn build_fetch_payment(cfg: &Config, id: &str) -> HttpRequest {
    HttpRequest {
        method: HttpMethod::Get,
        url: format!("{}/payments/{}", cfg.api_base, crate::gateway::shared::urlencode_path(id)),
        headers: auth_headers(cfg),
        body: None,
    }
}

/// `POST {api_base}/payments/{id}/cancel`: closes a hosted page that will not be used (the
/// shopper chose another method), so an old tab cannot take a second payment.
pub fn build_cancel_payment(cfg: &Config, id: &str) -> HttpRequest {
    HttpRequest {
        method: HttpMethod::Post,
        url: format!("{}/payments/{}/cancel", cfg.api_base, crate::gateway::shared::urlencode_path(id)),
        headers: auth_headers(cfg),
        body: Some(b"{}".to_vec()),
    }
}

/// `POST {api_base}/payments/{id}/refund` with `{"amount": minor}` (omitted: the remainder).
pub fn build_refund(cfg: &Config, id: &str, amount: Option<&Money>) -> HttpRequest {
    let body = match amount {
        Some(m) => serde_json::json!({ "amount": m.minor }),
        None => serde_json::json!({}),
    };
    HttpRequest {
        method: HttpMethod::Post,
        url: format!("{}/payments/{}/refund", cfg.api_base, crate::gateway::shared::urlencode_path(id)),
        headers: auth_headers(cfg),
        body: Some(body.to_string().into_bytes()),
    }
}

/// Parses a refund answer (the payment, with its refunded total). The sandbox refunds at once
/// or refuses with a 400, so a 2xx answer is a refund that went through.
pub fn parse_refund(resp: &HttpResponse, amount: Money) -> Result<super::OperationResult, GatewayError> {
    let p = parse_wire(resp)?;
    Ok(super::OperationResult { id: p.id, status: super::OperationStatus::Succeeded, money: amount })
}

/// Parses the answer to [`build_cancel_payment`]. The sandbox answers 200 with the payment
/// whatever it was (see `server::cancel_by_merchant`), so its status decides: `canceled` or
/// `expired` is closed, `succeeded`, `failed` or `refunded` had already finished, a page still
/// open was not closed. Other 4xx are refusals, 5xx and unreadable bodies unreachable.
pub fn parse_cancel(resp: &HttpResponse) -> super::CancelOutcome {
    use super::CancelOutcome;
    match parse_wire(resp) {
        Ok(p) => match p.status.as_str() {
            "canceled" | "expired" => CancelOutcome::Closed,
            "succeeded" | "failed" | "refunded" => CancelOutcome::AlreadyFinal,
            other => CancelOutcome::Refused(format!("the sandbox left the payment {other}")),
        },
        Err(GatewayError::Rejected { status, message }) => CancelOutcome::Refused(format!("HTTP {status}: {message}")),
        Err(GatewayError::Unreachable(why)) => CancelOutcome::Unreachable(why),
        Err(other) => CancelOutcome::Unreachable(other.to_string()),
    }
}

/// `GET {api_base}/account`: the credentials check.
pub fn build_check(cfg: &Config) -> HttpRequest {
    HttpRequest {
        method: HttpMethod::Get,
        url: format!("{}/account", cfg.api_base),
        headers: auth_headers(cfg),
        body: None,
    }
}

/// The check verdict.
pub fn parse_check(resp: &HttpResponse, currency: Option<&str>) -> (super::CheckVerdict, String) {
    use super::CheckVerdict;
    match resp.status {
        200..=299 => match currency {
            Some(c) if !CAPABILITIES.currencies.contains(&c) => {
                (CheckVerdict::CurrencyUnsupported, format!("the sandbox does not take {c}"))
            }
            _ => (CheckVerdict::Ok, "the sandbox key works".into()),
        },
        401 => (CheckVerdict::InvalidCredentials, "Invalid API key".into()),
        403 => (CheckVerdict::NotPermitted, "not permitted".into()),
        s => (CheckVerdict::Unreachable, format!("HTTP {s}")),
    }
}

/// Parses the answer to [`build_fetch_payment`] (and to [`build_cancel_payment`]).
pub fn parse_fetch_payment(resp: &HttpResponse) -> Result<GatewayPayment, GatewayError> {
    let p = parse_wire(resp)?;
    let currency = Currency::parse(&p.currency).map_err(|e| GatewayError::InvalidResponse(e.to_string()))?;
    let state = status::to_state(&p.status)
        .ok_or_else(|| GatewayError::InvalidResponse(format!("unknown status {:?}", p.status)))?;
    Ok(GatewayPayment {
        transaction_id: None,
        id: p.id,
        reference: p.reference,
        state,
        money: Money::new(p.amount, currency),
        card_brand: p.card_brand,
        card_last4: p.card_last4,
        error: p.failure_code.map(|code| failure(state, code, p.failure_message)),
        refunded: Some(p.refunded),
        three_ds: p.three_d_secure,
    })
}

/// A failed payment's reason: the normalized code ([`declines`]), the sandbox's message with its
/// own code. A page the sandbox closed (`expired`, `superseded`) keeps its code, as the edge's
/// own cancellations do.
fn failure(state: crate::payment::PaymentState, code: String, message: Option<String>) -> ErrorInfo {
    if state != crate::payment::PaymentState::Failed {
        return ErrorInfo { code, message: message.unwrap_or_default() };
    }
    let reason = declines::reason(&code);
    ErrorInfo {
        code: reason.code().to_string(),
        message: crate::decline::gateway_message(reason, message.as_deref(), Some(&code)),
    }
}

fn parse_wire(resp: &HttpResponse) -> Result<wire::Payment, GatewayError> {
    super::parse_json_answer(resp, |body| serde_json::from_slice::<wire::ErrorBody>(body).ok().map(|e| e.error.message))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> Config {
        Config {
            on_this_edge: false,
            api_base: "http://127.0.0.1:9/sandbox/api".into(),
            secret_key: Secret::new("sk_sandbox_1"),
            webhook_secret: Secret::new("whsec_1"),
        }
    }

    #[test]
    fn create_request_carries_minor_units_and_auth() {
        let sar = Currency::parse("SAR").unwrap();
        let req = build_create_session(
            &cfg(),
            &crate::gateway::StartInput {
                return_url: "http://edge/v1/return/sandbox/x",
                webhook_url: "http://edge/v1/webhooks/sandbox",
                locale: "ar",
                ..crate::gateway::StartInput::sample(Money::new(10050, sar), PaymentMethod::Mada)
            },
        );
        assert_eq!(req.url, "http://127.0.0.1:9/sandbox/api/payments");
        assert!(req.headers.contains(&("Authorization".into(), "Bearer sk_sandbox_1".into())));
        let body: serde_json::Value = serde_json::from_slice(req.body.as_ref().unwrap()).unwrap();
        assert_eq!(body["amount"], 10050);
        assert_eq!(body["method"], "mada");
    }

    #[test]
    fn fetch_parses_states_and_errors() {
        let ok = HttpResponse {
            status: 200,
            body: br#"{"id":"sbx_1","reference":"demo:S1","status":"failed","amount":100,"currency":"SAR",
                "method":"visa","hosted_url":"u","card_brand":"visa","card_last4":"0002",
                "failure_code":"card_declined","failure_message":"Declined"}"#
                .to_vec(),
        };
        let p = parse_fetch_payment(&ok).unwrap();
        assert_eq!(p.state, crate::payment::PaymentState::Failed);
        assert_eq!(p.error.unwrap(), ErrorInfo { code: "declined".into(), message: "Declined (card_declined)".into() });
        let unauth = HttpResponse {
            status: 401,
            body: br#"{"error":{"type":"authentication_error","message":"Invalid API key"}}"#.to_vec(),
        };
        assert_eq!(
            parse_fetch_payment(&unauth),
            Err(GatewayError::Rejected { status: 401, message: "Invalid API key".into() })
        );
        assert!(matches!(
            parse_fetch_payment(&HttpResponse { status: 503, body: vec![] }),
            Err(GatewayError::Unreachable(_))
        ));
        assert!(matches!(
            parse_fetch_payment(&HttpResponse { status: 200, body: b"<html>".to_vec() }),
            Err(GatewayError::InvalidResponse(_))
        ));
    }

    #[test]
    fn ids_are_escaped_in_paths() {
        assert_eq!(build_fetch_payment(&cfg(), "a/../b").url, "http://127.0.0.1:9/sandbox/api/payments/a%2F%2E%2E%2Fb");
    }

    fn payment_answer(status: &str) -> HttpResponse {
        let body = format!(
            r#"{{"id":"sbx_1","reference":"demo:S1","status":"{status}","amount":100,"currency":"SAR",
            "method":"visa","hosted_url":"u"}}"#
        );
        HttpResponse { status: 200, body: body.into_bytes() }
    }

    #[test]
    fn refunds_are_final_and_cancels_say_whether_the_page_closed() {
        use crate::gateway::{CancelOutcome, OperationStatus};
        let sar = Money::new(100, Currency::parse("SAR").unwrap());
        assert_eq!(parse_refund(&payment_answer("refunded"), sar).unwrap().status, OperationStatus::Succeeded);
        let req = build_cancel_payment(&cfg(), "sbx_1");
        assert_eq!(
            (req.method, req.url.as_str()),
            (HttpMethod::Post, "http://127.0.0.1:9/sandbox/api/payments/sbx_1/cancel")
        );
        assert_eq!(parse_cancel(&payment_answer("canceled")), CancelOutcome::Closed);
        assert_eq!(parse_cancel(&payment_answer("expired")), CancelOutcome::Closed);
        for done in ["succeeded", "failed", "refunded"] {
            assert_eq!(parse_cancel(&payment_answer(done)), CancelOutcome::AlreadyFinal, "{done}");
        }
        assert!(matches!(parse_cancel(&payment_answer("requires_payment_method")), CancelOutcome::Refused(_)));
        let missing = HttpResponse {
            status: 404,
            body: br#"{"error":{"type":"not_found","message":"no payment sbx_2"}}"#.to_vec(),
        };
        assert_eq!(parse_cancel(&missing), CancelOutcome::Refused("HTTP 404: no payment sbx_2".into()));
        assert!(matches!(parse_cancel(&HttpResponse { status: 503, body: vec![] }), CancelOutcome::Unreachable(_)));
        assert!(matches!(
            parse_cancel(&HttpResponse { status: 200, body: b"<html>".to_vec() }),
            CancelOutcome::Unreachable(_)
        ));
    }
}
