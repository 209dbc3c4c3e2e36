//! PayTabs PT2's JSON (only what Bawaba reads). Field names as the PT2 API writes them
//! (paytabscom/paytabs-odoo `payment_paytabs_official`, gateways.md §4).

use serde::{Deserialize, Serialize};

/// A transaction, as `POST /payment/query` answers it, as the callback (IPN) body carries it,
/// and as a follow-up (`tran_type` refund / capture / void) answers.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Transaction {
    /// PayTabs' transaction reference (`TST2…` on test profiles).
    #[serde(default)]
    pub tran_ref: Option<String>,
    /// For a follow-up: the transaction it acts on.
    #[serde(default)]
    pub previous_tran_ref: Option<String>,
    /// `Sale`, `Auth`, `Refund`, `Capture`, `Void` (PayTabs' casing varies: compared
    /// case-insensitively).
    #[serde(default)]
    pub tran_type: Option<String>,
    /// The profile the transaction belongs to: a number, sometimes written as a string.
    #[serde(default)]
    pub profile_id: Option<serde_json::Value>,
    /// Our reference, echoed.
    #[serde(default)]
    pub cart_id: Option<String>,
    /// ISO code.
    #[serde(default)]
    pub cart_currency: Option<String>,
    /// Major units, a number or a string (`"45.50"`).
    #[serde(default)]
    pub cart_amount: Option<serde_json::Value>,
    /// The result; absent on a business error (then `code` and `message` say why).
    #[serde(default)]
    pub payment_result: Option<PaymentResult>,
    /// The card or wallet.
    #[serde(default)]
    pub payment_info: Option<PaymentInfo>,
    /// The hosted page (the answer to a `sale` request).
    #[serde(default)]
    pub redirect_url: Option<String>,
    /// A business error's code (PayTabs answers some errors with HTTP 200 and no result).
    #[serde(default)]
    pub code: Option<serde_json::Value>,
    /// A business error's message.
    #[serde(default)]
    pub message: Option<String>,
}

/// `payment_result`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PaymentResult {
    /// `A`, `H`, `P`, `V`, `E`, `D`, `X`, `C` (see `status.rs`).
    #[serde(default)]
    pub response_status: String,
    /// The acquirer's or PayTabs' code.
    #[serde(default)]
    pub response_code: Option<String>,
    /// Text.
    #[serde(default)]
    pub response_message: Option<String>,
    /// When.
    #[serde(default)]
    pub transaction_time: Option<String>,
}

/// `payment_info`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PaymentInfo {
    /// `Visa`, `MasterCard`, `mada`, `ApplePay`, `STCPay`…
    #[serde(default)]
    pub payment_method: Option<String>,
    /// `Credit`, `Debit`.
    #[serde(default)]
    pub card_type: Option<String>,
    /// `Visa`, `MasterCard`, `Mada`, `AmericanExpress`.
    #[serde(default)]
    pub card_scheme: Option<String>,
    /// The masked number, `4111 11## #### 1111`.
    #[serde(default)]
    pub payment_description: Option<String>,
}

/// An error body: `{"code": 1, "message": "Authentication failed. Check authentication
/// header.", "trace": "…"}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ErrorBody {
    /// A number (1: authentication, 206: currency, 4: duplicate request).
    #[serde(default)]
    pub code: Option<serde_json::Value>,
    /// Text.
    #[serde(default)]
    pub message: Option<String>,
    /// PayTabs' trace id for its support.
    #[serde(default)]
    pub trace: Option<String>,
}
