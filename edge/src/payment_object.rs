//! One Durable Object per payment (named `<shop id>:<reference>`): it owns the payment's state
//! machine, its gateway sessions, and the outbox of notifications to the shop.
//!
//! Every command runs inside `blockConcurrencyWhile`, so commands on one payment never
//! interleave: a double click yields one gateway session, and the browser return racing the
//! webhook yields one transition and one notification. A notification is written to storage in
//! the same write as its transition, before any attempt to send it; the object's alarm retries
//! it with exponential backoff and jitter until the shop answers 2xx, for 72 hours. The same
//! alarm reconciles a payment left pending: it asks the gateway, so a lost webhook or a closed
//! tab costs minutes, not money. The shop's ledger (`ledger.rs`) indexes what is pending or
//! failing, for the cron sweep and for `GET /v1/deliveries`.

use crate::config;
use crate::error::{internal, response};
use crate::ledger;
use crate::util::{now_millis, now_secs, random_id, set_alarm_at};
use bawaba_core::api::{ApiError, DeliveryState, DeliveryView, NextAction, SessionView};
use bawaba_core::gateway::connector::{Connector, Start, StartInput};
use bawaba_core::gateway::{self, GatewayError, GatewayPayment};
use bawaba_core::intent::IntentClaims;
use bawaba_core::method::PaymentMethod;
use bawaba_core::money::{Currency, Money};
use bawaba_core::notification::{ErrorInfo, EventType, Notification};
use bawaba_core::payment::{PaymentState, Transition};
use bawaba_core::signature;
use serde::{Deserialize, Serialize};
use worker::{durable_object, DurableObject, Env, Method, Request, RequestInit, Response, State, Storage};

/// Binding name in wrangler.toml.
pub const BINDING: &str = "PAYMENTS";

/// Commands the worker (and the cron) send to a payment object.
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
    /// Ask the gateway for the truth and apply it (after a return).
    Confirm {
        /// Session id.
        session_id: String,
        /// `return`: recorded in the history.
        source: String,
    },
    /// Same as `Confirm`, found by the gateway's payment id (webhooks carry no session id).
    ConfirmGatewayPayment {
        /// The gateway's payment id.
        gateway_payment_id: String,
        /// `webhook`.
        source: String,
    },
    /// Ask the gateway about every open session (the cron's sweep, and the object's own alarm).
    Reconcile,
    /// Full record, for the operator and the tests.
    Inspect,
    /// Refund `amount` minor units (or the remainder) of a paid payment.
    Refund {
        /// Minor units; `None` for the whole remainder.
        amount: Option<i64>,
    },
    /// Capture an authorized payment.
    Capture {
        /// Minor units; `None` for the whole amount.
        amount: Option<i64>,
    },
    /// Void an authorization (or a payment before settlement, where the gateway allows it).
    Void,
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
    /// For gateways opened by a form post (APS): the signed fields.
    #[serde(default)]
    pub form_fields: Option<std::collections::BTreeMap<String, String>>,
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
    /// What reported it (`session`, `return`, `webhook`, `reconciliation`, `expiry`).
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
    /// This edge's origin when the payment started (the cron has no request to take it from).
    pub edge_origin: String,
    /// Unix seconds.
    pub created_at: i64,
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
    /// When to ask the gateway next if still undecided (unix ms).
    pub reconcile_at_ms: Option<i64>,
    /// The gateway's id that refunds, captures and voids act on.
    #[serde(default)]
    pub transaction_id: Option<String>,
    /// The session that was paid.
    #[serde(default)]
    pub paid_session: Option<String>,
    /// Refunded so far, minor units.
    #[serde(default)]
    pub refunded_minor: i64,
    /// History.
    pub history: Vec<HistoryEntry>,
}

/// A notification waiting in (or delivered from) the outbox.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// The event id (stable across retries).
    pub event_id: String,
    /// The event type.
    pub event_type: EventType,
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

impl OutboxEntry {
    /// The delivery as the API shows it.
    pub fn view(&self) -> DeliveryView {
        let state = if self.delivered_at_ms.is_some() {
            DeliveryState::Delivered
        } else if self.failed {
            DeliveryState::Failed
        } else if self.attempts > 0 {
            DeliveryState::Failing
        } else {
            DeliveryState::Pending
        };
        DeliveryView {
            event_id: self.event_id.clone(),
            event_type: self.event_type,
            state,
            attempts: self.attempts,
            last_error: self.last_error.clone(),
            next_attempt_at_ms: self.next_attempt_at_ms,
        }
    }
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

/// Timing settings, read once per command. Defaults are production values; tests shorten them.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// First retry delay (`NOTIFY_RETRY_BASE_MS`, 30 s).
    pub retry_base_ms: i64,
    /// Longest delay between attempts (`NOTIFY_RETRY_MAX_MS`, 1 h).
    pub retry_max_ms: i64,
    /// How long the shop may take to answer (`NOTIFY_TIMEOUT_MS`, 10 s).
    pub notify_timeout_ms: u64,
    /// How long to keep retrying (`NOTIFY_GIVE_UP_AFTER_SECS`, 72 h).
    pub give_up_after_ms: i64,
    /// Ask the gateway after this long without a result (`RECONCILE_AFTER_SECS`, 5 min).
    pub reconcile_after_ms: i64,
    /// Close a payment still undecided after this long (`PAYMENT_EXPIRES_AFTER_SECS`, 2 h).
    pub expire_after_ms: i64,
    /// How long a gateway may take to answer (`GATEWAY_TIMEOUT_MS`, 15 s).
    pub gateway_timeout_ms: u64,
}

impl Timing {
    /// Reads the settings.
    pub fn from_env(env: &Env) -> Result<Timing, ApiError> {
        Ok(Timing {
            retry_base_ms: config::int(env, "NOTIFY_RETRY_BASE_MS", 30_000)?.max(1),
            retry_max_ms: config::int(env, "NOTIFY_RETRY_MAX_MS", 3_600_000)?.max(1),
            notify_timeout_ms: config::int(env, "NOTIFY_TIMEOUT_MS", 10_000)?.max(1) as u64,
            give_up_after_ms: config::int(env, "NOTIFY_GIVE_UP_AFTER_SECS", 72 * 3600)? * 1000,
            reconcile_after_ms: config::int(env, "RECONCILE_AFTER_SECS", 300)? * 1000,
            expire_after_ms: config::int(env, "PAYMENT_EXPIRES_AFTER_SECS", 2 * 3600)? * 1000,
            gateway_timeout_ms: config::int(env, "GATEWAY_TIMEOUT_MS", crate::http::DEFAULT_TIMEOUT_MS as i64)?.max(1)
                as u64,
        })
    }
}

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
        let timing = match Timing::from_env(&self.env) {
            Ok(t) => t,
            Err(e) => return Ok(response(&e)),
        };
        let outcome = self.run_gated(command, timing).await;
        match outcome {
            Ok((view, deliver_now)) => {
                if deliver_now {
                    // The event is already stored; this first attempt saves the shop a wait.
                    deliver_due(&self.state, &self.env, timing).await;
                }
                self.sync_ledger().await;
                Ok(crate::util::json(200, &view))
            }
            Err(e) => Ok(response(&e)),
        }
    }

    async fn alarm(&self) -> worker::Result<Response> {
        let Ok(timing) = Timing::from_env(&self.env) else { return Response::ok("misconfigured") };
        deliver_due(&self.state, &self.env, timing).await;
        let due = load(&self.state.storage())
            .await
            .ok()
            .flatten()
            .and_then(|r| r.reconcile_at_ms)
            .is_some_and(|t| t <= now_millis());
        if due {
            if let Ok((_, created_event)) = self.run_gated(Command::Reconcile, timing).await {
                if created_event {
                    deliver_due(&self.state, &self.env, timing).await;
                }
            }
        }
        self.sync_ledger().await;
        reschedule(&self.state.storage()).await;
        Response::ok("ok")
    }
}

impl PaymentObject {
    async fn run_gated(&self, command: Command, timing: Timing) -> Result<(serde_json::Value, bool), ApiError> {
        let storage = self.state.storage();
        let env = self.env.clone();
        let object_id = self.state.id().to_string();
        let outcome = self
            .state
            .block_concurrency_while(async move { Ok(run(storage, env, object_id, command, timing).await) })
            .await;
        outcome.map_err(internal)?
    }

    /// Tells the shop's ledger where this payment and its latest notification stand.
    async fn sync_ledger(&self) {
        let storage = self.state.storage();
        let Ok(Some(record)) = load(&storage).await else { return };
        let outbox = load_outbox(&storage).await.unwrap_or_default();
        let entry = ledger::Entry {
            reference: record.claims.sub.clone(),
            object_id: self.state.id().to_string(),
            state: record.state,
            updated_at_ms: now_millis(),
            reconcile_at_ms: record.reconcile_at_ms,
            delivery: outbox.last().map(OutboxEntry::view),
        };
        if let Err(e) = ledger::upsert(&self.env, &record.shop_id, &entry).await {
            worker::console_error!("ledger update for {}:{} failed: {e}", record.shop_id, record.claims.sub);
        }
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
    let valid = object.len() == 64 && object.bytes().all(|b| b.is_ascii_hexdigit()) && n.parse::<u32>().is_ok();
    valid.then_some(object)
}

async fn load(storage: &Storage) -> Result<Option<PaymentRecord>, ApiError> {
    storage.get(KEY_PAYMENT).await.map_err(internal)
}

async fn load_outbox(storage: &Storage) -> Result<Vec<OutboxEntry>, ApiError> {
    Ok(storage.get(KEY_OUTBOX).await.map_err(internal)?.unwrap_or_default())
}

/// The alarm serves both the outbox and reconciliation: it is set to whichever comes first.
async fn reschedule(storage: &Storage) {
    let outbox = load_outbox(storage).await.unwrap_or_default();
    let reconcile = load(storage).await.ok().flatten().and_then(|r| r.reconcile_at_ms);
    let next = outbox.iter().filter_map(|e| e.next_attempt_at_ms).chain(reconcile).min();
    let result = match next {
        Some(t) => set_alarm_at(storage, t).await,
        None => storage.delete_alarm().await,
    };
    if let Err(e) = result {
        worker::console_error!("cannot set the payment's alarm: {e}");
    }
}

type RunResult = Result<(serde_json::Value, bool), ApiError>;

async fn run(storage: Storage, env: Env, object_id: String, command: Command, timing: Timing) -> RunResult {
    match command {
        Command::StartSession { claims, method, locale, edge_origin } => {
            let view =
                start_session(&storage, &env, &object_id, *claims, method, &locale, &edge_origin, timing).await?;
            Ok((to_value(&view)?, false))
        }
        Command::GetSession { session_id } => {
            let record = load(&storage).await?.ok_or(ApiError::SessionNotFound)?;
            let session = record.sessions.iter().find(|s| s.id == session_id).ok_or(ApiError::SessionNotFound)?;
            let outbox = load_outbox(&storage).await?;
            Ok((to_value(&view_of(&record, session, &outbox))?, false))
        }
        Command::Confirm { session_id, source } => {
            let (view, created_event) = confirm(&storage, &env, Some(&session_id), None, &source, timing).await?;
            Ok((to_value(&view)?, created_event))
        }
        Command::ConfirmGatewayPayment { gateway_payment_id, source } => {
            let (view, created_event) =
                confirm(&storage, &env, None, Some(&gateway_payment_id), &source, timing).await?;
            Ok((to_value(&view)?, created_event))
        }
        Command::Reconcile => {
            let created_event = reconcile(&storage, &env, timing).await?;
            Ok((serde_json::json!({ "reconciled": true }), created_event))
        }
        Command::Inspect => {
            let inspection = Inspection { payment: load(&storage).await?, outbox: load_outbox(&storage).await? };
            Ok((to_value(&inspection)?, false))
        }
        Command::Refund { amount } => operate(&storage, &env, Operation::Refund(amount), timing).await,
        Command::Capture { amount } => operate(&storage, &env, Operation::Capture(amount), timing).await,
        Command::Void => operate(&storage, &env, Operation::Void, timing).await,
    }
}

fn to_value<T: Serialize>(v: &T) -> Result<serde_json::Value, ApiError> {
    serde_json::to_value(v).map_err(internal)
}

fn money_of(claims: &IntentClaims) -> Result<Money, ApiError> {
    let currency = Currency::parse(&claims.currency).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(Money::new(claims.amount, currency))
}

fn view_of(record: &PaymentRecord, session: &SessionRecord, outbox: &[OutboxEntry]) -> SessionView {
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
        next_action: match (open, &session.form_fields) {
            (false, _) => NextAction::None,
            (true, Some(fields)) => NextAction::FormPost { url: session.redirect_url.clone(), fields: fields.clone() },
            (true, None) => NextAction::Redirect { url: session.redirect_url.clone() },
        },
        error: record.error.clone(),
        delivery: outbox.last().map(OutboxEntry::view),
    }
}

/// The reference the gateway sees: shop id and shop reference, so two shops on one gateway
/// account never collide.
fn gateway_reference(record: &PaymentRecord) -> String {
    format!("{}:{}", record.shop_id, record.claims.sub)
}

fn connector_of(env: &Env, record: &PaymentRecord, gateway: &str) -> Result<Connector, ApiError> {
    config::connector(env, gateway, &record.edge_origin)
}

fn gateway_error(e: GatewayError) -> ApiError {
    match e {
        GatewayError::Unreachable(why) => ApiError::GatewayUnavailable(why),
        other => ApiError::GatewayRejected(other.to_string()),
    }
}

#[allow(clippy::too_many_arguments)]
async fn start_session(
    storage: &Storage,
    env: &Env,
    object_id: &str,
    claims: IntentClaims,
    method: PaymentMethod,
    locale: &str,
    edge_origin: &str,
    timing: Timing,
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
            edge_origin: edge_origin.to_string(),
            created_at: now_secs(),
            state: PaymentState::Created,
            sessions: Vec::new(),
            card_brand: None,
            card_last4: None,
            error: None,
            reconcile_at_ms: None,
            transaction_id: None,
            paid_session: None,
            refunded_minor: 0,
            history: Vec::new(),
        },
    };
    let outbox = load_outbox(storage).await?;
    if record.state.is_terminal() {
        return Err(ApiError::PaymentFinished(record.state));
    }
    if let Some(existing) = record.sessions.iter().find(|s| !s.superseded && s.method == method) {
        return Ok(view_of(&record, existing, &outbox));
    }
    let gateways = config::gateways_for(env, method, &record.claims.currency)?;
    if gateways.is_empty() {
        return Err(ApiError::MethodNotAllowed(method.code().to_string()));
    }
    // A different method supersedes the open session rather than running two charges side by
    // side: its page is closed at the gateway where the gateway allows it, so an old tab cannot
    // pay it (and if it still does, the payment counts: see `apply`).
    for s in record.sessions.iter_mut().filter(|s| !s.superseded) {
        s.superseded = true;
        let Ok(old) = config::connector(env, &s.gateway, edge_origin) else { continue };
        if let Some(cancel) = old.build_cancel(&s.gateway_payment_id) {
            match crate::http::send(&cancel, timing.gateway_timeout_ms).await {
                Ok(resp) if resp.status < 300 => {}
                other => {
                    worker::console_warn!("could not close superseded session {}: {:?}", s.id, other.map(|r| r.status))
                }
            }
        }
    }
    let id = session_id(object_id, record.sessions.len());
    let reference = gateway_reference(&record);
    let description = format!("{} {}", record.shop_id, record.claims.sub);
    let money = money_of(&record.claims)?;
    // The first gateway that answers takes the session; the next ones are fallbacks for an
    // outage (unreachable, 5xx, timeout). A refusal is an answer: it does not move on, so a
    // wrong key or bad data is reported, not hidden behind another gateway.
    let mut outage = None;
    let mut started = None;
    for gateway in gateways {
        let connector = config::connector(env, gateway, edge_origin)?;
        let return_url = format!("{edge_origin}/v1/return/{gateway}/{id}");
        let webhook_url = format!("{edge_origin}/v1/webhooks/{gateway}");
        let session_key = random_id("");
        let input = StartInput {
            reference: &reference,
            money,
            method,
            return_url: &return_url,
            webhook_url: &webhook_url,
            locale,
            customer_name: record.claims.customer_name.as_deref(),
            description: &description,
            customer_email: record.claims.customer_email.as_deref(),
            session_key: &session_key,
        };
        let attempt = match connector.build_start(&input) {
            Ok(Start::Ready(session)) => Ok(session),
            Ok(Start::Call(request)) => match crate::http::send(&request, timing.gateway_timeout_ms).await {
                Ok(resp) => connector.parse_start(&resp),
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        match attempt {
            Ok(session) => {
                started = Some((gateway, session));
                break;
            }
            Err(GatewayError::Unreachable(why)) => {
                worker::console_warn!(
                    "gateway {gateway} unreachable for {}: {why}; trying the next one",
                    record.claims.sub
                );
                outage = Some(GatewayError::Unreachable(why));
            }
            Err(refused) => return Err(gateway_error(refused)),
        }
    }
    let Some((gateway, session)) = started else {
        return Err(gateway_error(outage.expect("every gateway was tried")));
    };
    crate::gateway_index::put(env, gateway, &session.id, object_id).await?;
    record.sessions.push(SessionRecord {
        id,
        method,
        gateway: gateway.to_string(),
        gateway_payment_id: session.id,
        redirect_url: session.redirect_url,
        form_fields: session.form,
        created_at: now_secs(),
        superseded: false,
    });
    offer(&mut record, PaymentState::Pending, "session");
    record.reconcile_at_ms = Some(now_millis() + timing.reconcile_after_ms);
    storage.put(KEY_PAYMENT, &record).await.map_err(internal)?;
    reschedule(storage).await;
    let session = record.sessions.last().expect("just pushed");
    Ok(view_of(&record, session, &outbox))
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

/// Asks the gateway for one session's payment and checks it against the intent. A result for
/// another amount, currency or reference is a failure, never a success.
async fn ask_gateway(
    env: &Env,
    record: &PaymentRecord,
    session: &SessionRecord,
    timeout_ms: u64,
) -> Result<(PaymentState, Option<ErrorInfo>, Option<GatewayPayment>), ApiError> {
    let connector = connector_of(env, record, &session.gateway)?;
    let request = connector.build_fetch(&session.gateway_payment_id);
    let resp = crate::http::send(&request, timeout_ms).await.map_err(gateway_error)?;
    let payment = connector.parse_fetch(&resp, &money_of(&record.claims)?).map_err(gateway_error)?;
    let reference = connector.expected_reference(&gateway_reference(record), &session.gateway_payment_id);
    match gateway::check_matches(&payment, &money_of(&record.claims)?, &reference) {
        Ok(()) => Ok((payment.state, payment.error.clone(), Some(payment))),
        Err(mismatch) => Ok((
            PaymentState::Failed,
            Some(ErrorInfo { code: "amount_mismatch".into(), message: mismatch.to_string() }),
            None,
        )),
    }
}

/// Applies what the gateway said about `session`. Success counts from any session (the money
/// was taken, even on a superseded page); a failure only from the current one, since the
/// shopper may still pay with the method they switched to.
async fn apply(
    storage: &Storage,
    record: &mut PaymentRecord,
    session: &SessionRecord,
    observed: (PaymentState, Option<ErrorInfo>, Option<GatewayPayment>),
    source: &str,
    timing: Timing,
) -> Result<bool, ApiError> {
    let (next, error, payment) = observed;
    let counts = !session.superseded || matches!(next, PaymentState::Paid | PaymentState::Authorized);
    if !counts || next == PaymentState::Pending || next == PaymentState::Created {
        return Ok(false);
    }
    if offer(record, next, source) != Transition::Applied {
        storage.put(KEY_PAYMENT, &*record).await.map_err(internal)?;
        return Ok(false);
    }
    record.error = error;
    if let Some(p) = payment {
        record.card_brand = p.card_brand.or(record.card_brand.take());
        record.card_last4 = p.card_last4.or(record.card_last4.take());
        record.transaction_id = p.transaction_id.or(Some(p.id));
    }
    if matches!(next, PaymentState::Paid | PaymentState::Authorized) {
        record.paid_session = Some(session.id.clone());
    }
    if record.state.is_terminal() {
        record.reconcile_at_ms = None;
    }
    let Some(event_type) = EventType::for_state(next) else {
        storage.put(KEY_PAYMENT, &*record).await.map_err(internal)?;
        return Ok(false);
    };
    let notification = notification_for(record, session, event_type, record.claims.amount, None);
    enqueue(storage, record, &notification, timing).await?;
    Ok(true)
}

fn notification_for(
    record: &PaymentRecord,
    session: &SessionRecord,
    event_type: EventType,
    amount: i64,
    refund_id: Option<String>,
) -> Notification {
    Notification {
        event_id: random_id("evt_"),
        event_type,
        shop_id: record.shop_id.clone(),
        reference: record.claims.sub.clone(),
        amount,
        currency: record.claims.currency.clone(),
        gateway: session.gateway.clone(),
        gateway_payment_id: session.gateway_payment_id.clone(),
        method: session.method.code().to_string(),
        card_brand: record.card_brand.clone(),
        card_last4: record.card_last4.clone(),
        error: record.error.clone(),
        created_at: now_secs(),
        refund_id,
    }
}

/// Writes the payment and its new notification in one storage write (no transition without its
/// notification), and sets the alarm as a safety net for the first attempt.
async fn enqueue(
    storage: &Storage,
    record: &PaymentRecord,
    notification: &Notification,
    timing: Timing,
) -> Result<(), ApiError> {
    let mut outbox = load_outbox(storage).await?;
    let now = now_millis();
    outbox.push(OutboxEntry {
        event_id: notification.event_id.clone(),
        event_type: notification.event_type,
        body: serde_json::to_string(notification).map_err(internal)?,
        notify_url: record.claims.notify_url.clone(),
        attempts: 0,
        created_at_ms: now,
        next_attempt_at_ms: Some(now),
        delivered_at_ms: None,
        last_error: None,
        failed: false,
    });
    let both = js_sys::Object::new();
    let set = |key: &str, value: wasm_bindgen::JsValue| js_sys::Reflect::set(&both, &key.into(), &value);
    set(KEY_PAYMENT, serde_wasm_bindgen::to_value(record).map_err(internal)?).map_err(|_| internal("set"))?;
    set(KEY_OUTBOX, serde_wasm_bindgen::to_value(&outbox).map_err(internal)?).map_err(|_| internal("set"))?;
    storage.put_multiple_raw(both).await.map_err(internal)?;
    set_alarm_at(storage, now + timing.retry_base_ms).await.map_err(internal)?;
    Ok(())
}

/// A back-office operation from the shop.
#[derive(Debug, Clone, Copy)]
enum Operation {
    Refund(Option<i64>),
    Capture(Option<i64>),
    Void,
}

/// Refund, capture or void through the gateway that took the payment. The gateway's answer is
/// the truth: the state changes and the shop is notified only when it says the operation went
/// through.
async fn operate(storage: &Storage, env: &Env, op: Operation, timing: Timing) -> RunResult {
    let mut record = load(storage).await?.ok_or(ApiError::PaymentNotFound)?;
    let not_allowed = |what: &str, state: PaymentState| {
        ApiError::OperationNotAllowed(format!(
            "{what} needs a {} payment; this one is {}",
            match what {
                "a capture" => "authorized",
                "a void" => "paid or authorized",
                _ => "paid",
            },
            state.as_str()
        ))
    };
    let session = record.paid_session.as_ref().and_then(|id| record.sessions.iter().find(|s| &s.id == id)).cloned();
    let what = match op {
        Operation::Refund(_) => "a refund",
        Operation::Capture(_) => "a capture",
        Operation::Void => "a void",
    };
    let (Some(session), Some(transaction_id)) = (session, record.transaction_id.clone()) else {
        return Err(not_allowed(what, record.state));
    };
    let connector = connector_of(env, &record, &session.gateway)?;
    let caps = connector.capabilities();
    let currency = money_of(&record.claims)?.currency;
    let unsupported = |what: &str| ApiError::OperationNotSupported(format!("{} cannot do {what}", connector.code()));
    let (next, event_type, amount, result) = match op {
        Operation::Refund(amount) => {
            if record.state != PaymentState::Paid {
                return Err(not_allowed(what, record.state));
            }
            let remaining = record.claims.amount - record.refunded_minor;
            let amount = amount.unwrap_or(remaining);
            if amount <= 0 {
                return Err(ApiError::InvalidRequest(
                    "the refund amount must be a positive integer of minor units".into(),
                ));
            }
            if amount > remaining {
                return Err(ApiError::RefundExceedsPayment { remaining });
            }
            if amount < remaining && !caps.partial_refund {
                return Err(unsupported("partial refunds"));
            }
            let money = Money::new(amount, currency);
            let resp = crate::http::send(
                &connector.build_refund(
                    &session.gateway_payment_id,
                    &transaction_id,
                    &money,
                    &format!("{}-refund-{}", gateway_reference(&record), record.refunded_minor),
                ),
                timing.gateway_timeout_ms,
            )
            .await
            .map_err(gateway_error)?;
            let result = connector.parse_refund(&resp, money).map_err(gateway_error)?;
            record.refunded_minor += amount;
            let next = (record.refunded_minor == record.claims.amount).then_some(PaymentState::Refunded);
            (next, EventType::RefundSucceeded, amount, result)
        }
        Operation::Capture(amount) => {
            if record.state != PaymentState::Authorized {
                return Err(not_allowed(what, record.state));
            }
            let money = Money::new(amount.unwrap_or(record.claims.amount), currency);
            let request =
                connector.build_capture(&transaction_id, Some(&money)).ok_or_else(|| unsupported("captures"))?;
            let resp = crate::http::send(&request, timing.gateway_timeout_ms).await.map_err(gateway_error)?;
            let result = connector.parse_capture(&resp, money).map_err(gateway_error)?;
            (Some(PaymentState::Paid), EventType::PaymentSucceeded, money.minor, result)
        }
        Operation::Void => {
            if !matches!(record.state, PaymentState::Paid | PaymentState::Authorized) || record.refunded_minor > 0 {
                return Err(not_allowed(what, record.state));
            }
            let request = connector.build_void(&transaction_id).ok_or_else(|| unsupported("voids"))?;
            let resp = crate::http::send(&request, timing.gateway_timeout_ms).await.map_err(gateway_error)?;
            let result =
                connector.parse_void(&resp, Money::new(record.claims.amount, currency)).map_err(gateway_error)?;
            (Some(PaymentState::Voided), EventType::PaymentVoided, record.claims.amount, result)
        }
    };
    if !result.done {
        storage.put(KEY_PAYMENT, &record).await.map_err(internal)?;
        return Ok((serde_json::json!({ "status": "pending", "id": result.id, "amount": amount }), false));
    }
    if let Some(next) = next {
        offer(&mut record, next, "shop");
    }
    let refund_id = matches!(op, Operation::Refund(_)).then(|| result.id.clone());
    let notification = notification_for(&record, &session, event_type, amount, refund_id);
    enqueue(storage, &record, &notification, timing).await?;
    Ok((
        serde_json::json!({
            "status": "succeeded",
            "id": result.id,
            "amount": amount,
            "currency": record.claims.currency,
            "refunded_total": record.refunded_minor,
            "payment_state": record.state,
            "event_id": notification.event_id,
        }),
        true,
    ))
}

async fn confirm(
    storage: &Storage,
    env: &Env,
    session_id: Option<&str>,
    gateway_payment_id: Option<&str>,
    source: &str,
    timing: Timing,
) -> Result<(SessionView, bool), ApiError> {
    let mut record = load(storage).await?.ok_or(ApiError::SessionNotFound)?;
    let session = record
        .sessions
        .iter()
        .find(|s| Some(s.id.as_str()) == session_id || Some(s.gateway_payment_id.as_str()) == gateway_payment_id)
        .cloned()
        .ok_or(ApiError::SessionNotFound)?;
    let mut created_event = false;
    if !record.state.is_terminal() {
        let observed = ask_gateway(env, &record, &session, timing.gateway_timeout_ms).await?;
        created_event = apply(storage, &mut record, &session, observed, source, timing).await?;
    }
    let outbox = load_outbox(storage).await?;
    Ok((view_of(&record, &session, &outbox), created_event))
}

/// Asks the gateway about every session of an undecided payment, newest first; closes the
/// payment as canceled once it has been undecided for longer than the expiry.
async fn reconcile(storage: &Storage, env: &Env, timing: Timing) -> Result<bool, ApiError> {
    let Some(mut record) = load(storage).await? else { return Ok(false) };
    if record.state.is_terminal() {
        record.reconcile_at_ms = None;
        storage.put(KEY_PAYMENT, &record).await.map_err(internal)?;
        return Ok(false);
    }
    let sessions: Vec<SessionRecord> = record.sessions.iter().rev().cloned().collect();
    for session in &sessions {
        match ask_gateway(env, &record, session, timing.gateway_timeout_ms).await {
            Ok(observed) => {
                if apply(storage, &mut record, session, observed, "reconciliation", timing).await? {
                    return Ok(true);
                }
            }
            Err(e) => worker::console_warn!("reconciliation of {}: {e}", session.id),
        }
    }
    let now = now_millis();
    if now - record.created_at * 1000 >= timing.expire_after_ms {
        // Nobody paid in time: close the gateway pages and tell the shop.
        for s in &sessions {
            let cancel =
                connector_of(env, &record, &s.gateway).ok().and_then(|c| c.build_cancel(&s.gateway_payment_id));
            if let Some(cancel) = cancel {
                let _ = crate::http::send(&cancel, timing.gateway_timeout_ms).await;
            }
        }
        // A page paid in the last moment wins over the expiry.
        for session in &sessions {
            if let Ok(observed) = ask_gateway(env, &record, session, timing.gateway_timeout_ms).await {
                if observed.0 == PaymentState::Paid
                    && apply(storage, &mut record, session, observed, "reconciliation", timing).await?
                {
                    return Ok(true);
                }
            }
        }
        if let Some(current) = sessions.first() {
            let expired =
                ErrorInfo { code: "expired".into(), message: "The payment was not completed in time.".into() };
            return apply(
                storage,
                &mut record,
                current,
                (PaymentState::Canceled, Some(expired), None),
                "expiry",
                timing,
            )
            .await;
        }
    }
    // Still undecided: ask again later, backing off to the retry cap.
    let waited = now - record.created_at * 1000;
    record.reconcile_at_ms = Some(now + timing.reconcile_after_ms.max(waited / 4).min(timing.retry_max_ms.max(1000)));
    storage.put(KEY_PAYMENT, &record).await.map_err(internal)?;
    Ok(false)
}

/// Sends every due outbox entry once, records the outcome, and sets the alarm for the next one.
async fn deliver_due(state: &State, env: &Env, timing: Timing) {
    let storage = state.storage();
    let outbox = match load_outbox(&storage).await {
        Ok(o) => o,
        Err(e) => {
            worker::console_error!("outbox unreadable: {e}");
            return;
        }
    };
    let now = now_millis();
    let due: Vec<OutboxEntry> =
        outbox.iter().filter(|e| e.next_attempt_at_ms.is_some_and(|t| t <= now)).cloned().collect();
    if due.is_empty() {
        return;
    }
    let Some(shop) = record_shop(&storage, env).await else { return };
    let mut results = Vec::new();
    for entry in &due {
        results.push((entry.event_id.clone(), post_notification(&shop.secret, entry, timing.notify_timeout_ms).await));
    }
    let storage2 = state.storage();
    // Apply the results under the gate so no concurrent command sees a half-written outbox.
    let _ = state
        .block_concurrency_while(async move {
            let mut outbox = load_outbox(&storage2).await.unwrap_or_default();
            let now = now_millis();
            for (event_id, result) in results {
                let Some(entry) = outbox.iter_mut().find(|e| e.event_id == event_id) else { continue };
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
                        if now - entry.created_at_ms >= timing.give_up_after_ms {
                            entry.failed = true;
                            entry.next_attempt_at_ms = None;
                        } else {
                            let delay = retry_delay_ms(timing.retry_base_ms, timing.retry_max_ms, entry.attempts);
                            entry.next_attempt_at_ms = Some(now + delay);
                        }
                    }
                }
            }
            storage2.put(KEY_OUTBOX, &outbox).await?;
            reschedule(&storage2).await;
            Ok(())
        })
        .await;
}

/// Exponential backoff with ±20 % jitter, capped: 30 s, 1 min, 2 min, … 1 h with the defaults.
pub fn retry_delay_ms(base: i64, max: i64, attempts: u32) -> i64 {
    let exp = base.saturating_mul(1i64 << attempts.saturating_sub(1).min(30));
    let capped = exp.min(max);
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
            worker::console_error!("cannot deliver for shop {}: {:?}", record.shop_id, other.err());
            None
        }
    }
}

async fn post_notification(
    secret: &bawaba_core::secret::Secret,
    entry: &OutboxEntry,
    timeout_ms: u64,
) -> Result<(), String> {
    let header = signature::sign(secret.expose().as_bytes(), now_secs(), entry.body.as_bytes());
    let headers = worker::Headers::new();
    headers.set("Content-Type", "application/json").map_err(|e| e.to_string())?;
    headers.set(signature::HEADER, &header).map_err(|e| e.to_string())?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_headers(headers).with_body(Some(wasm_bindgen::JsValue::from_str(&entry.body)));
    let req = Request::new_with_init(&entry.notify_url, &init).map_err(|e| e.to_string())?;
    let resp = crate::http::send_request_within(req, timeout_ms).await.map_err(|e| e.to_string())?;
    if (200..300).contains(&resp.status) {
        Ok(())
    } else {
        Err(format!("the shop answered HTTP {}", resp.status))
    }
}

/// The stub of the payment object `<shop id>:<reference>`.
pub fn stub_by_name(env: &Env, shop_id: &str, reference: &str) -> Result<worker::Stub, ApiError> {
    let ns = env.durable_object(BINDING).map_err(internal)?;
    ns.id_from_name(&format!("{shop_id}:{reference}")).and_then(|id| id.get_stub()).map_err(internal)
}

/// The stub of a payment object by its hex id; `SessionNotFound` for an id that is not ours.
pub fn stub_by_id(env: &Env, object_id: &str) -> Result<worker::Stub, ApiError> {
    let ns = env.durable_object(BINDING).map_err(internal)?;
    let id = ns.id_from_string(object_id).map_err(|_| ApiError::SessionNotFound)?;
    id.get_stub().map_err(internal)
}

/// Sends a command and returns the object's response as-is (errors included).
pub async fn send(stub: &worker::Stub, command: &Command) -> Result<Response, ApiError> {
    let body = serde_json::to_string(command).map_err(internal)?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_body(Some(wasm_bindgen::JsValue::from_str(&body)));
    let req = Request::new_with_init("https://payment.internal/", &init).map_err(internal)?;
    stub.fetch_with_request(req).await.map_err(internal)
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

    #[test]
    fn retries_back_off_exponentially_with_bounded_jitter() {
        for attempts in 1..=12 {
            let expected = (30_000i64 << (attempts - 1)).min(3_600_000);
            let d = retry_delay_ms(30_000, 3_600_000, attempts);
            assert!(d >= expected * 8 / 10 && d <= expected * 12 / 10, "attempt {attempts}: {d} vs {expected}");
        }
    }
}
