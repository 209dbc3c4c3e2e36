//! Tap in the registry: its settings and its [`Gateway`] surface.

use super::{applepay, Config, CAPABILITIES, CODE, DEFAULT_API_BASE};
use crate::gateway::connector::{base_url, required, Connector, Gateway, Registration, Settings, Start, StartInput};
use crate::gateway::{
    Capabilities, CheckVerdict, GatewayError, GatewayPayment, GatewaySession, HttpRequest, HttpResponse, MethodFlow,
    Mode, OperationResult, Wallet, WebhookError, WebhookHint,
};
use crate::method::PaymentMethod;
use crate::money::Money;
use crate::secret::Secret;

/// Tap's registry line.
pub const REGISTRATION: Registration = Registration {
    code: CODE,
    capabilities: &CAPABILITIES,
    settings: &["TAP_SECRET_KEY", "TAP_API_BASE", "APPLE_PAY_MERCHANT_ID"],
    configure,
};

fn configure(settings: Settings<'_>, _edge_origin: &str) -> Result<Connector, String> {
    Ok(Box::new(Config {
        api_base: base_url(settings, "TAP_API_BASE", DEFAULT_API_BASE),
        secret_key: Secret::new(required(settings, "TAP_SECRET_KEY")?),
        // The edge shows it only when it also holds the merchant identity certificate.
        applepay_merchant: settings("APPLE_PAY_MERCHANT_ID").map(|m| m.trim().to_string()).filter(|m| !m.is_empty()),
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
            PaymentMethod::Applepay if self.applepay_merchant.is_some() => MethodFlow::Applepay,
            _ => MethodFlow::Redirect,
        }
    }

    fn build_start(&self, input: &StartInput<'_>) -> Result<Start, GatewayError> {
        match input.wallet {
            // The Apple Pay token is exchanged for a `tok_…` first; nothing is charged by that.
            Some(_) => applepay::build_token_request(self, input).map(Start::Prepare),
            None => super::build_create_session(self, input).map(Start::Call),
        }
    }

    fn continue_start(&self, input: &StartInput<'_>, prepared: &HttpResponse) -> Result<Start, GatewayError> {
        if !matches!(input.wallet, Some(Wallet::Applepay { .. })) {
            return Err(GatewayError::InvalidResponse("Tap prepares only an Apple Pay token".into()));
        }
        let token = applepay::parse_token(prepared)?;
        applepay::build_charge(self, input, &token).map(Start::Call)
    }

    fn parse_start(&self, resp: &HttpResponse) -> Result<GatewaySession, GatewayError> {
        super::parse_create_session(resp)
    }

    fn parse_start_for(&self, input: &StartInput<'_>, resp: &HttpResponse) -> Result<GatewaySession, GatewayError> {
        match input.wallet {
            Some(_) => applepay::parse_charge(resp),
            None => super::parse_create_session(resp),
        }
    }

    fn build_fetch(&self, gateway_payment_id: &str) -> HttpRequest {
        super::build_fetch_payment(self, gateway_payment_id)
    }

    fn parse_fetch(&self, resp: &HttpResponse, _expected: &Money) -> Result<GatewayPayment, GatewayError> {
        super::parse_fetch_payment(resp)
    }

    // Tap has no call to cancel an INITIATED charge; it expires as ABANDONED.

    fn verify_webhook(
        &self,
        header: &dyn Fn(&str) -> Option<String>,
        body: &[u8],
        _now: i64,
    ) -> Result<WebhookHint, WebhookError> {
        super::webhook::verify(self.secret_key.expose().as_bytes(), header(super::webhook::HEADER).as_deref(), body)
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
        super::parse_refund_status(resp, amount)
    }

    fn build_check(&self) -> HttpRequest {
        super::build_check(self)
    }

    fn parse_check(&self, resp: &HttpResponse, currency: Option<&str>) -> (CheckVerdict, String) {
        super::parse_check(resp, currency)
    }
}
