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
mod outbox;
mod settings;

pub use ids::{gateway_reference, object_name, IdempotencyKey, Reference, ShopId};
pub use outbox::{retry_delay_ms, OutboxEntry};
pub use settings::Settings;

use crate::api::{ApiError, DeliveryView, NextAction, SessionView};
use crate::gateway::{self, GatewayError, GatewayPayment, OperationResult, OperationStatus};
use crate::method::PaymentMethod;
use crate::money::Money;
use crate::notification::{ErrorInfo, EventType, Notification};
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
}

impl Session {
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
    pub fn check_same_order(&self, money: &Money) -> Result<(), ApiError> {
        if self.money != *money {
            return Err(ApiError::ReferenceReused(self.reference.to_string()));
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
        let Some(charge) = self.charge() else { return 0 };
        self.refunds
            .iter()
            .filter(|r| r.session_id == charge.session_id && r.status == RefundStatus::Succeeded)
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

    // === Sessions === //

    /// What to do when the shopper picks `method`.
    pub fn plan_session(&self, method: PaymentMethod) -> Result<SessionPlan, ApiError> {
        if !matches!(self.state, PaymentState::Created | PaymentState::Pending) {
            return Err(ApiError::PaymentFinished(self.state));
        }
        let reusable =
            self.sessions.iter().find(|s| !s.superseded && s.method == method && s.status == SessionStatus::Open);
        if let Some(existing) = reusable {
            return Ok(SessionPlan::Reuse(existing.id.clone()));
        }
        Ok(SessionPlan::Start { session_id: format!("{}", self.sessions.len()) })
    }

    /// Records a session the gateway created (its id is the one [`Payment::plan_session`] gave,
    /// which the caller may have decorated). Earlier sessions are superseded; the ones still
    /// open are returned for the caller to close at their gateway ([`Payment::close_attempted`]).
    pub fn add_session(&mut self, id: String, new: NewSession, at: &At) -> Vec<SessionRef> {
        let mut to_close = Vec::new();
        for s in self.sessions.iter_mut().filter(|s| !s.superseded) {
            s.superseded = true;
            if s.status == SessionStatus::Open {
                s.close_requested = true;
                to_close.push(SessionRef {
                    session_id: s.id.clone(),
                    gateway: s.gateway.clone(),
                    gateway_payment_id: s.gateway_payment_id.clone(),
                });
            }
        }
        self.sessions.push(Session {
            id,
            method: new.method,
            gateway: new.gateway,
            gateway_payment_id: new.gateway_payment_id,
            redirect_url: new.redirect_url,
            form_fields: new.form_fields,
            created_at_ms: at.now_ms,
            superseded: false,
            status: SessionStatus::Open,
            close_requested: false,
            never_opened: false,
            last_answer: None,
        });
        self.offer(PaymentState::Pending, Source::Session, at);
        self.reconcile_rounds = 0;
        self.reconcile_at_ms = Some(at.now_ms.saturating_add(at.settings.reconcile_after_ms));
        to_close
    }

    /// Records that the edge asked the gateway to close a session (`outcome` in words). The
    /// session stays open until the gateway itself says it is closed.
    pub fn close_attempted(&mut self, session_id: &str, outcome: &str) {
        if let Some(s) = self.session_mut(session_id) {
            s.close_requested = true;
            s.last_answer = Some(format!("close: {outcome}"));
        }
    }

    /// What the widget shows for a session.
    pub fn session_view(&self, session_id: &str) -> Result<SessionView, ApiError> {
        let session = self.session(session_id).ok_or(ApiError::SessionNotFound)?;
        let open = matches!(self.state, PaymentState::Created | PaymentState::Pending)
            && !session.superseded
            && session.status == SessionStatus::Open;
        Ok(SessionView {
            id: session.id.clone(),
            reference: self.reference.to_string(),
            method: session.method,
            gateway: session.gateway.clone(),
            status: self.state,
            amount: self.money.minor,
            currency: self.money.currency.code().to_string(),
            return_url: self.order.return_url.clone(),
            next_action: match (open, &session.form_fields) {
                (false, _) => NextAction::None,
                (true, Some(fields)) => {
                    NextAction::FormPost { url: session.redirect_url.clone(), fields: fields.clone() }
                }
                (true, None) => NextAction::Redirect { url: session.redirect_url.clone() },
            },
            error: self.error.clone(),
            delivery: self.delivery_summary(),
        })
    }

    // === What gateways say === //

    /// Applies what the gateway said about a session (`expected_reference` is what its record
    /// must carry). Returns whether the payment changed in a way the shop hears about.
    ///
    /// A confirmed charge counts from any session, whatever the state (invariant 1); a failure
    /// or cancellation decides the payment only from its current session while it is
    /// undecided, since the shopper may still pay with the method they switched to.
    pub fn observe(
        &mut self,
        session_id: &str,
        answer: Result<GatewayPayment, GatewayError>,
        expected_reference: &str,
        source: Source,
        at: &At,
    ) -> bool {
        let Some(session) = self.session(session_id).cloned() else { return false };
        let payment = match answer {
            Ok(p) => p,
            Err(e) => {
                let word = match e {
                    GatewayError::Unreachable(why) => format!("unreachable: {why}"),
                    other => format!("unreadable: {other}"),
                };
                if let Some(s) = self.session_mut(session_id) {
                    s.last_answer = Some(word);
                }
                return false;
            }
        };
        let mismatch = gateway::check_matches(&payment, &self.money, expected_reference).err();
        let (state, error) = match &mismatch {
            // A result for another amount, currency or reference never pays this payment.
            Some(m) => {
                (PaymentState::Failed, Some(ErrorInfo { code: "amount_mismatch".into(), message: m.to_string() }))
            }
            None => (payment.state, payment.error.clone()),
        };
        if let Some(s) = self.session_mut(session_id) {
            s.never_opened = state == PaymentState::Created;
            s.last_answer = Some(if s.never_opened { "never opened".into() } else { state.as_str().to_string() });
        }
        match state {
            PaymentState::Created | PaymentState::Pending => false,
            PaymentState::Paid | PaymentState::Authorized => {
                self.confirm_charge(&session, &payment, state == PaymentState::Paid, source, at)
            }
            PaymentState::Failed | PaymentState::Canceled => {
                if session.status == SessionStatus::Charged {
                    // A charge the gateway confirmed is not undone by a later failure report.
                    return false;
                }
                if let Some(s) = self.session_mut(session_id) {
                    s.status = SessionStatus::Closed;
                }
                // A decline decides at once (a charge confirmed later on an older page still
                // wins); a cancellation only once no page can take money any more (invariant 4).
                let all_closed = self.sessions.iter().all(Session::holds_no_money_now);
                let decides = !session.superseded && self.undecided() && (state == PaymentState::Failed || all_closed);
                if !decides {
                    return false;
                }
                let error = if state == PaymentState::Canceled && at.now_ms >= self.expires_at_ms(at) {
                    Some(expired_error())
                } else {
                    error.or_else(|| {
                        (state == PaymentState::Canceled).then(|| ErrorInfo {
                            code: "canceled".into(),
                            message: "The payment was canceled at the gateway.".into(),
                        })
                    })
                };
                self.decide(state, error, &session, source, at)
            }
            PaymentState::Refunded | PaymentState::PartiallyRefunded | PaymentState::Voided => {
                self.observe_money_returned(&session, state, source, at)
            }
        }
    }

    fn decide(
        &mut self,
        state: PaymentState,
        error: Option<ErrorInfo>,
        session: &Session,
        source: Source,
        at: &At,
    ) -> bool {
        if self.offer(state, source, at) != Transition::Applied {
            return false;
        }
        self.error = error;
        if let Some(event) = EventType::for_state(state) {
            self.emit(event, session, self.money.minor, None, at);
        }
        true
    }

    fn confirm_charge(
        &mut self,
        session: &Session,
        p: &GatewayPayment,
        captured: bool,
        source: Source,
        at: &At,
    ) -> bool {
        if let Some(i) = self.charges.iter().position(|c| c.session_id == session.id) {
            // Known charge: only a capture made outside the edge is news.
            let charge = &mut self.charges[i];
            if captured && !charge.captured && !charge.voided {
                charge.captured = true;
                let duplicate = charge.duplicate;
                if !duplicate && self.offer(PaymentState::Paid, source, at) == Transition::Applied {
                    self.emit(EventType::PaymentSucceeded, session, self.money.minor, None, at);
                    return true;
                }
            }
            return false;
        }
        if let Some(s) = self.session_mut(&session.id) {
            s.status = SessionStatus::Charged;
        }
        let transaction_id = p.transaction_id.clone().unwrap_or_else(|| p.id.clone());
        let first = self.charge().is_none();
        self.charges.push(Charge {
            session_id: session.id.clone(),
            transaction_id,
            money: p.money,
            captured,
            voided: false,
            duplicate: !first,
        });
        if first {
            let next = if captured { PaymentState::Paid } else { PaymentState::Authorized };
            if self.offer(next, source, at) == Transition::Applied {
                self.error = None;
                self.card_brand = p.card_brand.clone().or(self.card_brand.take());
                self.card_last4 = p.card_last4.clone().or(self.card_last4.take());
                let event = if captured { EventType::PaymentSucceeded } else { EventType::PaymentAuthorized };
                self.emit(event, session, self.money.minor, None, at);
                return true;
            }
            // Not reachable from any state without a charge; kept as a safe fallback: the
            // charge is recorded and treated as a second one.
            if let Some(c) = self.charges.last_mut() {
                c.duplicate = true;
            }
        }
        self.note(source, PaymentState::Paid, "second_charge", at);
        if captured {
            let id = self.next_refund_id();
            self.refunds.push(Refund {
                id,
                session_id: session.id.clone(),
                amount: p.money.minor,
                origin: RefundOrigin::Duplicate,
                key: None,
                status: RefundStatus::Queued,
                gateway_refund_id: None,
                created_at_ms: at.now_ms,
                next_check_at_ms: None,
                checks: 0,
                event_id: None,
            });
        } else {
            let error = ErrorInfo {
                code: "duplicate_authorization".into(),
                message: "A second authorization was made for this reference; void it in the gateway's dashboard \
                          or let it lapse."
                    .into(),
            };
            self.emit_with(EventType::PaymentDuplicateDetected, session, p.money.minor, None, None, Some(error), at);
        }
        true
    }

    /// The gateway reports a session refunded or voided. For the payment's charge, that is a
    /// refund made in the gateway's dashboard (the remainder) or a void; for a session that
    /// was never charged here, the money went back already: nothing is owed.
    fn observe_money_returned(&mut self, session: &Session, state: PaymentState, source: Source, at: &At) -> bool {
        let Some(charge) = self.charges.iter().find(|c| c.session_id == session.id).cloned() else {
            if let Some(s) = self.session_mut(&session.id) {
                s.status = SessionStatus::Closed;
            }
            return false;
        };
        if charge.duplicate || state == PaymentState::PartiallyRefunded {
            // Partial dashboard refunds carry no amount in the status: left to the operator.
            return false;
        }
        if state == PaymentState::Voided {
            if charge.voided {
                return false;
            }
            if let Some(c) = self.charges.iter_mut().find(|c| c.session_id == session.id) {
                c.voided = true;
            }
            return self.decide(PaymentState::Voided, None, session, source, at);
        }
        let remaining = charge.money.minor - self.reserved_on(&charge.session_id);
        if !charge.captured || remaining <= 0 {
            return false;
        }
        let id = self.next_refund_id();
        self.refunds.push(Refund {
            id: id.clone(),
            session_id: session.id.clone(),
            amount: remaining,
            origin: RefundOrigin::Gateway,
            key: None,
            status: RefundStatus::Queued,
            gateway_refund_id: None,
            created_at_ms: at.now_ms,
            next_check_at_ms: None,
            checks: 0,
            event_id: None,
        });
        self.settle_refund(&id, RefundStatus::Succeeded, source, at);
        true
    }

    // === Back office === //

    fn begin(
        &mut self,
        kind: OperationKind,
        key: &IdempotencyKey,
        digest: &str,
    ) -> Result<Option<Result<serde_json::Value, ApiError>>, ApiError> {
        let Some(op) = self.operations.iter().find(|o| &o.key == key) else { return Ok(None) };
        if op.digest != digest || op.kind != kind {
            return Err(ApiError::IdempotencyKeyReused);
        }
        if let Some(answer) = &op.answer {
            return Ok(Some(answer.clone()));
        }
        // Asked before, and the edge stopped before the answer: what is known now.
        Ok(Some(match op.refund_id.as_deref().and_then(|id| self.refunds.iter().find(|r| r.id == id)) {
            Some(refund) => Ok(self.refund_answer(refund)),
            None => Ok(serde_json::json!({ "status": "pending", "payment_state": self.state })),
        }))
    }

    /// Starts a refund of `amount` minor units (`None`: what remains) under the shop's key.
    /// `partial_allowed` is the gateway's capability. The refund is reserved before it is
    /// sent, so that a second request (or a restart) can never exceed what was captured.
    pub fn request_refund(
        &mut self,
        key: IdempotencyKey,
        digest: &str,
        amount: Option<i64>,
        partial_allowed: bool,
        at: &At,
    ) -> Result<Begin, ApiError> {
        if let Some(replay) = self.begin(OperationKind::Refund, &key, digest)? {
            return Ok(Begin::Replay(replay));
        }
        let not_allowed = |state: PaymentState| {
            ApiError::OperationNotAllowed(format!("a refund needs a paid payment; this one is {}", state.as_str()))
        };
        if !matches!(self.state, PaymentState::Paid | PaymentState::PartiallyRefunded) {
            return Err(not_allowed(self.state));
        }
        let charge =
            self.charge().cloned().filter(|c| c.captured && !c.voided).ok_or_else(|| not_allowed(self.state))?;
        let session = self.session(&charge.session_id).cloned().ok_or_else(|| not_allowed(self.state))?;
        let remaining = charge.money.minor - self.reserved_on(&charge.session_id);
        let amount = amount.unwrap_or(remaining);
        if amount <= 0 && remaining > 0 {
            return Err(ApiError::InvalidRequest("the refund amount must be a positive integer of minor units".into()));
        }
        if amount > remaining || remaining <= 0 {
            return Err(ApiError::RefundExceedsPayment { remaining: remaining.max(0) });
        }
        if amount < charge.money.minor && !partial_allowed {
            return Err(ApiError::OperationNotSupported(format!("{} cannot do partial refunds", session.gateway)));
        }
        let id = self.next_refund_id();
        self.refunds.push(Refund {
            id: id.clone(),
            session_id: charge.session_id.clone(),
            amount,
            origin: RefundOrigin::Shop,
            key: Some(key.clone()),
            status: RefundStatus::InFlight,
            gateway_refund_id: None,
            created_at_ms: at.now_ms,
            next_check_at_ms: None,
            checks: 0,
            event_id: None,
        });
        self.operations.push(Operation {
            key,
            digest: digest.to_string(),
            kind: OperationKind::Refund,
            refund_id: Some(id.clone()),
            answer: None,
        });
        Ok(Begin::Send(MoneyOrder {
            gateway: session.gateway,
            gateway_payment_id: session.gateway_payment_id,
            transaction_id: charge.transaction_id,
            money: Money::new(amount, self.money.currency),
            refund_id: Some(id),
        }))
    }

    /// Starts a capture (`amount`: `None` for all) or a void under the shop's key.
    pub fn request_operation(
        &mut self,
        kind: OperationKind,
        key: IdempotencyKey,
        digest: &str,
        amount: Option<i64>,
    ) -> Result<Begin, ApiError> {
        if let Some(replay) = self.begin(kind, &key, digest)? {
            return Ok(Begin::Replay(replay));
        }
        let charge = self.charge().cloned();
        let order = match (kind, charge) {
            (OperationKind::Capture, Some(c)) if self.state == PaymentState::Authorized && !c.captured => {
                let amount = amount.unwrap_or(c.money.minor);
                if amount <= 0 || amount > c.money.minor {
                    return Err(ApiError::InvalidRequest(format!(
                        "the capture amount must be between 1 and {} minor units",
                        c.money.minor
                    )));
                }
                (c, amount)
            }
            (OperationKind::Capture, _) => {
                return Err(ApiError::OperationNotAllowed(format!(
                    "a capture needs an authorized payment; this one is {}",
                    self.state.as_str()
                )))
            }
            (OperationKind::Void, Some(c))
                if matches!(self.state, PaymentState::Paid | PaymentState::Authorized)
                    && self.reserved_on(&c.session_id) == 0 =>
            {
                let amount = c.money.minor;
                (c, amount)
            }
            (OperationKind::Void, _) => {
                return Err(ApiError::OperationNotAllowed(format!(
                    "a void needs a paid or authorized payment with no refund; this one is {}",
                    self.state.as_str()
                )))
            }
            (OperationKind::Refund, _) => {
                return Err(ApiError::Internal("refunds start with request_refund".into()));
            }
        };
        let (charge, amount) = order;
        let session = self.session(&charge.session_id).cloned().ok_or(ApiError::PaymentNotFound)?;
        self.operations.push(Operation { key, digest: digest.to_string(), kind, refund_id: None, answer: None });
        Ok(Begin::Send(MoneyOrder {
            gateway: session.gateway,
            gateway_payment_id: session.gateway_payment_id,
            transaction_id: charge.transaction_id,
            money: Money::new(amount, self.money.currency),
            refund_id: None,
        }))
    }

    /// Forgets an operation that was never sent (the gateway has no call for it), so that its
    /// key can be used again.
    pub fn abandon_operation(&mut self, key: &IdempotencyKey) {
        self.operations.retain(|o| &o.key != key || o.answer.is_some() || o.refund_id.is_some());
    }

    /// Records the gateway's answer to the operation started under `key`, and returns the answer
    /// for the shop (kept: the same key gets it again).
    pub fn operation_answered(
        &mut self,
        key: &IdempotencyKey,
        result: Result<OperationResult, GatewayError>,
        at: &At,
    ) -> Result<serde_json::Value, ApiError> {
        let Some(op) = self.operations.iter().find(|o| &o.key == key).cloned() else {
            return Err(ApiError::Internal("no operation under this key".into()));
        };
        let answer = match (op.kind, op.refund_id.as_deref()) {
            (OperationKind::Refund, Some(refund_id)) => {
                self.refund_answered(refund_id, result, Source::Shop, at);
                let refund = self.refunds.iter().find(|r| r.id == refund_id).cloned();
                match refund {
                    Some(r) if matches!(r.status, RefundStatus::Failed { .. }) && r.gateway_refund_id.is_none() => {
                        // Refused outright: an error, as before; the key keeps it.
                        match &r.status {
                            RefundStatus::Failed { error } if error.code == "gateway_rejected" => {
                                Err(ApiError::GatewayRejected(error.message.clone()))
                            }
                            _ => Ok(self.refund_answer(&r)),
                        }
                    }
                    Some(r) => Ok(self.refund_answer(&r)),
                    None => Err(ApiError::Internal("refund vanished".into())),
                }
            }
            (kind, _) => self.capture_or_void_answered(kind, result, at),
        };
        if let Some(op) = self.operations.iter_mut().find(|o| &o.key == key) {
            op.answer = Some(answer.clone());
        }
        answer
    }

    fn capture_or_void_answered(
        &mut self,
        kind: OperationKind,
        result: Result<OperationResult, GatewayError>,
        at: &At,
    ) -> Result<serde_json::Value, ApiError> {
        let result = result.map_err(|e| match e {
            GatewayError::Unreachable(why) => ApiError::GatewayUnavailable(why),
            other => ApiError::GatewayRejected(other.to_string()),
        })?;
        let Some(charge) = self.charge().cloned() else { return Err(ApiError::PaymentNotFound) };
        let session = self.session(&charge.session_id).cloned().ok_or(ApiError::PaymentNotFound)?;
        let status = match &result.status {
            OperationStatus::Succeeded => "succeeded",
            OperationStatus::Pending => "pending",
            OperationStatus::Failed(_) => "failed",
        };
        let mut event_id = None;
        if result.status == OperationStatus::Succeeded {
            let (next, event) = match kind {
                OperationKind::Capture => (PaymentState::Paid, EventType::PaymentSucceeded),
                _ => (PaymentState::Voided, EventType::PaymentVoided),
            };
            if let Some(c) = self.charges.iter_mut().find(|c| c.session_id == charge.session_id) {
                match kind {
                    OperationKind::Capture => {
                        c.captured = true;
                        c.money = result.money;
                    }
                    _ => c.voided = true,
                }
            }
            if self.offer(next, Source::Shop, at) == Transition::Applied {
                event_id = Some(self.emit(event, &session, result.money.minor, None, at));
            }
        }
        let mut answer = serde_json::json!({
            "status": status,
            "id": result.id,
            "amount": result.money.minor,
            "currency": self.money.currency.code(),
            "payment_state": self.state,
        });
        if let Some(id) = event_id {
            answer["event_id"] = id.into();
        }
        if let OperationStatus::Failed(error) = &result.status {
            answer["error"] = serde_json::to_value(error).unwrap_or_default();
        }
        Ok(answer)
    }

    /// Records what the gateway said about a refund (its first answer, or a later check).
    pub fn refund_answered(
        &mut self,
        refund_id: &str,
        result: Result<OperationResult, GatewayError>,
        source: Source,
        at: &At,
    ) {
        let Some(refund) = self.refunds.iter().find(|r| r.id == refund_id).cloned() else { return };
        let first_answer = matches!(refund.status, RefundStatus::InFlight | RefundStatus::Queued);
        let settled = matches!(refund.status, RefundStatus::Succeeded | RefundStatus::Failed { .. });
        if settled {
            return;
        }
        match result {
            Ok(r) => {
                if let Some(x) = self.refunds.iter_mut().find(|x| x.id == refund_id) {
                    x.gateway_refund_id = Some(r.id.clone());
                }
                match r.status {
                    OperationStatus::Succeeded => self.settle_refund(refund_id, RefundStatus::Succeeded, source, at),
                    OperationStatus::Failed(error) => {
                        self.settle_refund(refund_id, RefundStatus::Failed { error }, source, at)
                    }
                    OperationStatus::Pending => self.keep_refund_pending(refund_id, RefundStatus::Pending, at),
                }
            }
            Err(GatewayError::Unreachable(why)) if first_answer => {
                // It may or may not have happened: keep the amount reserved, never send it twice.
                self.keep_refund_pending(refund_id, RefundStatus::Unknown { reason: why }, at)
            }
            Err(e) if first_answer => {
                let error = ErrorInfo { code: "gateway_rejected".into(), message: e.to_string() };
                self.settle_refund(refund_id, RefundStatus::Failed { error }, source, at)
            }
            Err(_) => self.keep_refund_pending(refund_id, refund.status.clone(), at),
        }
    }

    /// A refund that is not final: asked again with backoff (where the gateway can be asked)
    /// for the watch window. One whose outcome is unknown stays reserved; for a second charge
    /// the merchant is told to look.
    fn keep_refund_pending(&mut self, refund_id: &str, status: RefundStatus, at: &At) {
        let Some(r) = self.refunds.iter_mut().find(|r| r.id == refund_id) else { return };
        let newly_unknown =
            matches!(status, RefundStatus::Unknown { .. }) && !matches!(r.status, RefundStatus::Unknown { .. });
        r.status = status;
        r.checks += 1;
        let checkable = r.status == RefundStatus::Pending && r.gateway_refund_id.is_some();
        let delay = backoff(at.settings.reconcile_after_ms, at.settings.retry_max_ms, r.checks);
        let next = at.now_ms.saturating_add(delay);
        let watch_until = r.created_at_ms.saturating_add(at.settings.watch_after_ms);
        r.next_check_at_ms = (checkable && next <= watch_until).then_some(next);
        let r = r.clone();
        let duplicate = self.charges.iter().any(|c| c.session_id == r.session_id && c.duplicate);
        if duplicate && newly_unknown {
            if let Some(session) = self.session(&r.session_id).cloned() {
                let error = ErrorInfo {
                    code: "duplicate_refund_unconfirmed".into(),
                    message: "A second charge for this reference was found and refunded, but the gateway did not \
                              confirm the refund: check it in the gateway's dashboard."
                        .into(),
                };
                self.emit_with(EventType::PaymentDuplicateDetected, &session, r.amount, None, None, Some(error), at);
            }
        }
    }

    fn settle_refund(&mut self, refund_id: &str, status: RefundStatus, source: Source, at: &At) {
        let Some(i) = self.refunds.iter().position(|r| r.id == refund_id) else { return };
        self.refunds[i].status = status.clone();
        self.refunds[i].next_check_at_ms = None;
        let refund = self.refunds[i].clone();
        let Some(session) = self.session(&refund.session_id).cloned() else { return };
        let duplicate = self.charges.iter().any(|c| c.session_id == refund.session_id && c.duplicate);
        let event_id = match (&status, refund.origin, duplicate) {
            (RefundStatus::Succeeded, _, true) => Some(self.emit_with(
                EventType::PaymentDuplicateRefunded,
                &session,
                refund.amount,
                refund.gateway_refund_id.clone(),
                None,
                None,
                at,
            )),
            (RefundStatus::Failed { error }, _, true) => {
                let error = ErrorInfo {
                    code: "duplicate_not_refunded".into(),
                    message: format!(
                        "A second charge for this reference could not be refunded ({}); refund it in the gateway's \
                         dashboard.",
                        error.message
                    ),
                };
                Some(self.emit_with(
                    EventType::PaymentDuplicateDetected,
                    &session,
                    refund.amount,
                    None,
                    None,
                    Some(error),
                    at,
                ))
            }
            (RefundStatus::Succeeded, _, false) => {
                let next = if self.charge_refunded() >= self.charge().map_or(0, |c| c.money.minor) {
                    PaymentState::Refunded
                } else {
                    PaymentState::PartiallyRefunded
                };
                self.offer(next, source, at);
                let key = refund.key.as_ref().map(|k| k.as_str().to_string());
                Some(self.emit_with(
                    EventType::RefundSucceeded,
                    &session,
                    refund.amount,
                    refund.gateway_refund_id.clone(),
                    key,
                    None,
                    at,
                ))
            }
            (RefundStatus::Failed { error }, _, false) => {
                // Announced only when the shop was told "pending" first; a refusal at once is
                // in the answer to its call.
                let was_pending = refund.checks > 0;
                let key = refund.key.as_ref().map(|k| k.as_str().to_string());
                let error = Some(error.clone());
                was_pending.then(|| {
                    self.emit_with(
                        EventType::RefundFailed,
                        &session,
                        refund.amount,
                        refund.gateway_refund_id.clone(),
                        key,
                        error,
                        at,
                    )
                })
            }
            _ => None,
        };
        self.refunds[i].event_id = event_id;
    }

    fn refund_answer(&self, refund: &Refund) -> serde_json::Value {
        let (status, error, message) = match &refund.status {
            RefundStatus::Succeeded => ("succeeded", None, None),
            RefundStatus::Failed { error } => ("failed", Some(error.clone()), None),
            RefundStatus::Unknown { reason } => (
                "pending",
                None,
                Some(format!(
                    "the gateway did not answer ({reason}); the amount stays reserved and is never sent twice: check \
                     the gateway's dashboard"
                )),
            ),
            RefundStatus::Queued | RefundStatus::InFlight | RefundStatus::Pending => ("pending", None, None),
        };
        let event_id = refund.event_id.clone();
        let mut answer = serde_json::json!({
            "status": status,
            "refund_id": refund.id,
            "id": refund.gateway_refund_id,
            "amount": refund.amount,
            "currency": self.money.currency.code(),
            "refunded_total": self.charge_refunded(),
            "payment_state": self.state,
        });
        if let Some(e) = error {
            answer["error"] = serde_json::to_value(e).unwrap_or_default();
        }
        if let Some(m) = message {
            answer["message"] = m.into();
        }
        if let Some(id) = event_id {
            answer["event_id"] = id.into();
        }
        answer
    }

    fn next_refund_id(&mut self) -> String {
        self.refunds_made += 1;
        let bytes = self.derive(&format!("refund:{}", self.refunds_made));
        format!("rf_{}", hex::encode(&bytes[..12]))
    }

    // === Time: reconciliation, expiry, follow-ups === //

    fn undecided(&self) -> bool {
        matches!(self.state, PaymentState::Created | PaymentState::Pending)
    }

    fn expires_at_ms(&self, at: &At) -> i64 {
        self.created_at_ms.saturating_add(at.settings.expire_after_ms)
    }

    fn watch_until_ms(&self, at: &At) -> i64 {
        self.expires_at_ms(at).saturating_add(at.settings.watch_after_ms)
    }

    fn open_sessions(&self) -> impl Iterator<Item = &Session> {
        self.sessions.iter().rev().filter(|s| s.status == SessionStatus::Open)
    }

    /// Whether the edge still asks the gateway about this payment's sessions.
    fn watching(&self, at: &At) -> bool {
        let open = self.open_sessions().next().is_some();
        open && at.now_ms < self.watch_until_ms(at)
    }

    /// The gateway work due now. Calling it moves each task's next time on, so a task is
    /// handed out once per round; the caller performs them in order (closes before asks) and
    /// reports each, then calls [`Payment::settle`].
    pub fn due_tasks(&mut self, at: &At) -> Vec<Task> {
        let mut tasks = Vec::new();
        let now = at.now_ms;
        if self.reconcile_at_ms.is_some_and(|t| t <= now) && self.watching(at) {
            let expired = self.undecided() && now >= self.expires_at_ms(at);
            let open: Vec<SessionRef> = self
                .open_sessions()
                .map(|s| SessionRef {
                    session_id: s.id.clone(),
                    gateway: s.gateway.clone(),
                    gateway_payment_id: s.gateway_payment_id.clone(),
                })
                .collect();
            if expired {
                // Close what can be closed first, then ask once more: a page paid in the last
                // moment wins over the expiry.
                for s in &open {
                    let asked = self.session(&s.session_id).is_some_and(|x| x.close_requested);
                    if !asked {
                        tasks.push(Task::Close(s.clone()));
                    }
                }
            }
            tasks.extend(open.into_iter().map(Task::Ask));
            self.reconcile_rounds += 1;
            let delay = backoff(at.settings.reconcile_after_ms, at.settings.retry_max_ms, self.reconcile_rounds);
            let mut next = now.saturating_add(delay);
            if self.undecided() && now < self.expires_at_ms(at) {
                next = next.min(self.expires_at_ms(at));
            }
            self.reconcile_at_ms = Some(next);
        }
        let currency = self.money.currency;
        let mut refund_tasks = Vec::new();
        for r in self.refunds.iter_mut() {
            let session = self.sessions.iter().find(|s| s.id == r.session_id);
            let charge = self.charges.iter().find(|c| c.session_id == r.session_id);
            let (Some(session), Some(charge)) = (session, charge) else { continue };
            match r.status {
                RefundStatus::Queued => {
                    r.status = RefundStatus::InFlight;
                    refund_tasks.push(Task::Refund(MoneyOrder {
                        gateway: session.gateway.clone(),
                        gateway_payment_id: session.gateway_payment_id.clone(),
                        transaction_id: charge.transaction_id.clone(),
                        money: Money::new(r.amount, currency),
                        refund_id: Some(r.id.clone()),
                    }));
                }
                RefundStatus::Pending if r.next_check_at_ms.is_some_and(|t| t <= now) => {
                    if let Some(gateway_refund_id) = r.gateway_refund_id.clone() {
                        r.next_check_at_ms = Some(now.saturating_add(at.settings.reconcile_after_ms));
                        refund_tasks.push(Task::CheckRefund {
                            refund_id: r.id.clone(),
                            gateway: session.gateway.clone(),
                            gateway_refund_id,
                            money: Money::new(r.amount, currency),
                        });
                    }
                }
                _ => {}
            }
        }
        tasks.extend(refund_tasks);
        tasks
    }

    /// Decides what time alone decides, after a round of tasks (or any command): an expired
    /// payment whose every session the gateway confirmed closed (or that never opened one) is
    /// canceled; one that still has an open session stays open and is asked again.
    pub fn settle(&mut self, at: &At) -> bool {
        let mut changed = false;
        // A payment is stored with its first session, so there is always one to close.
        if self.undecided() && !self.sessions.is_empty() && at.now_ms >= self.expires_at_ms(at) {
            let all_closed = self.sessions.iter().all(Session::holds_no_money_now);
            if all_closed {
                let expired = expired_error();
                if let Some(current) = self.sessions.last().cloned() {
                    changed = self.decide(PaymentState::Canceled, Some(expired), &current, Source::Expiry, at);
                }
            } else if self.history.last().is_none_or(|h| h.outcome != "kept_open") {
                self.note(Source::Expiry, PaymentState::Canceled, "kept_open", at);
            }
        }
        if !self.watching(at) {
            if self.reconcile_at_ms.is_some() && self.open_sessions().next().is_some() {
                self.note(Source::Reconciliation, self.state, "gave_up_asking", at);
            }
            self.reconcile_at_ms = None;
        } else if self.reconcile_at_ms.is_none() {
            self.reconcile_at_ms = Some(at.now_ms.saturating_add(at.settings.reconcile_after_ms));
        }
        changed
    }

    // === Outbox === //

    fn emit(
        &mut self,
        event_type: EventType,
        session: &Session,
        amount: i64,
        refund_id: Option<String>,
        at: &At,
    ) -> String {
        self.emit_with(event_type, session, amount, refund_id, None, None, at)
    }

    #[allow(clippy::too_many_arguments)]
    fn emit_with(
        &mut self,
        event_type: EventType,
        session: &Session,
        amount: i64,
        refund_id: Option<String>,
        idempotency_key: Option<String>,
        error: Option<ErrorInfo>,
        at: &At,
    ) -> String {
        self.events_made += 1;
        let event_id = format!("evt_{}", hex::encode(&self.derive(&format!("event:{}", self.events_made))[..16]));
        let payment_event = matches!(
            event_type,
            EventType::PaymentSucceeded
                | EventType::PaymentAuthorized
                | EventType::PaymentFailed
                | EventType::PaymentCanceled
                | EventType::PaymentVoided
        );
        let notification = Notification {
            event_id: event_id.clone(),
            event_type,
            shop_id: self.shop.to_string(),
            reference: self.reference.to_string(),
            amount,
            currency: self.money.currency.code().to_string(),
            gateway: session.gateway.clone(),
            gateway_payment_id: session.gateway_payment_id.clone(),
            method: session.method.code().to_string(),
            card_brand: self.card_brand.clone(),
            card_last4: self.card_last4.clone(),
            error: error.or_else(|| if payment_event { self.error.clone() } else { None }),
            created_at: at.now_ms / 1000,
            refund_id,
            idempotency_key,
        };
        self.outbox.push(OutboxEntry {
            event_id: event_id.clone(),
            event_type,
            body: serde_json::to_string(&notification).expect("notifications serialize"),
            attempts: 0,
            created_at_ms: at.now_ms,
            next_attempt_at_ms: Some(at.now_ms),
            delivered_at_ms: None,
            last_error: None,
            failed: false,
        });
        event_id
    }

    /// The notification to send now, if one is due: the oldest not yet delivered (in order).
    pub fn due_delivery(&self, now_ms: i64) -> Option<&OutboxEntry> {
        let head = self.outbox.iter().find(|e| !e.is_settled())?;
        head.next_attempt_at_ms.is_some_and(|t| t <= now_ms).then_some(head)
    }

    /// Takes the due notification for sending: its next attempt moves past the send's timeout,
    /// so a concurrent wake-up does not send it too, and an edge that stops mid-send retries it
    /// then. The caller stores the payment, sends, and reports with [`Payment::delivery_result`].
    pub fn start_delivery(&mut self, at: &At) -> Option<OutboxEntry> {
        let event_id = self.due_delivery(at.now_ms)?.event_id.clone();
        let lease = at.settings.notify_timeout_ms.saturating_add(1_000);
        let entry = self.outbox.iter_mut().find(|e| e.event_id == event_id)?;
        entry.next_attempt_at_ms = Some(at.now_ms.saturating_add(lease));
        Some(entry.clone())
    }

    /// Records the outcome of an attempt to deliver `event_id`.
    pub fn delivery_result(&mut self, event_id: &str, result: Result<(), String>, at: &At) {
        let Some(i) = self.outbox.iter().position(|e| e.event_id == event_id) else { return };
        let jitter = self.jitter(&format!("jitter:{event_id}:{}", self.outbox[i].attempts));
        self.outbox[i].record_attempt(result, at.now_ms, &at.settings, jitter);
        // The next in line is due as soon as this one is settled.
        if self.outbox[i].is_settled() {
            if let Some(next) = self.outbox.iter_mut().find(|e| !e.is_settled()) {
                next.next_attempt_at_ms = Some(next.next_attempt_at_ms.map_or(at.now_ms, |t| t.min(at.now_ms)));
            }
        }
    }

    /// The delivery the operator should see first: the oldest undelivered, else the latest.
    pub fn delivery_summary(&self) -> Option<DeliveryView> {
        self.outbox.iter().find(|e| e.delivered_at_ms.is_none()).or(self.outbox.last()).map(OutboxEntry::view)
    }

    /// When the payment next needs its alarm: the next delivery attempt, the next round of
    /// asking the gateway, or the next refund check. `None`: nothing more to do.
    pub fn next_wake_ms(&self) -> Option<i64> {
        let delivery = self.outbox.iter().find(|e| !e.is_settled()).and_then(|e| e.next_attempt_at_ms);
        let refunds = self.refunds.iter().filter_map(|r| match r.status {
            RefundStatus::Queued => Some(self.created_at_ms),
            RefundStatus::Pending => r.next_check_at_ms,
            _ => None,
        });
        delivery.into_iter().chain(self.reconcile_at_ms).chain(refunds).min()
    }
}

fn expired_error() -> ErrorInfo {
    ErrorInfo { code: "expired".into(), message: "The payment was not completed in time.".into() }
}

/// `base · 2^(round-1)`, capped at `max`.
fn backoff(base: i64, max: i64, round: u32) -> i64 {
    base.max(1).saturating_mul(1i64 << round.saturating_sub(1).min(30)).min(max.max(base).max(1))
}
