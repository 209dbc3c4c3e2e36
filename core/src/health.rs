//! Gateway health and the circuit breaker: a failing gateway is bypassed before shoppers wait.
//!
//! Without it, while a gateway is down every new payment waits for the gateway timeout
//! (`GATEWAY_TIMEOUT_MS`, 15 s) before the edge moves to the method's next gateway. With it, the
//! edge keeps a rolling record per gateway of what its session starts did (answered, or an
//! outage: no answer, 5xx, timeout) and how long they took, and a breaker per gateway:
//!
//! - **closed** (healthy): every start is tried;
//! - **open** (degraded): after `GATEWAY_BREAKER_FAILURES` (3) outages in a row, starts skip
//!   this gateway and go straight to the next one for `GATEWAY_BREAKER_COOLDOWN_SECS` (30);
//! - **probing**: after the cool-down one start is let through as a probe (the others still skip
//!   it); an answer closes the breaker (recovered), an outage opens it again.
//!
//! The breaker only decides where a *new* session starts, before any charge exists. What a
//! gateway says about a session already started (returns, webhooks, checks after an ambiguous
//! timeout) is always asked of that gateway: a charge must never be missed because its gateway
//! was marked down. A refusal (wrong key, bad data) is an answer, not an outage: it never opens
//! the breaker.

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// How many recent starts the rolling record keeps per gateway.
pub const WINDOW: usize = 50;

/// The breaker's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakerSettings {
    /// Outages in a row that open the breaker (`GATEWAY_BREAKER_FAILURES`, 3).
    pub failures_to_open: u32,
    /// How long an open breaker skips the gateway before a probe (`GATEWAY_BREAKER_COOLDOWN_SECS`, 30 s).
    pub cool_down_ms: i64,
    /// How long a probe may stay unanswered before another may be let through (the gateway
    /// timeout and a margin: a probe whose worker died must not hold the breaker forever).
    pub probe_timeout_ms: i64,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        BreakerSettings { failures_to_open: 3, cool_down_ms: 30_000, probe_timeout_ms: 20_000 }
    }
}

impl BreakerSettings {
    /// Reads the settings through `lookup`, with `gateway_timeout_ms` for the probe's timeout. A
    /// value that is not a positive integer keeps its default and is named in the warnings.
    pub fn read(lookup: impl Fn(&str) -> Option<String>, gateway_timeout_ms: i64) -> (BreakerSettings, Vec<String>) {
        let mut s =
            BreakerSettings { probe_timeout_ms: gateway_timeout_ms.saturating_add(5_000), ..Default::default() };
        let mut warnings = Vec::new();
        let positive = |name: &str, warnings: &mut Vec<String>| -> Option<i64> {
            let raw = lookup(name)?;
            let v = raw.trim().parse::<i64>().ok().filter(|v| *v > 0 && *v < i64::from(u32::MAX));
            if v.is_none() {
                warnings.push(format!("setting {name} must be a positive integer, not {raw:?}; using the default"));
            }
            v
        };
        if let Some(v) = positive("GATEWAY_BREAKER_FAILURES", &mut warnings) {
            s.failures_to_open = v as u32;
        }
        if let Some(v) = positive("GATEWAY_BREAKER_COOLDOWN_SECS", &mut warnings) {
            s.cool_down_ms = v * 1000;
        }
        (s, warnings)
    }
}

/// The breaker's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Breaker {
    /// Healthy: every start is tried.
    Closed,
    /// Degraded: skipped until `until_ms`.
    Open {
        /// When a probe may be let through (unix ms).
        until_ms: i64,
    },
    /// One start is trying the gateway, since `since_ms`.
    Probing {
        /// When the probe was let through (unix ms).
        since_ms: i64,
    },
}

/// What a start should do with a gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Admission {
    /// Try it.
    Try,
    /// Try it as the probe of an open breaker.
    Probe,
    /// Skip it: go to the next gateway for the method.
    Skip {
        /// When it may be tried again (unix ms).
        until_ms: i64,
    },
}

/// What a start did at a gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// When (unix ms).
    pub at_ms: i64,
    /// How long the gateway took (or how long the edge waited, for an outage).
    pub latency_ms: i64,
    /// No answer, a 5xx or a timeout.
    pub outage: bool,
}

/// A change the shop and the operator hear about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transition {
    /// The breaker opened: the gateway is being bypassed.
    Degraded,
    /// An answer closed it again.
    Recovered,
}

/// One gateway's health: its breaker and its recent starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayHealth {
    /// The breaker.
    pub breaker: Breaker,
    /// Outages since the last answer.
    pub failures_in_a_row: u32,
    /// The last [`WINDOW`] starts, oldest first.
    pub recent: VecDeque<Outcome>,
}

impl Default for GatewayHealth {
    fn default() -> Self {
        GatewayHealth { breaker: Breaker::Closed, failures_in_a_row: 0, recent: VecDeque::new() }
    }
}

impl GatewayHealth {
    /// Whether a new session may start at this gateway now. Letting a probe through marks it,
    /// so concurrent starts skip the gateway until the probe's outcome is recorded (or it is
    /// older than `probe_timeout_ms`).
    pub fn admit(&mut self, now_ms: i64, s: &BreakerSettings) -> Admission {
        match self.breaker {
            Breaker::Closed => Admission::Try,
            Breaker::Open { until_ms } if now_ms < until_ms => Admission::Skip { until_ms },
            Breaker::Probing { since_ms } if now_ms < since_ms.saturating_add(s.probe_timeout_ms) => {
                Admission::Skip { until_ms: since_ms.saturating_add(s.probe_timeout_ms) }
            }
            Breaker::Open { .. } | Breaker::Probing { .. } => {
                self.breaker = Breaker::Probing { since_ms: now_ms };
                Admission::Probe
            }
        }
    }

    /// Records what a start did; returns the transition it caused, if any. An outage while
    /// closed counts towards opening; any outage while probing (or open) opens it again for a
    /// full cool-down; an answer closes it.
    pub fn record(&mut self, outcome: Outcome, s: &BreakerSettings) -> Option<Transition> {
        self.recent.push_back(outcome);
        while self.recent.len() > WINDOW {
            self.recent.pop_front();
        }
        let was_closed = self.breaker == Breaker::Closed;
        if outcome.outage {
            self.failures_in_a_row = self.failures_in_a_row.saturating_add(1);
            if !was_closed || self.failures_in_a_row >= s.failures_to_open.max(1) {
                self.breaker = Breaker::Open { until_ms: outcome.at_ms.saturating_add(s.cool_down_ms) };
                return was_closed.then_some(Transition::Degraded);
            }
            None
        } else {
            self.failures_in_a_row = 0;
            self.breaker = Breaker::Closed;
            (!was_closed).then_some(Transition::Recovered)
        }
    }

    /// The view `GET /v1/health` shows: state, recent outage rate and latency.
    pub fn view(&self) -> HealthView {
        let mut latencies: Vec<i64> = self.recent.iter().filter(|o| !o.outage).map(|o| o.latency_ms).collect();
        latencies.sort_unstable();
        let pick = |p: usize| (!latencies.is_empty()).then(|| latencies[(latencies.len() - 1) * p / 100]);
        HealthView {
            state: match self.breaker {
                Breaker::Closed => "healthy",
                Breaker::Open { .. } => "degraded",
                Breaker::Probing { .. } => "probing",
            }
            .to_string(),
            recent_starts: self.recent.len(),
            recent_outages: self.recent.iter().filter(|o| o.outage).count(),
            latency_p50_ms: pick(50),
            latency_p95_ms: pick(95),
        }
    }
}

/// A gateway's health as `GET /v1/health` shows it (no secrets: counts and timings only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthView {
    /// `healthy`, `degraded` or `probing`.
    pub state: String,
    /// Starts in the rolling record.
    pub recent_starts: usize,
    /// Of which outages.
    pub recent_outages: usize,
    /// Median latency of the answered ones.
    pub latency_p50_ms: Option<i64>,
    /// 95th percentile.
    pub latency_p95_ms: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: BreakerSettings = BreakerSettings { failures_to_open: 3, cool_down_ms: 30_000, probe_timeout_ms: 20_000 };

    fn outage(at_ms: i64) -> Outcome {
        Outcome { at_ms, latency_ms: 15_000, outage: true }
    }

    fn answer(at_ms: i64) -> Outcome {
        Outcome { at_ms, latency_ms: 200, outage: false }
    }

    #[test]
    fn three_outages_in_a_row_open_it_a_probe_after_the_cool_down_closes_it() {
        let mut h = GatewayHealth::default();
        assert_eq!(h.record(outage(0), &S), None);
        assert_eq!(h.record(outage(1), &S), None);
        assert_eq!(h.admit(2, &S), Admission::Try, "still closed after two");
        assert_eq!(h.record(outage(2), &S), Some(Transition::Degraded));
        assert_eq!(h.admit(3, &S), Admission::Skip { until_ms: 30_002 });
        assert_eq!(h.admit(30_002, &S), Admission::Probe);
        assert!(matches!(h.admit(30_003, &S), Admission::Skip { .. }), "one probe at a time");
        assert_eq!(h.record(answer(30_500), &S), Some(Transition::Recovered));
        assert_eq!(h.admit(30_600, &S), Admission::Try);
        assert_eq!(h.view().state, "healthy");
        assert_eq!(h.view().recent_outages, 3);
    }

    #[test]
    fn a_failed_probe_opens_it_for_another_cool_down_without_a_second_degraded() {
        let mut h = GatewayHealth::default();
        for t in 0..3 {
            h.record(outage(t), &S);
        }
        assert_eq!(h.admit(40_000, &S), Admission::Probe);
        assert_eq!(h.record(outage(40_100), &S), None, "already degraded: the shop heard it once");
        assert_eq!(h.admit(40_200, &S), Admission::Skip { until_ms: 70_100 });
    }

    #[test]
    fn an_answer_between_outages_keeps_it_closed() {
        let mut h = GatewayHealth::default();
        for t in 0..10 {
            h.record(if t % 3 == 2 { answer(t) } else { outage(t) }, &S);
        }
        assert_eq!(h.breaker, Breaker::Closed);
    }

    #[test]
    fn a_probe_that_never_reports_does_not_hold_the_breaker() {
        let mut h = GatewayHealth::default();
        for t in 0..3 {
            h.record(outage(t), &S);
        }
        assert_eq!(h.admit(31_000, &S), Admission::Probe);
        assert!(matches!(h.admit(31_000 + S.probe_timeout_ms - 1, &S), Admission::Skip { .. }));
        assert_eq!(h.admit(31_000 + S.probe_timeout_ms, &S), Admission::Probe);
    }

    #[test]
    fn the_record_is_bounded_and_latency_counts_answers_only() {
        let mut h = GatewayHealth::default();
        for t in 0..(WINDOW as i64 + 20) {
            h.record(Outcome { at_ms: t, latency_ms: t, outage: false }, &S);
        }
        h.record(outage(1_000), &S);
        assert_eq!(h.recent.len(), WINDOW);
        let v = h.view();
        assert_eq!(v.recent_outages, 1);
        assert!(v.latency_p95_ms.unwrap() >= v.latency_p50_ms.unwrap());
    }

    #[test]
    fn settings_read_with_defaults_and_warnings() {
        let (s, w) = BreakerSettings::read(
            |n| match n {
                "GATEWAY_BREAKER_FAILURES" => Some("5".into()),
                "GATEWAY_BREAKER_COOLDOWN_SECS" => Some("soon".into()),
                _ => None,
            },
            3_000,
        );
        assert_eq!((s.failures_to_open, s.cool_down_ms, s.probe_timeout_ms), (5, 30_000, 8_000));
        assert_eq!(w.len(), 1);
    }
}
