//! The built-in sandbox gateway's server: its API (`/sandbox/api/payments`), its hosted card
//! page (`/sandbox/pay/{id}`) and its signed webhooks, stored in one Durable Object. Its rules
//! live in `bawaba_core::gateway::sandbox::server`; this file only stores and sends.
//!
//! It behaves as a separate gateway would: the connector calls its API with an API key, and it
//! calls the edge's webhook route with a signed webhook, retrying like real gateways do. Both
//! go in-process (the API through this object's binding, the webhooks straight into the
//! edge's router) rather than over HTTP to the edge's own hostname, which a Worker cannot
//! fetch on Cloudflare: so the same code runs locally and on a staging deployment.

use crate::config;
use crate::util::{json, now_millis, now_secs, random_id, see_other};
use bawaba_core::gateway::sandbox::server::{self, CardForm, PageOutcome, Record, PAGE_STYLE};
use bawaba_core::gateway::sandbox::webhook;
use bawaba_core::gateway::sandbox::wire::{CreatePayment, ErrorBody, ErrorDetail, WebhookEvent};
use bawaba_core::secret::Secret;
use serde::{Deserialize, Serialize};
use worker::{durable_object, DurableObject, Env, Method, Request, RequestInit, Response, State, Storage};

/// Binding name in wrangler.toml.
pub const BINDING: &str = "SANDBOX";
/// The one instance's name.
pub const INSTANCE: &str = "sandbox";

/// Webhook attempts before the sandbox gives up (as Moyasar does: the first and five retries).
const WEBHOOK_ATTEMPTS: u32 = 6;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct QueuedWebhook {
    payment_id: String,
    due_at_ms: i64,
    attempts: u32,
}

const KEY_QUEUE: &str = "webhook_queue";

fn key(id: &str) -> String {
    format!("pay:{id}")
}

/// The sandbox Durable Object.
#[durable_object]
pub struct SandboxGateway {
    state: State,
    env: Env,
}

impl DurableObject for SandboxGateway {
    fn new(state: State, env: Env) -> Self {
        Self { state, env }
    }

    async fn fetch(&self, req: Request) -> worker::Result<Response> {
        Ok(self.route(req).await)
    }

    async fn alarm(&self) -> worker::Result<Response> {
        self.send_due_webhooks().await;
        Response::ok("ok")
    }
}

fn api_error(status: u16, kind: &str, message: impl Into<String>) -> Response {
    json(status, &ErrorBody { error: ErrorDetail { kind: kind.into(), message: message.into() } })
}

impl SandboxGateway {
    async fn route(&self, mut req: Request) -> Response {
        let path = req.path();
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let method = req.method();
        match (method, segments.as_slice()) {
            (Method::Post, ["sandbox", "api", "payments"]) => self.api_create(&mut req).await,
            (Method::Get, ["sandbox", "api", "payments", id]) => self.api_get(&req, id).await,
            (Method::Post, ["sandbox", "api", "payments", id, "cancel"]) => self.api_cancel(&req, id).await,
            (Method::Post, ["sandbox", "api", "payments", id, "refund"]) => self.api_refund(&mut req, id).await,
            (Method::Get, ["sandbox", "api", "account"]) => match self.authorized(&req) {
                Ok(()) => json(
                    200,
                    &serde_json::json!({"id": "sandbox", "currencies": bawaba_core::gateway::sandbox::CAPABILITIES.currencies}),
                ),
                Err(r) => r,
            },
            (Method::Get, ["sandbox", "pay", id]) => self.page(id, None).await,
            (Method::Post, ["sandbox", "pay", id]) => self.submit(&mut req, id, Action::Card).await,
            (Method::Post, ["sandbox", "pay", id, "challenge"]) => self.submit(&mut req, id, Action::Challenge).await,
            (Method::Post, ["sandbox", "pay", id, "cancel"]) => self.submit(&mut req, id, Action::Cancel).await,
            _ => api_error(404, "not_found", "no such sandbox route"),
        }
    }

    fn authorized(&self, req: &Request) -> Result<(), Response> {
        let expected = config::required(&self.env, "SANDBOX_SECRET_KEY").map_err(|e| crate::error::response(&e))?;
        let given = req.headers().get("Authorization").ok().flatten().unwrap_or_default();
        let given = given.strip_prefix("Bearer ").unwrap_or("");
        if bawaba_core::constant_time_eq(given.as_bytes(), expected.as_bytes()) {
            Ok(())
        } else {
            Err(api_error(401, "authentication_error", "Invalid API key"))
        }
    }

    async fn load(&self, id: &str) -> Option<Record> {
        self.state.storage().get::<Record>(&key(id)).await.ok().flatten()
    }

    async fn api_create(&self, req: &mut Request) -> Response {
        if let Err(r) = self.authorized(req) {
            return r;
        }
        let body: CreatePayment = match req.json().await {
            Ok(b) => b,
            Err(e) => return api_error(400, "invalid_request_error", e.to_string()),
        };
        let page_base = format!("{}/sandbox/pay", crate::util::origin_of(req));
        let ttl = config::int(&self.env, "SANDBOX_PAGE_TTL_SECS", server::EXPIRES_AFTER_SECS)
            .unwrap_or(server::EXPIRES_AFTER_SECS);
        match server::create(body, random_id("sbx_"), &page_base, now_secs(), ttl) {
            Ok(record) => {
                if let Err(e) = self.state.storage().put(&key(&record.payment.id), &record).await {
                    return api_error(500, "api_error", e.to_string());
                }
                json(201, &record.payment)
            }
            Err(e) => json(400, &e),
        }
    }

    async fn api_get(&self, req: &Request, id: &str) -> Response {
        if let Err(r) = self.authorized(req) {
            return r;
        }
        let Some(mut record) = self.load(id).await else {
            return api_error(404, "not_found", format!("no payment {id}"));
        };
        if server::expire_if_due(&mut record, now_secs()) {
            let _ = self.save_and_queue(&record).await;
        }
        json(200, &record.payment)
    }

    async fn api_cancel(&self, req: &Request, id: &str) -> Response {
        if let Err(r) = self.authorized(req) {
            return r;
        }
        let Some(mut record) = self.load(id).await else {
            return api_error(404, "not_found", format!("no payment {id}"));
        };
        let now = now_secs();
        if server::expire_if_due(&mut record, now) || server::cancel_by_merchant(&mut record, now) {
            if let Err(e) = self.save_and_queue(&record).await {
                return api_error(500, "api_error", e.to_string());
            }
        }
        json(200, &record.payment)
    }

    async fn api_refund(&self, req: &mut Request, id: &str) -> Response {
        if let Err(r) = self.authorized(req) {
            return r;
        }
        #[derive(Deserialize, Default)]
        struct Body {
            #[serde(default)]
            amount: Option<i64>,
        }
        let body: Body = req.json().await.unwrap_or_default();
        let Some(mut record) = self.load(id).await else {
            return api_error(404, "not_found", format!("no payment {id}"));
        };
        match server::refund(&mut record, body.amount) {
            Ok(()) => match self.state.storage().put(&key(id), &record).await {
                Ok(()) => json(200, &record.payment),
                Err(e) => api_error(500, "api_error", e.to_string()),
            },
            Err(e) => json(400, &e),
        }
    }

    async fn page(&self, id: &str, error: Option<&str>) -> Response {
        match self.load(id).await {
            Some(record) => {
                html(if error.is_some() { 422 } else { 200 }, server::render_card_page(&record, error, now_secs()))
            }
            None => html(404, "<!doctype html><title>Not found</title><p>No such sandbox payment.</p>".into()),
        }
    }

    async fn submit(&self, req: &mut Request, id: &str, action: Action) -> Response {
        let Some(mut record) = self.load(id).await else {
            return html(404, "<!doctype html><title>Not found</title><p>No such sandbox payment.</p>".into());
        };
        let body = req.text().await.unwrap_or_default();
        let now = now_secs();
        let outcome = match action {
            Action::Card => {
                let form: CardForm = serde_urlencoded::from_str(&body).unwrap_or_default();
                server::submit_card(&mut record, &form, now)
            }
            Action::Challenge => {
                #[derive(Deserialize, Default)]
                struct Code {
                    #[serde(default)]
                    code: String,
                }
                let form: Code = serde_urlencoded::from_str(&body).unwrap_or_default();
                server::submit_challenge(&mut record, &form.code, now)
            }
            Action::Cancel => server::cancel(&mut record, now),
        };
        match outcome {
            PageOutcome::FormError(e) => html(422, server::render_card_page(&record, Some(e), now)),
            PageOutcome::Challenge => {
                let _ = self.state.storage().put(&key(id), &record).await;
                html(200, server::render_challenge_page(&record, None, now))
            }
            PageOutcome::Finished => {
                if let Err(e) = self.save_and_queue(&record).await {
                    return api_error(500, "api_error", e.to_string());
                }
                see_other(&record.return_url)
            }
        }
    }

    /// Saves the record and, if it owes a webhook, queues it with the configured delay.
    async fn save_and_queue(&self, record: &Record) -> worker::Result<()> {
        let storage = self.state.storage();
        let mut saved = record.clone();
        let owes = saved.webhooks_due > 0;
        saved.webhooks_due = 0;
        storage.put(&key(&saved.payment.id), &saved).await?;
        if owes && config::setting(&self.env, "SANDBOX_WEBHOOKS").as_deref() != Some("off") {
            let delay = config::int(&self.env, "SANDBOX_WEBHOOK_DELAY_MS", 500).unwrap_or(500);
            let mut queue: Vec<QueuedWebhook> = storage.get(KEY_QUEUE).await?.unwrap_or_default();
            queue.push(QueuedWebhook {
                payment_id: saved.payment.id.clone(),
                due_at_ms: now_millis() + delay,
                attempts: 0,
            });
            schedule(&storage, &queue).await?;
            storage.put(KEY_QUEUE, &queue).await?;
        }
        Ok(())
    }

    async fn send_due_webhooks(&self) {
        let storage = self.state.storage();
        let queue: Vec<QueuedWebhook> = storage.get(KEY_QUEUE).await.ok().flatten().unwrap_or_default();
        let now = now_millis();
        let secret = match config::required(&self.env, "SANDBOX_WEBHOOK_SECRET") {
            Ok(s) => Secret::new(s),
            Err(e) => {
                worker::console_error!("sandbox webhooks: {e}");
                return;
            }
        };
        let mut outcomes = Vec::new();
        for item in queue.iter().filter(|q| q.due_at_ms <= now) {
            let Some(record) = self.load(&item.payment_id).await else {
                continue;
            };
            outcomes.push((item.payment_id.clone(), send_webhook(&self.env, &secret, &record).await));
        }
        // Re-read: payments finished while we were sending have queued their own webhooks.
        let mut queue: Vec<QueuedWebhook> = storage.get(KEY_QUEUE).await.ok().flatten().unwrap_or_default();
        let now = now_millis();
        for (payment_id, ok) in outcomes {
            let Some(pos) = queue.iter().position(|q| q.payment_id == payment_id && q.due_at_ms <= now) else {
                continue;
            };
            queue[pos].attempts += 1;
            if ok || queue[pos].attempts >= WEBHOOK_ATTEMPTS {
                queue.remove(pos);
            } else {
                queue[pos].due_at_ms = now + 1000 * (1 << queue[pos].attempts.min(10)) as i64;
            }
        }
        let _ = schedule(&storage, &queue).await;
        let _ = storage.put(KEY_QUEUE, &queue).await;
    }
}

/// A sandbox page: its one inline `<style>` is allowed by hash, nothing else inline.
fn html(status: u16, body: String) -> Response {
    crate::util::html_with_styles(status, body, &[PAGE_STYLE])
}

enum Action {
    Card,
    Challenge,
    Cancel,
}

async fn schedule(storage: &Storage, queue: &[QueuedWebhook]) -> worker::Result<()> {
    match queue.iter().map(|q| q.due_at_ms).min() {
        Some(t) => crate::util::set_alarm_at(storage, t).await,
        None => storage.delete_alarm().await,
    }
}

/// Serves a connector's request to the sandbox API in-process, through the binding, with the
/// same timeout as a network call.
pub async fn serve(
    env: &Env,
    req: &bawaba_core::gateway::HttpRequest,
    timeout_ms: u64,
) -> Result<bawaba_core::gateway::HttpResponse, bawaba_core::gateway::GatewayError> {
    use bawaba_core::gateway::GatewayError;
    let unreachable = |e: worker::Error| GatewayError::Unreachable(format!("sandbox: {e}"));
    let stub = env.durable_object(BINDING).and_then(|ns| ns.get_by_name(INSTANCE)).map_err(unreachable)?;
    let request = crate::http::to_request(req)?;
    // The request keeps the edge's own URL: the sandbox builds its page addresses from it.
    crate::http::within(stub.fetch_with_request(request), worker::AbortController::default(), timeout_ms).await
}

async fn send_webhook(env: &Env, secret: &Secret, record: &Record) -> bool {
    let event =
        WebhookEvent { id: random_id("sbxevt_"), event_type: "payment.updated".into(), data: record.payment.clone() };
    let Ok(body) = serde_json::to_string(&event) else {
        return false;
    };
    let headers = worker::Headers::new();
    let _ = headers.set("Content-Type", "application/json");
    let _ = headers.set(webhook::HEADER, &webhook::sign(secret.expose().as_bytes(), now_secs(), body.as_bytes()));
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_headers(headers).with_body(Some(wasm_bindgen::JsValue::from_str(&body)));
    let Ok(req) = Request::new_with_init(&record.webhook_url, &init) else {
        return false;
    };
    // Straight into the edge's router: the same route, the same signature check, as if it
    // had come over the network.
    let resp = crate::routes::handle(req, env.clone()).await;
    let delivered = (200..300).contains(&resp.status_code());
    if !delivered {
        worker::console_warn!("sandbox webhook to {} answered {}", record.webhook_url, resp.status_code());
    }
    delivered
}
