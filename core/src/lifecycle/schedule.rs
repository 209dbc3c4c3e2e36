//! What time decides: the next round of asking gateways, the expiry (invariant 4), refund
//! follow-ups, and the next wake-up.

use super::*;

impl Payment {
    pub(super) fn undecided(&self) -> bool {
        matches!(self.state, PaymentState::Created | PaymentState::Pending)
    }

    pub(super) fn expires_at_ms(&self, at: &At) -> i64 {
        self.created_at_ms.saturating_add(at.settings.expire_after_ms)
    }

    pub(super) fn watch_until_ms(&self, at: &At) -> i64 {
        self.expires_at_ms(at).saturating_add(at.settings.watch_after_ms)
    }

    pub(super) fn open_sessions(&self) -> impl Iterator<Item = &Session> {
        self.sessions.iter().rev().filter(|s| s.status == SessionStatus::Open)
    }

    /// Whether the edge still asks the gateway about this payment's sessions.
    pub(super) fn watching(&self, at: &At) -> bool {
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
            let open: Vec<SessionRef> = self.open_sessions().map(|s| s.to_ref()).collect();
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
                    // Asked about if the edge stops before the answer is recorded.
                    r.next_check_at_ms = Some(now.saturating_add(in_flight_grace(at)));
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
                RefundStatus::InFlight | RefundStatus::Unknown { .. }
                    if r.next_check_at_ms.is_some_and(|t| t <= now) =>
                {
                    // The gateway's refunded total on the charge says whether it happened.
                    r.next_check_at_ms = r.another_check(at);
                    let ask = Task::Ask(session.to_ref());
                    if !tasks.contains(&ask) && !refund_tasks.contains(&ask) {
                        refund_tasks.push(ask);
                    }
                }
                _ => {}
            }
        }
        for c in self.charges.iter_mut().filter(|c| c.recheck_at_ms.is_some_and(|t| t <= now)) {
            c.recheck_at_ms = None;
            if let Some(session) = self.sessions.iter().find(|s| s.id == c.session_id) {
                let ask = Task::Ask(session.to_ref());
                if !tasks.contains(&ask) && !refund_tasks.contains(&ask) {
                    refund_tasks.push(ask);
                }
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

    /// When the payment next needs its alarm: the next delivery attempt, the next round of
    /// asking the gateway, or the next refund check. `None`: nothing more to do.
    pub fn next_wake_ms(&self) -> Option<i64> {
        let delivery = self.outbox.iter().find(|e| !e.is_settled()).and_then(|e| e.next_attempt_at_ms);
        let refunds = self.refunds.iter().filter_map(|r| match r.status {
            RefundStatus::Queued => Some(self.created_at_ms),
            RefundStatus::Pending | RefundStatus::InFlight | RefundStatus::Unknown { .. } => r.next_check_at_ms,
            _ => None,
        });
        let rechecks = self.charges.iter().filter_map(|c| c.recheck_at_ms);
        delivery.into_iter().chain(self.reconcile_at_ms).chain(refunds).chain(rechecks).min()
    }
}

/// How long a refund may be in flight before the edge, having stopped in between, asks the
/// gateway whether it happened.
pub(super) fn in_flight_grace(at: &At) -> i64 {
    at.settings.gateway_timeout_ms.saturating_add(5_000)
}
