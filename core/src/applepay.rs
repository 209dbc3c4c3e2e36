//! Apple Pay on the web with the merchant's own Apple Pay merchant identity, for the gateways
//! that charge an Apple Pay token but do not validate the merchant for it (Tap, APS, HyperPay).
//! Moyasar validates for the merchant itself ("web registration"); see
//! [`crate::gateway::moyasar::in_page`].
//!
//! Two things are needed from Apple's side, and both are pure here:
//!
//! - **Merchant validation**: Safari's `onvalidatemerchant` gives a `validationURL` on one of
//!   Apple's hosts; the merchant's server POSTs `{merchantIdentifier, displayName, initiative:
//!   "web", initiativeContext: <domain>}` there **over mutual TLS with its merchant identity
//!   certificate**, and hands Apple's answer (an opaque merchant session) to
//!   `completeMerchantValidation`. The edge sends it through a Cloudflare mTLS certificate
//!   binding; this module builds the request and reads the answer.
//! - **The token**: `ApplePayPayment.token` is `{paymentData, paymentMethod,
//!   transactionIdentifier}`; `paymentData` is encrypted by Apple for the merchant's *payment
//!   processing* certificate, whose key the gateway holds. Each gateway wants it in its own
//!   shape ([`ApplepayToken`] gives the parts).
//!
//! Sources: developer.apple.com "Providing merchant validation", "ApplePayPaymentToken".

use crate::gateway::{GatewayError, HttpMethod, HttpRequest, HttpResponse};
use serde::Deserialize;

/// The largest token accepted (Apple's are about 3 KB): anything bigger is not one.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// The merchant identifier Apple knows the merchant by (`merchant.com.example.shop`), as set in
/// `APPLE_PAY_MERCHANT_ID`. Apple's own rule: it starts with `merchant.`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerchantId(String);

impl MerchantId {
    /// Checks the setting's value: `merchant.` and a reverse-domain name, nothing else.
    pub fn parse(raw: &str) -> Result<MerchantId, String> {
        let raw = raw.trim();
        let name = raw.strip_prefix("merchant.").unwrap_or_default();
        let ok = !name.is_empty()
            && raw.len() <= 128
            && name.split('.').all(|part| !part.is_empty())
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_');
        if ok {
            Ok(MerchantId(raw.to_string()))
        } else {
            Err(format!(
                "{raw:?} is not an Apple Pay merchant identifier (merchant.<reverse domain>, as in Apple's developer account)"
            ))
        }
    }

    /// The identifier.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The merchant validation request: to Apple's `validation_url` (already checked to be one of
/// Apple's hosts, [`crate::api::check_applepay_validation_url`]), for the shop page's `domain`,
/// with the name the sheet shows. It must be sent with the merchant identity certificate.
pub fn build_merchant_validation(
    validation_url: &str,
    merchant: &MerchantId,
    domain: &str,
    display_name: &str,
) -> HttpRequest {
    let body = serde_json::json!({
        "merchantIdentifier": merchant.as_str(),
        // Apple shows at most 64 characters of it.
        "displayName": display_name.chars().take(64).collect::<String>(),
        "initiative": "web",
        "initiativeContext": domain,
    });
    HttpRequest {
        method: HttpMethod::Post,
        url: validation_url.to_string(),
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: Some(body.to_string().into_bytes()),
    }
}

/// Apple's answer: on 200 an object with a `merchantSessionIdentifier`, handed to the sheet
/// untouched (it is signed by Apple). Anything else is a refusal: Apple answers 4xx for an
/// unknown merchant, a domain not registered for it, or no (or the wrong) client certificate.
pub fn parse_merchant_session(resp: &HttpResponse) -> Result<serde_json::Value, GatewayError> {
    if resp.status >= 500 {
        return Err(GatewayError::Unreachable(format!("Apple answered {}", resp.status)));
    }
    let body: serde_json::Value = serde_json::from_slice(&resp.body).unwrap_or(serde_json::Value::Null);
    if resp.status != 200 {
        // Apple's error body: {"statusMessage": "...", "statusCode": "400"}.
        let message = body["statusMessage"].as_str().unwrap_or("no message").chars().take(300).collect::<String>();
        return Err(GatewayError::Rejected {
            status: resp.status,
            message: format!("Apple refused the merchant validation: {message}"),
        });
    }
    if !body.is_object() || !body["merchantSessionIdentifier"].is_string() {
        return Err(GatewayError::InvalidResponse("Apple's merchant session is not the documented object".into()));
    }
    Ok(body)
}

/// `ApplePayPayment.token`, as the widget passes it (JSON text).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplepayToken {
    /// Encrypted by Apple for the merchant's payment processing certificate.
    pub payment_data: PaymentData,
    /// The card as Apple describes it (no number).
    pub payment_method: TokenPaymentMethod,
    /// Apple's id of the transaction.
    pub transaction_identifier: String,
}

/// `paymentData` of an `EC_v1` or `RSA_v1` token.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PaymentData {
    /// `EC_v1` (or `RSA_v1`).
    pub version: String,
    /// The encrypted payment data, base64.
    pub data: String,
    /// Apple's signature, base64.
    pub signature: String,
    /// Keys and ids for decryption.
    pub header: PaymentDataHeader,
}

/// `paymentData.header`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentDataHeader {
    /// `EC_v1`: the ephemeral public key, base64.
    #[serde(default)]
    pub ephemeral_public_key: Option<String>,
    /// `RSA_v1`: the wrapped symmetric key, base64.
    #[serde(default)]
    pub wrapped_key: Option<String>,
    /// Hash of the payment processing certificate's public key, base64.
    pub public_key_hash: String,
    /// The transaction's id, hex.
    pub transaction_id: String,
    /// Set by in-app payments only.
    #[serde(default)]
    pub application_data: Option<String>,
}

/// `paymentMethod` of the token.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenPaymentMethod {
    /// "Visa 1234", "mada 1010".
    #[serde(default)]
    pub display_name: String,
    /// `Visa`, `MasterCard`, `mada`, `AmEx`.
    #[serde(default)]
    pub network: String,
    /// `debit`, `credit`, `prepaid`, `store`.
    #[serde(default, rename = "type")]
    pub kind: String,
}

impl ApplepayToken {
    /// Reads the token; `Err` says what is missing (a token without its encrypted data cannot be
    /// charged anywhere, so it is refused before any gateway is asked).
    pub fn parse(json: &str) -> Result<ApplepayToken, String> {
        if json.len() > MAX_TOKEN_BYTES {
            return Err(format!("an Apple Pay token is at most {MAX_TOKEN_BYTES} bytes"));
        }
        let token: ApplepayToken = serde_json::from_str(json).map_err(|e| format!("not an Apple Pay token: {e}"))?;
        let d = &token.payment_data;
        if d.data.is_empty() || d.signature.is_empty() || d.version.is_empty() {
            return Err("the Apple Pay token has no encrypted payment data".into());
        }
        if d.header.ephemeral_public_key.is_none() && d.header.wrapped_key.is_none() {
            return Err("the Apple Pay token's header has no key".into());
        }
        Ok(token)
    }

    /// `paymentData` as the JSON object Apple made (Tap's `token_data`), read again from the
    /// token's text so that no field is dropped (fields the typed parts do not name included).
    /// Its keys come out in serde_json's order, not Apple's: a JSON reader does not mind.
    pub fn payment_data_json(json: &str) -> Result<serde_json::Value, String> {
        let whole: serde_json::Value = serde_json::from_str(json).map_err(|e| format!("not JSON: {e}"))?;
        match whole.get("paymentData") {
            Some(data) if data.is_object() => Ok(data.clone()),
            _ => Err("the Apple Pay token has no paymentData".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = r#"{"paymentData":{"version":"EC_v1","data":"ZGF0YQ==","signature":"c2ln",
        "header":{"ephemeralPublicKey":"a2V5","publicKeyHash":"aGFzaA==","transactionId":"abc123"}},
        "paymentMethod":{"displayName":"mada 1010","network":"mada","type":"debit"},"transactionIdentifier":"ABC123"}"#;

    #[test]
    fn a_merchant_id_is_apples_form_only() {
        assert_eq!(MerchantId::parse(" merchant.sa.shop ").unwrap().as_str(), "merchant.sa.shop");
        for bad in ["", "merchant.", "sa.shop", "merchant..x", "merchant.a b", "merchant.a\"b"] {
            assert!(MerchantId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_validation_goes_to_apples_url_for_the_shops_domain() {
        let m = MerchantId::parse("merchant.sa.shop").unwrap();
        let url = "https://apple-pay-gateway.apple.com/paymentservices/paymentSession";
        let req = build_merchant_validation(url, &m, "shop.example", &"ن".repeat(80));
        assert_eq!((req.method, req.url.as_str()), (HttpMethod::Post, url));
        let body: serde_json::Value = serde_json::from_slice(req.body.as_deref().unwrap()).unwrap();
        assert_eq!(body["merchantIdentifier"], "merchant.sa.shop");
        assert_eq!(body["initiative"], "web");
        assert_eq!(body["initiativeContext"], "shop.example");
        assert_eq!(body["displayName"].as_str().unwrap().chars().count(), 64);
    }

    #[test]
    fn apples_answer_is_a_session_a_refusal_or_an_outage() {
        let answer = |status, body: &str| HttpResponse { status, body: body.as_bytes().to_vec() };
        let session = parse_merchant_session(&answer(200, r#"{"merchantSessionIdentifier":"S","nonce":"n"}"#));
        assert_eq!(session.unwrap()["nonce"], "n");
        let refused =
            parse_merchant_session(&answer(400, r#"{"statusMessage":"unregistered domain","statusCode":"400"}"#));
        assert!(
            matches!(refused, Err(GatewayError::Rejected { status: 400, ref message }) if message.contains("unregistered domain"))
        );
        assert!(parse_merchant_session(&answer(503, "")).unwrap_err().is_outage());
        assert!(matches!(parse_merchant_session(&answer(200, "{}")), Err(GatewayError::InvalidResponse(_))));
        assert!(matches!(parse_merchant_session(&answer(200, "[]")), Err(GatewayError::InvalidResponse(_))));
    }

    #[test]
    fn a_token_is_read_whole_or_refused() {
        let token = ApplepayToken::parse(TOKEN).unwrap();
        assert_eq!(token.payment_data.header.ephemeral_public_key.as_deref(), Some("a2V5"));
        assert_eq!((token.payment_method.network.as_str(), token.payment_method.kind.as_str()), ("mada", "debit"));
        assert_eq!(ApplepayToken::payment_data_json(TOKEN).unwrap()["header"]["transactionId"], "abc123");
        let no_data = TOKEN.replace(r#""data":"ZGF0YQ==","#, "");
        let no_key = TOKEN.replace(r#""ephemeralPublicKey":"a2V5","#, "");
        let empty = TOKEN.replace("ZGF0YQ==", "");
        for bad in ["{}", "[]", "x", no_data.as_str(), no_key.as_str(), empty.as_str()] {
            assert!(ApplepayToken::parse(bad).is_err(), "{bad}");
        }
        assert!(ApplepayToken::parse(&format!("{TOKEN:width$}", width = MAX_TOKEN_BYTES + 1)).is_err());
    }
}
