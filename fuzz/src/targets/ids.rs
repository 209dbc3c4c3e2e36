//! `ids`: the names a stranger puts in a request: the `Bawaba-Shop` header ([`ShopId::parse`]),
//! a reference in a path or a body ([`Reference::parse`]), the `Idempotency-Key` header
//! ([`IdempotencyKey::parse`]) and the `<shop>:<reference>` a gateway echoes back in a webhook or
//! an answer ([`parse_gateway_reference`]); all on random and mutated text (control
//! characters, colons, Unicode, lengths around the limits).
//!
//! Rules: no panic; refusals are 4xx; what is accepted reads back as itself, and a parsed gateway
//! reference is exactly what [`gateway_reference`] writes for its parts.

use crate::input::Input;
use crate::mutate;
use crate::rng::Rng;
use bawaba_core::api::ApiError;
use bawaba_core::lifecycle::{
    gateway_reference, object_name, parse_gateway_reference, IdempotencyKey, Reference, ShopId,
};

/// The target.
pub struct Ids;

const SEEDS: &[&str] =
    &["demo", "demo:S00042", "vector-shop:S:1", "a:b:c", "R-S00042", "shop_1-x", "Demo:S1", ":", "demo:"];

impl super::Target for Ids {
    fn name(&self) -> String {
        "ids".into()
    }

    fn about(&self) -> String {
        "ShopId, Reference, IdempotencyKey, parse_gateway_reference".into()
    }

    fn generate(&self, rng: &mut Rng) -> Input {
        let corpus: Vec<Vec<u8>> = SEEDS.iter().map(|s| s.as_bytes().to_vec()).collect();
        let text = match rng.below(5) {
            0 => mutate::random_text(rng),
            1 => {
                // Lengths around the limits (64, 128 characters, 255 bytes).
                let c = *rng.pick(&['a', 'ر', '😀', ' ', '\u{7f}']);
                let n = *rng.pick(&[63, 64, 65, 127, 128, 129, 254, 255, 256]);
                let prefix = if rng.one_in(2) { "demo:" } else { "" };
                format!("{prefix}{}", std::iter::repeat_n(c, n).collect::<String>())
            }
            _ => {
                let seed = *rng.pick(SEEDS);
                String::from_utf8_lossy(&mutate::bytes(rng, seed.as_bytes(), &corpus)).into_owned()
            }
        };
        Input::new().with("text", text)
    }

    fn execute(&self, input: &Input) -> Result<bool, String> {
        let text = input.text("text");
        let shop = ShopId::parse(&text);
        let reference = Reference::parse(&text);
        let key = IdempotencyKey::parse(&text);
        if let Ok(s) = &shop {
            if s.as_str() != text {
                return Err(format!("ShopId {text:?} reads back as {:?}", s.as_str()));
            }
        }
        if let Ok(k) = &key {
            if k.as_str() != text {
                return Err(format!("IdempotencyKey {text:?} reads back as {:?}", k.as_str()));
            }
        }
        let accepted = shop.is_ok() || reference.is_ok() || key.is_ok();
        match (&shop, &reference) {
            (Ok(s), Ok(r)) if object_name(s, r).len() != 64 => return Err("object name is not 64 hex digits".into()),
            _ => {}
        }
        for e in [shop.err(), reference.err()].into_iter().flatten() {
            super::client_error(&ApiError::InvalidRequest(e))?;
        }
        if let Err(e) = key {
            super::client_error(&ApiError::IdempotencyKeyInvalid(e))?;
        }
        if let Some((s, r)) = parse_gateway_reference(&text) {
            if gateway_reference(&s, &r) != text {
                return Err(format!("gateway reference {text:?} parsed as ({s}, {r}), which writes differently"));
            }
        }
        // As the JSON strings they also arrive as.
        let json = serde_json::to_vec(&text).unwrap_or_default();
        let _ = serde_json::from_slice::<ShopId>(&json);
        let _ = serde_json::from_slice::<Reference>(&json);
        let _ = serde_json::from_slice::<IdempotencyKey>(&json);
        Ok(accepted)
    }
}
