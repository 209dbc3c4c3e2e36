//! The shop's ledger: one Durable Object per shop (`ledger:<shop id>`) that indexes its payments
//! that still have work to do, whatever their state (a gateway to ask, a refund to follow, a
//! notification to deliver: for the cron's sweep, the safety net for lost alarms) and those
//! whose notifications are not all delivered (for `GET /v1/deliveries`). Payment objects keep
//! it up to date; it is an index, never the source of truth: each payment object is.

use crate::error::internal;
use bawaba_core::api::{ApiError, DeliveryState, DeliveryView};
use bawaba_core::payment::PaymentState;
use serde::{Deserialize, Serialize};
use worker::{durable_object, DurableObject, Env, Method, Request, RequestInit, Response, State};

/// Binding name in wrangler.toml.
pub const BINDING: &str = "LEDGERS";

/// What a payment object reports.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    /// Shop reference.
    pub reference: String,
    /// The payment object's id (hex).
    pub object_id: String,
    /// Payment state.
    pub state: PaymentState,
    /// When reported (unix ms).
    pub updated_at_ms: i64,
    /// When the payment next has work (unix ms): a delivery, a gateway check, a refund check.
    pub wake_at_ms: Option<i64>,
    /// The oldest undelivered notification's delivery, else the latest.
    pub delivery: Option<DeliveryView>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Op {
    Upsert { entry: Entry },
    Due { now_ms: i64 },
    Deliveries { states: Vec<DeliveryState> },
}

/// The Durable Object.
#[durable_object]
pub struct Ledger {
    state: State,
    #[allow(dead_code)]
    env: Env,
}

impl DurableObject for Ledger {
    fn new(state: State, env: Env) -> Self {
        Self { state, env }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let op: Op = req.json().await?;
        let storage = self.state.storage();
        match op {
            Op::Upsert { entry } => {
                let wake_key = format!("wake:{}", entry.reference);
                let delivery_key = format!("delivery:{}", entry.reference);
                if entry.wake_at_ms.is_none() {
                    storage.delete(&wake_key).await?;
                } else {
                    storage.put(&wake_key, &entry).await?;
                }
                let undelivered = entry.delivery.as_ref().is_some_and(|d| d.state != DeliveryState::Delivered);
                if undelivered {
                    storage.put(&delivery_key, &entry).await?;
                } else {
                    storage.delete(&delivery_key).await?;
                }
                Response::from_json(&serde_json::json!({"ok": true}))
            }
            Op::Due { now_ms } => {
                let entries = list(&storage, "wake:").await?;
                let due: Vec<String> = entries
                    .into_iter()
                    .filter(|e| e.wake_at_ms.is_some_and(|t| t <= now_ms))
                    .map(|e| e.object_id)
                    .collect();
                Response::from_json(&due)
            }
            Op::Deliveries { states } => {
                let entries: Vec<Entry> = list(&storage, "delivery:")
                    .await?
                    .into_iter()
                    .filter(|e| e.delivery.as_ref().is_some_and(|d| states.contains(&d.state)))
                    .collect();
                Response::from_json(&entries)
            }
        }
    }
}

async fn list(storage: &worker::Storage, prefix: &str) -> worker::Result<Vec<Entry>> {
    let map = storage.list_with_options(worker::ListOptions::new().prefix(prefix)).await?;
    let mut out = Vec::new();
    for value in map.values() {
        if let Ok(entry) = serde_wasm_bindgen::from_value::<Entry>(value?) {
            out.push(entry);
        }
    }
    Ok(out)
}

async fn call<T: serde::de::DeserializeOwned>(env: &Env, shop_id: &str, op: &Op) -> Result<T, ApiError> {
    let ns = env.durable_object(BINDING).map_err(internal)?;
    let stub = ns.get_by_name(&format!("ledger:{shop_id}")).map_err(internal)?;
    let body = serde_json::to_string(op).map_err(internal)?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_body(Some(wasm_bindgen::JsValue::from_str(&body)));
    let req = Request::new_with_init("https://ledger.internal/", &init).map_err(internal)?;
    let mut resp = stub.fetch_with_request(req).await.map_err(internal)?;
    resp.json().await.map_err(internal)
}

/// Records a payment's latest state.
pub async fn upsert(env: &Env, shop_id: &str, entry: &Entry) -> Result<(), ApiError> {
    call::<serde_json::Value>(env, shop_id, &Op::Upsert { entry: entry.clone() }).await.map(|_| ())
}

/// Payment objects of `shop_id` that have work due now.
pub async fn due(env: &Env, shop_id: &str, now_ms: i64) -> Result<Vec<String>, ApiError> {
    call(env, shop_id, &Op::Due { now_ms }).await
}

/// Payments of `shop_id` whose latest notification is in one of `states`.
pub async fn deliveries(env: &Env, shop_id: &str, states: Vec<DeliveryState>) -> Result<Vec<Entry>, ApiError> {
    call(env, shop_id, &Op::Deliveries { states }).await
}
