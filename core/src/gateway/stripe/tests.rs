use super::*;
use crate::gateway::StartInput;

fn cfg() -> Config {
    Config {
        api_base: "http://127.0.0.1:9/v1".into(),
        secret_key: Secret::new("sk_test_abc"),
        webhook_secret: Secret::new("whsec_x"),
    }
}

fn money(minor: i64, c: &str) -> Money {
    Money::new(minor, Currency::parse(c).unwrap())
}

fn form_of(req: &HttpRequest) -> Vec<(String, String)> {
    let body = String::from_utf8(req.body.clone().unwrap()).unwrap();
    body.split('&')
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap();
            let dec = |s: &str| {
                let mut out = Vec::new();
                let b = s.as_bytes();
                let mut i = 0;
                while i < b.len() {
                    if b[i] == b'%' {
                        out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                        i += 3;
                    } else {
                        out.push(b[i]);
                        i += 1;
                    }
                }
                String::from_utf8(out).unwrap()
            };
            (dec(k), dec(v))
        })
        .collect()
}

fn field<'a>(f: &'a [(String, String)], k: &str) -> Option<&'a str> {
    f.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str())
}

#[test]
fn sessions_are_form_encoded_with_our_reference_everywhere() {
    let input = StartInput {
        return_url: "http://edge/v1/return/stripe/p1",
        locale: "ar",
        description: "souq S1",
        ..StartInput::sample(money(4550, "SAR"), PaymentMethod::Visa)
    };
    let req = build_create_session(&cfg(), &input, None).unwrap();
    assert_eq!(req.url, "http://127.0.0.1:9/v1/checkout/sessions");
    assert!(req.headers.contains(&("Authorization".into(), "Bearer sk_test_abc".into())));
    assert!(req.headers.contains(&("Content-Type".into(), "application/x-www-form-urlencoded".into())));
    let body = String::from_utf8(req.body.clone().unwrap()).unwrap();
    assert!(body.contains("line_items%5B0%5D%5Bprice_data%5D%5Bunit_amount%5D=4550"), "{body}");
    let f = form_of(&req);
    for (k, v) in [
        ("mode", "payment"),
        ("line_items[0][price_data][currency]", "sar"),
        ("line_items[0][price_data][unit_amount]", "4550"),
        ("line_items[0][price_data][product_data][name]", "souq S1"),
        ("line_items[0][quantity]", "1"),
        ("success_url", "http://edge/v1/return/stripe/p1"),
        ("cancel_url", "http://edge/v1/return/stripe/p1"),
        ("client_reference_id", "demo:S1"),
        ("metadata[bawaba_reference]", "demo:S1"),
        ("payment_intent_data[metadata][bawaba_reference]", "demo:S1"),
        ("locale", "auto"),
    ] {
        assert_eq!(field(&f, k), Some(v), "{k}");
    }
    assert_eq!(field(&f, "expires_at"), None, "no clock, no expires_at");
    assert_eq!(checkout_locale("en"), "en");
    assert_eq!(checkout_locale("ar"), "auto", "Checkout has no Arabic");
    let timed = StartInput { expires_at: Some(1_800_000_000), ..input.clone() };
    let f = form_of(&build_create_session(&cfg(), &timed, Some(1_800_000_000 - 7200)).unwrap());
    assert_eq!(field(&f, "expires_at"), Some("1800000000"));
    let f = form_of(&build_create_session(&cfg(), &timed, Some(1_800_000_000 - 60)).unwrap());
    assert_eq!(field(&f, "expires_at"), Some(&*(1_800_000_000 - 60 + 1860).to_string()), "30 min at least");
    let f = form_of(&build_create_session(&cfg(), &timed, Some(1_800_000_000 - 200_000)).unwrap());
    assert_eq!(field(&f, "expires_at"), Some(&*(1_800_000_000 - 200_000 + 86_340).to_string()), "24 h at most");
    let mada = StartInput { method: PaymentMethod::Mada, ..input };
    assert!(build_create_session(&cfg(), &mada, None).is_err(), "no mada at Stripe");
}

#[test]
fn amounts_follow_stripes_currency_rules() {
    assert_eq!(to_stripe_amount(&money(4550, "SAR")), Ok(4550));
    assert_eq!(to_stripe_amount(&money(500, "JPY")), Ok(500), "zero-decimal: as is");
    assert_eq!(to_stripe_amount(&money(1500, "KWD")), Ok(1500), "1.500 KWD");
    for c in ["KWD", "BHD", "OMR", "JOD"] {
        assert!(matches!(to_stripe_amount(&money(1505, c)), Err(GatewayError::Rejected { .. })), "{c}: no rounding");
    }
    assert!(to_stripe_amount(&money(0, "SAR")).is_err());
    assert_eq!(from_stripe_amount(1500, "kwd"), Ok(money(1500, "KWD")));
    assert_eq!(from_stripe_amount(500, "jpy"), Ok(money(500, "JPY")));
    assert!(from_stripe_amount(1, "xyz").is_err());
}

#[test]
fn modes_come_from_the_key_prefix() {
    assert_eq!(mode_of_key("sk_test_1"), Some(crate::gateway::Mode::Test));
    assert_eq!(mode_of_key("rk_live_1"), Some(crate::gateway::Mode::Live));
    assert_eq!(mode_of_key("rk_test_1"), Some(crate::gateway::Mode::Test));
    assert_eq!(mode_of_key("pk_test_1"), None);
}

fn session(status: &str, pi: serde_json::Value) -> HttpResponse {
    let body = serde_json::json!({"id":"cs_test_1","object":"checkout.session","status":status,
        "payment_status":"unpaid","amount_total":4550,"currency":"sar","client_reference_id":"demo:S1",
        "metadata":{"bawaba_reference":"demo:S1"},"url":null,"payment_intent":pi});
    HttpResponse { status: 200, body: body.to_string().into_bytes() }
}

fn intent(status: &str, error: serde_json::Value, refunded: i64) -> serde_json::Value {
    serde_json::json!({"id":"pi_1","object":"payment_intent","status":status,"amount":4550,"currency":"sar",
        "metadata":{"bawaba_reference":"demo:S1"},"last_payment_error":error,
        "latest_charge":{"id":"ch_1","object":"charge","amount_refunded":refunded,"payment_intent":"pi_1",
            "payment_method_details":{"type":"card","card":{"brand":"visa","last4":"4242","wallet":null}}}})
}

#[test]
fn the_session_and_its_intent_make_the_payment() {
    let p = parse_fetch_session(&session("complete", intent("succeeded", serde_json::Value::Null, 1000))).unwrap();
    assert_eq!(p.state, PaymentState::Paid);
    assert_eq!(
        (p.id.as_str(), p.transaction_id.as_deref(), p.reference.as_str()),
        ("cs_test_1", Some("pi_1"), "demo:S1")
    );
    assert_eq!((p.card_brand.as_deref(), p.card_last4.as_deref()), (Some("visa"), Some("4242")));
    assert_eq!((p.money, p.refunded), (money(4550, "SAR"), Some(1000)));

    let never = parse_fetch_session(&session("open", serde_json::Value::Null)).unwrap();
    assert_eq!((never.state, never.transaction_id, never.refunded), (PaymentState::Created, None, None));

    let declined = serde_json::json!({"code":"card_declined","decline_code":"generic_decline","message":"Your card was declined."});
    let failed = parse_fetch_session(&session("open", intent("requires_payment_method", declined, 0))).unwrap();
    assert_eq!(failed.state, PaymentState::Failed);
    assert_eq!(
        failed.error,
        Some(ErrorInfo { code: "declined".into(), message: "Your card was declined. (generic_decline)".into() })
    );
    assert_eq!(failed.refunded, None);

    let expired = parse_fetch_session(&session("expired", serde_json::Value::Null)).unwrap();
    assert_eq!((expired.state, expired.error.unwrap().code.as_str()), (PaymentState::Canceled, "expired"));
    let processing = parse_fetch_session(&session("complete", intent("processing", serde_json::Value::Null, 0)));
    assert_eq!(processing.unwrap().state, PaymentState::Pending);

    let unexpanded = session("complete", serde_json::json!("pi_1"));
    assert!(matches!(parse_fetch_session(&unexpanded), Err(GatewayError::InvalidResponse(_))));
    let missing = HttpResponse {
        status: 404,
        body: br#"{"error":{"type":"invalid_request_error","code":"resource_missing","message":"No such checkout.session: 'cs_x'"}}"#.to_vec(),
    };
    assert_eq!(
        parse_fetch_session(&missing),
        Err(GatewayError::Rejected { status: 404, message: "No such checkout.session: 'cs_x'".into() })
    );
}

#[test]
fn fetch_and_expire_requests() {
    let f = build_fetch_session(&cfg(), "cs_test_1");
    assert_eq!(f.url, "http://127.0.0.1:9/v1/checkout/sessions/cs_test_1?expand%5B%5D=payment_intent.latest_charge");
    assert_eq!(f.method, HttpMethod::Get);
    let e = build_expire(&cfg(), "cs_test_1");
    assert_eq!(
        (e.method, e.url.as_str()),
        (HttpMethod::Post, "http://127.0.0.1:9/v1/checkout/sessions/cs_test_1/expire")
    );
    let closed = HttpResponse { status: 200, body: br#"{"id":"cs_test_1","status":"expired"}"#.to_vec() };
    assert_eq!(parse_expire(&closed), CancelOutcome::Closed);
    let done = HttpResponse {
        status: 400,
        body: br#"{"error":{"type":"invalid_request_error","message":"Only Checkout Sessions with a status in [\"open\"] can be expired."}}"#.to_vec(),
    };
    assert_eq!(parse_expire(&done), CancelOutcome::AlreadyFinal);
    assert!(matches!(parse_expire(&HttpResponse { status: 502, body: vec![] }), CancelOutcome::Unreachable(_)));
    assert!(matches!(parse_expire(&HttpResponse { status: 401, body: vec![] }), CancelOutcome::Refused(_)));
}

#[test]
fn refunds_carry_the_reference_as_idempotency_key() {
    let req = build_refund(&cfg(), "pi_1", &money(1000, "SAR"), "souq:S1:r1");
    assert_eq!(req.url, "http://127.0.0.1:9/v1/refunds");
    assert!(req.headers.contains(&("Idempotency-Key".into(), "souq:S1:r1".into())));
    let f = form_of(&req);
    assert_eq!(field(&f, "payment_intent"), Some("pi_1"));
    assert_eq!(field(&f, "amount"), Some("1000"));
    assert_eq!(field(&f, "metadata[bawaba_refund]"), Some("souq:S1:r1"));
    assert_eq!(build_refund_status(&cfg(), "re_1").url, "http://127.0.0.1:9/v1/refunds/re_1");
    let refund = |status: &str| {
        HttpResponse {
        status: 200,
        body: format!(r#"{{"id":"re_1","object":"refund","amount":1000,"status":"{status}","failure_reason":"lost_or_stolen_card"}}"#)
            .into_bytes(),
    }
    };
    let sar = money(1000, "SAR");
    assert_eq!(parse_refund(&refund("succeeded"), sar).unwrap().status, OperationStatus::Succeeded);
    assert_eq!(parse_refund(&refund("pending"), sar).unwrap().status, OperationStatus::Pending);
    assert_eq!(parse_refund(&refund("requires_action"), sar).unwrap().status, OperationStatus::Pending);
    let OperationStatus::Failed(e) = parse_refund(&refund("failed"), sar).unwrap().status else { panic!() };
    assert_eq!(e.code, "refund_failed");
    assert!(e.message.contains("lost_or_stolen_card"));
    let OperationStatus::Failed(e) = parse_refund(&refund("canceled"), sar).unwrap().status else { panic!() };
    assert_eq!(e.code, "refund_canceled");
    assert!(parse_refund(&refund("weird"), sar).is_err());
    assert!(matches!(parse_refund(&refund("succeeded"), money(999, "SAR")), Err(GatewayError::Mismatch(_))));
}

#[test]
fn checks() {
    let ok = HttpResponse { status: 200, body: br#"{"object":"balance","available":[]}"#.to_vec() };
    assert_eq!(parse_check(&ok, Some("SAR")).0, CheckVerdict::Ok);
    assert_eq!(parse_check(&ok, Some("XYZ")).0, CheckVerdict::CurrencyUnsupported);
    let bad = HttpResponse {
        status: 401,
        body: br#"{"error":{"type":"invalid_request_error","message":"Invalid API Key provided: sk_test_****"}}"#
            .to_vec(),
    };
    assert_eq!(
        parse_check(&bad, None),
        (CheckVerdict::InvalidCredentials, "Invalid API Key provided: sk_test_****".into())
    );
    assert_eq!(parse_check(&HttpResponse { status: 403, body: vec![] }, None).0, CheckVerdict::NotPermitted);
    assert_eq!(parse_check(&HttpResponse { status: 500, body: vec![] }, None).0, CheckVerdict::Unreachable);
    assert_eq!(build_check(&cfg()).url, "http://127.0.0.1:9/v1/balance");
}

#[test]
fn the_expiry_clamp_holds_for_any_clock() {
    for now in [0, 1_800_000_000, i64::MAX - 10, i64::MAX, i64::MIN] {
        let t = super::clamp_expires_at(now, now);
        assert!(t >= now.saturating_add(super::EXPIRES_MIN_SECS), "{now}");
    }
}
