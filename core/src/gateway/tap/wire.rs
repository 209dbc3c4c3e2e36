//! Tap's JSON (only what Bawaba reads).

use serde::{Deserialize, Serialize};

/// A charge.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Charge {
    /// `chg_…`.
    pub id: String,
    /// `INITIATED`, `CAPTURED`, `DECLINED`, …
    pub status: String,
    /// Major units (a number).
    pub amount: serde_json::Value,
    /// ISO code.
    pub currency: String,
    /// References.
    #[serde(default)]
    pub reference: Option<Reference>,
    /// The hosted page and the creation time.
    #[serde(default)]
    pub transaction: Option<Transaction>,
    /// The gateway's answer.
    #[serde(default)]
    pub response: Option<ResponseInfo>,
    /// The card.
    #[serde(default)]
    pub card: Option<Card>,
    /// Our metadata.
    #[serde(default)]
    pub metadata: Option<Metadata>,
}

/// `reference`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Reference {
    /// Ours.
    #[serde(default)]
    pub transaction: Option<String>,
    /// The acquirer's.
    #[serde(default)]
    pub gateway: Option<String>,
    /// Tap's payment reference.
    #[serde(default)]
    pub payment: Option<String>,
}

/// `transaction`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Transaction {
    /// Hosted page.
    #[serde(default)]
    pub url: Option<String>,
    /// Creation time as Tap writes it (milliseconds, as a string or a number).
    #[serde(default)]
    pub created: Option<serde_json::Value>,
}

/// `response`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ResponseInfo {
    /// `000`, `505`, …
    #[serde(default)]
    pub code: Option<String>,
    /// Text.
    #[serde(default)]
    pub message: Option<String>,
}

/// `card`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Card {
    /// `VISA`, `MASTERCARD`, `MADA`.
    #[serde(default)]
    pub brand: Option<String>,
    /// Last four.
    #[serde(default)]
    pub last_four: Option<String>,
}

/// Our metadata.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Metadata {
    /// `<shop>:<reference>`.
    #[serde(default)]
    pub bawaba_reference: Option<String>,
}

/// A refund (the answer to `POST /v2/refunds` and `GET /v2/refunds/{id}`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Refund {
    /// `re_…`.
    pub id: String,
    /// `PENDING`, `REFUNDED`, `DECLINED`, …
    pub status: String,
    /// The charge it refunds.
    #[serde(default)]
    pub charge_id: Option<String>,
    /// Major units (a number).
    #[serde(default)]
    pub amount: Option<serde_json::Value>,
    /// ISO code.
    #[serde(default)]
    pub currency: Option<String>,
    /// Tap's answer (`{"code":"100","message":"Pending"}`).
    #[serde(default)]
    pub response: Option<ResponseInfo>,
}

/// A token (`POST /v2/tokens`): for Apple Pay, the decrypted card behind a `tok_…` that a charge
/// uses once as its `source.id`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Token {
    /// `tok_…`.
    pub id: String,
    /// `token`.
    #[serde(default)]
    pub object: Option<String>,
    /// `CARD` [U for Apple Pay].
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// Whether a charge used it already.
    #[serde(default)]
    pub used: Option<bool>,
    /// The card behind it.
    #[serde(default)]
    pub card: Option<TokenCard>,
}

/// `token.card`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TokenCard {
    /// `VISA`, `MASTERCARD`, `MADA`.
    #[serde(default)]
    pub brand: Option<String>,
    /// Last four.
    #[serde(default)]
    pub last_four: Option<String>,
    /// First six.
    #[serde(default)]
    pub first_six: Option<String>,
}

/// `{"errors":[{"code","description"}]}` [U: shape from plugins].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Errors.
    #[serde(default)]
    pub errors: Vec<ErrorItem>,
}

/// One error.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorItem {
    /// Code.
    #[serde(default)]
    pub code: String,
    /// Text.
    #[serde(default)]
    pub description: String,
}
