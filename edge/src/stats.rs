//! The attempts record in D1 (binding `STATS`, schema in `edge/migrations/`): written after a
//! payment's own state is stored, in the background, and read by `GET /v1/stats`. The numbers
//! and the SQL are `bawaba_core::stats`; this is the I/O.
//!
//! Writing never delays or fails a payment: the payment object hands the write to
//! `State::wait_until` after it answered, and an error is logged. A write that failed is not
//! lost: the payment object keeps what it last wrote (`KEY_WRITTEN`) and writes the difference
//! on its next command or alarm.

use crate::error::internal;
use bawaba_core::api::ApiError;
use bawaba_core::dashboard::Dashboard;
use bawaba_core::lifecycle::Payment;
use bawaba_core::stats::{self, Attempt, SqlValue, Statement, StatsQuery, StatsReport};
use wasm_bindgen::JsValue;
use worker::{D1Database, Env, Storage};

/// The D1 binding's name.
pub const BINDING: &str = "STATS";
/// Where a payment object keeps the attempts it last wrote.
const KEY_WRITTEN: &str = "stats_written";

fn database(env: &Env) -> Option<D1Database> {
    env.d1(BINDING).ok()
}

fn prepare(db: &D1Database, s: &Statement) -> worker::Result<worker::D1PreparedStatement> {
    let values: Vec<JsValue> = s
        .params
        .iter()
        .map(|p| match p {
            // Every integer we store is a time in ms, an amount or a count: well inside 2^53.
            SqlValue::Int(i) => JsValue::from_f64(*i as f64),
            SqlValue::Text(t) => JsValue::from_str(t),
            SqlValue::Null => JsValue::NULL,
        })
        .collect();
    db.prepare(&s.sql).bind(&values)
}

/// Writes the payment's attempts that changed since the last successful write.
pub async fn record_attempts(env: &Env, storage: &Storage, payment: &Payment, now_ms: i64) {
    let Some(db) = database(env) else { return };
    let current = stats::attempts(payment);
    let written: Vec<Attempt> = match storage.get::<String>(KEY_WRITTEN).await {
        Ok(Some(text)) => serde_json::from_str(&text).unwrap_or_default(),
        _ => Vec::new(),
    };
    let changed: Vec<&Attempt> = current.iter().filter(|a| !written.contains(a)).collect();
    if changed.is_empty() {
        return;
    }
    let statements: worker::Result<Vec<_>> = changed.iter().map(|a| prepare(&db, &a.upsert(now_ms))).collect();
    let outcome = match statements {
        Ok(list) => db.batch(list).await.map(|_| ()),
        Err(e) => Err(e),
    };
    match outcome {
        Ok(()) => {
            if let Ok(text) = serde_json::to_string(&current) {
                let _ = storage.put(KEY_WRITTEN, text).await;
            }
        }
        Err(e) => {
            worker::console_error!("stats for {}:{} not written (next time): {e}", payment.shop, payment.reference)
        }
    }
}

type Deferred = std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>;

thread_local! {
    /// Work a route hands to the request's `wait_until` (the worker's entry point takes it).
    static DEFERRED: std::cell::RefCell<Vec<Deferred>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs `work` after the answer (the entry point passes it to `Context::wait_until`).
pub fn defer(work: impl std::future::Future<Output = ()> + 'static) {
    DEFERRED.with(|d| d.borrow_mut().push(Box::pin(work)));
}

/// What the routes deferred so far.
pub fn take_deferred() -> Vec<Deferred> {
    DEFERRED.with(|d| std::mem::take(&mut *d.borrow_mut()))
}

/// Records that a shopper was shown the methods of `shop`'s `reference` (the funnel's top).
pub async fn record_checkout(env: Env, shop: String, reference: String, now_ms: i64) {
    let Some(db) = database(&env) else { return };
    let outcome = match prepare(&db, &stats::checkout_shown(&shop, &reference, now_ms)) {
        Ok(s) => s.run().await.map(|_| ()),
        Err(e) => Err(e),
    };
    if let Err(e) = outcome {
        worker::console_error!("checkout of {shop}:{reference} not recorded: {e}");
    }
}

/// Runs the report's statements in one batch.
pub async fn report(env: &Env, shop: &str, query: &StatsQuery) -> Result<StatsReport, ApiError> {
    let db = database(env).ok_or_else(|| {
        ApiError::Misconfigured(format!("the D1 binding {BINDING} is missing: stats are not recorded (docs/deploy.md)"))
    })?;
    stats::assemble(query, batch(&db, &query.statements(shop)).await?)
}

/// Runs statements in one D1 batch; the rows of each, in order.
async fn batch(db: &D1Database, statements: &[Statement]) -> Result<Vec<Vec<serde_json::Value>>, ApiError> {
    let prepared = statements.iter().map(|s| prepare(db, s)).collect::<worker::Result<Vec<_>>>().map_err(internal)?;
    let results = db.batch(prepared).await.map_err(internal)?;
    let mut sets = Vec::with_capacity(results.len());
    for r in results {
        let rows: Vec<serde_json::Value> = r.results().map_err(internal)?;
        sets.push(rows.into_iter().map(integral).collect());
    }
    Ok(sets)
}

/// JavaScript has one number type: a whole float from D1 is read as the integer it is.
fn integral(v: serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Number(n) => match n.as_f64() {
            Some(f) if n.as_i64().is_none() && f.fract() == 0.0 && f.abs() < 9.0e15 => (f as i64).into(),
            _ => serde_json::Value::Number(n),
        },
        serde_json::Value::Object(map) => map.into_iter().map(|(k, v)| (k, integral(v))).collect(),
        other => other,
    }
}

/// The reports the dashboard shows ([`bawaba_core::dashboard::queries`]), in one batch: the
/// whole report per gateway, and only the counts per gateway and day and per method (the charts
/// need no more; each statement reads the whole window, so fewer is faster).
pub async fn dashboard(env: &Env, shop: &str, days: i64, now_ms: i64) -> Result<Dashboard, ApiError> {
    let db = database(env).ok_or_else(|| {
        ApiError::Misconfigured(format!("the D1 binding {BINDING} is missing: stats are not recorded (docs/deploy.md)"))
    })?;
    let [per_gateway, per_day, per_method] = bawaba_core::dashboard::queries(days, now_ms);
    let mut statements = per_gateway.statements(shop);
    let full = statements.len();
    statements.push(per_day.count_statement(shop));
    statements.push(per_method.count_statement(shop));
    let mut sets = batch(&db, &statements).await?;
    if sets.len() != full + 2 {
        return Err(internal("dashboard: a result set is missing"));
    }
    let method_rows = sets.pop().unwrap_or_default();
    let day_rows = sets.pop().unwrap_or_default();
    Ok(Dashboard {
        shop: shop.to_string(),
        by_gateway: stats::assemble(&per_gateway, sets)?,
        by_gateway_day: stats::assemble_counts(&per_day, &day_rows)?,
        by_method: stats::assemble_counts(&per_method, &method_rows)?,
    })
}
