//! One Durable Object per payment (named `<shop id>:<reference>`): it owns the payment's state
//! machine, its gateway sessions, and the outbox of notifications to the shop.
//!
//! Every command runs inside `blockConcurrencyWhile`, so commands on one payment never
//! interleave: a double click yields one gateway session, and the browser return racing the
//! webhook yields one transition and one notification. Notifications are written to storage in
//! the same step as the transition, before any attempt to send them; an alarm retries them with
//! exponential backoff until the shop answers 2xx.

use crate::config;
use crate::error::{internal, response};
use crate::util::{now_millis, now_secs, random_id};
use bawaba_core::api::{ApiError, NextAction, SessionView};
use bawaba_core::gateway::{self, sandbox, GatewayError};
use bawaba_core::intent::IntentClaims;
use bawaba_core::method::PaymentMethod;
use bawaba_core::money::{Currency, Money};
use bawaba_core::notification::{ErrorInfo, EventType, Notification};
use bawaba_core::payment::{PaymentState, Transition};
use bawaba_core::signature;
use serde::{Deserialize, Serialize};
use worker::{
    durable_object, DurableObject, Env, Method, Request, RequestInit, Response, State, Storage,
};

/// Binding name in wrangler.toml.
pub const BINDING: &str = "PAYMENTS";

/// Notifications are retried for this long before being marked failed (72 hours).
pub const DELIVERY_WINDOW_MS: i64 = 72 * 3600 * 1000;
/// Longest wait between two attempts.
pub const MAX_RETRY_DELAY_MS: i64 = 3600 * 1000;

/// Commands the worker sends to a payment object.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    /// Start (or reuse) a gateway session for a verified intent and method.
    StartSession {
        /// The verified intent's claims.
        claims: Box<IntentClaims>,
        /// Chosen method.
        method: PaymentMethod,
        /// Page language.
        locale: String,
        /// This edge's origin (for return and webhook URLs).
        edge_origin: String,
    },
    /// Read a session.
    GetSession {
        /// Session id.
        session_id: String,
    },
    /// Ask the gateway for the truth and apply it (after a return or a webhook).
    Confirm {
        /// Session id.
        session_id: String,
        /// `return` or `webhook`: recorded in the history.
        source: String,
        /// This edge's origin.
        edge_origin: String,
    },
    /// Same as `Confirm`, found by the gateway's payment id (webhooks carry no session id).
    ConfirmGatewayPayment {
        /// The gateway's payment id.
        gateway_payment_id: String,
        /// `webhook`.
        source: String,
        /// This edge's origin.
        edge_origin: String,
    },
    /// Full record, for the operator and the demo.
    Inspect,
}

/// A gateway session of this payment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionRecord {
    /// Our session id.
    pub id: String,
    /// Method.
    pub method: PaymentMethod,
    /// Gateway code.
    pub gateway: String,
    /// Gateway's payment id.
    pub gateway_payment_id: String,
    /// Hosted page.
    pub redirect_url: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Replaced by a session for another method.
    pub superseded: bool,
}

/// A line of the payment's history: every event offered, applied or not.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// Unix seconds.
    pub at: i64,
    /// What reported it (`session`, `return`, `webhook`).
    pub source: String,
    /// State before.
    pub from: PaymentState,
    /// State offered.
    pub offered: PaymentState,
    /// `applied`, `unchanged` or `refused`.
    pub outcome: String,
}

/// The payment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PaymentRecord {
    /// Shop id.
    pub shop_id: String,
    /// Intent claims, as first accepted.
    pub claims: IntentClaims,
    /// Current state.
    pub state: PaymentState,
    /// Sessions, oldest first.
    pub sessions: Vec<SessionRecord>,
    /// Card brand from the gateway.
    pub card_brand: Option<String>,
    /// Last four.
    pub card_last4: Option<String>,
    /// Failure reason.
    pub error: Option<ErrorInfo>,
    /// History.
    pub history: Vec<HistoryEntry>,
}

/// A notification waiting in (or delivered from) the outbox.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// The event id (stable across retries).
    pub event_id: String,
    /// Exact body sent (signed afresh at each attempt, with a new timestamp).
    pub body: String,
    /// Target.
    pub notify_url: String,
    /// Attempts so far.
    pub attempts: u32,
    /// When it was written (ms).
    pub created_at_ms: i64,
    /// When the next attempt is due (ms); `None` once delivered or given up.
    pub next_attempt_at_ms: Option<i64>,
    /// When the shop acknowledged it (ms).
    pub delivered_at_ms: Option<i64>,
    /// Last failure.
    pub last_error: Option<String>,
    /// Given up after the delivery window.
    #[serde(default)]
    pub failed: bool,
}

/// What `Inspect` returns.
#[derive(Debug, Serialize, Deserialize)]
pub struct Inspection {
    /// The payment, if any.
    pub payment: Option<PaymentRecord>,
    /// Its outbox.
    pub outbox: Vec<OutboxEntry>,
}

const KEY_PAYMENT: &str = "payment";
const KEY_OUTBOX: &str = "outbox";

/// The Durable Object.
#[durable_object]
pub struct PaymentObject {
    state: State,
    env: Env,
}

impl DurableObject for PaymentObject {
    fn new(state: State, env: Env) -> Self {
        Self { state, env }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let command: Command = match req.json().await {
            Ok(c) => c,
            Err(e) => return Ok(response(&ApiError::Internal(format!("bad command: {e}")))),
        };
        let storage = self.state.storage();
        let env = self.env.clone();
        let object_id = self.state.id().to_string();
        let outcome = self
            .state
            .block_concurrency_while(async move { Ok(run(storage, env, object_id, command).await) })
            .await;
        match outcome {
            Ok(Ok((view, deliver_now))) => {
                if deliver_now {
                    // The event is already stored; this first attempt saves the shop a wait.
                    deliver_due(&self.state, &self.env).await;
                }
                Ok(crate::util::json(200, &view))
            }
            Ok(Err(e)) => Ok(response(&e)),
            Err(e) => Ok(response(&internal(e))),
        }
    }

    async fn alarm(&self) -> worker::Result<Response> {
        deliver_due(&self.state, &self.env).await;
        Response::ok("ok")
    }
}

/// Session ids are `ps_<object id>_<n>`, so the worker can find the object from the id alone.
pub fn session_id(object_id: &str, n: usize) -> String {
    format!("ps_{object_id}_{n}")
}

/// Splits a session id into the object id, or `None` if it is not one of ours.
pub fn object_id_of(session_id: &str) -> Option<&str> {
    let rest = session_id.strip_prefix("ps_")?;
    let (object, n) = rest.rsplit_once('_')?;
    let valid = object.len() == 64
        && object.bytes().all(|b| b.is_ascii_hexdigit())
        && n.parse::<u32>().is_ok();
    valid.then_some(object)
}

async fn load(storage: &Storage) -> Result<Option<PaymentRecord>, ApiError> {
    storage.get(KEY_PAYMENT).await.map_err(internal)
}

async fn load_outbox(storage: &Storage) -> Result<Vec<OutboxEntry>, ApiError> {
    Ok(storage
        .get(KEY_OUTBOX)
        .await
        .map_err(internal)?
        .unwrap_or_default())
}

type RunResult = Result<(serde_json::Value, bool), ApiError>;

async fn run(storage: Storage, env: Env, object_id: String, command: Command) -> RunResult {
    match command {
        Command::StartSession {
            claims,
            method,
            locale,
            edge_origin,
        } => {
            let view = start_session(
                &storage,
                &env,
                &object_id,
                *claims,
                method,
                &locale,
                &edge_origin,
            )
            .await?;
            Ok((to_value(&view)?, false))
        }
        Command::GetSession { session_id } => {
            let record = load(&storage).await?.ok_or(ApiError::SessionNotFound)?;
            let session = record
                .sessions
                .iter()
                .find(|s| s.id == session_id)
                .ok_or(ApiError::SessionNotFound)?;
            Ok((to_value(&view_of(&record, session))?, false))
        }
        Command::Confirm {
            session_id,
            source,
            edge_origin,
        } => {
            let (view, created_event) =
                confirm(&storage, &env, &session_id, &source, &edge_origin).await?;
            Ok((to_value(&view)?, created_event))
        }
        Command::ConfirmGatewayPayment {
            gateway_payment_id,
            source,
            edge_origin,
        } => {
            let record = load(&storage).await?.ok_or(ApiError::SessionNotFound)?;
            let session_id = record
                .sessions
                .iter()
                .find(|s| s.gateway_payment_id == gateway_payment_id)
                .map(|s| s.id.clone())
                .ok_or(ApiError::SessionNotFound)?;
            let (view, created_event) =
                confirm(&storage, &env, &session_id, &source, &edge_origin).await?;
            Ok((to_value(&view)?, created_event))
        }
        Command::Inspect => {
            let inspection = Inspection {
                payment: load(&storage).await?,
                outbox: load_outbox(&storage).await?,
            };
            Ok((to_value(&inspection)?, false))
        }
    }
}

fn to_value<T: Serialize>(v: &T) -> Result<serde_json::Value, ApiError> {
    serde_json::to_value(v).map_err(internal)
}

fn money_of(claims: &IntentClaims) -> Result<Money, ApiError> {
    let currency =
        Currency::parse(&claims.currency).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(Money::new(claims.amount, currency))
}

fn view_of(record: &PaymentRecord, session: &SessionRecord) -> SessionView {
    let open = !record.state.is_terminal() && !session.superseded;
    SessionView {
        id: session.id.clone(),
        reference: record.claims.sub.clone(),
        method: session.method,
        gateway: session.gateway.clone(),
        status: record.state,
        amount: record.claims.amount,
        currency: record.claims.currency.clone(),
        return_url: record.claims.return_url.clone(),
        next_action: if open {
            NextAction::Redirect {
                url: session.redirect_url.clone(),
            }
        } else {
            NextAction::None
        },
        error: record.error.clone(),
    }
}

/// The reference the gateway sees: shop id and shop reference, so two shops on one gateway
/// account never collide.
fn gateway_reference(record: &PaymentRecord) -> String {
    format!("{}:{}", record.shop_id, record.claims.sub)
}

async fn start_session(
    storage: &Storage,
    env: &Env,
    object_id: &str,
    claims: IntentClaims,
    method: PaymentMethod,
    locale: &str,
    edge_origin: &str,
) -> Result<SessionView, ApiError> {
    let mut record = match load(storage).await? {
        Some(r) => {
            if r.claims.amount != claims.amount || r.claims.currency != claims.currency {
                return Err(ApiError::InvalidRequest(format!(
                    "reference {:?} was already used for another amount; the shop must use a new reference",
                    claims.sub
                )));
            }
            r
        }
        None => PaymentRecord {
            shop_id: claims.iss.clone(),
            claims: claims.clone(),
            state: PaymentState::Created,
            sessions: Vec::new(),
            card_brand: None,
            card_last4: None,
            error: None,
            history: Vec::new(),
        },
    };
    if record.state.is_terminal() {
        return Err(ApiError::PaymentFinished(record.state));
    }
    if let Some(existing) = record
        .sessions
        .iter()
        .find(|s| !s.superseded && s.method == method)
    {
        return Ok(view_of(&record, existing));
    }
    // A different method supersedes the open session rather than running two charges side by side.
    for s in record.sessions.iter_mut() {
        s.superseded = true;
    }
    let cfg = config::sandbox(env, edge_origin)?
        .ok_or_else(|| ApiError::MethodNotAllowed(method.code().to_string()))?;
    let id = session_id(object_id, record.sessions.len());
    let reference = gateway_reference(&record);
    let return_url = format!("{edge_origin}/v1/return/sandbox/{id}");
    let webhook_url = format!("{edge_origin}/v1/webhooks/sandbox");
    let request = sandbox::build_create_session(
        &cfg,
        &sandbox::CreateSession {
            reference: &reference,
            money: money_of(&record.claims)?,
            method,
            return_url: &return_url,
            webhook_url: &webhook_url,
            locale,
            customer_name: record.claims.customer_name.as_deref(),
        },
    );
    let resp = crate::http::send(&request).await.map_err(gateway_error)?;
    let session = sandbox::parse_create_session(&resp).map_err(gateway_error)?;
    record.sessions.push(SessionRecord {
        id,
        method,
        gateway: sandbox::CODE.to_string(),
        gateway_payment_id: session.id,
        redirect_url: session.redirect_url,
        created_at: now_secs(),
        superseded: false,
    });
    offer(&mut record, PaymentState::Pending, "session");
    storage.put(KEY_PAYMENT, &record).await.map_err(internal)?;
    let session = record.sessions.last().expect("just pushed");
    Ok(view_of(&record, session))
}

fn gateway_error(e: GatewayError) -> ApiError {
    match e {
        GatewayError::Unreachable(why) => ApiError::GatewayUnavailable(why),
        other => ApiError::GatewayRejected(other.to_string()),
    }
}

fn offer(record: &mut PaymentRecord, next: PaymentState, source: &str) -> Transition {
    let from = record.state;
    let outcome = from.offer(next);
    record.history.push(HistoryEntry {
        at: now_secs(),
        source: source.to_string(),
        from,
        offered: next,
        outcome: match outcome {
            Transition::Applied => "applied",
            Transition::Unchanged => "unchanged",
            Transition::Refused => "refused",
        }
        .to_string(),
    });
    if outcome == Transition::Applied {
        record.state = next;
    }
    outcome
}

async fn confirm(
    storage: &Storage,
    env: &Env,
    session_id: &str,
    source: &str,
    edge_origin: &str,
) -> Result<(SessionView, bool), ApiError> {
    let mut record = load(storage).await?.ok_or(ApiError::SessionNotFound)?;
    let session = record
        .sessions
        .iter()
        .find(|s| s.id == session_id)
        .cloned()
        .ok_or(ApiError::SessionNotFound)?;
    if record.state.is_terminal() || session.superseded {
        return Ok((view_of(&record, &session), false));
    }
    let cfg = config::sandbox(env, edge_origin)?
        .ok_or_else(|| ApiError::Misconfigured("the sandbox gateway is off".into()))?;
    let resp = crate::http::send(&sandbox::build_fetch_payment(
        &cfg,
        &session.gateway_payment_id,
    ))
    .await
    .map_err(gateway_error)?;
    let expected = money_of(&record.claims)?;
    let (next, error) = match sandbox::parse_fetch_payment(&resp) {
        Ok(payment) => {
            match gateway::check_matches(&payment, &expected, &gateway_reference(&record)) {
                Ok(()) => {
                    record.card_brand = payment.card_brand.clone().or(record.card_brand.take());
                    record.card_last4 = payment.card_last4.clone().or(record.card_last4.take());
                    (payment.state, payment.error)
                }
                // A result for another amount or reference is a failure, never a success.
                Err(mismatch) => (
                    PaymentState::Failed,
                    Some(ErrorInfo {
                        code: "amount_mismatch".into(),
                        message: mismatch.to_string(),
                    }),
                ),
            }
        }
        Err(GatewayError::Unreachable(why)) => return Err(ApiError::GatewayUnavailable(why)),
        Err(other) => return Err(ApiError::GatewayRejected(other.to_string())),
    };
    let transition = offer(&mut record, next, source);
    let mut created_event = false;
    if transition == Transition::Applied {
        record.error = error;
        if let Some(event_type) =
            EventType::for_state(next).filter(|_| next != PaymentState::Pending)
        {
            let notification = Notification {
                event_id: random_id("evt_"),
                event_type,
                shop_id: record.shop_id.clone(),
                reference: record.claims.sub.clone(),
                amount: record.claims.amount,
                currency: record.claims.currency.clone(),
                gateway: session.gateway.clone(),
                gateway_payment_id: session.gateway_payment_id.clone(),
                method: session.method.code().to_string(),
                card_brand: record.card_brand.clone(),
                card_last4: record.card_last4.clone(),
                error: record.error.clone(),
                created_at: now_secs(),
            };
            let mut outbox = load_outbox(storage).await?;
            let now = now_millis();
            outbox.push(OutboxEntry {
                event_id: notification.event_id.clone(),
                body: serde_json::to_string(&notification).map_err(internal)?,
                notify_url: record.claims.notify_url.clone(),
                attempts: 0,
                created_at_ms: now,
                next_attempt_at_ms: Some(now),
                delivered_at_ms: None,
                last_error: None,
                failed: false,
            });
            // Payment and outbox are written together: no transition without its notification.
            let both = js_sys::Object::new();
            let set = |key: &str, value: wasm_bindgen::JsValue| {
                js_sys::Reflect::set(&both, &key.into(), &value)
            };
            set(
                KEY_PAYMENT,
                serde_wasm_bindgen::to_value(&record).map_err(internal)?,
            )
            .map_err(|_| internal("set"))?;
            set(
                KEY_OUTBOX,
                serde_wasm_bindgen::to_value(&outbox).map_err(internal)?,
            )
            .map_err(|_| internal("set"))?;
            storage.put_multiple_raw(both).await.map_err(internal)?;
            // Safety net: if the immediate attempt never completes, the alarm retries.
            let base = config::int(env, "NOTIFY_RETRY_BASE_MS", 30_000)?;
            crate::util::set_alarm_at(storage, now + base)
                .await
                .map_err(internal)?;
            created_event = true;
        } else {
            storage.put(KEY_PAYMENT, &record).await.map_err(internal)?;
        }
    } else {
        storage.put(KEY_PAYMENT, &record).await.map_err(internal)?;
    }
    Ok((view_of(&record, &session), created_event))
}

/// Sends every due outbox entry once, records the outcome, and sets the alarm for the next one.
async fn deliver_due(state: &State, env: &Env) {
    let storage = state.storage();
    let outbox = match load_outbox(&storage).await {
        Ok(o) => o,
        Err(e) => {
            worker::console_error!("outbox unreadable: {e}");
            return;
        }
    };
    let now = now_millis();
    let due: Vec<OutboxEntry> = outbox
        .iter()
        .filter(|e| e.next_attempt_at_ms.is_some_and(|t| t <= now))
        .cloned()
        .collect();
    if due.is_empty() {
        return;
    }
    let shop = match record_shop(&storage, env).await {
        Some(s) => s,
        None => return,
    };
    let mut results = Vec::new();
    for entry in &due {
        results.push((
            entry.event_id.clone(),
            post_notification(&shop.secret, entry).await,
        ));
    }
    let base = config::int(env, "NOTIFY_RETRY_BASE_MS", 30_000)
        .unwrap_or(30_000)
        .max(1);
    let storage2 = state.storage();
    // Apply the results under the gate so no concurrent command sees a half-written outbox.
    let _ = state
        .block_concurrency_while(async move {
            let mut outbox = load_outbox(&storage2).await.unwrap_or_default();
            let now = now_millis();
            for (event_id, result) in results {
                let Some(entry) = outbox.iter_mut().find(|e| e.event_id == event_id) else {
                    continue;
                };
                if entry.delivered_at_ms.is_some() {
                    continue;
                }
                entry.attempts += 1;
                match result {
                    Ok(()) => {
                        entry.delivered_at_ms = Some(now);
                        entry.next_attempt_at_ms = None;
                        entry.last_error = None;
                    }
                    Err(why) => {
                        entry.last_error = Some(why);
                        if now - entry.created_at_ms > DELIVERY_WINDOW_MS {
                            entry.failed = true;
                            entry.next_attempt_at_ms = None;
                        } else {
                            entry.next_attempt_at_ms =
                                Some(now + retry_delay_ms(base, entry.attempts));
                        }
                    }
                }
            }
            let next = outbox.iter().filter_map(|e| e.next_attempt_at_ms).min();
            storage2.put(KEY_OUTBOX, &outbox).await?;
            match next {
                Some(t) => crate::util::set_alarm_at(&storage2, t).await?,
                None => storage2.delete_alarm().await?,
            }
            Ok(())
        })
        .await;
}

/// Exponential backoff with ±20 % jitter, capped at an hour.
pub fn retry_delay_ms(base: i64, attempts: u32) -> i64 {
    let exp = base.saturating_mul(1i64 << attempts.saturating_sub(1).min(20));
    let capped = exp.min(MAX_RETRY_DELAY_MS);
    let mut b = [0u8; 1];
    let _ = getrandom::getrandom(&mut b);
    let jitter = (b[0] as i64 - 128) * capped / 640; // within ±20 %
    (capped + jitter).max(1)
}

async fn record_shop(storage: &Storage, env: &Env) -> Option<config::Shop> {
    let record = load(storage).await.ok()??;
    match config::shop(env, &record.shop_id) {
        Ok(Some(shop)) => Some(shop),
        other => {
            worker::console_error!(
                "cannot deliver for shop {}: {:?}",
                record.shop_id,
                other.err()
            );
            None
        }
    }
}

async fn post_notification(
    secret: &bawaba_core::secret::Secret,
    entry: &OutboxEntry,
) -> Result<(), String> {
    let header = signature::sign(
        secret.expose().as_bytes(),
        now_secs(),
        entry.body.as_bytes(),
    );
    let headers = worker::Headers::new();
    headers
        .set("Content-Type", "application/json")
        .map_err(|e| e.to_string())?;
    headers
        .set(signature::HEADER, &header)
        .map_err(|e| e.to_string())?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(wasm_bindgen::JsValue::from_str(&entry.body)));
    let req = Request::new_with_init(&entry.notify_url, &init).map_err(|e| e.to_string())?;
    let resp = crate::http::send_request(req)
        .await
        .map_err(|e| e.to_string())?;
    if (200..300).contains(&resp.status) {
        Ok(())
    } else {
        Err(format!("the shop answered HTTP {}", resp.status))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_round_trip() {
        let oid = "a".repeat(64);
        assert_eq!(object_id_of(&session_id(&oid, 3)), Some(oid.as_str()));
        assert_eq!(object_id_of("ps_xyz_1"), None);
        assert_eq!(object_id_of("nope"), None);
        assert_eq!(object_id_of(&format!("ps_{}_x", "a".repeat(64))), None);
    }
}
