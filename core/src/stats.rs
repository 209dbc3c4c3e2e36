//! The record of payment attempts and the numbers a merchant reads from it (`GET /v1/stats`,
//! the dashboard), sans-IO.
//!
//! An **attempt** is one gateway session: the shopper picked a method and the edge opened a
//! page at a gateway. [`attempts`] derives a payment's attempts from its lifecycle record; the
//! edge upserts them into D1 (`edge/migrations/`) with [`UPSERT_ATTEMPT`] whenever they change,
//! after the payment's own write and never in its way. The top of the checkout funnel (a shopper
//! was shown the methods) is one row per payment in `checkouts` ([`INSERT_CHECKOUT`]).
//!
//! [`StatsQuery::statements`] are the SQL the edge runs (one D1 batch); [`assemble`] turns their
//! rows into a [`StatsReport`]. [`compute`] is the same report computed in plain Rust from the
//! rows themselves: the tests run the SQL on SQLite and require both to agree, and the numbers to
//! equal what the tests did.
//!
//! Definitions (a contract: `docs/protocol.md`):
//! - `success_rate` = (paid + authorized) / (paid + authorized + failed + canceled): attempts
//!   still pending are not counted either way; `null` when nothing was decided.
//! - percentiles are nearest-rank: the value at rank ⌈p·n/100⌉ of the n sorted values.
//! - an attempt belongs to the window `[from, to)` by its start; a checkout by when the methods
//!   were shown.

use crate::api::ApiError;
use crate::lifecycle::{Payment, SessionStatus};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What became of an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptResult {
    /// The gateway has not decided (the page is open, or the shopper left it).
    Pending,
    /// Charged and captured.
    Paid,
    /// Authorized, to be captured.
    Authorized,
    /// Declined (see the reason).
    Failed,
    /// Closed without a charge: canceled, expired, or replaced by another method.
    Canceled,
}

impl AttemptResult {
    /// Every result, in a fixed order.
    pub const ALL: [AttemptResult; 5] = [
        AttemptResult::Pending,
        AttemptResult::Paid,
        AttemptResult::Authorized,
        AttemptResult::Failed,
        AttemptResult::Canceled,
    ];

    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptResult::Pending => "pending",
            AttemptResult::Paid => "paid",
            AttemptResult::Authorized => "authorized",
            AttemptResult::Failed => "failed",
            AttemptResult::Canceled => "canceled",
        }
    }

    /// Reads a stored word.
    pub fn parse(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == word)
    }
}

/// One row of `attempts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// Shop id.
    pub shop: String,
    /// The shop's reference.
    pub reference: String,
    /// Our session id.
    pub session_id: String,
    /// Method code.
    pub method: String,
    /// Gateway code.
    pub gateway: String,
    /// Minor units.
    pub amount_minor: i64,
    /// ISO code.
    pub currency: String,
    /// Unix ms.
    pub started_at_ms: i64,
    /// What became of it.
    pub result: AttemptResult,
    /// Failed or canceled: the normalized decline reason or the cancel code.
    pub reason: Option<String>,
    /// Passed (`true`) or failed (`false`) 3-D Secure, where the gateway says.
    pub three_ds: Option<bool>,
    /// How long the gateway took to create the session.
    pub gateway_latency_ms: Option<i64>,
    /// From the start to the gateway's verdict.
    pub time_to_result_ms: Option<i64>,
}

/// The attempts of a payment, one per session, as they stand.
pub fn attempts(payment: &Payment) -> Vec<Attempt> {
    payment
        .sessions
        .iter()
        .map(|s| {
            let charge = payment.charges.iter().find(|c| c.session_id == s.id);
            let result = match (s.status, charge) {
                (SessionStatus::Charged, Some(c)) if !c.captured && !c.voided => AttemptResult::Authorized,
                (SessionStatus::Charged, _) => AttemptResult::Paid,
                (SessionStatus::Closed, Some(_)) => AttemptResult::Paid,
                (SessionStatus::Closed, None) if s.closed_code.as_deref().is_some_and(is_cancel_code) => {
                    AttemptResult::Canceled
                }
                (SessionStatus::Closed, None) => AttemptResult::Failed,
                (SessionStatus::Open, _) => AttemptResult::Pending,
            };
            let decided = !matches!(result, AttemptResult::Pending);
            let reason = match result {
                AttemptResult::Failed | AttemptResult::Canceled => {
                    Some(s.closed_code.clone().unwrap_or_else(|| "declined".into()))
                }
                _ => None,
            };
            // A gateway that says how 3-D Secure went (the sandbox) is believed; for the others a
            // decline normalized to `authentication_failed` is a failed 3-D Secure (Moyasar's
            // "3-D Secure transaction attempt failed", Tap's and APS's authentication codes), and a
            // pass is not known (their documented answers do not say whether a challenge ran).
            let three_ds = s.three_ds.or_else(|| {
                (reason.as_deref() == Some(crate::decline::DeclineReason::AuthenticationFailed.code())).then_some(false)
            });
            Attempt {
                shop: payment.shop.to_string(),
                reference: payment.reference.to_string(),
                session_id: s.id.clone(),
                method: s.method.code().to_string(),
                gateway: s.gateway.clone(),
                amount_minor: payment.money.minor,
                currency: payment.money.currency.code().to_string(),
                started_at_ms: s.created_at_ms,
                result,
                reason,
                three_ds,
                gateway_latency_ms: s.start_latency_ms,
                time_to_result_ms: s
                    .decided_at_ms
                    .filter(|_| decided)
                    .map(|t| t.saturating_sub(s.created_at_ms).max(0)),
            }
        })
        .collect()
}

/// Codes that mean the page closed without the card being refused: the shopper or the
/// merchant ended it, or it timed out. (`canceled_by_shopper` is a decline reason too, but it
/// says nothing about the card: it counts as canceled.)
fn is_cancel_code(code: &str) -> bool {
    matches!(
        code,
        "canceled" | "canceled_by_shopper" | "superseded" | "expired_session" | "payment_expired" | "expired"
    )
}

/// The UTC day of a unix-ms time, `YYYY-MM-DD` (the date part of the one civil-date conversion,
/// [`crate::gateway::moyasar::iso8601_utc`]).
pub fn utc_day(ms: i64) -> String {
    let mut text = crate::gateway::moyasar::iso8601_utc(ms.div_euclid(1000));
    text.truncate(10);
    text
}

/// A value bound to a statement.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum SqlValue {
    /// INTEGER.
    Int(i64),
    /// TEXT.
    Text(String),
    /// NULL.
    Null,
}

impl From<Option<i64>> for SqlValue {
    fn from(v: Option<i64>) -> Self {
        v.map_or(SqlValue::Null, SqlValue::Int)
    }
}

/// A statement and its parameters (`?1`, `?2`, … in order).
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// SQL text.
    pub sql: String,
    /// Bound values.
    pub params: Vec<SqlValue>,
}

/// Inserts or updates an attempt; an older snapshot (`updated_at_ms`) never overwrites a newer.
pub const UPSERT_ATTEMPT: &str = "INSERT INTO attempts (shop, reference, session_id, method, gateway, amount_minor, \
     currency, started_at_ms, day, result, reason, three_ds, gateway_latency_ms, time_to_result_ms, updated_at_ms) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) \
     ON CONFLICT (shop, reference, session_id) DO UPDATE SET result = excluded.result, reason = excluded.reason, \
     three_ds = excluded.three_ds, gateway_latency_ms = excluded.gateway_latency_ms, \
     time_to_result_ms = excluded.time_to_result_ms, updated_at_ms = excluded.updated_at_ms \
     WHERE excluded.updated_at_ms >= attempts.updated_at_ms";

/// Records that a shopper was shown a payment's methods (the first time counts).
pub const INSERT_CHECKOUT: &str =
    "INSERT INTO checkouts (shop, reference, shown_at_ms) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING";

impl Attempt {
    /// The upsert of this attempt as of `updated_at_ms`.
    pub fn upsert(&self, updated_at_ms: i64) -> Statement {
        let text = |s: &str| SqlValue::Text(s.to_string());
        Statement {
            sql: UPSERT_ATTEMPT.to_string(),
            params: vec![
                text(&self.shop),
                text(&self.reference),
                text(&self.session_id),
                text(&self.method),
                text(&self.gateway),
                SqlValue::Int(self.amount_minor),
                text(&self.currency),
                SqlValue::Int(self.started_at_ms),
                SqlValue::Text(utc_day(self.started_at_ms)),
                text(self.result.as_str()),
                self.reason.as_deref().map_or(SqlValue::Null, text),
                self.three_ds.map(i64::from).into(),
                self.gateway_latency_ms.into(),
                self.time_to_result_ms.into(),
                SqlValue::Int(updated_at_ms),
            ],
        }
    }
}

/// The checkout-shown row.
pub fn checkout_shown(shop: &str, reference: &str, at_ms: i64) -> Statement {
    Statement {
        sql: INSERT_CHECKOUT.to_string(),
        params: vec![SqlValue::Text(shop.into()), SqlValue::Text(reference.into()), SqlValue::Int(at_ms)],
    }
}

/// How the report is split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    /// Per gateway code.
    Gateway,
    /// Per method code.
    Method,
    /// Per UTC day of the attempt's start.
    Day,
    /// Per gateway and day: the key is `gateway/day` (`moyasar/2026-12-01`; gateway codes have
    /// no `/`), for a gateway's success over time.
    GatewayDay,
}

impl GroupBy {
    fn column(self) -> &'static str {
        match self {
            GroupBy::Gateway => "gateway",
            GroupBy::Method => "method",
            GroupBy::Day => "day",
            GroupBy::GatewayDay => "gateway || '/' || day",
        }
    }

    fn key_of(self, a: &Attempt) -> String {
        match self {
            GroupBy::Gateway => a.gateway.clone(),
            GroupBy::Method => a.method.clone(),
            GroupBy::Day => utc_day(a.started_at_ms),
            GroupBy::GatewayDay => format!("{}/{}", a.gateway, utc_day(a.started_at_ms)),
        }
    }
}

/// The longest window one query may cover.
pub const MAX_WINDOW_DAYS: i64 = 366;
/// The window when none is given.
pub const DEFAULT_WINDOW_DAYS: i64 = 30;
const DAY_MS: i64 = 86_400_000;

/// A stats query: the window `[from_ms, to_ms)` and the grouping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StatsQuery {
    /// Unix ms, inclusive.
    pub from_ms: i64,
    /// Unix ms, exclusive.
    pub to_ms: i64,
    /// Grouping.
    pub group: GroupBy,
}

impl StatsQuery {
    /// Reads `from` and `to` (unix seconds; default the last 30 days up to `now_ms`) and `group`
    /// (`gateway`, `method`, `day` or `gateway_day`; default `gateway`) from a query string's pairs. Anything
    /// else is `invalid_request` naming it.
    pub fn parse(pairs: &[(String, String)], now_ms: i64) -> Result<Self, ApiError> {
        let mut from = None;
        let mut to = None;
        let mut group = GroupBy::Gateway;
        for (name, value) in pairs {
            let seconds = || {
                value.parse::<i64>().ok().filter(|s| (0..=253_402_300_799).contains(s)).map(|s| s * 1000).ok_or_else(
                    || ApiError::InvalidRequest(format!("{name} must be a time in unix seconds, not {value:?}")),
                )
            };
            match name.as_str() {
                "from" => from = Some(seconds()?),
                "to" => to = Some(seconds()?),
                "group" => {
                    group = match value.as_str() {
                        "gateway" => GroupBy::Gateway,
                        "method" => GroupBy::Method,
                        "day" => GroupBy::Day,
                        "gateway_day" => GroupBy::GatewayDay,
                        other => {
                            return Err(ApiError::InvalidRequest(format!(
                                "group must be gateway, method, day or gateway_day, not {other:?}"
                            )))
                        }
                    }
                }
                other => {
                    return Err(ApiError::InvalidRequest(format!(
                        "unknown parameter {other:?}: from, to and group are known"
                    )))
                }
            }
        }
        let to_ms = to.unwrap_or(now_ms);
        let from_ms = from.unwrap_or(to_ms - DEFAULT_WINDOW_DAYS * DAY_MS);
        if from_ms >= to_ms {
            return Err(ApiError::InvalidRequest("from must be before to".into()));
        }
        if to_ms - from_ms > MAX_WINDOW_DAYS * DAY_MS {
            return Err(ApiError::InvalidRequest(format!("a query covers at most {MAX_WINDOW_DAYS} days")));
        }
        Ok(StatsQuery { from_ms, to_ms, group })
    }

    fn params(&self, shop: &str) -> Vec<SqlValue> {
        vec![SqlValue::Text(shop.to_string()), SqlValue::Int(self.from_ms), SqlValue::Int(self.to_ms)]
    }

    /// Only the counts per group, the first of [`StatsQuery::statements`]: what a chart of
    /// outcomes needs (the dashboard's per-day and per-method charts), read by [`assemble_counts`].
    pub fn count_statement(&self, shop: &str) -> Statement {
        Statement { sql: counts_sql(self.group.column(), WINDOW), params: self.params(shop) }
    }

    /// The statements for `shop`, in the order [`assemble`] reads their rows: counts, gateway
    /// latency and time to pay per group, then the same for all attempts, then the funnel.
    pub fn statements(&self, shop: &str) -> Vec<Statement> {
        let params = || self.params(shop);
        let window = WINDOW;
        let mut out = Vec::new();
        for key in [self.group.column(), "'all'"] {
            out.push(Statement { sql: counts_sql(key, window), params: params() });
            out.push(Statement { sql: percentile_sql(key, "gateway_latency_ms", window, ""), params: params() });
            out.push(Statement {
                sql: percentile_sql(key, "time_to_result_ms", window, " AND result IN ('paid', 'authorized')"),
                params: params(),
            });
        }
        out.push(Statement {
            sql: format!(
                "SELECT (SELECT COUNT(*) FROM checkouts WHERE shop = ?1 AND shown_at_ms >= ?2 AND shown_at_ms < ?3) \
                 AS shown, (SELECT COUNT(DISTINCT reference) FROM attempts WHERE {window}) AS started, \
                 (SELECT COUNT(DISTINCT reference) FROM attempts WHERE {window} AND result IN ('paid', \
                 'authorized')) AS paid"
            ),
            params: params(),
        });
        out
    }
}

/// The attempts of one shop's window (parameters: shop, from, to).
const WINDOW: &str = "shop = ?1 AND started_at_ms >= ?2 AND started_at_ms < ?3";

/// The attempts per `key`, outcome, reason and 3-D Secure.
fn counts_sql(key: &str, window: &str) -> String {
    format!(
        "SELECT {key} AS key, result, reason, three_ds, COUNT(*) AS n FROM attempts WHERE {window} GROUP BY 1, 2, 3, 4"
    )
}

/// Nearest-rank p50 and p95 of `column` per `key`, in SQL (window functions).
fn percentile_sql(key: &str, column: &str, window: &str, filter: &str) -> String {
    format!(
        "WITH ranked AS (SELECT {key} AS key, {column} AS v, \
         ROW_NUMBER() OVER (PARTITION BY {key} ORDER BY {column}) AS rn, \
         COUNT(*) OVER (PARTITION BY {key}) AS cnt \
         FROM attempts WHERE {window} AND {column} IS NOT NULL{filter}) \
         SELECT key, MAX(CASE WHEN rn = (cnt * 50 + 99) / 100 THEN v END) AS p50, \
         MAX(CASE WHEN rn = (cnt * 95 + 99) / 100 THEN v END) AS p95 FROM ranked GROUP BY key"
    )
}

/// A row of the counts statement.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CountRow {
    /// Group key.
    pub key: String,
    /// Stored result word.
    pub result: String,
    /// Reason, if any.
    pub reason: Option<String>,
    /// 1, 0 or NULL.
    pub three_ds: Option<i64>,
    /// How many.
    pub n: i64,
}

/// A row of a percentile statement.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PercentileRow {
    /// Group key.
    pub key: String,
    /// Median.
    pub p50: Option<i64>,
    /// 95th percentile.
    pub p95: Option<i64>,
}

/// The row of the funnel statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
pub struct Funnel {
    /// Payments whose methods a shopper was shown.
    pub methods_shown: i64,
    /// Payments with at least one attempt.
    pub session_started: i64,
    /// Payments with a paid or authorized attempt.
    pub paid: i64,
}

#[derive(Deserialize)]
struct FunnelRow {
    shown: i64,
    started: i64,
    paid: i64,
}

/// Two percentiles of a set of milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Percentiles {
    /// Median, ms.
    pub p50: Option<i64>,
    /// 95th percentile, ms.
    pub p95: Option<i64>,
}

/// 3-D Secure outcomes where the gateway said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ThreeDs {
    /// Passed.
    pub passed: i64,
    /// Failed.
    pub failed: i64,
}

/// The numbers of one group (or of all attempts).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct GroupStats {
    /// Gateway, method or day; `all` for the total.
    pub key: String,
    /// Sessions started.
    pub attempts: i64,
    /// Paid.
    pub paid: i64,
    /// Authorized.
    pub authorized: i64,
    /// Declined.
    pub failed: i64,
    /// Canceled, expired or replaced.
    pub canceled: i64,
    /// Not decided yet.
    pub pending: i64,
    /// Declines per reason.
    pub failed_by_reason: BTreeMap<String, i64>,
    /// Cancellations per code.
    pub canceled_by_reason: BTreeMap<String, i64>,
    /// (paid + authorized) / decided; `None` when nothing was decided.
    pub success_rate: Option<f64>,
    /// 3-D Secure outcomes.
    pub three_ds: ThreeDs,
    /// How long the gateway took to open a session.
    pub gateway_latency_ms: Percentiles,
    /// From the start to the charge, for the attempts that paid.
    pub time_to_pay_ms: Percentiles,
}

impl GroupStats {
    fn add(&mut self, result: AttemptResult, reason: Option<&str>, three_ds: Option<bool>, n: i64) {
        self.attempts += n;
        match result {
            AttemptResult::Pending => self.pending += n,
            AttemptResult::Paid => self.paid += n,
            AttemptResult::Authorized => self.authorized += n,
            AttemptResult::Failed => {
                self.failed += n;
                *self.failed_by_reason.entry(reason.unwrap_or("declined").to_string()).or_default() += n;
            }
            AttemptResult::Canceled => {
                self.canceled += n;
                *self.canceled_by_reason.entry(reason.unwrap_or("canceled").to_string()).or_default() += n;
            }
        }
        match three_ds {
            Some(true) => self.three_ds.passed += n,
            Some(false) => self.three_ds.failed += n,
            None => {}
        }
    }

    fn finish(&mut self) {
        let won = self.paid + self.authorized;
        let decided = won + self.failed + self.canceled;
        self.success_rate = (decided > 0).then(|| won as f64 / decided as f64);
    }
}

/// The answer of `GET /v1/stats`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatsReport {
    /// Unix ms, inclusive.
    pub from_ms: i64,
    /// Unix ms, exclusive.
    pub to_ms: i64,
    /// How `groups` is split.
    pub group: GroupBy,
    /// One entry per gateway, method or day with attempts, sorted by key.
    pub groups: Vec<GroupStats>,
    /// All attempts of the window.
    pub total: GroupStats,
    /// Methods shown → session started → paid, in payments.
    pub funnel: Funnel,
}

/// Builds the report from the rows of [`StatsQuery::statements`], in their order. A row that
/// cannot be read is an internal error (the schema is ours).
pub fn assemble(query: &StatsQuery, rows: Vec<Vec<serde_json::Value>>) -> Result<StatsReport, ApiError> {
    fn read<T: serde::de::DeserializeOwned>(rows: &[serde_json::Value]) -> Result<Vec<T>, ApiError> {
        rows.iter()
            .map(|r| serde_json::from_value(r.clone()).map_err(|e| ApiError::Internal(format!("stats row: {e}"))))
            .collect()
    }
    if rows.len() != 7 {
        return Err(ApiError::Internal(format!("stats: {} result sets, 7 expected", rows.len())));
    }
    let mut groups: BTreeMap<String, GroupStats> = BTreeMap::new();
    let mut total = GroupStats { key: "all".into(), ..Default::default() };
    for (part, target) in [(0usize, None), (3, Some(()))] {
        let counts: Vec<CountRow> = read(&rows[part])?;
        let latency: Vec<PercentileRow> = read(&rows[part + 1])?;
        let to_pay: Vec<PercentileRow> = read(&rows[part + 2])?;
        fn pick<'a>(
            groups: &'a mut BTreeMap<String, GroupStats>,
            total: &'a mut GroupStats,
            is_total: bool,
            key: &str,
        ) -> &'a mut GroupStats {
            if is_total {
                return total;
            }
            groups.entry(key.to_string()).or_insert_with(|| GroupStats { key: key.into(), ..Default::default() })
        }
        let is_total = target.is_some();
        for row in counts {
            let result = AttemptResult::parse(&row.result)
                .ok_or_else(|| ApiError::Internal(format!("stats: result {:?}", row.result)))?;
            let g = pick(&mut groups, &mut total, is_total, &row.key);
            g.add(result, row.reason.as_deref(), row.three_ds.map(|v| v != 0), row.n);
        }
        for row in latency {
            pick(&mut groups, &mut total, is_total, &row.key).gateway_latency_ms =
                Percentiles { p50: row.p50, p95: row.p95 };
        }
        for row in to_pay {
            pick(&mut groups, &mut total, is_total, &row.key).time_to_pay_ms =
                Percentiles { p50: row.p50, p95: row.p95 };
        }
    }
    let funnel = read::<FunnelRow>(&rows[6])?
        .first()
        .map(|f| Funnel { methods_shown: f.shown, session_started: f.started, paid: f.paid })
        .unwrap_or_default();
    Ok(finish(query, groups, total, funnel))
}

/// The groups of [`StatsQuery::count_statement`]'s rows, with their counts, reasons, 3-D Secure
/// and success rates; the percentiles, `total` and `funnel` are left empty.
pub fn assemble_counts(query: &StatsQuery, rows: &[serde_json::Value]) -> Result<StatsReport, ApiError> {
    let mut groups: BTreeMap<String, GroupStats> = BTreeMap::new();
    for row in rows {
        let row: CountRow =
            serde_json::from_value(row.clone()).map_err(|e| ApiError::Internal(format!("stats row: {e}")))?;
        let result = AttemptResult::parse(&row.result)
            .ok_or_else(|| ApiError::Internal(format!("stats: result {:?}", row.result)))?;
        let g =
            groups.entry(row.key.clone()).or_insert_with(|| GroupStats { key: row.key.clone(), ..Default::default() });
        g.add(result, row.reason.as_deref(), row.three_ds.map(|v| v != 0), row.n);
    }
    Ok(finish(query, groups, GroupStats { key: "all".into(), ..Default::default() }, Funnel::default()))
}

fn finish(
    query: &StatsQuery,
    groups: BTreeMap<String, GroupStats>,
    mut total: GroupStats,
    funnel: Funnel,
) -> StatsReport {
    let mut groups: Vec<GroupStats> = groups.into_values().collect();
    for g in &mut groups {
        g.finish();
    }
    total.finish();
    StatsReport { from_ms: query.from_ms, to_ms: query.to_ms, group: query.group, groups, total, funnel }
}

/// Nearest-rank percentile of sorted values.
fn nearest_rank(sorted: &[i64], p: usize) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (sorted.len() * p).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

fn percentiles(mut values: Vec<i64>) -> Percentiles {
    values.sort_unstable();
    Percentiles { p50: nearest_rank(&values, 50), p95: nearest_rank(&values, 95) }
}

/// The report computed in plain Rust from the rows (`checkouts`: shop, reference, shown at):
/// what the SQL must agree with.
pub fn compute(query: &StatsQuery, shop: &str, rows: &[Attempt], checkouts: &[(String, String, i64)]) -> StatsReport {
    let inside: Vec<&Attempt> = rows
        .iter()
        .filter(|a| a.shop == shop && a.started_at_ms >= query.from_ms && a.started_at_ms < query.to_ms)
        .collect();
    let mut buckets: BTreeMap<String, Vec<&Attempt>> = BTreeMap::new();
    for a in &inside {
        buckets.entry(query.group.key_of(a)).or_default().push(a);
    }
    let stats_of = |key: &str, list: &[&Attempt]| {
        let mut g = GroupStats { key: key.to_string(), ..Default::default() };
        for a in list {
            g.add(a.result, a.reason.as_deref(), a.three_ds, 1);
        }
        g.gateway_latency_ms = percentiles(list.iter().filter_map(|a| a.gateway_latency_ms).collect());
        g.time_to_pay_ms = percentiles(
            list.iter()
                .filter(|a| matches!(a.result, AttemptResult::Paid | AttemptResult::Authorized))
                .filter_map(|a| a.time_to_result_ms)
                .collect(),
        );
        g
    };
    let groups = buckets.iter().map(|(k, list)| (k.clone(), stats_of(k, list))).collect();
    let total = stats_of("all", &inside);
    let distinct = |paid_only: bool| {
        let mut refs: Vec<&str> = inside
            .iter()
            .filter(|a| !paid_only || matches!(a.result, AttemptResult::Paid | AttemptResult::Authorized))
            .map(|a| a.reference.as_str())
            .collect();
        refs.sort_unstable();
        refs.dedup();
        refs.len() as i64
    };
    let funnel = Funnel {
        methods_shown: checkouts.iter().filter(|(s, _, t)| s == shop && *t >= query.from_ms && *t < query.to_ms).count()
            as i64,
        session_started: distinct(false),
        paid: distinct(true),
    };
    finish(query, groups, total, funnel)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn a_3ds_failure_is_known_from_the_reason_and_a_gateways_own_word_wins() {
        use crate::lifecycle::{At, NewPayment, Order, Reference, Session, Settings, ShopId};
        use crate::method::PaymentMethod;
        use crate::money::{Currency, Money};
        let at = At { now_ms: 1_800_000_000_000, settings: Settings::default() };
        let mut payment = Payment::new(
            NewPayment {
                shop: ShopId::parse("shop").unwrap(),
                reference: Reference::parse("S1").unwrap(),
                money: Money::new(100, Currency::parse("SAR").unwrap()),
                order: Order {
                    return_url: "https://shop.example/r".into(),
                    notify_url: "https://shop.example/n".into(),
                    customer_name: None,
                    customer_email: None,
                },
                edge_origin: "https://edge.example".into(),
                seed: [1; 16],
            },
            &at,
        );
        let session = |id: &str, code: Option<&str>, three_ds: Option<bool>| Session {
            id: id.into(),
            method: PaymentMethod::Visa,
            gateway: "moyasar".into(),
            gateway_payment_id: format!("g-{id}"),
            redirect_url: String::new(),
            form_fields: None,
            flow: Default::default(),
            otp_attempts: 0,
            created_at_ms: at.now_ms,
            superseded: false,
            status: SessionStatus::Closed,
            close_requested: false,
            never_opened: false,
            last_answer: None,
            asked_at_ms: None,
            start_latency_ms: None,
            decided_at_ms: None,
            closed_code: code.map(str::to_string),
            three_ds,
        };
        payment.sessions = vec![
            session("a", Some("authentication_failed"), None),
            session("b", Some("insufficient_funds"), None),
            session("c", Some("insufficient_funds"), Some(true)),
        ];
        let seen: Vec<Option<bool>> = attempts(&payment).iter().map(|a| a.three_ds).collect();
        assert_eq!(seen, vec![Some(false), None, Some(true)]);
    }

    #[test]
    fn utc_days() {
        assert_eq!(utc_day(0), "1970-01-01");
        assert_eq!(utc_day(951_782_400_000), "2000-02-29");
        assert_eq!(utc_day(1_796_255_999_999), "2026-12-02");
        assert_eq!(utc_day(1_796_256_000_000), "2026-12-03");
    }

    #[test]
    fn queries_parse_and_refuse_clearly() {
        let now = 1_796_169_599_000;
        let q = StatsQuery::parse(&[], now).unwrap();
        assert_eq!((q.to_ms, q.to_ms - q.from_ms, q.group), (now, 30 * DAY_MS, GroupBy::Gateway));
        let q = StatsQuery::parse(&pairs(&[("from", "100"), ("to", "200"), ("group", "day")]), now).unwrap();
        assert_eq!((q.from_ms, q.to_ms, q.group), (100_000, 200_000, GroupBy::Day));
        for (bad, says) in [
            (vec![("from", "1.5")], "unix seconds"),
            (vec![("group", "shop")], "gateway, method, day or gateway_day"),
            (vec![("from", "200"), ("to", "100")], "before"),
            (vec![("from", "0"), ("to", "40000000")], "at most 366 days"),
            (vec![("shop", "other")], "unknown parameter"),
        ] {
            let e = StatsQuery::parse(&pairs(&bad), now).unwrap_err();
            assert_eq!(e.code(), "invalid_request");
            assert!(e.to_string().contains(says), "{bad:?}: {e}");
        }
    }

    #[test]
    fn nearest_rank_percentiles() {
        assert_eq!(percentiles(vec![]), Percentiles { p50: None, p95: None });
        assert_eq!(percentiles(vec![7]), Percentiles { p50: Some(7), p95: Some(7) });
        let hundred: Vec<i64> = (1..=100).rev().collect();
        assert_eq!(percentiles(hundred), Percentiles { p50: Some(50), p95: Some(95) });
        assert_eq!(percentiles(vec![1, 2, 3]), Percentiles { p50: Some(2), p95: Some(3) });
    }
}
