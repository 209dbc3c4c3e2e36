//! The gateway registry. Each gateway owns its whole surface in its folder
//! (`core/src/gateway/<code>/connector.rs`): its settings, capabilities, start, fetch, webhook
//! verification, refund, capture, void and check, behind the [`Gateway`] trait; [`REGISTRY`]
//! lists the gateways, one line each. The edge holds "the gateway of this session" as a
//! [`Connector`] without knowing which it is. Adding a gateway: one folder, one line here, one
//! fake in `tests/src/fakes/`, one page in `docs/gateways/`.

pub use super::StartInput;
use super::{
    aps, hyperpay, moyasar, sandbox, tap, CancelOutcome, Capabilities, CheckVerdict, GatewayError, GatewayPayment,
    GatewaySession, HttpRequest, HttpResponse, MethodFlow, Mode, OperationResult, WebhookError, WebhookHint,
};
use crate::method::PaymentMethod;
use crate::money::Money;

/// How a session starts: with a call to the gateway, or (APS) with nothing to call.
#[derive(Debug, Clone)]
pub enum Start {
    /// Send this request, then `parse_start` its answer.
    Call(HttpRequest),
    /// The session is ready; the shopper's browser does the rest.
    Ready(GatewaySession),
    /// Send this request first, then hand its answer to [`Gateway::continue_start`], which says
    /// what comes next (Tap: an Apple Pay token is exchanged for a `tok_…`, which the charge
    /// then uses). Nothing is charged by this step, so it may be repeated safely.
    Prepare(HttpRequest),
}

/// Reads a setting by name (the edge's secrets and vars).
pub type Settings<'a> = &'a dyn Fn(&str) -> Option<String>;

/// A configured gateway. Every method is pure: requests are built and answers parsed here, the
/// edge sends them. Operations a gateway does not have keep the defaults (`None`, or an error
/// that says so), and its [`Capabilities`] say so too.
pub trait Gateway: std::fmt::Debug {
    /// The gateway's code (`moyasar`).
    fn code(&self) -> &'static str;

    /// What it supports.
    fn capabilities(&self) -> &'static Capabilities;

    /// Whether its credentials are test or live ones, where they show it.
    fn mode(&self) -> Option<Mode>;

    /// Whether this gateway is served by the edge itself (the built-in sandbox on its default
    /// address): the edge then hands its requests to it in-process instead of fetching its own
    /// hostname, which a Worker cannot do on Cloudflare.
    fn served_by_this_edge(&self) -> bool {
        false
    }

    /// The reference the gateway's record must carry for this session: ours, unless the gateway
    /// makes one per session (APS).
    fn expected_reference(&self, ours: &str, _gateway_payment_id: &str) -> String {
        ours.to_string()
    }

    /// How to create a hosted session.
    fn build_start(&self, input: &StartInput<'_>) -> Result<Start, GatewayError>;

    /// Parses the created session.
    fn parse_start(&self, resp: &HttpResponse) -> Result<GatewaySession, GatewayError>;

    /// The step after a [`Start::Prepare`], given its answer. The default: there is none.
    fn continue_start(&self, _input: &StartInput<'_>, _prepared: &HttpResponse) -> Result<Start, GatewayError> {
        Err(GatewayError::InvalidResponse(format!("{} has no preparing step", self.code())))
    }

    /// The id the gateway will know a charge made in the page by, where it is ours to give
    /// before the call (APS: the merchant reference). A charging call whose answer is lost
    /// (timeout, 5xx) or cannot be believed (not authentic, another amount) may have charged:
    /// with this id the edge keeps it as a session and asks
    /// the gateway about it, as about any other, so such a charge is found, never unknown. The
    /// default: the gateway names the charge in its answer, and a lost answer stays an outage.
    fn charge_id_before_call(&self, _input: &StartInput<'_>) -> Option<String> {
        None
    }

    /// Parses the created session knowing what it was started for, for gateways whose answer
    /// does not say what later calls need (HyperPay: the entity of the method). The edge calls
    /// this one; the default reads the answer alone.
    fn parse_start_for(&self, _input: &StartInput<'_>, resp: &HttpResponse) -> Result<GatewaySession, GatewayError> {
        self.parse_start(resp)
    }

    /// The server-side status request.
    fn build_fetch(&self, gateway_payment_id: &str) -> HttpRequest;

    /// Parses the status. `expected` is the payment's amount (APS reports "not paid yet" without one).
    fn parse_fetch(&self, resp: &HttpResponse, expected: &Money) -> Result<GatewayPayment, GatewayError>;

    /// How the widget takes `method` here: on the gateway's page (the default), or in the page
    /// (STC Pay's one-time code, the Apple Pay sheet) where the gateway has an API for it and
    /// is configured for it. [`StartInput::wallet`] then carries what the shopper gave.
    fn flow(&self, _method: PaymentMethod) -> MethodFlow {
        MethodFlow::Redirect
    }

    /// The status request for a payment made in the page ([`super::SessionFlow::is_direct`]),
    /// where it is another object than a hosted session's (Moyasar: a payment, not an invoice).
    fn build_fetch_direct(&self, gateway_payment_id: &str) -> HttpRequest {
        self.build_fetch(gateway_payment_id)
    }

    /// Parses it.
    fn parse_fetch_direct(&self, resp: &HttpResponse, expected: &Money) -> Result<GatewayPayment, GatewayError> {
        self.parse_fetch(resp, expected)
    }

    /// Sends the shopper's one-time code to `otp_url` ([`super::SessionFlow::Otp`]); `None`
    /// where the gateway has no such step.
    fn build_otp(&self, _otp_url: &str, _code: &str) -> Option<HttpRequest> {
        None
    }

    /// Reads the answer: `Ok` when the gateway took the code (paid or not: the fetch that
    /// follows tells which).
    fn parse_otp(&self, _resp: &HttpResponse) -> Result<(), GatewayError> {
        Err(GatewayError::InvalidResponse(format!("{} has no one-time code step", self.code())))
    }

    /// Asks the gateway for an Apple Pay merchant session ([`MethodFlow::Applepay`]): Apple's
    /// `validation_url` from the sheet, the shop page's `domain` and the name on the sheet.
    fn build_applepay_session(&self, _validation_url: &str, _domain: &str, _display_name: &str) -> Option<HttpRequest> {
        None
    }

    /// Reads the merchant session: an object the widget hands to `completeMerchantValidation`
    /// as it is.
    fn parse_applepay_session(&self, _resp: &HttpResponse) -> Result<serde_json::Value, GatewayError> {
        Err(GatewayError::InvalidResponse(format!("{} validates no Apple Pay merchant", self.code())))
    }

    /// Closes a hosted page that will not be used, where the gateway documents a call for it.
    fn build_cancel(&self, _gateway_payment_id: &str) -> Option<HttpRequest> {
        None
    }

    /// Reads the answer to [`Gateway::build_cancel`]: only `Closed` proves the page takes no
    /// more payments.
    fn parse_cancel(&self, _resp: &HttpResponse) -> CancelOutcome {
        CancelOutcome::Refused(format!("{} has no cancel call", self.code()))
    }

    /// Verifies a webhook with the gateway's own scheme. `header` reads a request header.
    fn verify_webhook(
        &self,
        header: &dyn Fn(&str) -> Option<String>,
        body: &[u8],
        now: i64,
    ) -> Result<WebhookHint, WebhookError>;

    /// Verifies what the shopper's browser brought back to the return route (the POSTed form
    /// `body`, empty on a GET), where the gateway signs its returns (PayTabs). The return is only
    /// a hint either way; a return that fails here does not even make the edge ask the gateway.
    /// The default: nothing to verify.
    fn verify_return(&self, _body: &[u8]) -> Result<(), WebhookError> {
        Ok(())
    }

    /// A refund of `amount` of the payment `transaction_id`; `refund_reference` is unique per
    /// refund (gateways that deduplicate use it).
    fn build_refund(
        &self,
        gateway_payment_id: &str,
        transaction_id: &str,
        amount: &Money,
        refund_reference: &str,
    ) -> HttpRequest;

    /// Parses a refund answer.
    fn parse_refund(&self, resp: &HttpResponse, amount: Money) -> Result<OperationResult, GatewayError>;

    /// The request that asks where a refund stands, for gateways whose refunds can stay pending
    /// (Tap). `None`: refunds there are final at once.
    fn build_refund_status(&self, _refund_id: &str) -> Option<HttpRequest> {
        None
    }

    /// Parses it. `amount` is the refund's amount.
    fn parse_refund_status(&self, _resp: &HttpResponse, _amount: Money) -> Result<OperationResult, GatewayError> {
        Err(GatewayError::InvalidResponse("refunds here are final at once: nothing to ask".into()))
    }

    /// A capture, where the gateway has one ([`Capabilities::capture`]).
    fn build_capture(&self, _transaction_id: &str, _amount: Option<&Money>) -> Option<HttpRequest> {
        None
    }

    /// Parses a capture answer.
    fn parse_capture(&self, _resp: &HttpResponse, _amount: Money) -> Result<OperationResult, GatewayError> {
        Err(GatewayError::InvalidResponse("no capture here".into()))
    }

    /// A void, where the gateway has one ([`Capabilities::void`]).
    fn build_void(&self, _transaction_id: &str) -> Option<HttpRequest> {
        None
    }

    /// Parses a void answer.
    fn parse_void(&self, _resp: &HttpResponse, _amount: Money) -> Result<OperationResult, GatewayError> {
        Err(GatewayError::InvalidResponse("no void here".into()))
    }

    /// A request whose answer every API call needs first (an OAuth2 token: PayPal), if any. The
    /// edge sends it, keeps the token until it expires, and passes it to
    /// [`Gateway::authorize`].
    fn build_auth(&self) -> Option<HttpRequest> {
        None
    }

    /// Parses the token request's answer: the token and how many seconds it lives.
    fn parse_auth(&self, _resp: &HttpResponse) -> Result<(String, i64), GatewayError> {
        Err(GatewayError::InvalidResponse("this gateway needs no token".into()))
    }

    /// Puts the token on a request built by this gateway.
    fn authorize(&self, request: HttpRequest, _token: &str) -> HttpRequest {
        request
    }

    /// After a fetch, a request to make before the answer is the truth (PayPal: an approved
    /// order is captured); its answer is parsed by [`Gateway::parse_fetch`] in place of the
    /// fetch's. `None`: the fetch's answer is the truth.
    fn build_settle(&self, _gateway_payment_id: &str, _fetched: &HttpResponse) -> Option<HttpRequest> {
        None
    }

    /// For gateways that verify their webhooks with a call of their own (PayPal's
    /// verify-webhook-signature), that call, made after [`Gateway::verify_webhook`] accepted the
    /// body's shape. `header` reads a request header.
    fn build_webhook_check(&self, _header: &dyn Fn(&str) -> Option<String>, _body: &[u8]) -> Option<HttpRequest> {
        None
    }

    /// Reads that call's answer: `Ok` only when the gateway vouches for the webhook.
    fn parse_webhook_check(&self, _resp: &HttpResponse) -> Result<(), WebhookError> {
        Ok(())
    }

    /// The credentials check.
    fn build_check(&self) -> HttpRequest;

    /// The verdict of a check, with the gateway's own message.
    fn parse_check(&self, resp: &HttpResponse, currency: Option<&str>) -> (CheckVerdict, String);
}

/// A configured gateway, whichever it is.
pub type Connector = Box<dyn Gateway>;

/// One gateway in the registry.
pub struct Registration {
    /// Its code, as routes, URLs and settings name it.
    pub code: &'static str,
    /// What it supports (known without configuring it: routing reads it).
    pub capabilities: &'static Capabilities,
    /// The settings it reads, for the operator's docs and error messages.
    pub settings: &'static [&'static str],
    /// Builds the gateway from the settings and this edge's origin; the error names what is
    /// missing or wrong.
    pub configure: fn(Settings<'_>, &str) -> Result<Connector, String>,
}

/// Every gateway Bawaba knows.
pub const REGISTRY: &[Registration] = &[
    sandbox::connector::REGISTRATION,
    moyasar::connector::REGISTRATION,
    tap::connector::REGISTRATION,
    aps::connector::REGISTRATION,
    super::stripe::connector::REGISTRATION,
    super::paypal::connector::REGISTRATION,
    super::paytabs::connector::REGISTRATION,
    hyperpay::connector::REGISTRATION,
];

/// The gateway registered under `code`.
pub fn find(code: &str) -> Option<&'static Registration> {
    REGISTRY.iter().find(|r| r.code == code)
}

/// The capabilities of a gateway by code.
pub fn capabilities_of(code: &str) -> Option<&'static Capabilities> {
    find(code).map(|r| r.capabilities)
}

/// Configures the gateway `code` from `settings`.
pub fn configure(code: &str, settings: Settings<'_>, edge_origin: &str) -> Result<Connector, String> {
    let registration = find(code).ok_or_else(|| format!("unknown gateway {code:?}"))?;
    (registration.configure)(settings, edge_origin)
}

/// A required setting; the error names it.
pub fn required(settings: Settings<'_>, name: &str) -> Result<String, String> {
    settings(name).filter(|v| !v.trim().is_empty()).ok_or_else(|| format!("setting {name} is missing"))
}

/// A base URL setting without its trailing slash, or the default.
pub fn base_url(settings: Settings<'_>, name: &str, default: &str) -> String {
    settings(name).map(|b| b.trim_end_matches('/').to_string()).unwrap_or_else(|| default.to_string())
}

/// A boolean setting (`true`, `1`, `on`, `yes`).
pub fn flag(settings: Settings<'_>, name: &str) -> bool {
    matches!(settings(name).as_deref().map(str::trim), Some("true" | "1" | "on" | "yes"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::OperationStatus;
    use crate::money::Currency;

    fn configured(code: &str, pairs: &[(&str, &str)]) -> Connector {
        let lookup = |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string());
        configure(code, &lookup, "http://edge").unwrap_or_else(|e| panic!("{code}: {e}"))
    }

    fn tap() -> Connector {
        configured("tap", &[("TAP_API_BASE", "http://t/v2"), ("TAP_SECRET_KEY", "sk_test_x")])
    }

    fn moyasar() -> Connector {
        configured(
            "moyasar",
            &[
                ("MOYASAR_API_BASE", "http://m/v1"),
                ("MOYASAR_SECRET_KEY", "sk_test_m"),
                ("MOYASAR_WEBHOOK_SECRET", "token"),
            ],
        )
    }

    fn paytabs() -> Connector {
        configured(
            "paytabs",
            &[("PAYTABS_API_BASE", "http://pt/"), ("PAYTABS_PROFILE_ID", "44017"), ("PAYTABS_SERVER_KEY", "SK-x")],
        )
    }

    fn sandbox() -> Connector {
        configured(
            "sandbox",
            &[
                ("SANDBOX_ENABLED", "true"),
                ("SANDBOX_API_BASE", "http://s/api"),
                ("SANDBOX_SECRET_KEY", "sk_sandbox"),
                ("SANDBOX_WEBHOOK_SECRET", "whsec"),
            ],
        )
    }

    #[test]
    fn every_gateway_is_one_registry_line_with_its_own_settings() {
        let codes: Vec<_> = REGISTRY.iter().map(|r| r.code).collect();
        assert_eq!(codes, ["sandbox", "moyasar", "tap", "aps", "stripe", "paypal", "paytabs", "hyperpay"]);
        for r in REGISTRY {
            assert!(!r.settings.is_empty(), "{} lists its settings", r.code);
            let none = |_: &str| None;
            let missing = (r.configure)(&none, "http://edge").unwrap_err();
            assert!(missing.contains("SANDBOX_ENABLED") || r.settings.iter().any(|s| missing.contains(s)), "{missing}");
        }
        assert_eq!(configure("nope", &|_| None, "").unwrap_err(), "unknown gateway \"nope\"");
        assert_eq!(tap().code(), "tap");
        assert_eq!(paytabs().code(), "paytabs");
        let letters = |n: &str| match n {
            "PAYTABS_PROFILE_ID" => Some("profile-1".to_string()),
            "PAYTABS_SERVER_KEY" => Some("SK-x".to_string()),
            _ => None,
        };
        let refused = configure("paytabs", &letters, "http://edge").unwrap_err();
        assert!(refused.contains("PAYTABS_PROFILE_ID"), "{refused}");
        let shown = format!("{:?}", paytabs());
        assert!(shown.contains("44017") && !shown.contains("SK-x"), "the key is never printed: {shown}");
        let default = configured("paytabs", &[("PAYTABS_PROFILE_ID", "1"), ("PAYTABS_SERVER_KEY", "SK-x")]);
        assert_eq!(default.build_check().url, "https://secure.paytabs.sa/payment/query", "the Saudi host");
    }

    #[test]
    fn modes_come_from_the_credentials() {
        assert_eq!(sandbox().mode(), Some(Mode::Test));
        assert_eq!(tap().mode(), Some(Mode::Test));
        let live = configured("tap", &[("TAP_SECRET_KEY", "sk_live_x")]);
        assert_eq!(live.mode(), Some(Mode::Live));
        let unknown = configured("tap", &[("TAP_SECRET_KEY", "opaque")]);
        assert_eq!(unknown.mode(), None);
        assert_eq!(paytabs().mode(), None, "PayTabs test and live profiles look alike");
    }

    #[test]
    fn only_tap_and_paytabs_refunds_are_asked_again() {
        let sar = Money::new(100, Currency::parse("SAR").unwrap());
        let req = tap().build_refund_status("re_1").expect("Tap refunds can stay pending");
        assert_eq!(req.url, "http://t/v2/refunds/re_1");
        let resp = HttpResponse { status: 200, body: br#"{"id":"re_1","status":"REFUNDED"}"#.to_vec() };
        assert_eq!(tap().parse_refund_status(&resp, sar).unwrap().status, OperationStatus::Succeeded);
        let req = paytabs().build_refund_status("TST2").expect("PayTabs refunds can be P (pending)");
        assert_eq!(req.url, "http://pt/payment/query", "a refund is queried by its own tran_ref");
        let settled = HttpResponse {
            status: 200,
            body: br#"{"tran_ref":"TST2","tran_type":"Refund","profile_id":44017,"cart_currency":"SAR","cart_amount":"1.00","payment_result":{"response_status":"A"}}"#.to_vec(),
        };
        assert_eq!(paytabs().parse_refund_status(&settled, sar).unwrap().status, OperationStatus::Succeeded);
        for other in [moyasar(), sandbox()] {
            assert!(other.build_refund_status("re_1").is_none(), "{}", other.code());
            assert!(other.parse_refund_status(&resp, sar).is_err());
        }
    }

    #[test]
    fn cancels_exist_only_where_the_gateway_documents_them() {
        assert!(sandbox().build_cancel("sbx_1").is_some());
        assert!(moyasar().build_cancel("inv_1").is_none());
        assert!(tap().build_cancel("chg_1").is_none());
        assert!(paytabs().build_cancel("TST2").is_none());
        let canceled = HttpResponse {
            status: 200,
            body: br#"{"id":"sbx_1","reference":"r","status":"canceled","amount":100,"currency":"SAR","method":"visa","hosted_url":"u"}"#.to_vec(),
        };
        assert_eq!(sandbox().parse_cancel(&canceled), CancelOutcome::Closed);
        assert!(matches!(moyasar().parse_cancel(&canceled), CancelOutcome::Refused(_)));
    }

    #[test]
    fn capabilities_say_what_the_gateway_offers() {
        for r in REGISTRY {
            let mut pairs = vec![
                ("SANDBOX_ENABLED", "true"),
                ("APS_SHA_TYPE", "SHA-256"),
                ("APS_APPLEPAY_SHA_TYPE", "SHA-256"),
                ("PAYTABS_PROFILE_ID", "44017"),
                ("HYPERPAY_MODE", "test"),
                ("HYPERPAY_API_BASE", "http://h"),
                ("HYPERPAY_WEBHOOK_KEY", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"),
                ("HYPERPAY_ENTITY_ID_MADA", "entity_mada"),
            ];
            pairs.extend(r.settings.iter().map(|s| (*s, "sk_test_probe_value")));
            let c = configured(r.code, &pairs);
            assert_eq!(c.build_capture("t", None).is_some(), r.capabilities.capture, "{} capture", r.code);
            assert_eq!(c.build_void("t").is_some(), r.capabilities.void, "{} void", r.code);
        }
    }
}
