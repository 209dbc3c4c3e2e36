//! Property tests of the payment lifecycle (`core/src/lifecycle/`), over random interleavings
//! of what the world does to a payment: sessions started on different methods and gateways,
//! shoppers paying or failing on any of them (old tabs included), gateways answering, not
//! answering or expiring pages, returns and webhooks in any order and repeated, refunds from
//! the shop (partial, replayed, pending then settled, lost answers), the shop answering 2xx,
//! 5xx or nothing, the clock moving, and the edge restarting from what it stored.
//!
//! A small model of the gateways and of the shop stands in for the world; a small shell does
//! what the edge's Durable Object does (deliver, run the due tasks, settle). After every step
//! and after a final drain the invariants of `lifecycle/mod.rs` are checked. proptest prints the
//! shrunk sequence of a failure. `BAWABA_PROPTEST_CASES` sets the number of cases (the soak in
//! `cargo xtask bench` runs many more).

use bawaba_core::gateway::{GatewayError, GatewayPayment, OperationResult, OperationStatus};
use bawaba_core::lifecycle::{
    At, Begin, IdempotencyKey, NewPayment, NewSession, Order, Payment, Reference, RefundStatus, SessionPlan, Settings,
    ShopId, Source, Task,
};
use bawaba_core::method::PaymentMethod;
use bawaba_core::money::{Currency, Money};
use bawaba_core::notification::{EventType, Notification};
use bawaba_core::payment::PaymentState;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

const AMOUNT: i64 = 10_000;
/// "closable" has a call to close a page; "sticky" has none; on "form" (APS-like) a page holds no
/// transaction until the shopper submits it, and says so ("never opened").
const GATEWAYS: [&str; 3] = ["closable", "sticky", "form"];
const METHODS: [PaymentMethod; 3] = [PaymentMethod::Mada, PaymentMethod::Visa, PaymentMethod::Mastercard];

fn settings() -> Settings {
    Settings {
        retry_base_ms: 1_000,
        retry_max_ms: 20_000,
        notify_timeout_ms: 1_000,
        give_up_after_ms: 3_600_000,
        reconcile_after_ms: 2_000,
        expire_after_ms: 60_000,
        watch_after_ms: 3_600_000,
        gateway_timeout_ms: 1_000,
        // Small, so that random histories reach the card-testing limit (invariant checked below).
        sessions_per_payment: 4,
        payment_limit_window_ms: 30_000,
        return_check_reuse_ms: 500,
    }
}

/// What the gateway does with a refund it is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RefundReply {
    Succeed,
    Pend,
    Decline,
    /// No answer reaches the edge, but the gateway did refund.
    LostAfterRefunding,
    /// No answer, and nothing happened.
    LostBefore,
}

#[derive(Debug, Clone)]
enum Action {
    /// The shopper picks a method; the route's first gateway is `gateway`.
    Start { method: usize, gateway: usize },
    /// The shopper pays on the page of session `session` (an old tab, maybe).
    Pay { session: usize, authorize_only: bool },
    /// The card is declined on that page.
    Decline { session: usize },
    /// The gateway expires that page by itself.
    GatewayExpires { session: usize },
    /// The shopper comes back, or a webhook arrives, for that session: the edge asks.
    Hear { session: usize, source: Source },
    /// Whether the gateways answer the edge.
    Reachable(bool),
    /// How the shop answers notifications.
    Shop(ShopMode),
    /// Time passes; the payment's alarm fires.
    Tick { ms: i64 },
    /// The shop asks for a refund.
    Refund { key: usize, amount: Option<i64>, reply: RefundReply },
    /// The gateway settles a pending refund.
    SettleRefund { index: usize, succeed: bool },
    /// Capture or void from the shop.
    Capture { key: usize },
    /// The edge restarts: the payment is what was stored.
    Restart,
    /// Someone refunds `amount` of the order's charge in the gateway's dashboard; the gateway's
    /// webhook about it arrives now, or only later (a retry: the drain delivers it).
    DashboardRefund { amount: i64, webhook_now: bool },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ShopMode {
    Ok,
    Fails,
    TimesOut,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PageState {
    /// Nothing attempted yet on a "form" page.
    Unopened,
    Open,
    Paid {
        captured: bool,
    },
    Failed,
    Canceled,
}

#[derive(Debug, Clone)]
struct GatewayRefund {
    transaction: String,
    amount: i64,
    state: OperationStatus,
    id: String,
}

/// The gateways and the shop, as the edge cannot see them.
#[derive(Debug, Default)]
struct World {
    pages: BTreeMap<String, (String, PageState)>, // gateway payment id → (gateway, state)
    refunds: Vec<GatewayRefund>,
    unreachable: bool,
    shop: Option<ShopMode>,
    now: i64,
    /// Events the shop acknowledged, by id: (type, body).
    shop_got: BTreeMap<String, (EventType, String)>,
    /// Bodies of every event ever stored, by id (they must never change or vanish).
    stored: BTreeMap<String, String>,
    /// Refunds made in a gateway's dashboard (the edge cannot know of them until it asks).
    dashboard_refunds: u32,
    /// Refunds the edge asked for beyond what the gateway had left: must never happen while
    /// no dashboard refund muddied the waters.
    excess_asks: u32,
    /// Webhooks of dashboard refunds not delivered yet (session ids).
    late_webhooks: Vec<String>,
}

impl World {
    fn refunded_at_gateway(&self, transaction: &str) -> i64 {
        self.refunds
            .iter()
            .filter(|r| r.transaction == transaction && r.state == OperationStatus::Succeeded)
            .map(|r| r.amount)
            .sum()
    }

    fn captured_at_gateway(&self, transaction: &str) -> i64 {
        let id = transaction.trim_start_matches("tx_");
        match self.pages.get(id) {
            Some((_, PageState::Paid { captured: true })) => AMOUNT,
            _ => 0,
        }
    }

    fn answer_for(&self, payment: &Payment, gateway_payment_id: &str) -> Result<GatewayPayment, GatewayError> {
        if self.unreachable {
            return Err(GatewayError::Unreachable("no answer within 1000 ms".into()));
        }
        let (gateway, page) = self.pages.get(gateway_payment_id).expect("a page the edge made");
        let state = match page {
            PageState::Unopened => PaymentState::Created,
            PageState::Open => PaymentState::Pending,
            PageState::Paid { captured: true } => PaymentState::Paid,
            PageState::Paid { captured: false } => PaymentState::Authorized,
            PageState::Failed => PaymentState::Failed,
            PageState::Canceled => PaymentState::Canceled,
        };
        Ok(GatewayPayment {
            id: gateway_payment_id.to_string(),
            transaction_id: Some(format!("tx_{gateway_payment_id}")),
            reference: payment.gateway_reference(),
            state,
            money: payment.money,
            card_brand: None,
            card_last4: None,
            error: None,
            // "form" gateways (APS-like) do not report refunded totals.
            refunded: (gateway != "form").then(|| self.refunded_at_gateway(&format!("tx_{gateway_payment_id}"))),
            three_ds: None,
        })
    }

    fn send_refund(
        &mut self,
        transaction: &str,
        money: Money,
        reply: RefundReply,
    ) -> Result<OperationResult, GatewayError> {
        if self.unreachable {
            return Err(GatewayError::Unreachable("down".into()));
        }
        let id = format!("gw_rf_{}", self.refunds.len());
        let left = self.captured_at_gateway(transaction)
            - self
                .refunds
                .iter()
                .filter(|r| r.transaction == transaction && r.state == OperationStatus::Pending)
                .map(|r| r.amount)
                .sum::<i64>()
            - self.refunded_at_gateway(transaction);
        if money.minor > left {
            // Real gateways refuse to refund more than is left.
            self.excess_asks += 1;
            return Err(GatewayError::Rejected { status: 400, message: "amount exceeds what is left".into() });
        }
        let state = match reply {
            RefundReply::Succeed | RefundReply::LostAfterRefunding => OperationStatus::Succeeded,
            RefundReply::Pend => OperationStatus::Pending,
            RefundReply::Decline => OperationStatus::Failed(bawaba_core::notification::ErrorInfo {
                code: "refund_declined".into(),
                message: "declined".into(),
            }),
            RefundReply::LostBefore => return Err(GatewayError::Unreachable("timeout".into())),
        };
        // A gateway refuses to refund more than it captured (real ones do too); the model
        // records what the edge asked for, so an over-refund is caught by the invariant below.
        self.refunds.push(GatewayRefund {
            transaction: transaction.to_string(),
            amount: money.minor,
            state: state.clone(),
            id: id.clone(),
        });
        if reply == RefundReply::LostAfterRefunding {
            return Err(GatewayError::Unreachable("timeout".into()));
        }
        Ok(OperationResult { id, status: state, money })
    }
}

struct Harness {
    world: World,
    payment: Payment,
    /// Keys used and the body they were used with.
    keys: BTreeMap<usize, String>,
}

fn at(now: i64) -> At {
    At { now_ms: now, settings: settings() }
}

impl Harness {
    fn new() -> Harness {
        let world = World { now: 1_800_000_000_000, ..World::default() };
        let payment = Payment::new(
            NewPayment {
                shop: ShopId::parse("shop").unwrap(),
                reference: Reference::parse("S00042").unwrap(),
                money: Money::new(AMOUNT, Currency::parse("SAR").unwrap()),
                order: Order {
                    return_url: "https://shop.example/return".into(),
                    notify_url: "https://shop.example/notify".into(),
                    customer_name: None,
                    customer_email: None,
                },
                edge_origin: "https://edge.example".into(),
                seed: [7; 16],
            },
            &at(world.now),
        );
        Harness { world, payment, keys: BTreeMap::new() }
    }

    fn at(&self) -> At {
        at(self.world.now)
    }

    fn session_ids(&self) -> Vec<String> {
        self.payment.sessions.iter().map(|s| s.id.clone()).collect()
    }

    fn pick(&self, i: usize) -> Option<(String, String)> {
        let s = self.payment.sessions.get(i % self.payment.sessions.len().max(1))?;
        Some((s.id.clone(), s.gateway_payment_id.clone()))
    }

    fn ask(&mut self, session_id: &str, gateway_payment_id: &str, source: Source) {
        let answer = self.world.answer_for(&self.payment, gateway_payment_id);
        let expected = self.payment.gateway_reference();
        let at = self.at();
        self.payment.observe(session_id, answer, &expected, source, &at);
    }

    /// What the Durable Object does on a command or an alarm: deliver what is due, run the
    /// due gateway work, settle.
    fn wake(&mut self) {
        for _ in 0..3 {
            let at = self.at();
            let tasks = self.payment.due_tasks(&at);
            if tasks.is_empty() {
                break;
            }
            for task in tasks {
                self.perform(task);
            }
        }
        let at = self.at();
        self.payment.settle(&at);
        self.deliver();
    }

    fn perform(&mut self, task: Task) {
        let at = self.at();
        match task {
            Task::Ask(s) => self.ask(&s.session_id, &s.gateway_payment_id, Source::Reconciliation),
            Task::Close(s) => {
                if !self.world.unreachable && s.gateway == GATEWAYS[0] {
                    if let Some((_, page)) = self.world.pages.get_mut(&s.gateway_payment_id) {
                        if *page == PageState::Open {
                            *page = PageState::Canceled;
                        }
                    }
                }
                self.payment.close_attempted(&s.session_id, "asked");
            }
            Task::Refund(order) => {
                let result = self.world.send_refund(&order.transaction_id, order.money, RefundReply::Succeed);
                let id = order.refund_id.expect("refund id");
                self.payment.refund_answered(&id, result, Source::Edge, &at);
            }
            Task::CheckRefund { refund_id, gateway_refund_id, money, .. } => {
                let result = if self.world.unreachable {
                    Err(GatewayError::Unreachable("down".into()))
                } else {
                    let r = self.world.refunds.iter().find(|r| r.id == gateway_refund_id).expect("known refund");
                    Ok(OperationResult { id: r.id.clone(), status: r.state.clone(), money })
                };
                self.payment.refund_answered(&refund_id, result, Source::Reconciliation, &at);
            }
        }
    }

    fn deliver(&mut self) {
        for _ in 0..50 {
            let now = self.world.now;
            let at = self.at();
            let _ = now;
            let Some(entry) = self.payment.start_delivery(&at) else { break };
            let result = match self.world.shop.unwrap_or(ShopMode::Ok) {
                ShopMode::Ok => {
                    self.world.shop_got.insert(entry.event_id.clone(), (entry.event_type, entry.body.clone()));
                    Ok(())
                }
                ShopMode::Fails => Err("the shop answered HTTP 500".into()),
                ShopMode::TimesOut => Err("no answer within 1000 ms".into()),
            };
            let at = self.at();
            self.payment.delivery_result(&entry.event_id, result, &at);
            if self.world.shop != Some(ShopMode::Ok) && self.world.shop.is_some() {
                break;
            }
        }
    }

    fn apply(&mut self, action: &Action) {
        let at = self.at();
        match action.clone() {
            Action::Start { method, gateway } => {
                let method = METHODS[method % METHODS.len()];
                if let Ok(SessionPlan::Start { session_id }) = self.payment.plan_session(method, false, &at) {
                    if self.world.unreachable {
                        return; // every gateway down: nothing starts, nothing is stored
                    }
                    let gateway = GATEWAYS[gateway % GATEWAYS.len()];
                    let gateway_payment_id = format!("pay_{}", self.world.pages.len());
                    let page = if gateway == "form" { PageState::Unopened } else { PageState::Open };
                    self.world.pages.insert(gateway_payment_id.clone(), (gateway.to_string(), page));
                    let to_close = self.payment.add_session(
                        format!("ps_x_{session_id}"),
                        NewSession {
                            gateway: gateway.into(),
                            method,
                            gateway_payment_id,
                            redirect_url: "https://gateway.example/page".into(),
                            form_fields: None,
                            flow: bawaba_core::gateway::SessionFlow::Hosted,
                            start_latency_ms: None,
                        },
                        &at,
                    );
                    for s in to_close {
                        self.perform(Task::Close(s));
                    }
                }
            }
            Action::Pay { session, authorize_only } => {
                if let Some((_, gid)) = self.pick(session) {
                    let page = &mut self.world.pages.get_mut(&gid).unwrap().1;
                    if matches!(*page, PageState::Open | PageState::Unopened) {
                        *page = PageState::Paid { captured: !authorize_only };
                    }
                }
            }
            Action::Decline { session } => {
                if let Some((_, gid)) = self.pick(session) {
                    let page = &mut self.world.pages.get_mut(&gid).unwrap().1;
                    if matches!(*page, PageState::Open | PageState::Unopened) {
                        *page = PageState::Failed;
                    }
                }
            }
            Action::GatewayExpires { session } => {
                if let Some((_, gid)) = self.pick(session) {
                    let page = &mut self.world.pages.get_mut(&gid).unwrap().1;
                    if *page == PageState::Open {
                        *page = PageState::Canceled;
                    }
                }
            }
            Action::Hear { session, source } => {
                if let Some((sid, gid)) = self.pick(session) {
                    // As the edge does: a return just after a check is answered from it.
                    if source != Source::Return || self.payment.return_asks_gateway(&sid, &at) {
                        self.ask(&sid, &gid, source);
                    }
                    self.wake();
                }
            }
            Action::Reachable(up) => self.world.unreachable = !up,
            Action::Shop(mode) => self.world.shop = Some(mode),
            Action::Tick { ms } => {
                self.world.now += ms;
                self.wake();
            }
            Action::Refund { key, amount, reply } => {
                let body = format!("refund:{amount:?}");
                let first_use = !self.keys.contains_key(&key);
                let same_body = self.keys.get(&key).is_none_or(|b| *b == body);
                let refunds_before = self.payment.refunds.len();
                let begun = self.payment.request_refund(
                    IdempotencyKey::parse(&format!("key-{key}")).unwrap(),
                    &body,
                    amount,
                    true,
                    &at,
                );
                match begun {
                    Ok(Begin::Send(order)) => {
                        assert!(first_use, "a key already used never sends money again");
                        self.keys.insert(key, body);
                        let result = self.world.send_refund(&order.transaction_id, order.money, reply);
                        let key = IdempotencyKey::parse(&format!("key-{key}")).unwrap();
                        let _ = self.payment.operation_answered(&key, result, &at);
                    }
                    Ok(Begin::Replay(_)) => {
                        assert!(!first_use && same_body, "only the same call replays");
                        assert_eq!(self.payment.refunds.len(), refunds_before, "a replay makes no refund");
                    }
                    Err(bawaba_core::api::ApiError::IdempotencyKeyReused) => {
                        assert!(!first_use && !same_body, "a key is refused only for another call");
                    }
                    Err(_) => {
                        assert_eq!(self.payment.refunds.len(), refunds_before, "a refused refund makes no refund");
                    }
                }
                self.deliver();
            }
            Action::SettleRefund { index, succeed } => {
                let pending: Vec<usize> = (0..self.world.refunds.len())
                    .filter(|i| self.world.refunds[*i].state == OperationStatus::Pending)
                    .collect();
                if let Some(i) = pending.get(index % pending.len().max(1)) {
                    self.world.refunds[*i].state = if succeed {
                        OperationStatus::Succeeded
                    } else {
                        OperationStatus::Failed(bawaba_core::notification::ErrorInfo {
                            code: "refund_declined".into(),
                            message: "declined later".into(),
                        })
                    };
                }
            }
            Action::Capture { key } => {
                let key = IdempotencyKey::parse(&format!("capture-{key}")).unwrap();
                let begun = self.payment.request_operation(
                    bawaba_core::lifecycle::OperationKind::Capture,
                    key.clone(),
                    "capture",
                    None,
                );
                if let Ok(Begin::Send(order)) = begun {
                    let result = if self.world.unreachable {
                        Err(GatewayError::Unreachable("down".into()))
                    } else {
                        let id = order.transaction_id.trim_start_matches("tx_").to_string();
                        self.world.pages.get_mut(&id).unwrap().1 = PageState::Paid { captured: true };
                        Ok(OperationResult {
                            id: order.transaction_id.clone(),
                            status: OperationStatus::Succeeded,
                            money: order.money,
                        })
                    };
                    let _ = self.payment.operation_answered(&key, result, &at);
                }
                self.deliver();
            }
            Action::DashboardRefund { amount, webhook_now } => {
                if let Some(c) = self.payment.charge().cloned() {
                    let pending: i64 = self
                        .world
                        .refunds
                        .iter()
                        .filter(|r| r.transaction == c.transaction_id && r.state == OperationStatus::Pending)
                        .map(|r| r.amount)
                        .sum();
                    let left = self.world.captured_at_gateway(&c.transaction_id)
                        - self.world.refunded_at_gateway(&c.transaction_id)
                        - pending;
                    if amount <= left && !self.world.unreachable {
                        let id = format!("gw_rf_{}", self.world.refunds.len());
                        self.world.refunds.push(GatewayRefund {
                            transaction: c.transaction_id.clone(),
                            amount,
                            state: OperationStatus::Succeeded,
                            id,
                        });
                        self.world.dashboard_refunds += 1;
                        let gid = c.transaction_id.trim_start_matches("tx_").to_string();
                        if webhook_now {
                            self.ask(&c.session_id, &gid, Source::Webhook);
                            self.wake();
                        } else {
                            self.world.late_webhooks.push(c.session_id.clone());
                        }
                    }
                }
            }
            Action::Restart => {
                let stored = serde_json::to_string(&self.payment).expect("the payment serializes");
                self.payment = serde_json::from_str(&stored).expect("and loads back");
            }
        }
    }

    /// Invariants that hold after every step.
    fn check_always(&mut self, before: &Payment) {
        let p = &self.payment;
        // Card testing: no window holds more new sessions than the limit.
        let s = settings();
        for session in &p.sessions {
            let from = session.created_at_ms - s.payment_limit_window_ms;
            let in_window = p
                .sessions
                .iter()
                .filter(|o| o.created_at_ms > from && o.created_at_ms <= session.created_at_ms)
                .count();
            assert!(in_window as i64 <= s.sessions_per_payment, "{in_window} sessions within one window");
        }
        // 2. Event ids are unique and each stored event keeps its body forever.
        let mut ids = BTreeSet::new();
        for e in &p.outbox {
            assert!(ids.insert(e.event_id.clone()), "event id {} used twice", e.event_id);
            let n: Notification = serde_json::from_str(&e.body).expect("a notification body");
            assert_eq!(n.event_id, e.event_id);
            if let Some(old) = self.world.stored.insert(e.event_id.clone(), e.body.clone()) {
                assert_eq!(old, e.body, "event {} changed", e.event_id);
            }
        }
        for id in self.world.stored.keys() {
            assert!(ids.contains(id), "event {id} vanished from the outbox");
        }
        // Terminal states change only by documented transitions; the history is a chain.
        let applied: Vec<_> = p.history.iter().filter(|h| h.outcome == "applied").collect();
        for w in applied.windows(2) {
            assert_eq!(w[0].offered, w[1].from, "the history is one chain");
        }
        for h in &applied {
            assert!(h.from.can_become(h.offered), "{:?} -> {:?} is not a documented transition", h.from, h.offered);
        }
        if before.state != p.state {
            assert!(
                applied.iter().any(|h| h.offered == p.state),
                "state {:?} reached without a recorded transition",
                p.state
            );
        }
        // One state change, one event: the payment events, in order, are the announced
        // transitions.
        let announced: Vec<EventType> = applied.iter().filter_map(|h| EventType::for_state(h.offered)).collect();
        let payment_events: Vec<EventType> =
            p.outbox.iter().map(|e| e.event_type).filter(|t| EventType::for_state_event(*t)).collect();
        assert_eq!(announced, payment_events, "one event per state change");
        // 3. Refunded ≤ captured, locally (reserved included) and at the gateway.
        for c in &p.charges {
            let reserved: i64 = p
                .refunds
                .iter()
                .filter(|r| r.session_id == c.session_id && !matches!(r.status, RefundStatus::Failed { .. }))
                .map(|r| r.amount)
                .sum();
            assert!(reserved <= c.money.minor, "refunds {reserved} over the charge {}", c.money.minor);
            let at_gateway = self.world.refunded_at_gateway(&c.transaction_id);
            assert!(
                at_gateway <= self.world.captured_at_gateway(&c.transaction_id),
                "the gateway refunded {at_gateway} of {}",
                self.world.captured_at_gateway(&c.transaction_id)
            );
        }
        assert!(p.refunded_total() <= p.captured_total());
        if self.world.dashboard_refunds == 0 {
            assert_eq!(self.world.excess_asks, 0, "the edge asked a gateway to refund more than was left");
        }
        // 4. Canceled only when the gateway confirmed every page closed (or never opened: a
        // page with no transaction holds no money).
        if p.state == PaymentState::Canceled {
            for (id, (_, page)) in &self.world.pages {
                assert_ne!(*page, PageState::Open, "canceled while page {id} is still open at the gateway");
            }
        }
        // 5. No notification is stuck: each is settled or scheduled; the oldest (the next in
        // line; the others wait behind it) no later than the alarm.
        let wake = p.next_wake_ms();
        for e in p.outbox.iter().filter(|e| !e.is_settled()) {
            assert!(e.next_attempt_at_ms.is_some(), "an unsettled notification has its next attempt");
        }
        if let Some(head) = p.outbox.iter().find(|e| !e.is_settled()) {
            let next = head.next_attempt_at_ms.unwrap();
            assert!(wake.is_some_and(|w| w <= next), "the alarm ({wake:?}) comes after the next delivery ({next})");
        }
        if p.outbox.iter().any(|e| e.delivered_at_ms.is_none()) {
            let summary = p.delivery_summary().expect("undelivered notifications are listed");
            assert_ne!(summary.state, bawaba_core::api::DeliveryState::Delivered);
        }
    }

    /// After the world calms down (gateways up, shop answering, time passing within the watch
    /// window), everything confirmed reached the shop.
    fn drain_and_check(&mut self) {
        self.world.unreachable = false;
        self.world.shop = Some(ShopMode::Ok);
        // The gateways' webhook retries get through.
        for session_id in std::mem::take(&mut self.world.late_webhooks) {
            let gid = self.payment.sessions.iter().find(|s| s.id == session_id).unwrap().gateway_payment_id.clone();
            self.ask(&session_id, &gid, Source::Webhook);
        }
        for _ in 0..40 {
            let before = self.payment.clone();
            self.world.now += 20_000;
            self.wake();
            self.check_always(&before);
        }
        let p = &self.payment;
        // 5. Everything stored was delivered (the shop answers and the window is open).
        for e in &p.outbox {
            assert!(e.delivered_at_ms.is_some() || e.failed, "event {} still undelivered", e.event_id);
        }
        // 1. Every charge the gateway confirmed reached the shop.
        let charged: Vec<&String> = self
            .world
            .pages
            .iter()
            .filter(|(_, (_, s))| matches!(s, PageState::Paid { .. }))
            .map(|(id, _)| id)
            .collect();
        let got: BTreeMap<EventType, usize> = self.world.shop_got.values().fold(BTreeMap::new(), |mut m, (t, _)| {
            *m.entry(*t).or_default() += 1;
            m
        });
        if let Some(first) = charged.first() {
            let _ = first;
            assert!(
                got.contains_key(&EventType::PaymentSucceeded) || got.contains_key(&EventType::PaymentAuthorized),
                "a confirmed charge was never announced; the shop got {got:?}"
            );
            assert!(p.state.holds_money() || matches!(p.state, PaymentState::Refunded | PaymentState::Voided));
            assert_eq!(p.charges.len(), charged.len(), "each confirmed charge is recorded once");
        }
        // Where the gateway reports its refunded totals, the edge's books match the gateway's:
        // no refund left unknown, nothing refunded that the edge does not know of.
        for c in &p.charges {
            let gateway = &self.world.pages[c.transaction_id.trim_start_matches("tx_")].0;
            if gateway == "form" || self.world.captured_at_gateway(&c.transaction_id) == 0 {
                continue;
            }
            let ours: i64 = p
                .refunds
                .iter()
                .filter(|r| r.session_id == c.session_id && r.status == RefundStatus::Succeeded)
                .map(|r| r.amount)
                .sum();
            let of_charge = || p.refunds.iter().filter(|r| r.session_id == c.session_id);
            let unknown = of_charge()
                .filter(|r| matches!(r.status, RefundStatus::Unknown { .. } | RefundStatus::InFlight))
                .count();
            let pending = of_charge().any(|r| r.status == RefundStatus::Pending);
            if pending {
                continue; // the total cannot tell while a refund is pending: unknown ones wait
            }
            let ambiguous = unknown > 1 && {
                let at_gateway = self.world.refunded_at_gateway(&c.transaction_id);
                let unknown_sum: i64 = of_charge()
                    .filter(|r| matches!(r.status, RefundStatus::Unknown { .. } | RefundStatus::InFlight))
                    .map(|r| r.amount)
                    .sum();
                let smallest = of_charge()
                    .filter(|r| matches!(r.status, RefundStatus::Unknown { .. } | RefundStatus::InFlight))
                    .map(|r| r.amount)
                    .min()
                    .unwrap_or(0);
                at_gateway - ours >= smallest && at_gateway < ours + unknown_sum
            };
            if ambiguous {
                continue; // some of several lost refunds happened: which cannot be told; reserved
            }
            assert_eq!(unknown, 0, "a refund of {} is still unknown after the drain", c.transaction_id);
            assert_eq!(
                ours,
                self.world.refunded_at_gateway(&c.transaction_id),
                "the edge's refunds match the gateway's"
            );
        }
        // A second charge is refunded in full by the edge, or reported.
        for c in p.charges.iter().filter(|c| c.duplicate) {
            let refunded = self.world.refunded_at_gateway(&c.transaction_id);
            let reported = self.world.shop_got.values().any(|(t, b)| {
                matches!(t, EventType::PaymentDuplicateRefunded | EventType::PaymentDuplicateDetected)
                    && b.contains(&format!("\"gateway_payment_id\":\"{}\"", c.transaction_id.trim_start_matches("tx_")))
            });
            assert!(reported, "second charge {} not reported", c.transaction_id);
            if c.captured {
                assert_eq!(refunded, c.money.minor, "second charge {} not refunded in full", c.transaction_id);
            }
        }
        // Nobody paid and every page is closed: the payment is closed too, and said so.
        let open_pages = self.world.pages.values().any(|(_, s)| matches!(s, PageState::Open | PageState::Unopened));
        if charged.is_empty() && !open_pages && !self.payment.sessions.is_empty() {
            assert!(
                matches!(p.state, PaymentState::Failed | PaymentState::Canceled),
                "every page closed, nothing paid, but the payment is {:?}",
                p.state
            );
        }
        let _ = self.session_ids();
    }
}

trait PaymentEvent {
    fn for_state_event(t: EventType) -> bool;
}

impl PaymentEvent for EventType {
    /// Events that announce a state the payment reached from a gateway's answer or the clock.
    fn for_state_event(t: EventType) -> bool {
        matches!(
            t,
            EventType::PaymentSucceeded
                | EventType::PaymentAuthorized
                | EventType::PaymentFailed
                | EventType::PaymentCanceled
                | EventType::PaymentVoided
        )
    }
}

fn source() -> impl Strategy<Value = Source> {
    prop_oneof![Just(Source::Return), Just(Source::Webhook)]
}

fn refund_reply() -> impl Strategy<Value = RefundReply> {
    prop_oneof![
        3 => Just(RefundReply::Succeed),
        2 => Just(RefundReply::Pend),
        1 => Just(RefundReply::Decline),
        1 => Just(RefundReply::LostAfterRefunding),
        1 => Just(RefundReply::LostBefore),
    ]
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        3 => (0..3usize, 0..3usize).prop_map(|(method, gateway)| Action::Start { method, gateway }),
        3 => (0..4usize, prop::bool::weighted(0.15)).prop_map(|(session, authorize_only)| Action::Pay { session, authorize_only }),
        2 => (0..4usize).prop_map(|session| Action::Decline { session }),
        1 => (0..4usize).prop_map(|session| Action::GatewayExpires { session }),
        4 => (0..4usize, source()).prop_map(|(session, source)| Action::Hear { session, source }),
        1 => any::<bool>().prop_map(Action::Reachable),
        1 => prop_oneof![Just(ShopMode::Ok), Just(ShopMode::Fails), Just(ShopMode::TimesOut)].prop_map(Action::Shop),
        3 => prop_oneof![1i64..3_000, 10_000i64..70_000].prop_map(|ms| Action::Tick { ms }),
        3 => (0..4usize, prop::option::of(prop_oneof![1i64..4_000, Just(AMOUNT), Just(AMOUNT + 1), -5i64..1]), refund_reply())
            .prop_map(|(key, amount, reply)| Action::Refund { key, amount, reply }),
        1 => (0..3usize, any::<bool>()).prop_map(|(index, succeed)| Action::SettleRefund { index, succeed }),
        1 => (0..2usize).prop_map(|key| Action::Capture { key }),
        1 => Just(Action::Restart),
        1 => (prop_oneof![1i64..3_000, Just(AMOUNT)], any::<bool>())
            .prop_map(|(amount, webhook_now)| Action::DashboardRefund { amount, webhook_now }),
    ]
}

fn cases() -> u32 {
    std::env::var("BAWABA_PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(3_000)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        max_shrink_iters: 20_000,
        // Tests write nothing outside target/: no regression files in the source tree.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Every invariant, after every step of a random history and after it calms down.
    #[test]
    fn money_is_never_lost_doubled_or_misattributed(actions in prop::collection::vec(action(), 1..60)) {
        let mut h = Harness::new();
        for a in &actions {
            let before = h.payment.clone();
            h.apply(a);
            h.check_always(&before);
        }
        h.drain_and_check();
    }
}

/// The scenarios the property found worth pinning, as plain examples.
mod examples {
    use super::*;

    fn start(h: &mut Harness, method: usize, gateway: usize) {
        h.apply(&Action::Start { method, gateway });
    }

    #[test]
    fn a_page_paid_after_the_expiry_makes_the_payment_paid() {
        let mut h = Harness::new();
        start(&mut h, 0, 1); // sticky: the gateway cannot close its page
        h.apply(&Action::Tick { ms: 70_000 });
        assert_eq!(h.payment.state, PaymentState::Pending, "kept open: the gateway did not close the page");
        h.apply(&Action::Pay { session: 0, authorize_only: false });
        h.apply(&Action::Hear { session: 0, source: Source::Webhook });
        assert_eq!(h.payment.state, PaymentState::Paid);
        let types: Vec<_> = h.payment.outbox.iter().map(|e| e.event_type).collect();
        assert_eq!(types, [EventType::PaymentSucceeded]);
    }

    #[test]
    fn an_expired_payment_whose_page_was_closed_is_canceled_and_a_late_charge_still_counts() {
        let mut h = Harness::new();
        start(&mut h, 0, 0); // closable
        h.apply(&Action::Tick { ms: 70_000 });
        assert_eq!(h.payment.state, PaymentState::Canceled);
        // The gateway closed the page, so in this model it cannot be paid any more; a gateway
        // that pays it anyway is believed.
        let gid = h.payment.sessions[0].gateway_payment_id.clone();
        h.world.pages.get_mut(&gid).unwrap().1 = PageState::Paid { captured: true };
        h.apply(&Action::Hear { session: 0, source: Source::Webhook });
        assert_eq!(h.payment.state, PaymentState::Paid);
        let types: Vec<_> = h.payment.outbox.iter().map(|e| e.event_type).collect();
        assert_eq!(types, [EventType::PaymentCanceled, EventType::PaymentSucceeded]);
    }

    #[test]
    fn a_declined_newer_tab_does_not_hide_a_paid_older_one_and_a_second_charge_is_refunded() {
        let mut h = Harness::new();
        start(&mut h, 0, 1); // mada on the sticky gateway (its page stays open)
        start(&mut h, 1, 0); // visa on the other
        h.apply(&Action::Decline { session: 1 });
        h.apply(&Action::Hear { session: 1, source: Source::Return });
        assert_eq!(h.payment.state, PaymentState::Failed);
        h.apply(&Action::Pay { session: 0, authorize_only: false });
        h.apply(&Action::Tick { ms: 5_000 }); // no webhook: reconciliation finds it
        assert_eq!(h.payment.state, PaymentState::Paid);
        assert_eq!(h.payment.charge().unwrap().session_id, h.payment.sessions[0].id);
    }

    #[test]
    fn two_tabs_both_paid_one_is_refunded_in_full_by_the_edge() {
        let mut h = Harness::new();
        start(&mut h, 0, 1);
        start(&mut h, 1, 1);
        h.apply(&Action::Pay { session: 1, authorize_only: false });
        h.apply(&Action::Hear { session: 1, source: Source::Return });
        h.apply(&Action::Pay { session: 0, authorize_only: false });
        h.apply(&Action::Hear { session: 0, source: Source::Webhook });
        assert_eq!(h.payment.state, PaymentState::Paid);
        let duplicate = h.payment.charges.iter().find(|c| c.duplicate).unwrap().clone();
        assert_eq!(h.world.refunded_at_gateway(&duplicate.transaction_id), AMOUNT);
        let types: Vec<_> = h.payment.outbox.iter().map(|e| e.event_type).collect();
        assert_eq!(types, [EventType::PaymentSucceeded, EventType::PaymentDuplicateRefunded]);
    }

    #[test]
    fn the_same_refund_twice_moves_money_once_and_another_body_is_refused() {
        let mut h = Harness::new();
        start(&mut h, 0, 0);
        h.apply(&Action::Pay { session: 0, authorize_only: false });
        h.apply(&Action::Hear { session: 0, source: Source::Return });
        for _ in 0..2 {
            h.apply(&Action::Refund { key: 1, amount: Some(1_000), reply: RefundReply::Succeed });
        }
        assert_eq!(h.world.refunds.len(), 1);
        assert_eq!(h.payment.refunded_total(), 1_000);
        let at = h.at();
        let other = h.payment.request_refund(
            IdempotencyKey::parse("key-1").unwrap(),
            "refund:Some(2000)",
            Some(2_000),
            true,
            &at,
        );
        assert_eq!(other, Err(bawaba_core::api::ApiError::IdempotencyKeyReused));
        assert_eq!(h.payment.state, PaymentState::PartiallyRefunded);
    }

    #[test]
    fn a_pending_refund_declined_later_frees_the_amount_and_tells_the_shop() {
        let mut h = Harness::new();
        start(&mut h, 0, 0);
        h.apply(&Action::Pay { session: 0, authorize_only: false });
        h.apply(&Action::Hear { session: 0, source: Source::Return });
        h.apply(&Action::Refund { key: 0, amount: None, reply: RefundReply::Pend });
        assert_eq!(h.payment.state, PaymentState::Paid);
        h.apply(&Action::Refund { key: 1, amount: Some(1), reply: RefundReply::Succeed });
        assert!(h.world.refunds.len() == 1, "the pending refund reserves the whole amount");
        h.apply(&Action::SettleRefund { index: 0, succeed: false });
        h.apply(&Action::Tick { ms: 5_000 });
        let types: Vec<_> = h.payment.outbox.iter().map(|e| e.event_type).collect();
        assert_eq!(types, [EventType::PaymentSucceeded, EventType::RefundFailed]);
        h.apply(&Action::Refund { key: 2, amount: None, reply: RefundReply::Succeed });
        assert_eq!(h.payment.state, PaymentState::Refunded);
    }

    #[test]
    fn a_dashboard_refund_hidden_behind_a_pending_one_is_found_when_it_settles() {
        // Found by the soak: the pending refund's reservation hid the dashboard refund from the
        // total the webhook brought; once the pending one succeeds, a fresh total shows it.
        let mut h = Harness::new();
        start(&mut h, 0, 0);
        h.apply(&Action::Pay { session: 0, authorize_only: false });
        h.apply(&Action::Hear { session: 0, source: Source::Return });
        h.apply(&Action::Refund { key: 0, amount: Some(1), reply: RefundReply::Pend });
        h.apply(&Action::DashboardRefund { amount: 1, webhook_now: true });
        h.apply(&Action::SettleRefund { index: 0, succeed: true });
        h.drain_and_check();
        assert_eq!(h.payment.refunded_total(), 2);
    }

    #[test]
    fn a_refund_whose_answer_was_lost_is_never_sent_twice() {
        let mut h = Harness::new();
        start(&mut h, 0, 0);
        h.apply(&Action::Pay { session: 0, authorize_only: false });
        h.apply(&Action::Hear { session: 0, source: Source::Return });
        h.apply(&Action::Refund { key: 0, amount: None, reply: RefundReply::LostAfterRefunding });
        h.apply(&Action::Refund { key: 0, amount: None, reply: RefundReply::Succeed });
        h.apply(&Action::Refund { key: 1, amount: None, reply: RefundReply::Succeed });
        assert_eq!(h.world.refunds.len(), 1, "the amount stays reserved");
    }

    #[test]
    fn a_shop_down_for_a_while_gets_every_event_in_order_once_it_answers() {
        let mut h = Harness::new();
        h.apply(&Action::Shop(ShopMode::Fails));
        start(&mut h, 0, 0);
        h.apply(&Action::Pay { session: 0, authorize_only: false });
        h.apply(&Action::Hear { session: 0, source: Source::Return });
        h.apply(&Action::Refund { key: 0, amount: Some(100), reply: RefundReply::Succeed });
        h.apply(&Action::Restart);
        h.apply(&Action::Tick { ms: 60_000 });
        assert!(h.world.shop_got.is_empty());
        h.apply(&Action::Shop(ShopMode::Ok));
        h.apply(&Action::Tick { ms: 25_000 });
        let got: Vec<_> =
            h.payment.outbox.iter().filter(|e| e.delivered_at_ms.is_some()).map(|e| e.event_type).collect();
        assert_eq!(got, [EventType::PaymentSucceeded, EventType::RefundSucceeded]);
    }

    #[test]
    fn switching_methods_past_the_limit_is_rate_limited_until_the_window_frees_a_place() {
        let mut h = Harness::new();
        let limit = settings().sessions_per_payment as usize;
        let first = h.world.now;
        for i in 0..limit {
            start(&mut h, i % 2, 0);
            h.world.now += 1_000;
        }
        assert_eq!(h.payment.sessions.len(), limit, "each switch started a session");
        let at = h.at();
        match h.payment.plan_session(METHODS[limit % 2], false, &at) {
            Err(bawaba_core::api::ApiError::RateLimited { retry_after_secs, .. }) => {
                let frees_at = first + settings().payment_limit_window_ms;
                assert_eq!(retry_after_secs, (frees_at - at.now_ms) / 1000);
            }
            other => panic!("expected rate_limited, got {other:?}"),
        }
        // The method whose page is still open is reused: that starts nothing and is allowed.
        assert!(matches!(h.payment.plan_session(METHODS[(limit - 1) % 2], false, &at), Ok(SessionPlan::Reuse(_))));
        // Once the oldest start leaves the window, one more may start.
        let later = At { now_ms: first + settings().payment_limit_window_ms + 1, settings: settings() };
        assert!(matches!(h.payment.plan_session(METHODS[limit % 2], false, &later), Ok(SessionPlan::Start { .. })));
    }

    #[test]
    fn a_return_just_after_a_check_is_answered_from_it() {
        let mut h = Harness::new();
        start(&mut h, 0, 0);
        let sid = h.payment.sessions[0].id.clone();
        assert!(h.payment.return_asks_gateway(&sid, &h.at()), "never asked: the return asks");
        h.apply(&Action::Hear { session: 0, source: Source::Webhook });
        assert!(!h.payment.return_asks_gateway(&sid, &h.at()), "asked just now: reuse");
        let reuse = settings().return_check_reuse_ms;
        let later = At { now_ms: h.world.now + reuse, settings: settings() };
        assert!(h.payment.return_asks_gateway(&sid, &later), "the answer is stale: ask again");
    }
}
