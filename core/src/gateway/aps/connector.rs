//! Amazon Payment Services in the registry: its settings and its [`Gateway`] surface.

use super::{Config, ShaType, CAPABILITIES, CODE, DEFAULT_API_BASE, DEFAULT_PAGE_BASE};
use crate::gateway::connector::{base_url, required, Connector, Gateway, Registration, Settings, Start, StartInput};
use crate::gateway::{
    Capabilities, CheckVerdict, GatewayError, GatewayPayment, GatewaySession, HttpRequest, HttpResponse, MethodFlow,
    Mode, OperationResult, Wallet, WebhookError, WebhookHint,
};
use crate::method::PaymentMethod;
use crate::money::Money;
use crate::secret::Secret;

/// APS's registry line.
pub const REGISTRATION: Registration = Registration {
    code: CODE,
    capabilities: &CAPABILITIES,
    settings: &[
        "APS_MERCHANT_IDENTIFIER",
        "APS_ACCESS_CODE",
        "APS_SHA_REQUEST_PHRASE",
        "APS_SHA_RESPONSE_PHRASE",
        "APS_SHA_TYPE",
        "APS_PAGE_BASE",
        "APS_API_BASE",
        "APS_APPLEPAY_ACCESS_CODE",
        "APS_APPLEPAY_SHA_REQUEST_PHRASE",
        "APS_APPLEPAY_SHA_RESPONSE_PHRASE",
        "APS_APPLEPAY_SHA_TYPE",
    ],
    configure,
};

/// The Apple Pay settings, all or none.
const APPLEPAY_SETTINGS: [&str; 3] =
    ["APS_APPLEPAY_ACCESS_CODE", "APS_APPLEPAY_SHA_REQUEST_PHRASE", "APS_APPLEPAY_SHA_RESPONSE_PHRASE"];

/// APS as the edge holds it: the card credentials, and the Apple Pay ones where they are set
/// (the same merchant and hosts, APS's Apple Pay access code, phrases and SHA type).
#[derive(Debug, Clone)]
pub struct Aps {
    /// Cards, STC Pay, the hosted page.
    pub card: Config,
    /// Apple Pay's credentials (they sign the purchase, and the status query, refund and
    /// notification of an Apple Pay payment).
    pub applepay: Option<Config>,
    /// Whether the sheet's token is taken in the page: the Apple Pay credentials and a
    /// merchant the edge can validate with Apple (`APPLE_PAY_MERCHANT_ID`, which the edge shows
    /// only with its certificate binding).
    pub applepay_in_page: bool,
}

fn sha_type(name: &str, raw: &str) -> Result<ShaType, String> {
    ShaType::parse(raw).ok_or_else(|| format!("setting {name} must be SHA-256 or SHA-512, not {raw:?}"))
}

fn configure(settings: Settings<'_>, _edge_origin: &str) -> Result<Connector, String> {
    let sha = settings("APS_SHA_TYPE").unwrap_or_else(|| "SHA-256".into());
    let card = Config {
        merchant_identifier: required(settings, "APS_MERCHANT_IDENTIFIER")?,
        access_code: Secret::new(required(settings, "APS_ACCESS_CODE")?),
        request_phrase: Secret::new(required(settings, "APS_SHA_REQUEST_PHRASE")?),
        response_phrase: Secret::new(required(settings, "APS_SHA_RESPONSE_PHRASE")?),
        sha_type: sha_type("APS_SHA_TYPE", &sha)?,
        page_base: base_url(settings, "APS_PAGE_BASE", DEFAULT_PAGE_BASE),
        api_base: base_url(settings, "APS_API_BASE", DEFAULT_API_BASE),
    };
    let set = |name: &str| settings(name).is_some_and(|v| !v.trim().is_empty());
    let applepay = if APPLEPAY_SETTINGS.iter().any(|n| set(n)) {
        // Some set, not all: say which is missing rather than quietly leaving Apple Pay off.
        let ap_sha = settings("APS_APPLEPAY_SHA_TYPE").filter(|v| !v.trim().is_empty()).unwrap_or(sha);
        Some(Config {
            access_code: Secret::new(required(settings, APPLEPAY_SETTINGS[0])?),
            request_phrase: Secret::new(required(settings, APPLEPAY_SETTINGS[1])?),
            response_phrase: Secret::new(required(settings, APPLEPAY_SETTINGS[2])?),
            sha_type: sha_type("APS_APPLEPAY_SHA_TYPE", &ap_sha)?,
            ..card.clone()
        })
    } else {
        None
    };
    let merchant_visible = settings("APPLE_PAY_MERCHANT_ID").is_some_and(|v| !v.trim().is_empty());
    let applepay_in_page = applepay.is_some() && merchant_visible;
    Ok(Box::new(Aps { card, applepay, applepay_in_page }))
}

impl Config {
    /// APS's keys carry no mode; its hosted page's host does (`sbcheckout.payfort.com` is the
    /// sandbox).
    fn mode_of_hosts(&self) -> Option<Mode> {
        if self.page_base.contains("sbcheckout.") {
            Some(Mode::Test)
        } else if self.page_base.contains("//checkout.payfort.com") {
            Some(Mode::Live)
        } else {
            None
        }
    }
}

impl Aps {
    /// The credentials a payment's messages are signed with: Apple Pay's for an Apple Pay
    /// payment's `merchant_reference` (`bwap-…`), the card ones otherwise.
    fn keys_for(&self, merchant_reference: &str) -> &Config {
        match &self.applepay {
            Some(ap) if super::applepay::is_applepay_reference(merchant_reference) => ap,
            _ => &self.card,
        }
    }

    /// The credentials an answer is verified with, from the reference it is about.
    fn keys_for_answer(&self, resp: &HttpResponse) -> &Config {
        let reference = super::applepay::read_params(&resp.body)
            .ok()
            .and_then(|p| p.get("merchant_reference").map(super::applepay::Param::signed_text))
            .unwrap_or_default();
        self.keys_for(&reference)
    }
}

impl Gateway for Aps {
    fn code(&self) -> &'static str {
        CODE
    }

    fn capabilities(&self) -> &'static Capabilities {
        &CAPABILITIES
    }

    fn mode(&self) -> Option<Mode> {
        self.card.mode_of_hosts()
    }

    /// APS's `merchant_reference` is made per session: the session's own id at the gateway.
    fn expected_reference(&self, _ours: &str, gateway_payment_id: &str) -> String {
        gateway_payment_id.to_string()
    }

    /// Apple Pay in the page where [`Aps::applepay_in_page`]; everything else on APS's page.
    fn flow(&self, method: PaymentMethod) -> MethodFlow {
        match method {
            PaymentMethod::Applepay if self.applepay_in_page => MethodFlow::Applepay,
            _ => MethodFlow::Redirect,
        }
    }

    /// The page opens by a signed form post from the shopper's browser: nothing to call. An
    /// Apple Pay token is charged at once (`PURCHASE` on the API).
    /// An Apple Pay purchase is ours to name: its merchant reference, which CHECK_STATUS finds.
    fn charge_id_before_call(&self, input: &StartInput<'_>) -> Option<String> {
        let in_page = self.applepay.is_some() && self.applepay_in_page && input.method == PaymentMethod::Applepay;
        (in_page && matches!(input.wallet, Some(Wallet::Applepay { .. })))
            .then(|| super::applepay::merchant_reference(input.session_key))
    }

    fn build_start(&self, input: &StartInput<'_>) -> Result<Start, GatewayError> {
        match input.wallet {
            Some(Wallet::Applepay { token }) => match &self.applepay {
                Some(ap) if self.applepay_in_page && input.method == PaymentMethod::Applepay => {
                    super::applepay::build_purchase(ap, input, token).map(Start::Call)
                }
                _ => Err(GatewayError::Rejected {
                    status: 400,
                    message: "APS takes Apple Pay in the page only with APS_APPLEPAY_* and APPLE_PAY_MERCHANT_ID set"
                        .into(),
                }),
            },
            Some(Wallet::Stcpay { .. }) => Err(GatewayError::Rejected {
                status: 400,
                message: "APS takes STC Pay on its page, not in this one".into(),
            }),
            None => {
                let (url, form) = super::build_page_form(&self.card, input)?;
                let id = form["merchant_reference"].clone();
                Ok(Start::Ready(GatewaySession {
                    id,
                    redirect_url: url,
                    form: Some(form),
                    flow: crate::gateway::SessionFlow::Hosted,
                }))
            }
        }
    }

    fn parse_start(&self, _resp: &HttpResponse) -> Result<GatewaySession, GatewayError> {
        Err(GatewayError::InvalidResponse("APS sessions need no call".into()))
    }

    /// The answer to an Apple Pay purchase (the only start that calls APS).
    fn parse_start_for(&self, input: &StartInput<'_>, resp: &HttpResponse) -> Result<GatewaySession, GatewayError> {
        match (&self.applepay, input.wallet) {
            (Some(ap), Some(Wallet::Applepay { .. })) => super::applepay::parse_purchase(ap, input, resp),
            _ => self.parse_start(resp),
        }
    }

    /// `CHECK_STATUS`, for a page or an Apple Pay payment (made in the page or after 3-D
    /// Secure), signed with that payment's credentials.
    fn build_fetch(&self, gateway_payment_id: &str) -> HttpRequest {
        super::build_fetch_payment(self.keys_for(gateway_payment_id), gateway_payment_id)
    }

    fn parse_fetch(&self, resp: &HttpResponse, expected: &Money) -> Result<GatewayPayment, GatewayError> {
        super::parse_fetch_payment(self.keys_for_answer(resp), resp, expected)
    }

    // An APS page that was never posted has nothing to cancel.

    /// Feedback is signed with the card response phrase, or (an Apple Pay payment's) with Apple
    /// Pay's: either proves it comes from APS.
    fn verify_webhook(
        &self,
        _header: &dyn Fn(&str) -> Option<String>,
        body: &[u8],
        _now: i64,
    ) -> Result<WebhookHint, WebhookError> {
        match (super::verify_webhook(&self.card, body), &self.applepay) {
            (Err(WebhookError::Signature(_)), Some(ap)) => super::verify_webhook(ap, body),
            (card, _) => card,
        }
    }

    fn build_refund(
        &self,
        gateway_payment_id: &str,
        transaction_id: &str,
        amount: &Money,
        _reference: &str,
    ) -> HttpRequest {
        super::build_refund(self.keys_for(gateway_payment_id), gateway_payment_id, transaction_id, amount)
    }

    fn parse_refund(&self, resp: &HttpResponse, amount: Money) -> Result<OperationResult, GatewayError> {
        super::parse_refund(self.keys_for_answer(resp), resp, amount)
    }

    /// The card credentials' check (one request: the Apple Pay ones are checked by their
    /// first purchase).
    fn build_check(&self) -> HttpRequest {
        super::build_check(&self.card)
    }

    fn parse_check(&self, resp: &HttpResponse, currency: Option<&str>) -> (CheckVerdict, String) {
        super::parse_check(&self.card, resp, currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::aps::{applepay, sign};
    use crate::money::Currency;
    use std::collections::BTreeMap;

    const CARD: &[(&str, &str)] = &[
        ("APS_MERCHANT_IDENTIFIER", "MERCH"),
        ("APS_ACCESS_CODE", "ACCESS"),
        ("APS_SHA_REQUEST_PHRASE", "REQ"),
        ("APS_SHA_RESPONSE_PHRASE", "RES"),
        ("APS_API_BASE", "http://aps"),
    ];
    const APPLEPAY: &[(&str, &str)] = &[
        ("APS_APPLEPAY_ACCESS_CODE", "AP-ACCESS"),
        ("APS_APPLEPAY_SHA_REQUEST_PHRASE", "APREQ"),
        ("APS_APPLEPAY_SHA_RESPONSE_PHRASE", "APRES"),
    ];
    const MERCHANT: (&str, &str) = ("APPLE_PAY_MERCHANT_ID", "merchant.sa.shop");

    fn configured(pairs: &[(&str, &str)]) -> Result<Connector, String> {
        let lookup = |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string());
        configure(&lookup, "http://edge")
    }

    fn all(extra: &[&[(&'static str, &'static str)]]) -> Vec<(&'static str, &'static str)> {
        let mut out = CARD.to_vec();
        for e in extra {
            out.extend_from_slice(e);
        }
        out
    }

    fn body_of(req: &HttpRequest) -> serde_json::Value {
        serde_json::from_slice(req.body.as_ref().unwrap()).unwrap()
    }

    #[test]
    fn apple_pay_is_in_the_page_only_with_its_credentials_and_a_validated_merchant() {
        let flow = |pairs: &[(&str, &str)]| configured(pairs).unwrap().flow(PaymentMethod::Applepay);
        assert_eq!(flow(CARD), MethodFlow::Redirect);
        assert_eq!(flow(&all(&[&[MERCHANT]])), MethodFlow::Redirect, "no Apple Pay credentials");
        assert_eq!(flow(&all(&[APPLEPAY])), MethodFlow::Redirect, "no merchant the edge can validate");
        let both = configured(&all(&[APPLEPAY, &[MERCHANT]])).unwrap();
        assert_eq!(both.flow(PaymentMethod::Applepay), MethodFlow::Applepay);
        assert_eq!(both.flow(PaymentMethod::Mada), MethodFlow::Redirect);
        let partial = configured(&all(&[&APPLEPAY[..2], &[MERCHANT]])).unwrap_err();
        assert!(partial.contains("APS_APPLEPAY_SHA_RESPONSE_PHRASE"), "{partial}");
        let bad = configured(&all(&[APPLEPAY, &[("APS_APPLEPAY_SHA_TYPE", "HMAC-SHA256")]])).unwrap_err();
        assert!(bad.contains("APS_APPLEPAY_SHA_TYPE"), "{bad}");
        let shown = format!("{both:?}");
        assert!(!shown.contains("APREQ") && !shown.contains("AP-ACCESS"), "credentials are never printed: {shown}");
    }

    #[test]
    fn an_apple_pay_token_is_charged_at_once_and_its_payment_asked_with_apple_pays_keys() {
        let aps = configured(&all(&[APPLEPAY, &[MERCHANT], &[("APS_APPLEPAY_SHA_TYPE", "SHA-512")]])).unwrap();
        let money = Money::new(4550, Currency::parse("SAR").unwrap());
        let token = r#"{"paymentData":{"version":"EC_v1","data":"ZGF0YQ==","signature":"c2ln",
            "header":{"ephemeralPublicKey":"a2V5","publicKeyHash":"aGFzaA==","transactionId":"abc123"}},
            "paymentMethod":{"displayName":"mada 1010","network":"mada","type":"debit"},"transactionIdentifier":"T"}"#;
        let wallet = Wallet::Applepay { token: token.into() };
        let input = StartInput {
            session_key: "abc",
            wallet: Some(&wallet),
            ..StartInput::sample(money, PaymentMethod::Applepay)
        };
        let Start::Call(req) = aps.build_start(&input).unwrap() else { panic!("a call") };
        let sent = applepay::read_params(req.body.as_ref().unwrap()).unwrap();
        assert_eq!(sent["access_code"], applepay::Param::Text("AP-ACCESS".into()));
        assert_eq!(
            sent["signature"],
            applepay::Param::Text(applepay::sign_params(&sent, "APREQ", ShaType::Sha512)),
            "Apple Pay's phrase and SHA type"
        );
        // Named before the call: the reference the purchase carries, which CHECK_STATUS finds.
        assert_eq!(aps.charge_id_before_call(&input).as_deref(), Some("bwap-abc"));
        assert_eq!(sent["merchant_reference"], applepay::Param::Text("bwap-abc".into()));
        let hosted = StartInput { wallet: None, ..input };
        assert_eq!(aps.charge_id_before_call(&hosted), None, "a hosted page charges nothing at its start");
        let not_json = Wallet::Applepay { token: "{}".into() };
        let refused = aps.build_start(&StartInput { wallet: Some(&not_json), ..input });
        assert!(matches!(refused, Err(GatewayError::Rejected { status: 400, .. })));
        let hosted_only = configured(&all(&[APPLEPAY])).unwrap();
        assert!(matches!(hosted_only.build_start(&input), Err(GatewayError::Rejected { status: 400, .. })));

        // The status query and the refund of an Apple Pay payment use Apple Pay's keys.
        let fetch = body_of(&aps.build_fetch("bwap-abc"));
        assert_eq!(fetch["access_code"], "AP-ACCESS");
        let signed: BTreeMap<String, String> =
            fetch.as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string())).collect();
        assert_eq!(fetch["signature"], sign(&signed, "APREQ", ShaType::Sha512));
        assert_eq!(body_of(&aps.build_fetch("bw-abc"))["access_code"], "ACCESS");
        assert_eq!(body_of(&aps.build_refund("bwap-abc", "169", &money, "r1"))["access_code"], "AP-ACCESS");
        assert_eq!(body_of(&aps.build_refund("bw-abc", "169", &money, "r1"))["access_code"], "ACCESS");

        let status = |reference: &str, phrase: &str, sha: ShaType| {
            let mut p = BTreeMap::new();
            for (k, v) in [
                ("status", "12"),
                ("transaction_status", "14"),
                ("merchant_reference", reference),
                ("amount", "4550"),
                ("currency", "SAR"),
                ("fort_id", "169"),
            ] {
                p.insert(k.to_string(), v.to_string());
            }
            let s = sign(&p, phrase, sha);
            p.insert("signature".into(), s);
            HttpResponse { status: 200, body: serde_json::to_vec(&p).unwrap() }
        };
        let paid = aps.parse_fetch(&status("bwap-abc", "APRES", ShaType::Sha512), &money).unwrap();
        assert_eq!(paid.state, crate::payment::PaymentState::Paid);
        assert!(aps.parse_fetch(&status("bwap-abc", "RES", ShaType::Sha256), &money).is_err(), "the card phrase");
        assert!(aps.parse_fetch(&status("bw-abc", "APRES", ShaType::Sha512), &money).is_err(), "Apple Pay's phrase");
        assert!(aps.parse_fetch(&status("bw-abc", "RES", ShaType::Sha256), &money).is_ok());
    }

    #[test]
    fn feedback_is_taken_signed_with_either_response_phrase() {
        let aps = configured(&all(&[APPLEPAY, &[MERCHANT]])).unwrap();
        let form = |phrase: &str| {
            let mut p = BTreeMap::new();
            p.insert("merchant_reference".to_string(), "bwap-1".to_string());
            p.insert("digital_wallet".to_string(), "APPLE_PAY".to_string());
            format!(
                "merchant_reference=bwap-1&digital_wallet=APPLE_PAY&signature={}",
                sign(&p, phrase, ShaType::Sha256)
            )
        };
        let none = |_: &str| None;
        for phrase in ["RES", "APRES"] {
            assert!(aps.verify_webhook(&none, form(phrase).as_bytes(), 0).is_ok(), "{phrase}");
        }
        assert!(matches!(
            aps.verify_webhook(&none, form("REQ").as_bytes(), 0),
            Err(WebhookError::Signature(crate::signature::SignatureError::Mismatch))
        ));
        let card_only = configured(CARD).unwrap();
        assert!(card_only.verify_webhook(&none, form("APRES").as_bytes(), 0).is_err());
    }
}
