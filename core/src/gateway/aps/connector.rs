//! Amazon Payment Services in the registry: its settings and its [`Gateway`] surface.

use super::{Config, ShaType, CAPABILITIES, CODE, DEFAULT_API_BASE, DEFAULT_PAGE_BASE};
use crate::gateway::connector::{base_url, required, Connector, Gateway, Registration, Settings, Start, StartInput};
use crate::gateway::{
    Capabilities, CheckVerdict, GatewayError, GatewayPayment, GatewaySession, HttpRequest, HttpResponse, Mode,
    OperationResult, WebhookError, WebhookHint,
};
use crate::money::Money;
use crate::secret::Secret;

/// APS's registry line.
pub const REGISTRATION: Registration = Registration {
    code: CODE,
    capabilities: &CAPABILITIES,
    settings: &[
        "APS_MERCHANT_IDENTIFIER",
        "APS_ACCESS_CODE",
        "APS_SHA_REQUEST_PHRASE",
        "APS_SHA_RESPONSE_PHRASE",
        "APS_SHA_TYPE",
        "APS_PAGE_BASE",
        "APS_API_BASE",
    ],
    configure,
};

fn configure(settings: Settings<'_>, _edge_origin: &str) -> Result<Connector, String> {
    let sha = settings("APS_SHA_TYPE").unwrap_or_else(|| "SHA-256".into());
    Ok(Box::new(Config {
        merchant_identifier: required(settings, "APS_MERCHANT_IDENTIFIER")?,
        access_code: Secret::new(required(settings, "APS_ACCESS_CODE")?),
        request_phrase: Secret::new(required(settings, "APS_SHA_REQUEST_PHRASE")?),
        response_phrase: Secret::new(required(settings, "APS_SHA_RESPONSE_PHRASE")?),
        sha_type: ShaType::parse(&sha)
            .ok_or_else(|| format!("setting APS_SHA_TYPE must be SHA-256 or SHA-512, not {sha:?}"))?,
        page_base: base_url(settings, "APS_PAGE_BASE", DEFAULT_PAGE_BASE),
        api_base: base_url(settings, "APS_API_BASE", DEFAULT_API_BASE),
    }))
}

impl Gateway for Config {
    fn code(&self) -> &'static str {
        CODE
    }

    fn capabilities(&self) -> &'static Capabilities {
        &CAPABILITIES
    }

    /// APS's keys carry no mode; its hosted page's host does (`sbcheckout.payfort.com` is the
    /// sandbox).
    fn mode(&self) -> Option<Mode> {
        if self.page_base.contains("sbcheckout.") {
            Some(Mode::Test)
        } else if self.page_base.contains("//checkout.payfort.com") {
            Some(Mode::Live)
        } else {
            None
        }
    }

    /// APS's `merchant_reference` is made per session: the session's own id at the gateway.
    fn expected_reference(&self, _ours: &str, gateway_payment_id: &str) -> String {
        gateway_payment_id.to_string()
    }

    /// The page opens by a signed form post from the shopper's browser: nothing to call.
    fn build_start(&self, input: &StartInput<'_>) -> Result<Start, GatewayError> {
        let (url, form) = super::build_page_form(self, input)?;
        let id = form["merchant_reference"].clone();
        Ok(Start::Ready(GatewaySession {
            id,
            redirect_url: url,
            form: Some(form),
            flow: crate::gateway::SessionFlow::Hosted,
        }))
    }

    fn parse_start(&self, _resp: &HttpResponse) -> Result<GatewaySession, GatewayError> {
        Err(GatewayError::InvalidResponse("APS sessions need no call".into()))
    }

    fn build_fetch(&self, gateway_payment_id: &str) -> HttpRequest {
        super::build_fetch_payment(self, gateway_payment_id)
    }

    fn parse_fetch(&self, resp: &HttpResponse, expected: &Money) -> Result<GatewayPayment, GatewayError> {
        super::parse_fetch_payment(self, resp, expected)
    }

    // An APS page that was never posted has nothing to cancel.

    fn verify_webhook(
        &self,
        _header: &dyn Fn(&str) -> Option<String>,
        body: &[u8],
        _now: i64,
    ) -> Result<WebhookHint, WebhookError> {
        super::verify_webhook(self, body)
    }

    fn build_refund(
        &self,
        gateway_payment_id: &str,
        transaction_id: &str,
        amount: &Money,
        _reference: &str,
    ) -> HttpRequest {
        super::build_refund(self, gateway_payment_id, transaction_id, amount)
    }

    fn parse_refund(&self, resp: &HttpResponse, amount: Money) -> Result<OperationResult, GatewayError> {
        super::parse_refund(self, resp, amount)
    }

    fn build_check(&self) -> HttpRequest {
        super::build_check(self)
    }

    fn parse_check(&self, resp: &HttpResponse, currency: Option<&str>) -> (CheckVerdict, String) {
        super::parse_check(self, resp, currency)
    }
}
