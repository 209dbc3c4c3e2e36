//! The per-shop session limiter: one Durable Object per shop (`limits:<shop id>`) that counts
//! session starts per client address and for the shop as a whole, and refuses a start over a
//! limit (`bawaba_core::limits`: the rules and the defaults).
//!
//! The counters live in the object's memory, not its storage: they are worth a minute at most,
//! a write per session start would cost more than it protects, and an object evicted while
//! idle has, by definition, not been under attack.

use crate::config;
use crate::error::internal;
use bawaba_core::api::ApiError;
use bawaba_core::lifecycle::ShopId;
use bawaba_core::limits::{LimitScope, SessionLimits, WindowCounter};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use worker::{durable_object, DurableObject, Env, Method, Request, RequestInit, Response, State};

/// Binding name in wrangler.toml.
pub const BINDING: &str = "LIMITS";

const MINUTE_MS: i64 = 60_000;

#[derive(Debug, Serialize, Deserialize)]
struct Admit {
    client: String,
    /// An STC Pay start: the number the code goes to.
    #[serde(default)]
    mobile: Option<String>,
    /// An Apple Pay merchant validation rather than a session start: counted apart, under the
    /// same limits (each is a call to the gateway, and a page could loop on them).
    #[serde(default)]
    applepay_validation: bool,
}

/// The Durable Object.
#[durable_object]
pub struct SessionLimiter {
    #[allow(dead_code)]
    state: State,
    env: Env,
    counter: RefCell<WindowCounter>,
}

impl DurableObject for SessionLimiter {
    fn new(state: State, env: Env) -> Self {
        Self { state, env, counter: RefCell::new(WindowCounter::new(MINUTE_MS)) }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let admit: Admit = req.json().await?;
        let (limits, warnings) = SessionLimits::read(|name| config::setting(&self.env, name));
        for warning in warnings {
            worker::console_warn!("{warning}");
        }
        let (client_prefix, shop_key) =
            if admit.applepay_validation { ("applepay:client:", "applepay:shop") } else { ("client:", "shop") };
        let client = format!("{client_prefix}{}", admit.client);
        let mut keys = vec![
            (client.as_str(), limits.per_client_per_minute, LimitScope::Client),
            (shop_key, limits.per_shop_per_minute, LimitScope::Shop),
        ];
        let mobile = admit.mobile.map(|m| format!("mobile:{m}"));
        if let Some(m) = &mobile {
            keys.push((m.as_str(), limits.stcpay_per_mobile_per_minute, LimitScope::Mobile));
        }
        let outcome: Result<(), ApiError> =
            self.counter.borrow_mut().admit(crate::util::now_millis(), &keys).map_err(ApiError::from);
        Response::from_json(&outcome)
    }
}

/// Counts one session start for `shop` from `client` (its IP address), and for an STC Pay start
/// the `mobile` its code goes to, or refuses it with `rate_limited`.
pub async fn admit(env: &Env, shop: &ShopId, client: &str, mobile: Option<&str>) -> Result<(), ApiError> {
    ask(env, shop, Admit { client: client.to_string(), mobile: mobile.map(str::to_string), applepay_validation: false })
        .await
}

/// Counts one Apple Pay merchant validation for `shop` from `client`, under the session limits
/// but in counters of its own, or refuses it with `rate_limited`.
pub async fn admit_applepay_validation(env: &Env, shop: &ShopId, client: &str) -> Result<(), ApiError> {
    ask(env, shop, Admit { client: client.to_string(), mobile: None, applepay_validation: true }).await
}

async fn ask(env: &Env, shop: &ShopId, admit: Admit) -> Result<(), ApiError> {
    let ns = env.durable_object(BINDING).map_err(internal)?;
    let stub = ns.get_by_name(&format!("limits:{}", shop.as_str())).map_err(internal)?;
    let body = serde_json::to_string(&admit).map_err(internal)?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_body(Some(wasm_bindgen::JsValue::from_str(&body)));
    let req = Request::new_with_init("https://limits.internal/", &init).map_err(internal)?;
    let mut resp = stub.fetch_with_request(req).await.map_err(internal)?;
    let outcome: Result<(), ApiError> = resp.json().await.map_err(internal)?;
    outcome
}

/// The client's address: Cloudflare's `CF-Connecting-IP` (set by Cloudflare, not by the client),
/// else a shared bucket.
pub fn client_address(req: &Request) -> String {
    req.headers().get("CF-Connecting-IP").ok().flatten().unwrap_or_else(|| "unknown".to_string())
}
