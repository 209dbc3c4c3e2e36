//! Payments made in the page, without Moyasar's hosted invoice: STC Pay (the mobile number,
//! then the one-time code) and Apple Pay (the sheet's token). Both are Moyasar **payments**
//! (`POST /v1/payments` with a `source`), read back with `GET /v1/payments/{id}`.
//!
//! Sources (docs/gateways/moyasar.md): STC Pay custom UI (docs.moyasar.com/HZ3T-stc-pay):
//! `source[type]=stcpay`, `source[mobile]` "starting with 05"; the answer is `initiated` with
//! `source.transaction_url`, to which the code goes as `otp_value` (GET or POST), answered with
//! the payment. Apple Pay on websites (docs.moyasar.com/apple-pay-on-websites) and Moyasar's own
//! form (npm `moyasar-payment-form` 2.2.10): the merchant session from
//! `POST /v1/applepay/initiate` `{validation_url, display_name, domain_name,
//! publishable_api_key}`, and the payment `source: {type: "applepay", token:
//! JSON.stringify(payment.token)}`.

use super::{declines, parse, request, status, wire, Config};
use crate::gateway::{
    GatewayError, GatewayPayment, GatewaySession, HttpMethod, HttpRequest, HttpResponse, SessionFlow, StartInput,
    Wallet,
};
use crate::money::{Currency, Money};

/// `POST /payments` with the shopper's wallet as the source.
pub fn build_create_payment(
    cfg: &Config,
    input: &StartInput<'_>,
    wallet: &Wallet,
) -> Result<HttpRequest, GatewayError> {
    super::check_amount(&input.money)?;
    let source = match wallet {
        Wallet::Stcpay { mobile } => {
            let mobile = crate::mobile::SaudiMobile::parse(mobile)
                .map_err(|e| GatewayError::Rejected { status: 400, message: e.to_string() })?;
            serde_json::json!({ "type": "stcpay", "mobile": mobile.national() })
        }
        Wallet::Applepay { token } => {
            if token.len() > crate::applepay::MAX_TOKEN_BYTES
                || serde_json::from_str::<serde_json::Value>(token).is_err()
            {
                return Err(GatewayError::Rejected { status: 400, message: "not an Apple Pay token".into() });
            }
            serde_json::json!({ "type": "applepay", "token": token })
        }
    };
    let mut body = serde_json::json!({
        "amount": input.money.minor,
        "currency": input.money.currency.code(),
        "description": input.description,
        // Where Moyasar would send a browser after a 3-D Secure step; our return route.
        "callback_url": input.return_url,
        "source": source,
        "metadata": { "bawaba_reference": input.reference },
    });
    if let Some(id) = given_id(input.session_key) {
        body["given_id"] = id.into();
    }
    Ok(request(cfg, HttpMethod::Post, "/payments", Some(body)))
}

/// The payment's id, chosen by us (`given_id`, a UUID v4 made from the session's 128 random
/// bits): Moyasar creates the payment with it, and the same id again is the same payment, never
/// a second charge. So a payment whose creation answer is lost can still be asked about.
/// `None` for a key that is not 32 hex digits (none is made then).
pub fn given_id(session_key: &str) -> Option<String> {
    let hex = session_key.as_bytes();
    if hex.len() != 32 || !hex.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let h = session_key.to_ascii_lowercase();
    // Version 4, variant 10xx: the UUID's fixed bits, the other 122 bits are the key's.
    let variant = ["8", "9", "a", "b"][usize::from(u8::from_str_radix(&h[16..17], 16).ok()? & 3)];
    Some(format!("{}-{}-4{}-{variant}{}-{}", &h[0..8], &h[8..12], &h[13..16], &h[17..20], &h[20..32]))
}

/// Whether a start answer is a payment (made in the page) rather than an invoice: only a
/// payment has a `source`.
pub fn is_payment(resp: &HttpResponse) -> bool {
    serde_json::from_slice::<serde_json::Value>(&resp.body).is_ok_and(|v| v.get("source").is_some())
}

/// Parses the created payment: an STC Pay payment waiting for its code goes on with the code
/// ([`SessionFlow::Otp`], whose url must be Moyasar's own); anything else (Apple Pay, an STC
/// Pay payment refused at once) is read back at once ([`SessionFlow::Direct`]).
pub fn parse_created_payment(cfg: &Config, resp: &HttpResponse) -> Result<GatewaySession, GatewayError> {
    let payment: wire::Payment = parse(resp)?;
    let otp_url = payment.source.as_ref().and_then(|s| s.transaction_url.clone());
    let flow = match otp_url {
        Some(url) if payment.status == "initiated" => {
            if !same_origin(&url, &cfg.api_base) {
                return Err(GatewayError::InvalidResponse(format!(
                    "the one-time code would go to {url}, outside {}",
                    cfg.api_base
                )));
            }
            SessionFlow::Otp { url }
        }
        _ => SessionFlow::Direct,
    };
    Ok(GatewaySession { id: payment.id, redirect_url: String::new(), form: None, flow })
}

/// The code to the payment's `transaction_url`, as `otp_value`.
pub fn build_otp(cfg: &Config, otp_url: &str, code: &str) -> HttpRequest {
    HttpRequest {
        method: HttpMethod::Post,
        url: otp_url.to_string(),
        headers: super::headers(cfg),
        body: Some(serde_json::json!({ "otp_value": code }).to_string().into_bytes()),
    }
}

/// The code's answer is the payment, paid or failed; the fetch after it is the truth.
pub fn parse_otp(resp: &HttpResponse) -> Result<(), GatewayError> {
    parse::<wire::Payment>(resp).map(|_| ())
}

/// `GET /payments/{id}`.
pub fn build_fetch(cfg: &Config, payment_id: &str) -> HttpRequest {
    request(cfg, HttpMethod::Get, &format!("/payments/{}", crate::gateway::shared::urlencode_path(payment_id)), None)
}

/// Parses a payment made in the page.
pub fn parse_fetch(resp: &HttpResponse) -> Result<GatewayPayment, GatewayError> {
    let payment: wire::Payment = parse(resp)?;
    let currency = Currency::parse(&payment.currency).map_err(|e| GatewayError::InvalidResponse(e.to_string()))?;
    let state = status::payment_state(&payment.status)
        .ok_or_else(|| GatewayError::InvalidResponse(format!("unknown payment status {:?}", payment.status)))?;
    let source = payment.source.as_ref();
    let error = (state == crate::payment::PaymentState::Failed).then(|| {
        let response_code = declines::payment_response_code(&resp.body);
        declines::failure(response_code.as_deref(), source.and_then(|s| s.message.as_deref()))
    });
    Ok(GatewayPayment {
        transaction_id: Some(payment.id.clone()),
        id: payment.id,
        reference: payment.metadata.and_then(|m| m.bawaba_reference).unwrap_or_default(),
        state,
        money: Money::new(payment.amount, currency),
        card_brand: source.and_then(|s| s.company.clone()),
        card_last4: source.and_then(|s| s.number.as_ref()).map(|n| crate::gateway::shared::last_four(n)),
        error,
        refunded: Some(payment.refunded),
        three_ds: None,
    })
}

/// `POST /applepay/initiate`: Moyasar asks Apple for the merchant session of a domain registered
/// in its dashboard (Apple Pay "web registration": no Apple developer account needed).
pub fn build_applepay_session(
    cfg: &Config,
    publishable_key: &str,
    validation_url: &str,
    domain: &str,
    display_name: &str,
) -> HttpRequest {
    let body = serde_json::json!({
        "validation_url": validation_url,
        "display_name": display_name,
        "domain_name": domain,
        "publishable_api_key": publishable_key,
    });
    request(cfg, HttpMethod::Post, "/applepay/initiate", Some(body))
}

/// The merchant session, as Apple made it: an object, handed on untouched.
pub fn parse_applepay_session(resp: &HttpResponse) -> Result<serde_json::Value, GatewayError> {
    let session: serde_json::Value = parse(resp)?;
    if !session.is_object() {
        return Err(GatewayError::InvalidResponse("the merchant session is not an object".into()));
    }
    Ok(session)
}

/// Whether `url` is on the same scheme, host and port as `base`.
fn same_origin(url: &str, base: &str) -> bool {
    fn origin(u: &str) -> Option<&str> {
        let after_scheme = u.find("://")? + 3;
        let end = u[after_scheme..].find('/').map_or(u.len(), |i| after_scheme + i);
        Some(&u[..end])
    }
    matches!((origin(url), origin(base)), (Some(a), Some(b)) if a.eq_ignore_ascii_case(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::method::PaymentMethod;
    use crate::payment::PaymentState;
    use crate::secret::Secret;

    fn cfg() -> Config {
        Config {
            api_base: "https://api.moyasar.com/v1".into(),
            secret_key: Secret::new("sk_test_abc"),
            webhook_secret: Secret::new("token"),
            publishable_key: Some(Secret::new("pk_test_abc")),
        }
    }

    fn sar(minor: i64) -> Money {
        Money::new(minor, Currency::parse("SAR").unwrap())
    }

    fn answer(status: u16, body: serde_json::Value) -> HttpResponse {
        HttpResponse { status, body: body.to_string().into_bytes() }
    }

    #[test]
    fn stc_pay_is_a_payment_with_the_national_number() {
        let wallet = Wallet::Stcpay { mobile: "+966 55 123 4567".into() };
        let input = StartInput { wallet: Some(&wallet), ..StartInput::sample(sar(4550), PaymentMethod::Stcpay) };
        let req = build_create_payment(&cfg(), &input, &wallet).unwrap();
        assert_eq!(req.url, "https://api.moyasar.com/v1/payments");
        let body: serde_json::Value = serde_json::from_slice(req.body.as_ref().unwrap()).unwrap();
        assert_eq!(body["source"], serde_json::json!({"type": "stcpay", "mobile": "0551234567"}));
        assert_eq!(body["amount"], 4550);
        assert_eq!(body["metadata"]["bawaba_reference"], "demo:S1");
        let bad = Wallet::Stcpay { mobile: "0112345678".into() };
        assert!(matches!(build_create_payment(&cfg(), &input, &bad), Err(GatewayError::Rejected { status: 400, .. })));
    }

    #[test]
    fn the_payment_id_is_ours_a_uuid_v4_from_the_session_key() {
        let key = "0123456789abcdef0123456789ABCDEF";
        let id = given_id(key).unwrap();
        assert_eq!(id, "01234567-89ab-4def-8123-456789abcdef");
        assert_eq!(given_id(key), Some(id.clone()), "the same key, the same payment");
        assert_ne!(given_id("1123456789abcdef0123456789abcdef"), Some(id.clone()));
        for bad in ["", "k", "0123456789abcdef0123456789abcde", "0123456789abcdef0123456789abcdeg"] {
            assert_eq!(given_id(bad), None, "{bad:?}");
        }
        // Every variant nibble gives an RFC 4122 variant (8, 9, a, b).
        for nibble in "0123456789abcdef".chars() {
            let key = format!("0123456789abcdef{nibble}123456789abcdef");
            let id = given_id(&key).unwrap();
            assert!("89ab".contains(&id[19..20]), "{id}");
            assert_eq!(&id[14..15], "4", "{id}");
        }
        let wallet = Wallet::Applepay { token: r#"{"paymentData":{"data":"x"}}"#.into() };
        let input = StartInput {
            wallet: Some(&wallet),
            session_key: key,
            ..StartInput::sample(sar(4550), PaymentMethod::Applepay)
        };
        let req = build_create_payment(&cfg(), &input, &wallet).unwrap();
        let body: serde_json::Value = serde_json::from_slice(req.body.as_ref().unwrap()).unwrap();
        assert_eq!(body["given_id"], id);
    }

    #[test]
    fn an_apple_pay_token_is_passed_as_json_text_and_must_be_json() {
        let wallet = Wallet::Applepay { token: r#"{"paymentData":{"data":"x"}}"#.into() };
        let input = StartInput::sample(sar(25000), PaymentMethod::Applepay);
        let req = build_create_payment(&cfg(), &input, &wallet).unwrap();
        let body: serde_json::Value = serde_json::from_slice(req.body.as_ref().unwrap()).unwrap();
        assert_eq!(body["source"]["type"], "applepay");
        assert_eq!(body["source"]["token"], r#"{"paymentData":{"data":"x"}}"#);
        for token in ["not json".to_string(), format!("\"{}\"", "a".repeat(crate::applepay::MAX_TOKEN_BYTES))] {
            let wallet = Wallet::Applepay { token };
            assert!(build_create_payment(&cfg(), &input, &wallet).is_err());
        }
        assert!(!format!("{wallet:?}").contains("paymentData"), "a token is never printed");
    }

    #[test]
    fn an_initiated_stc_pay_payment_waits_for_its_code_at_moyasar_only() {
        let initiated = |url: &str| {
            answer(
                201,
                serde_json::json!({"id":"p1","status":"initiated","amount":100,"currency":"SAR",
                "source":{"type":"stcpay","transaction_url":url}}),
            )
        };
        let session =
            parse_created_payment(&cfg(), &initiated("https://api.moyasar.com/v1/stc_pays/p1/proceed?otp_id=x"))
                .unwrap();
        assert_eq!(
            session.flow,
            SessionFlow::Otp { url: "https://api.moyasar.com/v1/stc_pays/p1/proceed?otp_id=x".into() }
        );
        assert!(parse_created_payment(&cfg(), &initiated("https://evil.example/v1/x")).is_err());
        assert!(parse_created_payment(&cfg(), &initiated("https://api.moyasar.com.evil.example/v1/x")).is_err());
        let failed = answer(
            201,
            serde_json::json!({"id":"p2","status":"failed","amount":100,"currency":"SAR",
            "source":{"type":"stcpay","message":"Mobile number is not registered to use the STC Pay service."}}),
        );
        assert_eq!(parse_created_payment(&cfg(), &failed).unwrap().flow, SessionFlow::Direct);
        assert!(is_payment(&failed));
        assert!(!is_payment(&answer(201, serde_json::json!({"id":"inv","url":"u"}))));
    }

    #[test]
    fn a_payment_reads_back_with_its_reason() {
        let failed = answer(
            200,
            serde_json::json!({"id":"p1","status":"failed","amount":100,"currency":"SAR",
            "metadata":{"bawaba_reference":"demo:S1"},"source":{"type":"stcpay","message":"Insufficient Balance."}}),
        );
        let p = parse_fetch(&failed).unwrap();
        assert_eq!(
            (p.state, p.reference.as_str(), p.transaction_id.as_deref()),
            (PaymentState::Failed, "demo:S1", Some("p1"))
        );
        assert_eq!(p.error.unwrap().code, "insufficient_funds");
        let paid = answer(
            200,
            serde_json::json!({"id":"p1","status":"paid","amount":100,"currency":"SAR",
            "source":{"type":"applepay","company":"mada","number":"4201-32XX-XXXX-1010"}}),
        );
        let p = parse_fetch(&paid).unwrap();
        assert_eq!(
            (p.state, p.card_brand.as_deref(), p.card_last4.as_deref()),
            (PaymentState::Paid, Some("mada"), Some("1010"))
        );
        assert!(parse_fetch(&answer(200, serde_json::json!({"id":"p","status":"weird","amount":1,"currency":"SAR"})))
            .is_err());
    }

    #[test]
    fn the_apple_pay_session_asks_moyasar_for_the_shop_domain() {
        let req = build_applepay_session(
            &cfg(),
            "pk_test_abc",
            "https://apple-pay-gateway.apple.com/paymentservices/paymentSession",
            "shop.example.sa",
            "My Shop",
        );
        assert_eq!(req.url, "https://api.moyasar.com/v1/applepay/initiate");
        let body: serde_json::Value = serde_json::from_slice(req.body.as_ref().unwrap()).unwrap();
        assert_eq!(body["domain_name"], "shop.example.sa");
        assert_eq!(body["publishable_api_key"], "pk_test_abc");
        assert!(parse_applepay_session(&answer(200, serde_json::json!({"merchantSessionIdentifier":"x"}))).is_ok());
        assert!(parse_applepay_session(&answer(200, serde_json::json!("text"))).is_err());
        assert!(matches!(
            parse_applepay_session(&answer(
                400,
                serde_json::json!({"type":"invalid_request_error","message":"domain not registered"})
            )),
            Err(GatewayError::Rejected { status: 400, .. })
        ));
    }
}
