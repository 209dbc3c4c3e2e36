//! The sandbox gateway itself: its test cards, its rules, and its hosted page. The edge hosts it
//! (routes under `/sandbox/`) when `SANDBOX_ENABLED` is on; nothing here does I/O.
//!
//! Test cards (any future expiry, any 3-digit CVC):
//!
//! | number              | brand      | outcome                                   |
//! |---------------------|------------|-------------------------------------------|
//! | 4464 0400 0000 0007 | mada       | approved                                  |
//! | 4111 1111 1111 1111 | visa       | approved                                  |
//! | 5555 5555 5555 4444 | mastercard | approved                                  |
//! | 4000 0000 0000 0002 | visa       | declined: `card_declined` (`declined`)    |
//! | 4000 0000 0000 9995 | visa       | declined: `insufficient_funds`            |
//! | 4000 0000 0000 3220 | visa       | 3-D Secure challenge; code `123456` passes |

use super::wire::{CreatePayment, ErrorBody, ErrorDetail, Payment};
use serde::{Deserialize, Serialize};

/// The one challenge code that passes 3-D Secure.
pub const CHALLENGE_CODE: &str = "123456";

/// What a test card does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardBehaviour {
    /// Approved at once.
    Approve,
    /// Declined with this code and message.
    Decline(&'static str, &'static str),
    /// Asks for the challenge code first.
    Challenge,
}

/// The test cards: number, brand, behaviour.
pub const TEST_CARDS: &[(&str, &str, CardBehaviour)] = &[
    ("4464040000000007", "mada", CardBehaviour::Approve),
    ("4111111111111111", "visa", CardBehaviour::Approve),
    ("5555555555554444", "mastercard", CardBehaviour::Approve),
    ("4000000000000002", "visa", CardBehaviour::Decline("card_declined", "The card was declined by the issuer.")),
    ("4000000000009995", "visa", CardBehaviour::Decline("insufficient_funds", "The card has insufficient funds.")),
    ("4000000000003220", "visa", CardBehaviour::Challenge),
];

/// A payment as the sandbox stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The public view.
    pub payment: Payment,
    /// Browser return target.
    pub return_url: String,
    /// Webhook target.
    pub webhook_url: String,
    /// Page language.
    pub locale: String,
    /// Shown on the page.
    pub customer_name: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Webhooks still to send (event ids); the host delivers and retries them.
    #[serde(default)]
    pub webhooks_due: u32,
    /// When the page expires (unix seconds).
    #[serde(default)]
    pub expires_at: i64,
}

/// How long a sandbox payment page stays open.
pub const EXPIRES_AFTER_SECS: i64 = 30 * 60;

/// Validates a create request and makes the record. `id` is fresh and random; `page_base` is
/// where the hosted page lives (`https://edge.example/sandbox/pay`); the page stays open for
/// `ttl_secs`.
pub fn create(req: CreatePayment, id: String, page_base: &str, now: i64, ttl_secs: i64) -> Result<Record, ErrorBody> {
    let invalid = |message: String| ErrorBody { error: ErrorDetail { kind: "invalid_request_error".into(), message } };
    if req.amount <= 0 {
        return Err(invalid("amount must be a positive integer of minor units".into()));
    }
    if !super::CAPABILITIES.currencies.contains(&req.currency.as_str()) {
        return Err(invalid(format!("currency {} is not supported", req.currency)));
    }
    let method_ok =
        crate::method::PaymentMethod::from_code(&req.method).is_some_and(|m| super::CAPABILITIES.methods.contains(&m));
    if !method_ok {
        return Err(invalid(format!("method {} is not supported", req.method)));
    }
    if req.reference.is_empty() || req.reference.len() > 200 {
        return Err(invalid("reference must be 1 to 200 characters".into()));
    }
    let hosted_url = format!("{page_base}/{id}");
    Ok(Record {
        payment: Payment {
            id,
            reference: req.reference,
            status: "requires_payment_method".into(),
            amount: req.amount,
            currency: req.currency,
            method: req.method,
            hosted_url,
            card_brand: None,
            card_last4: None,
            failure_code: None,
            failure_message: None,
            refunded: 0,
            three_d_secure: None,
        },
        return_url: req.return_url,
        webhook_url: req.webhook_url,
        locale: req.locale,
        customer_name: req.customer_name,
        created_at: now,
        webhooks_due: 0,
        expires_at: now + ttl_secs,
    })
}

/// The card form as posted by the hosted page.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CardForm {
    /// Card number (spaces allowed).
    #[serde(default)]
    pub number: String,
    /// `MM/YY`.
    #[serde(default)]
    pub expiry: String,
    /// 3 or 4 digits.
    #[serde(default)]
    pub cvc: String,
}

/// What the page does after a submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageOutcome {
    /// Show the form again with this message (nothing changed).
    FormError(&'static str),
    /// Show the 3-D Secure challenge page.
    Challenge,
    /// The payment is decided: send the shopper back and the webhook out.
    Finished,
}

/// Whether the record still accepts input.
pub fn is_open(record: &Record, now: i64) -> bool {
    matches!(record.payment.status.as_str(), "requires_payment_method" | "requires_challenge")
        && now < record.expires_at
}

/// Applies a card submission.
pub fn submit_card(record: &mut Record, form: &CardForm, now: i64) -> PageOutcome {
    if !is_open(record, now) || record.payment.status != "requires_payment_method" {
        return PageOutcome::Finished;
    }
    let number: String = form.number.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
    if number.len() < 12 || number.len() > 19 || !number.bytes().all(|b| b.is_ascii_digit()) || !luhn_ok(&number) {
        return PageOutcome::FormError("card_number");
    }
    if !expiry_ok(&form.expiry) {
        return PageOutcome::FormError("expiry");
    }
    if !(form.cvc.len() == 3 || form.cvc.len() == 4) || !form.cvc.bytes().all(|b| b.is_ascii_digit()) {
        return PageOutcome::FormError("cvc");
    }
    let Some((_, brand, behaviour)) = TEST_CARDS.iter().find(|(n, _, _)| *n == number) else {
        return PageOutcome::FormError("unknown_test_card");
    };
    record.payment.card_brand = Some(brand.to_string());
    record.payment.card_last4 = Some(number[number.len() - 4..].to_string());
    match behaviour {
        CardBehaviour::Approve => finish(record, "succeeded", None),
        CardBehaviour::Decline(code, message) => finish(record, "failed", Some((code, message))),
        CardBehaviour::Challenge => {
            record.payment.status = "requires_challenge".into();
            return PageOutcome::Challenge;
        }
    }
    PageOutcome::Finished
}

/// Applies a 3-D Secure challenge answer.
pub fn submit_challenge(record: &mut Record, code: &str, now: i64) -> PageOutcome {
    if !is_open(record, now) || record.payment.status != "requires_challenge" {
        return PageOutcome::Finished;
    }
    let passed = code.trim() == CHALLENGE_CODE;
    record.payment.three_d_secure = Some(passed);
    if passed {
        finish(record, "succeeded", None);
    } else {
        finish(record, "failed", Some(("authentication_failed", "3-D Secure authentication failed.")));
    }
    PageOutcome::Finished
}

/// The shopper pressed "cancel" on the hosted page.
pub fn cancel(record: &mut Record, now: i64) -> PageOutcome {
    if is_open(record, now) {
        finish(record, "failed", Some(("canceled_by_shopper", "The shopper canceled the payment.")));
    }
    PageOutcome::Finished
}

/// The merchant closed the page (the shopper chose another method). Returns whether it changed.
pub fn cancel_by_merchant(record: &mut Record, now: i64) -> bool {
    if is_open(record, now) {
        finish(record, "canceled", Some(("superseded", "The merchant canceled this payment page.")));
        true
    } else {
        false
    }
}

/// Refunds `amount` (or the whole remainder) of a succeeded payment.
pub fn refund(record: &mut Record, amount: Option<i64>) -> Result<(), ErrorBody> {
    let invalid = |message: &str| ErrorBody {
        error: ErrorDetail { kind: "invalid_request_error".into(), message: message.into() },
    };
    if !matches!(record.payment.status.as_str(), "succeeded" | "refunded") {
        return Err(invalid("only a succeeded payment can be refunded"));
    }
    let remaining = record.payment.amount - record.payment.refunded;
    let amount = amount.unwrap_or(remaining);
    if amount <= 0 {
        return Err(invalid("the refund amount must be positive"));
    }
    if amount > remaining {
        return Err(invalid("the refund is larger than what remains of the payment"));
    }
    record.payment.refunded += amount;
    if record.payment.refunded == record.payment.amount {
        record.payment.status = "refunded".into();
    }
    Ok(())
}

/// Expires an unfinished payment whose page has been open too long.
pub fn expire_if_due(record: &mut Record, now: i64) -> bool {
    let unfinished = matches!(record.payment.status.as_str(), "requires_payment_method" | "requires_challenge");
    if unfinished && now >= record.expires_at {
        finish(record, "expired", Some(("expired", "The payment page expired.")));
        true
    } else {
        false
    }
}

fn finish(record: &mut Record, status: &str, failure: Option<(&str, &str)>) {
    record.payment.status = status.into();
    record.payment.failure_code = failure.map(|(c, _)| c.to_string());
    record.payment.failure_message = failure.map(|(_, m)| m.to_string());
    record.webhooks_due += 1;
}

fn luhn_ok(number: &str) -> bool {
    let sum: u32 = number
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = (b - b'0') as u32;
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

fn expiry_ok(expiry: &str) -> bool {
    let Some((mm, yy)) = expiry.trim().split_once('/') else {
        return false;
    };
    let (Ok(mm), Ok(_yy)) = (mm.trim().parse::<u8>(), yy.trim().parse::<u16>()) else {
        return false;
    };
    // The sandbox does not check the date against the clock: test cards never expire.
    (1..=12).contains(&mm)
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

struct PageText {
    title: &'static str,
    pay: &'static str,
    number: &'static str,
    expiry: &'static str,
    cvc: &'static str,
    cancel: &'static str,
    challenge_title: &'static str,
    challenge_hint: &'static str,
    challenge_code: &'static str,
    verify: &'static str,
    test_cards: &'static str,
    closed: &'static str,
}

const EN: PageText = PageText {
    title: "Bawaba sandbox payment",
    pay: "Pay",
    number: "Card number",
    expiry: "Expiry (MM/YY)",
    cvc: "CVC",
    cancel: "Cancel and return to the shop",
    challenge_title: "3-D Secure verification",
    challenge_hint: "Enter the code your bank sent you. In the sandbox the code is 123456.",
    challenge_code: "Verification code",
    verify: "Verify",
    test_cards: "Test cards",
    closed: "This payment is finished.",
};

const AR: PageText = PageText {
    title: "دفع تجريبي عبر بوابة",
    pay: "ادفع",
    number: "رقم البطاقة",
    expiry: "تاريخ الانتهاء (شهر/سنة)",
    cvc: "رمز التحقق",
    cancel: "إلغاء والعودة إلى المتجر",
    challenge_title: "التحقق الآمن ثلاثي الأبعاد",
    challenge_hint: "أدخل الرمز الذي أرسله البنك. في البيئة التجريبية الرمز هو 123456.",
    challenge_code: "رمز التحقق",
    verify: "تحقق",
    test_cards: "بطاقات الاختبار",
    closed: "اكتملت عملية الدفع هذه.",
};

fn form_error_text(code: &str, ar: bool) -> &'static str {
    match (code, ar) {
        ("card_number", false) => "The card number is not valid.",
        ("card_number", true) => "رقم البطاقة غير صحيح.",
        ("expiry", false) => "Enter the expiry as MM/YY.",
        ("expiry", true) => "أدخل تاريخ الانتهاء بصيغة شهر/سنة.",
        ("cvc", false) => "The CVC is 3 or 4 digits.",
        ("cvc", true) => "رمز التحقق من 3 أو 4 أرقام.",
        (_, false) => "Use one of the test cards listed below.",
        (_, true) => "استخدم إحدى بطاقات الاختبار أدناه.",
    }
}

/// The pages' one inline style (the edge allows it by its hash in the pages' CSP).
pub const PAGE_STYLE: &str = "body{font-family:system-ui,'Segoe UI',Tahoma,sans-serif;background:#f4f5f7;margin:0;color:#1d2433}\
main{max-inline-size:26rem;margin:2rem auto;background:#fff;border-radius:12px;padding:1.5rem;box-shadow:0 2px 12px #0002}\
h1{font-size:1.2rem;margin-block:0 .5rem}.amount{font-size:1.6rem;font-weight:700;margin-block:.5rem 1rem}\
label{display:block;margin-block:.75rem .25rem;font-weight:600}input{inline-size:100%;box-sizing:border-box;padding:.6rem;font-size:1rem;border:1px solid #b8bfcc;border-radius:8px}\
button{margin-block-start:1rem;inline-size:100%;padding:.75rem;font-size:1rem;font-weight:700;color:#fff;background:#0b6e4f;border:0;border-radius:8px;cursor:pointer}\
.error{color:#a4161a;font-weight:600}.cancel{background:none;color:#445;text-decoration:underline;font-weight:400}\
table{border-collapse:collapse;margin-block-start:1rem;font-size:.85rem}td{padding:.2rem .5rem;border-block-end:1px solid #eee}\
.badge{display:inline-block;background:#ffe08a;padding:.1rem .5rem;border-radius:4px;font-size:.8rem}";

fn page(record: &Record, inner: &str, t: &PageText, ar: bool) -> String {
    let (lang, dir) = if ar { ("ar", "rtl") } else { ("en", "ltr") };
    let amount = crate::money::Currency::parse(&record.payment.currency)
        .map(|c| crate::money::Money::new(record.payment.amount, c).to_major_string())
        .unwrap_or_else(|_| record.payment.amount.to_string());
    format!(
        "<!doctype html><html lang=\"{lang}\" dir=\"{dir}\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{title}</title><style>{PAGE_STYLE}</style></head>\
<body><main><span class=\"badge\">SANDBOX</span><h1>{title}</h1>\
<p class=\"amount\" id=\"amount\"><span dir=\"ltr\">{amount} {currency}</span></p>{inner}</main></body></html>",
        title = t.title,
        currency = escape_html(&record.payment.currency),
    )
}

/// The card page (or the "finished" page once decided).
pub fn render_card_page(record: &Record, error: Option<&str>, now: i64) -> String {
    let ar = record.locale == "ar";
    let t = if ar { &AR } else { &EN };
    if !is_open(record, now) {
        return page(record, &format!("<p id=\"closed\">{}</p>", t.closed), t, ar);
    }
    if record.payment.status == "requires_challenge" {
        return render_challenge_page(record, None, now);
    }
    let id = escape_html(&record.payment.id);
    let error_html = error
        .map(|e| format!("<p class=\"error\" id=\"form-error\" role=\"alert\">{}</p>", form_error_text(e, ar)))
        .unwrap_or_default();
    let cards: String = TEST_CARDS
        .iter()
        .map(|(n, brand, b)| {
            let what = match b {
                CardBehaviour::Approve => "approve",
                CardBehaviour::Decline(code, _) => code,
                CardBehaviour::Challenge => "3-D Secure",
            };
            format!("<tr><td dir=\"ltr\">{n}</td><td>{brand}</td><td>{what}</td></tr>")
        })
        .collect();
    let inner = format!(
        "{error_html}<form method=\"post\" action=\"/sandbox/pay/{id}\" id=\"card-form\">\
<label for=\"number\">{number}</label><input id=\"number\" name=\"number\" inputmode=\"numeric\" autocomplete=\"cc-number\" dir=\"ltr\" required>\
<label for=\"expiry\">{expiry}</label><input id=\"expiry\" name=\"expiry\" placeholder=\"12/34\" autocomplete=\"cc-exp\" dir=\"ltr\" required>\
<label for=\"cvc\">{cvc}</label><input id=\"cvc\" name=\"cvc\" inputmode=\"numeric\" autocomplete=\"cc-csc\" dir=\"ltr\" required>\
<button type=\"submit\" id=\"pay\">{pay}</button></form>\
<form method=\"post\" action=\"/sandbox/pay/{id}/cancel\"><button class=\"cancel\" type=\"submit\" id=\"cancel\">{cancel}</button></form>\
<details><summary>{test_cards}</summary><table>{cards}</table></details>",
        number = t.number,
        expiry = t.expiry,
        cvc = t.cvc,
        pay = t.pay,
        cancel = t.cancel,
        test_cards = t.test_cards,
    );
    page(record, &inner, t, ar)
}

/// The 3-D Secure challenge page.
pub fn render_challenge_page(record: &Record, _error: Option<&str>, _now: i64) -> String {
    let ar = record.locale == "ar";
    let t = if ar { &AR } else { &EN };
    let id = escape_html(&record.payment.id);
    let inner = format!(
        "<h2>{title}</h2><p>{hint}</p><form method=\"post\" action=\"/sandbox/pay/{id}/challenge\" id=\"challenge-form\">\
<label for=\"code\">{code}</label><input id=\"code\" name=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" dir=\"ltr\" required>\
<button type=\"submit\" id=\"verify\">{verify}</button></form>",
        title = t.challenge_title,
        hint = t.challenge_hint,
        code = t.challenge_code,
        verify = t.verify,
    );
    page(record, &inner, t, ar)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> Record {
        create(
            CreatePayment {
                reference: "demo:S1".into(),
                amount: 10050,
                currency: "SAR".into(),
                method: "visa".into(),
                return_url: "http://edge/r".into(),
                webhook_url: "http://edge/w".into(),
                locale: "en".into(),
                customer_name: None,
            },
            "sbx_1".into(),
            "http://edge/sandbox/pay",
            1000,
            EXPIRES_AFTER_SECS,
        )
        .unwrap()
    }

    fn card(number: &str) -> CardForm {
        CardForm { number: number.into(), expiry: "12/34".into(), cvc: "123".into() }
    }

    #[test]
    fn every_test_card_passes_luhn() {
        for (n, _, _) in TEST_CARDS {
            assert!(luhn_ok(n), "{n}");
        }
        assert!(!luhn_ok("4111111111111112"));
    }

    #[test]
    fn approve_decline_and_challenge() {
        let mut r = record();
        assert_eq!(submit_card(&mut r, &card("4111 1111 1111 1111"), 1001), PageOutcome::Finished);
        assert_eq!(r.payment.status, "succeeded");
        assert_eq!(r.payment.card_last4.as_deref(), Some("1111"));
        assert_eq!(r.webhooks_due, 1);

        let mut r = record();
        submit_card(&mut r, &card("4000000000009995"), 1001);
        assert_eq!(r.payment.status, "failed");
        assert_eq!(r.payment.failure_code.as_deref(), Some("insufficient_funds"));

        let mut r = record();
        assert_eq!(submit_card(&mut r, &card("4000000000003220"), 1001), PageOutcome::Challenge);
        assert_eq!(r.webhooks_due, 0);
        submit_challenge(&mut r, "123456", 1002);
        assert_eq!(r.payment.status, "succeeded");

        let mut r = record();
        submit_card(&mut r, &card("4000000000003220"), 1001);
        submit_challenge(&mut r, "000000", 1002);
        assert_eq!(r.payment.failure_code.as_deref(), Some("authentication_failed"));
    }

    #[test]
    fn bad_input_keeps_the_payment_open() {
        let mut r = record();
        assert_eq!(submit_card(&mut r, &card("4111111111111112"), 1001), PageOutcome::FormError("card_number"));
        let mut f = card("4111111111111111");
        f.expiry = "13/30".into();
        assert_eq!(submit_card(&mut r, &f, 1001), PageOutcome::FormError("expiry"));
        assert_eq!(submit_card(&mut r, &card("4242424242424242"), 1001), PageOutcome::FormError("unknown_test_card"));
        assert_eq!(r.payment.status, "requires_payment_method");
    }

    #[test]
    fn a_decided_payment_cannot_be_paid_again() {
        let mut r = record();
        submit_card(&mut r, &card("4000000000000002"), 1001);
        submit_card(&mut r, &card("4111111111111111"), 1002);
        assert_eq!(r.payment.status, "failed");
        assert_eq!(r.webhooks_due, 1);
    }

    #[test]
    fn a_merchant_cancel_closes_only_open_pages() {
        let mut r = record();
        assert!(cancel_by_merchant(&mut r, 1001));
        assert_eq!(r.payment.status, "canceled");
        assert_eq!(submit_card(&mut r, &card("4111111111111111"), 1002), PageOutcome::Finished);
        assert_eq!(r.payment.status, "canceled", "a canceled page cannot be paid");
        let mut paid = record();
        submit_card(&mut paid, &card("4111111111111111"), 1001);
        assert!(!cancel_by_merchant(&mut paid, 1002));
        assert_eq!(paid.payment.status, "succeeded");
    }

    #[test]
    fn refunds_are_partial_then_full_and_never_more() {
        let mut r = record();
        assert!(refund(&mut r, Some(100)).is_err(), "nothing to refund before payment");
        submit_card(&mut r, &card("4111111111111111"), 1001);
        refund(&mut r, Some(50)).unwrap();
        assert_eq!((r.payment.status.as_str(), r.payment.refunded), ("succeeded", 50));
        assert!(refund(&mut r, Some(10001)).is_err());
        refund(&mut r, None).unwrap();
        assert_eq!((r.payment.status.as_str(), r.payment.refunded), ("refunded", 10050));
        assert!(refund(&mut r, Some(1)).is_err());
    }

    #[test]
    fn pages_expire() {
        let mut r = record();
        assert!(expire_if_due(&mut r, 1000 + EXPIRES_AFTER_SECS));
        assert_eq!(r.payment.status, "expired");
    }

    #[test]
    fn create_refuses_bad_requests() {
        let base = CreatePayment {
            reference: "r".into(),
            amount: 1,
            currency: "SAR".into(),
            method: "visa".into(),
            return_url: String::new(),
            webhook_url: String::new(),
            locale: "en".into(),
            customer_name: None,
        };
        let bad = [
            CreatePayment { amount: 0, ..base.clone() },
            CreatePayment { currency: "JPY".into(), ..base.clone() },
            CreatePayment { method: "stcpay".into(), ..base.clone() },
        ];
        for b in bad {
            assert!(create(b, "x".into(), "p", 0, 60).is_err());
        }
    }

    #[test]
    fn pages_are_bilingual_and_escaped() {
        let mut r = record();
        r.payment.id = "<x>".into();
        assert!(render_card_page(&r, None, 1001).contains("/sandbox/pay/&lt;x&gt;"));
        r.locale = "ar".into();
        let html = render_card_page(&r, Some("cvc"), 1001);
        assert!(html.contains("dir=\"rtl\""));
        assert!(html.contains("role=\"alert\""));
    }
}
