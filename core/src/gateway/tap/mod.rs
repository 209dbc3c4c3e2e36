//! Tap Payments: a charge with a hosted source (`POST /v2/charges`, the shopper pays on
//! `transaction.url`), server-side status via `GET /v2/charges/{id}`, refunds (`POST
//! /v2/refunds`, which may stay pending: asked again with `GET /v2/refunds/{id}`), and webhooks
//! signed with the `hashstring` header. Facts and sources:
//! `docs/gateways/tap.md`.
//!
//! Amounts travel in **major** units with the currency's decimals (45.50 SAR, 1.500 KWD): the
//! converter here is the only place that turns our minor units into Tap's and back.

pub mod applepay;
pub mod connector;
pub mod declines;
pub mod status;
pub mod webhook;
pub mod wire;

use super::{
    Capabilities, CheckVerdict, GatewayError, GatewayPayment, GatewaySession, HttpMethod, HttpRequest, HttpResponse,
    OperationResult, OperationStatus,
};
use crate::method::PaymentMethod;
use crate::money::{Currency, Money};
use crate::notification::ErrorInfo;
use crate::secret::Secret;

/// Gateway code.
pub const CODE: &str = "tap";

/// Production API base (the key decides test or live mode).
pub const DEFAULT_API_BASE: &str = "https://api.tap.company/v2";

/// What Bawaba uses of Tap. Charges are sales (`/v2/charges`), so capture and void (which act
/// on `/v2/authorize`) are off; STC Pay needs the shopper's phone first and is not offered yet.
pub const CAPABILITIES: Capabilities = Capabilities {
    methods: &[
        PaymentMethod::Mada,
        PaymentMethod::Visa,
        PaymentMethod::Mastercard,
        PaymentMethod::Amex,
        PaymentMethod::Applepay,
    ],
    currencies: &["SAR", "KWD", "AED", "BHD", "QAR", "OMR", "EGP", "USD"],
    partial_refund: true,
    capture: false,
    void: false,
};

/// Settings: `TAP_SECRET_KEY` (it also signs webhooks), `TAP_API_BASE`, and the edge's
/// `APPLE_PAY_MERCHANT_ID` (seen only when the edge can validate that merchant with Apple).
#[derive(Debug, Clone)]
pub struct Config {
    /// API base without a trailing slash.
    pub api_base: String,
    /// `sk_test_…` or `sk_live_…`.
    pub secret_key: Secret,
    /// The merchant's own Apple Pay merchant identifier: with it, Apple Pay is taken in the page
    /// ([`applepay`]); without it, on Tap's hosted page.
    pub applepay_merchant: Option<String>,
}

/// Minor units → Tap's amount: a JSON number with the currency's decimals.
pub fn to_tap_amount(money: &Money) -> serde_json::Value {
    let text = money.to_major_string();
    text.parse::<serde_json::Number>().map(serde_json::Value::Number).unwrap_or(serde_json::Value::String(text))
}

/// Tap's amount → minor units, refusing anything that would need rounding.
pub fn from_tap_amount(amount: &serde_json::Value, currency: Currency) -> Result<Money, GatewayError> {
    let text = match amount {
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::String(s) => s.clone(),
        other => return Err(GatewayError::InvalidResponse(format!("amount {other} is not a number"))),
    };
    // serde_json prints 45.5 for 45.50 and may print 1e-2 style for tiny floats: normalize.
    let text = if text.contains('e') || text.contains('E') {
        text.parse::<f64>().map(|f| format!("{f:.*}", currency.exponent() as usize)).unwrap_or(text)
    } else {
        text
    };
    Money::from_major_str(&text, currency).map_err(|e| GatewayError::InvalidResponse(e.to_string()))
}

fn headers(cfg: &Config, locale: Option<&str>) -> Vec<(String, String)> {
    let mut h = vec![
        ("Authorization".into(), format!("Bearer {}", cfg.secret_key.expose())),
        ("Content-Type".into(), "application/json".into()),
    ];
    if let Some(l) = locale {
        h.push(("lang_code".into(), l.into()));
    }
    h
}

/// The hosted source for a method.
pub fn source_for(method: PaymentMethod) -> &'static str {
    match method {
        PaymentMethod::Mada => "src_sa.mada",
        PaymentMethod::Applepay => "src_apple_pay",
        PaymentMethod::Stcpay => "src_sa.stcpay",
        PaymentMethod::Visa | PaymentMethod::Mastercard | PaymentMethod::Amex => "src_card",
        // Not served by Tap (not in CAPABILITIES): build_create_session refuses it before this.
        PaymentMethod::Paypal => "src_all",
    }
}

/// Refuses what Tap does not take: a method or currency outside [`CAPABILITIES`], mada in
/// anything but SAR.
pub(crate) fn check_servable(input: &super::StartInput<'_>) -> Result<(), GatewayError> {
    if !CAPABILITIES.serves(input.method, input.money.currency.code()) {
        return Err(GatewayError::Rejected {
            status: 400,
            message: format!("Tap does not take {} in {}", input.method.code(), input.money.currency),
        });
    }
    if input.method == PaymentMethod::Mada && input.money.currency.code() != "SAR" {
        return Err(GatewayError::Rejected { status: 400, message: "mada is SAR only".into() });
    }
    Ok(())
}

/// `POST /charges` with `source.id` (a hosted source, or a `tok_…` of an Apple Pay token).
fn build_charge(cfg: &Config, input: &super::StartInput<'_>, source_id: &str) -> Result<HttpRequest, GatewayError> {
    check_servable(input)?;
    let body = serde_json::json!({
        "amount": to_tap_amount(&input.money),
        "currency": input.money.currency.code(),
        "threeDSecure": true,
        "save_card": false,
        "description": input.description,
        "reference": { "transaction": input.reference, "order": input.reference },
        "metadata": { "bawaba_reference": input.reference },
        "customer": { "first_name": input.customer_name.unwrap_or("Customer") },
        "source": { "id": source_id },
        "post": { "url": input.webhook_url },
        "redirect": { "url": input.return_url },
    });
    Ok(HttpRequest {
        method: HttpMethod::Post,
        url: format!("{}/charges", cfg.api_base),
        headers: headers(cfg, Some(input.locale)),
        body: Some(body.to_string().into_bytes()),
    })
}

/// `POST /charges` with the method's hosted source.
pub fn build_create_session(cfg: &Config, input: &super::StartInput<'_>) -> Result<HttpRequest, GatewayError> {
    build_charge(cfg, input, source_for(input.method))
}

/// Parses the created charge.
pub fn parse_create_session(resp: &HttpResponse) -> Result<GatewaySession, GatewayError> {
    let charge: wire::Charge = parse(resp)?;
    let url = charge
        .transaction
        .and_then(|t| t.url)
        .ok_or_else(|| GatewayError::InvalidResponse("the charge has no transaction.url".into()))?;
    Ok(GatewaySession { id: charge.id, redirect_url: url, form: None, flow: super::SessionFlow::Hosted })
}

/// `GET /charges/{id}`.
pub fn build_fetch_payment(cfg: &Config, id: &str) -> HttpRequest {
    HttpRequest {
        method: HttpMethod::Get,
        url: format!("{}/charges/{}", cfg.api_base, crate::gateway::shared::urlencode_path(id)),
        headers: headers(cfg, None),
        body: None,
    }
}

/// Parses a charge.
pub fn parse_fetch_payment(resp: &HttpResponse) -> Result<GatewayPayment, GatewayError> {
    let charge: wire::Charge = parse(resp)?;
    let currency = Currency::parse(&charge.currency).map_err(|e| GatewayError::InvalidResponse(e.to_string()))?;
    let money = from_tap_amount(&charge.amount, currency)?;
    let state = status::to_state(&charge.status)
        .ok_or_else(|| GatewayError::InvalidResponse(format!("unknown charge status {:?}", charge.status)))?;
    let error =
        matches!(state, crate::payment::PaymentState::Failed | crate::payment::PaymentState::Canceled).then(|| {
            let response = charge.response.clone().unwrap_or_default();
            let reason = declines::reason(response.code.as_deref(), &charge.status);
            ErrorInfo {
                code: reason.code().to_string(),
                message: crate::decline::gateway_message(
                    reason,
                    Some(response.message.as_deref().unwrap_or(&charge.status)),
                    response.code.as_deref(),
                ),
            }
        });
    let reference = charge
        .metadata
        .as_ref()
        .and_then(|m| m.bawaba_reference.clone())
        .or_else(|| charge.reference.as_ref().and_then(|r| r.transaction.clone()))
        .unwrap_or_default();
    Ok(GatewayPayment {
        transaction_id: None,
        id: charge.id,
        reference,
        state,
        money,
        card_brand: charge.card.as_ref().and_then(|c| c.brand.clone()).map(|b| b.to_ascii_lowercase()),
        card_last4: charge.card.as_ref().and_then(|c| c.last_four.clone()),
        error,
        // A charge does not carry its refunds; Tap's refunds are followed by their own status.
        refunded: None,
        three_ds: None,
    })
}

/// `POST /refunds` for `amount` of the charge.
pub fn build_refund(cfg: &Config, charge_id: &str, amount: &Money, refund_reference: &str) -> HttpRequest {
    let body = serde_json::json!({
        "charge_id": charge_id,
        "amount": to_tap_amount(amount),
        "currency": amount.currency.code(),
        "reason": "requested_by_customer",
        "reference": { "merchant": refund_reference },
    });
    HttpRequest {
        method: HttpMethod::Post,
        url: format!("{}/refunds", cfg.api_base),
        headers: headers(cfg, None),
        body: Some(body.to_string().into_bytes()),
    }
}

/// Parses a refund (the answer to [`build_refund`] or [`build_refund_status`]) by the refund
/// status table ([`status::REFUND`]): `REFUNDED` succeeded, `PENDING`/`ACCEPTED`/`IN_PROGRESS`…
/// pending, `FAILED`/`DECLINED`/`CANCELLED`/`RESTRICTED` failed with the code `refund_declined`
/// and Tap's message. An HTTP refusal stays a [`GatewayError::Rejected`]; a status not in the
/// table is an invalid response.
pub fn parse_refund(resp: &HttpResponse, amount: Money) -> Result<OperationResult, GatewayError> {
    let refund: wire::Refund = parse(resp)?;
    let stage = status::refund_stage(&refund.status)
        .ok_or_else(|| GatewayError::InvalidResponse(format!("unknown refund status {:?}", refund.status)))?;
    let status = match stage {
        status::RefundStage::Succeeded => OperationStatus::Succeeded,
        status::RefundStage::Pending => OperationStatus::Pending,
        status::RefundStage::Failed => {
            let message = refund
                .response
                .as_ref()
                .and_then(|r| r.message.clone())
                .filter(|m| !m.trim().is_empty())
                .map(|m| format!("{m} ({})", refund.status))
                .unwrap_or_else(|| format!("Tap reports the refund {}.", refund.status));
            OperationStatus::Failed(ErrorInfo { code: "refund_declined".into(), message })
        }
    };
    Ok(OperationResult { id: refund.id, status, money: amount })
}

/// `GET /refunds/{id}`: where a refund stands now (a `PENDING` refund is settled later).
pub fn build_refund_status(cfg: &Config, refund_id: &str) -> HttpRequest {
    HttpRequest {
        method: HttpMethod::Get,
        url: format!("{}/refunds/{}", cfg.api_base, crate::gateway::shared::urlencode_path(refund_id)),
        headers: headers(cfg, None),
        body: None,
    }
}

/// Parses [`build_refund_status`]'s answer: the same refund object as the creation's.
pub fn parse_refund_status(resp: &HttpResponse, amount: Money) -> Result<OperationResult, GatewayError> {
    parse_refund(resp, amount)
}

/// `GET /charges/chg_bawaba_check`: a charge that does not exist. A valid key gets 404 (or 200);
/// a wrong one 401. [U] in Tap's docs: see docs/gateways/tap.md.
pub fn build_check(cfg: &Config) -> HttpRequest {
    build_fetch_payment(cfg, "chg_bawaba_check")
}

/// The check verdict.
pub fn parse_check(resp: &HttpResponse, currency: Option<&str>) -> (CheckVerdict, String) {
    let message = error_message(&resp.body);
    match resp.status {
        200..=299 | 404 => match currency {
            Some(c) if !CAPABILITIES.currencies.contains(&c) => {
                (CheckVerdict::CurrencyUnsupported, format!("Tap does not take {c}"))
            }
            _ => (CheckVerdict::Ok, "the secret key works".into()),
        },
        401 => (CheckVerdict::InvalidCredentials, message),
        403 => (CheckVerdict::NotPermitted, message),
        s => (CheckVerdict::Unreachable, format!("HTTP {s}: {message}")),
    }
}

fn tap_error(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<wire::ErrorBody>(body)
        .ok()
        .and_then(|e| e.errors.into_iter().next())
        .map(|e| e.description)
}

fn error_message(body: &[u8]) -> String {
    super::body_message(body, tap_error)
}

fn parse<T: serde::de::DeserializeOwned>(resp: &HttpResponse) -> Result<T, GatewayError> {
    super::parse_json_answer(resp, tap_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cur(c: &str) -> Currency {
        Currency::parse(c).unwrap()
    }

    #[test]
    fn amounts_are_major_units_with_the_currency_decimals() {
        assert_eq!(to_tap_amount(&Money::new(4550, cur("SAR"))).to_string(), "45.5");
        assert_eq!(from_tap_amount(&serde_json::json!(45.5), cur("SAR")).unwrap().minor, 4550);
        assert_eq!(from_tap_amount(&serde_json::json!(1.5), cur("KWD")).unwrap().minor, 1500);
        assert_eq!(from_tap_amount(&serde_json::json!("10.00"), cur("SAR")).unwrap().minor, 1000);
        assert!(from_tap_amount(&serde_json::json!(1.005), cur("SAR")).is_err(), "never rounded");
        for minor in [1, 99, 100, 4550, 123456, 999999999] {
            for c in ["SAR", "KWD"] {
                let m = Money::new(minor, cur(c));
                assert_eq!(from_tap_amount(&to_tap_amount(&m), m.currency).unwrap(), m, "{minor} {c}");
            }
        }
    }

    #[test]
    fn charges_pick_the_hosted_source_by_method() {
        let cfg =
            Config { api_base: "http://t/v2".into(), secret_key: Secret::new("sk_test_x"), applepay_merchant: None };
        let input = |method, currency| crate::gateway::StartInput {
            return_url: "r",
            webhook_url: "w",
            locale: "ar",
            ..crate::gateway::StartInput::sample(Money::new(4550, cur(currency)), method)
        };
        let req = build_create_session(&cfg, &input(PaymentMethod::Mada, "SAR")).unwrap();
        let body: serde_json::Value = serde_json::from_slice(req.body.as_ref().unwrap()).unwrap();
        assert_eq!(body["source"]["id"], "src_sa.mada");
        assert_eq!(body["amount"].to_string(), "45.5");
        assert!(req.headers.contains(&("Authorization".into(), "Bearer sk_test_x".into())));
        assert!(build_create_session(&cfg, &input(PaymentMethod::Mada, "KWD")).is_err(), "mada is SAR only");
    }

    #[test]
    fn charges_map_to_states_with_reasons() {
        let body = br#"{"id":"chg_1","status":"DECLINED","amount":10.0,"currency":"SAR",
            "reference":{"transaction":"demo:S1","gateway":"g","payment":"p"},"transaction":{"created":"1"},
            "response":{"code":"505","message":"Insufficient Funds"},"card":{"brand":"VISA","last_four":"0002"}}"#;
        let p = parse_fetch_payment(&HttpResponse { status: 200, body: body.to_vec() }).unwrap();
        assert_eq!(p.state, crate::payment::PaymentState::Failed);
        assert_eq!(p.money.minor, 1000);
        assert_eq!(
            p.error.unwrap(),
            ErrorInfo { code: "insufficient_funds".into(), message: "Insufficient Funds (505)".into() }
        );
        assert_eq!(p.card_brand.as_deref(), Some("visa"));
        let unauth = HttpResponse {
            status: 401,
            body: br#"{"errors":[{"code":"2107","description":"No valid API key"}]}"#.to_vec(),
        };
        assert_eq!(parse_check(&unauth, None), (CheckVerdict::InvalidCredentials, "No valid API key".into()));
        assert_eq!(parse_check(&HttpResponse { status: 404, body: vec![] }, None).0, CheckVerdict::Ok);
    }

    fn sar(minor: i64) -> Money {
        Money::new(minor, cur("SAR"))
    }

    fn answer(status: u16, body: &str) -> HttpResponse {
        HttpResponse { status, body: body.as_bytes().to_vec() }
    }

    // The refund object as developers.tap.company/docs/refunds shows it.
    fn refund_body(status: &str, code: &str, message: &str) -> String {
        format!(
            r#"{{"id":"re_TS0412202412345","object":"refund","api_version":"V1.2","live_mode":false,"amount":45.5,
            "charge_id":"chg_TS05A1220241234","created":"1733836000000","currency":"SAR","status":"{status}",
            "reference":{{"merchant":"demo:S1-refund-0"}},"response":{{"code":"{code}","message":"{message}"}},
            "metadata":{{}},"reason":"requested_by_customer"}}"#
        )
    }

    #[test]
    fn refunds_succeed_stay_pending_or_fail_with_a_reason() {
        let done = parse_refund(&answer(200, &refund_body("REFUNDED", "000", "Refunded")), sar(4550)).unwrap();
        assert_eq!(
            done,
            OperationResult { id: "re_TS0412202412345".into(), status: OperationStatus::Succeeded, money: sar(4550) }
        );
        for pending in ["PENDING", "IN_PROGRESS", "INITIATED", "ACCEPTED", "UNKNOWN", "TIMEDOUT"] {
            let r = parse_refund(&answer(200, &refund_body(pending, "100", "Pending")), sar(4550)).unwrap();
            assert_eq!(r.status, OperationStatus::Pending, "{pending} is not final");
        }
        let declined = parse_refund(&answer(200, &refund_body("DECLINED", "507", "Declined by issuer")), sar(100));
        assert_eq!(
            declined.unwrap().status,
            OperationStatus::Failed(ErrorInfo {
                code: "refund_declined".into(),
                message: "Declined by issuer (DECLINED)".into()
            })
        );
        for failed in ["FAILED", "CANCELLED", "RESTRICTED"] {
            let r = parse_refund(&answer(200, &format!(r#"{{"id":"re_1","status":"{failed}"}}"#)), sar(100)).unwrap();
            let OperationStatus::Failed(e) = r.status else { panic!("{failed} is a decline") };
            assert_eq!((e.code.as_str(), e.message), ("refund_declined", format!("Tap reports the refund {failed}.")));
        }
        assert!(matches!(
            parse_refund(&answer(200, r#"{"id":"re_1","status":"SOMETHING_NEW"}"#), sar(100)),
            Err(GatewayError::InvalidResponse(_))
        ));
        let too_much =
            answer(400, r#"{"errors":[{"code":"1172","description":"Refund amount exceeds the charge amount"}]}"#);
        assert_eq!(
            parse_refund(&too_much, sar(100)),
            Err(GatewayError::Rejected { status: 400, message: "Refund amount exceeds the charge amount".into() })
        );
        assert!(matches!(parse_refund(&answer(502, ""), sar(100)), Err(GatewayError::Unreachable(_))));
    }

    #[test]
    fn a_pending_refund_is_asked_again_by_its_id() {
        let cfg =
            Config { api_base: "http://t/v2".into(), secret_key: Secret::new("sk_test_x"), applepay_merchant: None };
        let req = build_refund_status(&cfg, "re_TS0412202412345");
        assert_eq!((req.method, req.url.as_str()), (HttpMethod::Get, "http://t/v2/refunds/re_TS0412202412345"));
        assert!(req.headers.contains(&("Authorization".into(), "Bearer sk_test_x".into())));
        assert!(req.body.is_none());
        assert_eq!(build_refund_status(&cfg, "re/../x").url, "http://t/v2/refunds/re%2F%2E%2E%2Fx");
        let later = parse_refund_status(&answer(200, &refund_body("REFUNDED", "000", "Refunded")), sar(4550));
        assert_eq!(later.unwrap().status, OperationStatus::Succeeded);
        let failed = parse_refund_status(&answer(200, &refund_body("FAILED", "", "")), sar(4550)).unwrap();
        assert!(matches!(failed.status, OperationStatus::Failed(ref e) if e.code == "refund_declined"));
        let missing = answer(404, r#"{"errors":[{"code":"1142","description":"Refund not found"}]}"#);
        assert!(matches!(parse_refund_status(&missing, sar(1)), Err(GatewayError::Rejected { status: 404, .. })));
    }
}
