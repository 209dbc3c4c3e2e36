//! Moyasar in the registry: its settings and its [`Gateway`] surface.

use super::in_page;
use super::{Config, CAPABILITIES, CODE, DEFAULT_API_BASE};
use crate::gateway::connector::{base_url, required, Connector, Gateway, Registration, Settings, Start, StartInput};
use crate::gateway::{
    Capabilities, CheckVerdict, GatewayError, GatewayPayment, GatewaySession, HttpRequest, HttpResponse, MethodFlow,
    Mode, OperationResult, WebhookError, WebhookHint,
};
use crate::method::PaymentMethod;
use crate::money::Money;
use crate::secret::Secret;

/// Moyasar's registry line.
pub const REGISTRATION: Registration = Registration {
    code: CODE,
    capabilities: &CAPABILITIES,
    settings: &["MOYASAR_SECRET_KEY", "MOYASAR_WEBHOOK_SECRET", "MOYASAR_API_BASE", "MOYASAR_PUBLISHABLE_KEY"],
    configure,
};

fn configure(settings: Settings<'_>, _edge_origin: &str) -> Result<Connector, String> {
    Ok(Box::new(Config {
        api_base: base_url(settings, "MOYASAR_API_BASE", DEFAULT_API_BASE),
        secret_key: Secret::new(required(settings, "MOYASAR_SECRET_KEY")?),
        webhook_secret: Secret::new(required(settings, "MOYASAR_WEBHOOK_SECRET")?),
        publishable_key: settings("MOYASAR_PUBLISHABLE_KEY").filter(|k| !k.trim().is_empty()).map(Secret::new),
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
        Mode::of_secret_key(self.secret_key.expose())
    }

    fn flow(&self, method: PaymentMethod) -> MethodFlow {
        match method {
            PaymentMethod::Stcpay => MethodFlow::Otp,
            PaymentMethod::Applepay if self.publishable_key.is_some() => MethodFlow::Applepay,
            _ => MethodFlow::Redirect,
        }
    }

    /// An Apple Pay payment charges at its creation: it is ours to name (`given_id`). An STC
    /// Pay payment charges only with its code, which needs the creation's answer anyway.
    fn charge_id_before_call(&self, input: &StartInput<'_>) -> Option<String> {
        matches!(input.wallet, Some(crate::gateway::Wallet::Applepay { .. }))
            .then(|| in_page::given_id(input.session_key))
            .flatten()
    }

    fn build_start(&self, input: &StartInput<'_>) -> Result<Start, GatewayError> {
        match input.wallet {
            Some(wallet) => in_page::build_create_payment(self, input, wallet).map(Start::Call),
            None => super::build_create_session(self, input).map(Start::Call),
        }
    }

    fn parse_start(&self, resp: &HttpResponse) -> Result<GatewaySession, GatewayError> {
        if in_page::is_payment(resp) {
            in_page::parse_created_payment(self, resp)
        } else {
            super::parse_create_session(resp)
        }
    }

    fn build_fetch(&self, gateway_payment_id: &str) -> HttpRequest {
        super::build_fetch_payment(self, gateway_payment_id)
    }

    fn parse_fetch(&self, resp: &HttpResponse, _expected: &Money) -> Result<GatewayPayment, GatewayError> {
        super::parse_fetch_payment(resp)
    }

    fn build_fetch_direct(&self, gateway_payment_id: &str) -> HttpRequest {
        in_page::build_fetch(self, gateway_payment_id)
    }

    fn parse_fetch_direct(&self, resp: &HttpResponse, _expected: &Money) -> Result<GatewayPayment, GatewayError> {
        in_page::parse_fetch(resp)
    }

    fn build_otp(&self, otp_url: &str, code: &str) -> Option<HttpRequest> {
        Some(in_page::build_otp(self, otp_url, code))
    }

    fn parse_otp(&self, resp: &HttpResponse) -> Result<(), GatewayError> {
        in_page::parse_otp(resp)
    }

    fn build_applepay_session(&self, validation_url: &str, domain: &str, display_name: &str) -> Option<HttpRequest> {
        let key = self.publishable_key.as_ref()?;
        Some(in_page::build_applepay_session(self, key.expose(), validation_url, domain, display_name))
    }

    fn parse_applepay_session(&self, resp: &HttpResponse) -> Result<serde_json::Value, GatewayError> {
        in_page::parse_applepay_session(resp)
    }

    // Moyasar's invoice cancel (`PUT /v1/invoices/{id}/cancel`) is in its SDKs, not its
    // reference docs: not relied on. Its invoices close by `expired_at` instead
    // (`StartInput::expires_at`).

    fn verify_webhook(
        &self,
        _header: &dyn Fn(&str) -> Option<String>,
        body: &[u8],
        _now: i64,
    ) -> Result<WebhookHint, WebhookError> {
        super::webhook::verify(self.webhook_secret.expose().as_bytes(), body)
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
        super::parse_operation(resp, "refunded", amount)
    }

    fn build_capture(&self, transaction_id: &str, amount: Option<&Money>) -> Option<HttpRequest> {
        CAPABILITIES.capture.then(|| super::build_capture(self, transaction_id, amount))
    }

    fn parse_capture(&self, resp: &HttpResponse, amount: Money) -> Result<OperationResult, GatewayError> {
        super::parse_operation(resp, "captured", amount)
    }

    fn build_void(&self, transaction_id: &str) -> Option<HttpRequest> {
        CAPABILITIES.void.then(|| super::build_void(self, transaction_id))
    }

    fn parse_void(&self, resp: &HttpResponse, amount: Money) -> Result<OperationResult, GatewayError> {
        super::parse_operation(resp, "voided", amount)
    }

    fn build_check(&self) -> HttpRequest {
        super::build_check(self)
    }

    fn parse_check(&self, resp: &HttpResponse, currency: Option<&str>) -> (CheckVerdict, String) {
        super::parse_check(resp, currency)
    }
}
