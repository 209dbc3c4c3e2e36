//! Stripe in the registry: its settings and its [`Gateway`] surface.

use super::{Config, CAPABILITIES, CODE, DEFAULT_API_BASE};
use crate::gateway::connector::{base_url, required, Connector, Gateway, Registration, Settings, Start, StartInput};
use crate::gateway::{
    CancelOutcome, Capabilities, CheckVerdict, GatewayError, GatewayPayment, GatewaySession, HttpRequest, HttpResponse,
    Mode, OperationResult, WebhookError, WebhookHint,
};
use crate::money::Money;
use crate::secret::Secret;

/// Stripe's registry line.
pub const REGISTRATION: Registration = Registration {
    code: CODE,
    capabilities: &CAPABILITIES,
    settings: &["STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_API_BASE"],
    configure,
};

fn configure(settings: Settings<'_>, _edge_origin: &str) -> Result<Connector, String> {
    Ok(Box::new(Config {
        api_base: base_url(settings, "STRIPE_API_BASE", DEFAULT_API_BASE),
        secret_key: Secret::new(required(settings, "STRIPE_SECRET_KEY")?),
        webhook_secret: Secret::new(required(settings, "STRIPE_WEBHOOK_SECRET")?),
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
        super::mode_of_key(self.secret_key.expose())
    }

    fn build_start(&self, input: &StartInput<'_>) -> Result<Start, GatewayError> {
        // Stripe's `expires_at` must fall 30 min – 24 h after creation: clamped from `now`; the
        // edge also expires the page (`build_cancel`) when the payment expires.
        super::build_create_session(self, input, input.now).map(Start::Call)
    }

    fn parse_start(&self, resp: &HttpResponse) -> Result<GatewaySession, GatewayError> {
        super::parse_create_session(resp)
    }

    fn build_fetch(&self, gateway_payment_id: &str) -> HttpRequest {
        super::build_fetch_session(self, gateway_payment_id)
    }

    fn parse_fetch(&self, resp: &HttpResponse, _expected: &Money) -> Result<GatewayPayment, GatewayError> {
        super::parse_fetch_session(resp)
    }

    fn build_cancel(&self, gateway_payment_id: &str) -> Option<HttpRequest> {
        Some(super::build_expire(self, gateway_payment_id))
    }

    fn parse_cancel(&self, resp: &HttpResponse) -> CancelOutcome {
        super::parse_expire(resp)
    }

    fn verify_webhook(
        &self,
        header: &dyn Fn(&str) -> Option<String>,
        body: &[u8],
        now: i64,
    ) -> Result<WebhookHint, WebhookError> {
        super::webhook::verify(self.webhook_secret.expose(), header(super::webhook::HEADER).as_deref(), body, now)
    }

    fn build_refund(
        &self,
        _gateway_payment_id: &str,
        transaction_id: &str,
        amount: &Money,
        refund_reference: &str,
    ) -> HttpRequest {
        super::build_refund(self, transaction_id, amount, refund_reference)
    }

    fn parse_refund(&self, resp: &HttpResponse, amount: Money) -> Result<OperationResult, GatewayError> {
        super::parse_refund(resp, amount)
    }

    fn build_refund_status(&self, refund_id: &str) -> Option<HttpRequest> {
        Some(super::build_refund_status(self, refund_id))
    }

    fn parse_refund_status(&self, resp: &HttpResponse, amount: Money) -> Result<OperationResult, GatewayError> {
        super::parse_refund(resp, amount)
    }

    fn build_check(&self) -> HttpRequest {
        super::build_check(self)
    }

    fn parse_check(&self, resp: &HttpResponse, currency: Option<&str>) -> (CheckVerdict, String) {
        super::parse_check(resp, currency)
    }
}
