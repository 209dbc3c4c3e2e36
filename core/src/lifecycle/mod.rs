//! The payment lifecycle, sans-IO: the payment record with its gateway sessions, charges,
//! refunds and outbox, and every decision about it. Time comes in as [`At`], randomness as the
//! seed given at creation; nothing here sends, stores or reads a clock. The edge's Durable
//! Object loads the record, asks it what to do, performs that I/O, feeds the answers back, and
//! stores the record (one storage write, so a state change and its notification are never
//! apart).
//!
//! # Invariants
//!
//! Proven by the property tests in `core/tests/lifecycle.rs` over random interleavings:
//!
//! 1. **Every confirmed charge reaches the shop.** A charge the gateway confirms makes the
//!    payment paid (or authorized) whatever the local state was (expired, canceled,
//!    superseded, failed) and notifies the shop. A second confirmed charge for one reference is
//!    refunded in full by the edge and reported (`payment.duplicate_refunded`, or
//!    `payment.duplicate_detected` when it cannot be refunded).
//! 2. **One state change, one event**; an event keeps its `event_id` through retries and
//!    restarts (event ids derive from the payment's seed and a counter).
//! 3. **Refunded ≤ captured**, per charge, at every step; refunds in flight or pending are
//!    reserved, so two concurrent refunds cannot exceed it either. A refund is final only when
//!    the gateway says so.
//! 4. **Canceled only when closed**: an expired payment is canceled only when the gateway
//!    confirmed every session closed (or never opened); "pending" or "unreachable" keeps it
//!    open and asked again, with backoff, for [`Settings::watch_after_ms`].
//! 5. **No notification is stuck**: every one is delivered, failed (kept and listed), or has
//!    its next attempt scheduled no later than [`Payment::next_wake_ms`].
//! 6. A payment is named by its shop and reference ([`object_name`]): no shop can reach
//!    another's.

mod ids;
mod operations;
mod outbox;
mod schedule;
mod sessions;
mod settings;

pub use ids::{gateway_reference, object_name, parse_gateway_reference, IdempotencyKey, Reference, ShopId};
pub use outbox::{retry_delay_ms, OutboxEntry};
pub use settings::Settings;

use crate::api::{ApiError, NextAction, SessionView};
use crate::gateway::{self, GatewayError, GatewayPayment, OperationResult, OperationStatus};
use crate::method::PaymentMethod;
use crate::money::Money;
use crate::notification::{ErrorInfo, EventType};
use crate::payment::{PaymentState, Transition};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The moment a decision is made, and the settings in force.
#[derive(Debug, Clone, Copy)]
pub struct At {
    /// Unix milliseconds.
    pub now_ms: i64,
    /// Timing.
    pub settings: Settings,
}

/// What reported a change, as the history records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// A gateway session was started.
    Session,
    /// The shopper came back from the gateway.
    Return,
    /// The gateway's webhook.
    Webhook,
    /// The edge asked the gateway on its own (alarm, cron).
    Reconciliation,
    /// The payment expired.
    Expiry,
    /// A refund, capture or void from the shop.
    Shop,
    /// The edge acting by itself (refunding a second charge).
    Edge,
}

/// A line of the payment's history: every state offered, applied or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// Unix ms.
    pub at_ms: i64,
    /// What reported it.
    pub source: Source,
    /// State before.
    pub from: PaymentState,
    /// State offered.
    pub offered: PaymentState,
    /// `applied`, `unchanged`, `refused`, or a note (`kept_open`, `gave_up_asking`).
    pub outcome: String,
}

/// What the shop's intent said, as the payment keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// Where the shopper goes at the end.
    pub return_url: String,
    /// Where notifications go.
    pub notify_url: String,
    /// For the gateway's page.
    pub customer_name: Option<String>,
    /// For the gateway's receipt.
    pub customer_email: Option<String>,
}

/// Where a gateway session stands, as far as the gateway has told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    /// The gateway may still take money on it.
    Open,
    /// The gateway said it cannot: failed, canceled, expired, or never opened.
    Closed,
    /// The gateway confirmed a charge on it.
    Charged,
}

/// A gateway session of this payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
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
    pub form_fields: Option<BTreeMap<String, String>>,
    /// A hosted page, or a payment made in the page (STC Pay's code, an Apple Pay token).
    #[serde(default)]
    pub flow: crate::gateway::SessionFlow,
    /// One-time codes sent on it so far ([`crate::api::MAX_OTP_ATTEMPTS`] at most).
    #[serde(default)]
    pub otp_attempts: u8,
    /// Unix ms.
    pub created_at_ms: i64,
    /// Replaced by a newer session (another method): its failure no longer decides the
    /// payment, its charge still counts.
    pub superseded: bool,
    /// What the gateway last said.
    pub status: SessionStatus,
    /// The edge asked the gateway to close it.
    pub close_requested: bool,
    /// The gateway's last answer was that no payment was ever attempted on it (APS: no
    /// transaction). It can still be paid (and is still watched), but it holds no money, so an
    /// expired payment may be canceled with it.
    #[serde(default)]
    pub never_opened: bool,
    /// The gateway's last answer in words (`pending`, `unreachable: …`), for the operator.
    pub last_answer: Option<String>,
    /// When the gateway was last asked about it (unix ms): a shopper's return within
    /// `return_check_reuse_ms` of it is answered from that answer (see
    /// [`Payment::return_asks_gateway`]).
    #[serde(default)]
    pub asked_at_ms: Option<i64>,
    /// How long the gateway took to create it (ms), where a call was made: for the stats.
    #[serde(default)]
    pub start_latency_ms: Option<i64>,
    /// When the gateway's verdict (charged, declined, canceled) first reached the edge (unix ms).
    #[serde(default)]
    pub decided_at_ms: Option<i64>,
    /// Why it closed without a charge: the normalized decline reason or the cancel code.
    #[serde(default)]
    pub closed_code: Option<String>,
    /// Whether the shopper passed 3-D Secure on it, where the gateway says.
    #[serde(default)]
    pub three_ds: Option<bool>,
}

impl Session {
    /// What the edge needs to act on it at its gateway.
    pub fn to_ref(&self) -> SessionRef {
        SessionRef {
            session_id: self.id.clone(),
            gateway: self.gateway.clone(),
            gateway_payment_id: self.gateway_payment_id.clone(),
            direct: self.flow.is_direct(),
        }
    }

    /// Closed at the gateway, or never opened there: nothing can be pending on it now.
    fn holds_no_money_now(&self) -> bool {
        self.status == SessionStatus::Closed || (self.status == SessionStatus::Open && self.never_opened)
    }
}

/// A charge the gateway confirmed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Charge {
    /// The session it was made on.
    pub session_id: String,
    /// The id refunds, captures and voids act on.
    pub transaction_id: String,
    /// Amount authorized or captured.
    pub money: Money,
    /// Captured (paid), or only authorized.
    pub captured: bool,
    /// Voided at the gateway.
    pub voided: bool,
    /// Not the payment's charge: a second one for the same reference, refunded by the edge.
    pub duplicate: bool,
    /// The refunded total the gateway last reported on it, where it reports one.
    #[serde(default)]
    pub gateway_refunded: Option<i64>,
    /// When to ask the gateway again for that total (a declined refund freed an amount that may
    /// have hidden a dashboard refund).
    #[serde(default)]
    pub recheck_at_ms: Option<i64>,
}

/// Where a refund stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum RefundStatus {
    /// Decided, not sent yet (the edge's refund of a second charge).
    Queued,
    /// Sent; no answer recorded yet (the edge stopped in between: it may have happened).
    InFlight,
    /// The gateway accepted it; not final.
    Pending,
    /// The gateway did not answer: it may have happened. The amount stays reserved.
    Unknown {
        /// What went wrong.
        reason: String,
    },
    /// Final: refunded.
    Succeeded,
    /// Final: the gateway declined it; nothing was refunded.
    Failed {
        /// Why.
        error: ErrorInfo,
    },
}

/// Who asked for a refund.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundOrigin {
    /// The shop, through `POST /v1/refunds`.
    Shop,
    /// The edge, for a second charge.
    Duplicate,
    /// Someone in the gateway's dashboard (seen when the gateway reports the charge refunded).
    Gateway,
}

/// A refund of one charge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    /// Our id (`rf_…`), also the reference the gateway sees where it takes one.
    pub id: String,
    /// The charge's session.
    pub session_id: String,
    /// Minor units.
    pub amount: i64,
    /// Who asked.
    pub origin: RefundOrigin,
    /// The shop's key.
    pub key: Option<IdempotencyKey>,
    /// Where it stands.
    pub status: RefundStatus,
    /// The gateway's id for it.
    pub gateway_refund_id: Option<String>,
    /// Unix ms.
    pub created_at_ms: i64,
    /// When to ask the gateway again about a pending refund.
    pub next_check_at_ms: Option<i64>,
    /// Times asked.
    pub checks: u32,
    /// The event that announced it, once final.
    pub event_id: Option<String>,
}

impl Refund {
    /// Counts a check and says when the next one is due: backing off, and none past the watch
    /// window.
    pub(super) fn another_check(&mut self, at: &At) -> Option<i64> {
        self.checks += 1;
        let delay = backoff(at.settings.reconcile_after_ms, at.settings.retry_max_ms, self.checks);
        let next = at.now_ms.saturating_add(delay);
        (next <= self.created_at_ms.saturating_add(at.settings.watch_after_ms)).then_some(next)
    }

    /// Whether its amount counts against what can still be refunded.
    fn reserves(&self) -> bool {
        !matches!(self.status, RefundStatus::Failed { .. })
    }
}

/// A back-office operation the shop asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OperationKind {
    /// `POST /v1/refunds`.
    Refund,
    /// `POST /v1/captures`.
    Capture,
    /// `POST /v1/voids`.
    Void,
}

/// An idempotent call: its key, a digest of what was asked, and the first answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operation {
    /// The shop's key.
    pub key: IdempotencyKey,
    /// What was asked (digest of the route and the body).
    pub digest: String,
    /// Which operation.
    pub kind: OperationKind,
    /// The refund it made, for refunds.
    pub refund_id: Option<String>,
    /// The first answer, once there is one.
    pub answer: Option<Result<serde_json::Value, ApiError>>,
}

/// What a new payment starts from (a verified intent, typed).
#[derive(Debug, Clone)]
pub struct NewPayment {
    /// Shop.
    pub shop: ShopId,
    /// The shop's reference.
    pub reference: Reference,
    /// Amount to charge.
    pub money: Money,
    /// URLs and customer.
    pub order: Order,
    /// This edge's origin (the alarm has no request to take it from).
    pub edge_origin: String,
    /// 16 random bytes: event ids, refund ids and jitter derive from them.
    pub seed: [u8; 16],
}

/// A session the gateway created.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// Gateway code.
    pub gateway: String,
    /// Method.
    pub method: PaymentMethod,
    /// Gateway's id.
    pub gateway_payment_id: String,
    /// Hosted page.
    pub redirect_url: String,
    /// Form-post fields.
    pub form_fields: Option<BTreeMap<String, String>>,
    /// Hosted, or made in the page.
    pub flow: crate::gateway::SessionFlow,
    /// How long the gateway took to create it (ms), where a call was made.
    pub start_latency_ms: Option<i64>,
}

/// A gateway session to act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRef {
    /// Our id.
    pub session_id: String,
    /// Gateway code.
    pub gateway: String,
    /// Gateway's id.
    pub gateway_payment_id: String,
    /// Made in the page: its status is read with `build_fetch_direct`.
    pub direct: bool,
}

/// What to do about a session request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionPlan {
    /// This method already has an open session: show it again (double click, second tab).
    Reuse(String),
    /// Start a session at the gateway; it will get this id.
    Start {
        /// The id the new session gets.
        session_id: String,
    },
}

/// A money movement to send to a gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoneyOrder {
    /// Gateway code.
    pub gateway: String,
    /// The session's id at the gateway.
    pub gateway_payment_id: String,
    /// What the operation acts on.
    pub transaction_id: String,
    /// How much.
    pub money: Money,
    /// Our id for a refund (`rf_…`): the reference the gateway sees.
    pub refund_id: Option<String>,
}

/// The start of a back-office call.
#[derive(Debug, Clone, PartialEq)]
pub enum Begin {
    /// The key was seen with the same call: this is the first answer; nothing moves.
    Replay(Result<serde_json::Value, ApiError>),
    /// Send this to the gateway, then report with [`Payment::operation_answered`].
    Send(MoneyOrder),
}

/// Work for the gateway that the payment wants done now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Task {
    /// Ask for the session's payment ([`Payment::observe`] the answer).
    Ask(SessionRef),
    /// Close the session's page where the gateway allows it ([`Payment::close_attempted`]).
    Close(SessionRef),
    /// Refund a second charge ([`Payment::refund_answered`]).
    Refund(MoneyOrder),
    /// Ask where a pending refund stands ([`Payment::refund_answered`]).
    CheckRefund {
        /// Our refund id.
        refund_id: String,
        /// Gateway code.
        gateway: String,
        /// The gateway's refund id.
        gateway_refund_id: String,
        /// The refund's amount.
        money: Money,
    },
}

/// The payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    /// Shop.
    pub shop: ShopId,
    /// The shop's reference.
    pub reference: Reference,
    /// Amount to charge.
    pub money: Money,
    /// URLs and customer.
    pub order: Order,
    /// This edge's origin when the payment started.
    pub edge_origin: String,
    /// Unix ms.
    pub created_at_ms: i64,
    seed: String,
    /// Current state.
    pub state: PaymentState,
    /// Sessions, oldest first.
    pub sessions: Vec<Session>,
    /// Confirmed charges, in the order the gateway confirmed them: the first not marked
    /// `duplicate` is the payment's.
    pub charges: Vec<Charge>,
    /// Refunds, oldest first.
    pub refunds: Vec<Refund>,
    /// Idempotent back-office calls.
    pub operations: Vec<Operation>,
    /// Card brand from the gateway.
    pub card_brand: Option<String>,
    /// Last four.
    pub card_last4: Option<String>,
    /// Failure reason.
    pub error: Option<ErrorInfo>,
    /// When to ask the gateway about open sessions next (unix ms).
    pub reconcile_at_ms: Option<i64>,
    /// Rounds of asking so far (for the backoff).
    pub reconcile_rounds: u32,
    /// History, oldest first (bounded: the first entry and the latest ones are kept).
    pub history: Vec<HistoryEntry>,
    /// Notifications, oldest first.
    pub outbox: Vec<OutboxEntry>,
    events_made: u32,
    refunds_made: u32,
}

/// History entries kept per payment.
const HISTORY_LIMIT: usize = 200;

impl Payment {
    /// A new payment, before any gateway session.
    pub fn new(new: NewPayment, at: &At) -> Payment {
        Payment {
            shop: new.shop,
            reference: new.reference,
            money: new.money,
            order: new.order,
            edge_origin: new.edge_origin,
            created_at_ms: at.now_ms,
            seed: hex::encode(new.seed),
            state: PaymentState::Created,
            sessions: Vec::new(),
            charges: Vec::new(),
            refunds: Vec::new(),
            operations: Vec::new(),
            card_brand: None,
            card_last4: None,
            error: None,
            reconcile_at_ms: None,
            reconcile_rounds: 0,
            history: Vec::new(),
            outbox: Vec::new(),
            events_made: 0,
            refunds_made: 0,
        }
    }

    /// The reference the gateway sees.
    pub fn gateway_reference(&self) -> String {
        gateway_reference(&self.shop, &self.reference)
    }

    /// A reference is one payment: the same amount and currency, or a refusal.
    pub fn check_same_order(&self, money: &Money, order: &Order) -> Result<(), ApiError> {
        // The URLs too: a notify_url switched under a payment would send its results elsewhere,
        // and a return_url switched would send the shopper elsewhere.
        for (name, now, first) in [
            ("notify_url", &order.notify_url, &self.order.notify_url),
            ("return_url", &order.return_url, &self.order.return_url),
        ] {
            if now != first {
                let differs = format!("{name} {now}, first {first}");
                return Err(ApiError::ReferenceReused { reference: self.reference.to_string(), differs });
            }
        }
        if self.money != *money {
            let (now, first) = (money.to_major_string(), self.money.to_major_string());
            let differs = if self.money.currency != money.currency {
                format!("currency {} {}, first {first} {}", now, money.currency.code(), self.money.currency.code())
            } else {
                format!("amount {now} {}, first {first}", money.currency.code())
            };
            return Err(ApiError::ReferenceReused { reference: self.reference.to_string(), differs });
        }
        Ok(())
    }

    fn derive(&self, label: &str) -> [u8; 32] {
        let seed = hex::decode(&self.seed).unwrap_or_default();
        crate::hmac_sha256(&seed, label.as_bytes())
    }

    fn jitter(&self, label: &str) -> u8 {
        self.derive(label)[0]
    }

    fn session(&self, session_id: &str) -> Option<&Session> {
        self.sessions.iter().find(|s| s.id == session_id)
    }

    fn session_mut(&mut self, session_id: &str) -> Option<&mut Session> {
        self.sessions.iter_mut().find(|s| s.id == session_id)
    }

    /// The session with this gateway id.
    pub fn session_by_gateway_id(&self, gateway_payment_id: &str) -> Option<&Session> {
        self.sessions.iter().find(|s| s.gateway_payment_id == gateway_payment_id)
    }

    /// The payment's charge (the first confirmed one that is not a duplicate).
    pub fn charge(&self) -> Option<&Charge> {
        self.charges.iter().find(|c| !c.duplicate)
    }

    /// Captured minor units over every charge (voided ones count zero).
    pub fn captured_total(&self) -> i64 {
        self.charges.iter().filter(|c| c.captured && !c.voided).map(|c| c.money.minor).sum()
    }

    /// Refunded minor units (final refunds only).
    pub fn refunded_total(&self) -> i64 {
        self.refunds.iter().filter(|r| r.status == RefundStatus::Succeeded).map(|r| r.amount).sum()
    }

    /// Refunded minor units of the payment's own charge.
    pub fn charge_refunded(&self) -> i64 {
        self.charge().map_or(0, |c| self.succeeded_on(&c.session_id))
    }

    /// Final refunds of the charge made on `session_id`.
    pub(super) fn succeeded_on(&self, session_id: &str) -> i64 {
        self.refunds
            .iter()
            .filter(|r| r.session_id == session_id && r.status == RefundStatus::Succeeded)
            .map(|r| r.amount)
            .sum()
    }

    fn reserved_on(&self, session_id: &str) -> i64 {
        self.refunds.iter().filter(|r| r.session_id == session_id && r.reserves()).map(|r| r.amount).sum()
    }

    fn offer(&mut self, next: PaymentState, source: Source, at: &At) -> Transition {
        let from = self.state;
        let outcome = from.offer(next);
        let word = match outcome {
            Transition::Applied => "applied",
            Transition::Unchanged => "unchanged",
            Transition::Refused => "refused",
        };
        self.note(source, next, word, at);
        if outcome == Transition::Applied {
            self.state = next;
        }
        outcome
    }

    fn note(&mut self, source: Source, offered: PaymentState, outcome: &str, at: &At) {
        if self.history.len() >= HISTORY_LIMIT {
            self.history.remove(1);
        }
        self.history.push(HistoryEntry {
            at_ms: at.now_ms,
            source,
            from: self.state,
            offered,
            outcome: outcome.to_string(),
        });
    }
}

pub(super) fn expired_error() -> ErrorInfo {
    ErrorInfo { code: "expired".into(), message: "The payment was not completed in time.".into() }
}

/// `base · 2^(round-1)`, capped at `max`.
pub(super) fn backoff(base: i64, max: i64, round: u32) -> i64 {
    base.max(1).saturating_mul(1i64 << round.saturating_sub(1).min(30)).min(max.max(base).max(1))
}
