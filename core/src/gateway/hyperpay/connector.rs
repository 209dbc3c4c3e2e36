//! HyperPay in the registry: its settings and its [`Gateway`] surface.

use super::{in_page, Config, EntityKind, WebhookKey, CAPABILITIES, CODE, LIVE_API_BASE, TEST_API_BASE};
use crate::gateway::connector::{base_url, required, Connector, Gateway, Registration, Settings, Start, StartInput};
use crate::gateway::{
    Capabilities, CheckVerdict, GatewayError, GatewayPayment, GatewaySession, HttpRequest, HttpResponse, MethodFlow,
    Mode, OperationResult, Wallet, WebhookError, WebhookHint,
};
use crate::method::PaymentMethod;
use crate::money::Money;
use crate::secret::Secret;

/// HyperPay's registry line.
pub const REGISTRATION: Registration = Registration {
    code: CODE,
    capabilities: &CAPABILITIES,
    settings: &[
        "HYPERPAY_ACCESS_TOKEN",
        "HYPERPAY_ENTITY_ID_MADA",
        "HYPERPAY_ENTITY_ID_CARD",
        "HYPERPAY_ENTITY_ID_APPLEPAY",
        "HYPERPAY_WEBHOOK_KEY",
        "HYPERPAY_MODE",
        "HYPERPAY_API_BASE",
        // Shared: the merchant's own Apple merchant, shown by the edge only with its certificate.
        "APPLE_PAY_MERCHANT_ID",
    ],
    configure,
};

fn configure(settings: Settings<'_>, edge_origin: &str) -> Result<Connector, String> {
    Ok(Box::new(config_from(settings, edge_origin)?))
}

/// The configuration from the settings (the edge also reads it to serve the payment page).
pub fn config_from(settings: Settings<'_>, edge_origin: &str) -> Result<Config, String> {
    let access_token = Secret::new(required(settings, "HYPERPAY_ACCESS_TOKEN")?);
    // HyperPay's credentials do not say test or live, and the hosts differ: the operator says
    // which, and the default host follows. A live configuration never reaches the test host.
    let mode = match required(settings, "HYPERPAY_MODE")?.trim() {
        "test" => Mode::Test,
        "live" => Mode::Live,
        other => return Err(format!("HYPERPAY_MODE is {other:?}: it must be test or live")),
    };
    let default_base = if mode == Mode::Test { TEST_API_BASE } else { LIVE_API_BASE };
    let api_base = base_url(settings, "HYPERPAY_API_BASE", default_base);
    let host_is = |base: &str| api_base.eq_ignore_ascii_case(base);
    if mode == Mode::Live && host_is(TEST_API_BASE) {
        return Err(format!("HYPERPAY_MODE is live but HYPERPAY_API_BASE is the test host {TEST_API_BASE}"));
    }
    if mode == Mode::Test && host_is(LIVE_API_BASE) {
        return Err(format!("HYPERPAY_MODE is test but HYPERPAY_API_BASE is the live host {LIVE_API_BASE}"));
    }
    let entity = |kind: EntityKind| settings(kind.setting()).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let (entity_mada, entity_card, entity_applepay) =
        (entity(EntityKind::Mada), entity(EntityKind::Card), entity(EntityKind::Applepay));
    if entity_mada.is_none() && entity_card.is_none() && entity_applepay.is_none() {
        return Err("no HyperPay entity is set: HYPERPAY_ENTITY_ID_MADA, HYPERPAY_ENTITY_ID_CARD or \
                    HYPERPAY_ENTITY_ID_APPLEPAY"
            .into());
    }
    if entity_mada.is_some() && entity_mada == entity_card {
        return Err("HYPERPAY_ENTITY_ID_MADA is the card entity: mada must go through its own entity".into());
    }
    let webhook_key = WebhookKey(super::webhook::parse_key(&required(settings, "HYPERPAY_WEBHOOK_KEY")?)?);
    let applepay_merchant = settings("APPLE_PAY_MERCHANT_ID").map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    Ok(Config {
        api_base,
        mode,
        access_token,
        entity_mada,
        entity_card,
        entity_applepay,
        webhook_key,
        applepay_merchant,
        edge_origin: edge_origin.trim_end_matches('/').to_string(),
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
        Some(self.mode)
    }

    fn flow(&self, method: PaymentMethod) -> MethodFlow {
        match method {
            PaymentMethod::Applepay if self.applepay_in_page() => MethodFlow::Applepay,
            _ => MethodFlow::Redirect,
        }
    }

    fn build_start(&self, input: &StartInput<'_>) -> Result<Start, GatewayError> {
        match input.wallet {
            Some(Wallet::Applepay { token }) => in_page::build_create_payment(self, input, token).map(Start::Call),
            Some(Wallet::Stcpay { .. }) => Err(GatewayError::Rejected {
                status: 400,
                message: "HyperPay takes no STC Pay number in the page".into(),
            }),
            None => super::build_create_session(self, input).map(Start::Call),
        }
    }

    fn parse_start(&self, _resp: &HttpResponse) -> Result<GatewaySession, GatewayError> {
        // The session id names the entity, which the answer does not: see parse_start_for.
        Err(GatewayError::InvalidResponse("HyperPay's checkout is read with the session's input".into()))
    }

    fn parse_start_for(&self, input: &StartInput<'_>, resp: &HttpResponse) -> Result<GatewaySession, GatewayError> {
        match input.wallet {
            Some(_) => in_page::parse_created_payment(resp),
            None => super::parse_create_session(self, input, resp),
        }
    }

    fn build_fetch(&self, gateway_payment_id: &str) -> HttpRequest {
        super::build_fetch_payment(self, gateway_payment_id)
    }

    fn parse_fetch(&self, resp: &HttpResponse, expected: &Money) -> Result<GatewayPayment, GatewayError> {
        super::parse_fetch_payment(resp, expected)
    }

    // A payment made in the page is kept as `applepay-payment:<id>`: its status is the payment's
    // (`GET /v1/payments/{id}` on its entity), which build_fetch already asks for such an id.
    fn build_fetch_direct(&self, gateway_payment_id: &str) -> HttpRequest {
        super::build_fetch_payment(self, gateway_payment_id)
    }

    fn parse_fetch_direct(&self, resp: &HttpResponse, expected: &Money) -> Result<GatewayPayment, GatewayError> {
        super::parse_fetch_payment(resp, expected)
    }

    // HyperPay documents no call that closes a checkout; it expires after 30 minutes.

    fn verify_webhook(
        &self,
        header: &dyn Fn(&str) -> Option<String>,
        body: &[u8],
        _now: i64,
    ) -> Result<WebhookHint, WebhookError> {
        super::webhook::verify(
            &self.webhook_key.0,
            header(super::webhook::IV_HEADER).as_deref(),
            header(super::webhook::TAG_HEADER).as_deref(),
            body,
        )
    }

    fn build_refund(
        &self,
        gateway_payment_id: &str,
        transaction_id: &str,
        amount: &Money,
        _reference: &str,
    ) -> HttpRequest {
        match super::build_refund(self, gateway_payment_id, transaction_id, amount) {
            Ok(request) => request,
            // Unbuildable (the entity is no longer set): a request HyperPay refuses, so that the
            // refund is refused rather than sent on another entity.
            Err(_) => super::build_operation_unchecked(self, transaction_id, "RF", amount),
        }
    }

    fn parse_refund(&self, resp: &HttpResponse, amount: Money) -> Result<OperationResult, GatewayError> {
        super::parse_operation(resp, amount, "refund_declined")
    }

    fn build_check(&self) -> HttpRequest {
        super::build_check(self)
    }

    fn parse_check(&self, resp: &HttpResponse, currency: Option<&str>) -> (CheckVerdict, String) {
        super::parse_check(self, resp, currency)
    }
}
