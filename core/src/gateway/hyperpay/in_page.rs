//! Apple Pay in the page through HyperPay, with the merchant's own Apple merchant: the edge
//! validates the merchant with Apple (its identity certificate, [`crate::applepay`]), the sheet
//! gives a token encrypted for the merchant's payment processing certificate (whose key the
//! merchant gave HyperPay), and the token is charged **server-to-server**:
//! `POST /v1/payments` on the Apple Pay entity (`HYPERPAY_ENTITY_ID_APPLEPAY`), `paymentType=DB`,
//! `applePay.paymentToken`, `applePay.source=web`. The answer is a payment; its status afterwards
//! is `GET /v1/payments/{id}?entityId=…` on the same entity.
//!
//! The edge keeps such a payment as `<kind>-payment:<payment id>` ([`PaymentRef`]), apart from
//! the checkouts (`<kind>:<checkout id>`, [`super::SessionId`]), so that its status is asked as a
//! payment, on its entity, and the edge's widget page is never served for it.
//!
//! Sources and what is unconfirmed ([U]): docs/gateways/hyperpay.md §Apple Pay in the page.

use super::{
    checkout_fields, form_body, headers, not_offered, parse_any_status, result_message, status, wire, Config,
    EntityKind, CAPABILITIES,
};
use crate::applepay::ApplepayToken;
use crate::gateway::{GatewayError, GatewaySession, HttpMethod, HttpRequest, HttpResponse, SessionFlow, StartInput};
use crate::method::PaymentMethod;

/// `applePay.source`: a payment from a web page ([U]; Hyperswitch's ACI connector sends `web`).
pub const SOURCE: &str = "web";

/// `paymentBrand` of an Apple Pay payment ([U] whether required; the answer names it).
pub const BRAND: &str = "APPLEPAY";

/// A payment made server-to-server, as the edge keeps it: `<kind>-payment:<payment id>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRef {
    /// The entity it was made on.
    pub kind: EntityKind,
    /// HyperPay's payment id.
    pub payment_id: String,
}

impl PaymentRef {
    /// Parses `<kind>-payment:<payment id>`.
    pub fn parse(id: &str) -> Option<PaymentRef> {
        let (prefix, payment_id) = id.split_once(':')?;
        let kind = EntityKind::from_code(prefix.strip_suffix("-payment")?)?;
        (!payment_id.is_empty()).then(|| PaymentRef { kind, payment_id: payment_id.to_string() })
    }

    /// As the edge keeps it.
    pub fn to_id(&self) -> String {
        format!("{}-payment:{}", self.kind.code(), self.payment_id)
    }
}

/// `applePay.paymentToken`: the token's `paymentData`, as Apple's JSON object, written as JSON
/// text ([U]: OPPWA's reference says "Encrypted Apple payment token (Apple-defined format)"; the
/// whole `ApplePayPayment.token`, or `paymentData` in base64, are the other readings). The token
/// is checked first: one [`ApplepayToken::parse`] refuses is refused here, before any call.
pub fn payment_token_field(token: &str) -> Result<String, GatewayError> {
    let refuse = |why: String| GatewayError::Rejected { status: 400, message: why };
    ApplepayToken::parse(token).map_err(refuse)?;
    let data = ApplepayToken::payment_data_json(token).map_err(refuse)?;
    serde_json::to_string(&data).map_err(|e| refuse(e.to_string()))
}

/// `POST /v1/payments`: the Apple Pay token charged on the Apple Pay entity.
pub fn build_create_payment(cfg: &Config, input: &StartInput<'_>, token: &str) -> Result<HttpRequest, GatewayError> {
    if input.method != PaymentMethod::Applepay {
        return Err(not_offered(input.method, "an Apple Pay token pays Apple Pay only".into()));
    }
    if !CAPABILITIES.serves(input.method, input.money.currency.code()) {
        return Err(not_offered(input.method, format!("not in {}", input.money.currency)));
    }
    let kind = EntityKind::Applepay;
    let entity = cfg.entity(kind).ok_or_else(|| not_offered(input.method, format!("{} is not set", kind.setting())))?;
    if cfg.applepay_merchant.is_none() {
        return Err(not_offered(input.method, "in the page without APPLE_PAY_MERCHANT_ID".into()));
    }
    let payment_token = payment_token_field(token)?;
    let mut fields = vec![("entityId", entity.to_string())];
    // The checkout's fields (amount in major units, currency, DB, our reference, the customer,
    // test mode), without the card-only test parameter for 3-D Secure 2 enrolment.
    fields.extend(checkout_fields(cfg, input)?.into_iter().filter(|(k, _)| *k != "customParameters[3DS2_enrolled]"));
    fields.push(("paymentBrand", BRAND.to_string()));
    fields.push(("applePay.source", SOURCE.to_string()));
    fields.push(("applePay.paymentToken", payment_token));
    // Where the shopper comes back to if HyperPay asks for 3-D Secure (asynchronous payments
    // need it, OPPWA's parameter reference; Hyperswitch's ACI connector sends it for Apple Pay).
    fields.push(("shopperResultUrl", input.return_url.to_string()));
    Ok(HttpRequest {
        method: HttpMethod::Post,
        url: format!("{}/v1/payments", cfg.api_base),
        headers: headers(cfg, true),
        body: Some(form_body(&fields)),
    })
}

/// Parses the payment's answer.
///
/// - A refused request (format, configuration, reference groups: a wrong entity, a channel not
///   set up for Apple Pay, a malformed token), or no payment id: a refusal, reported as such;
///   nothing was charged.
/// - A payment that waits for 3-D Secure (`redirect`): a hosted-style session to HyperPay's
///   `redirect.url` (posted with its parameters unless the method is `GET`), coming back to
///   the edge's return route.
/// - Any other payment (paid, declined, pending, in review): [`SessionFlow::Direct`]; the edge
///   asks `GET /v1/payments/{id}` at once and decides by that answer alone, which it checks
///   against our amount, currency and reference. A first answer that already disagrees is kept
///   as a session too (so that a charge HyperPay made is never lost); it can never pay, since
///   the status says the same.
pub fn parse_created_payment(resp: &HttpResponse) -> Result<GatewaySession, GatewayError> {
    let payment: wire::Payment = parse_any_status(resp)?;
    let code = payment.result.code.trim();
    let group = status::group(code);
    let refused_request =
        matches!(group, Some(status::Group::Format | status::Group::Configuration | status::Group::Reference));
    let payment_id = payment.id.as_deref().map(str::trim).filter(|id| !id.is_empty());
    let payment_id = match payment_id {
        Some(id) if !refused_request => id.to_string(),
        _ if refused_request || status::to_state(code) == Some(crate::payment::PaymentState::Failed) => {
            return Err(GatewayError::Rejected { status: resp.status, message: result_message(&payment.result) })
        }
        _ => {
            return Err(GatewayError::InvalidResponse(format!(
                "the payment has no id: {}",
                result_message(&payment.result)
            )))
        }
    };
    let id = PaymentRef { kind: EntityKind::Applepay, payment_id }.to_id();
    match payment.redirect.filter(|r| !r.url.trim().is_empty()) {
        Some(redirect) if group == Some(status::Group::Pending) => {
            let (redirect_url, form) = redirect_target(&redirect)?;
            Ok(GatewaySession { id, redirect_url, form, flow: SessionFlow::Hosted })
        }
        _ => Ok(GatewaySession { id, redirect_url: String::new(), form: None, flow: SessionFlow::Direct }),
    }
}

/// Where a 3-D Secure `redirect` sends the shopper: a form to post, or (`GET`) a URL with the
/// parameters appended. Only `https` URLs (and `http` on a loopback host, for the tests' fake).
fn redirect_target(
    redirect: &wire::Redirect,
) -> Result<(String, Option<std::collections::BTreeMap<String, String>>), GatewayError> {
    let url = redirect.url.trim();
    let loopback = url.starts_with("http://127.0.0.1:") || url.starts_with("http://localhost:");
    if !url.starts_with("https://") && !loopback {
        return Err(GatewayError::InvalidResponse(format!("the 3-D Secure redirect is not an https URL: {url:?}")));
    }
    let get = redirect.method.as_deref().is_some_and(|m| m.trim().eq_ignore_ascii_case("GET"));
    if get {
        let mut url = url.to_string();
        for (i, p) in redirect.parameters.iter().enumerate() {
            let sep = if i == 0 && !url.contains('?') { '?' } else { '&' };
            url.push_str(&format!("{sep}{}={}", super::form_escape(&p.name), super::form_escape(&p.value)));
        }
        return Ok((url, None));
    }
    let fields = redirect.parameters.iter().map(|p| (p.name.clone(), p.value.clone())).collect();
    Ok((url.to_string(), Some(fields)))
}

/// `GET /v1/payments/{id}?entityId=…` on the payment's entity (an entity no longer set asks with
/// an empty one, which HyperPay refuses).
pub fn build_fetch(cfg: &Config, payment: &PaymentRef) -> HttpRequest {
    HttpRequest {
        method: HttpMethod::Get,
        url: format!(
            "{}/v1/payments/{}?entityId={}",
            cfg.api_base,
            crate::gateway::shared::urlencode_path(&payment.payment_id),
            super::form_escape(cfg.entity(payment.kind).unwrap_or_default())
        ),
        headers: headers(cfg, false),
        body: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::connector::configure;
    use crate::gateway::connector::{Gateway, Start};
    use crate::gateway::hyperpay::tests::form;
    use crate::gateway::{MethodFlow, Wallet};
    use crate::money::{Currency, Money};
    use crate::payment::PaymentState;

    const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    const TOKEN: &str = r#"{"paymentData":{"version":"EC_v1","data":"YXBwcm92ZQ==","signature":"c2ln",
        "header":{"ephemeralPublicKey":"a2V5","publicKeyHash":"aGFzaA==","transactionId":"abc123"}},
        "paymentMethod":{"displayName":"mada 1010","network":"mada","type":"debit"},"transactionIdentifier":"ABC123"}"#;

    fn settings(pairs: &[(&str, &str)]) -> Config {
        let mut all = vec![
            ("HYPERPAY_ACCESS_TOKEN", "tok_secret"),
            ("HYPERPAY_MODE", "test"),
            ("HYPERPAY_API_BASE", "http://h"),
            ("HYPERPAY_WEBHOOK_KEY", KEY),
            ("HYPERPAY_ENTITY_ID_CARD", "ent_card"),
        ];
        all.extend_from_slice(pairs);
        let lookup = |name: &str| all.iter().rev().find(|(k, _)| *k == name).map(|(_, v)| v.to_string());
        super::super::connector::config_from(&lookup, "https://edge.example").unwrap()
    }

    fn in_page() -> Config {
        settings(&[("HYPERPAY_ENTITY_ID_APPLEPAY", "ent_apple"), ("APPLE_PAY_MERCHANT_ID", "merchant.sa.shop")])
    }

    fn sar(minor: i64) -> Money {
        Money::new(minor, Currency::parse("SAR").unwrap())
    }

    fn answer(status: u16, body: &str) -> HttpResponse {
        HttpResponse { status, body: body.as_bytes().to_vec() }
    }

    fn field<'a>(f: &'a [(String, String)], name: &str) -> Option<&'a str> {
        f.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    fn payment(code: &str, extra: &str) -> String {
        format!(
            r#"{{"id":"8ac7apple1","paymentType":"DB","paymentBrand":"APPLEPAY","amount":"250.00","currency":"SAR",
            "merchantTransactionId":"demo:S1","result":{{"code":"{code}","description":"d"}},
            "card":{{"bin":"440647","last4Digits":"1010"}}{extra}}}"#
        )
    }

    #[test]
    fn apple_pay_is_in_the_page_only_with_the_entity_and_the_merchant() {
        assert_eq!(in_page().flow(PaymentMethod::Applepay), MethodFlow::Applepay);
        assert_eq!(in_page().flow(PaymentMethod::Mada), MethodFlow::Redirect);
        assert_eq!(in_page().flow(PaymentMethod::Visa), MethodFlow::Redirect);
        let no_merchant = settings(&[("HYPERPAY_ENTITY_ID_APPLEPAY", "ent_apple")]);
        assert_eq!(no_merchant.flow(PaymentMethod::Applepay), MethodFlow::Redirect, "the widget page, as before");
        let no_entity = settings(&[("APPLE_PAY_MERCHANT_ID", "merchant.sa.shop")]);
        assert_eq!(no_entity.flow(PaymentMethod::Applepay), MethodFlow::Redirect);
        let blank = settings(&[("HYPERPAY_ENTITY_ID_APPLEPAY", "ent_apple"), ("APPLE_PAY_MERCHANT_ID", "  ")]);
        assert_eq!(blank.flow(PaymentMethod::Applepay), MethodFlow::Redirect);
        // Through the registry, as the edge configures it.
        let lookup = |name: &str| {
            Some(
                match name {
                    "HYPERPAY_ACCESS_TOKEN" => "t",
                    "HYPERPAY_MODE" => "test",
                    "HYPERPAY_WEBHOOK_KEY" => KEY,
                    "HYPERPAY_ENTITY_ID_APPLEPAY" => "ent_apple",
                    "APPLE_PAY_MERCHANT_ID" => "merchant.sa.shop",
                    _ => return None,
                }
                .to_string(),
            )
        };
        let c = configure("hyperpay", &lookup, "http://edge").unwrap();
        assert_eq!(c.flow(PaymentMethod::Applepay), MethodFlow::Applepay);
    }

    #[test]
    fn the_token_is_charged_server_to_server_on_the_apple_pay_entity() {
        let wallet = Wallet::Applepay { token: TOKEN.into() };
        let input = StartInput {
            wallet: Some(&wallet),
            customer_email: Some("a@b.sa"),
            ..StartInput::sample(sar(25000), PaymentMethod::Applepay)
        };
        let Start::Call(req) = in_page().build_start(&input).unwrap() else { panic!("a call") };
        assert_eq!((req.method, req.url.as_str()), (HttpMethod::Post, "http://h/v1/payments"));
        assert!(req.headers.contains(&("Authorization".into(), "Bearer tok_secret".into())));
        assert!(req.headers.contains(&("Content-Type".into(), "application/x-www-form-urlencoded".into())));
        let f = form(&req);
        assert_eq!(field(&f, "entityId"), Some("ent_apple"), "the Apple Pay entity only");
        assert_eq!(field(&f, "amount"), Some("250.00"));
        assert_eq!(field(&f, "currency"), Some("SAR"));
        assert_eq!(field(&f, "paymentType"), Some("DB"));
        assert_eq!(field(&f, "merchantTransactionId"), Some("demo:S1"));
        assert_eq!(field(&f, "paymentBrand"), Some("APPLEPAY"));
        assert_eq!(field(&f, "applePay.source"), Some("web"));
        assert_eq!(field(&f, "shopperResultUrl"), Some("http://edge/r"));
        assert_eq!(field(&f, "customer.email"), Some("a@b.sa"));
        assert_eq!(field(&f, "testMode"), Some("EXTERNAL"));
        assert!(field(&f, "customParameters[3DS2_enrolled]").is_none(), "a card-only test parameter");
        let sent: serde_json::Value = serde_json::from_str(field(&f, "applePay.paymentToken").unwrap()).unwrap();
        assert_eq!(sent, ApplepayToken::payment_data_json(TOKEN).unwrap(), "Apple's paymentData, as JSON");
        let live = Config { mode: crate::gateway::Mode::Live, ..in_page() };
        let Start::Call(req) = live.build_start(&input).unwrap() else { panic!("a call") };
        assert!(field(&form(&req), "testMode").is_none());
    }

    #[test]
    fn a_token_that_is_not_apples_is_refused_before_any_call() {
        let input = StartInput::sample(sar(25000), PaymentMethod::Applepay);
        let no_key = TOKEN.replace(r#""ephemeralPublicKey":"a2V5","#, "");
        for bad in ["", "{}", "[]", "not json", r#"{"paymentData":{"data":"x"}}"#, no_key.as_str()] {
            let wallet = Wallet::Applepay { token: bad.into() };
            let input = StartInput { wallet: Some(&wallet), ..input.clone() };
            assert!(
                matches!(in_page().build_start(&input), Err(GatewayError::Rejected { status: 400, .. })),
                "{bad:?}"
            );
        }
        let wallet = Wallet::Applepay { token: TOKEN.into() };
        let with = |cfg: Config, method, money| {
            let input = StartInput { wallet: Some(&wallet), ..StartInput::sample(money, method) };
            matches!(cfg.build_start(&input), Err(GatewayError::Rejected { status: 400, .. }))
        };
        assert!(with(in_page(), PaymentMethod::Mada, sar(100)), "a token pays Apple Pay only");
        assert!(with(in_page(), PaymentMethod::Applepay, Money::new(100, Currency::parse("USD").unwrap())));
        assert!(with(settings(&[("HYPERPAY_ENTITY_ID_APPLEPAY", "ent_apple")]), PaymentMethod::Applepay, sar(100)));
        let stc = Wallet::Stcpay { mobile: "0551234567".into() };
        let input = StartInput { wallet: Some(&stc), ..StartInput::sample(sar(100), PaymentMethod::Stcpay) };
        assert!(in_page().build_start(&input).is_err());
    }

    #[test]
    fn the_answer_is_a_payment_read_back_at_once_on_its_entity() {
        let wallet = Wallet::Applepay { token: TOKEN.into() };
        let input = StartInput { wallet: Some(&wallet), ..StartInput::sample(sar(25000), PaymentMethod::Applepay) };
        let cfg = in_page();
        for (status, code) in [(200, "000.100.110"), (400, "800.100.155"), (200, "000.400.000"), (200, "000.200.000")] {
            let s = cfg.parse_start_for(&input, &answer(status, &payment(code, ""))).unwrap();
            assert_eq!((s.id.as_str(), &s.flow), ("applepay-payment:8ac7apple1", &SessionFlow::Direct), "{code}");
            assert!(s.redirect_url.is_empty() && s.form.is_none());
        }
        // Never the widget page's id: the edge serves no page for a payment.
        assert!(super::super::SessionId::parse("applepay-payment:8ac7apple1").is_none());
        assert_eq!(
            PaymentRef::parse("applepay-payment:8ac7apple1"),
            Some(PaymentRef { kind: EntityKind::Applepay, payment_id: "8ac7apple1".into() })
        );
        for bad in ["applepay:1", "applepay-payment:", "other-payment:1", "-payment:1", "x"] {
            assert!(PaymentRef::parse(bad).is_none(), "{bad}");
        }
        let req = cfg.build_fetch_direct("applepay-payment:8ac7apple1");
        assert_eq!(
            (req.method, req.url.as_str()),
            (HttpMethod::Get, "http://h/v1/payments/8ac7apple1?entityId=ent_apple")
        );
        assert_eq!(cfg.build_fetch("applepay-payment:8ac7apple1").url, req.url, "after 3-D Secure, the same");
        assert_eq!(cfg.build_fetch("applepay-payment:a/b").url, "http://h/v1/payments/a%2Fb?entityId=ent_apple");
        assert_eq!(cfg.build_fetch("card:chk1").url, "http://h/v1/checkouts/chk1/payment?entityId=ent_card");

        let read =
            |status, code: &str| cfg.parse_fetch_direct(&answer(status, &payment(code, "")), &sar(25000)).unwrap();
        let paid = read(200, "000.100.110");
        assert_eq!((paid.state, paid.money, paid.reference.as_str()), (PaymentState::Paid, sar(25000), "demo:S1"));
        assert_eq!(paid.transaction_id.as_deref(), Some("8ac7apple1"));
        assert_eq!((paid.card_brand.as_deref(), paid.card_last4.as_deref()), (Some("applepay"), Some("1010")));
        assert_eq!(read(400, "800.100.155").state, PaymentState::Failed);
        assert_eq!(read(400, "800.100.155").error.unwrap().code, "insufficient_funds");
        assert_eq!(read(200, "000.400.000").state, PaymentState::Pending, "review is never paid");
        assert_eq!(read(200, "000.200.000").state, PaymentState::Pending);
        // Another amount is HyperPay's word; the edge's check refuses to pay it.
        let other =
            cfg.parse_fetch_direct(&answer(200, &payment("000.100.110", "").replace("250.00", "2.50")), &sar(25000));
        let other = other.unwrap();
        assert!(crate::gateway::check_matches(&other, &sar(25000), "demo:S1").is_err());
        // Refunds act on the payment, on its entity.
        let refund = cfg.build_refund("applepay-payment:8ac7apple1", "8ac7apple1", &sar(100), "r");
        assert_eq!(refund.url, "http://h/v1/payments/8ac7apple1");
        assert_eq!(field(&form(&refund), "entityId"), Some("ent_apple"));
    }

    #[test]
    fn refusals_are_reported_and_outages_are_outages() {
        let wallet = Wallet::Applepay { token: TOKEN.into() };
        let input = StartInput { wallet: Some(&wallet), ..StartInput::sample(sar(25000), PaymentMethod::Applepay) };
        let cfg = in_page();
        let wrong_entity =
            answer(400, r#"{"result":{"code":"800.900.100","description":"sender authorization failed"}}"#);
        assert!(matches!(
            cfg.parse_start_for(&input, &wrong_entity),
            Err(GatewayError::Rejected { status: 400, message }) if message.contains("800.900.100")
        ));
        // A refused request is refused even if it carries an id: nothing was charged.
        let not_set_up = answer(400, &payment("600.200.100", ""));
        assert!(matches!(cfg.parse_start_for(&input, &not_set_up), Err(GatewayError::Rejected { .. })));
        let declined_no_id = answer(400, r#"{"result":{"code":"800.100.151","description":"invalid card"}}"#);
        assert!(matches!(cfg.parse_start_for(&input, &declined_no_id), Err(GatewayError::Rejected { .. })));
        let paid_no_id = answer(200, r#"{"result":{"code":"000.100.110","description":"ok"}}"#);
        assert!(matches!(cfg.parse_start_for(&input, &paid_no_id), Err(GatewayError::InvalidResponse(_))));
        let token =
            answer(401, r#"{"result":{"code":"800.900.300","description":"invalid authentication information"}}"#);
        assert!(matches!(cfg.parse_start_for(&input, &token), Err(GatewayError::Rejected { status: 401, .. })));
        for down in [500, 502, 503] {
            assert!(cfg.parse_start_for(&input, &answer(down, "")).unwrap_err().is_outage(), "{down}");
        }
        assert!(matches!(cfg.parse_start_for(&input, &answer(200, "<html>")), Err(GatewayError::InvalidResponse(_))));
    }

    #[test]
    fn three_d_secure_goes_on_at_hyperpays_page_and_back_to_the_edge() {
        let wallet = Wallet::Applepay { token: TOKEN.into() };
        let input = StartInput { wallet: Some(&wallet), ..StartInput::sample(sar(25000), PaymentMethod::Applepay) };
        let cfg = in_page();
        let post = r#","redirect":{"url":"https://test.oppwa.com/connectors/demo/simulator.link","method":"POST",
            "parameters":[{"name":"TermUrl","value":"https://x/y"},{"name":"PaReq","value":"abc"}]}"#;
        let s = cfg.parse_start_for(&input, &answer(200, &payment("000.200.000", post))).unwrap();
        assert_eq!((s.id.as_str(), &s.flow), ("applepay-payment:8ac7apple1", &SessionFlow::Hosted));
        assert_eq!(s.redirect_url, "https://test.oppwa.com/connectors/demo/simulator.link");
        let form = s.form.unwrap();
        assert_eq!((form["TermUrl"].as_str(), form["PaReq"].as_str()), ("https://x/y", "abc"));
        let get = r#","redirect":{"url":"https://acs.example/a?x=1","method":"GET","parameters":[{"name":"t","value":"a b"}]}"#;
        let s = cfg.parse_start_for(&input, &answer(200, &payment("000.200.000", get))).unwrap();
        assert_eq!((s.redirect_url.as_str(), s.form), ("https://acs.example/a?x=1&t=a+b", None));
        let plain = r#","redirect":{"url":"http://acs.example/a","parameters":[]}"#;
        assert!(cfg.parse_start_for(&input, &answer(200, &payment("000.200.000", plain))).is_err());
        // A redirect on a decided payment is not followed: its result is read.
        let s = cfg.parse_start_for(&input, &answer(200, &payment("000.100.110", post))).unwrap();
        assert_eq!(s.flow, SessionFlow::Direct);
    }
}
