//! Apple Pay in the page through APS, with the merchant's own Apple merchant: the edge validates
//! the merchant with Apple ([`crate::applepay`]), the sheet's token goes to APS server-to-server
//! as a JSON `PURCHASE` with `digital_wallet: "APPLE_PAY"` on `FortAPI/paymentApi`, signed with
//! the **Apple Pay** access code, SHA phrases and SHA type (APS keeps them apart from the card
//! ones, in its back office's Apple Pay section).
//!
//! Sources (docs/gateways/aps.md): APS's Apple Pay API page
//! (paymentservices.amazon.com/docs/api/payment-methods/apple-pay); payfort/payfort-php-sdk
//! `Core/APSSignature.php` (the Apple Pay phrases are chosen when `apple_header`,
//! `apple_paymentMethod` or `digital_wallet=APPLE_PAY` is present; `apple_header` and
//! `apple_paymentMethod` enter the signature as `key={k=v, k=v}` in their own order) and
//! `Model/Payment/ApplePayAuthorization.php` (the fields, the three keys of each object);
//! payfort/woocommerce-payfort (status checks, refunds and captures of an Apple Pay order use
//! the Apple Pay access code and phrases; its feedback is verified with the Apple Pay response
//! phrase).
//!
//! A payment made this way has a `merchant_reference` of its own shape (`bwap-…`), so that the
//! status query, the refund and the notification of it are signed with the Apple Pay keys even
//! though they only see the reference.

use super::{Config, ShaType};
use crate::applepay::ApplepayToken;
use crate::gateway::{GatewayError, GatewaySession, HttpMethod, HttpRequest, HttpResponse, SessionFlow, StartInput};
use crate::signature::SignatureError;
use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};
use std::collections::BTreeMap;

/// The `merchant_reference` prefix of an Apple Pay payment (a card page's is `bw-`).
pub const REFERENCE_PREFIX: &str = "bwap-";

/// The `merchant_reference` of an Apple Pay payment, from the session's random key (at most 35
/// characters, within APS's 40).
pub fn merchant_reference(random_hex: &str) -> String {
    let clean: String = random_hex.chars().filter(|c| c.is_ascii_alphanumeric()).take(30).collect();
    format!("{REFERENCE_PREFIX}{clean}")
}

/// Whether a `merchant_reference` is an Apple Pay payment's.
pub fn is_applepay_reference(reference: &str) -> bool {
    reference.starts_with(REFERENCE_PREFIX)
}

/// One parameter of an APS JSON message: text, or one of Apple's objects (`apple_header`,
/// `apple_paymentMethod`) as its pairs in the order they are sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Param {
    /// A value (numbers and booleans as their JSON text, as APS signs them).
    Text(String),
    /// An object, its pairs in order.
    Object(Vec<(String, String)>),
}

impl Param {
    /// The value as it enters the signature (`{k=v, k=v}` for an object).
    pub fn signed_text(&self) -> String {
        match self {
            Param::Text(t) => t.clone(),
            Param::Object(pairs) => {
                let inner: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
                format!("{{{}}}", inner.join(", "))
            }
        }
    }
}

fn text(value: impl Into<String>) -> Param {
    Param::Text(value.into())
}

/// The text APS hashes: the phrase, the sorted `key=value` pairs (`signature` left out; an
/// object as `key={k=v, k=v}` in its order), the phrase.
pub fn signature_text(params: &BTreeMap<String, Param>, phrase: &str) -> String {
    let mut out = String::from(phrase);
    for (k, v) in params.iter().filter(|(k, _)| k.as_str() != "signature") {
        out.push_str(k);
        out.push('=');
        out.push_str(&v.signed_text());
    }
    out.push_str(phrase);
    out
}

/// The signature of `params`.
pub fn sign_params(params: &BTreeMap<String, Param>, phrase: &str, sha: ShaType) -> String {
    super::digest(&signature_text(params, phrase), sha)
}

/// Verifies a message signed with `cfg`'s response phrase.
pub fn verify_params(params: &BTreeMap<String, Param>, cfg: &Config) -> Result<(), SignatureError> {
    let given = match params.get("signature") {
        Some(Param::Text(s)) if !s.is_empty() => s,
        _ => return Err(SignatureError::Missing),
    };
    let expected = sign_params(params, cfg.response_phrase.expose(), cfg.sha_type);
    if crate::constant_time_eq(given.to_ascii_lowercase().as_bytes(), expected.as_bytes()) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// The JSON body, objects' pairs in their order (what was signed).
pub fn to_json(params: &BTreeMap<String, Param>) -> Vec<u8> {
    let quote = |s: &str| serde_json::to_string(s).expect("a string serializes");
    let fields: Vec<String> = params
        .iter()
        .map(|(k, v)| {
            let value = match v {
                Param::Text(t) => quote(t),
                Param::Object(pairs) => {
                    let inner: Vec<String> = pairs.iter().map(|(a, b)| format!("{}:{}", quote(a), quote(b))).collect();
                    format!("{{{}}}", inner.join(","))
                }
            };
            format!("{}:{value}", quote(k))
        })
        .collect();
    format!("{{{}}}", fields.join(",")).into_bytes()
}

/// Reads an APS JSON answer, keeping the order of the pairs of its objects (which its signature
/// follows). `null`s are left out.
pub fn read_params(body: &[u8]) -> Result<BTreeMap<String, Param>, GatewayError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let pairs = de.deserialize_map(TopVisitor).map_err(|e| GatewayError::InvalidResponse(e.to_string()))?;
    de.end().map_err(|e| GatewayError::InvalidResponse(e.to_string()))?;
    Ok(pairs.into_iter().collect())
}

/// The answer's pairs as text (objects as they are signed).
pub fn flatten(params: &BTreeMap<String, Param>) -> BTreeMap<String, String> {
    params.iter().map(|(k, v)| (k.clone(), v.signed_text())).collect()
}

struct TopVisitor;

impl<'de> Visitor<'de> for TopVisitor {
    type Value = Vec<(String, Param)>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some((k, v)) = map.next_entry::<String, Field>()? {
            match v {
                Field::Null => {}
                Field::Text(t) => out.push((k, Param::Text(t))),
                Field::Object(pairs) => out.push((k, Param::Object(pairs))),
            }
        }
        Ok(out)
    }
}

enum Field {
    Null,
    Text(String),
    Object(Vec<(String, String)>),
}

fn json_text(v: serde_json::Value) -> String {
    v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())
}

impl<'de> serde::Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Field;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_unit<E>(self) -> Result<Field, E> {
                Ok(Field::Null)
            }
            fn visit_none<E>(self) -> Result<Field, E> {
                Ok(Field::Null)
            }
            fn visit_bool<E>(self, v: bool) -> Result<Field, E> {
                Ok(Field::Text(v.to_string()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Field, E> {
                Ok(Field::Text(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Field, E> {
                Ok(Field::Text(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Field, E> {
                Ok(Field::Text(serde_json::Number::from_f64(v).map(|n| n.to_string()).unwrap_or_default()))
            }
            fn visit_str<E>(self, v: &str) -> Result<Field, E> {
                Ok(Field::Text(v.to_string()))
            }
            fn visit_string<E>(self, v: String) -> Result<Field, E> {
                Ok(Field::Text(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Field, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<serde_json::Value>()? {
                    items.push(item);
                }
                Ok(Field::Text(serde_json::Value::Array(items).to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Field, A::Error> {
                let mut pairs = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, serde_json::Value>()? {
                    if !v.is_null() {
                        pairs.push((k, json_text(v)));
                    }
                }
                Ok(Field::Object(pairs))
            }
        }
        d.deserialize_any(V)
    }
}

fn refused(message: impl Into<String>) -> GatewayError {
    GatewayError::Rejected { status: 400, message: message.into() }
}

/// The Apple Pay `PURCHASE` of the sheet's `token` (JSON text), signed with `ap` (the
/// connector's config with the Apple Pay access code, phrases and SHA type). A token
/// [`ApplepayToken::parse`] refuses, or one without the EC_v1 ephemeral key APS's
/// `apple_header` needs, is refused (400) before any call.
pub fn build_purchase(ap: &Config, input: &StartInput<'_>, token_json: &str) -> Result<HttpRequest, GatewayError> {
    if !super::CAPABILITIES.serves(input.method, input.money.currency.code()) {
        return Err(refused(format!("APS does not take {} in {}", input.method.code(), input.money.currency)));
    }
    let token = ApplepayToken::parse(token_json).map_err(refused)?;
    let data = &token.payment_data;
    let ephemeral = data.header.ephemeral_public_key.clone().filter(|k| !k.is_empty()).ok_or_else(|| {
        refused("APS takes EC_v1 Apple Pay tokens: this one has no ephemeral public key (apple_header)")
    })?;
    let method = &token.payment_method;
    let mut p: BTreeMap<String, Param> = BTreeMap::new();
    p.insert("digital_wallet".into(), text("APPLE_PAY"));
    // A sale: mada takes no AUTHORIZATION.
    p.insert("command".into(), text("PURCHASE"));
    p.insert("access_code".into(), text(ap.access_code.expose()));
    p.insert("merchant_identifier".into(), text(ap.merchant_identifier.clone()));
    p.insert("merchant_reference".into(), text(merchant_reference(input.session_key)));
    p.insert("amount".into(), text(input.money.minor.to_string()));
    p.insert("currency".into(), text(input.money.currency.code()));
    p.insert("language".into(), text(if input.locale == "ar" { "ar" } else { "en" }));
    p.insert("customer_email".into(), text(input.customer_email.unwrap_or("customer@example.com")));
    p.insert("apple_data".into(), text(data.data.clone()));
    p.insert("apple_signature".into(), text(data.signature.clone()));
    // The order of ApplePayAuthorization.php's lists, kept in the body and in the signature.
    p.insert(
        "apple_header".into(),
        Param::Object(vec![
            ("apple_transactionId".into(), data.header.transaction_id.clone()),
            ("apple_ephemeralPublicKey".into(), ephemeral),
            ("apple_publicKeyHash".into(), data.header.public_key_hash.clone()),
        ]),
    );
    p.insert(
        "apple_paymentMethod".into(),
        Param::Object(vec![
            ("apple_displayName".into(), method.display_name.clone()),
            ("apple_network".into(), method.network.clone()),
            ("apple_type".into(), method.kind.clone()),
        ]),
    );
    let signature = sign_params(&p, ap.request_phrase.expose(), ap.sha_type);
    p.insert("signature".into(), text(signature));
    Ok(HttpRequest {
        method: HttpMethod::Post,
        url: format!("{}/FortAPI/paymentApi", ap.api_base),
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: Some(to_json(&p)),
    })
}

/// `response_code`s of a purchase APS holds for review: the payment is pending, never paid.
pub const ON_HOLD: &[&str] = &["15777", "15778", "15779", "15780", "15781", "00006", "02006"];

/// Reads the purchase's answer: verified with the Apple Pay response phrase (an unsigned or
/// forged answer is `InvalidResponse`, and nothing is paid), for this session's reference,
/// amount and currency (`Mismatch` otherwise). A refusal of the request (`00…`, an invalid
/// request: no transaction exists) is `Rejected`; a `3ds_url` sends the shopper there (a
/// hosted-style session); anything else was charged or declined or held, and the status query
/// that follows at once ([`SessionFlow::Direct`]) is the truth.
pub fn parse_purchase(
    ap: &Config,
    input: &StartInput<'_>,
    resp: &HttpResponse,
) -> Result<GatewaySession, GatewayError> {
    if resp.status >= 500 {
        return Err(GatewayError::Unreachable(format!("HTTP {}", resp.status)));
    }
    let params = read_params(&resp.body)?;
    let get = |k: &str| match params.get(k) {
        Some(Param::Text(t)) => Some(t.as_str()),
        _ => None,
    };
    let code = get("response_code").unwrap_or_default().to_string();
    let message = || format!("{code} {}", get("response_message").unwrap_or_default()).trim().to_string();
    if code.ends_with("008") {
        // "Signature mismatch": APS did not take our signature (a wrong Apple Pay request
        // phrase, access code or SHA type); its answer is not signed then.
        return Err(GatewayError::Rejected { status: 401, message: message() });
    }
    verify_params(&params, ap)
        .map_err(|e| GatewayError::InvalidResponse(format!("APS's Apple Pay answer is not authentic: {e}")))?;
    let ours = merchant_reference(input.session_key);
    let reference = get("merchant_reference").unwrap_or_default();
    if reference != ours {
        return Err(GatewayError::Mismatch(format!("reference {reference:?} instead of {ours:?}")));
    }
    if let Some(amount) = get("amount") {
        if amount.parse::<i64>().ok() != Some(input.money.minor) {
            return Err(GatewayError::Mismatch(format!("amount {amount} instead of {}", input.money.minor)));
        }
    }
    if let Some(currency) = get("currency") {
        if !currency.eq_ignore_ascii_case(input.money.currency.code()) {
            return Err(GatewayError::Mismatch(format!("currency {currency} instead of {}", input.money.currency)));
        }
    }
    let status = get("status").unwrap_or_default();
    if status == "00" && !ON_HOLD.contains(&code.as_str()) {
        return Err(refused(message()));
    }
    if let Some(url) = get("3ds_url").filter(|u| !u.is_empty()) {
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(GatewayError::InvalidResponse(format!("3ds_url {url:?} is not a web address")));
        }
        return Ok(GatewaySession { id: ours, redirect_url: url.to_string(), form: None, flow: SessionFlow::Hosted });
    }
    Ok(GatewaySession { id: ours, redirect_url: String::new(), form: None, flow: SessionFlow::Direct })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::Wallet;
    use crate::method::PaymentMethod;
    use crate::money::{Currency, Money};
    use crate::secret::Secret;
    use sha2::Digest;

    fn ap() -> Config {
        Config {
            merchant_identifier: "MERCH".into(),
            access_code: Secret::new("AP-ACCESS"),
            request_phrase: Secret::new("APREQ"),
            response_phrase: Secret::new("APRES"),
            sha_type: ShaType::Sha256,
            page_base: "https://sbcheckout.payfort.com".into(),
            api_base: "https://sbpaymentservices.payfort.com".into(),
        }
    }

    const TOKEN: &str = r#"{"paymentData":{"version":"EC_v1","data":"ZGF0YQ==","signature":"c2ln",
        "header":{"ephemeralPublicKey":"a2V5","publicKeyHash":"aGFzaA==","transactionId":"abc123"}},
        "paymentMethod":{"displayName":"mada 1010","network":"mada","type":"debit"},"transactionIdentifier":"ABC123"}"#;

    fn sar(minor: i64) -> Money {
        Money::new(minor, Currency::parse("SAR").unwrap())
    }

    fn input(wallet: &Wallet) -> StartInput<'_> {
        StartInput {
            session_key: "c0ffee",
            customer_email: Some("a@b.c"),
            wallet: Some(wallet),
            ..StartInput::sample(sar(4550), PaymentMethod::Applepay)
        }
    }

    #[test]
    fn nested_objects_are_signed_in_their_order_joined_by_comma_space() {
        let mut p = BTreeMap::new();
        p.insert("digital_wallet".to_string(), text("APPLE_PAY"));
        p.insert(
            "apple_header".into(),
            Param::Object(vec![
                ("apple_transactionId".into(), "t1".into()),
                ("apple_ephemeralPublicKey".into(), "k1".into()),
                ("apple_publicKeyHash".into(), "h1".into()),
            ]),
        );
        p.insert(
            "apple_paymentMethod".into(),
            Param::Object(vec![
                ("apple_displayName".into(), "Visa 0492".into()),
                ("apple_network".into(), "Visa".into()),
                ("apple_type".into(), "debit".into()),
            ]),
        );
        p.insert("amount".into(), text("4550"));
        p.insert("signature".into(), text("left out"));
        let expected = "PHRASEamount=4550\
apple_header={apple_transactionId=t1, apple_ephemeralPublicKey=k1, apple_publicKeyHash=h1}\
apple_paymentMethod={apple_displayName=Visa 0492, apple_network=Visa, apple_type=debit}\
digital_wallet=APPLE_PAYPHRASE";
        assert_eq!(signature_text(&p, "PHRASE"), expected);
        assert_eq!(sign_params(&p, "PHRASE", ShaType::Sha256), hex::encode(sha2::Sha256::digest(expected.as_bytes())));
        assert_eq!(sign_params(&p, "PHRASE", ShaType::Sha512), hex::encode(sha2::Sha512::digest(expected.as_bytes())));
        // Text-only messages sign as the card messages do.
        let mut flat = BTreeMap::new();
        flat.insert("a".to_string(), "1".to_string());
        let as_params: BTreeMap<String, Param> = flat.iter().map(|(k, v)| (k.clone(), text(v.clone()))).collect();
        assert_eq!(sign_params(&as_params, "X", ShaType::Sha256), super::super::sign(&flat, "X", ShaType::Sha256));
    }

    #[test]
    fn the_purchase_carries_the_token_signed_with_the_apple_pay_phrase() {
        let wallet = Wallet::Applepay { token: TOKEN.into() };
        let req = build_purchase(&ap(), &input(&wallet), TOKEN).unwrap();
        assert_eq!(req.url, "https://sbpaymentservices.payfort.com/FortAPI/paymentApi");
        let body = String::from_utf8(req.body.clone().unwrap()).unwrap();
        // The objects' order in the body is the signed one.
        let at = |s: &str| body.find(s).unwrap_or_else(|| panic!("{s} in {body}"));
        assert!(at("apple_transactionId") < at("apple_ephemeralPublicKey"));
        assert!(at("apple_ephemeralPublicKey") < at("apple_publicKeyHash"));
        assert!(at("apple_displayName") < at("apple_network") && at("apple_network") < at("apple_type"));
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        for (k, want) in [
            ("digital_wallet", "APPLE_PAY"),
            ("command", "PURCHASE"),
            ("access_code", "AP-ACCESS"),
            ("merchant_identifier", "MERCH"),
            ("merchant_reference", "bwap-c0ffee"),
            ("amount", "4550"),
            ("currency", "SAR"),
            ("customer_email", "a@b.c"),
            ("apple_data", "ZGF0YQ=="),
            ("apple_signature", "c2ln"),
        ] {
            assert_eq!(v[k], want, "{k}");
        }
        assert_eq!(
            v["apple_header"],
            serde_json::json!({"apple_transactionId":"abc123","apple_ephemeralPublicKey":"a2V5","apple_publicKeyHash":"aGFzaA=="})
        );
        assert_eq!(
            v["apple_paymentMethod"],
            serde_json::json!({"apple_displayName":"mada 1010","apple_network":"mada","apple_type":"debit"})
        );
        let sent = read_params(&req.body.unwrap()).unwrap();
        let expected = sign_params(&sent, "APREQ", ShaType::Sha256);
        assert_eq!(sent["signature"], text(expected));
        assert_ne!(sign_params(&sent, "REQ", ShaType::Sha256), sign_params(&sent, "APREQ", ShaType::Sha256));
        assert!(is_applepay_reference("bwap-c0ffee") && !is_applepay_reference("bw-c0ffee"));
        assert!(merchant_reference(&"f".repeat(64)).len() <= 40);
    }

    #[test]
    fn tokens_aps_cannot_take_are_refused_before_any_call() {
        let rsa = TOKEN.replace(r#""ephemeralPublicKey":"a2V5""#, r#""wrappedKey":"d3JhcA==""#);
        for bad in ["not json", r#"{"paymentData":{}}"#, rsa.as_str()] {
            let wallet = Wallet::Applepay { token: bad.into() };
            assert!(
                matches!(build_purchase(&ap(), &input(&wallet), bad), Err(GatewayError::Rejected { status: 400, .. })),
                "{bad}"
            );
        }
        let wallet = Wallet::Applepay { token: TOKEN.into() };
        let kwd = StartInput { money: Money::new(1, Currency::parse("GBP").unwrap()), ..input(&wallet) };
        assert!(matches!(build_purchase(&ap(), &kwd, TOKEN), Err(GatewayError::Rejected { status: 400, .. })));
    }

    fn answer(fields: &[(&str, &str)], phrase: &str) -> HttpResponse {
        let mut p: BTreeMap<String, Param> = fields.iter().map(|(k, v)| (k.to_string(), text(*v))).collect();
        // APS echoes the request's objects.
        p.insert(
            "apple_header".into(),
            Param::Object(vec![
                ("apple_transactionId".into(), "abc123".into()),
                ("apple_ephemeralPublicKey".into(), "a2V5".into()),
                ("apple_publicKeyHash".into(), "aGFzaA==".into()),
            ]),
        );
        let s = sign_params(&p, phrase, ShaType::Sha256);
        p.insert("signature".into(), text(s));
        HttpResponse { status: 200, body: to_json(&p) }
    }

    const PAID: &[(&str, &str)] = &[
        ("command", "PURCHASE"),
        ("digital_wallet", "APPLE_PAY"),
        ("merchant_reference", "bwap-c0ffee"),
        ("amount", "4550"),
        ("currency", "SAR"),
        ("status", "14"),
        ("response_code", "14000"),
        ("response_message", "Success"),
        ("fort_id", "169996200001"),
        ("payment_option", "MADA"),
        ("card_number", "446404******1010"),
        ("eci", "ECOMMERCE"),
    ];

    fn with(
        base: &[(&'static str, &'static str)],
        changes: &[(&'static str, &'static str)],
    ) -> Vec<(&'static str, &'static str)> {
        let mut out: Vec<_> = base.iter().filter(|(k, _)| !changes.iter().any(|(c, _)| c == k)).copied().collect();
        out.extend_from_slice(changes);
        out
    }

    #[test]
    fn the_answer_is_verified_with_the_apple_pay_phrase_then_fetched() {
        let wallet = Wallet::Applepay { token: TOKEN.into() };
        let i = input(&wallet);
        let paid = parse_purchase(&ap(), &i, &answer(PAID, "APRES")).unwrap();
        assert_eq!((paid.id.as_str(), &paid.flow), ("bwap-c0ffee", &SessionFlow::Direct));
        for changes in [
            &[("status", "13"), ("response_code", "13016"), ("response_message", "Insufficient Funds")][..],
            &[("status", "15"), ("response_code", "15777"), ("response_message", "On hold")][..],
            &[("status", "00"), ("response_code", "00006"), ("response_message", "On hold")][..],
        ] {
            let session = parse_purchase(&ap(), &i, &answer(&with(PAID, changes), "APRES")).unwrap();
            assert_eq!(session.flow, SessionFlow::Direct, "the status query says which: {changes:?}");
        }
        // Signed with the card phrase, or forged: never taken.
        assert!(matches!(parse_purchase(&ap(), &i, &answer(PAID, "RES")), Err(GatewayError::InvalidResponse(_))));
        let mut forged: serde_json::Value = serde_json::from_slice(&answer(PAID, "APRES").body).unwrap();
        forged["amount"] = "1".into();
        let forged = HttpResponse { status: 200, body: forged.to_string().into_bytes() };
        assert!(matches!(parse_purchase(&ap(), &i, &forged), Err(GatewayError::InvalidResponse(_))));
        // The objects' order is part of the signature.
        let mut reordered = String::from_utf8(answer(PAID, "APRES").body).unwrap();
        reordered = reordered.replace(
            r#""apple_transactionId":"abc123","apple_ephemeralPublicKey":"a2V5""#,
            r#""apple_ephemeralPublicKey":"a2V5","apple_transactionId":"abc123""#,
        );
        let reordered = HttpResponse { status: 200, body: reordered.into_bytes() };
        assert!(matches!(parse_purchase(&ap(), &i, &reordered), Err(GatewayError::InvalidResponse(_))));
        // Authentic but for something else.
        for changes in [&[("amount", "4549")][..], &[("currency", "USD")], &[("merchant_reference", "bwap-other")]] {
            assert!(
                matches!(
                    parse_purchase(&ap(), &i, &answer(&with(PAID, changes), "APRES")),
                    Err(GatewayError::Mismatch(_))
                ),
                "{changes:?}"
            );
        }
        let invalid =
            with(PAID, &[("status", "00"), ("response_code", "00016"), ("response_message", "Invalid apple data")]);
        assert_eq!(
            parse_purchase(&ap(), &i, &answer(&invalid, "APRES")),
            Err(GatewayError::Rejected { status: 400, message: "00016 Invalid apple data".into() })
        );
        let mismatch = HttpResponse {
            status: 200,
            body: br#"{"response_code":"00008","response_message":"Signature mismatch","status":"00"}"#.to_vec(),
        };
        assert!(matches!(parse_purchase(&ap(), &i, &mismatch), Err(GatewayError::Rejected { status: 401, .. })));
        let down = HttpResponse { status: 503, body: b"busy".to_vec() };
        assert!(matches!(parse_purchase(&ap(), &i, &down), Err(GatewayError::Unreachable(_))));
        let three_ds =
            with(PAID, &[("status", "20"), ("response_code", "20064"), ("3ds_url", "https://3ds.example/acs")]);
        let session = parse_purchase(&ap(), &i, &answer(&three_ds, "APRES")).unwrap();
        assert_eq!((session.flow, session.redirect_url.as_str()), (SessionFlow::Hosted, "https://3ds.example/acs"));
    }

    #[test]
    fn answers_are_read_with_their_objects_in_order() {
        let p = read_params(br#"{"b":1,"a":"x","n":null,"o":{"z":"1","y":2},"f":true}"#).unwrap();
        assert_eq!(p["b"], text("1"));
        assert_eq!(p["f"], text("true"));
        assert!(!p.contains_key("n"));
        assert_eq!(p["o"], Param::Object(vec![("z".into(), "1".into()), ("y".into(), "2".into())]));
        assert_eq!(flatten(&p)["o"], "{z=1, y=2}");
        assert!(read_params(b"[1]").is_err());
        assert!(read_params(b"{} trailing").is_err());
    }
}
