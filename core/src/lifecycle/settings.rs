//! The lifecycle's timing, from the edge's settings. Defaults are production values; tests
//! shorten them. A malformed value never stops the machinery (an alarm that could not read its
//! settings would never re-arm): it falls back to the default, and the edge logs the warning.

/// Every delay the lifecycle uses, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// First retry delay of a notification (`NOTIFY_RETRY_BASE_MS`, 30 s).
    pub retry_base_ms: i64,
    /// Longest delay between attempts (`NOTIFY_RETRY_MAX_MS`, 1 h); also caps the
    /// reconciliation backoff.
    pub retry_max_ms: i64,
    /// How long the shop may take to answer (`NOTIFY_TIMEOUT_MS`, 10 s).
    pub notify_timeout_ms: i64,
    /// How long to keep retrying a notification (`NOTIFY_GIVE_UP_AFTER_SECS`, 72 h).
    pub give_up_after_ms: i64,
    /// Ask the gateway after this long without a result (`RECONCILE_AFTER_SECS`, 5 min).
    pub reconcile_after_ms: i64,
    /// Close a payment still undecided after this long (`PAYMENT_EXPIRES_AFTER_SECS`, 2 h).
    pub expire_after_ms: i64,
    /// After the expiry, how long to keep asking about gateway sessions the gateway has not
    /// confirmed closed, and about other sessions of a decided payment that could still be
    /// paid (`SESSION_WATCH_AFTER_SECS`, 7 days).
    pub watch_after_ms: i64,
    /// How long a gateway may take to answer (`GATEWAY_TIMEOUT_MS`, 15 s).
    pub gateway_timeout_ms: i64,
    /// How many sessions one payment may start per window (`LIMIT_SESSIONS_PER_PAYMENT`, 10):
    /// the card-testing defence per intent (see [`crate::limits`]).
    pub sessions_per_payment: i64,
    /// That window (`LIMIT_PAYMENT_WINDOW_SECS`, 1 h).
    pub payment_limit_window_ms: i64,
    /// A shopper's return within this long of the last gateway check of its session is
    /// answered from that check (`RETURN_CHECK_REUSE_MS`, 5 s).
    pub return_check_reuse_ms: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            retry_base_ms: 30_000,
            retry_max_ms: 3_600_000,
            notify_timeout_ms: 10_000,
            give_up_after_ms: 72 * 3_600_000,
            reconcile_after_ms: 300_000,
            expire_after_ms: 2 * 3_600_000,
            watch_after_ms: 7 * 24 * 3_600_000,
            gateway_timeout_ms: 15_000,
            sessions_per_payment: 10,
            payment_limit_window_ms: 3_600_000,
            return_check_reuse_ms: 5_000,
        }
    }
}

/// One setting: its name, its unit (ms per unit of the setting), and its field.
type Field = (&'static str, i64, fn(&mut Settings) -> &mut i64);

const FIELDS: &[Field] = &[
    ("NOTIFY_RETRY_BASE_MS", 1, |s| &mut s.retry_base_ms),
    ("NOTIFY_RETRY_MAX_MS", 1, |s| &mut s.retry_max_ms),
    ("NOTIFY_TIMEOUT_MS", 1, |s| &mut s.notify_timeout_ms),
    ("NOTIFY_GIVE_UP_AFTER_SECS", 1000, |s| &mut s.give_up_after_ms),
    ("RECONCILE_AFTER_SECS", 1000, |s| &mut s.reconcile_after_ms),
    ("PAYMENT_EXPIRES_AFTER_SECS", 1000, |s| &mut s.expire_after_ms),
    ("SESSION_WATCH_AFTER_SECS", 1000, |s| &mut s.watch_after_ms),
    ("GATEWAY_TIMEOUT_MS", 1, |s| &mut s.gateway_timeout_ms),
    ("LIMIT_SESSIONS_PER_PAYMENT", 1, |s| &mut s.sessions_per_payment),
    ("LIMIT_PAYMENT_WINDOW_SECS", 1000, |s| &mut s.payment_limit_window_ms),
    ("RETURN_CHECK_REUSE_MS", 1, |s| &mut s.return_check_reuse_ms),
];

impl Settings {
    /// The setting names this reads.
    pub fn names() -> impl Iterator<Item = &'static str> {
        FIELDS.iter().map(|(name, _, _)| *name)
    }

    /// Reads each setting through `lookup`. A value that is not a positive integer (or that
    /// overflows once in milliseconds) keeps the default; each such value is named in the
    /// returned warnings, for the log.
    pub fn read(lookup: impl Fn(&str) -> Option<String>) -> (Settings, Vec<String>) {
        let mut settings = Settings::default();
        let mut warnings = Vec::new();
        for (name, unit, field) in FIELDS {
            let Some(raw) = lookup(name) else { continue };
            let parsed = raw.trim().parse::<i64>().ok().filter(|v| *v > 0).and_then(|v| v.checked_mul(*unit));
            match parsed {
                Some(ms) => *field(&mut settings) = ms,
                None => warnings.push(format!(
                    "setting {name} must be a positive integer, not {raw:?}; using the default {}",
                    *field(&mut Settings::default()) / unit
                )),
            }
        }
        (settings, warnings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_settings_fall_back_to_their_defaults_and_say_so() {
        let (s, warnings) = Settings::read(|name| match name {
            "NOTIFY_RETRY_BASE_MS" => Some("250".into()),
            "RECONCILE_AFTER_SECS" => Some("soon".into()),
            "PAYMENT_EXPIRES_AFTER_SECS" => Some("-5".into()),
            "NOTIFY_GIVE_UP_AFTER_SECS" => Some(i64::MAX.to_string()),
            _ => None,
        });
        assert_eq!(s.retry_base_ms, 250);
        assert_eq!(s.reconcile_after_ms, Settings::default().reconcile_after_ms);
        assert_eq!(s.expire_after_ms, Settings::default().expire_after_ms);
        assert_eq!(s.give_up_after_ms, Settings::default().give_up_after_ms);
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        assert!(warnings[0].contains("NOTIFY_GIVE_UP_AFTER_SECS") || warnings.iter().any(|w| w.contains("soon")));
    }
}
