//! The shop's ledger: one Durable Object per shop (`ledger:<shop id>`) that indexes its payments
//! that still have work to do, whatever their state (a gateway to ask, a refund to follow, a
//! notification to deliver: for the cron's sweep, the safety net for lost alarms) and those
//! whose notifications are not all delivered (for `GET /v1/deliveries`). Payment objects keep
//! it up to date; it is an index, never the source of truth: each payment object is.
//!
//! It also delivers the shop's events about the edge itself (`bawaba_core::shop_events`: a
//! gateway degraded or recovered) to the notification URL of the shop's latest payment, signed
//! and retried like payment notifications.

use crate::error::internal;
use bawaba_core::api::{ApiError, DeliveryState, DeliveryView};
use bawaba_core::health::Transition;
use bawaba_core::payment::PaymentState;
use bawaba_core::shop_events::{EventQueue, ShopEvent};
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
    /// The payment's notification URL: the latest one is where the shop's events go.
    #[serde(default)]
    pub notify_url: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Op {
    Upsert { entry: Entry },
    Due { now_ms: i64 },
    Deliveries { states: Vec<DeliveryState> },
    GatewayEvent { shop_id: String, gateway: String, transition: Transition },
}

const KEY_EVENTS: &str = "events";
const KEY_NOTIFY_URL: &str = "notify_url";

/// The Durable Object.
#[durable_object]
pub struct Ledger {
    state: State,
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
                if let Some(url) = &entry.notify_url {
                    storage.put(KEY_NOTIFY_URL, url).await?;
                }
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
            Op::GatewayEvent { shop_id, gateway, transition } => {
                // A shop that never had a payment here has no URL: nothing to tell it yet.
                if storage.get::<String>(KEY_NOTIFY_URL).await?.is_none() {
                    return Response::from_json(&false);
                }
                let now = crate::util::now_millis();
                let event =
                    ShopEvent::gateway(crate::util::random_id("gev_"), &shop_id, &gateway, transition, now / 1000);
                let mut queue: EventQueue = storage.get(KEY_EVENTS).await?.unwrap_or_default();
                queue.push(&event, now);
                storage.put(KEY_EVENTS, &queue).await?;
                storage.put("shop_id", &shop_id).await?;
                crate::util::set_alarm_at(&storage, now).await?;
                Response::from_json(&true)
            }
        }
    }

    /// Delivers the shop's due events, then sets the alarm for the next retry.
    async fn alarm(&self) -> worker::Result<Response> {
        let storage = self.state.storage();
        let queue: EventQueue = storage.get(KEY_EVENTS).await?.unwrap_or_default();
        let (Some(url), Some(shop_id)) =
            (storage.get::<String>(KEY_NOTIFY_URL).await?, storage.get::<String>("shop_id").await?)
        else {
            return Response::ok("nothing to deliver");
        };
        let settings = crate::payment_object::settings(&self.env);
        let shop = crate::config::shop(&self.env, &shop_id).ok().flatten();
        let now = crate::util::now_millis();
        let mut outcomes = Vec::new();
        for q in queue.due(now) {
            let outcome = match &shop {
                Some(shop) => {
                    crate::http::post_to_shop(shop, &url, &q.body, settings.notify_timeout_ms.max(1) as u64).await
                }
                None => Err(format!("shop {shop_id} is no longer in BAWABA_SHOPS")),
            };
            outcomes.push((q.event_id, outcome));
        }
        // Re-read: events queued while we were sending are kept.
        let mut queue: EventQueue = storage.get(KEY_EVENTS).await?.unwrap_or_default();
        let now = crate::util::now_millis();
        for (event_id, outcome) in outcomes {
            for dropped in queue.attempted(&event_id, outcome, now, &settings) {
                worker::console_error!(
                    "shop event {} for {shop_id} dropped: {:?}",
                    dropped.event_id,
                    dropped.last_error
                );
            }
        }
        storage.put(KEY_EVENTS, &queue).await?;
        if let Some(at) = queue.next_wake_ms() {
            crate::util::set_alarm_at(&storage, at).await?;
        }
        Response::ok("ok")
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

/// Tells `shop_id` that `gateway` degraded or recovered (queued and delivered by its ledger).
pub async fn gateway_event(env: &Env, shop_id: &str, gateway: &str, transition: Transition) -> Result<(), ApiError> {
    let op = Op::GatewayEvent { shop_id: shop_id.to_string(), gateway: gateway.to_string(), transition };
    call::<bool>(env, shop_id, &op).await.map(|_| ())
}
