//! `api-bodies`: the JSON bodies of the public API as the edge reads them
//! ([`MethodsRequest`], [`SessionRequest`], and the shop's reading of a [`Notification`]),
//! mutated as JSON and as bytes (unknown fields, wrong types, deep nesting, huge strings).
//!
//! Rules: no panic; an unreadable body is `invalid_request` (400).

use crate::input::Input;
use crate::mutate;
use crate::rng::Rng;
use bawaba_core::api::{ApiError, MethodsRequest, SessionRequest};
use bawaba_core::notification::Notification;

/// The target.
pub struct Bodies;

const BODIES: &[&str] = &[
    r#"{"intent":"eyJhbGciOiJIUzI1NiJ9.e30.x"}"#,
    r#"{"intent":"eyJhbGciOiJIUzI1NiJ9.e30.x","method":"mada","locale":"ar"}"#,
    r#"{"event_id":"evt_0001","type":"payment.succeeded","shop_id":"vector-shop","reference":"S00042","amount":10050,"currency":"SAR","gateway":"sandbox","gateway_payment_id":"sbx_1","method":"mada","card_brand":"mada","card_last4":"0007","created_at":1800000000}"#,
    r#"{"event_id":"evt_0002","type":"refund.succeeded","shop_id":"s","reference":"S1","amount":1,"currency":"KWD","gateway":"tap","gateway_payment_id":"chg_1","method":"visa","created_at":0,"refund_id":"re_1","idempotency_key":"R-1","error":{"code":"x","message":"y"}}"#,
];

impl super::Target for Bodies {
    fn name(&self) -> String {
        "api-bodies".into()
    }

    fn about(&self) -> String {
        "MethodsRequest, SessionRequest, Notification JSON bodies".into()
    }

    fn generate(&self, rng: &mut Rng) -> Input {
        let corpus: Vec<Vec<u8>> = BODIES.iter().map(|b| b.as_bytes().to_vec()).collect();
        let seed = *rng.pick(BODIES);
        Input::new().with("body", mutate::any(rng, seed.as_bytes(), &corpus))
    }

    fn execute(&self, input: &Input) -> Result<bool, String> {
        let body = input.bytes("body");
        let invalid = |e: serde_json::Error| ApiError::InvalidRequest(e.to_string());
        let methods = serde_json::from_slice::<MethodsRequest>(body).map_err(invalid);
        if let Err(e) = &methods {
            super::client_error(e)?;
        }
        let session = serde_json::from_slice::<SessionRequest>(body).map_err(invalid);
        if let Err(e) = &session {
            super::client_error(e)?;
        }
        if let Ok(n) = serde_json::from_slice::<Notification>(body) {
            let _ = serde_json::to_vec(&n);
        }
        Ok(methods.is_ok() || session.is_ok())
    }
}
