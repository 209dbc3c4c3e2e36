//! Finds the payment object for a gateway's own id. Some gateways' webhooks carry only their
//! id (Moyasar: the invoice id), not our reference; one Durable Object per gateway
//! (`GATEWAY_INDEX`, named by gateway code) maps those ids to payment objects.

use crate::error::internal;
use bawaba_core::api::ApiError;
use serde::{Deserialize, Serialize};
use worker::{durable_object, DurableObject, Env, Method, Request, RequestInit, Response, State};

/// Binding name in wrangler.toml.
pub const BINDING: &str = "GATEWAY_INDEX";

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Op {
    Put { key: String, object_id: String },
    Get { key: String },
}

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
