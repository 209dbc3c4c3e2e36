//! Limits on starting payment sessions: the card-testing defence.
//!
//! Every session the edge starts is an invoice or a charge attempt at a gateway, so a stolen
//! list of cards can be tried through any shop's checkout one session at a time. Three limits
//! stand in the way, each a setting with a documented default:
//!
//! | setting | default | counts |
//! |---|---|---|
//! | `LIMIT_SESSIONS_PER_PAYMENT` | 10 | sessions one payment (one intent) starts, including method switches, per `LIMIT_PAYMENT_WINDOW_SECS` (default 3600) |
//! | `LIMIT_SESSIONS_PER_CLIENT_PER_MINUTE` | 30 | sessions started from one client IP address for one shop, per calendar minute |
//! | `LIMIT_SESSIONS_PER_SHOP_PER_MINUTE` | 600 | sessions started for one shop, per calendar minute |
//!
//! A session that is reused (the shopper comes back to the same method while its page is
//! still open) starts nothing and counts for nothing. A refused start answers 429
//! `rate_limited` with `Retry-After`.
//!
//! The per-payment limit is exact (the payment knows its sessions: see
//! `Payment::plan_session`). The per-client and per-shop limits are fixed windows counted by
//! [`WindowCounter`]: exact within a minute, and at most twice the limit across a minute's
//! boundary, which is the price of a counter that needs no history.

use std::collections::BTreeMap;

/// The per-client and per-shop limits (the per-payment one is in the lifecycle's settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    /// `LIMIT_SESSIONS_PER_CLIENT_PER_MINUTE`.
    pub per_client_per_minute: u32,
    /// `LIMIT_SESSIONS_PER_SHOP_PER_MINUTE`.
    pub per_shop_per_minute: u32,
    /// `LIMIT_STCPAY_PER_MOBILE_PER_MINUTE`: STC Pay sessions per mobile number for one shop.
    /// Each sends a text message to that number: without this, anyone with a cart could make the
    /// shop send codes to someone else's phone.
    pub stcpay_per_mobile_per_minute: u32,
}

impl Default for SessionLimits {
    fn default() -> Self {
        SessionLimits { per_client_per_minute: 30, per_shop_per_minute: 600, stcpay_per_mobile_per_minute: 2 }
    }
}

impl SessionLimits {
    /// Reads the limits through `lookup`. A value that is not a positive integer keeps its
    /// default and is named in the warnings (for the log): a typo never turns a limit off.
    pub fn read(lookup: impl Fn(&str) -> Option<String>) -> (SessionLimits, Vec<String>) {
        let mut limits = SessionLimits::default();
        let mut warnings = Vec::new();
        let fields: [(&str, &mut u32); 3] = [
            ("LIMIT_SESSIONS_PER_CLIENT_PER_MINUTE", &mut limits.per_client_per_minute),
            ("LIMIT_SESSIONS_PER_SHOP_PER_MINUTE", &mut limits.per_shop_per_minute),
            ("LIMIT_STCPAY_PER_MOBILE_PER_MINUTE", &mut limits.stcpay_per_mobile_per_minute),
        ];
        for (name, field) in fields {
            let Some(raw) = lookup(name) else { continue };
            match raw.trim().parse::<u32>().ok().filter(|v| *v > 0) {
                Some(v) => *field = v,
                None => warnings.push(format!("setting {name} must be a positive integer, not {raw:?}; using {field}")),
            }
        }
        (limits, warnings)
    }
}

/// Which limit refused a start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitScope {
    /// One payment started too many sessions.
    Payment,
    /// One client address started too many sessions for this shop.
    Client,
    /// The shop as a whole started too many sessions.
    Shop,
    /// Too many STC Pay codes were asked for one mobile number.
    Mobile,
}

impl LimitScope {
    /// In words, for the error message.
    pub fn describe(self) -> &'static str {
        match self {
            LimitScope::Payment => "this payment has started too many sessions",
            LimitScope::Client => "too many payment sessions from this address",
            LimitScope::Shop => "too many payment sessions for this shop",
            LimitScope::Mobile => "too many STC Pay codes were asked for this mobile number",
        }
    }
}

/// A refusal: which limit, and how long until a start may be admitted again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    /// The limit that refused.
    pub scope: LimitScope,
    /// Whole seconds until the window that refused ends (at least 1).
    pub retry_after_secs: i64,
}

/// Fixed-window counters for many keys at once: one window for all keys, so rolling over to
/// the next window forgets every key (memory is what one window saw, never more).
#[derive(Debug, Clone)]
pub struct WindowCounter {
    window_ms: i64,
    window: i64,
    counts: BTreeMap<String, u32>,
}

impl WindowCounter {
    /// Counters over windows of `window_ms` (clamped to at least 1 ms).
    pub fn new(window_ms: i64) -> WindowCounter {
        WindowCounter { window_ms: window_ms.max(1), window: i64::MIN, counts: BTreeMap::new() }
    }

    /// Admits one start counted against every `(key, limit, scope)` if each key is under its
    /// limit, and counts it for all of them; otherwise counts nothing and names the first limit
    /// that refused. Refused starts are not counted, so a client that waits gets in again.
    pub fn admit(&mut self, now_ms: i64, keys: &[(&str, u32, LimitScope)]) -> Result<(), Refusal> {
        let window = now_ms.div_euclid(self.window_ms);
        if window != self.window {
            self.window = window;
            self.counts.clear();
        }
        for (key, limit, scope) in keys {
            if self.counts.get(*key).copied().unwrap_or(0) >= *limit {
                let ends_ms = window.saturating_add(1).saturating_mul(self.window_ms);
                let retry_after_secs = (ends_ms.saturating_sub(now_ms) + 999) / 1000;
                return Err(Refusal { scope: *scope, retry_after_secs: retry_after_secs.max(1) });
            }
        }
        for (key, _, _) in keys {
            *self.counts.entry((*key).to_string()).or_insert(0) += 1;
        }
        Ok(())
    }

    /// How many keys the current window holds.
    pub fn len(&self) -> usize {
        self.counts.len()
    }

    /// Whether the current window holds no key.
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: i64 = 60_000;

    fn keys<'a>(client: &'a str, shop: &'a str, limits: SessionLimits) -> [(&'a str, u32, LimitScope); 2] {
        [
            (client, limits.per_client_per_minute, LimitScope::Client),
            (shop, limits.per_shop_per_minute, LimitScope::Shop),
        ]
    }

    #[test]
    fn a_client_gets_exactly_its_limit_per_window_then_a_retry_after() {
        let limits =
            SessionLimits { per_client_per_minute: 3, per_shop_per_minute: 100, stcpay_per_mobile_per_minute: 2 };
        let mut c = WindowCounter::new(MINUTE);
        let t0 = 10 * MINUTE + 15_000;
        for _ in 0..3 {
            assert_eq!(c.admit(t0, &keys("ip:a", "shop", limits)), Ok(()));
        }
        let refused = c.admit(t0 + 500, &keys("ip:a", "shop", limits)).unwrap_err();
        assert_eq!(refused, Refusal { scope: LimitScope::Client, retry_after_secs: 45 });
        // Another client is not affected; the shop counted only the admitted starts.
        assert_eq!(c.admit(t0, &keys("ip:b", "shop", limits)), Ok(()));
        // The next window admits again.
        assert_eq!(c.admit(11 * MINUTE, &keys("ip:a", "shop", limits)), Ok(()));
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn the_documented_defaults_admit_30_per_client_and_600_per_shop_a_minute() {
        let limits = SessionLimits::default();
        let mut c = WindowCounter::new(MINUTE);
        for _ in 0..30 {
            assert!(c.admit(0, &keys("ip:a", "shop", limits)).is_ok());
        }
        assert_eq!(c.admit(0, &keys("ip:a", "shop", limits)).unwrap_err().scope, LimitScope::Client);
        for i in 0..570 {
            assert!(c.admit(0, &keys(&format!("ip:{i}"), "shop", limits)).is_ok());
        }
        assert_eq!(c.admit(0, &keys("ip:last", "shop", limits)).unwrap_err().scope, LimitScope::Shop);
    }

    #[test]
    fn the_shop_ceiling_holds_across_clients() {
        let limits =
            SessionLimits { per_client_per_minute: 100, per_shop_per_minute: 5, stcpay_per_mobile_per_minute: 2 };
        let mut c = WindowCounter::new(MINUTE);
        for i in 0..5 {
            assert_eq!(c.admit(0, &keys(&format!("ip:{i}"), "shop", limits)), Ok(()));
        }
        assert_eq!(c.admit(59_999, &keys("ip:new", "shop", limits)).unwrap_err().scope, LimitScope::Shop);
        assert_eq!(c.admit(59_999, &keys("ip:new", "shop", limits)).unwrap_err().retry_after_secs, 1);
    }

    #[test]
    fn malformed_limits_keep_their_defaults_and_say_so() {
        let (l, warnings) = SessionLimits::read(|n| match n {
            "LIMIT_SESSIONS_PER_CLIENT_PER_MINUTE" => Some("0".into()),
            "LIMIT_SESSIONS_PER_SHOP_PER_MINUTE" => Some(" 50 ".into()),
            _ => None,
        });
        assert_eq!(
            l,
            SessionLimits { per_client_per_minute: 30, per_shop_per_minute: 50, stcpay_per_mobile_per_minute: 2 }
        );
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("LIMIT_SESSIONS_PER_CLIENT_PER_MINUTE"));
    }

    #[test]
    fn times_before_1970_and_huge_times_do_not_overflow() {
        let mut c = WindowCounter::new(MINUTE);
        let one = [("k", 1, LimitScope::Client)];
        assert!(c.admit(i64::MIN, &one).is_ok());
        assert!(c.admit(i64::MIN, &one).unwrap_err().retry_after_secs >= 1);
        assert!(c.admit(i64::MAX, &one).is_ok());
        assert!(c.admit(i64::MAX, &one).unwrap_err().retry_after_secs >= 1);
    }
}
