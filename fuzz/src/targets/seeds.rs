//! Realistic seeds: the protocol vectors in `tests/vectors/` and the gateway bodies of the unit
//! tests in `core/src/gateway/*/`. Mutations start from these, so most inputs are nearly valid
//! and reach deep into the parsers instead of stopping at the first byte.

/// `tests/vectors/intents.json`.
pub const INTENTS: &str = include_str!("../../../tests/vectors/intents.json");
/// `tests/vectors/notification_signatures.json`.
pub const NOTIFICATIONS: &str = include_str!("../../../tests/vectors/notification_signatures.json");
/// `tests/vectors/call_signatures.json`.
pub const CALLS: &str = include_str!("../../../tests/vectors/call_signatures.json");
/// `tests/vectors/stripe_signatures.json`.
pub const STRIPE_SIGNATURES: &str = include_str!("../../../tests/vectors/stripe_signatures.json");

/// The `cases` of a vector file (read once per file, then kept).
pub fn cases(file: &'static str) -> &'static [serde_json::Value] {
    type Cache = Vec<(usize, &'static [serde_json::Value])>;
    static CACHE: std::sync::Mutex<Cache> = std::sync::Mutex::new(Vec::new());
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, cases)) = cache.iter().find(|(p, _)| *p == file.as_ptr() as usize) {
        return cases;
    }
    let v: serde_json::Value = serde_json::from_str(file).expect("the vectors are JSON");
    let cases: &'static [serde_json::Value] = Vec::leak(v["cases"].as_array().cloned().unwrap_or_default());
    cache.push((file.as_ptr() as usize, cases));
    cases
}

/// A top-level field of a vector file.
pub fn field(file: &str, name: &str) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_str(file).expect("the vectors are JSON");
    v[name].clone()
}

const SANDBOX_PAYMENT: &str = r#"{"id":"sbx_1","reference":"demo:S1","status":"failed","amount":100,"currency":"SAR","method":"visa","hosted_url":"http://edge/sandbox/pay/sbx_1","card_brand":"visa","card_last4":"0002","failure_code":"card_declined","failure_message":"Declined","refunded":0}"#;
const SANDBOX_PAID: &str = r#"{"id":"sbx_1","reference":"demo:S1","status":"succeeded","amount":10050,"currency":"SAR","method":"mada","hosted_url":"u","refunded":2500}"#;
const SANDBOX_CANCELED: &str = r#"{"id":"sbx_1","reference":"demo:S1","status":"canceled","amount":100,"currency":"KWD","method":"visa","hosted_url":"u"}"#;
const SANDBOX_ERROR: &str = r#"{"error":{"type":"authentication_error","message":"Invalid API key"}}"#;
const SANDBOX_EVENT: &str = r#"{"id":"evt_1","type":"payment.updated","data":{"id":"sbx_1","reference":"demo:S1","status":"succeeded","amount":10050,"currency":"SAR","method":"mada","hosted_url":"u","card_brand":"mada","card_last4":"0007","refunded":0}}"#;

const MOYASAR_INVOICE: &str = r#"{"id":"inv_1","status":"paid","amount":4550,"currency":"SAR","url":"https://checkout.moyasar.com/invoices/inv_1","metadata":{"bawaba_reference":"demo:S1"},"payments":[{"id":"pay_0","status":"failed","amount":4550,"currency":"SAR","refunded":0,"source":{"type":"creditcard","company":"visa","number":"4111-11XX-XXXX-1111","message":"DECLINED"}},{"id":"pay_1","status":"paid","amount":4550,"currency":"SAR","refunded":0,"source":{"type":"creditcard","company":"mada","number":"4201-32XX-XXXX-1010","message":"APPROVED"}}]}"#;
const MOYASAR_FAILED: &str = r#"{"id":"inv_2","status":"failed","amount":100,"currency":"KWD","payments":[{"id":"pay_2","status":"failed","amount":100,"currency":"KWD","source":{"message":"INSUFFICIENT_FUNDS"}}]}"#;
const MOYASAR_PAYMENT: &str = r#"{"id":"pay_1","status":"refunded","amount":4550,"currency":"SAR","refunded":4550,"invoice_id":"inv_1","source":{"type":"creditcard","company":"mada","number":"4201-32XX-XXXX-1010","message":"APPROVED"}}"#;
const MOYASAR_ERROR: &str =
    r#"{"type":"authentication_error","message":"Invalid authorization credentials","errors":null}"#;
/// Moyasar's webhook, without its `secret_token` (the target sets it).
pub const MOYASAR_EVENT: &str = r#"{"id":"evt","type":"payment_paid","created_at":"2026-01-01T00:00:00.000Z","live":false,"data":{"id":"pay_1","status":"paid","amount":100,"currency":"SAR","invoice_id":"inv_1"}}"#;

const TAP_CHARGE: &str = r#"{"id":"chg_1","status":"DECLINED","amount":10.0,"currency":"SAR","reference":{"transaction":"demo:S1","gateway":"g","payment":"p"},"transaction":{"url":"https://tap.company/pay/chg_1","created":"1700000000000"},"response":{"code":"505","message":"Insufficient Funds"},"card":{"brand":"VISA","last_four":"0002"},"metadata":{"bawaba_reference":"demo:S1"}}"#;
const TAP_KWD: &str = r#"{"id":"chg_2","status":"CAPTURED","amount":1.5,"currency":"KWD","reference":{"gateway":"g1","payment":"p1"},"transaction":{"created":1700000000000}}"#;
const TAP_REFUND: &str = r#"{"id":"re_TS0412202412345","object":"refund","api_version":"V1.2","live_mode":false,"amount":45.5,"charge_id":"chg_TS05A1220241234","created":"1733836000000","currency":"SAR","status":"DECLINED","reference":{"merchant":"demo:S1-refund-0"},"response":{"code":"507","message":"Declined by issuer"},"metadata":{},"reason":"requested_by_customer"}"#;
const TAP_ERROR: &str = r#"{"errors":[{"code":"2107","description":"No valid API key"}]}"#;

/// APS answers as key/value pairs; the target signs them with the response phrase.
const APS_PAID: &str = r#"{"status":"12","transaction_status":"14","merchant_reference":"bw-1","amount":"4550","currency":"SAR","fort_id":"169","payment_option":"MADA","card_number":"446404******0007","response_code":"12000","response_message":"Success"}"#;
const APS_FAILED: &str = r#"{"status":"12","transaction_status":"13","transaction_code":"13666","transaction_message":"Declined","merchant_reference":"bw-2","amount":1500,"currency":"KWD"}"#;
const APS_NONE: &str =
    r#"{"status":"11","merchant_reference":"bw-1","response_code":"11006","response_message":"No transaction found"}"#;
const APS_REFUND: &str = r#"{"command":"REFUND","status":"06","response_code":"06000","response_message":"Success","fort_id":"169","merchant_reference":"bw-1"}"#;
const APS_MISMATCH: &str = r#"{"response_code":"00008","response_message":"Signature mismatch","status":"00"}"#;

const STRIPE_SESSION: &str = r#"{"id":"cs_test_1","object":"checkout.session","status":"complete","payment_status":"paid","amount_total":4550,"currency":"sar","client_reference_id":"demo:S1","metadata":{"bawaba_reference":"demo:S1"},"url":"https://checkout.stripe.com/c/pay/cs_test_1","payment_intent":{"id":"pi_1","object":"payment_intent","status":"succeeded","amount":4550,"currency":"sar","metadata":{"bawaba_reference":"demo:S1"},"last_payment_error":{"code":"card_declined","decline_code":"generic_decline","message":"Your card was declined."},"latest_charge":{"id":"ch_1","object":"charge","amount_refunded":1000,"payment_intent":"pi_1","payment_method_details":{"type":"card","card":{"brand":"visa","last4":"4242","wallet":null}}}}}"#;
const STRIPE_OPEN: &str = r#"{"id":"cs_test_2","object":"checkout.session","status":"open","amount_total":1500,"currency":"kwd","payment_intent":null,"url":"https://checkout.stripe.com/c/pay/cs_test_2"}"#;
const STRIPE_REFUND: &str =
    r#"{"id":"re_1","object":"refund","amount":1000,"status":"failed","failure_reason":"lost_or_stolen_card"}"#;
const STRIPE_EXPIRED: &str = r#"{"id":"cs_test_1","status":"expired"}"#;
const STRIPE_ERROR: &str = r#"{"error":{"type":"invalid_request_error","code":"resource_missing","message":"No such checkout.session: 'cs_x'"}}"#;
const STRIPE_EVENT: &str = r#"{"id":"evt_1","object":"event","type":"checkout.session.completed","data":{"object":{"id":"cs_test_1","object":"checkout.session","client_reference_id":"demo:S1","metadata":{"bawaba_reference":"demo:S1"}}}}"#;
const STRIPE_PI_EVENT: &str = r#"{"id":"evt_2","object":"event","type":"payment_intent.succeeded","data":{"object":{"id":"pi_1","object":"payment_intent","metadata":{"bawaba_reference":"demo:S1"}}}}"#;

const PAYPAL_ORDER: &str = r#"{"id":"5O190127TN364715T","status":"COMPLETED","intent":"CAPTURE","purchase_units":[{"reference_id":"demo:S1","custom_id":"demo:S1","amount":{"currency_code":"USD","value":"45.50"},"payments":{"captures":[{"id":"3C679366HH908993F","status":"DECLINED","amount":{"currency_code":"USD","value":"45.50"},"final_capture":true,"custom_id":"demo:S1","status_details":{"reason":"PENDING_REVIEW"}}]}}],"links":[]}"#;
const PAYPAL_APPROVED: &str = r#"{"id":"5O190127TN364715T","status":"APPROVED","intent":"CAPTURE","purchase_units":[{"reference_id":"demo:S1","amount":{"currency_code":"JPY","value":"4550"}}],"links":[{"href":"https://www.sandbox.paypal.com/checkoutnow?token=5O1","rel":"payer-action","method":"GET"}]}"#;
const PAYPAL_REFUND: &str = r#"{"id":"1JU08902781691411","status":"FAILED","status_details":{"reason":"ECHECK"},"amount":{"value":"10.99","currency_code":"USD"},"links":[]}"#;
const PAYPAL_TOKEN: &str = r#"{"scope":"https://uri.paypal.com/services/payments","access_token":"A21AAFEpH4PsADK7qSS7pSRsgzfENtu","token_type":"Bearer","app_id":"APP-80W284485P519543T","expires_in":32400,"nonce":"2026-12-02T01:50:00Z"}"#;
const PAYPAL_OAUTH_ERROR: &str = r#"{"error":"invalid_client","error_description":"Client Authentication failed"}"#;
const PAYPAL_422: &str = r#"{"name":"UNPROCESSABLE_ENTITY","details":[{"issue":"ORDER_NOT_APPROVED","description":"Payer has not yet approved the Order for payment."}],"message":"The requested action could not be performed.","debug_id":"d1"}"#;
const PAYPAL_VERIFIED: &str = r#"{"verification_status":"SUCCESS"}"#;
/// PayPal's order webhook.
pub const PAYPAL_ORDER_EVENT: &str = r#"{"id":"WH-1","event_version":"1.0","resource_type":"checkout-order","event_type":"CHECKOUT.ORDER.APPROVED","resource":{"id":"5O190127TN364715T","status":"APPROVED","purchase_units":[{"reference_id":"demo:S1","custom_id":"demo:S1","amount":{"currency_code":"USD","value":"10.00"}}]}}"#;
const PAYPAL_CAPTURE_EVENT: &str = r#"{"id":"WH-2","resource_type":"capture","event_type":"PAYMENT.CAPTURE.COMPLETED","resource":{"id":"3C679366HH908993F","status":"COMPLETED","custom_id":"demo:S1","amount":{"currency_code":"USD","value":"10.00"},"supplementary_data":{"related_ids":{"order_id":"5O190127TN364715T"}}}}"#;

// PayTabs (profile 87654, the fuzz setting): a paid query, one on hold, the created page, a
// pending refund, an authentication error.
const PAYTABS_PAID: &str = r#"{"tran_ref":"TST2233400001234","tran_type":"Sale","cart_id":"demo:S1","cart_description":"d","cart_currency":"SAR","cart_amount":"45.50","tran_currency":"SAR","tran_total":"45.50","profile_id":87654,"merchant_id":11,"payment_result":{"response_status":"A","response_code":"G96547","response_message":"Authorised","transaction_time":"2026-12-03T05:00:00Z"},"payment_info":{"payment_method":"Visa","card_type":"Credit","card_scheme":"Visa","payment_description":"4111 11## #### 1111"}}"#;
const PAYTABS_HOLD: &str = r#"{"tran_ref":"TST2233400001235","tran_type":"Sale","cart_id":"demo:S1","cart_currency":"KWD","cart_amount":"1.500","profile_id":"87654","payment_result":{"response_status":"H","response_code":"H1","response_message":"On hold"}}"#;
const PAYTABS_PAGE: &str = r#"{"tran_ref":"TST2233400001234","tran_type":"Sale","cart_id":"demo:S1","cart_currency":"SAR","cart_amount":"45.50","redirect_url":"https://secure.paytabs.sa/payment/page/599/start","profile_id":87654}"#;
const PAYTABS_REFUND: &str = r#"{"tran_ref":"TST2233400009999","previous_tran_ref":"TST2233400001234","tran_type":"Refund","cart_id":"demo:S1-refund-0","cart_currency":"SAR","cart_amount":"10.00","profile_id":87654,"payment_result":{"response_status":"P","response_code":"G1","response_message":"Pending"}}"#;
const PAYTABS_ERROR: &str =
    r#"{"code":1,"message":"Authentication failed. Check authentication header.","trace":"PMNT0403.6543.00012345"}"#;
const HYPERPAY_CHECKOUT: &str = r#"{"result":{"code":"000.200.100","description":"successfully created checkout"},"buildNumber":"b","timestamp":"t","ndc":"n","id":"8AC7A4C9.uat01-vm-tx04"}"#;
const HYPERPAY_PAID: &str = r#"{"id":"8ac7pay1","paymentType":"DB","paymentBrand":"MADA","amount":"10.00","currency":"SAR","merchantTransactionId":"demo:S1","result":{"code":"000.100.110","description":"Request successfully processed in 'Merchant in Integrator Test Mode'"},"card":{"bin":"440647","last4Digits":"0004"}}"#;
const HYPERPAY_DECLINED: &str = r#"{"id":"8ac7pay2","paymentType":"DB","paymentBrand":"VISA","amount":"10.00","currency":"SAR","merchantTransactionId":"demo:S1","result":{"code":"800.100.155","description":"transaction declined (amount exceeds credit)"}}"#;
const HYPERPAY_REFUND: &str = r#"{"id":"8ac7rf1","referencedId":"8ac7pay1","paymentType":"RF","amount":"10.00","currency":"SAR","result":{"code":"000.000.000","description":"Transaction succeeded"}}"#;
const HYPERPAY_ERROR: &str = r#"{"result":{"code":"200.300.404","description":"invalid or missing parameter","parameterErrors":[{"name":"entityId","value":"","message":"required"}]}}"#;
const HYPERPAY_EVENT: &str = r#"{"type":"PAYMENT","payload":{"id":"8ac7pay1","paymentType":"DB","amount":"10.00","currency":"SAR","merchantTransactionId":"demo:S1","result":{"code":"000.100.110","description":"ok"}}}"#;

/// Gateway answers (status checks, sessions, refunds, errors, tokens) a gateway's parsers get.
pub fn answers(code: &str) -> Vec<&'static str> {
    match code {
        "sandbox" => vec![SANDBOX_PAYMENT, SANDBOX_PAID, SANDBOX_CANCELED, SANDBOX_ERROR],
        "moyasar" => vec![MOYASAR_INVOICE, MOYASAR_FAILED, MOYASAR_PAYMENT, MOYASAR_ERROR],
        "tap" => vec![TAP_CHARGE, TAP_KWD, TAP_REFUND, TAP_ERROR],
        "hyperpay" => vec![HYPERPAY_CHECKOUT, HYPERPAY_PAID, HYPERPAY_DECLINED, HYPERPAY_REFUND, HYPERPAY_ERROR],
        "aps" => vec![APS_PAID, APS_FAILED, APS_NONE, APS_REFUND, APS_MISMATCH],
        "stripe" => vec![STRIPE_SESSION, STRIPE_OPEN, STRIPE_REFUND, STRIPE_EXPIRED, STRIPE_ERROR],
        "paypal" => vec![
            PAYPAL_ORDER,
            PAYPAL_APPROVED,
            PAYPAL_REFUND,
            PAYPAL_TOKEN,
            PAYPAL_OAUTH_ERROR,
            PAYPAL_422,
            PAYPAL_VERIFIED,
        ],
        "paytabs" => vec![PAYTABS_PAID, PAYTABS_HOLD, PAYTABS_PAGE, PAYTABS_REFUND, PAYTABS_ERROR],
        // A gateway added to the registry later: every body we have (until it gets its own).
        _ => ["sandbox", "moyasar", "tap", "aps", "stripe", "paypal", "paytabs"]
            .iter()
            .flat_map(|c| answers(c))
            .collect(),
    }
}

/// Webhook bodies a gateway's `verify_webhook` gets.
pub fn webhooks(code: &str) -> Vec<&'static str> {
    match code {
        "sandbox" => vec![SANDBOX_EVENT],
        "moyasar" => vec![MOYASAR_EVENT],
        "tap" => vec![TAP_CHARGE, TAP_KWD],
        "hyperpay" => vec![HYPERPAY_EVENT],
        "aps" => vec![APS_PAID, APS_FAILED, APS_REFUND],
        "stripe" => vec![STRIPE_EVENT, STRIPE_PI_EVENT],
        "paypal" => vec![PAYPAL_ORDER_EVENT, PAYPAL_CAPTURE_EVENT],
        "paytabs" => vec![PAYTABS_PAID, PAYTABS_HOLD],
        _ => ["sandbox", "moyasar", "tap", "aps", "stripe", "paypal", "paytabs"]
            .iter()
            .flat_map(|c| webhooks(c))
            .collect(),
    }
}
