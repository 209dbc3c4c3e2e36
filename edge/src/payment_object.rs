//! One Durable Object per payment, named by [`object_name`] of its shop and reference: the
//! I/O shell around the pure lifecycle (`bawaba_core::lifecycle`). It loads the payment, asks
//! the lifecycle what to do, performs that I/O (gateway calls, notifications to the shop), feeds
//! the answers back, and stores the payment in one write, so a state change and its
//! notification are never apart. Every decision is in core, where it is property-tested.
//!
//! Commands run inside `blockConcurrencyWhile`, so commands on one payment never interleave: a
//! double click yields one gateway session, the return racing the webhook one transition.
//! Notifications are sent outside the gate (a slow shop must not hold a webhook) and their
//! outcome recorded under it. The alarm is always set to the lifecycle's next wake-up: the
//! next delivery attempt, the next round of asking the gateway, or the next refund check.

use crate::config;
use crate::error::{internal, response};
use crate::ledger;
use crate::util::{now_millis, set_alarm_at};
use bawaba_core::api::{ApiError, SessionView};
use bawaba_core::gateway::connector::{Connector, Start, StartInput};
use bawaba_core::gateway::{CancelOutcome, GatewayError, GatewaySession, SessionFlow, Wallet};
use bawaba_core::health::{Admission, BreakerSettings, Outcome};
use bawaba_core::lifecycle::{
    object_name, At, Begin, IdempotencyKey, MoneyOrder, NewPayment, NewSession, OperationKind, Order, Payment,
    Reference, SessionPlan, SessionRef, Settings, ShopId, Source, Task,
};
use bawaba_core::method::PaymentMethod;
use bawaba_core::money::Money;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use worker::{durable_object, DurableObject, Env, Method, Request, RequestInit, Response, State, Storage};

/// Binding name in wrangler.toml.
pub const BINDING: &str = "PAYMENTS";

const KEY_PAYMENT: &str = "payment";

/// Rounds of gateway work per wake-up (each round's answers can make new work, e.g. a second
/// charge found → its refund).
const TASK_ROUNDS: usize = 3;

/// Notifications sent per wake-up, in order.
const DELIVERIES_PER_WAKE: usize = 20;

/// Commands the worker (and the cron) send to a payment object. Only typed, verified values
/// cross: the worker has checked the intent or the shop's signature before.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
// A command is built once and serialized to the object at once: its size in memory is of no weight.
#[allow(clippy::large_enum_variant)]
pub enum Command {
    /// Start (or reuse) a gateway session for a verified intent and method.
    StartSession {
        /// Shop.
        shop: ShopId,
        /// The shop's reference.
        reference: Reference,
        /// Amount.
        money: Money,
        /// URLs and customer.
        order: Order,
        /// Chosen method.
        method: PaymentMethod,
        /// Page language.
        locale: String,
        /// This edge's origin (for return and webhook URLs).
        edge_origin: String,
        /// The shopper's address, counted by the session limiter if a new session starts.
        client: String,
        /// What the shopper gave the widget for a payment made in the page: used for the one
        /// call that starts it, never stored.
        #[serde(default)]
        wallet: Option<Wallet>,
    },
    /// Send the shopper's one-time code (STC Pay) for a session waiting for one, then ask the
    /// gateway how the payment ended.
    SubmitOtp {
        /// Session id.
        session_id: String,
        /// The code, 4 to 8 ASCII digits (checked by the worker).
        code: String,
    },
    /// Read a session.
    GetSession {
        /// Session id.
        session_id: String,
    },
    /// Ask the gateway for the truth about a session and apply it (a return).
    Confirm {
        /// Session id.
        session_id: String,
        /// What reported it.
        source: Source,
    },
    /// Same as `Confirm`, found by the gateway's payment id (webhooks carry no session id).
    ConfirmGatewayPayment {
        /// The gateway's payment id.
        gateway_payment_id: String,
        /// What reported it.
        source: Source,
    },
    /// Ask the gateway about every session of this payment at `gateway` (a webhook that names
    /// only our reference, not the session).
    ConfirmAtGateway {
        /// Gateway code.
        gateway: String,
        /// What reported it.
        source: Source,
    },
    /// Deliver what is due and do the gateway work that is due (the cron's sweep).
    Wake,
    /// Full record, for the operator and the tests.
    Inspect,
    /// Refund `amount` minor units (or the remainder) under the shop's key.
    Refund {
        /// The shop's `Idempotency-Key`.
        key: IdempotencyKey,
        /// Digest of the signed call (route and body).
        digest: String,
        /// Minor units; `None` for the remainder.
        amount: Option<i64>,
    },
    /// Capture an authorized payment.
    Capture {
        /// The shop's key.
        key: IdempotencyKey,
        /// Digest of the call.
        digest: String,
        /// Minor units; `None` for all.
        amount: Option<i64>,
    },
    /// Void an authorization (or a payment before settlement, where the gateway allows it).
    Void {
        /// The shop's key.
        key: IdempotencyKey,
        /// Digest of the call.
        digest: String,
    },
}

/// What `Inspect` returns.
#[derive(Debug, Serialize, Deserialize)]
pub struct Inspection {
    /// The payment, if any.
    pub payment: Option<Payment>,
    /// Its outbox (also inside the payment; kept at the top level for the operator).
    pub outbox: Vec<bawaba_core::lifecycle::OutboxEntry>,
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
        let outcome = match req.json::<Command>().await {
            Ok(command) => {
                let result = self.gated(command).await;
                // A new event is stored; this first attempt saves the shop a wait.
                self.deliver_due().await;
                self.after_command().await;
                result
            }
            Err(e) => Err(ApiError::Internal(format!("bad command: {e}"))),
        };
        Ok(reply(&outcome))
    }

    async fn alarm(&self) -> worker::Result<Response> {
        self.deliver_due().await;
        if let Err(e) = self.gated(Command::Wake).await {
            worker::console_error!("payment alarm: {e}");
        }
        self.deliver_due().await;
        self.after_command().await;
        Response::ok("ok")
    }
}

/// The JSON a payment object answers: the command's value, or its error.
fn reply(outcome: &Result<serde_json::Value, ApiError>) -> Response {
    match serde_json::to_string(outcome) {
        Ok(body) => match Response::ok(body) {
            Ok(mut r) => {
                let _ = r.headers_mut().set("Content-Type", "application/json");
                r
            }
            Err(e) => response(&internal(e)),
        },
        Err(e) => response(&internal(e)),
    }
}

/// Reads the lifecycle's timing; a malformed setting keeps its default and is logged.
pub fn settings(env: &Env) -> Settings {
    let (settings, warnings) = Settings::read(|name| config::setting(env, name));
    for w in warnings {
        worker::console_warn!("{w}");
    }
    settings
}

impl PaymentObject {
    fn at(&self) -> At {
        At { now_ms: now_millis(), settings: settings(&self.env) }
    }

    async fn gated(&self, command: Command) -> Result<serde_json::Value, ApiError> {
        let storage = self.state.storage();
        let env = self.env.clone();
        let object_id = self.state.id().to_string();
        let at = self.at();
        self.state
            .block_concurrency_while(async move { Ok(run(&storage, &env, &object_id, command, at).await) })
            .await
            .map_err(internal)?
    }

    /// Sends the due notifications, oldest first: each is taken under the gate (so two
    /// concurrent wake-ups never send it twice), sent outside it (a slow shop must not hold a
    /// webhook), and its outcome recorded under it.
    async fn deliver_due(&self) {
        for _ in 0..DELIVERIES_PER_WAKE {
            let storage = self.state.storage();
            let at = self.at();
            let taken = self
                .state
                .block_concurrency_while(async move {
                    let Some(mut p) = load(&storage).await.ok().flatten() else { return Ok(None) };
                    let Some(entry) = p.start_delivery(&at) else { return Ok(None) };
                    store(&storage, &p).await.map_err(|e| worker::Error::RustError(e.to_string()))?;
                    Ok(Some((p.shop.clone(), p.order.notify_url.clone(), entry)))
                })
                .await;
            let Ok(Some((shop_id, notify_url, entry))) = taken else { return };
            let result = match config::shop(&self.env, shop_id.as_str()) {
                Ok(Some(shop)) => post_notification(&shop, &notify_url, &entry.body, at.settings).await,
                Ok(None) => Err(format!("shop {shop_id} is no longer in BAWABA_SHOPS")),
                Err(e) => Err(e.to_string()),
            };
            let delivered = result.is_ok();
            let storage = self.state.storage();
            let at = self.at();
            let event_id = entry.event_id.clone();
            let recorded = self
                .state
                .block_concurrency_while(async move {
                    if let Ok(Some(mut p)) = load(&storage).await {
                        p.delivery_result(&event_id, result, &at);
                        store(&storage, &p).await.map_err(|e| worker::Error::RustError(e.to_string()))?;
                    }
                    Ok(())
                })
                .await;
            if recorded.is_err() || !delivered {
                return;
            }
        }
    }

    /// Tells the shop's ledger where the payment stands and sets the alarm to its next wake.
    /// The alarm is set whatever happens: a payment that cannot be read is looked at again in
    /// a minute rather than never.
    async fn after_command(&self) {
        let storage = self.state.storage();
        let payment = match load(&storage).await {
            Ok(p) => p,
            Err(e) => {
                worker::console_error!("payment unreadable, retrying in 60 s: {e}");
                let _ = set_alarm_at(&storage, now_millis() + 60_000).await;
                return;
            }
        };
        let Some(payment) = payment else { return };
        let next = payment.next_wake_ms();
        let alarm = match next {
            Some(t) => set_alarm_at(&storage, t.max(now_millis())).await,
            None => storage.delete_alarm().await,
        };
        if let Err(e) = alarm {
            worker::console_error!("cannot set the payment's alarm: {e}");
        }
        let entry = ledger::Entry {
            reference: payment.reference.to_string(),
            object_id: self.state.id().to_string(),
            state: payment.state,
            updated_at_ms: now_millis(),
            wake_at_ms: next,
            delivery: payment.delivery_summary(),
            notify_url: Some(payment.order.notify_url.clone()),
        };
        if let Err(e) = ledger::upsert(&self.env, payment.shop.as_str(), &entry).await {
            worker::console_error!("ledger update for {}:{} failed: {e}", payment.shop, payment.reference);
        }
        // The stats are written after the answer, never in its way (crate::stats).
        let (env, storage, now) = (self.env.clone(), self.state.storage(), now_millis());
        self.state.wait_until(async move { crate::stats::record_attempts(&env, &storage, &payment, now).await });
    }
}

async fn load(storage: &Storage) -> Result<Option<Payment>, ApiError> {
    let raw: Option<String> = storage.get(KEY_PAYMENT).await.map_err(internal)?;
    raw.map(|text| serde_json::from_str(&text).map_err(internal)).transpose()
}

/// The payment is one JSON string: one write holds the state and its notifications.
async fn store(storage: &Storage, payment: &Payment) -> Result<(), ApiError> {
    let text = serde_json::to_string(payment).map_err(internal)?;
    storage.put(KEY_PAYMENT, text).await.map_err(internal)
}

fn to_value<T: Serialize>(v: &T) -> Result<serde_json::Value, ApiError> {
    serde_json::to_value(v).map_err(internal)
}

async fn run(
    storage: &Storage,
    env: &Env,
    object_id: &str,
    command: Command,
    at: At,
) -> Result<serde_json::Value, ApiError> {
    match command {
        Command::StartSession { shop, reference, money, order, method, locale, edge_origin, client, wallet } => {
            let new = NewPayment { shop, reference, money, order, edge_origin, seed: random_seed() };
            let shopper = Shopper { method, locale: &locale, client: &client, wallet: wallet.as_ref() };
            let view = start_session(storage, env, object_id, new, shopper, &at).await?;
            to_value(&view)
        }
        Command::SubmitOtp { session_id, code } => {
            let mut payment = load(storage).await?.ok_or(ApiError::SessionNotFound)?;
            let view = submit_otp(storage, env, &mut payment, &session_id, &code, &at).await?;
            to_value(&view)
        }
        Command::GetSession { session_id } => {
            let payment = load(storage).await?.ok_or(ApiError::SessionNotFound)?;
            to_value(&payment.session_view(&session_id)?)
        }
        Command::Confirm { session_id, source } => {
            let mut payment = load(storage).await?.ok_or(ApiError::SessionNotFound)?;
            let view = confirm(storage, env, &mut payment, &session_id, source, &at).await?;
            to_value(&view)
        }
        Command::ConfirmGatewayPayment { gateway_payment_id, source } => {
            let mut payment = load(storage).await?.ok_or(ApiError::SessionNotFound)?;
            let session_id =
                payment.session_by_gateway_id(&gateway_payment_id).ok_or(ApiError::SessionNotFound)?.id.clone();
            let view = confirm(storage, env, &mut payment, &session_id, source, &at).await?;
            to_value(&view)
        }
        Command::ConfirmAtGateway { gateway, source } => {
            let mut payment = load(storage).await?.ok_or(ApiError::PaymentNotFound)?;
            let sessions: Vec<SessionRef> =
                payment.sessions.iter().filter(|s| s.gateway == gateway).map(|s| s.to_ref()).collect();
            if sessions.is_empty() {
                return Err(ApiError::SessionNotFound);
            }
            for s in &sessions {
                ask(env, &mut payment, s, source, &at).await;
            }
            work(storage, env, &mut payment, &at).await?;
            Ok(serde_json::json!({ "asked": sessions.len() }))
        }
        Command::Wake => {
            if let Some(mut payment) = load(storage).await? {
                work(storage, env, &mut payment, &at).await?;
            }
            Ok(serde_json::json!({ "woke": true }))
        }
        Command::Inspect => {
            let payment = load(storage).await?;
            let outbox = payment.as_ref().map(|p| p.outbox.clone()).unwrap_or_default();
            let mut value = to_value(&Inspection { payment, outbox })?;
            // The seed derives event and refund ids: it stays inside the edge.
            if let Some(p) = value.get_mut("payment").and_then(|p| p.as_object_mut()) {
                p.remove("seed");
            }
            Ok(value)
        }
        Command::Refund { key, digest, amount } => refund(storage, env, key, &digest, amount, &at).await,
        Command::Capture { key, digest, amount } => {
            operate(storage, env, OperationKind::Capture, key, &digest, amount, &at).await
        }
        Command::Void { key, digest } => operate(storage, env, OperationKind::Void, key, &digest, None, &at).await,
    }
}

fn random_seed() -> [u8; 16] {
    let mut seed = [0u8; 16];
    getrandom::getrandom(&mut seed).expect("crypto.getRandomValues is available in workers");
    seed
}

fn connector(env: &Env, payment: &Payment, gateway: &str) -> Result<Connector, ApiError> {
    config::connector(env, gateway, &payment.edge_origin)
}

fn gateway_error(e: GatewayError) -> ApiError {
    match e {
        GatewayError::Unreachable(why) => ApiError::GatewayUnavailable(why),
        other => ApiError::GatewayRejected(other.to_string()),
    }
}

/// Fetches a session's payment: the fetch, then the settling request the gateway asks for
/// before its answer is the truth (PayPal captures an approved order).
async fn fetch(
    env: &Env,
    gateway: &Connector,
    s: &SessionRef,
    at: &At,
) -> Result<bawaba_core::gateway::HttpResponse, GatewayError> {
    let gateway_payment_id = s.gateway_payment_id.as_str();
    let request =
        if s.direct { gateway.build_fetch_direct(gateway_payment_id) } else { gateway.build_fetch(gateway_payment_id) };
    let fetched = send(env, gateway, &request, at).await?;
    match gateway.build_settle(gateway_payment_id, &fetched) {
        Some(settle) => send(env, gateway, &settle, at).await,
        None => Ok(fetched),
    }
}

/// Sends a request `gateway` built (with its token, where it needs one).
async fn send(
    env: &Env,
    gateway: &Connector,
    request: &bawaba_core::gateway::HttpRequest,
    at: &At,
) -> Result<bawaba_core::gateway::HttpResponse, GatewayError> {
    crate::http::call(env, gateway.as_ref(), request.clone(), at.settings.gateway_timeout_ms.max(1) as u64).await
}

/// What the shopper asked for when starting a session.
struct Shopper<'a> {
    method: PaymentMethod,
    locale: &'a str,
    /// What they gave for a payment made in the page.
    wallet: Option<&'a Wallet>,
    /// Their address, for the session limiter.
    client: &'a str,
}

async fn start_session(
    storage: &Storage,
    env: &Env,
    object_id: &str,
    new: NewPayment,
    shopper: Shopper<'_>,
    at: &At,
) -> Result<SessionView, ApiError> {
    let Shopper { method, locale, client, wallet } = shopper;
    let mut payment = match load(storage).await? {
        Some(p) => {
            p.check_same_order(&new.money, &new.order)?;
            p
        }
        None => Payment::new(new, at),
    };
    let n = match payment.plan_session(method, wallet.is_some(), at)? {
        SessionPlan::Reuse(id) => return payment.session_view(&id),
        SessionPlan::Start { session_id } => session_id,
    };
    // Only a session that will really start is counted (a reused page costs the gateway nothing).
    let mobile = match wallet {
        Some(Wallet::Stcpay { mobile }) => Some(mobile.as_str()),
        _ => None,
    };
    crate::limiter::admit(env, &payment.shop, client, mobile).await?;
    let currency = payment.money.currency.code().to_string();
    let shop = config::shop(env, payment.shop.as_str())?
        .ok_or_else(|| ApiError::Misconfigured(format!("shop {} is no longer in BAWABA_SHOPS", payment.shop)))?;
    let mut gateways = config::gateways_for(env, method, &currency, shop.mode, &payment.edge_origin)?;
    if let Some(wallet) = wallet {
        // What the shopper gave is for a gateway that takes it in the page: only those are
        // tried. An Apple Pay token is encrypted for one gateway's merchant: only the first.
        let flow = match wallet {
            Wallet::Stcpay { .. } => bawaba_core::gateway::MethodFlow::Otp,
            Wallet::Applepay { .. } => bawaba_core::gateway::MethodFlow::Applepay,
        };
        let mut in_page = Vec::new();
        for g in gateways {
            if connector(env, &payment, g)?.flow(method) == flow {
                in_page.push(g);
            }
        }
        if matches!(wallet, Wallet::Applepay { .. }) {
            in_page.truncate(1);
        }
        gateways = in_page;
    }
    if gateways.is_empty() {
        return Err(ApiError::MethodNotAllowed(method.code().to_string()));
    }
    let id = session_id(object_id, &n);
    let reference = payment.gateway_reference();
    let description = format!("{} {}", payment.shop, payment.reference);
    // The gateway's own page closes when the payment expires here, where it can (Moyasar).
    let expires_at = Some(payment.created_at_ms.saturating_add(at.settings.expire_after_ms) / 1000);
    // The first gateway that answers takes the session; the next ones are fallbacks for an
    // outage (unreachable, 5xx, timeout). A refusal is an answer: it does not move on, so a
    // wrong key or bad data is reported, not hidden behind another gateway.
    let mut outage = None;
    let mut skipped = None;
    let mut started = None;
    let breaker = breaker_settings(env, at);
    for gateway in gateways {
        // A gateway whose breaker is open is skipped at once: the shopper does not wait for
        // its timeout (bawaba_core::health). Only here, before any charge exists.
        if let Admission::Skip { until_ms } = crate::gateway_index::admit(env, gateway, now_millis(), breaker).await {
            worker::console_warn!("gateway {gateway} is degraded: {} starts at the next one", payment.reference);
            skipped = Some((gateway, until_ms));
            continue;
        }
        let connector = connector(env, &payment, gateway)?;
        let return_url = format!("{}/v1/return/{gateway}/{id}", payment.edge_origin);
        let webhook_url = format!("{}/v1/webhooks/{gateway}", payment.edge_origin);
        let session_key = crate::util::random_id("");
        let input = StartInput {
            reference: &reference,
            money: payment.money,
            method,
            return_url: &return_url,
            webhook_url: &webhook_url,
            locale,
            customer_name: payment.order.customer_name.as_deref(),
            description: &description,
            customer_email: payment.order.customer_email.as_deref(),
            session_key: &session_key,
            expires_at,
            now: Some(at.now_ms / 1000),
            wallet,
        };
        let mut latency_ms = None;
        let attempt = match prepare(env, &connector, &input, at).await {
            Ok(Start::Ready(session)) => Ok(session),
            Ok(Start::Prepare(_)) => Err(GatewayError::InvalidResponse(format!("{gateway} prepares without end"))),
            Ok(Start::Call(request)) => {
                let sent_at = now_millis();
                let attempt = match send(env, &connector, &request, at).await {
                    Ok(resp) => connector.parse_start_for(&input, &resp),
                    Err(e) => Err(e),
                };
                let outage = matches!(&attempt, Err(e) if e.is_outage());
                let outcome = Outcome { at_ms: now_millis(), latency_ms: now_millis() - sent_at, outage };
                latency_ms = Some(outcome.latency_ms);
                if let Some(t) = crate::gateway_index::record(env, gateway, outcome, breaker).await {
                    worker::console_warn!("gateway {gateway}: {t:?}");
                    tell_shops(env, gateway, t).await;
                }
                match (attempt, connector.charge_id_before_call(&input)) {
                    // No answer, or one that cannot be believed (not authentic, another amount):
                    // the call may have charged. Kept as a session the gateway is asked about
                    // (now, and by the reconciliation), never tried elsewhere or forgotten. Only
                    // a refusal says nothing was charged.
                    (Err(e), Some(id)) if !matches!(e, GatewayError::Rejected { .. }) => {
                        worker::console_warn!(
                            "{gateway} may have charged {} ({e}): asking it as {id}",
                            payment.reference
                        );
                        Ok(GatewaySession { id, redirect_url: String::new(), form: None, flow: SessionFlow::Direct })
                    }
                    (attempt, _) => attempt,
                }
            }
            Err(e) => Err(e),
        };
        match attempt {
            Ok(session) => {
                started = Some((gateway, session, latency_ms, return_url));
                break;
            }
            Err(e) if e.is_outage() => {
                worker::console_warn!(
                    "gateway {gateway} unreachable for {}: {e}; trying the next one",
                    payment.reference
                );
                outage = Some(e);
            }
            Err(refused) => return Err(gateway_error(refused)),
        }
    }
    let Some((gateway, session, start_latency_ms, return_url)) = started else {
        if let (None, Some((gateway, until_ms))) = (&outage, skipped) {
            let secs = ((until_ms - now_millis()).max(0) + 999) / 1000;
            return Err(ApiError::GatewayUnavailable(format!(
                "{gateway} is failing and no other gateway serves {}; it is tried again in {secs} s",
                method.code()
            )));
        }
        return Err(gateway_error(outage.unwrap_or(GatewayError::Unreachable("no gateway".into()))));
    };
    crate::gateway_index::put(env, gateway, &session.id, object_id).await?;
    let direct = session.flow == SessionFlow::Direct;
    let new_session = NewSession {
        gateway: gateway.to_string(),
        method,
        gateway_payment_id: session.id,
        // A payment made in the page goes on at the edge's return route, as a hosted page would.
        redirect_url: if session.flow.is_direct() { return_url } else { session.redirect_url },
        form_fields: session.form,
        flow: session.flow,
        start_latency_ms,
    };
    let to_close = payment.add_session(id.clone(), new_session, at);
    store(storage, &payment).await?;
    // A different method supersedes the open session rather than running two charges side by
    // side: its page is closed at the gateway where the gateway allows it. If an old tab pays
    // it anyway, the charge counts (and a second charge is refunded): see the lifecycle.
    if !to_close.is_empty() {
        for s in &to_close {
            close(env, &mut payment, s, at).await;
        }
        store(storage, &payment).await?;
    }
    if direct {
        // Charged (or refused) already: the gateway's record is the answer the widget shows.
        return confirm(storage, env, &mut payment, &id, Source::Session, at).await;
    }
    payment.session_view(&id)
}

/// What starts the session: [`Connector::build_start`], after the preparing steps it asks for
/// ([`Start::Prepare`]: Tap's Apple Pay token exchange), at most two, each sent once. None
/// charges, so an outage there is one like any other and the next gateway is tried.
async fn prepare(env: &Env, connector: &Connector, input: &StartInput<'_>, at: &At) -> Result<Start, GatewayError> {
    let mut start = connector.build_start(input)?;
    for _ in 0..2 {
        let Start::Prepare(request) = &start else { break };
        let resp = send(env, connector, request, at).await?;
        start = connector.continue_start(input, &resp)?;
    }
    Ok(start)
}

/// Sends a one-time code for a session waiting for one, then asks the gateway how the payment
/// stands (the code's answer is only a hint, like a return). The attempt is stored before the
/// code is sent, so a lost answer still counts against the limit.
async fn submit_otp(
    storage: &Storage,
    env: &Env,
    payment: &mut Payment,
    session_id: &str,
    code: &str,
    at: &At,
) -> Result<SessionView, ApiError> {
    let url = payment.accept_otp(session_id)?;
    store(storage, payment).await?;
    let s = payment.sessions.iter().find(|s| s.id == session_id).ok_or(ApiError::SessionNotFound)?.to_ref();
    let c = connector(env, payment, &s.gateway)?;
    let request = c.build_otp(&url, code).ok_or(ApiError::OtpNotExpected)?;
    let sent = match send(env, &c, &request, at).await {
        Ok(resp) => c.parse_otp(&resp),
        Err(e) => Err(e),
    };
    if let Err(e) = &sent {
        worker::console_warn!("one-time code for {session_id} at {}: {e}", s.gateway);
    }
    ask(env, payment, &s, Source::Session, at).await;
    work(storage, env, payment, at).await?;
    match sent {
        // Unreachable: the code may or may not have arrived; the session says where it stands
        // (still waiting: the shopper may send it again).
        Ok(()) | Err(GatewayError::Unreachable(_)) => payment.session_view(session_id),
        Err(e) => {
            let view = payment.session_view(session_id)?;
            if view.next_action == bawaba_core::api::NextAction::Otp {
                // Refused and still waiting: say why (a code the gateway would not take).
                return Err(gateway_error(e));
            }
            Ok(view)
        }
    }
}

/// Tells every registered shop that `gateway` degraded or recovered (each shop's ledger queues
/// and delivers it). Never fails the payment that noticed it.
async fn tell_shops(env: &Env, gateway: &str, transition: bawaba_core::health::Transition) {
    for shop in config::shops(env).unwrap_or_default() {
        if let Err(e) = ledger::gateway_event(env, &shop.id, gateway, transition).await {
            worker::console_error!("cannot tell {} that {gateway} {transition:?}: {e}", shop.id);
        }
    }
}

/// The circuit breaker's settings (a malformed one keeps its default and is logged).
pub fn breaker_settings(env: &Env, at: &At) -> BreakerSettings {
    let (settings, warnings) = BreakerSettings::read(|name| config::setting(env, name), at.settings.gateway_timeout_ms);
    for w in warnings {
        worker::console_warn!("{w}");
    }
    settings
}

/// Session ids are `ps_<object id>_<n>`, so the worker can find the object from the id alone.
pub fn session_id(object_id: &str, n: &str) -> String {
    format!("ps_{object_id}_{n}")
}

/// Splits a session id into the object id, or `None` if it is not one of ours.
pub fn object_id_of(session_id: &str) -> Option<&str> {
    let rest = session_id.strip_prefix("ps_")?;
    let (object, n) = rest.rsplit_once('_')?;
    let valid = object.len() == 64 && object.bytes().all(|b| b.is_ascii_hexdigit()) && n.parse::<u32>().is_ok();
    valid.then_some(object)
}

/// Asks the gateway about one session (a return or a webhook), applies it, does whatever that
/// made due (e.g. refunding a second charge), stores.
async fn confirm(
    storage: &Storage,
    env: &Env,
    payment: &mut Payment,
    session_id: &str,
    source: Source,
    at: &At,
) -> Result<SessionView, ApiError> {
    let session = payment.sessions.iter().find(|s| s.id == session_id).ok_or(ApiError::SessionNotFound)?;
    if source == Source::Return && !payment.return_asks_gateway(session_id, at) {
        // Asked a moment ago: a reload or a replayed return costs the gateway nothing.
        return payment.session_view(session_id);
    }
    // Asked even about a page the gateway said was closed: what the gateway says now is the
    // truth, and a charge it confirms must never be missed.
    let s = session.to_ref();
    ask(env, payment, &s, source, at).await;
    work(storage, env, payment, at).await?;
    payment.session_view(session_id)
}

/// Asks the gateway for a session's payment and hands the answer to the lifecycle.
async fn ask(env: &Env, payment: &mut Payment, s: &SessionRef, source: Source, at: &At) {
    let answer = match connector(env, payment, &s.gateway) {
        Ok(c) => {
            let expected = c.expected_reference(&payment.gateway_reference(), &s.gateway_payment_id);
            let fetched = match fetch(env, &c, s, at).await {
                Ok(resp) if s.direct => c.parse_fetch_direct(&resp, &payment.money),
                Ok(resp) => c.parse_fetch(&resp, &payment.money),
                Err(e) => Err(e),
            };
            Some((fetched, expected))
        }
        Err(e) => {
            worker::console_error!("cannot ask {} about {}: {e}", s.gateway, s.session_id);
            None
        }
    };
    if let Some((fetched, expected)) = answer {
        payment.observe(&s.session_id, fetched, &expected, source, at);
    }
}

async fn close(env: &Env, payment: &mut Payment, s: &SessionRef, at: &At) {
    let outcome = match connector(env, payment, &s.gateway) {
        Ok(c) => match c.build_cancel(&s.gateway_payment_id) {
            None => format!("{} has no call to close a page", s.gateway),
            Some(request) => match send(env, &c, &request, at).await {
                Ok(resp) => match c.parse_cancel(&resp) {
                    CancelOutcome::Closed => "closed".to_string(),
                    CancelOutcome::AlreadyFinal => "already final".to_string(),
                    CancelOutcome::Refused(why) => format!("refused: {why}"),
                    CancelOutcome::Unreachable(why) => format!("unreachable: {why}"),
                },
                Err(e) => format!("unreachable: {e}"),
            },
        },
        Err(e) => format!("not configured: {e}"),
    };
    payment.close_attempted(&s.session_id, &outcome);
}

/// Does the gateway work the lifecycle says is due, in rounds, then lets time decide (expiry),
/// storing before each round's I/O (so a refund marked in flight is never sent twice) and at
/// the end.
async fn work(storage: &Storage, env: &Env, payment: &mut Payment, at: &At) -> Result<(), ApiError> {
    for _ in 0..TASK_ROUNDS {
        let tasks = payment.due_tasks(at);
        if tasks.is_empty() {
            break;
        }
        store(storage, payment).await?;
        for task in tasks {
            perform(env, payment, task, at).await;
        }
    }
    payment.settle(at);
    store(storage, payment).await
}

async fn perform(env: &Env, payment: &mut Payment, task: Task, at: &At) {
    match task {
        Task::Ask(s) => ask(env, payment, &s, Source::Reconciliation, at).await,
        Task::Close(s) => close(env, payment, &s, at).await,
        Task::Refund(order) => {
            let Some(refund_id) = order.refund_id.clone() else { return };
            let result = send_refund(env, payment, &order, at).await;
            payment.refund_answered(&refund_id, result, Source::Edge, at);
        }
        Task::CheckRefund { refund_id, gateway, gateway_refund_id, money } => {
            let result = match connector(env, payment, &gateway) {
                Ok(c) => match c.build_refund_status(&gateway_refund_id) {
                    Some(request) => match send(env, &c, &request, at).await {
                        Ok(resp) => c.parse_refund_status(&resp, money),
                        Err(e) => Err(e),
                    },
                    None => Err(GatewayError::Unreachable(format!("{gateway} has no refund status call"))),
                },
                Err(e) => Err(GatewayError::Unreachable(e.to_string())),
            };
            payment.refund_answered(&refund_id, result, Source::Reconciliation, at);
        }
    }
}

async fn send_refund(
    env: &Env,
    payment: &Payment,
    order: &MoneyOrder,
    at: &At,
) -> Result<bawaba_core::gateway::OperationResult, GatewayError> {
    let c = connector(env, payment, &order.gateway).map_err(|e| GatewayError::Unreachable(e.to_string()))?;
    let reference = order.refund_id.clone().unwrap_or_default();
    let request = c.build_refund(&order.gateway_payment_id, &order.transaction_id, &order.money, &reference);
    let resp = send(env, &c, &request, at).await?;
    c.parse_refund(&resp, order.money)
}

/// A refund from the shop: reserved and stored before it is sent, answered once, replayed for
/// the same key.
async fn refund(
    storage: &Storage,
    env: &Env,
    key: IdempotencyKey,
    digest: &str,
    amount: Option<i64>,
    at: &At,
) -> Result<serde_json::Value, ApiError> {
    let mut payment = load(storage).await?.ok_or(ApiError::PaymentNotFound)?;
    let gateway = payment
        .charge()
        .and_then(|c| payment.sessions.iter().find(|s| s.id == c.session_id))
        .map(|s| s.gateway.clone());
    let partial = gateway
        .as_deref()
        .and_then(bawaba_core::gateway::connector::capabilities_of)
        .is_some_and(|caps| caps.partial_refund);
    match payment.request_refund(key.clone(), digest, amount, partial, at)? {
        Begin::Replay(answer) => answer,
        Begin::Send(order) => {
            store(storage, &payment).await?;
            let result = send_refund(env, &payment, &order, at).await;
            let answer = payment.operation_answered(&key, result, at);
            store(storage, &payment).await?;
            answer
        }
    }
}

/// A capture or a void from the shop, through the gateway that took the payment.
async fn operate(
    storage: &Storage,
    env: &Env,
    kind: OperationKind,
    key: IdempotencyKey,
    digest: &str,
    amount: Option<i64>,
    at: &At,
) -> Result<serde_json::Value, ApiError> {
    let mut payment = load(storage).await?.ok_or(ApiError::PaymentNotFound)?;
    // What the gateway can do decides what is offered: its capabilities, read before anything
    // is recorded.
    let gateway = payment.charge().and_then(|c| payment.sessions.iter().find(|s| s.id == c.session_id));
    if let Some(caps) = gateway.and_then(|s| bawaba_core::gateway::connector::capabilities_of(&s.gateway)) {
        use bawaba_core::payment::PaymentState;
        let (able, what, applies) = match kind {
            OperationKind::Capture => (caps.capture, "captures", payment.state == PaymentState::Authorized),
            _ => (caps.void, "voids", matches!(payment.state, PaymentState::Paid | PaymentState::Authorized)),
        };
        let code = gateway.map(|s| s.gateway.clone()).unwrap_or_default();
        if !able && applies {
            return Err(ApiError::OperationNotSupported(format!("{code} cannot do {what}")));
        }
    }
    let order = match payment.request_operation(kind, key.clone(), digest, amount)? {
        Begin::Replay(answer) => return answer,
        Begin::Send(order) => order,
    };
    let c = connector(env, &payment, &order.gateway)?;
    let (request, what) = match kind {
        OperationKind::Capture => (c.build_capture(&order.transaction_id, Some(&order.money)), "captures"),
        _ => (c.build_void(&order.transaction_id), "voids"),
    };
    let Some(request) = request else {
        // Nothing was sent: the key may be used again once the gateway can do it.
        payment.abandon_operation(&key);
        return Err(ApiError::OperationNotSupported(format!("{} cannot do {what}", c.code())));
    };
    store(storage, &payment).await?;
    let result = match send(env, &c, &request, at).await {
        Ok(resp) => match kind {
            OperationKind::Capture => c.parse_capture(&resp, order.money),
            _ => c.parse_void(&resp, order.money),
        },
        Err(e) => Err(e),
    };
    let answer = payment.operation_answered(&key, result, at);
    store(storage, &payment).await?;
    answer
}

async fn post_notification(
    shop: &crate::config::Shop,
    notify_url: &str,
    body: &str,
    settings: Settings,
) -> Result<(), String> {
    crate::http::post_to_shop(shop, notify_url, body, settings.notify_timeout_ms.max(1) as u64).await
}

/// The stub of the payment object of `(shop, reference)`.
pub fn stub_by_name(env: &Env, shop: &ShopId, reference: &Reference) -> Result<worker::Stub, ApiError> {
    let ns = env.durable_object(BINDING).map_err(internal)?;
    ns.id_from_name(&object_name(shop, reference)).and_then(|id| id.get_stub()).map_err(internal)
}

/// The stub of a payment object by its hex id; `SessionNotFound` for an id that is not ours.
pub fn stub_by_id(env: &Env, object_id: &str) -> Result<worker::Stub, ApiError> {
    let ns = env.durable_object(BINDING).map_err(internal)?;
    let id = ns.id_from_string(object_id).map_err(|_| ApiError::SessionNotFound)?;
    id.get_stub().map_err(internal)
}

/// The one client of payment objects: sends a command, returns its value or its error.
pub async fn call<T: DeserializeOwned>(stub: &worker::Stub, command: &Command) -> Result<T, ApiError> {
    let body = serde_json::to_string(command).map_err(internal)?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_body(Some(wasm_bindgen::JsValue::from_str(&body)));
    let req = Request::new_with_init("https://payment.internal/", &init).map_err(internal)?;
    let mut resp = stub.fetch_with_request(req).await.map_err(internal)?;
    let text = resp.text().await.map_err(internal)?;
    let outcome: Result<serde_json::Value, ApiError> = serde_json::from_str(&text)
        .map_err(|e| ApiError::Internal(format!("payment object answered {text:?}: {e}")))?;
    serde_json::from_value(outcome?).map_err(internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_round_trip() {
        let oid = "a".repeat(64);
        assert_eq!(object_id_of(&session_id(&oid, "3")), Some(oid.as_str()));
        assert_eq!(object_id_of("ps_xyz_1"), None);
        assert_eq!(object_id_of("nope"), None);
        assert_eq!(object_id_of(&format!("ps_{}_x", "a".repeat(64))), None);
    }
}
