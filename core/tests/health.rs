//! The circuit breaker under random histories of starts, outages, answers and time: the shop
//! hears degraded and recovered alternately (never twice the same), a degraded gateway is never
//! tried before its cool-down ends, and at most one probe is in flight.

use bawaba_core::health::{Admission, BreakerSettings, GatewayHealth, Outcome, Transition};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Step {
    Admit,
    Record { outage: bool },
    Tick(i64),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => Just(Step::Admit),
        3 => any::<bool>().prop_map(|outage| Step::Record { outage }),
        2 => prop_oneof![1i64..2_000, 20_000i64..40_000].prop_map(Step::Tick),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn the_breaker_keeps_its_promises(steps in prop::collection::vec(step(), 1..120)) {
        let s = BreakerSettings { failures_to_open: 3, cool_down_ms: 30_000, probe_timeout_ms: 20_000 };
        let mut h = GatewayHealth::default();
        let mut now = 1_800_000_000_000i64;
        let mut last_transition = None;
        let mut skipped_until = None::<i64>;
        let mut probe_open_since = None::<i64>;
        for st in steps {
            match st {
                Step::Tick(ms) => now += ms,
                Step::Admit => match h.admit(now, &s) {
                    Admission::Skip { until_ms } => {
                        prop_assert!(until_ms > now);
                        skipped_until = Some(until_ms);
                    }
                    Admission::Probe => {
                        if let Some(until) = skipped_until {
                            prop_assert!(now >= until, "a probe before the cool-down ended");
                        }
                        if let Some(since) = probe_open_since {
                            prop_assert!(now >= since + s.probe_timeout_ms, "two probes in flight");
                        }
                        probe_open_since = Some(now);
                    }
                    Admission::Try => {
                        prop_assert!(last_transition != Some(Transition::Degraded), "a degraded gateway tried");
                    }
                },
                Step::Record { outage } => {
                    if let Some(t) = h.record(Outcome { at_ms: now, latency_ms: 10, outage }, &s) {
                        prop_assert_ne!(Some(t), last_transition, "the same transition twice in a row");
                        last_transition = Some(t);
                    }
                    probe_open_since = None;
                    skipped_until = None;
                }
            }
        }
    }
}
