//! The typed values that name a payment: the shop, the shop's reference, the Durable Object
//! that holds the pair, and the shop's idempotency keys.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A shop id: `[a-z0-9_-]{1,64}`, as registered in `BAWABA_SHOPS`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ShopId(String);

impl ShopId {
    /// The longest shop id.
    pub const MAX_LEN: usize = 64;

    /// Checks `id`; the error says what is wrong with it.
    pub fn parse(id: &str) -> Result<ShopId, String> {
        let valid_chars = id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if id.is_empty() || id.len() > Self::MAX_LEN || !valid_chars {
            return Err(format!("shop id {id:?} must be 1 to {} characters of a-z, 0-9, '_' and '-'", Self::MAX_LEN));
        }
        Ok(ShopId(id.to_string()))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ShopId {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        ShopId::parse(&s)
    }
}

impl From<ShopId> for String {
    fn from(id: ShopId) -> String {
        id.0
    }
}

impl fmt::Display for ShopId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The shop's reference for a payment (the intent's `sub`): 1–128 characters, no control
/// characters. One reference is one payment.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Reference(String);

impl Reference {
    /// The longest reference, in characters.
    pub const MAX_CHARS: usize = 128;

    /// Checks `reference`.
    pub fn parse(reference: &str) -> Result<Reference, String> {
        let chars = reference.chars().count();
        if chars == 0 || chars > Self::MAX_CHARS || reference.chars().any(char::is_control) {
            return Err(format!("a reference must be 1 to {} characters without control characters", Self::MAX_CHARS));
        }
        Ok(Reference(reference.to_string()))
    }

    /// The reference.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Reference {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Reference::parse(&s)
    }
}

impl From<Reference> for String {
    fn from(r: Reference) -> String {
        r.0
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The name of the Durable Object that holds the payment `(shop, reference)`: the hex SHA-256
/// of the length-prefixed pair. Length prefixes make the encoding injective, so no two pairs
/// share an object (`a` + `b:1` and `a:b` + `1` did, when the name was `shop:reference`).
pub fn object_name(shop: &ShopId, reference: &Reference) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(b"bawaba-payment-v1");
    for part in [shop.as_str(), reference.as_str()] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// The reference the gateway sees: shop id and shop reference, so two shops on one gateway
/// account never collide. Unambiguous because a shop id cannot contain `:`.
pub fn gateway_reference(shop: &ShopId, reference: &Reference) -> String {
    format!("{shop}:{reference}")
}

/// The shop and reference in a reference the gateway echoes ([`gateway_reference`]), if it is
/// one of ours.
pub fn parse_gateway_reference(text: &str) -> Option<(ShopId, Reference)> {
    let (shop, reference) = text.split_once(':')?;
    Some((ShopId::parse(shop).ok()?, Reference::parse(reference).ok()?))
}

/// A shop's `Idempotency-Key`: 1–255 printable ASCII characters, no spaces.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// The longest key.
    pub const MAX_LEN: usize = 255;

    /// Checks a key.
    pub fn parse(key: &str) -> Result<IdempotencyKey, String> {
        if key.is_empty() || key.len() > Self::MAX_LEN || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(format!("the key must be 1 to {} printable ASCII characters, without spaces", Self::MAX_LEN));
        }
        Ok(IdempotencyKey(key.to_string()))
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for IdempotencyKey {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        IdempotencyKey::parse(&s)
    }
}

impl From<IdempotencyKey> for String {
    fn from(k: IdempotencyKey) -> String {
        k.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shop_ids_are_lower_case_words() {
        for good in ["demo", "a", "shop_1-x", &"a".repeat(64)] {
            assert!(ShopId::parse(good).is_ok(), "{good}");
        }
        for bad in ["", "Demo", "a:b", "a b", "é", &"a".repeat(65)] {
            assert!(ShopId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn object_names_never_collide_across_shops() {
        let name = |s: &str, r: &str| object_name(&ShopId::parse(s).unwrap(), &Reference::parse(r).unwrap());
        assert_ne!(name("a", "b:1"), name("ab", ":1"));
        assert_ne!(name("a", "bc"), name("ab", "c"));
        assert_eq!(name("demo", "S1"), name("demo", "S1"));
        assert_eq!(name("demo", "S1").len(), 64);
    }

    #[test]
    fn gateway_references_read_back() {
        let (shop, reference) = (ShopId::parse("demo").unwrap(), Reference::parse("S:1").unwrap());
        assert_eq!(parse_gateway_reference(&gateway_reference(&shop, &reference)), Some((shop, reference)));
        assert_eq!(parse_gateway_reference("no-colon"), None);
        assert_eq!(parse_gateway_reference("Bad:1"), None);
    }

    #[test]
    fn references_and_keys_are_bounded() {
        assert!(Reference::parse("S00042").is_ok());
        assert!(Reference::parse("").is_err());
        assert!(Reference::parse("a\nb").is_err());
        assert!(Reference::parse(&"ر".repeat(128)).is_ok());
        assert!(Reference::parse(&"x".repeat(129)).is_err());
        assert!(IdempotencyKey::parse("R0001-refund").is_ok());
        assert!(IdempotencyKey::parse("a b").is_err());
        assert!(IdempotencyKey::parse(&"k".repeat(256)).is_err());
    }
}
