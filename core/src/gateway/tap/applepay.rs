//! Apple Pay taken in the page through Tap, with the merchant's own Apple Pay merchant: the
//! edge validates the merchant with Apple ([`crate::applepay`]); the sheet's token is then
//! exchanged for a Tap token and charged.
//!
//! 1. `POST /v2/tokens` `{"type": "applepay", "token_data": <Apple's paymentData object as it
//!    is>}` (Bearer secret key): Tap decrypts it with the merchant's payment processing
//!    certificate (made from Tap's CSR) and answers a token `{"id": "tok_…", "card": {…}}`.
//!    Nothing is charged: [`Start::Prepare`](crate::gateway::connector::Start::Prepare).
//! 2. `POST /v2/charges` with `source: {"id": "tok_…"}` and everything else as a hosted charge
//!    has (amount through [`super::to_tap_amount`], reference, metadata, `redirect.url`,
//!    `post.url`). A decided charge (`CAPTURED`, `DECLINED`, …) is read back at once
//!    ([`SessionFlow::Direct`]: the edge fetches `GET /v2/charges/{id}` and checks it); an
//!    `INITIATED` charge with a `transaction.url` wants 3-D Secure: the shopper goes there as to a
//!    hosted page ([`SessionFlow::Hosted`]).
//!
//! Sources: developers.tap.company/docs/apple-pay-token, /docs/apple-pay-csr-cer; Tap's iOS SDKs
//! (TapApplePayKit-iOS `TapCreateTokenWithApplePayRequest`, goSellSDK-iOS). What they leave open
//! is marked [U] in docs/gateways/tap.md.

use super::{headers, parse, wire, Config};
use crate::applepay::ApplepayToken;
use crate::gateway::{
    GatewayError, GatewaySession, HttpMethod, HttpRequest, HttpResponse, SessionFlow, StartInput, Wallet,
};
use crate::method::PaymentMethod;

/// What every Tap token id starts with.
pub const TOKEN_PREFIX: &str = "tok_";

/// `POST /tokens` for the shopper's Apple Pay token. A token that cannot be one (no encrypted
/// data, no key, too big, another wallet) is refused here, before Tap is asked anything.
pub fn build_token_request(cfg: &Config, input: &StartInput<'_>) -> Result<HttpRequest, GatewayError> {
    let refused = |message: String| GatewayError::Rejected { status: 400, message };
    if input.method != PaymentMethod::Applepay {
        return Err(refused(format!("Tap takes only Apple Pay in the page, not {}", input.method.code())));
    }
    if cfg.applepay_merchant.is_none() {
        return Err(refused("Apple Pay in the page is not set up (APPLE_PAY_MERCHANT_ID)".into()));
    }
    let Some(Wallet::Applepay { token }) = input.wallet else {
        return Err(refused("no Apple Pay token".into()));
    };
    super::check_servable(input)?;
    ApplepayToken::parse(token).map_err(refused)?;
    let token_data = ApplepayToken::payment_data_json(token).map_err(refused)?;
    let body = serde_json::json!({ "type": "applepay", "token_data": token_data });
    Ok(HttpRequest {
        method: HttpMethod::Post,
        url: format!("{}/tokens", cfg.api_base),
        headers: headers(cfg, None),
        body: Some(body.to_string().into_bytes()),
    })
}

/// Reads Tap's token: its id, which the charge then uses. A refusal (4xx: a token Tap could not
/// decrypt, a certificate not set up) stays a refusal; 5xx is an outage; a token already used
/// or an id that is not a token is refused too (no charge is asked for with it).
pub fn parse_token(resp: &HttpResponse) -> Result<String, GatewayError> {
    let token: wire::Token = parse(resp)?;
    if !token.id.starts_with(TOKEN_PREFIX) || token.id.len() > 128 {
        return Err(GatewayError::InvalidResponse(format!("{:?} is not a Tap token", token.id)));
    }
    if token.used == Some(true) {
        return Err(GatewayError::Rejected {
            status: 400,
            message: format!("Tap's token {} is already used", token.id),
        });
    }
    Ok(token.id)
}

/// The charge of the token `tok_…` (the same charge as a hosted one, with the token as source).
pub fn build_charge(cfg: &Config, input: &StartInput<'_>, token_id: &str) -> Result<HttpRequest, GatewayError> {
    super::build_charge(cfg, input, token_id)
}

/// Reads the created charge. Once Tap has answered with a charge, the session is kept whatever
/// its status (the fetch that follows decides): `INITIATED` with a `transaction.url` is 3-D
/// Secure on Tap's page; anything else is read back at once.
pub fn parse_charge(resp: &HttpResponse) -> Result<GatewaySession, GatewayError> {
    let charge: wire::Charge = parse(resp)?;
    if charge.id.is_empty() {
        return Err(GatewayError::InvalidResponse("the charge has no id".into()));
    }
    let three_ds = charge.transaction.as_ref().and_then(|t| t.url.clone()).filter(|u| !u.trim().is_empty());
    match three_ds {
        Some(url) if charge.status == "INITIATED" => {
            Ok(GatewaySession { id: charge.id, redirect_url: url, form: None, flow: SessionFlow::Hosted })
        }
        _ => Ok(GatewaySession { id: charge.id, redirect_url: String::new(), form: None, flow: SessionFlow::Direct }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::connector::{Gateway, Start};
    use crate::gateway::MethodFlow;
    use crate::money::{Currency, Money};
    use crate::payment::PaymentState;
    use crate::secret::Secret;

    const TOKEN: &str = r#"{"paymentData":{"version":"EC_v1","data":"ZGF0YQ==","signature":"c2ln",
        "header":{"ephemeralPublicKey":"a2V5","publicKeyHash":"aGFzaA==","transactionId":"abc123"}},
        "paymentMethod":{"displayName":"mada 1010","network":"mada","type":"debit"},"transactionIdentifier":"ABC123"}"#;

    fn cfg(merchant: bool) -> Config {
        Config {
            api_base: "https://api.tap.company/v2".into(),
            secret_key: Secret::new("sk_test_x"),
            applepay_merchant: merchant.then(|| "merchant.sa.shop".into()),
        }
    }

    fn sar(minor: i64) -> Money {
        Money::new(minor, Currency::parse("SAR").unwrap())
    }

    fn answer(status: u16, body: serde_json::Value) -> HttpResponse {
        HttpResponse { status, body: body.to_string().into_bytes() }
    }

    fn body(req: &HttpRequest) -> serde_json::Value {
        serde_json::from_slice(req.body.as_ref().unwrap()).unwrap()
    }

    fn with<'a>(wallet: &'a Wallet, money: Money) -> StartInput<'a> {
        StartInput {
            wallet: Some(wallet),
            return_url: "https://edge/v1/return/tap/ps_1",
            webhook_url: "https://edge/v1/webhooks/tap",
            ..StartInput::sample(money, PaymentMethod::Applepay)
        }
    }

    fn token_answer(id: &str) -> HttpResponse {
        answer(
            200,
            serde_json::json!({"id": id, "object": "token", "type": "CARD", "created": 1733836000000u64,
                "live_mode": false, "used": false,
                "card": {"id": "card_1", "object": "card", "brand": "MADA", "first_six": "440647", "last_four": "1010"}}),
        )
    }

    #[test]
    fn apple_pay_is_in_the_page_only_with_the_merchants_own_apple_merchant() {
        assert_eq!(cfg(true).flow(PaymentMethod::Applepay), MethodFlow::Applepay);
        assert_eq!(cfg(false).flow(PaymentMethod::Applepay), MethodFlow::Redirect);
        for other in [PaymentMethod::Mada, PaymentMethod::Visa, PaymentMethod::Stcpay] {
            assert_eq!(cfg(true).flow(other), MethodFlow::Redirect, "{other:?}");
        }
    }

    #[test]
    fn the_token_goes_to_tap_as_apples_payment_data_untouched() {
        let wallet = Wallet::Applepay { token: TOKEN.into() };
        let Start::Prepare(req) = cfg(true).build_start(&with(&wallet, sar(25000))).unwrap() else {
            panic!("the token is exchanged first")
        };
        assert_eq!((req.method, req.url.as_str()), (HttpMethod::Post, "https://api.tap.company/v2/tokens"));
        assert!(req.headers.contains(&("Authorization".into(), "Bearer sk_test_x".into())));
        let sent = body(&req);
        assert_eq!(sent["type"], "applepay");
        assert_eq!(sent["token_data"], ApplepayToken::payment_data_json(TOKEN).unwrap());
        assert_eq!(sent["token_data"]["header"]["transactionId"], "abc123");
        assert!(sent.get("paymentMethod").is_none() && sent["token_data"].get("paymentMethod").is_none());
        // Without a wallet, Apple Pay stays Tap's hosted source.
        let hosted = cfg(true).build_start(&StartInput::sample(sar(25000), PaymentMethod::Applepay)).unwrap();
        let Start::Call(hosted) = hosted else { panic!("a hosted charge") };
        assert_eq!(body(&hosted)["source"]["id"], "src_apple_pay");
    }

    #[test]
    fn tokens_that_cannot_be_charged_ask_tap_nothing() {
        let no_data = TOKEN.replace(r#""data":"ZGF0YQ==","#, "");
        let no_key = TOKEN.replace(r#""ephemeralPublicKey":"a2V5","#, "");
        let huge = format!("{TOKEN:width$}", width = crate::applepay::MAX_TOKEN_BYTES + 1);
        for bad in ["{}", "not json", "[]", no_data.as_str(), no_key.as_str(), huge.as_str()] {
            let wallet = Wallet::Applepay { token: bad.into() };
            let refused = cfg(true).build_start(&with(&wallet, sar(100)));
            assert!(matches!(refused, Err(GatewayError::Rejected { status: 400, .. })), "{bad:.40}: {refused:?}");
        }
        let wallet = Wallet::Applepay { token: TOKEN.into() };
        let unset = cfg(false).build_start(&with(&wallet, sar(100)));
        assert!(matches!(unset, Err(GatewayError::Rejected { status: 400, .. })), "not set up: {unset:?}");
        let usd_ok = cfg(true).build_start(&with(&wallet, Money::new(100, Currency::parse("USD").unwrap())));
        assert!(usd_ok.is_ok());
        let jpy = cfg(true).build_start(&with(&wallet, Money::new(100, Currency::parse("JPY").unwrap())));
        assert!(matches!(jpy, Err(GatewayError::Rejected { status: 400, .. })), "Tap takes no JPY: {jpy:?}");
        let stc = Wallet::Stcpay { mobile: "0551234567".into() };
        let stc_input = StartInput { method: PaymentMethod::Stcpay, ..with(&stc, sar(100)) };
        assert!(matches!(cfg(true).build_start(&stc_input), Err(GatewayError::Rejected { status: 400, .. })));
    }

    #[test]
    fn the_token_answer_becomes_the_charge_of_the_tok() {
        let wallet = Wallet::Applepay { token: TOKEN.into() };
        let input = with(&wallet, Money::new(1500, Currency::parse("KWD").unwrap()));
        let next = cfg(true).continue_start(&input, &token_answer("tok_4WUP3423199C4Vp18rY9y554")).unwrap();
        let Start::Call(charge) = next else { panic!("then the charge") };
        assert_eq!((charge.method, charge.url.as_str()), (HttpMethod::Post, "https://api.tap.company/v2/charges"));
        assert!(charge.headers.contains(&("Authorization".into(), "Bearer sk_test_x".into())));
        let sent = body(&charge);
        assert_eq!(sent["source"], serde_json::json!({"id": "tok_4WUP3423199C4Vp18rY9y554"}));
        assert_eq!(sent["amount"].to_string(), "1.5", "1.500 KWD in major units");
        assert_eq!(sent["currency"], "KWD");
        assert_eq!(sent["reference"]["transaction"], "demo:S1");
        assert_eq!(sent["metadata"]["bawaba_reference"], "demo:S1");
        assert_eq!(sent["redirect"]["url"], "https://edge/v1/return/tap/ps_1");
        assert_eq!(sent["post"]["url"], "https://edge/v1/webhooks/tap");
        assert!(!charge.body.as_ref().unwrap().windows(11).any(|w| w == b"paymentData"), "the token stays out");
    }

    #[test]
    fn a_refused_or_strange_token_answer_charges_nothing() {
        let wallet = Wallet::Applepay { token: TOKEN.into() };
        let input = with(&wallet, sar(25000));
        let go = |resp: HttpResponse| cfg(true).continue_start(&input, &resp);
        let undecryptable =
            answer(400, serde_json::json!({"errors":[{"code":"1126","description":"Invalid Token data"}]}));
        assert_eq!(
            go(undecryptable).unwrap_err(),
            GatewayError::Rejected { status: 400, message: "Invalid Token data".into() }
        );
        assert!(matches!(go(answer(401, serde_json::json!({}))), Err(GatewayError::Rejected { status: 401, .. })));
        assert!(go(answer(503, serde_json::json!({}))).unwrap_err().is_outage());
        assert!(go(HttpResponse { status: 502, body: b"<html>bad gateway</html>".to_vec() }).unwrap_err().is_outage());
        assert!(matches!(go(token_answer("src_all")), Err(GatewayError::InvalidResponse(_))), "not a token");
        assert!(matches!(
            go(answer(200, serde_json::json!({"object":"token"}))),
            Err(GatewayError::InvalidResponse(_))
        ));
        let used = answer(200, serde_json::json!({"id": "tok_1", "used": true}));
        assert!(matches!(go(used), Err(GatewayError::Rejected { .. })));
        let no_wallet = StartInput::sample(sar(25000), PaymentMethod::Applepay);
        assert!(cfg(true).continue_start(&no_wallet, &token_answer("tok_1")).is_err());
    }

    fn charge(status: &str, url: Option<&str>) -> serde_json::Value {
        let mut c = serde_json::json!({"id": "chg_TS01", "object": "charge", "status": status, "amount": 250,
            "currency": "SAR", "reference": {"transaction": "demo:S1"}, "metadata": {"bawaba_reference": "demo:S1"},
            "source": {"id": "tok_1", "object": "token"},
            "card": {"brand": "MADA", "last_four": "1010", "first_six": "440647"},
            "response": {"code": "000", "message": "Captured"}, "transaction": {"created": "1733836000000"}});
        if let Some(u) = url {
            c["transaction"]["url"] = u.into();
        }
        c
    }

    #[test]
    fn a_decided_charge_is_read_back_at_once_and_three_d_secure_goes_to_taps_page() {
        let wallet = Wallet::Applepay { token: TOKEN.into() };
        let input = with(&wallet, sar(25000));
        let start = |c: serde_json::Value| cfg(true).parse_start_for(&input, &answer(200, c)).unwrap();
        for status in ["CAPTURED", "DECLINED", "AUTHORIZED", "SOMETHING_NEW", "INITIATED"] {
            let s = start(charge(status, None));
            assert_eq!((s.id.as_str(), &s.flow), ("chg_TS01", &SessionFlow::Direct), "{status}");
        }
        let s = start(charge("INITIATED", Some("https://acceptance.sandbox.tap.company/gosell/v2/payment/3ds")));
        assert_eq!(s.flow, SessionFlow::Hosted);
        assert_eq!(s.redirect_url, "https://acceptance.sandbox.tap.company/gosell/v2/payment/3ds");
        // A captured charge that still shows its url is decided: not sent to a page.
        assert_eq!(start(charge("CAPTURED", Some("https://tap/x"))).flow, SessionFlow::Direct);
        let refused = answer(402, serde_json::json!({"errors":[{"code":"1150","description":"Token already used"}]}));
        assert!(matches!(cfg(true).parse_start_for(&input, &refused), Err(GatewayError::Rejected { status: 402, .. })));
        assert!(cfg(true).parse_start_for(&input, &answer(500, serde_json::json!({}))).unwrap_err().is_outage());

        // The fetch that follows: mada through Apple Pay keeps the brand Tap reports.
        let p = cfg(true).parse_fetch_direct(&answer(200, charge("CAPTURED", None)), &sar(25000)).unwrap();
        assert_eq!((p.state, p.money, p.reference.as_str()), (PaymentState::Paid, sar(25000), "demo:S1"));
        assert_eq!((p.card_brand.as_deref(), p.card_last4.as_deref()), (Some("mada"), Some("1010")));
        assert_eq!(cfg(true).build_fetch_direct("chg_TS01").url, "https://api.tap.company/v2/charges/chg_TS01");
    }
}
