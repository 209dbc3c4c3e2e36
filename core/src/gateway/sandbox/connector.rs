//! The sandbox in the registry: its settings and its [`Gateway`] surface.

use super::{Config, CAPABILITIES, CODE};
use crate::gateway::connector::{
    base_url, flag, required, Connector, Gateway, Registration, Settings, Start, StartInput,
};
use crate::gateway::{
    CancelOutcome, Capabilities, CheckVerdict, GatewayError, GatewayPayment, GatewaySession, HttpRequest, HttpResponse,
    Mode, OperationResult, WebhookError, WebhookHint,
};
use crate::money::Money;
use crate::secret::Secret;

/// The sandbox's registry line. It exists only when `SANDBOX_ENABLED` is on; its API is this
/// edge's `/sandbox/api` unless `SANDBOX_API_BASE` says otherwise.
pub const REGISTRATION: Registration = Registration {
    code: CODE,
    capabilities: &CAPABILITIES,
    settings: &["SANDBOX_ENABLED", "SANDBOX_SECRET_KEY", "SANDBOX_WEBHOOK_SECRET", "SANDBOX_API_BASE"],
    configure,
};

fn configure(settings: Settings<'_>, edge_origin: &str) -> Result<Connector, String> {
    if !flag(settings, "SANDBOX_ENABLED") {
        return Err("the sandbox gateway is off (SANDBOX_ENABLED)".into());
    }
    let own = format!("{edge_origin}/sandbox/api");
    let api_base = base_url(settings, "SANDBOX_API_BASE", &own);
    Ok(Box::new(Config {
        on_this_edge: api_base == own,
        api_base,
        secret_key: Secret::new(required(settings, "SANDBOX_SECRET_KEY")?),
        webhook_secret: Secret::new(required(settings, "SANDBOX_WEBHOOK_SECRET")?),
    }))
}

impl Gateway for Config {
    fn code(&self) -> &'static str {
        CODE
    }

    fn capabilities(&self) -> &'static Capabilities {
        &CAPABILITIES
    }

    fn mode(&self) -> Option<Mode> {
        Some(Mode::Test)
    }

    fn served_by_this_edge(&self) -> bool {
        self.on_this_edge
    }

    fn build_start(&self, input: &StartInput<'_>) -> Result<Start, GatewayError> {
        Ok(Start::Call(super::build_create_session(self, input)))
    }

    fn parse_start(&self, resp: &HttpResponse) -> Result<GatewaySession, GatewayError> {
        super::parse_create_session(resp)
    }

    fn build_fetch(&self, gateway_payment_id: &str) -> HttpRequest {
        super::build_fetch_payment(self, gateway_payment_id)
    }

    fn parse_fetch(&self, resp: &HttpResponse, _expected: &Money) -> Result<GatewayPayment, GatewayError> {
        super::parse_fetch_payment(resp)
    }

    fn build_cancel(&self, gateway_payment_id: &str) -> Option<HttpRequest> {
        Some(super::build_cancel_payment(self, gateway_payment_id))
    }

    fn parse_cancel(&self, resp: &HttpResponse) -> CancelOutcome {
        super::parse_cancel(resp)
    }

    fn verify_webhook(
        &self,
        header: &dyn Fn(&str) -> Option<String>,
        body: &[u8],
        now: i64,
    ) -> Result<WebhookHint, WebhookError> {
        let event = super::webhook::verify(
            self.webhook_secret.expose().as_bytes(),
            header(super::webhook::HEADER).as_deref(),
            body,
            now,
        )
        .map_err(|e| match e {
            super::webhook::WebhookError::Signature(s) => WebhookError::Signature(s),
            super::webhook::WebhookError::Body(b) => WebhookError::Body(b),
        })?;
        Ok(WebhookHint { gateway_payment_id: Some(event.data.id), reference: Some(event.data.reference) })
    }

    fn build_refund(
        &self,
        _gateway_payment_id: &str,
        transaction_id: &str,
        amount: &Money,
        _reference: &str,
    ) -> HttpRequest {
        super::build_refund(self, transaction_id, Some(amount))
    }

    fn parse_refund(&self, resp: &HttpResponse, amount: Money) -> Result<OperationResult, GatewayError> {
        super::parse_refund(resp, amount)
    }

    fn build_check(&self) -> HttpRequest {
        super::build_check(self)
    }

    fn parse_check(&self, resp: &HttpResponse, currency: Option<&str>) -> (CheckVerdict, String) {
        super::parse_check(resp, currency)
    }
}
