//! One type over every gateway, so the edge can hold "the gateway of this session" without
//! knowing which it is. Each method only chooses the gateway's module: the logic lives there,
//! in the same shape for each (build a request, parse the answer, verify a webhook).

pub use super::StartInput;
use super::{
    aps, moyasar, sandbox, tap, CancelOutcome, Capabilities, CheckVerdict, GatewayError, GatewayPayment,
    GatewaySession, HttpRequest, HttpResponse, OperationResult, WebhookError, WebhookHint,
};
use crate::money::Money;

/// Every gateway code Bawaba knows, for routing settings and URLs.
pub const CODES: &[&str] = &[sandbox::CODE, moyasar::CODE, tap::CODE, aps::CODE];

/// How a session starts: with a call to the gateway, or (APS) with nothing to call.
#[derive(Debug, Clone)]
pub enum Start {
    /// Send this request, then `parse_start` its answer.
    Call(HttpRequest),
    /// The session is ready; the shopper's browser does the rest.
    Ready(GatewaySession),
}

/// A configured gateway.
#[derive(Debug, Clone)]
pub enum Connector {
    /// The built-in sandbox.
    Sandbox(sandbox::Config),
    /// Moyasar.
    Moyasar(moyasar::Config),
    /// Tap Payments.
    Tap(tap::Config),
    /// Amazon Payment Services.
    Aps(aps::Config),
}

/// The capabilities of a gateway by code.
pub fn capabilities_of(code: &str) -> Option<&'static Capabilities> {
    match code {
        sandbox::CODE => Some(&sandbox::CAPABILITIES),
        moyasar::CODE => Some(&moyasar::CAPABILITIES),
        tap::CODE => Some(&tap::CAPABILITIES),
        aps::CODE => Some(&aps::CAPABILITIES),
        _ => None,
    }
}

impl Connector {
    /// The gateway code.
    pub fn code(&self) -> &'static str {
        match self {
            Connector::Sandbox(_) => sandbox::CODE,
            Connector::Moyasar(_) => moyasar::CODE,
            Connector::Tap(_) => tap::CODE,
            Connector::Aps(_) => aps::CODE,
        }
    }

    /// The reference the gateway's record must carry for this session: ours, or (APS, whose
    /// `merchant_reference` is made per session) the session's own id at the gateway.
    pub fn expected_reference(&self, ours: &str, gateway_payment_id: &str) -> String {
        match self {
            Connector::Aps(_) => gateway_payment_id.to_string(),
            _ => ours.to_string(),
        }
    }

    /// Whether its credentials are test or live ones, where that can be told.
    pub fn mode(&self) -> Option<super::Mode> {
        match self {
            Connector::Sandbox(_) => Some(super::Mode::Test),
            Connector::Moyasar(cfg) => super::Mode::of_secret_key(cfg.secret_key.expose()),
            Connector::Tap(cfg) => super::Mode::of_secret_key(cfg.secret_key.expose()),
            Connector::Aps(cfg) => {
                if cfg.page_base.contains("sbcheckout.") {
                    Some(super::Mode::Test)
                } else if cfg.page_base.contains("//checkout.payfort.com") {
                    Some(super::Mode::Live)
                } else {
                    None
                }
            }
        }
    }

    /// What it supports.
    pub fn capabilities(&self) -> &'static Capabilities {
        capabilities_of(self.code()).expect("every connector has capabilities")
    }

    /// How to create a hosted session.
    pub fn build_start(&self, input: &StartInput<'_>) -> Result<Start, GatewayError> {
        match self {
            Connector::Aps(cfg) => {
                let (url, form) = aps::build_page_form(cfg, input)?;
                let id = form["merchant_reference"].clone();
                Ok(Start::Ready(GatewaySession { id, redirect_url: url, form: Some(form) }))
            }
            Connector::Sandbox(cfg) => Ok(Start::Call(sandbox::build_create_session(cfg, input))),
            Connector::Moyasar(cfg) => moyasar::build_create_session(cfg, input).map(Start::Call),
            Connector::Tap(cfg) => tap::build_create_session(cfg, input).map(Start::Call),
        }
    }

    /// Parses the created session.
    pub fn parse_start(&self, resp: &HttpResponse) -> Result<GatewaySession, GatewayError> {
        match self {
            Connector::Sandbox(_) => sandbox::parse_create_session(resp),
            Connector::Moyasar(_) => moyasar::parse_create_session(resp),
            Connector::Tap(_) => tap::parse_create_session(resp),
            Connector::Aps(_) => Err(GatewayError::InvalidResponse("APS sessions need no call".into())),
        }
    }

    /// The server-side status request.
    pub fn build_fetch(&self, gateway_payment_id: &str) -> HttpRequest {
        match self {
            Connector::Sandbox(cfg) => sandbox::build_fetch_payment(cfg, gateway_payment_id),
            Connector::Moyasar(cfg) => moyasar::build_fetch_payment(cfg, gateway_payment_id),
            Connector::Tap(cfg) => tap::build_fetch_payment(cfg, gateway_payment_id),
            Connector::Aps(cfg) => aps::build_fetch_payment(cfg, gateway_payment_id),
        }
    }

    /// Parses the status. `expected` is the payment's amount (APS reports "not paid yet" without one).
    pub fn parse_fetch(&self, resp: &HttpResponse, expected: &Money) -> Result<GatewayPayment, GatewayError> {
        match self {
            Connector::Sandbox(_) => sandbox::parse_fetch_payment(resp),
            Connector::Moyasar(_) => moyasar::parse_fetch_payment(resp),
            Connector::Tap(_) => tap::parse_fetch_payment(resp),
            Connector::Aps(cfg) => aps::parse_fetch_payment(cfg, resp, expected),
        }
    }

    /// Closes a hosted page that will not be used, where the gateway allows it.
    pub fn build_cancel(&self, gateway_payment_id: &str) -> Option<HttpRequest> {
        match self {
            Connector::Sandbox(cfg) => Some(sandbox::build_cancel_payment(cfg, gateway_payment_id)),
            // Moyasar's invoice cancel (`PUT /v1/invoices/{id}/cancel`) is in its SDKs, not its
            // reference docs: not relied on. Its invoices close by `expired_at` instead
            // (`StartInput::expires_at`).
            Connector::Moyasar(_) => None,
            // Tap has no call to cancel an INITIATED charge; it expires as ABANDONED. An APS page
            // that was never posted has nothing to cancel.
            Connector::Tap(_) | Connector::Aps(_) => None,
        }
    }

    /// Reads the answer to [`Connector::build_cancel`]: closed, already finished, refused (4xx)
    /// or unreachable (5xx). Only a `Closed` answer proves the page takes no more payments.
    pub fn parse_cancel(&self, resp: &HttpResponse) -> CancelOutcome {
        match self {
            Connector::Sandbox(_) => sandbox::parse_cancel(resp),
            Connector::Moyasar(_) | Connector::Tap(_) | Connector::Aps(_) => {
                CancelOutcome::Refused(format!("{} has no cancel call", self.code()))
            }
        }
    }

    /// Verifies a webhook. `header` reads a request header by name.
    pub fn verify_webhook(
        &self,
        header: &dyn Fn(&str) -> Option<String>,
        body: &[u8],
        now: i64,
    ) -> Result<WebhookHint, WebhookError> {
        match self {
            Connector::Sandbox(cfg) => {
                let event = sandbox::webhook::verify(
                    cfg.webhook_secret.expose().as_bytes(),
                    header(sandbox::webhook::HEADER).as_deref(),
                    body,
                    now,
                )
                .map_err(|e| match e {
                    sandbox::webhook::WebhookError::Signature(s) => WebhookError::Signature(s),
                    sandbox::webhook::WebhookError::Body(b) => WebhookError::Body(b),
                })?;
                Ok(WebhookHint { gateway_payment_id: Some(event.data.id), reference: Some(event.data.reference) })
            }
            Connector::Moyasar(cfg) => moyasar::webhook::verify(cfg.webhook_secret.expose().as_bytes(), body),
            Connector::Tap(cfg) => {
                tap::webhook::verify(cfg.secret_key.expose().as_bytes(), header(tap::webhook::HEADER).as_deref(), body)
            }
            Connector::Aps(cfg) => aps::verify_webhook(cfg, body),
        }
    }

    /// A refund of `amount` of the payment `transaction_id`; `refund_reference` is unique per
    /// refund (gateways that deduplicate use it).
    pub fn build_refund(
        &self,
        gateway_payment_id: &str,
        transaction_id: &str,
        amount: &Money,
        refund_reference: &str,
    ) -> HttpRequest {
        match self {
            Connector::Aps(cfg) => aps::build_refund(cfg, gateway_payment_id, transaction_id, amount),
            Connector::Sandbox(cfg) => sandbox::build_refund(cfg, transaction_id, Some(amount)),
            Connector::Moyasar(cfg) => moyasar::build_refund(cfg, transaction_id, Some(amount)),
            Connector::Tap(cfg) => tap::build_refund(cfg, transaction_id, amount, refund_reference),
        }
    }

    /// Parses a refund answer.
    pub fn parse_refund(&self, resp: &HttpResponse, amount: Money) -> Result<OperationResult, GatewayError> {
        match self {
            Connector::Sandbox(_) => sandbox::parse_refund(resp, amount),
            Connector::Moyasar(_) => moyasar::parse_operation(resp, "refunded", amount),
            Connector::Tap(_) => tap::parse_refund(resp, amount),
            Connector::Aps(cfg) => aps::parse_refund(cfg, resp, amount),
        }
    }

    /// The request that asks where a refund stands, for gateways whose refunds can stay pending
    /// (Tap). `None`: refunds there are final at once.
    pub fn build_refund_status(&self, refund_id: &str) -> Option<HttpRequest> {
        match self {
            Connector::Tap(cfg) => Some(tap::build_refund_status(cfg, refund_id)),
            // The sandbox, Moyasar and APS answer a refund with its final result.
            Connector::Sandbox(_) | Connector::Moyasar(_) | Connector::Aps(_) => None,
        }
    }

    /// Parses it. `amount` is the refund's amount.
    pub fn parse_refund_status(&self, resp: &HttpResponse, amount: Money) -> Result<OperationResult, GatewayError> {
        match self {
            Connector::Tap(_) => tap::parse_refund_status(resp, amount),
            Connector::Sandbox(_) | Connector::Moyasar(_) | Connector::Aps(_) => {
                Err(GatewayError::InvalidResponse("refunds here are final at once: nothing to ask".into()))
            }
        }
    }

    /// A void, where supported.
    pub fn build_void(&self, transaction_id: &str) -> Option<HttpRequest> {
        match self {
            Connector::Sandbox(_) | Connector::Tap(_) | Connector::Aps(_) => None,
            Connector::Moyasar(cfg) => Some(moyasar::build_void(cfg, transaction_id)),
        }
    }

    /// Parses a void answer.
    pub fn parse_void(&self, resp: &HttpResponse, amount: Money) -> Result<OperationResult, GatewayError> {
        match self {
            Connector::Sandbox(_) | Connector::Tap(_) | Connector::Aps(_) => {
                Err(GatewayError::InvalidResponse("no void here".into()))
            }
            Connector::Moyasar(_) => moyasar::parse_operation(resp, "voided", amount),
        }
    }

    /// A capture, where supported.
    pub fn build_capture(&self, transaction_id: &str, amount: Option<&Money>) -> Option<HttpRequest> {
        match self {
            Connector::Sandbox(_) | Connector::Tap(_) | Connector::Aps(_) => None,
            Connector::Moyasar(cfg) => {
                moyasar::CAPABILITIES.capture.then(|| moyasar::build_capture(cfg, transaction_id, amount))
            }
        }
    }

    /// Parses a capture answer.
    pub fn parse_capture(&self, resp: &HttpResponse, amount: Money) -> Result<OperationResult, GatewayError> {
        match self {
            Connector::Sandbox(_) | Connector::Tap(_) | Connector::Aps(_) => {
                Err(GatewayError::InvalidResponse("no capture here".into()))
            }
            Connector::Moyasar(_) => moyasar::parse_operation(resp, "captured", amount),
        }
    }

    /// The credentials check.
    pub fn build_check(&self) -> HttpRequest {
        match self {
            Connector::Sandbox(cfg) => sandbox::build_check(cfg),
            Connector::Moyasar(cfg) => moyasar::build_check(cfg),
            Connector::Tap(cfg) => tap::build_check(cfg),
            Connector::Aps(cfg) => aps::build_check(cfg),
        }
    }

    /// The verdict of a check, with the gateway's own message.
    pub fn parse_check(&self, resp: &HttpResponse, currency: Option<&str>) -> (CheckVerdict, String) {
        match self {
            Connector::Sandbox(_) => sandbox::parse_check(resp, currency),
            Connector::Moyasar(_) => moyasar::parse_check(resp, currency),
            Connector::Tap(_) => tap::parse_check(resp, currency),
            Connector::Aps(cfg) => aps::parse_check(cfg, resp, currency),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::OperationStatus;
    use crate::money::Currency;
    use crate::secret::Secret;

    fn tap() -> Connector {
        Connector::Tap(tap::Config { api_base: "http://t/v2".into(), secret_key: Secret::new("sk_test_x") })
    }

    fn moyasar() -> Connector {
        Connector::Moyasar(moyasar::Config {
            api_base: "http://m/v1".into(),
            secret_key: Secret::new("sk_test_m"),
            webhook_secret: Secret::new("token"),
        })
    }

    fn sandbox() -> Connector {
        Connector::Sandbox(sandbox::Config {
            api_base: "http://s/api".into(),
            secret_key: Secret::new("sk_sandbox"),
            webhook_secret: Secret::new("whsec"),
        })
    }

    #[test]
    fn only_tap_refunds_are_asked_again() {
        let sar = Money::new(100, Currency::parse("SAR").unwrap());
        let req = tap().build_refund_status("re_1").expect("Tap refunds can stay pending");
        assert_eq!(req.url, "http://t/v2/refunds/re_1");
        let resp = HttpResponse { status: 200, body: br#"{"id":"re_1","status":"REFUNDED"}"#.to_vec() };
        assert_eq!(tap().parse_refund_status(&resp, sar).unwrap().status, OperationStatus::Succeeded);
        for other in [moyasar(), sandbox()] {
            assert!(other.build_refund_status("re_1").is_none(), "{}", other.code());
            assert!(other.parse_refund_status(&resp, sar).is_err());
        }
    }

    #[test]
    fn cancels_exist_only_where_the_gateway_documents_them() {
        assert!(sandbox().build_cancel("sbx_1").is_some());
        assert!(moyasar().build_cancel("inv_1").is_none());
        assert!(tap().build_cancel("chg_1").is_none());
        let canceled = HttpResponse {
            status: 200,
            body: br#"{"id":"sbx_1","reference":"r","status":"canceled","amount":100,"currency":"SAR","method":"visa","hosted_url":"u"}"#.to_vec(),
        };
        assert_eq!(sandbox().parse_cancel(&canceled), CancelOutcome::Closed);
        assert!(matches!(moyasar().parse_cancel(&canceled), CancelOutcome::Refused(_)));
    }
}
