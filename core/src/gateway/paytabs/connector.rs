//! PayTabs in the registry: its settings and its [`Gateway`] surface.

use super::{Config, FollowUp, CAPABILITIES, CODE, DEFAULT_API_BASE};
use crate::gateway::connector::{base_url, required, Connector, Gateway, Registration, Settings, Start, StartInput};
use crate::gateway::{
    Capabilities, CheckVerdict, GatewayError, GatewayPayment, GatewaySession, HttpRequest, HttpResponse, Mode,
    OperationResult, WebhookError, WebhookHint,
};
use crate::money::Money;
use crate::secret::Secret;

/// PayTabs' registry line.
pub const REGISTRATION: Registration = Registration {
    code: CODE,
    capabilities: &CAPABILITIES,
    settings: &["PAYTABS_PROFILE_ID", "PAYTABS_SERVER_KEY", "PAYTABS_API_BASE"],
    configure,
};

fn configure(settings: Settings<'_>, _edge_origin: &str) -> Result<Connector, String> {
    let profile_id = required(settings, "PAYTABS_PROFILE_ID")?.trim().to_string();
    if !profile_id.bytes().all(|b| b.is_ascii_digit()) {
        return Err("setting PAYTABS_PROFILE_ID must be the profile's number (digits only)".into());
    }
    Ok(Box::new(Config {
        api_base: base_url(settings, "PAYTABS_API_BASE", DEFAULT_API_BASE),
        profile_id,
        server_key: Secret::new(required(settings, "PAYTABS_SERVER_KEY")?),
    }))
}

impl Gateway for Config {
    fn code(&self) -> &'static str {
        CODE
    }

    fn capabilities(&self) -> &'static Capabilities {
        &CAPABILITIES
    }

    /// Test and live profiles look alike (no key prefix, the same host): unknown.
    fn mode(&self) -> Option<Mode> {
        None
    }

    fn build_start(&self, input: &StartInput<'_>) -> Result<Start, GatewayError> {
        super::build_create_session(self, input).map(Start::Call)
    }

    fn parse_start(&self, resp: &HttpResponse) -> Result<GatewaySession, GatewayError> {
        super::parse_create_session(resp)
    }

    fn build_fetch(&self, gateway_payment_id: &str) -> HttpRequest {
        super::build_query(self, gateway_payment_id)
    }

    fn parse_fetch(&self, resp: &HttpResponse, _expected: &Money) -> Result<GatewayPayment, GatewayError> {
        super::parse_query(self, resp)
    }

    // PayTabs documents no call that closes an unused hosted page; it expires on its own.

    fn verify_webhook(
        &self,
        header: &dyn Fn(&str) -> Option<String>,
        body: &[u8],
        _now: i64,
    ) -> Result<WebhookHint, WebhookError> {
        super::webhook::verify(
            self.server_key.expose().as_bytes(),
            &self.profile_id,
            header(super::webhook::HEADER).as_deref(),
            body,
        )
    }

    /// PayTabs POSTs signed fields to HTTPS return URLs and sends a bare GET to others
    /// (gateways.md §4.2): an empty return has nothing to verify; fields without a valid
    /// `signature` are refused.
    fn verify_return(&self, body: &[u8]) -> Result<(), WebhookError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        let text = std::str::from_utf8(body)
            .map_err(|_| WebhookError::Signature(crate::signature::SignatureError::Malformed))?;
        super::webhook::verify_return(self.server_key.expose().as_bytes(), text).map(|_| ())
    }

    fn build_refund(
        &self,
        gateway_payment_id: &str,
        _transaction_id: &str,
        amount: &Money,
        refund_reference: &str,
    ) -> HttpRequest {
        super::build_refund(self, gateway_payment_id, amount, refund_reference)
    }

    fn parse_refund(&self, resp: &HttpResponse, amount: Money) -> Result<OperationResult, GatewayError> {
        super::parse_follow_up(self, FollowUp::Refund, resp, amount)
    }

    fn build_refund_status(&self, refund_id: &str) -> Option<HttpRequest> {
        Some(super::build_query(self, refund_id))
    }

    fn parse_refund_status(&self, resp: &HttpResponse, amount: Money) -> Result<OperationResult, GatewayError> {
        super::parse_follow_up(self, FollowUp::Refund, resp, amount)
    }

    fn build_check(&self) -> HttpRequest {
        super::build_check(self)
    }

    fn parse_check(&self, resp: &HttpResponse, currency: Option<&str>) -> (CheckVerdict, String) {
        super::parse_check(self, resp, currency)
    }
}
