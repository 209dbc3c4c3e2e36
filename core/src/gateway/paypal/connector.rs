//! PayPal in the registry: its settings and its [`Gateway`] surface, with the trait's optional
//! steps PayPal needs: a token for every call (`build_auth`, `parse_auth`, `authorize`), a
//! settling call after the fetch (`build_settle`: the capture of an approved order) and the
//! webhook check by PayPal's own call (`build_webhook_check`, `parse_webhook_check`).

use super::{Config, CAPABILITIES, CODE, DEFAULT_API_BASE};
use crate::gateway::connector::{base_url, required, Connector, Gateway, Registration, Settings, Start, StartInput};
use crate::gateway::{
    Capabilities, CheckVerdict, GatewayError, GatewayPayment, GatewaySession, HttpRequest, HttpResponse, Mode,
    OperationResult, WebhookError, WebhookHint,
};
use crate::money::Money;
use crate::secret::Secret;

/// PayPal's registry line.
pub const REGISTRATION: Registration = Registration {
    code: CODE,
    capabilities: &CAPABILITIES,
    settings: &["PAYPAL_CLIENT_ID", "PAYPAL_CLIENT_SECRET", "PAYPAL_WEBHOOK_ID", "PAYPAL_API_BASE"],
    configure,
};

fn configure(settings: Settings<'_>, _edge_origin: &str) -> Result<Connector, String> {
    Ok(Box::new(config(settings)?))
}

/// The configured gateway, without a token yet.
pub fn config(settings: Settings<'_>) -> Result<Config, String> {
    Ok(Config {
        api_base: base_url(settings, "PAYPAL_API_BASE", DEFAULT_API_BASE),
        client_id: required(settings, "PAYPAL_CLIENT_ID")?,
        client_secret: Secret::new(required(settings, "PAYPAL_CLIENT_SECRET")?),
        webhook_id: required(settings, "PAYPAL_WEBHOOK_ID")?,
    })
}

impl Gateway for Config {
    fn code(&self) -> &'static str {
        CODE
    }

    fn capabilities(&self) -> &'static Capabilities {
        &CAPABILITIES
    }

    fn mode(&self) -> Option<Mode> {
        super::mode_of(&self.api_base)
    }

    fn build_start(&self, input: &StartInput<'_>) -> Result<Start, GatewayError> {
        super::build_create_session(self, input).map(Start::Call)
    }

    fn parse_start(&self, resp: &HttpResponse) -> Result<GatewaySession, GatewayError> {
        super::parse_create_session(resp)
    }

    fn build_fetch(&self, gateway_payment_id: &str) -> HttpRequest {
        super::build_get_order(self, gateway_payment_id)
    }

    /// The capture of an approved order (idempotent per order).
    fn build_settle(&self, gateway_payment_id: &str, fetched: &HttpResponse) -> Option<HttpRequest> {
        super::build_settle(self, gateway_payment_id, fetched)
    }

    /// The order as fetched, or the capture's answer.
    fn parse_fetch(&self, resp: &HttpResponse, _expected: &Money) -> Result<GatewayPayment, GatewayError> {
        super::parse_order_answer(resp)
    }

    // PayPal has no call to close a CAPTURE order that was not approved; it expires [U].

    /// Only what can be checked without PayPal: the five headers, a PayPal certificate URL and
    /// a body the verification call can carry; the hint names the order. The proof is
    /// [`Gateway::build_webhook_check`].
    fn verify_webhook(
        &self,
        header: &dyn Fn(&str) -> Option<String>,
        body: &[u8],
        _now: i64,
    ) -> Result<WebhookHint, WebhookError> {
        super::webhook::build_verify(self, header, body)?;
        super::webhook::hint(header, body)
    }

    /// `POST /v1/notifications/verify-webhook-signature`. Never `None`: a body
    /// [`Gateway::verify_webhook`] did not accept still gets a call PayPal refuses (fail closed).
    fn build_webhook_check(&self, header: &dyn Fn(&str) -> Option<String>, body: &[u8]) -> Option<HttpRequest> {
        Some(super::webhook::build_verify(self, header, body).unwrap_or_else(|_| super::webhook::build_refused(self)))
    }

    /// Only `verification_status: SUCCESS` lets the webhook through.
    fn parse_webhook_check(&self, resp: &HttpResponse) -> Result<(), WebhookError> {
        super::webhook::parse_verify(resp)
    }

    fn build_refund(
        &self,
        _gateway_payment_id: &str,
        transaction_id: &str,
        amount: &Money,
        reference: &str,
    ) -> HttpRequest {
        super::build_refund(self, transaction_id, amount, reference)
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

    /// The OAuth2 token request.
    fn build_auth(&self) -> Option<HttpRequest> {
        Some(super::build_token(self))
    }

    /// The token and the seconds it lives (`expires_in`).
    fn parse_auth(&self, resp: &HttpResponse) -> Result<(String, i64), GatewayError> {
        let token = super::parse_token(resp)?;
        Ok((token.token.expose().to_string(), i64::try_from(token.expires_in).unwrap_or(i64::MAX)))
    }

    /// `Authorization: Bearer <token>` on every REST call (the token call keeps its Basic credentials).
    fn authorize(&self, request: HttpRequest, token: &str) -> HttpRequest {
        super::authorize(self, request, token)
    }

    /// The token call itself.
    fn build_check(&self) -> HttpRequest {
        super::build_check(self)
    }

    fn parse_check(&self, resp: &HttpResponse, currency: Option<&str>) -> (CheckVerdict, String) {
        super::parse_check(resp, currency)
    }
}
