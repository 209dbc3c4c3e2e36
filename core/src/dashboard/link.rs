//! The dashboard link: a JWT (HS256) the shop signs with its Bawaba secret, like an intent, that
//! lets whoever holds it read that shop's dashboard until it expires. Odoo mints one each time
//! the merchant presses "Open dashboard"; the edge checks it on every page of the dashboard.
//!
//! Its audience is its own (`bawaba-dashboard`), so an intent is never a dashboard link and a
//! dashboard link never pays. It lives at most an hour: the link sits in the browser's history
//! (the edge's pages send no `Referer`, so it does not leak to other sites).

use crate::intent::{self, IntentError};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The audience every dashboard link must name.
pub const AUDIENCE: &str = "bawaba-dashboard";
/// The longest life (`exp - iat`) a link may have, in seconds.
pub const MAX_LIFETIME_SECS: i64 = 60 * 60;

/// The claims of a dashboard link, exactly as they travel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkClaims {
    /// The shop id (issuer), whose numbers the link shows.
    pub iss: String,
    /// Must be [`AUDIENCE`].
    pub aud: String,
    /// Issued at (unix seconds).
    pub iat: i64,
    /// Expires at (unix seconds).
    pub exp: i64,
}

impl LinkClaims {
    /// A link for `shop` issued at `now` and living `lifetime_secs`.
    pub fn new(shop: &str, now: i64, lifetime_secs: i64) -> Self {
        LinkClaims { iss: shop.to_string(), aud: AUDIENCE.into(), iat: now, exp: now + lifetime_secs }
    }
}

/// Why a dashboard link was refused (all are 401: the page says to open it again from the shop).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkError {
    /// Not a well-formed HS256 JWT.
    Malformed,
    /// The issuer is no shop of this edge.
    UnknownShop,
    /// The MAC does not match: tampered with, or signed with another secret.
    InvalidSignature,
    /// The claims are not the documented set, or the audience is not [`AUDIENCE`].
    InvalidClaims(String),
    /// `exp` is past: the usual case, a link opened again later.
    Expired,
    /// `iat` is in the future.
    NotYetValid,
    /// `exp - iat` is longer than [`MAX_LIFETIME_SECS`].
    LifetimeTooLong,
}

impl LinkError {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            LinkError::Malformed => "dashboard_link_malformed",
            LinkError::UnknownShop => "dashboard_link_unknown_shop",
            LinkError::InvalidSignature => "dashboard_link_invalid_signature",
            LinkError::InvalidClaims(_) => "dashboard_link_invalid_claims",
            LinkError::Expired => "dashboard_link_expired",
            LinkError::NotYetValid => "dashboard_link_not_yet_valid",
            LinkError::LifetimeTooLong => "dashboard_link_lifetime_too_long",
        }
    }
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkError::Malformed => f.write_str("the dashboard link is not a well-formed HS256 JWT"),
            LinkError::UnknownShop => f.write_str("the dashboard link's issuer is not a shop known to this edge"),
            LinkError::InvalidSignature => f.write_str("the dashboard link's signature does not match"),
            LinkError::InvalidClaims(why) => write!(f, "the dashboard link's claims are invalid: {why}"),
            LinkError::Expired => f.write_str("the dashboard link has expired"),
            LinkError::NotYetValid => {
                f.write_str("the dashboard link was issued in the future; check the shop's clock")
            }
            LinkError::LifetimeTooLong => f.write_str("a dashboard link may live at most one hour"),
        }
    }
}

impl std::error::Error for LinkError {}

/// Signs a link (shops and tests).
pub fn sign(claims: &LinkClaims, secret: &[u8]) -> String {
    intent::sign_hs256(claims, secret)
}

/// The issuer a link claims, before anything is checked: only to choose which shop's keys to
/// verify it with.
pub fn claimed_issuer(token: &str) -> Option<String> {
    let payload = crate::b64::decode(token.trim().split('.').nth(1)?)?;
    let claims: serde_json::Value = serde_json::from_slice(&payload).ok()?;
    claims.get("iss")?.as_str().map(str::to_string)
}

/// Verifies a link. `lookup` gives the secret of the shop named by `iss`; `now` is unix seconds.
pub fn verify<'a>(
    token: &str,
    lookup: impl FnOnce(&str) -> Option<&'a [u8]>,
    now: i64,
) -> Result<LinkClaims, LinkError> {
    let from_intent = |e: IntentError| match e {
        IntentError::UnknownShop => LinkError::UnknownShop,
        IntentError::InvalidSignature => LinkError::InvalidSignature,
        IntentError::Expired => LinkError::Expired,
        IntentError::NotYetValid => LinkError::NotYetValid,
        IntentError::LifetimeTooLong => LinkError::LifetimeTooLong,
        _ => LinkError::Malformed,
    };
    let (trusted, ()) =
        intent::verify_hs256(token, |iss| lookup(iss).map(|secret| (secret, ()))).map_err(from_intent)?;
    let claims: LinkClaims = serde_json::from_value(trusted).map_err(|e| LinkError::InvalidClaims(e.to_string()))?;
    if claims.aud != AUDIENCE {
        return Err(LinkError::InvalidClaims(format!("aud must be \"{AUDIENCE}\"")));
    }
    intent::check_times(claims.iat, claims.exp, now, MAX_LIFETIME_SECS).map_err(from_intent)?;
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intent::{IntentClaims, AUDIENCE as INTENT_AUDIENCE};

    const SECRET: &[u8] = b"shop-secret";
    const NOW: i64 = 1_800_000_000;

    fn lookup(iss: &str) -> Option<&'static [u8]> {
        (iss == "demo").then_some(SECRET)
    }

    #[test]
    fn a_fresh_link_verifies_and_each_fault_has_its_code() {
        let good = LinkClaims::new("demo", NOW - 5, 1800);
        assert_eq!(verify(&sign(&good, SECRET), lookup, NOW), Ok(good.clone()));
        let cases: Vec<(LinkClaims, &[u8], &str)> = vec![
            (LinkClaims { exp: NOW - 1, ..good.clone() }, SECRET, "dashboard_link_expired"),
            (LinkClaims { iat: NOW + 600, exp: NOW + 700, ..good.clone() }, SECRET, "dashboard_link_not_yet_valid"),
            (
                LinkClaims { exp: NOW - 5 + MAX_LIFETIME_SECS + 1, ..good.clone() },
                SECRET,
                "dashboard_link_lifetime_too_long",
            ),
            (LinkClaims { iss: "other".into(), ..good.clone() }, SECRET, "dashboard_link_unknown_shop"),
            (LinkClaims { aud: "bawaba".into(), ..good.clone() }, SECRET, "dashboard_link_invalid_claims"),
            (good.clone(), b"another-secret", "dashboard_link_invalid_signature"),
        ];
        for (claims, secret, code) in cases {
            assert_eq!(verify(&sign(&claims, secret), lookup, NOW).unwrap_err().code(), code, "{claims:?}");
        }
        assert_eq!(verify("not.a-jwt", lookup, NOW).unwrap_err().code(), "dashboard_link_malformed");
    }

    #[test]
    fn an_intent_is_not_a_dashboard_link() {
        let intent = IntentClaims {
            iss: "demo".into(),
            aud: INTENT_AUDIENCE.into(),
            sub: "S1".into(),
            iat: NOW,
            exp: NOW + 600,
            amount: 100,
            currency: "SAR".into(),
            methods: vec!["mada".into()],
            return_url: "https://shop.example/r".into(),
            notify_url: "https://shop.example/n".into(),
            locale: None,
            customer_name: None,
            customer_email: None,
            nbf: None,
            jti: None,
        };
        let e = verify(&crate::intent::sign(&intent, SECRET), lookup, NOW).unwrap_err();
        assert_eq!(e.code(), "dashboard_link_invalid_claims");
    }
}
