//! Request building and answer parsing, without I/O.

use super::*;
use crate::gateway::connector::configure;
use crate::gateway::CheckVerdict;

const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

fn cur(c: &str) -> Currency {
    Currency::parse(c).unwrap()
}

fn sar(minor: i64) -> Money {
    Money::new(minor, cur("SAR"))
}

fn cfg() -> Config {
    Config {
        api_base: "http://h".into(),
        mode: Mode::Test,
        access_token: Secret::new("tok_secret"),
        entity_mada: Some("ent_mada".into()),
        entity_card: Some("ent_card".into()),
        entity_applepay: None,
        webhook_key: WebhookKey(webhook::parse_key(KEY).unwrap()),
        applepay_merchant: None,
        edge_origin: "https://edge.example".into(),
    }
}

/// A form-encoded request body's pairs, decoded (also for `in_page`'s tests).
pub(super) fn form(req: &HttpRequest) -> Vec<(String, String)> {
    let body = String::from_utf8(req.body.clone().unwrap()).unwrap();
    body.split('&')
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap();
            (unescape(k), unescape(v))
        })
        .collect()
}

fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

fn field<'a>(f: &'a [(String, String)], name: &str) -> Option<&'a str> {
    f.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn answer(status: u16, body: &str) -> HttpResponse {
    HttpResponse { status, body: body.as_bytes().to_vec() }
}

#[test]
fn amounts_have_exactly_two_decimals_and_are_never_rounded() {
    assert_eq!(to_amount(&sar(9200)).unwrap(), "92.00");
    assert_eq!(to_amount(&sar(4550)).unwrap(), "45.50");
    assert_eq!(to_amount(&sar(1)).unwrap(), "0.01");
    assert_eq!(to_amount(&Money::new(1500, cur("KWD"))).unwrap(), "1.50", "three decimals, the third zero");
    assert!(to_amount(&Money::new(1505, cur("KWD"))).is_err(), "1.505 KWD would need rounding");
    assert!(to_amount(&sar(0)).is_err());
    assert!(to_amount(&sar(-100)).is_err());
    assert_eq!(from_amount("92.00", cur("SAR")).unwrap(), sar(9200));
    assert_eq!(from_amount("92.5", cur("SAR")).unwrap(), sar(9250));
    assert!(from_amount("92.005", cur("SAR")).is_err(), "never rounded");
    assert!(from_amount("9x", cur("SAR")).is_err());
    for minor in [1, 99, 100, 4550, 123456, 999_999_999] {
        assert_eq!(from_amount(&to_amount(&sar(minor)).unwrap(), cur("SAR")).unwrap(), sar(minor), "{minor}");
    }
}

#[test]
fn checkouts_go_to_the_methods_own_entity() {
    let input = |method| StartInput {
        customer_email: Some("a@b.sa"),
        customer_name: Some("Noura Al Saud"),
        ..StartInput::sample(sar(4550), method)
    };
    let req = build_create_session(&cfg(), &input(PaymentMethod::Mada)).unwrap();
    assert_eq!((req.method, req.url.as_str()), (HttpMethod::Post, "http://h/v1/checkouts"));
    assert!(req.headers.contains(&("Authorization".into(), "Bearer tok_secret".into())));
    assert!(req.headers.contains(&("Content-Type".into(), "application/x-www-form-urlencoded".into())));
    let f = form(&req);
    assert_eq!(field(&f, "entityId"), Some("ent_mada"), "mada never on the card entity");
    assert_eq!(field(&f, "amount"), Some("45.50"));
    assert_eq!(field(&f, "currency"), Some("SAR"));
    assert_eq!(field(&f, "paymentType"), Some("DB"));
    assert_eq!(field(&f, "merchantTransactionId"), Some("demo:S1"));
    assert_eq!(field(&f, "customer.email"), Some("a@b.sa"));
    assert_eq!(field(&f, "customer.givenName"), Some("Noura Al"));
    assert_eq!(field(&f, "customer.surname"), Some("Saud"));
    assert_eq!(field(&f, "testMode"), Some("EXTERNAL"), "test mode only");
    for m in [PaymentMethod::Visa, PaymentMethod::Mastercard, PaymentMethod::Amex] {
        assert_eq!(field(&form(&build_create_session(&cfg(), &input(m)).unwrap()), "entityId"), Some("ent_card"));
    }
    // A method whose entity is not set is not taken.
    let no_apple = build_create_session(&cfg(), &input(PaymentMethod::Applepay)).unwrap_err();
    assert!(
        matches!(&no_apple, GatewayError::Rejected { message, .. } if message.contains("HYPERPAY_ENTITY_ID_APPLEPAY"))
    );
    let only_card = Config { entity_mada: None, ..cfg() };
    assert!(build_create_session(&only_card, &input(PaymentMethod::Mada)).is_err(), "no mada without its entity");
    assert!(!only_card.offers(PaymentMethod::Mada) && only_card.offers(PaymentMethod::Visa));
    assert!(build_create_session(&cfg(), &input(PaymentMethod::Stcpay)).is_err());
    let kwd = StartInput { ..StartInput::sample(Money::new(1500, cur("KWD")), PaymentMethod::Visa) };
    assert!(build_create_session(&cfg(), &kwd).is_err(), "SAR only");
    let live = Config { mode: Mode::Live, ..cfg() };
    let f = form(&build_create_session(&live, &input(PaymentMethod::Visa)).unwrap());
    assert!(field(&f, "testMode").is_none() && field(&f, "customParameters[3DS2_enrolled]").is_none());
}

#[test]
fn a_created_checkout_becomes_a_session_on_the_edges_page() {
    let input = StartInput::sample(sar(100), PaymentMethod::Mada);
    let created = answer(
        200,
        r#"{"result":{"code":"000.200.100","description":"successfully created checkout"},
        "buildNumber":"b","timestamp":"t","ndc":"n","id":"8AC7A4C9.uat01-vm-tx04"}"#,
    );
    let s = parse_create_session(&cfg(), &input, &created).unwrap();
    assert_eq!(s.id, "mada:8AC7A4C9.uat01-vm-tx04");
    assert_eq!(s.redirect_url, "https://edge.example/v1/pay/hyperpay/mada%3A8AC7A4C9%2Euat01-vm-tx04?lang=en");
    assert_eq!(
        SessionId::parse(&s.id),
        Some(SessionId { kind: EntityKind::Mada, checkout_id: "8AC7A4C9.uat01-vm-tx04".into() })
    );
    assert!(
        SessionId::parse("other:1").is_none() && SessionId::parse("mada:").is_none() && SessionId::parse("x").is_none()
    );
    let refused = answer(
        400,
        r#"{"result":{"code":"200.300.404","description":"invalid or missing parameter",
        "parameterErrors":[{"name":"amount","value":"1.005","message":"must match ^[0-9]{1,12}(\\.[0-9]{2})?$"}]}}"#,
    );
    let e = parse_create_session(&cfg(), &input, &refused).unwrap_err();
    assert!(
        matches!(&e, GatewayError::Rejected { status: 400, message } if message.contains("amount") && message.contains("200.300.404")),
        "{e:?}"
    );
    assert!(matches!(parse_create_session(&cfg(), &input, &answer(503, "")), Err(GatewayError::Unreachable(_))));
    let odd = answer(200, r#"{"result":{"code":"000.000.000","description":"?"},"id":"x"}"#);
    assert!(parse_create_session(&cfg(), &input, &odd).is_err(), "a checkout is created pending");
}

#[test]
fn the_status_is_asked_on_the_sessions_entity() {
    let req = build_fetch_payment(&cfg(), "mada:abc.1");
    assert_eq!(
        (req.method, req.url.as_str()),
        (HttpMethod::Get, "http://h/v1/checkouts/abc%2E1/payment?entityId=ent_mada")
    );
    assert!(req.body.is_none());
    assert_eq!(
        build_fetch_payment(&cfg(), "card:x/../y").url,
        "http://h/v1/checkouts/x%2F%2E%2E%2Fy/payment?entityId=ent_card"
    );
    assert!(build_fetch_payment(&cfg(), "applepay:z").url.ends_with("entityId="), "no entity set: HyperPay refuses");
}

fn payment_body(code: &str, amount: &str, reference: &str) -> String {
    format!(
        r#"{{"id":"8ac7pay1","paymentType":"DB","paymentBrand":"MADA","amount":"{amount}","currency":"SAR",
        "descriptor":"d","merchantTransactionId":"{reference}","result":{{"code":"{code}","description":"desc"}},
        "card":{{"bin":"440647","last4Digits":"0004","holder":"N","expiryMonth":"05","expiryYear":"2030"}},
        "buildNumber":"b","timestamp":"t","ndc":"n"}}"#
    )
}

#[test]
fn payments_are_read_by_their_result_code() {
    let paid = parse_fetch_payment(&answer(200, &payment_body("000.100.110", "45.50", "demo:S1")), &sar(4550)).unwrap();
    assert_eq!(paid.state, PaymentState::Paid);
    assert_eq!((paid.money, paid.reference.as_str()), (sar(4550), "demo:S1"));
    assert_eq!(paid.transaction_id.as_deref(), Some("8ac7pay1"), "refunds act on the payment");
    assert_eq!((paid.card_brand.as_deref(), paid.card_last4.as_deref()), (Some("mada"), Some("0004")));
    assert!(paid.error.is_none() && paid.three_ds.is_none());
    let review =
        parse_fetch_payment(&answer(200, &payment_body("000.400.000", "45.50", "demo:S1")), &sar(4550)).unwrap();
    assert_eq!(review.state, PaymentState::Pending, "review is never paid");
    let declined =
        parse_fetch_payment(&answer(400, &payment_body("800.100.155", "45.50", "demo:S1")), &sar(4550)).unwrap();
    assert_eq!(declined.state, PaymentState::Failed, "a 4xx carrying the payment is its result");
    assert_eq!(declined.error.unwrap().code, "insufficient_funds");
    let three_ds =
        parse_fetch_payment(&answer(200, &payment_body("100.380.401", "45.50", "demo:S1")), &sar(4550)).unwrap();
    assert_eq!((three_ds.state, three_ds.three_ds), (PaymentState::Failed, Some(false)));
    assert_eq!(three_ds.error.unwrap().code, "authentication_failed");
    // The amount is HyperPay's: a tampered amount reaches check_matches as it is.
    let tampered =
        parse_fetch_payment(&answer(200, &payment_body("000.000.000", "1.00", "demo:S1")), &sar(4550)).unwrap();
    assert_eq!(tampered.money, sar(100));
    assert!(crate::gateway::check_matches(&tampered, &sar(4550), "demo:S1").is_err());
    let unknown = parse_fetch_payment(&answer(200, &payment_body("123.456.789", "45.50", "demo:S1")), &sar(4550));
    assert!(matches!(unknown, Err(GatewayError::InvalidResponse(m)) if m.contains("unknown result code")));
    let too_precise = parse_fetch_payment(&answer(200, &payment_body("000.000.000", "45.505", "demo:S1")), &sar(4550));
    assert!(too_precise.is_err());
    // A checkout not paid yet names no payment: nothing to decide.
    let open = answer(200, r#"{"result":{"code":"000.200.000","description":"transaction pending"},"ndc":"n"}"#);
    assert!(matches!(parse_fetch_payment(&open, &sar(4550)), Err(GatewayError::InvalidResponse(_))));
    // A query refused (no entity) is not the payment's failure.
    let refused = answer(
        400,
        r#"{"result":{"code":"200.300.404","description":"invalid or missing parameter","parameterErrors":[{"name":"entityId","value":"","message":"required"}]}}"#,
    );
    assert!(matches!(parse_fetch_payment(&refused, &sar(4550)), Err(GatewayError::InvalidResponse(_))));
    assert!(matches!(
        parse_fetch_payment(&answer(401, "{}"), &sar(1)),
        Err(GatewayError::Rejected { status: 401, .. })
    ));
    assert!(matches!(parse_fetch_payment(&answer(502, ""), &sar(1)), Err(GatewayError::Unreachable(_))));
    let paid_without_amount = answer(
        200,
        r#"{"id":"p","merchantTransactionId":"demo:S1","result":{"code":"000.000.000","description":"ok"}}"#,
    );
    assert!(parse_fetch_payment(&paid_without_amount, &sar(4550)).is_err(), "a success must say what it took");
}

#[test]
fn refunds_use_the_payments_entity_and_read_the_result_code() {
    let req = build_refund(&cfg(), "mada:chk1", "8ac7pay1", &sar(1000)).unwrap();
    assert_eq!((req.method, req.url.as_str()), (HttpMethod::Post, "http://h/v1/payments/8ac7pay1"));
    let f = form(&req);
    assert_eq!(field(&f, "entityId"), Some("ent_mada"));
    assert_eq!(field(&f, "paymentType"), Some("RF"));
    assert_eq!((field(&f, "amount"), field(&f, "currency")), (Some("10.00"), Some("SAR")));
    assert_eq!(field(&form(&build_refund(&cfg(), "card:chk1", "p", &sar(1)).unwrap()), "entityId"), Some("ent_card"));
    assert!(build_refund(&cfg(), "chk1", "p", &sar(1)).is_err());
    assert!(build_refund(&cfg(), "applepay:chk1", "p", &sar(1)).is_err(), "its entity is not set");
    for (t, kind) in [("CP", EntityKind::Card), ("RV", EntityKind::Mada)] {
        let f = form(&build_operation(&cfg(), kind, "p", t, None).unwrap());
        assert_eq!(field(&f, "paymentType"), Some(t));
        assert!(field(&f, "amount").is_none());
    }
    let ok = answer(
        200,
        r#"{"id":"8ac7rf1","referencedId":"8ac7pay1","paymentType":"RF","amount":"10.00","currency":"SAR","result":{"code":"000.000.000","description":"Transaction succeeded"}}"#,
    );
    assert_eq!(
        parse_operation(&ok, sar(1000), "refund_declined").unwrap(),
        OperationResult { id: "8ac7rf1".into(), status: OperationStatus::Succeeded, money: sar(1000) }
    );
    assert!(matches!(parse_operation(&ok, sar(999), "refund_declined"), Err(GatewayError::Mismatch(_))));
    let over = answer(
        400,
        r#"{"id":"8ac7rf2","paymentType":"RF","result":{"code":"700.400.200","description":"cannot refund (refund volume exceeded or tx reversed or invalid workflow)"}}"#,
    );
    let r = parse_operation(&over, sar(99999), "refund_declined").unwrap();
    assert!(
        matches!(r.status, OperationStatus::Failed(ref e) if e.code == "refund_declined" && e.message.contains("700.400.200"))
    );
    let pending =
        answer(200, r#"{"id":"8ac7rf3","result":{"code":"000.200.000","description":"transaction pending"}}"#);
    assert_eq!(parse_operation(&pending, sar(1), "refund_declined").unwrap().status, OperationStatus::Pending);
    assert!(matches!(parse_operation(&answer(500, ""), sar(1), "refund_declined"), Err(GatewayError::Unreachable(_))));
    assert!(matches!(
        parse_operation(&answer(200, r#"{"id":"x","result":{"code":"999.1"}}"#), sar(1), "refund_declined"),
        Err(GatewayError::InvalidResponse(_))
    ));
}

#[test]
fn checks_tell_the_token_from_the_entity() {
    let req = build_check(&cfg());
    assert_eq!(req.url, "http://h/v1/checkouts");
    assert_eq!(field(&form(&req), "entityId"), Some("ent_mada"));
    let ok =
        answer(200, r#"{"id":"c1","result":{"code":"000.200.100","description":"successfully created checkout"}}"#);
    assert_eq!(parse_check(&cfg(), &ok, None).0, CheckVerdict::Ok);
    assert_eq!(parse_check(&cfg(), &ok, Some("SAR")).0, CheckVerdict::Ok);
    assert_eq!(parse_check(&cfg(), &ok, Some("KWD")).0, CheckVerdict::CurrencyUnsupported);
    let token = answer(401, r#"{"result":{"code":"800.900.300","description":"invalid authentication information"}}"#);
    let (v, m) = parse_check(&cfg(), &token, None);
    assert_eq!(v, CheckVerdict::InvalidCredentials);
    assert!(m.contains("access token"), "{m}");
    assert_eq!(parse_check(&cfg(), &answer(401, "Unauthorized"), None).0, CheckVerdict::InvalidCredentials);
    let entity = answer(400, r#"{"result":{"code":"800.900.100","description":"sender authorization failed"}}"#);
    let (v, m) = parse_check(&cfg(), &entity, None);
    assert_eq!(v, CheckVerdict::InvalidCredentials);
    assert!(m.contains("HYPERPAY_ENTITY_ID_MADA"), "{m}");
    let disabled = answer(400, r#"{"result":{"code":"500.100.201","description":"Channel/Merchant is disabled"}}"#);
    assert_eq!(parse_check(&cfg(), &disabled, None).0, CheckVerdict::NotPermitted);
    assert_eq!(parse_check(&cfg(), &answer(503, ""), None).0, CheckVerdict::Unreachable);
}

fn settings(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
    move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
}

#[test]
fn the_mode_decides_the_host_and_live_never_reaches_the_test_host() {
    let base: &[(&str, &str)] =
        &[("HYPERPAY_ACCESS_TOKEN", "tok"), ("HYPERPAY_ENTITY_ID_CARD", "ec"), ("HYPERPAY_WEBHOOK_KEY", KEY)];
    let with = |extra: &'static [(&'static str, &'static str)]| {
        let all: Vec<(&'static str, &'static str)> = extra.iter().chain(base.iter()).copied().collect();
        let all: &'static [(&'static str, &'static str)] = Box::leak(all.into_boxed_slice());
        configure("hyperpay", &settings(all), "https://edge")
    };
    let test = with(&[("HYPERPAY_MODE", "test")]).unwrap();
    assert_eq!(test.mode(), Some(Mode::Test));
    assert!(test.build_check().url.starts_with("https://eu-test.oppwa.com/v1/"));
    let live = with(&[("HYPERPAY_MODE", "live")]).unwrap();
    assert_eq!(live.mode(), Some(Mode::Live));
    assert!(live.build_check().url.starts_with("https://eu-prod.oppwa.com/v1/"));
    assert!(with(&[]).unwrap_err().contains("HYPERPAY_MODE"), "no silent default");
    assert!(with(&[("HYPERPAY_MODE", "prod")]).is_err());
    assert!(with(&[("HYPERPAY_MODE", "live"), ("HYPERPAY_API_BASE", "https://eu-test.oppwa.com/")])
        .unwrap_err()
        .contains("test host"));
    assert!(with(&[("HYPERPAY_MODE", "test"), ("HYPERPAY_API_BASE", "https://eu-prod.oppwa.com")]).is_err());
    assert!(with(&[("HYPERPAY_MODE", "test"), ("HYPERPAY_WEBHOOK_KEY", "abcd")]).unwrap_err().contains("32"));
    assert!(with(&[("HYPERPAY_MODE", "test"), ("HYPERPAY_ENTITY_ID_MADA", "ec")]).unwrap_err().contains("own entity"));
    let none: &[(&str, &str)] =
        &[("HYPERPAY_ACCESS_TOKEN", "tok"), ("HYPERPAY_MODE", "test"), ("HYPERPAY_WEBHOOK_KEY", KEY)];
    assert!(configure("hyperpay", &settings(none), "e").unwrap_err().contains("no HyperPay entity"));
    // Neither the token nor the key is printed.
    let shown = format!("{test:?}");
    assert!(!shown.contains("tok\"") && !shown.contains("Secret(\"") && shown.contains("redacted"), "{shown}");
    assert!(!shown.contains("0, 1, 2, 3") && !shown.contains(KEY), "{shown}");
}

#[test]
fn the_page_mounts_the_widget_for_the_entitys_brands_only() {
    let html = page::render(&cfg(), EntityKind::Mada, "chk\"1", "https://edge.example/v1/return/hyperpay/s1", "ar");
    assert!(html.contains(r#"<script src="http://h/v1/paymentWidgets.js?checkoutId=chk%221"></script>"#), "{html}");
    assert!(html.contains(
        r#"<form action="https://edge.example/v1/return/hyperpay/s1" class="paymentWidgets" data-brands="MADA"></form>"#
    ));
    assert!(html.contains("dir=\"rtl\"") && html.contains("مدى"));
    let card = page::render(&cfg(), EntityKind::Card, "c", "r", "en");
    assert!(card.contains(r#"data-brands="VISA MASTER AMEX""#) && !card.contains("MADA"));
    assert!(page::render(&cfg(), EntityKind::Applepay, "c", "r", "en").contains(r#"data-brands="APPLEPAY""#));
    let csp = page::content_security_policy(
        &Config { api_base: "https://eu-test.oppwa.com".into(), ..cfg() },
        EntityKind::Card,
    );
    assert!(csp.contains("script-src https://eu-test.oppwa.com;"), "{csp}");
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'") && !csp.contains("unsafe-eval")
    );
    assert!(!csp.contains("'self'"), "nothing but the widget's host: {csp}");
}

#[test]
fn the_docs_routing_example_parses_and_sends_mada_to_hyperpay() {
    use crate::gateway::routes::Routes;
    // docs/gateways/README.md: HyperPay for mada, another gateway for Visa and Mastercard.
    let routes = Routes::parse("mada=hyperpay,visa=moyasar,mastercard=moyasar").unwrap();
    assert_eq!(routes.gateways_for(PaymentMethod::Mada, "SAR"), ["hyperpay"]);
    assert_eq!(routes.gateways_for(PaymentMethod::Visa, "SAR"), ["moyasar"]);
    let fallback = Routes::parse("mada=hyperpay|moyasar").unwrap();
    assert_eq!(fallback.gateways_for(PaymentMethod::Mada, "SAR"), ["hyperpay", "moyasar"]);
    assert!(!fallback.gateways_for(PaymentMethod::Mada, "KWD").contains(&"hyperpay"), "HyperPay is SAR only");
}
