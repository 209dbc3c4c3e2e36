//! The payment's outbox: every notification to the shop, stored in the same write as the state
//! change it announces, then delivered in order, one at a time, with exponential backoff and
//! jitter until the shop answers 2xx or the delivery window closes.
//!
//! Order matters to a shop: `refund.succeeded` before `payment.succeeded` would find nothing to
//! refund. So only the oldest undelivered notification is attempted; the ones behind it wait
//! (and are listed as pending). One the shop never accepts holds the others for at most the
//! delivery window (72 h by default), then is marked failed, kept for the operator, and the
//! next goes.

use super::settings::Settings;
use super::{At, Session};
use crate::api::{DeliveryState, DeliveryView};
use crate::notification::{ErrorInfo, EventType, Notification};
use serde::{Deserialize, Serialize};

/// A notification waiting in (or delivered from) the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// The event id, stable across retries and restarts.
    pub event_id: String,
    /// The event type.
    pub event_type: EventType,
    /// The exact body sent (signed afresh at each attempt, with a new timestamp).
    pub body: String,
    /// Attempts so far.
    pub attempts: u32,
    /// When it was written (unix ms).
    pub created_at_ms: i64,
    /// When the next attempt is due (unix ms); `None` once delivered or given up.
    pub next_attempt_at_ms: Option<i64>,
    /// When the shop acknowledged it (unix ms).
    pub delivered_at_ms: Option<i64>,
    /// Last failure.
    pub last_error: Option<String>,
    /// Given up after the delivery window.
    pub failed: bool,
}

impl OutboxEntry {
    /// Whether nothing more will be done with it.
    pub fn is_settled(&self) -> bool {
        self.delivered_at_ms.is_some() || self.failed
    }

    /// Where it stands.
    pub fn state(&self) -> DeliveryState {
        if self.delivered_at_ms.is_some() {
            DeliveryState::Delivered
        } else if self.failed {
            DeliveryState::Failed
        } else if self.attempts > 0 {
            DeliveryState::Failing
        } else {
            DeliveryState::Pending
        }
    }

    /// The delivery as the API shows it.
    pub fn view(&self) -> DeliveryView {
        DeliveryView {
            event_id: self.event_id.clone(),
            event_type: self.event_type,
            state: self.state(),
            attempts: self.attempts,
            last_error: self.last_error.clone(),
            next_attempt_at_ms: self.next_attempt_at_ms,
        }
    }

    /// Records the outcome of an attempt at `now`. `jitter` is a random byte (the lifecycle
    /// derives it from the payment's seed, so a replay of the same inputs gives the same plan).
    pub(super) fn record_attempt(&mut self, result: Result<(), String>, now: i64, settings: &Settings, jitter: u8) {
        if self.is_settled() {
            return;
        }
        self.attempts += 1;
        match result {
            Ok(()) => {
                self.delivered_at_ms = Some(now);
                self.next_attempt_at_ms = None;
                self.last_error = None;
            }
            Err(why) => {
                self.last_error = Some(why);
                if now.saturating_sub(self.created_at_ms) >= settings.give_up_after_ms {
                    self.failed = true;
                    self.next_attempt_at_ms = None;
                } else {
                    let delay = retry_delay_ms(settings.retry_base_ms, settings.retry_max_ms, self.attempts, jitter);
                    self.next_attempt_at_ms = Some(now.saturating_add(delay));
                }
            }
        }
    }
}

/// Exponential backoff with ±20 % jitter, capped: 30 s, 1 min, 2 min, … 1 h with the defaults.
/// `jitter` is a random byte: 128 is no jitter.
pub fn retry_delay_ms(base: i64, max: i64, attempts: u32, jitter: u8) -> i64 {
    let exp = base.max(1).saturating_mul(1i64 << attempts.saturating_sub(1).min(30));
    let capped = exp.min(max.max(1));
    let offset = (jitter as i64 - 128).saturating_mul(capped) / 640; // within ±20 %
    (capped + offset).max(1)
}

impl super::Payment {
    pub(super) fn emit(
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
    pub(super) fn emit_with(
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_with_bounded_jitter() {
        for attempts in 1..=12 {
            let expected = (30_000i64 << (attempts - 1)).min(3_600_000);
            for jitter in [0u8, 64, 128, 200, 255] {
                let d = retry_delay_ms(30_000, 3_600_000, attempts, jitter);
                assert!(d >= expected * 8 / 10 && d <= expected * 12 / 10, "attempt {attempts}: {d} vs {expected}");
            }
        }
        assert_eq!(retry_delay_ms(0, 0, u32::MAX, 0), 1, "never zero, never overflows");
    }
}
