//! HyperPay (OPPWA / ACI "COPYandPAY"): a checkout (`POST /v1/checkouts`, form-encoded), which
//! the shopper pays on a page the edge serves around HyperPay's `paymentWidgets.js` (HyperPay has
//! no page of its own to redirect to); the truth from `GET /v1/checkouts/{id}/payment`; refunds
//! as `POST /v1/payments/{id}` with `paymentType=RF`; webhooks encrypted with AES-256-GCM.
//! Facts, sources and what is unconfirmed: `docs/gateways/hyperpay.md`.
//!
//! HyperPay gives one **entity** per channel: mada, Visa/Mastercard/Amex, Apple Pay. Each method
//! goes through its own entity only (a mada card is never charged on the card entity), and a
//! method whose entity is not set is not taken. The session id the edge keeps is
//! `<entity kind>:<checkout id>` ([`SessionId`]), so that the status query and the refunds of a
//! payment use the entity it was made on.
//!
//! Amounts travel in **major** units with the currency's two decimals (`"92.00"`): [`to_amount`]
//! and [`from_amount`] are the only converters, and they refuse what would need rounding.

pub mod connector;
pub mod declines;
pub mod in_page;
pub mod page;
pub mod status;
pub mod webhook;
pub mod wire;

use super::{
    Capabilities, CheckVerdict, GatewayError, GatewayPayment, GatewaySession, HttpMethod, HttpRequest, HttpResponse,
    Mode, OperationResult, OperationStatus, StartInput,
};
use crate::method::PaymentMethod;
use crate::money::{Currency, Money};
use crate::notification::ErrorInfo;
use crate::payment::PaymentState;
use crate::secret::Secret;

/// Gateway code.
pub const CODE: &str = "hyperpay";

/// Production host (gateways.md §3.1: [U], the official plugin makes it configurable).
pub const LIVE_API_BASE: &str = "https://eu-prod.oppwa.com";

/// Test host ([C] HyperPay's docs): the default only when `HYPERPAY_MODE=test`.
pub const TEST_API_BASE: &str = "https://eu-test.oppwa.com";

/// What Bawaba uses of HyperPay. Payments are debits (`DB`, a sale), so capture and void are
/// off (mada is sale-only anyway, gateways.md §13); refunds may be partial.
pub const CAPABILITIES: Capabilities = Capabilities {
    methods: &[
        PaymentMethod::Mada,
        PaymentMethod::Visa,
        PaymentMethod::Mastercard,
        PaymentMethod::Amex,
        PaymentMethod::Applepay,
    ],
    // gateways.md documents SAR only for HyperPay (§3, §13); other currencies are not offered.
    currencies: &["SAR"],
    partial_refund: true,
    capture: false,
    void: false,
};

/// The channel a payment goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntityKind {
    /// `HYPERPAY_ENTITY_ID_MADA`: mada only.
    Mada,
    /// `HYPERPAY_ENTITY_ID_CARD`: Visa, Mastercard, Amex.
    Card,
    /// `HYPERPAY_ENTITY_ID_APPLEPAY`.
    Applepay,
}

impl EntityKind {
    /// All kinds.
    pub const ALL: [EntityKind; 3] = [EntityKind::Mada, EntityKind::Card, EntityKind::Applepay];

    /// The kind a method goes through (`None`: not a HyperPay method).
    pub fn of(method: PaymentMethod) -> Option<EntityKind> {
        match method {
            PaymentMethod::Mada => Some(EntityKind::Mada),
            PaymentMethod::Visa | PaymentMethod::Mastercard | PaymentMethod::Amex => Some(EntityKind::Card),
            PaymentMethod::Applepay => Some(EntityKind::Applepay),
            PaymentMethod::Stcpay | PaymentMethod::Paypal => None,
        }
    }

    /// As written in session ids.
    pub fn code(self) -> &'static str {
        match self {
            EntityKind::Mada => "mada",
            EntityKind::Card => "card",
            EntityKind::Applepay => "applepay",
        }
    }

    /// Parses [`EntityKind::code`].
    pub fn from_code(code: &str) -> Option<EntityKind> {
        EntityKind::ALL.into_iter().find(|k| k.code() == code)
    }

    /// Its setting.
    pub fn setting(self) -> &'static str {
        match self {
            EntityKind::Mada => "HYPERPAY_ENTITY_ID_MADA",
            EntityKind::Card => "HYPERPAY_ENTITY_ID_CARD",
            EntityKind::Applepay => "HYPERPAY_ENTITY_ID_APPLEPAY",
        }
    }

    /// The `data-brands` of the widget for this entity.
    pub fn brands(self) -> &'static str {
        match self {
            EntityKind::Mada => "MADA",
            EntityKind::Card => "VISA MASTER AMEX",
            EntityKind::Applepay => "APPLEPAY",
        }
    }
}

/// The webhook key: printed by no `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookKey(pub [u8; 32]);

impl std::fmt::Debug for WebhookKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookKey([redacted])")
    }
}

/// Settings (docs/gateways/hyperpay.md): `HYPERPAY_ACCESS_TOKEN`, `HYPERPAY_ENTITY_ID_MADA`,
/// `HYPERPAY_ENTITY_ID_CARD`, `HYPERPAY_ENTITY_ID_APPLEPAY` (at least one), `HYPERPAY_WEBHOOK_KEY`,
/// `HYPERPAY_MODE` (`test` or `live`, required), `HYPERPAY_API_BASE`.
#[derive(Debug, Clone)]
pub struct Config {
    /// API host without a trailing slash (`https://eu-prod.oppwa.com`).
    pub api_base: String,
    /// Test or live, as the operator set it (HyperPay's credentials do not show it).
    pub mode: Mode,
    /// The bearer token.
    pub access_token: Secret,
    /// `HYPERPAY_ENTITY_ID_MADA`.
    pub entity_mada: Option<String>,
    /// `HYPERPAY_ENTITY_ID_CARD`.
    pub entity_card: Option<String>,
    /// `HYPERPAY_ENTITY_ID_APPLEPAY`.
    pub entity_applepay: Option<String>,
    /// The key webhooks are encrypted with.
    pub webhook_key: WebhookKey,
    /// `APPLE_PAY_MERCHANT_ID`, as the edge shows it: only when it can validate that merchant
    /// with Apple (its identity certificate is bound). With the Apple Pay entity, Apple Pay is
    /// taken in the page ([`in_page`]); without, on the widget page as before.
    pub applepay_merchant: Option<String>,
    /// This edge's origin: the payment page is served there.
    pub edge_origin: String,
}

impl Config {
    /// The entity of a kind, if set.
    pub fn entity(&self, kind: EntityKind) -> Option<&str> {
        match kind {
            EntityKind::Mada => self.entity_mada.as_deref(),
            EntityKind::Card => self.entity_card.as_deref(),
            EntityKind::Applepay => self.entity_applepay.as_deref(),
        }
    }

    /// Whether `method` can be taken here: a HyperPay method whose entity is set.
    pub fn offers(&self, method: PaymentMethod) -> bool {
        EntityKind::of(method).is_some_and(|k| self.entity(k).is_some())
    }

    /// Whether Apple Pay is taken in the page: the Apple Pay entity and the merchant's own Apple
    /// merchant (which the edge validates) are both there.
    pub fn applepay_in_page(&self) -> bool {
        self.entity_applepay.is_some() && self.applepay_merchant.is_some()
    }
}

/// The id the edge keeps for a session: `<kind>:<checkout id>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionId {
    /// The entity it was made on.
    pub kind: EntityKind,
    /// HyperPay's checkout id.
    pub checkout_id: String,
}

impl SessionId {
    /// Parses `<kind>:<checkout id>`.
    pub fn parse(id: &str) -> Option<SessionId> {
        let (kind, checkout_id) = id.split_once(':')?;
        let kind = EntityKind::from_code(kind)?;
        (!checkout_id.is_empty()).then(|| SessionId { kind, checkout_id: checkout_id.to_string() })
    }

    /// As the edge keeps it.
    pub fn to_id(&self) -> String {
        format!("{}:{}", self.kind.code(), self.checkout_id)
    }
}

/// Minor units → HyperPay's amount: major units with exactly two decimals (`"92.00"`).
/// HyperPay's amount has at most two decimals (N10.N2, gateways.md §0.1 [U] for three): a
/// currency with three decimals is refused unless the amount needs none of the third, and
/// nothing is rounded.
pub fn to_amount(money: &Money) -> Result<String, GatewayError> {
    let refuse = |why: String| GatewayError::Rejected { status: 400, message: why };
    if money.minor <= 0 {
        return Err(refuse(format!("amount {} is not positive", money.minor)));
    }
    let exp = money.currency.exponent() as u32;
    if exp <= 2 {
        // Written with two decimals whatever the currency's exponent (0 → "7.00").
        let cents = money.minor.checked_mul(10i64.pow(2 - exp)).ok_or_else(|| refuse("amount too large".into()))?;
        return Ok(format!("{}.{:02}", cents / 100, cents % 100));
    }
    let drop = 10i64.pow(exp - 2);
    if money.minor % drop != 0 {
        return Err(refuse(format!(
            "{} {} needs {} decimals; HyperPay takes two and Bawaba does not round",
            money.to_major_string(),
            money.currency,
            exp
        )));
    }
    let cents = money.minor / drop;
    Ok(format!("{}.{:02}", cents / 100, cents % 100))
}

/// HyperPay's amount → minor units, refusing anything that would need rounding.
pub fn from_amount(amount: &str, currency: Currency) -> Result<Money, GatewayError> {
    Money::from_major_str(amount.trim(), currency).map_err(|e| GatewayError::InvalidResponse(e.to_string()))
}

/// Form-encodes fields (`application/x-www-form-urlencoded`).
pub fn form_body(fields: &[(&str, String)]) -> Vec<u8> {
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", form_escape(k), form_escape(v)))
        .collect::<Vec<_>>()
        .join("&")
        .into_bytes()
}

/// Escapes one form key or value.
pub fn form_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => (b as char).to_string(),
            b' ' => "+".into(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn headers(cfg: &Config, form: bool) -> Vec<(String, String)> {
    let mut h = vec![("Authorization".into(), format!("Bearer {}", cfg.access_token.expose()))];
    if form {
        h.push(("Content-Type".into(), "application/x-www-form-urlencoded".into()));
    }
    h
}

fn not_offered(method: PaymentMethod, why: String) -> GatewayError {
    GatewayError::Rejected { status: 400, message: format!("HyperPay does not take {} here: {why}", method.code()) }
}

/// The checkout's fields (without the entity).
fn checkout_fields(cfg: &Config, input: &StartInput<'_>) -> Result<Vec<(&'static str, String)>, GatewayError> {
    let mut fields = vec![
        ("amount", to_amount(&input.money)?),
        ("currency", input.money.currency.code().to_string()),
        ("paymentType", "DB".to_string()),
        ("merchantTransactionId", input.reference.to_string()),
    ];
    if let Some(email) = input.customer_email.filter(|e| !e.trim().is_empty()) {
        // 3-D Secure 2 asks for the cardholder's e-mail (gateways.md §3.2 [code]).
        fields.push(("customer.email", email.trim().to_string()));
    }
    if let Some(name) = input.customer_name.map(str::trim).filter(|n| !n.is_empty()) {
        let (given, surname) = name.rsplit_once(' ').unwrap_or((name, name));
        fields.push(("customer.givenName", given.trim().to_string()));
        fields.push(("customer.surname", surname.trim().to_string()));
    }
    if cfg.mode == Mode::Test {
        // Test-only parameters the official plugin sends (gateways.md §3.1 [code]; for mada in
        // test HyperPay's support advised 3DS2_enrolled, §3.7). Never in live.
        fields.push(("testMode", "EXTERNAL".to_string()));
        fields.push(("customParameters[3DS2_enrolled]", "true".to_string()));
    }
    Ok(fields)
}

/// `POST /v1/checkouts` on the method's own entity.
pub fn build_create_session(cfg: &Config, input: &StartInput<'_>) -> Result<HttpRequest, GatewayError> {
    if !CAPABILITIES.serves(input.method, input.money.currency.code()) {
        return Err(not_offered(input.method, format!("not in {}", input.money.currency)));
    }
    let kind = EntityKind::of(input.method).ok_or_else(|| not_offered(input.method, "no entity for it".into()))?;
    let entity = cfg.entity(kind).ok_or_else(|| not_offered(input.method, format!("{} is not set", kind.setting())))?;
    if kind == EntityKind::Mada && input.money.currency.code() != "SAR" {
        return Err(not_offered(input.method, "mada is SAR only".into()));
    }
    let mut fields = vec![("entityId", entity.to_string())];
    fields.extend(checkout_fields(cfg, input)?);
    Ok(HttpRequest {
        method: HttpMethod::Post,
        url: format!("{}/v1/checkouts", cfg.api_base),
        headers: headers(cfg, true),
        body: Some(form_body(&fields)),
    })
}

/// The edge's page for a session (it mounts HyperPay's widget):
/// `GET /v1/pay/hyperpay/{id}?lang=ar|en`.
pub fn page_url(cfg: &Config, session_id: &str, locale: &str) -> String {
    let lang = if locale.starts_with("ar") { "ar" } else { "en" };
    format!("{}/v1/pay/{CODE}/{}?lang={lang}", cfg.edge_origin, crate::gateway::shared::urlencode_path(session_id))
}

/// Parses the created checkout (`000.200.100` "successfully created checkout" and an id).
pub fn parse_create_session(
    cfg: &Config,
    input: &StartInput<'_>,
    resp: &HttpResponse,
) -> Result<GatewaySession, GatewayError> {
    let kind = EntityKind::of(input.method).ok_or_else(|| not_offered(input.method, "no entity for it".into()))?;
    let checkout: wire::Checkout = parse(resp)?;
    let code = checkout.result.code.as_str();
    if status::group(code) != Some(status::Group::Pending) {
        return Err(GatewayError::Rejected { status: resp.status, message: result_message(&checkout.result) });
    }
    let checkout_id = checkout
        .id
        .filter(|id| !id.trim().is_empty())
        .ok_or_else(|| GatewayError::InvalidResponse("the checkout has no id".into()))?;
    let id = SessionId { kind, checkout_id }.to_id();
    Ok(GatewaySession {
        redirect_url: page_url(cfg, &id, input.locale),
        id,
        form: None,
        flow: super::SessionFlow::Hosted,
    })
}

/// `GET /v1/checkouts/{id}/payment?entityId=…` on the session's entity. A session id that is
/// not ours, or whose entity is no longer set, asks with an empty entity: HyperPay refuses the
/// query, which [`parse_fetch_payment`] reads as a refused query, not as the payment's result.
pub fn build_fetch_payment(cfg: &Config, id: &str) -> HttpRequest {
    if let Some(payment) = in_page::PaymentRef::parse(id) {
        // A payment made server-to-server (Apple Pay in the page): asked as a payment.
        return in_page::build_fetch(cfg, &payment);
    }
    let (checkout, entity) = match SessionId::parse(id) {
        Some(s) => (s.checkout_id.clone(), cfg.entity(s.kind).unwrap_or_default().to_string()),
        None => (id.to_string(), String::new()),
    };
    HttpRequest {
        method: HttpMethod::Get,
        url: format!(
            "{}/v1/checkouts/{}/payment?entityId={}",
            cfg.api_base,
            crate::gateway::shared::urlencode_path(&checkout),
            form_escape(&entity)
        ),
        headers: headers(cfg, false),
        body: None,
    }
}

/// Parses a payment status. The result code decides ([`status`]); the amount, currency and
/// `merchantTransactionId` are HyperPay's, and the edge pays only if they match ours
/// ([`crate::gateway::check_matches`]). A code in no documented group is an invalid response:
/// logged by the edge, the payment stays unpaid.
pub fn parse_fetch_payment(resp: &HttpResponse, expected: &Money) -> Result<GatewayPayment, GatewayError> {
    let payment: wire::Payment = parse_any_status(resp)?;
    let code = payment.result.code.trim().to_string();
    let state = status::to_state(&code).ok_or_else(|| {
        GatewayError::InvalidResponse(format!("unknown result code {code:?} ({})", payment.result.description))
    })?;
    let group = status::group(&code);
    let refused_query =
        matches!(group, Some(status::Group::Format | status::Group::Configuration | status::Group::Reference));
    if payment.id.is_none() && (refused_query || state == PaymentState::Pending) {
        // No payment on the checkout yet, or the query itself was refused (a wrong entity):
        // nothing to decide on.
        return Err(GatewayError::InvalidResponse(format!(
            "the checkout names no payment: {}",
            result_message(&payment.result)
        )));
    }
    let money = match (&payment.amount, &payment.currency) {
        (Some(a), Some(c)) => {
            let currency = Currency::parse(c).map_err(|e| GatewayError::InvalidResponse(e.to_string()))?;
            from_amount(a, currency)?
        }
        // A payment that did not go through may not repeat them; it pays nothing either way.
        _ if state != PaymentState::Paid => *expected,
        _ => return Err(GatewayError::InvalidResponse("a successful payment without amount or currency".into())),
    };
    let error = (state == PaymentState::Failed).then(|| {
        let reason = declines::reason(&code);
        ErrorInfo {
            code: reason.code().to_string(),
            message: crate::decline::gateway_message(reason, Some(&payment.result.description), Some(&code)),
        }
    });
    let three_ds = status::three_ds_failed(&code).then_some(false);
    Ok(GatewayPayment {
        id: payment.id.clone().unwrap_or_default(),
        transaction_id: payment.id.clone(),
        reference: payment.merchant_transaction_id.clone().unwrap_or_default(),
        state,
        money,
        card_brand: payment.payment_brand.as_deref().map(brand_name),
        card_last4: payment.card.as_ref().and_then(|c| c.last4_digits.clone()),
        error,
        // A payment's status does not carry its refunds; each refund's answer is final.
        refunded: None,
        three_ds,
    })
}

/// HyperPay's brand → ours (`MASTER` → `mastercard`).
pub fn brand_name(brand: &str) -> String {
    match brand.trim().to_ascii_uppercase().as_str() {
        "MASTER" => "mastercard".into(),
        other => other.to_ascii_lowercase(),
    }
}

/// A back-office operation on a payment: `POST /v1/payments/{payment id}` with the entity the
/// payment was made on (`RF` refund, `CP` capture, `RV` reversal).
pub fn build_operation(
    cfg: &Config,
    kind: EntityKind,
    payment_id: &str,
    payment_type: &str,
    amount: Option<&Money>,
) -> Result<HttpRequest, GatewayError> {
    let entity = cfg.entity(kind).ok_or_else(|| GatewayError::Rejected {
        status: 400,
        message: format!("{} is not set: the payment's entity is needed", kind.setting()),
    })?;
    let mut fields = vec![("entityId", entity.to_string()), ("paymentType", payment_type.to_string())];
    if let Some(m) = amount {
        fields.push(("amount", to_amount(m)?));
        fields.push(("currency", m.currency.code().to_string()));
    }
    Ok(HttpRequest {
        method: HttpMethod::Post,
        url: format!("{}/v1/payments/{}", cfg.api_base, crate::gateway::shared::urlencode_path(payment_id)),
        headers: headers(cfg, true),
        body: Some(form_body(&fields)),
    })
}

/// An operation sent with an empty `entityId`, for a payment whose entity is unknown or no longer
/// set: HyperPay refuses it (nothing is ever sent on another entity).
pub fn build_operation_unchecked(cfg: &Config, payment_id: &str, payment_type: &str, amount: &Money) -> HttpRequest {
    let fields = [
        ("entityId", String::new()),
        ("paymentType", payment_type.to_string()),
        ("amount", to_amount(amount).unwrap_or_default()),
        ("currency", amount.currency.code().to_string()),
    ];
    HttpRequest {
        method: HttpMethod::Post,
        url: format!("{}/v1/payments/{}", cfg.api_base, crate::gateway::shared::urlencode_path(payment_id)),
        headers: headers(cfg, true),
        body: Some(form_body(&fields)),
    }
}

/// A refund of `amount` of the payment `payment_id`, made on the session `session_id`'s entity.
/// A session id that is not ours gives a request HyperPay refuses (an empty entity); the
/// connector refuses before that where it can.
pub fn build_refund(
    cfg: &Config,
    session_id: &str,
    payment_id: &str,
    amount: &Money,
) -> Result<HttpRequest, GatewayError> {
    let kind = SessionId::parse(session_id)
        .map(|s| s.kind)
        .or_else(|| in_page::PaymentRef::parse(session_id).map(|p| p.kind))
        .ok_or_else(|| GatewayError::InvalidResponse(format!("{session_id:?} is not a HyperPay session id")))?;
    build_operation(cfg, kind, payment_id, "RF", Some(amount))
}

/// Parses an operation's answer by its result code: success succeeded, pending pending, any
/// rejection failed (`refund_declined` with HyperPay's words; nothing moved). Unknown codes are
/// an invalid response.
pub fn parse_operation(resp: &HttpResponse, amount: Money, failed_code: &str) -> Result<OperationResult, GatewayError> {
    let payment: wire::Payment = parse_any_status(resp)?;
    let code = payment.result.code.trim();
    let stage = status::operation_stage(code).ok_or_else(|| {
        GatewayError::InvalidResponse(format!("unknown result code {code:?} ({})", payment.result.description))
    })?;
    let status = match stage {
        status::OperationStage::Succeeded => OperationStatus::Succeeded,
        status::OperationStage::Pending => OperationStatus::Pending,
        status::OperationStage::Failed => {
            OperationStatus::Failed(ErrorInfo { code: failed_code.into(), message: result_message(&payment.result) })
        }
    };
    if stage == status::OperationStage::Succeeded {
        if let (Some(a), Some(c)) = (&payment.amount, &payment.currency) {
            let currency = Currency::parse(c).map_err(|e| GatewayError::InvalidResponse(e.to_string()))?;
            let done = from_amount(a, currency)?;
            if done != amount {
                return Err(GatewayError::Mismatch(format!(
                    "{} {} instead of {} {}",
                    done.to_major_string(),
                    done.currency,
                    amount.to_major_string(),
                    amount.currency
                )));
            }
        }
    }
    let id = payment.id.ok_or_else(|| match &status {
        OperationStatus::Failed(_) => {
            GatewayError::Rejected { status: resp.status, message: result_message(&payment.result) }
        }
        _ => GatewayError::InvalidResponse("the operation has no id".into()),
    });
    match id {
        Ok(id) => Ok(OperationResult { id, status, money: amount }),
        // A refusal without an id (HyperPay refused the request itself): nothing moved.
        Err(GatewayError::Rejected { .. }) => Ok(OperationResult { id: String::new(), status, money: amount }),
        Err(e) => Err(e),
    }
}

/// The credentials check: a 1.00 SAR checkout on the first entity set (mada, then card, then
/// Apple Pay). It proves the token and that entity together; it takes no money and expires
/// unused in 30 minutes (gateways.md §0.4).
pub fn build_check(cfg: &Config) -> HttpRequest {
    let entity = EntityKind::ALL.into_iter().find_map(|k| cfg.entity(k)).unwrap_or_default();
    let mut fields = vec![
        ("entityId", entity.to_string()),
        ("amount", "1.00".to_string()),
        ("currency", "SAR".to_string()),
        ("paymentType", "DB".to_string()),
        ("merchantTransactionId", "bawaba-check".to_string()),
    ];
    if cfg.mode == Mode::Test {
        fields.push(("testMode", "EXTERNAL".to_string()));
    }
    HttpRequest {
        method: HttpMethod::Post,
        url: format!("{}/v1/checkouts", cfg.api_base),
        headers: headers(cfg, true),
        body: Some(form_body(&fields)),
    }
}

/// Result codes that say the token is wrong ([U]: "invalid authentication information",
/// "user authorization failed").
pub const TOKEN_CODES: &[&str] = &["800.900.300", "800.900.301", "800.900.302"];

/// The check's verdict: a created checkout is `ok`; HTTP 401 or a token code is a wrong token;
/// `800.900.100` ("sender authorization failed") or a refused `entityId` is a wrong entity;
/// a disabled channel (`500.100.201`…, configuration group) is not permitted.
pub fn parse_check(cfg: &Config, resp: &HttpResponse, currency: Option<&str>) -> (CheckVerdict, String) {
    if resp.status >= 500 {
        return (CheckVerdict::Unreachable, format!("HTTP {}", resp.status));
    }
    let body: wire::Checkout = match serde_json::from_slice(&resp.body) {
        Ok(b) => b,
        Err(_) if resp.status == 401 || resp.status == 403 => {
            return (CheckVerdict::InvalidCredentials, "HyperPay refused the access token".into())
        }
        Err(_) => return (CheckVerdict::Unreachable, format!("HTTP {}: not HyperPay's answer", resp.status)),
    };
    let code = body.result.code.as_str();
    let message = result_message(&body.result);
    let entity_named = body.result.parameter_errors.iter().any(|p| p.name == "entityId");
    if resp.status == 401 || TOKEN_CODES.contains(&code) {
        return (CheckVerdict::InvalidCredentials, format!("the access token: {message}"));
    }
    let entity = EntityKind::ALL.into_iter().find(|k| cfg.entity(*k).is_some()).map(EntityKind::setting);
    let entity = entity.unwrap_or("no HYPERPAY_ENTITY_ID_* is set");
    if code == "800.900.100" || entity_named {
        return (CheckVerdict::InvalidCredentials, format!("the entity ({entity}): {message}"));
    }
    match status::group(code) {
        Some(status::Group::Pending) if body.id.is_some() => match currency {
            Some(c) if !CAPABILITIES.currencies.contains(&c) => {
                (CheckVerdict::CurrencyUnsupported, format!("HyperPay is offered for SAR only, not {c}"))
            }
            _ => (CheckVerdict::Ok, format!("the access token and {entity} work")),
        },
        Some(status::Group::Configuration) => (CheckVerdict::NotPermitted, format!("{entity}: {message}")),
        _ if resp.status == 403 => (CheckVerdict::NotPermitted, message),
        _ => (CheckVerdict::Unreachable, format!("HTTP {}: {message}", resp.status)),
    }
}

/// `description (code)`, with the refused parameters.
pub fn result_message(result: &wire::ResultInfo) -> String {
    let mut m = format!("{} ({})", result.description.trim(), result.code.trim());
    for p in &result.parameter_errors {
        m.push_str(&format!("; {}: {}", p.name, p.message));
    }
    m
}

fn hyperpay_error(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<wire::Checkout>(body)
        .ok()
        .filter(|c| !c.result.code.is_empty())
        .map(|c| result_message(&c.result))
}

/// 2xx: the documented body. 5xx: unreachable. Other statuses: a refusal with HyperPay's words.
fn parse<T: serde::de::DeserializeOwned>(resp: &HttpResponse) -> Result<T, GatewayError> {
    super::parse_json_answer(resp, hyperpay_error)
}

/// HyperPay answers a declined payment with a 4xx and the payment in the body (gateways.md
/// §3.3: never decide by the HTTP status): a body with a result code is read whatever the
/// status below 500; 401/403 stay refusals (the token).
fn parse_any_status(resp: &HttpResponse) -> Result<wire::Payment, GatewayError> {
    match resp.status {
        401 | 403 => Err(GatewayError::Rejected {
            status: resp.status,
            message: super::body_message(&resp.body, hyperpay_error),
        }),
        500..=599 => Err(GatewayError::Unreachable(format!("HTTP {}", resp.status))),
        200..=499 => {
            let p: wire::Payment = serde_json::from_slice(&resp.body).map_err(|e| match resp.status {
                200..=299 => GatewayError::InvalidResponse(e.to_string()),
                s => GatewayError::Rejected { status: s, message: super::body_message(&resp.body, hyperpay_error) },
            })?;
            if p.result.code.trim().is_empty() {
                return Err(GatewayError::InvalidResponse("the answer has no result.code".into()));
            }
            Ok(p)
        }
        s => Err(GatewayError::InvalidResponse(format!("HTTP {s}"))),
    }
}

#[cfg(test)]
mod tests;
