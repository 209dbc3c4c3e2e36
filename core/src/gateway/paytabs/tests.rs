//! PayTabs' requests and answers, without I/O.

use super::*;
use crate::gateway::StartInput;

fn cur(c: &str) -> Currency {
    Currency::parse(c).unwrap()
}

fn sar(minor: i64) -> Money {
    Money::new(minor, cur("SAR"))
}

fn cfg() -> Config {
    Config { api_base: "http://pt".into(), profile_id: "44017".into(), server_key: Secret::new("SJNLKDMNTL-KEY") }
}

fn answer(status: u16, body: serde_json::Value) -> HttpResponse {
    HttpResponse { status, body: body.to_string().into_bytes() }
}

fn body_of(req: &HttpRequest) -> serde_json::Value {
    serde_json::from_slice(req.body.as_ref().unwrap()).unwrap()
}

/// A query answer as PayTabs writes one (docs.paytabs.com "Transaction Query" response shape).
fn queried(status: &str, amount: serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "tran_ref": "TST2233400001234", "tran_type": "Sale", "cart_id": "demo:S1", "cart_description": "d",
        "cart_currency": "SAR", "cart_amount": amount, "tran_currency": "SAR", "tran_total": "45.50",
        "profile_id": 44017, "merchant_id": 11,
        "payment_result": {"response_status": status, "response_code": "G96547", "response_message": "Authorised",
            "transaction_time": "2026-12-03T05:00:00Z"},
        "payment_info": {"payment_method": "Visa", "card_type": "Credit", "card_scheme": "Visa",
            "payment_description": "4111 11## #### 1111"},
    })
}

#[test]
fn the_one_converter_writes_major_units_and_never_rounds() {
    assert_eq!(to_paytabs_amount(&sar(4550)).unwrap().to_string(), "45.5");
    assert_eq!(to_paytabs_amount(&sar(1)).unwrap().to_string(), "0.01");
    assert_eq!(to_paytabs_amount(&Money::new(1500, cur("KWD"))).unwrap().to_string(), "1.5");
    assert_eq!(to_paytabs_amount(&Money::new(1, cur("KWD"))).unwrap().to_string(), "0.001");
    assert_eq!(from_paytabs_amount(&serde_json::json!("45.50"), cur("SAR")).unwrap(), sar(4550));
    assert_eq!(from_paytabs_amount(&serde_json::json!(45.5), cur("SAR")).unwrap(), sar(4550));
    assert_eq!(from_paytabs_amount(&serde_json::json!("1.250"), cur("KWD")).unwrap().minor, 1250);
    assert!(from_paytabs_amount(&serde_json::json!("45.505"), cur("SAR")).is_err(), "never rounded");
    assert!(from_paytabs_amount(&serde_json::json!(45.505), cur("SAR")).is_err(), "never rounded");
    assert!(from_paytabs_amount(&serde_json::json!("1.0005"), cur("KWD")).is_err());
    assert!(from_paytabs_amount(&serde_json::json!("1e-2"), cur("SAR")).is_err(), "not a plain decimal");
    assert!(from_paytabs_amount(&serde_json::json!("abc"), cur("SAR")).is_err());
    assert!(from_paytabs_amount(&serde_json::json!(null), cur("SAR")).is_err());
    for refused in [sar(0), sar(-100), sar(MAX_MINOR + 1)] {
        assert!(matches!(to_paytabs_amount(&refused), Err(GatewayError::Rejected { status: 400, .. })), "{refused:?}");
    }
    for minor in [1, 99, 100, 4550, 123_456, 999_999_999, MAX_MINOR] {
        for c in ["SAR", "KWD", "JPY"] {
            let m = Money::new(minor, cur(c));
            let there = to_paytabs_amount(&m).unwrap_or_else(|e| panic!("{minor} {c}: {e}"));
            assert_eq!(from_paytabs_amount(&there, m.currency).unwrap(), m, "{minor} {c}");
        }
    }
}

#[test]
fn the_hosted_page_is_a_sale_for_our_reference_with_our_urls() {
    let input = StartInput {
        return_url: "https://edge/v1/return/paytabs/ps_1",
        webhook_url: "https://edge/v1/webhooks/paytabs",
        locale: "ar",
        customer_name: Some("Sara"),
        customer_email: Some("sara@example.com"),
        ..StartInput::sample(sar(4550), PaymentMethod::Mada)
    };
    let req = build_create_session(&cfg(), &input).unwrap();
    assert_eq!((req.method, req.url.as_str()), (HttpMethod::Post, "http://pt/payment/request"));
    assert!(req.headers.contains(&("authorization".into(), "SJNLKDMNTL-KEY".into())), "the raw key, no Bearer");
    let body = body_of(&req);
    assert_eq!(
        body,
        serde_json::json!({
            "profile_id": 44017, "tran_type": "sale", "tran_class": "ecom", "cart_id": "demo:S1",
            "cart_currency": "SAR", "cart_amount": 45.5, "cart_description": "d", "paypage_lang": "ar",
            "customer_details": {"name": "Sara", "email": "sara@example.com"}, "hide_shipping": true,
            "payment_methods": ["mada"], "callback": "https://edge/v1/webhooks/paytabs",
            "return": "https://edge/v1/return/paytabs/ps_1",
        })
    );
    let visa = build_create_session(&cfg(), &StartInput::sample(sar(100), PaymentMethod::Visa)).unwrap();
    assert_eq!(body_of(&visa)["payment_methods"], serde_json::json!(["creditcard"]));
    assert_eq!(body_of(&visa)["paypage_lang"], "en");
    assert_eq!(body_of(&visa)["customer_details"], serde_json::json!({}));
    let kwd = StartInput::sample(Money::new(1500, cur("KWD")), PaymentMethod::Visa);
    assert!(build_create_session(&cfg(), &kwd).is_err(), "not a currency of the Saudi profile");
    let paypal = StartInput::sample(sar(100), PaymentMethod::Paypal);
    assert!(build_create_session(&cfg(), &paypal).is_err());
    assert!(build_create_session(&cfg(), &StartInput::sample(sar(0), PaymentMethod::Visa)).is_err());
}

#[test]
fn the_created_page_or_the_business_error_in_its_place() {
    let created = answer(
        200,
        serde_json::json!({"tran_ref": "TST2233400001234", "tran_type": "Sale", "cart_id": "demo:S1",
            "cart_currency": "SAR", "cart_amount": "45.50", "redirect_url": "https://secure.paytabs.sa/payment/page/599/start",
            "profile_id": 44017}),
    );
    assert_eq!(
        parse_create_session(&created).unwrap(),
        GatewaySession {
            id: "TST2233400001234".into(),
            redirect_url: "https://secure.paytabs.sa/payment/page/599/start".into(),
            form: None,
            flow: crate::gateway::SessionFlow::Hosted,
        }
    );
    let business =
        answer(200, serde_json::json!({"code": 206, "message": "Invalid currency code", "trace": "PMNT0401"}));
    assert_eq!(
        parse_create_session(&business),
        Err(GatewayError::Rejected { status: 200, message: "Invalid currency code (code 206)".into() })
    );
    let unauth =
        answer(401, serde_json::json!({"code": 1, "message": "Authentication failed. Check authentication header."}));
    assert_eq!(
        parse_create_session(&unauth),
        Err(GatewayError::Rejected {
            status: 401,
            message: "Authentication failed. Check authentication header. (code 1)".into()
        })
    );
    assert!(matches!(parse_create_session(&answer(503, serde_json::json!({}))), Err(GatewayError::Unreachable(_))));
}

#[test]
fn the_query_is_the_truth_and_names_our_profile() {
    let req = build_query(&cfg(), "TST2233400001234");
    assert_eq!(req.url, "http://pt/payment/query");
    assert_eq!(body_of(&req), serde_json::json!({"profile_id": 44017, "tran_ref": "TST2233400001234"}));
    let paid = parse_query(&cfg(), &answer(200, queried("A", serde_json::json!("45.50")))).unwrap();
    assert_eq!(
        paid,
        GatewayPayment {
            id: "TST2233400001234".into(),
            transaction_id: None,
            reference: "demo:S1".into(),
            state: PaymentState::Paid,
            money: sar(4550),
            card_brand: Some("visa".into()),
            card_last4: Some("1111".into()),
            error: None,
            refunded: None,
            three_ds: None,
        }
    );
    let held = parse_query(&cfg(), &answer(200, queried("H", serde_json::json!("45.50")))).unwrap();
    assert_eq!(held.state, PaymentState::Pending, "on hold is not paid");
    let mut other = queried("A", serde_json::json!("45.50"));
    other["profile_id"] = serde_json::json!(55555);
    assert!(
        matches!(parse_query(&cfg(), &answer(200, other.clone())), Err(GatewayError::Mismatch(m)) if m.contains("55555"))
    );
    other["profile_id"] = serde_json::json!("44017");
    assert!(parse_query(&cfg(), &answer(200, other.clone())).is_ok(), "a profile id written as a string");
    other.as_object_mut().unwrap().remove("profile_id");
    assert!(matches!(parse_query(&cfg(), &answer(200, other)), Err(GatewayError::Mismatch(_))));
    let rounded = queried("A", serde_json::json!("45.505"));
    assert!(matches!(parse_query(&cfg(), &answer(200, rounded)), Err(GatewayError::InvalidResponse(_))));
    let mut refund = queried("A", serde_json::json!("45.50"));
    refund["tran_type"] = serde_json::json!("Refund");
    assert!(parse_query(&cfg(), &answer(200, refund)).is_err(), "a refund is not the payment");
    let mut unknown = queried("Q", serde_json::json!("45.50"));
    assert!(matches!(parse_query(&cfg(), &answer(200, unknown.clone())), Err(GatewayError::InvalidResponse(_))));
    unknown.as_object_mut().unwrap().remove("payment_result");
    assert_eq!(parse_query(&cfg(), &answer(200, unknown)).unwrap().state, PaymentState::Pending, "not paid yet");
    let missing = answer(400, serde_json::json!({"code": 2, "message": "Invalid transaction reference"}));
    assert!(matches!(parse_query(&cfg(), &missing), Err(GatewayError::Rejected { status: 400, .. })));
}

#[test]
fn a_tampered_amount_is_read_as_is_and_the_payment_check_refuses_it() {
    let tampered = parse_query(&cfg(), &answer(200, queried("A", serde_json::json!("1.00")))).unwrap();
    assert_eq!(tampered.money, sar(100));
    assert!(matches!(crate::gateway::check_matches(&tampered, &sar(4550), "demo:S1"), Err(GatewayError::Mismatch(_))));
    let paid = parse_query(&cfg(), &answer(200, queried("A", serde_json::json!("45.50")))).unwrap();
    assert!(crate::gateway::check_matches(&paid, &sar(4550), "demo:S1").is_ok());
    assert!(matches!(crate::gateway::check_matches(&paid, &sar(4550), "demo:S2"), Err(GatewayError::Mismatch(_))));
}

#[test]
fn failures_carry_a_reason_and_paytabs_words() {
    let mut declined = queried("D", serde_json::json!("45.50"));
    declined["payment_result"]["response_code"] = serde_json::json!("51");
    declined["payment_result"]["response_message"] = serde_json::json!("Insufficient Funds");
    let p = parse_query(&cfg(), &answer(200, declined)).unwrap();
    assert_eq!(p.state, PaymentState::Failed);
    assert_eq!(
        p.error.unwrap(),
        ErrorInfo { code: "insufficient_funds".into(), message: "Insufficient Funds (51)".into() }
    );
    let mut three_ds = queried("D", serde_json::json!("45.50"));
    three_ds["payment_result"]["response_code"] = serde_json::json!("4");
    three_ds["payment_result"]["response_message"] = serde_json::json!("3DS Authentication failed");
    assert_eq!(parse_query(&cfg(), &answer(200, three_ds)).unwrap().error.unwrap().code, "authentication_failed");
    let expired = parse_query(&cfg(), &answer(200, queried("X", serde_json::json!("45.50")))).unwrap();
    assert_eq!((expired.state, expired.error.unwrap().code.as_str()), (PaymentState::Failed, "expired_session"));
    let canceled = parse_query(&cfg(), &answer(200, queried("C", serde_json::json!("45.50")))).unwrap();
    assert_eq!(canceled.state, PaymentState::Canceled);
    let voided = parse_query(&cfg(), &answer(200, queried("V", serde_json::json!("45.50")))).unwrap();
    assert_eq!((voided.state, voided.error), (PaymentState::Voided, None));
}

#[test]
fn follow_ups_are_payment_requests_on_the_original_tran_ref() {
    for (kind, tran_type) in [(FollowUp::Refund, "refund"), (FollowUp::Capture, "capture"), (FollowUp::Void, "void")] {
        let req = build_follow_up(&cfg(), kind, "TST2233400001234", &sar(2000), "demo:S1-refund-0").unwrap();
        assert_eq!(req.url, "http://pt/payment/request");
        assert!(req.headers.contains(&("authorization".into(), "SJNLKDMNTL-KEY".into())));
        let body = body_of(&req);
        assert_eq!(
            body,
            serde_json::json!({"profile_id": 44017, "tran_type": tran_type, "tran_class": "ecom",
                "tran_ref": "TST2233400001234", "cart_id": "demo:S1-refund-0", "cart_currency": "SAR",
                "cart_amount": 20.0, "cart_description": format!("{tran_type} of TST2233400001234")})
        );
        assert_eq!(body["cart_amount"].to_string(), "20.0");
    }
    assert!(build_follow_up(&cfg(), FollowUp::Refund, "T", &sar(0), "c").is_err());
    assert_eq!(body_of(&build_refund(&cfg(), "T", &sar(150), "c"))["cart_amount"].to_string(), "1.5");
}

fn follow_up_answer(status: &str, amount: &str) -> serde_json::Value {
    serde_json::json!({"tran_ref": "TST2233400009999", "previous_tran_ref": "TST2233400001234", "tran_type": "Refund",
        "cart_id": "demo:S1-refund-0", "cart_currency": "SAR", "cart_amount": amount, "profile_id": 44017,
        "payment_result": {"response_status": status, "response_code": "G1", "response_message": "Refund declined"}})
}

#[test]
fn follow_up_answers_succeed_stay_pending_or_fail_and_must_be_ours() {
    let parse = |body, amount| parse_follow_up(&cfg(), FollowUp::Refund, &answer(200, body), amount);
    assert_eq!(
        parse(follow_up_answer("A", "20.00"), sar(2000)).unwrap(),
        OperationResult { id: "TST2233400009999".into(), status: OperationStatus::Succeeded, money: sar(2000) }
    );
    assert_eq!(parse(follow_up_answer("P", "20.00"), sar(2000)).unwrap().status, OperationStatus::Pending);
    assert_eq!(
        parse(follow_up_answer("D", "20.00"), sar(2000)).unwrap().status,
        OperationStatus::Failed(ErrorInfo { code: "refund_declined".into(), message: "Refund declined (G1)".into() })
    );
    assert!(
        matches!(parse(follow_up_answer("A", "2.00"), sar(2000)), Err(GatewayError::Mismatch(_))),
        "another amount"
    );
    let mut foreign = follow_up_answer("A", "20.00");
    foreign["profile_id"] = serde_json::json!(1);
    assert!(matches!(parse(foreign, sar(2000)), Err(GatewayError::Mismatch(_))));
    let duplicate = serde_json::json!({"code": 4, "message": "Duplicate Request"});
    assert_eq!(
        parse(duplicate, sar(2000)),
        Err(GatewayError::Rejected { status: 200, message: "Duplicate Request (code 4)".into() })
    );
    assert!(matches!(parse(follow_up_answer("?", "20.00"), sar(2000)), Err(GatewayError::InvalidResponse(_))));
    let void = parse_follow_up(&cfg(), FollowUp::Void, &answer(200, follow_up_answer("E", "20.00")), sar(2000));
    assert!(matches!(void.unwrap().status, OperationStatus::Failed(e) if e.code == "void_declined"));
}

#[test]
fn the_check_tells_a_refused_key_from_a_working_one() {
    let req = build_check(&cfg());
    assert_eq!(body_of(&req), serde_json::json!({"profile_id": 44017, "tran_ref": CHECK_TRAN_REF}));
    let refused = answer(
        401,
        serde_json::json!({"code": 1, "message": "Authentication failed. Check authentication header.", "trace": "t"}),
    );
    let (verdict, message) = parse_check(&cfg(), &refused, Some("SAR"));
    assert_eq!(verdict, CheckVerdict::InvalidCredentials);
    assert!(
        message.contains("44017") && message.contains("http://pt") && message.contains("another region"),
        "{message}"
    );
    assert!(!message.contains("SJNLKDMNTL"), "never the key");
    let saudi = Config { api_base: DEFAULT_API_BASE.into(), ..cfg() };
    assert!(parse_check(&saudi, &refused, None).1.contains("Saudi host"));
    let not_found = answer(400, serde_json::json!({"code": 2, "message": "Invalid transaction reference"}));
    assert_eq!(parse_check(&cfg(), &not_found, Some("SAR")).0, CheckVerdict::Ok);
    assert_eq!(parse_check(&cfg(), &not_found, Some("KWD")).0, CheckVerdict::CurrencyUnsupported);
    assert_eq!(
        parse_check(&cfg(), &answer(403, serde_json::json!({"message": "no"})), None).0,
        CheckVerdict::NotPermitted
    );
    assert_eq!(parse_check(&cfg(), &answer(502, serde_json::json!({})), None).0, CheckVerdict::Unreachable);
    let code_one = answer(200, serde_json::json!({"code": 1, "message": "Authentication failed."}));
    assert_eq!(parse_check(&cfg(), &code_one, None).0, CheckVerdict::InvalidCredentials, "code 1 whatever the status");
}

#[test]
fn the_config_never_prints_the_key() {
    let shown = format!("{:?}", cfg());
    assert!(shown.contains("44017") && !shown.contains("SJNLKDMNTL"), "{shown}");
    assert_eq!(card_brand("MasterCard"), "mastercard");
    assert_eq!(card_brand("American Express"), "amex");
    assert_eq!(card_brand("Mada"), "mada");
}
