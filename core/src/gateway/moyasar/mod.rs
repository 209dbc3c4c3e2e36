//! Moyasar (Riyadh): hosted payment through an **invoice** (`POST /v1/invoices` returns a `url`
//! the shopper pays on), server-side status via `GET /v1/invoices/{id}`, refunds, captures and
//! voids on the invoice's payment (`/v1/payments/{id}/…`), and webhooks authenticated by a
//! shared `secret_token` in the body. Facts and sources: `docs/gateways/moyasar.md`.
//!
//! Amounts are integers in the currency's minor unit (halalas; fils ×1000 for KWD), at least 100.

pub mod connector;
pub mod declines;
pub mod in_page;
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
use base64::Engine;

/// Gateway code.
pub const CODE: &str = "moyasar";

/// Production API base.
pub const DEFAULT_API_BASE: &str = "https://api.moyasar.com/v1";

/// Smallest amount Moyasar accepts, in minor units.
pub const MIN_AMOUNT_MINOR: i64 = 100;

/// What Moyasar can do through invoices. Capture needs an authorize-only payment, which the
/// hosted invoice does not create, so it is off; void cancels a paid payment before settlement.
pub const CAPABILITIES: Capabilities = Capabilities {
    methods: &[
        PaymentMethod::Mada,
        PaymentMethod::Visa,
        PaymentMethod::Mastercard,
        PaymentMethod::Amex,
        PaymentMethod::Applepay,
        PaymentMethod::Stcpay,
    ],
    currencies: &["SAR", "USD", "AED", "KWD", "BHD", "QAR", "OMR", "EUR", "GBP", "EGP", "JOD"],
    partial_refund: true,
    capture: false,
    void: true,
};

/// Settings: `MOYASAR_SECRET_KEY`, `MOYASAR_WEBHOOK_SECRET` (the "Secret Token" of the webhook
/// registered in the dashboard), `MOYASAR_API_BASE`, `MOYASAR_PUBLISHABLE_KEY` (Apple Pay in the
/// page).
#[derive(Debug, Clone)]
pub struct Config {
    /// API base without a trailing slash.
    pub api_base: String,
    /// `sk_test_…` or `sk_live_…`.
    pub secret_key: Secret,
    /// The webhook's secret token.
    pub webhook_secret: Secret,
    /// `pk_test_…`/`pk_live_…` (`MOYASAR_PUBLISHABLE_KEY`): Moyasar's Apple Pay merchant
    /// validation takes it; without it Apple Pay stays on Moyasar's page.
    pub publishable_key: Option<Secret>,
}

fn headers(cfg: &Config) -> Vec<(String, String)> {
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{}:", cfg.secret_key.expose()));
    vec![("Authorization".into(), format!("Basic {basic}")), ("Content-Type".into(), "application/json".into())]
}

fn request(cfg: &Config, method: HttpMethod, path: &str, body: Option<serde_json::Value>) -> HttpRequest {
    HttpRequest {
        method,
        url: format!("{}{path}", cfg.api_base),
        headers: headers(cfg),
        body: body.map(|b| b.to_string().into_bytes()),
    }
}

/// Refuses amounts Moyasar would refuse, before any call.
pub fn check_amount(money: &Money) -> Result<(), GatewayError> {
    if money.minor < MIN_AMOUNT_MINOR {
        return Err(GatewayError::Rejected {
            status: 400,
            message: format!("Moyasar's smallest amount is 1.00 {}", money.currency),
        });
    }
    if !CAPABILITIES.currencies.contains(&money.currency.code()) {
        return Err(GatewayError::Rejected {
            status: 400,
            message: format!("Moyasar does not take {}", money.currency),
        });
    }
    Ok(())
}

/// `POST /invoices`. With [`super::StartInput::expires_at`], the invoice carries `expired_at`
/// (an ISO 8601 UTC datetime): once it passes, Moyasar refuses payments on the invoice and its
/// status becomes `expired` (docs.moyasar.com/api/invoices/01-create-invoice).
pub fn build_create_session(cfg: &Config, input: &super::StartInput<'_>) -> Result<HttpRequest, GatewayError> {
    check_amount(&input.money)?;
    let mut body = serde_json::json!({
        "amount": input.money.minor,
        "currency": input.money.currency.code(),
        "description": input.description,
        "success_url": input.return_url,
        "back_url": input.return_url,
        "metadata": { "bawaba_reference": input.reference },
    });
    if let Some(at) = input.expires_at {
        body["expired_at"] = serde_json::Value::String(iso8601_utc(at));
    }
    Ok(request(cfg, HttpMethod::Post, "/invoices", Some(body)))
}

/// Unix seconds → `2018-01-01T09:55:14.000Z`, the datetime form Moyasar's `expired_at` takes.
pub fn iso8601_utc(unix_secs: i64) -> String {
    let days = unix_secs.div_euclid(86_400);
    let secs = unix_secs.rem_euclid(86_400);
    // Days since 1970-01-01 → civil date (H. Hinnant's algorithm, proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.000Z", secs / 3600, secs % 3600 / 60, secs % 60)
}

/// Parses the created invoice.
pub fn parse_create_session(resp: &HttpResponse) -> Result<GatewaySession, GatewayError> {
    let invoice: wire::Invoice = parse(resp)?;
    let url = invoice.url.ok_or_else(|| GatewayError::InvalidResponse("the invoice has no url".into()))?;
    Ok(GatewaySession { id: invoice.id, redirect_url: url, form: None, flow: super::SessionFlow::Hosted })
}

/// `GET /invoices/{id}`.
pub fn build_fetch_payment(cfg: &Config, invoice_id: &str) -> HttpRequest {
    request(cfg, HttpMethod::Get, &format!("/invoices/{}", crate::gateway::shared::urlencode_path(invoice_id)), None)
}

/// Parses an invoice into the normalized payment: the invoice's status decides, its latest
/// payment gives the card and the id refunds act on.
pub fn parse_fetch_payment(resp: &HttpResponse) -> Result<GatewayPayment, GatewayError> {
    let invoice: wire::Invoice = parse(resp)?;
    let currency = Currency::parse(&invoice.currency).map_err(|e| GatewayError::InvalidResponse(e.to_string()))?;
    let state = status::invoice_state(&invoice.status)
        .ok_or_else(|| GatewayError::InvalidResponse(format!("unknown invoice status {:?}", invoice.status)))?;
    let payment = invoice.payments.iter().rev().find(|p| p.status != "failed").or(invoice.payments.last());
    let error = match (state, payment) {
        (crate::payment::PaymentState::Failed, Some(p)) => {
            let message = p.source.as_ref().and_then(|s| s.message.as_deref());
            let response_code = declines::response_code(&resp.body, &p.id);
            Some(declines::failure(response_code.as_deref(), message))
        }
        (crate::payment::PaymentState::Canceled, _) => {
            Some(ErrorInfo { code: invoice.status.clone(), message: format!("The invoice is {}.", invoice.status) })
        }
        _ => None,
    };
    let source = payment.and_then(|p| p.source.as_ref());
    Ok(GatewayPayment {
        id: invoice.id,
        transaction_id: payment.map(|p| p.id.clone()),
        reference: invoice.metadata.and_then(|m| m.bawaba_reference).unwrap_or_default(),
        state,
        money: Money::new(invoice.amount, currency),
        card_brand: source.and_then(|s| s.company.clone()),
        card_last4: source.and_then(|s| s.number.as_ref()).map(|n| crate::gateway::shared::last_four(n)),
        error,
        refunded: payment.map(|p| p.refunded),
        three_ds: None,
    })
}

/// `POST /payments/{id}/refund` (no amount: the whole remainder).
pub fn build_refund(cfg: &Config, transaction_id: &str, amount: Option<&Money>) -> HttpRequest {
    let body = match amount {
        Some(m) => serde_json::json!({ "amount": m.minor }),
        None => serde_json::json!({}),
    };
    request(
        cfg,
        HttpMethod::Post,
        &format!("/payments/{}/refund", crate::gateway::shared::urlencode_path(transaction_id)),
        Some(body),
    )
}

/// `POST /payments/{id}/capture`.
pub fn build_capture(cfg: &Config, transaction_id: &str, amount: Option<&Money>) -> HttpRequest {
    let body = amount.map(|m| serde_json::json!({ "amount": m.minor })).unwrap_or_else(|| serde_json::json!({}));
    request(
        cfg,
        HttpMethod::Post,
        &format!("/payments/{}/capture", crate::gateway::shared::urlencode_path(transaction_id)),
        Some(body),
    )
}

/// `POST /payments/{id}/void`.
pub fn build_void(cfg: &Config, transaction_id: &str) -> HttpRequest {
    request(
        cfg,
        HttpMethod::Post,
        &format!("/payments/{}/void", crate::gateway::shared::urlencode_path(transaction_id)),
        Some(serde_json::json!({})),
    )
}

/// Parses the payment returned by refund, capture and void. `expect` is the status that means
/// the operation went through (`refunded`, `captured`, `voided`; a partial refund leaves the
/// payment `paid` with a `refunded` total); `amount` is what was asked (the payment reports
/// totals). Moyasar answers these synchronously: a payment in another status means the operation
/// did not happen (`Failed`, code `refund_declined` / `capture_declined` / `void_declined`); a
/// refusal (4xx) stays a [`GatewayError::Rejected`].
pub fn parse_operation(resp: &HttpResponse, expect: &str, amount: Money) -> Result<OperationResult, GatewayError> {
    let payment: wire::Payment = parse(resp)?;
    let went_through = payment.status == expect || (expect == "refunded" && payment.refunded > 0);
    let status = if went_through {
        OperationStatus::Succeeded
    } else {
        let operation = match expect {
            "refunded" => "refund",
            "captured" => "capture",
            "voided" => "void",
            other => other,
        };
        OperationStatus::Failed(ErrorInfo {
            code: format!("{operation}_declined"),
            message: format!("Moyasar did not {operation} it: the payment is {}.", payment.status),
        })
    };
    Ok(OperationResult { id: payment.id, status, money: amount })
}

/// `GET /payments?page=1`: the cheapest call that needs the secret key.
pub fn build_check(cfg: &Config) -> HttpRequest {
    request(cfg, HttpMethod::Get, "/payments?page=1", None)
}

/// The verdict for a check answer (401 wrong key, 403/405 not allowed or not activated).
pub fn parse_check(resp: &HttpResponse, currency: Option<&str>) -> (CheckVerdict, String) {
    let message = gateway_message(&resp.body);
    match resp.status {
        200..=299 => match currency {
            Some(c) if !CAPABILITIES.currencies.contains(&c) => {
                (CheckVerdict::CurrencyUnsupported, format!("Moyasar does not take {c}"))
            }
            _ => (CheckVerdict::Ok, "the secret key works".into()),
        },
        401 => (CheckVerdict::InvalidCredentials, message),
        403 | 405 => (CheckVerdict::NotPermitted, message),
        _ => (CheckVerdict::Unreachable, format!("HTTP {}: {message}", resp.status)),
    }
}

fn error_message(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<wire::ErrorBody>(body).ok().map(|e| e.message)
}

fn gateway_message(body: &[u8]) -> String {
    super::body_message(body, error_message)
}

fn parse<T: serde::de::DeserializeOwned>(resp: &HttpResponse) -> Result<T, GatewayError> {
    super::parse_json_answer(resp, error_message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::StartInput;

    fn cfg() -> Config {
        Config {
            api_base: "http://127.0.0.1:9/v1".into(),
            secret_key: Secret::new("sk_test_abc"),
            webhook_secret: Secret::new("token"),
            publishable_key: None,
        }
    }

    fn sar(minor: i64) -> Money {
        Money::new(minor, Currency::parse("SAR").unwrap())
    }

    #[test]
    fn invoices_use_basic_auth_and_minor_units() {
        let req = build_create_session(
            &cfg(),
            &StartInput {
                description: "Order S1",
                return_url: "http://e/r",
                ..StartInput::sample(sar(4550), PaymentMethod::Visa)
            },
        )
        .unwrap();
        assert_eq!(req.url, "http://127.0.0.1:9/v1/invoices");
        // base64("sk_test_abc:")
        assert!(req.headers.contains(&("Authorization".into(), "Basic c2tfdGVzdF9hYmM6".into())));
        let body: serde_json::Value = serde_json::from_slice(req.body.as_ref().unwrap()).unwrap();
        assert_eq!(body["amount"], 4550);
        assert_eq!(body["metadata"]["bawaba_reference"], "demo:S1");
        let kwd = Money::new(1500, Currency::parse("KWD").unwrap());
        let req = build_create_session(
            &cfg(),
            &StartInput { reference: "r", return_url: "u", ..StartInput::sample(kwd, PaymentMethod::Visa) },
        )
        .unwrap();
        let body: serde_json::Value = serde_json::from_slice(req.body.as_ref().unwrap()).unwrap();
        assert_eq!(body["amount"], 1500, "1.500 KWD is 1500 fils");
    }

    #[test]
    fn too_small_or_foreign_amounts_are_refused_before_any_call() {
        let input =
            |money| StartInput { reference: "r", return_url: "u", ..StartInput::sample(money, PaymentMethod::Visa) };
        assert!(build_create_session(&cfg(), &input(sar(99))).is_err());
        assert!(build_create_session(&cfg(), &input(Money::new(500, Currency::parse("JPY").unwrap()))).is_err());
    }

    #[test]
    fn a_paid_invoice_maps_to_paid_with_the_card() {
        let body = br#"{"id":"inv_1","status":"paid","amount":4550,"currency":"SAR","url":"u",
            "metadata":{"bawaba_reference":"demo:S1"},
            "payments":[{"id":"pay_1","status":"paid","amount":4550,"currency":"SAR","refunded":0,
              "source":{"type":"creditcard","company":"mada","number":"4201-32XX-XXXX-1010","message":"APPROVED"}}]}"#;
        let p = parse_fetch_payment(&HttpResponse { status: 200, body: body.to_vec() }).unwrap();
        assert_eq!(p.state, crate::payment::PaymentState::Paid);
        assert_eq!(p.transaction_id.as_deref(), Some("pay_1"));
        assert_eq!(p.card_brand.as_deref(), Some("mada"));
        assert_eq!(p.card_last4.as_deref(), Some("1010"));
        assert_eq!(p.reference, "demo:S1");
    }

    #[test]
    fn a_failed_invoice_gives_the_normalized_reason_with_moyasar_s_words() {
        let failed = |source: &str| {
            let body = format!(
                r#"{{"id":"inv_1","status":"failed","amount":4550,"currency":"SAR","url":"u",
                "payments":[{{"id":"pay_1","status":"failed","amount":4550,"currency":"SAR","source":{source}}}]}}"#
            );
            parse_fetch_payment(&HttpResponse { status: 200, body: body.into_bytes() }).unwrap().error.unwrap()
        };
        assert_eq!(
            failed(r#"{"type":"creditcard","message":"INSUFFICIENT FUNDS","response_code":"51"}"#),
            ErrorInfo { code: "insufficient_funds".into(), message: "INSUFFICIENT FUNDS (51)".into() }
        );
        assert_eq!(
            failed(r#"{"type":"creditcard","message":"DECLINED: EXPIRED CARD"}"#),
            ErrorInfo { code: "expired_card".into(), message: "DECLINED: EXPIRED CARD".into() }
        );
        assert_eq!(failed(r#"{"type":"creditcard","message":"DECLINED","response_code":"05"}"#).code, "do_not_honor");
        assert_eq!(
            failed(r#"{"type":"stcpay"}"#),
            ErrorInfo { code: "declined".into(), message: "The payment failed.".into() }
        );
    }

    #[test]
    fn errors_and_checks() {
        let unauth = HttpResponse {
            status: 401,
            body: br#"{"type":"authentication_error","message":"Invalid authorization credentials","errors":null}"#
                .to_vec(),
        };
        assert_eq!(
            parse_fetch_payment(&unauth),
            Err(GatewayError::Rejected { status: 401, message: "Invalid authorization credentials".into() })
        );
        assert_eq!(parse_check(&unauth, None).0, CheckVerdict::InvalidCredentials);
        assert_eq!(parse_check(&HttpResponse { status: 405, body: vec![] }, None).0, CheckVerdict::NotPermitted);
        assert_eq!(
            parse_check(&HttpResponse { status: 200, body: b"[]".to_vec() }, Some("JPY")).0,
            CheckVerdict::CurrencyUnsupported
        );
        assert_eq!(parse_check(&HttpResponse { status: 503, body: vec![] }, None).0, CheckVerdict::Unreachable);
    }

    #[test]
    fn an_expiry_is_sent_as_expired_at_in_utc() {
        let plain = build_create_session(&cfg(), &StartInput::sample(sar(4550), PaymentMethod::Visa)).unwrap();
        let body: serde_json::Value = serde_json::from_slice(plain.body.as_ref().unwrap()).unwrap();
        assert!(body.get("expired_at").is_none(), "no expiry unless asked");
        let req = build_create_session(
            &cfg(),
            &StartInput { expires_at: Some(1_514_800_514), ..StartInput::sample(sar(4550), PaymentMethod::Visa) },
        )
        .unwrap();
        let body: serde_json::Value = serde_json::from_slice(req.body.as_ref().unwrap()).unwrap();
        assert_eq!(body["expired_at"], "2018-01-01T09:55:14.000Z");
        for (secs, text) in [
            (0, "1970-01-01T00:00:00.000Z"),
            (951_782_400, "2000-02-29T00:00:00.000Z"),
            (4_107_542_399, "2100-02-28T23:59:59.000Z"),
            (-1, "1969-12-31T23:59:59.000Z"),
        ] {
            assert_eq!(iso8601_utc(secs), text);
        }
    }

    fn payment(status: &str, refunded: i64) -> HttpResponse {
        let body = format!(
            r#"{{"id":"pay_1","status":"{status}","amount":4550,"currency":"SAR","refunded":{refunded},
            "invoice_id":"inv_1","source":{{"type":"creditcard","company":"mada","number":"4201-32XX-XXXX-1010","message":"APPROVED"}}}}"#
        );
        HttpResponse { status: 200, body: body.into_bytes() }
    }

    #[test]
    fn operations_succeed_or_say_why_not() {
        let full = parse_operation(&payment("refunded", 4550), "refunded", sar(4550)).unwrap();
        assert_eq!(full, OperationResult { id: "pay_1".into(), status: OperationStatus::Succeeded, money: sar(4550) });
        let partial = parse_operation(&payment("paid", 1000), "refunded", sar(1000)).unwrap();
        assert_eq!(partial.status, OperationStatus::Succeeded, "a partial refund leaves the payment paid");
        assert_eq!(
            parse_operation(&payment("voided", 0), "voided", sar(4550)).unwrap().status,
            OperationStatus::Succeeded
        );
        assert_eq!(
            parse_operation(&payment("paid", 0), "voided", sar(4550)).unwrap().status,
            OperationStatus::Failed(ErrorInfo {
                code: "void_declined".into(),
                message: "Moyasar did not void it: the payment is paid.".into()
            })
        );
        let OperationStatus::Failed(e) = parse_operation(&payment("paid", 0), "refunded", sar(1)).unwrap().status
        else {
            panic!("nothing refunded")
        };
        assert_eq!(e.code, "refund_declined");
        let refused = HttpResponse {
            status: 400,
            body: br#"{"type":"invalid_request_error","message":"Refund amount is greater than the refundable amount","errors":null}"#.to_vec(),
        };
        assert_eq!(
            parse_operation(&refused, "refunded", sar(1)),
            Err(GatewayError::Rejected {
                status: 400,
                message: "Refund amount is greater than the refundable amount".into()
            })
        );
    }
}
