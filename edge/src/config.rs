//! Settings, read from the worker's environment at the first request that needs them. A
//! missing or malformed setting is an error that names the setting.
//!
//! | setting | kind | meaning |
//! |---|---|---|
//! | `BAWABA_SHOPS` | var (JSON) | `[{"id":"demo","origin":"https://shop.example","secret":"SHOP_DEMO_SECRET","mode":"test"}]`: each shop, its registered origin, the name of the secret holding its signing key, and `test` or `live`; while rotating a key, `previous_secret` names the old one |
//! | `SHOP_<ID>_SECRET` | secret | a shop's signing secret (the name is whatever `secret` says) |
//! | `SANDBOX_ENABLED` | var | `true` turns on the built-in sandbox gateway |
//! | `SANDBOX_SECRET_KEY` | secret | the sandbox API key |
//! | `SANDBOX_WEBHOOK_SECRET` | secret | the key the sandbox signs its webhooks with |
//! | `SANDBOX_API_BASE` | var | where the sandbox API is (default: this edge's `/sandbox/api`) |
//! | `SANDBOX_WEBHOOK_DELAY_MS` | var | how long the sandbox waits before sending a webhook (default 500) |
//! | `DEMO_SHOP_ENABLED` | var | `true` turns on the demo shop under `/demo/shop/` |
//! | `DEMO_SHOP_ID` | var | which shop in `BAWABA_SHOPS` the demo shop is (default `demo`) |
//! | `DEMO_SHOP_CURRENCY` | var | the demo shop's currency (default `SAR`) |
//! | `BAWABA_ROUTES` | var | which gateways serve which method, in order of preference: `mada=aps\|moyasar,visa=moyasar` (default: the sandbox's methods) |
//! | `MOYASAR_SECRET_KEY`, `MOYASAR_WEBHOOK_SECRET`, `MOYASAR_API_BASE` | secret, secret, var | Moyasar |
//! | `TAP_SECRET_KEY`, `TAP_API_BASE` | secret, var | Tap (the secret key also signs Tap's webhooks) |
//! | `PAYTABS_PROFILE_ID`, `PAYTABS_SERVER_KEY`, `PAYTABS_API_BASE` | var, secret, var | PayTabs PT2 (the server key also signs PayTabs' callbacks and returns; the host is the profile's region's, default the Saudi `https://secure.paytabs.sa`) |
//! | `HYPERPAY_ACCESS_TOKEN`, `HYPERPAY_WEBHOOK_KEY`, `HYPERPAY_ENTITY_ID_MADA`, `HYPERPAY_ENTITY_ID_CARD`, `HYPERPAY_ENTITY_ID_APPLEPAY`, `HYPERPAY_MODE`, `HYPERPAY_API_BASE` | secret ×2, var ×5 | HyperPay (one entity per channel, each optional; `HYPERPAY_MODE` `test`/`live` is required and picks the default host) |
//! | `APS_MERCHANT_IDENTIFIER`, `APS_ACCESS_CODE`, `APS_SHA_REQUEST_PHRASE`, `APS_SHA_RESPONSE_PHRASE`, `APS_SHA_TYPE`, `APS_PAGE_BASE`, `APS_API_BASE`, `APS_APPLEPAY_ACCESS_CODE`, `APS_APPLEPAY_SHA_REQUEST_PHRASE`, `APS_APPLEPAY_SHA_RESPONSE_PHRASE`, `APS_APPLEPAY_SHA_TYPE` | var, secret ×3, var ×3, secret ×3, var | Amazon Payment Services (the `APS_APPLEPAY_*` ones, all or none: Apple Pay in the page with `APPLE_PAY_MERCHANT_ID`; SHA type default `APS_SHA_TYPE`) |
//! | `APPLE_PAY_MERCHANT_ID` | var | the merchant's own Apple Pay merchant identifier (`merchant.…`), for Apple Pay in the page through Tap, APS or HyperPay; used only with the `APPLE_PAY_MERCHANT_CERT` binding (an `[[mtls_certificates]]` binding of its merchant identity certificate), with which the edge validates the merchant with Apple |
//! | `APPLE_PAY_DOMAIN_ASSOCIATION` | var | the file served at `/.well-known/apple-developer-merchantid-domain-association` |
//! | `NOTIFY_RETRY_BASE_MS` … | var | delivery and reconciliation timing (see `bawaba_core::lifecycle::Settings`; a malformed value keeps its default and is logged) |

use bawaba_core::api::ApiError;
use bawaba_core::gateway::connector::Connector;
use bawaba_core::gateway::routes::Routes;
use bawaba_core::gateway::{sandbox, Mode};
use bawaba_core::lifecycle::ShopId;
use bawaba_core::method::PaymentMethod;
use bawaba_core::secret::Secret;
use serde::Deserialize;
use worker::Env;

/// A shop known to this edge.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShopEntry {
    /// Shop id (the intent's `iss`).
    pub id: String,
    /// Registered origin.
    pub origin: String,
    /// Name of the secret that holds the signing key.
    pub secret: String,
    /// `test` or `live`: which gateway credentials the shop may reach (required, so that no
    /// shop is live or test by accident).
    pub mode: Mode,
    /// While a shop's key is being rotated: the name of the secret holding the old key. Calls
    /// and intents signed with either key are accepted, and notifications carry a `v1=` for
    /// each, so neither side has to switch at the same instant (docs/deploy.md).
    #[serde(default)]
    pub previous_secret: Option<String>,
    /// Other origins the shop's pages are served from (`https://www.shop.example` beside
    /// `https://shop.example`): their pages may call the API too (CORS). Notifications still go
    /// only to `origin`.
    #[serde(default)]
    pub also_origins: Vec<String>,
    /// The shop's name as shoppers know it (the Apple Pay sheet shows "Pay <name>"); the id
    /// when absent.
    #[serde(default)]
    pub name: Option<String>,
}

impl ShopEntry {
    /// The name shoppers know the shop by (the Apple Pay sheet's), else its id.
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.id)
    }

    /// Every origin the shop's pages may call the API from.
    pub fn browser_origins(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.origin.as_str()).chain(self.also_origins.iter().map(String::as_str))
    }
}

/// A shop with its key.
#[derive(Debug, Clone)]
pub struct Shop {
    /// Id.
    pub id: ShopId,
    /// Origin.
    pub origin: String,
    /// Signing key.
    pub secret: Secret,
    /// The old key, while the key is being rotated.
    pub previous_secret: Option<Secret>,
    /// Test or live.
    pub mode: Mode,
}

impl Shop {
    /// The keys a call or an intent from this shop may be signed with: the current one first.
    pub fn keys(&self) -> impl Iterator<Item = &[u8]> {
        std::iter::once(&self.secret).chain(self.previous_secret.as_ref()).map(|s| s.expose().as_bytes())
    }
}

/// Reads a string setting (a secret or a plain var).
pub fn setting(env: &Env, name: &str) -> Option<String> {
    if let Ok(s) = env.secret(name) {
        return Some(s.to_string());
    }
    env.var(name).ok().map(|v| v.to_string())
}

/// The setting naming the merchant's own Apple Pay merchant identifier.
pub const APPLE_PAY_MERCHANT_ID: &str = "APPLE_PAY_MERCHANT_ID";

/// The binding of the merchant's Apple Pay merchant identity certificate (an
/// `[[mtls_certificates]]` binding, docs/deploy.md): what the edge presents to Apple.
pub const APPLE_PAY_CERTIFICATE_BINDING: &str = "APPLE_PAY_MERCHANT_CERT";

/// The merchant's own Apple Pay merchant: its identifier and the certificate binding that
/// proves it to Apple.
pub struct AppleMerchant {
    /// `APPLE_PAY_MERCHANT_ID`.
    pub id: bawaba_core::applepay::MerchantId,
    /// Fetches with the merchant identity certificate as the TLS client certificate.
    pub certificate: worker::Fetcher,
}

/// [`AppleMerchant`], when both its identifier and its certificate binding are set. The
/// identifier without the binding is logged and ignored (Apple would refuse every validation);
/// a malformed identifier is `edge_misconfigured`.
pub fn apple_merchant(env: &Env) -> Result<Option<AppleMerchant>, ApiError> {
    let Some(raw) = setting(env, APPLE_PAY_MERCHANT_ID).filter(|v| !v.trim().is_empty()) else { return Ok(None) };
    let id = bawaba_core::applepay::MerchantId::parse(&raw)
        .map_err(|why| ApiError::Misconfigured(format!("setting {APPLE_PAY_MERCHANT_ID}: {why}")))?;
    match env.service(APPLE_PAY_CERTIFICATE_BINDING) {
        Ok(certificate) => Ok(Some(AppleMerchant { id, certificate })),
        Err(_) => {
            worker::console_warn!(
                "{APPLE_PAY_MERCHANT_ID} is set but the {APPLE_PAY_CERTIFICATE_BINDING} certificate binding is not: \
                 Apple Pay is taken in the page only where the gateway validates the merchant (docs/deploy.md)"
            );
            Ok(None)
        }
    }
}

/// Reads a required setting (the rule every gateway's settings follow too).
pub fn required(env: &Env, name: &str) -> Result<String, ApiError> {
    bawaba_core::gateway::connector::required(&|n| setting(env, n), name).map_err(ApiError::Misconfigured)
}

/// Reads a boolean flag (`true`/`1`/`on`/`yes`).
pub fn flag(env: &Env, name: &str) -> bool {
    bawaba_core::gateway::connector::flag(&|n| setting(env, n), name)
}

/// Reads an integer setting with a default.
pub fn int(env: &Env, name: &str, default: i64) -> Result<i64, ApiError> {
    match setting(env, name) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| ApiError::Misconfigured(format!("setting {name} must be an integer, not {v:?}"))),
    }
}

/// All shops. Each id must be `[a-z0-9_-]{1,64}` and appear once: a bad or repeated id is
/// `edge_misconfigured`, naming it, rather than a shop silently shadowing another.
pub fn shops(env: &Env) -> Result<Vec<ShopEntry>, ApiError> {
    parse_shops(&required(env, "BAWABA_SHOPS")?)
}

/// Parses and checks `BAWABA_SHOPS`.
pub fn parse_shops(raw: &str) -> Result<Vec<ShopEntry>, ApiError> {
    let shops: Vec<ShopEntry> = serde_json::from_str(raw)
        .map_err(|e| ApiError::Misconfigured(format!("setting BAWABA_SHOPS is not valid JSON: {e}")))?;
    let mut seen = std::collections::BTreeSet::new();
    for shop in &shops {
        ShopId::parse(&shop.id).map_err(|why| ApiError::Misconfigured(format!("setting BAWABA_SHOPS: {why}")))?;
        if let Some(bad) = shop.also_origins.iter().find(|o| !bawaba_core::web_policy::is_origin(o)) {
            return Err(ApiError::Misconfigured(format!(
                "setting BAWABA_SHOPS: shop {:?} has {bad:?} in also_origins, which is not an origin like https://www.shop.example",
                shop.id
            )));
        }
        if !seen.insert(shop.id.as_str()) {
            return Err(ApiError::Misconfigured(format!("setting BAWABA_SHOPS lists shop id {:?} twice", shop.id)));
        }
    }
    Ok(shops)
}

/// One shop's registry entry, or `None` if unknown.
pub fn shop_entry(env: &Env, id: &str) -> Result<Option<ShopEntry>, ApiError> {
    Ok(shops(env)?.into_iter().find(|s| s.id == id))
}

/// One shop with its key, or `None` if unknown.
pub fn shop(env: &Env, id: &str) -> Result<Option<Shop>, ApiError> {
    let Some(entry) = shop_entry(env, id)? else {
        return Ok(None);
    };
    let secret = required(env, &entry.secret)?;
    let previous_secret = match &entry.previous_secret {
        Some(name) => Some(Secret::new(required(env, name)?)),
        None => None,
    };
    let id = ShopId::parse(&entry.id).map_err(ApiError::Misconfigured)?;
    Ok(Some(Shop { id, origin: entry.origin, secret: Secret::new(secret), previous_secret, mode: entry.mode }))
}

/// The configured connector for a gateway code, from the gateway's own settings (each gateway
/// reads its settings in its folder; see its registry line). Each missing setting is named.
pub fn connector(env: &Env, code: &str, edge_origin: &str) -> Result<Connector, ApiError> {
    // A gateway takes Apple Pay in the page with the merchant's own Apple merchant only when the
    // edge can validate that merchant: the identifier alone is not enough. (Its form is checked
    // where it is used, by `apple_merchant`: a malformed one is reported there, not hidden here.)
    let lookup = |name: &str| match name {
        APPLE_PAY_MERCHANT_ID => setting(env, name).filter(|_| env.service(APPLE_PAY_CERTIFICATE_BINDING).is_ok()),
        _ => setting(env, name),
    };
    bawaba_core::gateway::connector::configure(code, &lookup, edge_origin).map_err(ApiError::Misconfigured)
}

/// Which gateways serve which method: `BAWABA_ROUTES`, e.g. `mada=aps|moyasar,visa=moyasar`
/// (a method's gateways in order of preference; see [`Routes`]). Without it, the sandbox (when
/// on) serves the methods it supports; with the sandbox off, a missing `BAWABA_ROUTES` is
/// `edge_misconfigured` naming it (rather than every method quietly "not allowed").
pub fn routes(env: &Env) -> Result<Routes, ApiError> {
    routes_from(setting(env, "BAWABA_ROUTES").as_deref(), flag(env, "SANDBOX_ENABLED"))
}

/// [`routes`] from the setting's value and whether the sandbox is on.
pub fn routes_from(raw: Option<&str>, sandbox_enabled: bool) -> Result<Routes, ApiError> {
    match raw.filter(|r| !r.trim().is_empty()) {
        Some(raw) => Routes::parse(raw).map_err(|why| ApiError::Misconfigured(format!("setting BAWABA_ROUTES: {why}"))),
        None if sandbox_enabled => Ok(Routes::all_to(sandbox::CODE)),
        None => Err(ApiError::Misconfigured(
            "setting BAWABA_ROUTES is missing: with the sandbox off, name which gateways serve which method, \
             e.g. mada=moyasar,visa=moyasar|tap (docs/deploy.md)"
                .into(),
        )),
    }
}

/// The gateways that serve `method` in `currency` for a shop in `mode`, in order of
/// preference: the first takes the payment, the others are its fallbacks. A gateway whose
/// credentials are of the other mode is left out (a test shop never reaches live keys, a live
/// shop never the sandbox or test keys).
pub fn gateways_for(
    env: &Env,
    method: PaymentMethod,
    currency: &str,
    mode: Mode,
    edge_origin: &str,
) -> Result<Vec<&'static str>, ApiError> {
    let mut out = Vec::new();
    for gateway in routes(env)?.gateways_for(method, currency) {
        if mode.admits(connector(env, gateway, edge_origin)?.mode()) {
            out.push(gateway);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_or_repeated_shop_ids_are_named() {
        let entry = |id: &str| format!(r#"{{"id":"{id}","origin":"https://s.example","secret":"S","mode":"test"}}"#);
        assert!(parse_shops(&format!("[{}]", entry("demo"))).is_ok());
        let bad = parse_shops(&format!("[{}]", entry("a:b"))).unwrap_err();
        assert!(bad.to_string().contains("\"a:b\""), "{bad}");
        let twice = parse_shops(&format!("[{},{}]", entry("demo"), entry("demo"))).unwrap_err();
        assert_eq!(twice.code(), "edge_misconfigured");
        assert!(twice.to_string().contains("twice"), "{twice}");
        let modeless = parse_shops(r#"[{"id":"demo","origin":"https://s.example","secret":"S"}]"#).unwrap_err();
        assert!(modeless.to_string().contains("mode"), "{modeless}");
        let rotating = parse_shops(
            r#"[{"id":"demo","origin":"https://s.example","secret":"S2","previous_secret":"S1","mode":"live"}]"#,
        )
        .unwrap();
        assert_eq!(rotating[0].previous_secret.as_deref(), Some("S1"));
        let two = parse_shops(
            r#"[{"id":"s","origin":"https://s.example","also_origins":["https://www.s.example"],"secret":"S","mode":"live"}]"#,
        )
        .unwrap();
        assert_eq!(two[0].browser_origins().collect::<Vec<_>>(), ["https://s.example", "https://www.s.example"]);
        let bad = parse_shops(
            r#"[{"id":"s","origin":"https://s.example","also_origins":["www.s.example"],"secret":"S","mode":"live"}]"#,
        )
        .unwrap_err();
        assert!(bad.to_string().contains("also_origins"), "{bad}");
    }

    #[test]
    fn routes_are_required_once_the_sandbox_is_off() {
        let missing = routes_from(None, false).unwrap_err();
        assert_eq!(missing.code(), "edge_misconfigured");
        assert!(missing.to_string().contains("BAWABA_ROUTES"), "{missing}");
        assert!(routes_from(Some("  "), false).is_err());
        assert!(routes_from(None, true).is_ok());
        assert!(routes_from(Some("mada=moyasar"), false).is_ok());
    }
}
