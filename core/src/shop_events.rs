//! Events about the edge itself (not about one payment) that a shop hears: today a gateway's
//! circuit breaker opening (`gateway.degraded`) and closing (`gateway.recovered`), see
//! [`crate::health`]. They go to the shop's notification URL (the one its latest payment gave),
//! signed like payment notifications, retried with the same backoff until the shop answers 2xx.
//! A shop that does not know the type acknowledges it (the contract: unknown types are
//! acknowledged), so an older shop is never retried forever.

use crate::health::Transition;
use crate::lifecycle::Settings;
use serde::{Deserialize, Serialize};

/// The body sent to the shop. Field names are the contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShopEvent {
    /// Unique per event, stable across retries: the shop deduplicates on it.
    pub event_id: String,
    /// `gateway.degraded` or `gateway.recovered`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The shop it is for.
    pub shop_id: String,
    /// The gateway's code.
    pub gateway: String,
    /// What happened, in English, for the operator.
    pub message: String,
    /// When (unix seconds).
    pub created_at: i64,
}

impl ShopEvent {
    /// The event for a breaker's transition.
    pub fn gateway(event_id: String, shop_id: &str, gateway: &str, transition: Transition, now_secs: i64) -> Self {
        let (event_type, message) = match transition {
            Transition::Degraded => (
                "gateway.degraded",
                format!(
                    "{gateway} is failing (no answer, server errors or timeouts): new payments go to the next \
                     gateway routed for their method, or are refused at once where there is none, until it answers again"
                ),
            ),
            Transition::Recovered => ("gateway.recovered", format!("{gateway} answers again: new payments use it again")),
        };
        ShopEvent {
            event_id,
            event_type: event_type.to_string(),
            shop_id: shop_id.to_string(),
            gateway: gateway.to_string(),
            message,
            created_at: now_secs,
        }
    }
}

/// An event waiting for the shop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Queued {
    /// The body, serialized once (every retry sends the same bytes).
    pub body: String,
    /// Its event id.
    pub event_id: String,
    /// When it was queued (unix ms).
    pub queued_at_ms: i64,
    /// Attempts so far.
    pub attempts: u32,
    /// When to try next (unix ms).
    pub next_at_ms: i64,
    /// The last failure, for the log.
    pub last_error: Option<String>,
}

/// A shop's queue of events, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventQueue {
    /// The events not delivered yet.
    pub pending: Vec<Queued>,
}

impl EventQueue {
    /// Queues `event`, due now.
    pub fn push(&mut self, event: &ShopEvent, now_ms: i64) {
        let body = serde_json::to_string(event).expect("an event serializes");
        self.pending.push(Queued {
            body,
            event_id: event.event_id.clone(),
            queued_at_ms: now_ms,
            attempts: 0,
            next_at_ms: now_ms,
            last_error: None,
        });
    }

    /// The events due now, oldest first.
    pub fn due(&self, now_ms: i64) -> Vec<Queued> {
        self.pending.iter().filter(|q| q.next_at_ms <= now_ms).cloned().collect()
    }

    /// Records an attempt: delivered events leave the queue; failed ones are retried with the
    /// payment notifications' backoff (doubling from `retry_base_ms`, capped at `retry_max_ms`)
    /// and dropped after `give_up_after_ms` (logged by the caller from the returned list).
    pub fn attempted(&mut self, event_id: &str, outcome: Result<(), String>, now_ms: i64, s: &Settings) -> Vec<Queued> {
        let mut dropped = Vec::new();
        if let Some(i) = self.pending.iter().position(|q| q.event_id == event_id) {
            match outcome {
                Ok(()) => {
                    self.pending.remove(i);
                }
                Err(why) => {
                    let q = &mut self.pending[i];
                    q.attempts = q.attempts.saturating_add(1);
                    q.last_error = Some(why);
                    let delay = s.retry_base_ms.saturating_mul(1i64 << q.attempts.min(20).saturating_sub(1));
                    q.next_at_ms = now_ms.saturating_add(delay.min(s.retry_max_ms));
                    if now_ms.saturating_sub(q.queued_at_ms) >= s.give_up_after_ms {
                        dropped.push(self.pending.remove(i));
                    }
                }
            }
        }
        dropped
    }

    /// When the next attempt is due, if any.
    pub fn next_wake_ms(&self) -> Option<i64> {
        self.pending.iter().map(|q| q.next_at_ms).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings { retry_base_ms: 1_000, retry_max_ms: 8_000, give_up_after_ms: 60_000, ..Settings::default() }
    }

    #[test]
    fn an_event_is_retried_with_backoff_until_delivered_once() {
        let mut q = EventQueue::default();
        let e = ShopEvent::gateway("gev_1".into(), "demo", "moyasar", Transition::Degraded, 1_800_000_000);
        assert_eq!(e.event_type, "gateway.degraded");
        q.push(&e, 0);
        assert_eq!(q.due(0).len(), 1);
        q.attempted("gev_1", Err("HTTP 500".into()), 0, &settings());
        assert_eq!(q.next_wake_ms(), Some(1_000));
        assert!(q.due(999).is_empty());
        q.attempted("gev_1", Err("HTTP 500".into()), 1_000, &settings());
        assert_eq!(q.next_wake_ms(), Some(3_000), "doubled");
        let body = q.due(3_000)[0].body.clone();
        assert_eq!(serde_json::from_str::<ShopEvent>(&body).unwrap(), e, "the same bytes every time");
        q.attempted("gev_1", Ok(()), 3_000, &settings());
        assert!(q.pending.is_empty());
        assert_eq!(q.next_wake_ms(), None);
    }

    #[test]
    fn an_event_nobody_takes_is_dropped_after_the_give_up_window() {
        let mut q = EventQueue::default();
        q.push(&ShopEvent::gateway("gev_2".into(), "demo", "tap", Transition::Recovered, 0), 0);
        assert!(q.attempted("gev_2", Err("down".into()), 59_999, &settings()).is_empty());
        let dropped = q.attempted("gev_2", Err("down".into()), 60_000, &settings());
        assert_eq!(dropped.len(), 1);
        assert!(q.pending.is_empty());
    }
}
