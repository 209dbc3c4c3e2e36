//! PayTabs' two signed messages, both keyed with the profile's **server key** (gateways.md §4.4;
//! paytabscom/paytabs-odoo `models/payment_provider.py` `_paytabs_calculate_signature` and
//! `controllers/main.py`):
//!
//! - the **callback** (server-to-server IPN to the `callback` URL): a JSON body, header
//!   `signature` = hex HMAC-SHA256 of the **raw body**;
//! - the **return** (the shopper's browser POSTs form fields to the `return` URL, HTTPS only):
//!   field `signature` = hex HMAC-SHA256 of the fields other than `signature` whose value is not
//!   empty, sorted by key, each written `quote_plus(key)=quote_plus(value)` (Python's
//!   `urllib.parse.quote_plus`: space as `+`, every byte but `A-Z a-z 0-9 _ . - ~` as `%XX`) and
//!   joined with `&`.
//!
//! Hex is compared case-insensitively (its casing is not guaranteed), in constant time. Either
//! message is then only a trigger: the edge asks `POST /payment/query` for the truth.

use super::wire::Transaction;
use crate::gateway::{WebhookError, WebhookHint};
use crate::signature::SignatureError;

/// The callback's header.
pub const HEADER: &str = "signature";

/// The return's signature field.
pub const RETURN_FIELD: &str = "signature";

/// The callback's header value for `body` (the gateway side, and tests).
pub fn sign(server_key: &[u8], body: &[u8]) -> String {
    hex::encode(crate::hmac_sha256(server_key, body))
}

fn compare(server_key: &[u8], given: &str, message: &[u8]) -> Result<(), WebhookError> {
    let given = hex::decode(given.trim()).map_err(|_| WebhookError::Signature(SignatureError::Malformed))?;
    if !crate::constant_time_eq(&given, &crate::hmac_sha256(server_key, message)) {
        return Err(WebhookError::Signature(SignatureError::Mismatch));
    }
    Ok(())
}

/// Verifies a callback: the signature over the raw body first, then the body: it must name a
/// transaction, and, when it names a profile, ours (a valid signature proves some key signed it,
/// the profile that it is this merchant's transaction).
pub fn verify(
    server_key: &[u8],
    profile_id: &str,
    header: Option<&str>,
    body: &[u8],
) -> Result<WebhookHint, WebhookError> {
    let header = header.filter(|h| !h.trim().is_empty()).ok_or(WebhookError::Signature(SignatureError::Missing))?;
    compare(server_key, header, body)?;
    let tran: Transaction = serde_json::from_slice(body).map_err(|e| WebhookError::Body(e.to_string()))?;
    if let Some(theirs) = tran.profile_id.as_ref().map(super::profile_text) {
        if theirs != profile_id {
            return Err(WebhookError::Body(format!("the callback is for PayTabs profile {theirs}, not this edge's")));
        }
    }
    let tran_ref = tran
        .tran_ref
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| WebhookError::Body("the callback names no tran_ref".into()))?;
    Ok(WebhookHint { gateway_payment_id: Some(tran_ref), reference: tran.cart_id })
}

/// Python's `quote_plus` of one key or value.
pub fn quote_plus(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => (b as char).to_string(),
            b' ' => "+".to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The string a return's signature covers.
pub fn return_signed_string(fields: &[(String, String)]) -> String {
    let mut kept: Vec<&(String, String)> = fields.iter().filter(|(k, v)| k != RETURN_FIELD && !v.is_empty()).collect();
    kept.sort_by(|a, b| a.0.cmp(&b.0));
    kept.iter().map(|(k, v)| format!("{}={}", quote_plus(k), quote_plus(v))).collect::<Vec<_>>().join("&")
}

/// A return's `signature` field for `fields` (the gateway side, and tests).
pub fn sign_return(server_key: &[u8], fields: &[(String, String)]) -> String {
    sign(server_key, return_signed_string(fields).as_bytes())
}

/// Decodes an `application/x-www-form-urlencoded` body; `None` when it is malformed (a broken
/// `%` escape, bytes that are not UTF-8).
pub fn parse_form(body: &str) -> Option<Vec<(String, String)>> {
    fn decode(s: &str) -> Option<String> {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' => {
                    let hex = bytes.get(i + 1..i + 3)?;
                    out.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
                    i += 2;
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8(out).ok()
    }
    body.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            Some((decode(k)?, decode(v)?))
        })
        .collect()
}

/// What a verified return says (a hint: the edge still asks PayTabs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnHint {
    /// `tranRef`.
    pub tran_ref: String,
    /// `cartId`.
    pub cart_id: Option<String>,
    /// `respStatus`.
    pub status: Option<String>,
}

/// Verifies the fields of a return POST. A field given twice is refused (it could hide one
/// value behind another).
pub fn verify_return(server_key: &[u8], body: &str) -> Result<ReturnHint, WebhookError> {
    let fields = parse_form(body).ok_or(WebhookError::Signature(SignatureError::Malformed))?;
    let mut keys: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
    keys.sort_unstable();
    if keys.windows(2).any(|w| w[0] == w[1]) {
        return Err(WebhookError::Signature(SignatureError::Malformed));
    }
    let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let given =
        field(RETURN_FIELD).filter(|s| !s.trim().is_empty()).ok_or(WebhookError::Signature(SignatureError::Missing))?;
    compare(server_key, &given, return_signed_string(&fields).as_bytes())?;
    let tran_ref = field("tranRef")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| WebhookError::Body("the return names no tranRef".into()))?;
    Ok(ReturnHint { tran_ref, cart_id: field("cartId"), status: field("respStatus") })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"SJNLKDMNTL-JGHBDKLMRB-TWNKLM6NBH";
    const BODY: &str = r#"{"tran_ref":"TST2233400001234","cart_id":"demo:S1","cart_currency":"SAR","cart_amount":"45.50","profile_id":44017,"payment_result":{"response_status":"A","response_code":"G96547","response_message":"Authorised"}}"#;
    // Computed independently with Python 3: hmac.new(KEY, BODY, hashlib.sha256).hexdigest().
    const BODY_SIGNATURE: &str = "f25e165b08cf57affbc4557ef438519da15af9cffa88862e0c01927f16d39b54";

    #[test]
    fn the_callback_is_signed_over_the_raw_body() {
        assert_eq!(sign(KEY, BODY.as_bytes()), BODY_SIGNATURE, "the independent vector");
        let hint = verify(KEY, "44017", Some(BODY_SIGNATURE), BODY.as_bytes()).unwrap();
        assert_eq!(hint.gateway_payment_id.as_deref(), Some("TST2233400001234"));
        assert_eq!(hint.reference.as_deref(), Some("demo:S1"));
        let upper = BODY_SIGNATURE.to_ascii_uppercase();
        assert!(verify(KEY, "44017", Some(&upper), BODY.as_bytes()).is_ok(), "hex casing is not guaranteed");
    }

    #[test]
    fn a_callback_with_one_byte_changed_or_the_wrong_key_is_refused() {
        let sig = Some(BODY_SIGNATURE);
        let mismatch = Err(WebhookError::Signature(SignatureError::Mismatch));
        for i in 0..BODY.len() {
            let mut changed = BODY.as_bytes().to_vec();
            changed[i] ^= 0x01;
            assert_eq!(verify(KEY, "44017", sig, &changed), mismatch, "byte {i} changed");
        }
        let reformatted = BODY.replace(":", ": ");
        assert_eq!(verify(KEY, "44017", sig, reformatted.as_bytes()), mismatch, "the raw bytes, not the JSON");
        assert_eq!(verify(b"another-server-key", "44017", sig, BODY.as_bytes()), mismatch);
        assert_eq!(verify(KEY, "44017", None, BODY.as_bytes()), Err(WebhookError::Signature(SignatureError::Missing)));
        assert_eq!(
            verify(KEY, "44017", Some(" "), BODY.as_bytes()),
            Err(WebhookError::Signature(SignatureError::Missing))
        );
        assert_eq!(
            verify(KEY, "44017", Some("not hex"), BODY.as_bytes()),
            Err(WebhookError::Signature(SignatureError::Malformed))
        );
        let truncated = &BODY_SIGNATURE[..62];
        assert_eq!(verify(KEY, "44017", Some(truncated), BODY.as_bytes()), mismatch);
    }

    #[test]
    fn an_authentic_callback_for_another_profile_or_without_a_tran_ref_is_refused() {
        assert!(matches!(
            verify(KEY, "99999", Some(BODY_SIGNATURE), BODY.as_bytes()),
            Err(WebhookError::Body(m)) if m.contains("44017")
        ));
        let no_ref = br#"{"cart_id":"demo:S1"}"#;
        assert!(matches!(verify(KEY, "44017", Some(&sign(KEY, no_ref)), no_ref), Err(WebhookError::Body(_))));
        let not_json = b"tran_ref=1";
        assert!(matches!(verify(KEY, "44017", Some(&sign(KEY, not_json)), not_json), Err(WebhookError::Body(_))));
    }

    fn return_fields() -> Vec<(String, String)> {
        [
            ("tranRef", "TST2233400001234"),
            ("respStatus", "A"),
            ("respCode", "G96547"),
            ("respMessage", "Authorised"),
            ("cartId", "demo:S1"),
            ("customerEmail", "a+b@example.com"),
            ("acquirerMessage", ""),
            ("acquirerRRN", ""),
            ("token", ""),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    fn form(fields: &[(String, String)]) -> String {
        fields.iter().map(|(k, v)| format!("{}={}", quote_plus(k), quote_plus(v))).collect::<Vec<_>>().join("&")
    }

    #[test]
    fn the_return_signs_the_sorted_non_empty_fields_url_encoded() {
        // Both computed independently with Python 3 (quote_plus, sorted, hmac).
        assert_eq!(
            return_signed_string(&return_fields()),
            "cartId=demo%3AS1&customerEmail=a%2Bb%40example.com&respCode=G96547&respMessage=Authorised&respStatus=A&tranRef=TST2233400001234"
        );
        let signature = sign_return(KEY, &return_fields());
        assert_eq!(signature, "0ef0f0fa8f9602776e7a6f6a6aed8c0d6c36067d351d9014b48d6516415c0f4b");
        let mut fields = return_fields();
        fields.push(("signature".into(), signature.clone()));
        let hint = verify_return(KEY, &form(&fields)).unwrap();
        assert_eq!(
            hint,
            ReturnHint {
                tran_ref: "TST2233400001234".into(),
                cart_id: Some("demo:S1".into()),
                status: Some("A".into())
            }
        );
        // A browser may encode a space as %20 rather than +: the decoded fields are what count.
        let spaced = vec![("respMessage".to_string(), "Not Authorised".to_string()), ("tranRef".into(), "T1".into())];
        let sig = sign_return(KEY, &spaced);
        assert!(verify_return(KEY, &format!("respMessage=Not%20Authorised&tranRef=T1&signature={sig}")).is_ok());
    }

    #[test]
    fn a_changed_added_or_repeated_return_field_is_refused() {
        let signature = sign_return(KEY, &return_fields());
        let signed = |fields: Vec<(String, String)>| {
            let mut fields = fields;
            fields.push(("signature".into(), signature.clone()));
            form(&fields)
        };
        let mismatch = Err(WebhookError::Signature(SignatureError::Mismatch));
        let mut declined_as_paid = return_fields();
        declined_as_paid[1].1 = "D".into();
        assert_eq!(verify_return(KEY, &signed(declined_as_paid)), mismatch);
        let mut added = return_fields();
        added.push(("extra".into(), "1".into()));
        assert_eq!(verify_return(KEY, &signed(added)), mismatch);
        let mut emptied = return_fields();
        emptied[3].1 = String::new();
        assert_eq!(verify_return(KEY, &signed(emptied)), mismatch, "an emptied field drops out of the string");
        let mut repeated = return_fields();
        repeated.push(("respStatus".into(), "A".into()));
        assert_eq!(verify_return(KEY, &signed(repeated)), Err(WebhookError::Signature(SignatureError::Malformed)));
        assert_eq!(verify_return(KEY, &form(&return_fields())), Err(WebhookError::Signature(SignatureError::Missing)));
        assert_eq!(verify_return(KEY, "tranRef=%ZZ"), Err(WebhookError::Signature(SignatureError::Malformed)));
        assert_eq!(verify_return(b"other", &signed(return_fields())), mismatch);
    }
}
