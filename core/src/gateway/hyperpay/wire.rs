//! HyperPay's (OPPWA's) JSON, only what Bawaba reads. Shapes: gateways.md §3.2–§3.6 (the
//! checkout answer [C], the payment object [code: HyperPay's Magento plugin], the error body [U]).

use serde::{Deserialize, Serialize};

/// `result`: every answer carries one.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ResultInfo {
    /// `ddd.ddd.ddd`.
    #[serde(default)]
    pub code: String,
    /// Text.
    #[serde(default)]
    pub description: String,
    /// Which parameters were refused (`{name, value, message}`) [U shape].
    #[serde(default, rename = "parameterErrors")]
    pub parameter_errors: Vec<ParameterError>,
}

/// One refused parameter.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ParameterError {
    /// Name (`amount`).
    #[serde(default)]
    pub name: String,
    /// What was sent.
    #[serde(default)]
    pub value: String,
    /// Why.
    #[serde(default)]
    pub message: String,
}

/// `POST /v1/checkouts` → `{id, result}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Checkout {
    /// The checkout id (also the `checkoutId` of `paymentWidgets.js`).
    #[serde(default)]
    pub id: Option<String>,
    /// `000.200.100` "successfully created checkout".
    #[serde(default)]
    pub result: ResultInfo,
}

/// A payment (`GET /v1/checkouts/{id}/payment`, `POST /v1/payments/{id}`, a webhook's
/// `payload`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Payment {
    /// The payment's id (refunds act on it); absent while the checkout has no payment.
    #[serde(default)]
    pub id: Option<String>,
    /// `DB`, `PA`, `RF`, `CP`, `RV`.
    #[serde(default, rename = "paymentType")]
    pub payment_type: Option<String>,
    /// `MADA`, `VISA`, `MASTER`, `AMEX`, `APPLEPAY`.
    #[serde(default, rename = "paymentBrand")]
    pub payment_brand: Option<String>,
    /// Major units as a string (`"92.00"`).
    #[serde(default)]
    pub amount: Option<String>,
    /// ISO code.
    #[serde(default)]
    pub currency: Option<String>,
    /// Ours.
    #[serde(default, rename = "merchantTransactionId")]
    pub merchant_transaction_id: Option<String>,
    /// The payment an operation acted on (`RF`, `CP`, `RV`).
    #[serde(default, rename = "referencedId")]
    pub referenced_id: Option<String>,
    /// The result.
    #[serde(default)]
    pub result: ResultInfo,
    /// The card.
    #[serde(default)]
    pub card: Option<Card>,
    /// Where the shopper must go on (3-D Secure), on a server-to-server payment that waits for
    /// it (`000.200.*`).
    #[serde(default)]
    pub redirect: Option<Redirect>,
}

/// `redirect`: `{url, method, parameters: [{name, value}]}` (OPPWA's parameter reference:
/// `redirect.url`, `redirect.method` "defaults to POST", `redirect.parameters[n].name/value`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Redirect {
    /// Absolute URL.
    #[serde(default)]
    pub url: String,
    /// `POST` (the default) or `GET`.
    #[serde(default)]
    pub method: Option<String>,
    /// Fields to post (or to append, for `GET`).
    #[serde(default)]
    pub parameters: Vec<RedirectParameter>,
}

/// One of [`Redirect::parameters`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RedirectParameter {
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Value.
    #[serde(default)]
    pub value: String,
}

/// `card`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Card {
    /// First six.
    #[serde(default)]
    pub bin: Option<String>,
    /// Last four.
    #[serde(default, rename = "last4Digits")]
    pub last4_digits: Option<String>,
}

/// A decrypted webhook: `{type, action?, payload}` (gateways.md §3.5, [C] payload).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Notification {
    /// `PAYMENT`, `REGISTRATION`, `SCHEDULE`, `RISK`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Registrations only.
    #[serde(default)]
    pub action: Option<String>,
    /// The payment, as a status query shows it.
    #[serde(default)]
    pub payload: serde_json::Value,
}

/// The delivered body, where it is JSON: `{"encryptedBody":"<hex>"}` (HyperPay's pages); OPPWA's
/// pages and plugins send the hex alone as the body. Both are read.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Encrypted {
    /// Hex ciphertext.
    #[serde(rename = "encryptedBody")]
    pub encrypted_body: String,
}
