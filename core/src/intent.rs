//! The payment intent: a JWT (HS256, RFC 7519) that the shop signs and the browser carries to
//! the edge. It is the only way an amount reaches the edge: the browser is never trusted with it.
//!
//! HS256 with a fixed algorithm is a few lines over RustCrypto's `hmac`; general JWT crates
//! bring RSA and EC code (and `getrandom`) into a worker that never needs them, and would hide
//! the distinct error codes the API promises (`intent_expired` vs `intent_invalid_signature`).

use crate::method::PaymentMethod;
use crate::money::{Currency, Money};
use crate::{b64, constant_time_eq, hmac_sha256};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The audience every intent must name.
pub const AUDIENCE: &str = "bawaba";
/// The longest life (`exp - iat`) an intent may have, in seconds.
pub const MAX_LIFETIME_SECS: i64 = 30 * 60;
/// Clock skew allowed between the shop and the edge, in seconds.
pub const CLOCK_SKEW_SECS: i64 = 60;

/// The claims of an intent, exactly as they travel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntentClaims {
    /// The shop id (issuer).
    pub iss: String,
    /// Must be [`AUDIENCE`].
    pub aud: String,
    /// The shop's transaction reference.
    pub sub: String,
    /// Issued at (unix seconds).
    pub iat: i64,
    /// Expires at (unix seconds).
    pub exp: i64,
    /// Amount in minor units of `currency`.
    pub amount: i64,
    /// ISO 4217 code.
    pub currency: String,
    /// Method codes the shop allows for this payment.
    pub methods: Vec<String>,
    /// Where the shopper is sent at the end.
    pub return_url: String,
    /// Where the edge posts signed result notifications.
    pub notify_url: String,
    /// `en` or `ar` (other values fall back to `en`).
    #[serde(default)]
    pub locale: Option<String>,
    /// The customer's name, for the gateway's page.
    #[serde(default)]
    pub customer_name: Option<String>,
    /// The customer's e-mail, for the gateway's receipt.
    #[serde(default)]
    pub customer_email: Option<String>,
    /// Not before (unix seconds; RFC 7519 §4.1.5): honoured when a JWT library adds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// JWT id (RFC 7519 §4.1.7): accepted and ignored (the reference already makes a payment
    /// one; a replayed intent starts no second payment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
}

/// An intent whose signature, audience, lifetime and contents were all checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedIntent {
    /// The raw claims.
    pub claims: IntentClaims,
    /// The amount to charge.
    pub money: Money,
    /// The allowed methods, parsed (unknown codes dropped), in display order.
    pub methods: Vec<PaymentMethod>,
}

/// Why an intent was refused. Signature-level failures are 401s; content failures are 422s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntentError {
    /// Not three base64url parts, or a part is not JSON.
    Malformed,
    /// The header names an algorithm other than HS256 (including `none`).
    UnsupportedAlgorithm,
    /// The `iss` claim names no shop this edge knows.
    UnknownShop,
    /// The MAC does not match: the token was tampered with or signed with another secret.
    InvalidSignature,
    /// The claims are not the documented set (missing, wrong types, unknown fields).
    InvalidClaims(String),
    /// `aud` is not `bawaba`.
    WrongAudience,
    /// `exp` is in the past.
    Expired,
    /// `iat` is in the future.
    NotYetValid,
    /// `exp - iat` is longer than 30 minutes (or does not fit in an `i64`).
    LifetimeTooLong,
    /// The amount is zero or negative.
    AmountInvalid,
    /// The currency is not supported.
    CurrencyUnsupported(String),
    /// `notify_url` or `return_url` is not on the shop's registered origin.
    UrlNotAllowed(&'static str),
    /// `methods` names codes Bawaba does not know (listed).
    MethodUnknown(Vec<String>),
}

impl IntentError {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            IntentError::Malformed => "intent_malformed",
            IntentError::UnsupportedAlgorithm => "intent_unsupported_algorithm",
            IntentError::UnknownShop => "intent_unknown_shop",
            IntentError::InvalidSignature => "intent_invalid_signature",
            IntentError::InvalidClaims(_) => "intent_invalid_claims",
            IntentError::WrongAudience => "intent_wrong_audience",
            IntentError::Expired => "intent_expired",
            IntentError::NotYetValid => "intent_not_yet_valid",
            IntentError::LifetimeTooLong => "intent_lifetime_too_long",
            IntentError::AmountInvalid => "amount_invalid",
            IntentError::CurrencyUnsupported(_) => "currency_unsupported",
            IntentError::UrlNotAllowed(_) => "intent_url_not_allowed",
            IntentError::MethodUnknown(_) => "method_unknown",
        }
    }
}

impl fmt::Display for IntentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IntentError::Malformed => f.write_str("the intent is not a well-formed JWT"),
            IntentError::UnsupportedAlgorithm => f.write_str("the intent must be signed with HS256"),
            IntentError::UnknownShop => f.write_str("the intent's issuer is not a shop known to this edge"),
            IntentError::InvalidSignature => f.write_str("the intent's signature does not match"),
            IntentError::InvalidClaims(why) => write!(f, "the intent's claims are invalid: {why}"),
            IntentError::WrongAudience => write!(f, "the intent's audience must be \"{AUDIENCE}\""),
            IntentError::Expired => f.write_str("the intent has expired; reload the checkout page"),
            IntentError::NotYetValid => f.write_str("the intent was issued in the future; check the shop's clock"),
            IntentError::LifetimeTooLong => f.write_str("the intent may live at most 30 minutes"),
            IntentError::AmountInvalid => f.write_str("the amount must be greater than zero"),
            IntentError::CurrencyUnsupported(c) => write!(f, "currency {c:?} is not supported"),
            IntentError::UrlNotAllowed(which) => {
                write!(f, "{which} is not on the shop's registered origin")
            }
            IntentError::MethodUnknown(codes) => write!(
                f,
                "the intent's methods name codes Bawaba does not know: {}; known: mada, visa, mastercard, amex, \
                 applepay, stcpay, paypal",
                codes.join(", ")
            ),
        }
    }
}

impl std::error::Error for IntentError {}

/// What the edge knows about a shop, looked up by the intent's `iss`.
pub struct ShopKey<'a> {
    /// The shared signing secret.
    pub secret: &'a [u8],
    /// The registered origin (`https://shop.example`), which `notify_url` must be on.
    pub origin: &'a str,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
}

/// Signs claims into a compact JWT. Used by shops (the demo shop, Odoo) and by tests.
pub fn sign(claims: &IntentClaims, secret: &[u8]) -> String {
    sign_hs256(claims, secret)
}

/// Verifies an intent. `lookup` finds the shop named by `iss`; `now` is unix seconds.
/// Checks run in an order that never reveals more than needed: structure, algorithm,
/// shop, signature, and only then the (now trusted) claims.
pub fn verify<'a>(
    token: &str,
    lookup: impl FnOnce(&str) -> Option<ShopKey<'a>>,
    now: i64,
) -> Result<VerifiedIntent, IntentError> {
    let (trusted, shop) = verify_hs256(token, |iss| lookup(iss).map(|shop| (shop.secret, shop)))?;
    whole_seconds(&trusted)?;
    let claims: IntentClaims =
        serde_json::from_value(trusted).map_err(|e| IntentError::InvalidClaims(e.to_string()))?;
    if claims.aud != AUDIENCE {
        return Err(IntentError::WrongAudience);
    }
    check_times(claims.iat, claims.exp, now, MAX_LIFETIME_SECS)?;
    if claims.nbf.is_some_and(|nbf| nbf > now.saturating_add(CLOCK_SKEW_SECS)) {
        return Err(IntentError::NotYetValid);
    }
    // Characters, as the payment's reference counts them (an Arabic reference is two bytes a letter).
    if claims.sub.is_empty() || claims.sub.chars().count() > crate::lifecycle::Reference::MAX_CHARS {
        return Err(IntentError::InvalidClaims("sub must be 1 to 128 characters".into()));
    }
    let currency =
        Currency::parse(&claims.currency).map_err(|_| IntentError::CurrencyUnsupported(claims.currency.clone()))?;
    if claims.amount <= 0 {
        return Err(IntentError::AmountInvalid);
    }
    if !same_origin(&claims.notify_url, shop.origin) {
        return Err(IntentError::UrlNotAllowed("notify_url"));
    }
    if !is_http_url(&claims.return_url) {
        return Err(IntentError::UrlNotAllowed("return_url"));
    }
    let unknown: Vec<String> =
        claims.methods.iter().filter(|m| PaymentMethod::from_code(m).is_none()).cloned().collect();
    if !unknown.is_empty() {
        return Err(IntentError::MethodUnknown(unknown));
    }
    let mut methods: Vec<PaymentMethod> = claims.methods.iter().filter_map(|m| PaymentMethod::from_code(m)).collect();
    methods.sort_by_key(|m| m.display_rank());
    methods.dedup();
    let money = Money::new(claims.amount, currency);
    Ok(VerifiedIntent { claims, money, methods })
}

/// The time claims are NumericDates in whole seconds. A fraction (JavaScript's
/// `Date.now() / 1000`) gets a message that says so, rather than serde's type error.
fn whole_seconds(claims: &serde_json::Value) -> Result<(), IntentError> {
    for name in ["iat", "exp", "nbf"] {
        if let Some(value) = claims.get(name).filter(|v| v.is_number() && v.as_i64().is_none()) {
            return Err(IntentError::InvalidClaims(format!(
                "{name} must be a whole number of seconds since 1970, not {value} (in JavaScript: \
                 Math.floor(Date.now() / 1000))"
            )));
        }
    }
    Ok(())
}

/// The checks every token a shop signs (an intent, a dashboard link) goes through before any of
/// its claims is trusted: three base64url parts, HS256, an issuer `lookup` knows (it gives the
/// issuer's secret and whatever else the caller needs), and a MAC made with that secret.
/// Returns the claims, now trusted, as JSON.
pub(crate) fn verify_hs256<'a, K>(
    token: &str,
    lookup: impl FnOnce(&str) -> Option<(&'a [u8], K)>,
) -> Result<(serde_json::Value, K), IntentError> {
    let mut parts = token.trim().split('.');
    let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(IntentError::Malformed);
    };
    let header: Header = b64::decode(h).and_then(|b| serde_json::from_slice(&b).ok()).ok_or(IntentError::Malformed)?;
    if header.alg != "HS256" {
        return Err(IntentError::UnsupportedAlgorithm);
    }
    let payload = b64::decode(p).ok_or(IntentError::Malformed)?;
    let signature = b64::decode(s).ok_or(IntentError::Malformed)?;
    // Only `iss` is read before the signature is checked, to choose the key.
    let untrusted: serde_json::Value = serde_json::from_slice(&payload).map_err(|_| IntentError::Malformed)?;
    let iss = untrusted.get("iss").and_then(|v| v.as_str()).ok_or(IntentError::UnknownShop)?;
    let (secret, found) = lookup(iss).ok_or(IntentError::UnknownShop)?;
    let expected = hmac_sha256(secret, format!("{h}.{p}").as_bytes());
    if !constant_time_eq(&signature, &expected) {
        return Err(IntentError::InvalidSignature);
    }
    Ok((untrusted, found))
}

/// Signs any claims into a compact HS256 JWT.
pub(crate) fn sign_hs256(claims: &impl Serialize, secret: &[u8]) -> String {
    let header = b64::encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = b64::encode(&serde_json::to_vec(claims).expect("claims serialize"));
    let signing_input = format!("{header}.{payload}");
    let mac = hmac_sha256(secret, signing_input.as_bytes());
    format!("{signing_input}.{}", b64::encode(&mac))
}

/// The time claims, in checked arithmetic: any `i64` may arrive in a signed intent, and a
/// wrapped `exp - iat` must not pass for a short life.
pub(crate) fn check_times(iat: i64, exp: i64, now: i64, max_lifetime_secs: i64) -> Result<(), IntentError> {
    if exp <= now {
        return Err(IntentError::Expired);
    }
    if iat > now.saturating_add(CLOCK_SKEW_SECS) {
        return Err(IntentError::NotYetValid);
    }
    match exp.checked_sub(iat) {
        Some(lifetime) if lifetime <= max_lifetime_secs => Ok(()),
        _ => Err(IntentError::LifetimeTooLong),
    }
}

fn is_http_url(url: &str) -> bool {
    url.starts_with("https://") || url.starts_with("http://")
}

/// Whether `url` is on `origin` (scheme, host and port equal). A prefix test alone would let
/// `https://shop.example.evil.com` pass for `https://shop.example`.
pub fn same_origin(url: &str, origin: &str) -> bool {
    let origin = origin.trim_end_matches('/');
    match url.strip_prefix(origin) {
        Some(rest) => is_http_url(origin) && (rest.is_empty() || rest.starts_with('/') || rest.starts_with('?')),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"shop-secret";
    const NOW: i64 = 1_800_000_000;

    fn claims() -> IntentClaims {
        IntentClaims {
            iss: "demo".into(),
            aud: AUDIENCE.into(),
            sub: "S0001".into(),
            iat: NOW - 10,
            exp: NOW + 600,
            amount: 10050,
            currency: "SAR".into(),
            methods: vec!["visa".into(), "mada".into(), "visa".into()],
            return_url: "https://shop.example/payment/status".into(),
            notify_url: "https://shop.example/payment/bawaba/webhook".into(),
            locale: Some("ar".into()),
            customer_name: Some("Noura".into()),
            customer_email: Some("noura@example.com".into()),
            nbf: None,
            jti: None,
        }
    }

    fn lookup(iss: &str) -> Option<ShopKey<'static>> {
        (iss == "demo").then_some(ShopKey { secret: SECRET, origin: "https://shop.example" })
    }

    fn check(c: &IntentClaims) -> Result<VerifiedIntent, IntentError> {
        verify(&sign(c, SECRET), lookup, NOW)
    }

    #[test]
    fn a_good_intent_verifies_and_orders_methods() {
        let v = check(&claims()).unwrap();
        assert_eq!(v.money.minor, 10050);
        assert_eq!(v.money.currency.code(), "SAR");
        assert_eq!(v.methods, vec![PaymentMethod::Mada, PaymentMethod::Visa]);
    }

    #[test]
    fn a_reference_is_counted_in_characters_as_the_payment_counts_it() {
        let mut c = claims();
        c.sub = "ط".repeat(128); // 256 bytes, 128 characters: a valid Reference
        assert!(check(&c).is_ok());
        c.sub.push('ط');
        assert!(matches!(check(&c), Err(IntentError::InvalidClaims(_))));
    }

    #[test]
    fn what_jwt_libraries_add_is_accepted_and_fractions_are_explained() {
        let mut c = claims();
        c.nbf = Some(NOW - 10);
        c.jti = Some("3f2b".into());
        assert!(check(&c).is_ok(), "nbf in the past and jti are fine");
        c.nbf = Some(NOW + 600);
        assert_eq!(check(&c), Err(IntentError::NotYetValid), "nbf is honoured");
        // Node's Date.now() / 1000.
        let mut raw = serde_json::to_value(claims()).unwrap();
        raw["iat"] = serde_json::json!((NOW - 10) as f64 + 0.25);
        let header = b64::encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let payload = b64::encode(&serde_json::to_vec(&raw).unwrap());
        let mac = hmac_sha256(SECRET, format!("{header}.{payload}").as_bytes());
        let token = format!("{header}.{payload}.{}", b64::encode(&mac));
        let e = verify(&token, lookup, NOW).unwrap_err();
        assert_eq!(e.code(), "intent_invalid_claims");
        assert!(e.to_string().contains("whole number of seconds") && e.to_string().contains("Math.floor"), "{e}");
        // A private claim nobody knows is still refused.
        raw = serde_json::to_value(claims()).unwrap();
        raw["discount"] = serde_json::json!(50);
        let payload = b64::encode(&serde_json::to_vec(&raw).unwrap());
        let mac = hmac_sha256(SECRET, format!("{header}.{payload}").as_bytes());
        let e = verify(&format!("{header}.{payload}.{}", b64::encode(&mac)), lookup, NOW).unwrap_err();
        assert_eq!(e.code(), "intent_invalid_claims");
    }

    #[test]
    fn unknown_methods_are_refused_by_name() {
        let mut c = claims();
        c.methods = vec!["mada".into(), "bitcoin".into(), "cash".into()];
        let e = check(&c).unwrap_err();
        assert_eq!(e, IntentError::MethodUnknown(vec!["bitcoin".into(), "cash".into()]));
        assert_eq!(e.code(), "method_unknown");
        assert!(e.to_string().contains("bitcoin, cash"));
    }

    #[test]
    fn tampering_is_detected() {
        let token = sign(&claims(), SECRET);
        let mut parts: Vec<&str> = token.split('.').collect();
        let mut c = claims();
        c.amount = 1;
        let forged = b64::encode(&serde_json::to_vec(&c).unwrap());
        parts[1] = &forged;
        assert_eq!(verify(&parts.join("."), lookup, NOW), Err(IntentError::InvalidSignature));
        assert_eq!(verify(&sign(&claims(), b"wrong"), lookup, NOW), Err(IntentError::InvalidSignature));
    }

    type Mutation = Box<dyn Fn(&mut IntentClaims)>;

    #[test]
    fn each_claim_rule_has_its_code() {
        let cases: Vec<(Mutation, &str)> = vec![
            (Box::new(|c| c.aud = "other".into()), "intent_wrong_audience"),
            (Box::new(|c| c.exp = NOW - 1), "intent_expired"),
            (Box::new(|c| c.iat = NOW + 600), "intent_not_yet_valid"),
            (Box::new(|c| c.exp = c.iat + MAX_LIFETIME_SECS + 1), "intent_lifetime_too_long"),
            (Box::new(|c| c.iss = "nobody".into()), "intent_unknown_shop"),
            (Box::new(|c| c.amount = 0), "amount_invalid"),
            (Box::new(|c| c.amount = -5), "amount_invalid"),
            (Box::new(|c| c.currency = "XYZ".into()), "currency_unsupported"),
            (Box::new(|c| c.notify_url = "https://shop.example.evil.com/x".into()), "intent_url_not_allowed"),
            (Box::new(|c| c.return_url = "javascript:alert(1)".into()), "intent_url_not_allowed"),
        ];
        for (mutate, code) in cases {
            let mut c = claims();
            mutate(&mut c);
            assert_eq!(check(&c).unwrap_err().code(), code);
        }
    }

    #[test]
    fn time_claims_that_overflow_are_too_long_not_wrapped() {
        let mut c = claims();
        c.iat = -9_000_000_000_000_000_000;
        c.exp = 9_000_000_000_000_000_000;
        assert_eq!(check(&c), Err(IntentError::LifetimeTooLong));
        c.iat = i64::MIN;
        c.exp = i64::MAX;
        assert_eq!(check(&c), Err(IntentError::LifetimeTooLong));
        // A clock at the end of i64 does not overflow either.
        let max = MAX_LIFETIME_SECS;
        assert_eq!(check_times(i64::MAX - 10, i64::MAX, i64::MAX - 1, max), Ok(()));
        assert_eq!(check_times(0, i64::MAX, i64::MAX - 1, max), Err(IntentError::LifetimeTooLong));
        assert_eq!(check_times(i64::MIN, i64::MIN + 1, i64::MIN, max), Ok(()));
    }

    #[test]
    fn structure_and_algorithm_are_checked_first() {
        assert_eq!(verify("a.b", lookup, NOW), Err(IntentError::Malformed));
        assert_eq!(verify("", lookup, NOW), Err(IntentError::Malformed));
        let token = sign(&claims(), SECRET);
        let (_, rest) = token.split_once('.').unwrap();
        let none = format!("{}.{rest}", b64::encode(br#"{"alg":"none"}"#));
        assert_eq!(verify(&none, lookup, NOW), Err(IntentError::UnsupportedAlgorithm));
    }

    #[test]
    fn same_origin_is_exact() {
        assert!(same_origin("https://a.example/x", "https://a.example"));
        assert!(same_origin("https://a.example", "https://a.example/"));
        assert!(!same_origin("https://a.example.evil/x", "https://a.example"));
        assert!(!same_origin("https://a.example:8443/x", "https://a.example"));
        assert!(!same_origin("http://a.example/x", "https://a.example"));
    }
}
