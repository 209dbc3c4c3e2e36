//! One Durable Object per gateway (`GATEWAY_INDEX`, named by gateway code), holding what the
//! edge knows about the gateway as a whole:
//!
//! - the index from the gateway's own ids to payment objects: some gateways' webhooks carry only
//!   their id (Moyasar: the invoice id), not our reference;
//! - its health and circuit breaker (`bawaba_core::health`): every session start asks it whether
//!   to try the gateway and tells it what happened, so a failing gateway is bypassed by every
//!   worker at once.

use crate::error::internal;
use bawaba_core::api::ApiError;
use bawaba_core::health::{Admission, BreakerSettings, GatewayHealth, HealthView, Outcome, Transition};
use serde::{Deserialize, Serialize};
use worker::{durable_object, DurableObject, Env, Method, Request, RequestInit, Response, State};

/// Binding name in wrangler.toml.
pub const BINDING: &str = "GATEWAY_INDEX";

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Op {
    Put { key: String, object_id: String },
    Get { key: String },
    Admit { now_ms: i64, settings: BreakerSettings },
    Record { outcome: Outcome, settings: BreakerSettings },
    Health,
}

const KEY_HEALTH: &str = "health";

/// The Durable Object.
#[durable_object]
pub struct GatewayIndex {
    state: State,
    #[allow(dead_code)]
    env: Env,
}

impl DurableObject for GatewayIndex {
    fn new(state: State, env: Env) -> Self {
        Self { state, env }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let storage = self.state.storage();
        match req.json::<Op>().await? {
            Op::Put { key, object_id } => {
                storage.put(&format!("id:{key}"), object_id).await?;
                Response::from_json(&serde_json::Value::Null)
            }
            Op::Get { key } => Response::from_json(&storage.get::<String>(&format!("id:{key}")).await?),
            Op::Admit { now_ms, settings } => {
                let mut health: GatewayHealth = storage.get(KEY_HEALTH).await?.unwrap_or_default();
                let before = health.breaker;
                let admission = health.admit(now_ms, &settings);
                if health.breaker != before {
                    storage.put(KEY_HEALTH, &health).await?;
                }
                Response::from_json(&admission)
            }
            Op::Record { outcome, settings } => {
                let mut health: GatewayHealth = storage.get(KEY_HEALTH).await?.unwrap_or_default();
                let transition = health.record(outcome, &settings);
                storage.put(KEY_HEALTH, &health).await?;
                Response::from_json(&transition)
            }
            Op::Health => {
                let health: GatewayHealth = storage.get(KEY_HEALTH).await?.unwrap_or_default();
                Response::from_json(&health.view())
            }
        }
    }
}

async fn call<T: serde::de::DeserializeOwned>(env: &Env, gateway: &str, op: &Op) -> Result<T, ApiError> {
    let stub = env.durable_object(BINDING).and_then(|ns| ns.get_by_name(gateway)).map_err(internal)?;
    let mut init = RequestInit::new();
    let body = serde_json::to_string(op).map_err(internal)?;
    init.with_method(Method::Post).with_body(Some(wasm_bindgen::JsValue::from_str(&body)));
    let req = Request::new_with_init("https://index.internal/", &init).map_err(internal)?;
    let mut resp = stub.fetch_with_request(req).await.map_err(internal)?;
    resp.json().await.map_err(internal)
}

/// Remembers that `gateway`'s id `key` belongs to the payment object `object_id`.
pub async fn put(env: &Env, gateway: &str, key: &str, object_id: &str) -> Result<(), ApiError> {
    call::<serde_json::Value>(env, gateway, &Op::Put { key: key.into(), object_id: object_id.into() }).await.map(|_| ())
}

/// The payment object for `gateway`'s id `key`.
pub async fn get(env: &Env, gateway: &str, key: &str) -> Result<Option<String>, ApiError> {
    call(env, gateway, &Op::Get { key: key.into() }).await
}

/// Whether a new session should start at `gateway` now. Health never stops a payment by
/// itself failing: if the gateway's object cannot be asked, the gateway is tried.
pub async fn admit(env: &Env, gateway: &str, now_ms: i64, settings: BreakerSettings) -> Admission {
    call(env, gateway, &Op::Admit { now_ms, settings }).await.unwrap_or(Admission::Try)
}

/// Records what a session start did at `gateway`; returns the breaker's transition, if any.
pub async fn record(env: &Env, gateway: &str, outcome: Outcome, settings: BreakerSettings) -> Option<Transition> {
    match call(env, gateway, &Op::Record { outcome, settings }).await {
        Ok(transition) => transition,
        Err(e) => {
            worker::console_error!("cannot record {gateway}'s health: {e}");
            None
        }
    }
}

/// `gateway`'s health, for `GET /v1/health`.
pub async fn health(env: &Env, gateway: &str) -> Result<HealthView, ApiError> {
    call(env, gateway, &Op::Health).await
}
