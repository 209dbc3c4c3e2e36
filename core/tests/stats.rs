//! The stats SQL (bawaba_core::stats) on real SQLite, the engine under D1, with the project's own
//! migrations: for random attempts and checkouts, the report assembled from the SQL's rows equals
//! the report computed in plain Rust from the same rows; upserts keep the newest snapshot.

use bawaba_core::stats::{self, Attempt, AttemptResult, GroupBy, SqlValue, Statement, StatsQuery};
use proptest::prelude::*;
use rusqlite::{params_from_iter, types::ValueRef, Connection};

fn database() -> Connection {
    let db = Connection::open_in_memory().expect("sqlite");
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../edge/migrations");
    let mut files: Vec<_> = std::fs::read_dir(dir).expect("edge/migrations").map(|e| e.unwrap().path()).collect();
    files.sort();
    for file in files {
        db.execute_batch(&std::fs::read_to_string(&file).unwrap()).unwrap_or_else(|e| panic!("{file:?}: {e}"));
    }
    db
}

fn bind(params: &[SqlValue]) -> Vec<rusqlite::types::Value> {
    params
        .iter()
        .map(|p| match p {
            SqlValue::Int(i) => rusqlite::types::Value::Integer(*i),
            SqlValue::Text(t) => rusqlite::types::Value::Text(t.clone()),
            SqlValue::Null => rusqlite::types::Value::Null,
        })
        .collect()
}

fn execute(db: &Connection, s: &Statement) {
    db.execute(&s.sql, params_from_iter(bind(&s.params))).unwrap_or_else(|e| panic!("{}: {e}", s.sql));
}

/// Rows as JSON objects, as D1 returns them.
fn query(db: &Connection, s: &Statement) -> Vec<serde_json::Value> {
    let mut stmt = db.prepare(&s.sql).unwrap_or_else(|e| panic!("{}: {e}", s.sql));
    let names: Vec<String> = stmt.column_names().iter().map(|n| n.to_string()).collect();
    let mut rows = stmt.query(params_from_iter(bind(&s.params))).unwrap();
    let mut out = Vec::new();
    while let Some(row) = rows.next().unwrap() {
        let mut obj = serde_json::Map::new();
        for (i, name) in names.iter().enumerate() {
            let v = match row.get_ref(i).unwrap() {
                ValueRef::Null => serde_json::Value::Null,
                ValueRef::Integer(n) => n.into(),
                ValueRef::Real(f) => f.into(),
                ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned().into(),
                ValueRef::Blob(_) => panic!("blob"),
            };
            obj.insert(name.clone(), v);
        }
        out.push(serde_json::Value::Object(obj));
    }
    out
}

fn report_from_sql(db: &Connection, q: &StatsQuery, shop: &str) -> stats::StatsReport {
    let rows = q.statements(shop).iter().map(|s| query(db, s)).collect();
    stats::assemble(q, rows).expect("assemble")
}

const DAY: i64 = 86_400_000;
const T0: i64 = 1_796_169_600_000; // 2026-12-02T00:00Z

fn attempt() -> impl Strategy<Value = Attempt> {
    (
        (0..2usize, 0..12usize, 0..3usize, 0..3usize, 0..5 * DAY),
        (0..5usize, 0..4usize, proptest::option::of(any::<bool>())),
        (proptest::option::of(0..3000i64), proptest::option::of(0..600_000i64)),
    )
        .prop_map(|((shop, reference, method, gateway, offset), (result, reason, three_ds), (latency, ttr))| {
            let result = AttemptResult::ALL[result];
            let reasons = ["insufficient_funds", "do_not_honor", "authentication_failed", "expired_session"];
            Attempt {
                shop: ["shop-a", "shop-b"][shop].into(),
                reference: format!("order-{reference}"),
                session_id: String::new(),
                method: ["mada", "visa", "mastercard"][method].into(),
                gateway: ["moyasar", "tap", "sandbox"][gateway].into(),
                amount_minor: 4550,
                currency: "SAR".into(),
                started_at_ms: T0 + offset,
                result,
                reason: matches!(result, AttemptResult::Failed | AttemptResult::Canceled)
                    .then(|| reasons[reason].to_string()),
                three_ds,
                gateway_latency_ms: latency,
                time_to_result_ms: (result != AttemptResult::Pending).then_some(ttr).flatten(),
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// Whatever the rows, the SQL's report is the plain-Rust report: counts, reasons, 3-D Secure,
    /// success rate, nearest-rank percentiles and the funnel, per gateway, method and day.
    #[test]
    fn the_sql_agrees_with_the_definition(
        mut rows in proptest::collection::vec(attempt(), 0..60),
        shown in proptest::collection::vec((0..2usize, 0..12usize, 0..5 * DAY), 0..20),
        from_day in 0..3i64,
        days in 1..4i64,
    ) {
        let db = database();
        for (i, a) in rows.iter_mut().enumerate() {
            a.session_id = format!("s{i}");
            execute(&db, &a.upsert(1));
        }
        let mut checkouts = Vec::new();
        for (shop, reference, offset) in shown {
            let (shop, reference) = (["shop-a", "shop-b"][shop].to_string(), format!("order-{reference}"));
            execute(&db, &stats::checkout_shown(&shop, &reference, T0 + offset));
            // The first showing counts, as the insert keeps it.
            if !checkouts.iter().any(|(s, r, _): &(String, String, i64)| *s == shop && *r == reference) {
                checkouts.push((shop, reference, T0 + offset));
            }
        }
        for group in [GroupBy::Gateway, GroupBy::Method, GroupBy::Day, GroupBy::GatewayDay] {
            let q = StatsQuery { from_ms: T0 + from_day * DAY, to_ms: T0 + (from_day + days) * DAY, group };
            for shop in ["shop-a", "shop-b"] {
                let expected = stats::compute(&q, shop, &rows, &checkouts);
                prop_assert_eq!(report_from_sql(&db, &q, shop), expected.clone());
                // The counts alone (the dashboard's charts): the same groups, without percentiles.
                let counts = stats::assemble_counts(&q, &query(&db, &q.count_statement(shop))).unwrap();
                let mut groups = expected.groups;
                for g in &mut groups {
                    g.gateway_latency_ms = Default::default();
                    g.time_to_pay_ms = Default::default();
                }
                prop_assert_eq!(counts.groups, groups);
            }
        }
    }
}

/// An older snapshot written late never overwrites a newer one; the same one twice is one row.
#[test]
fn upserts_keep_the_newest_snapshot() {
    let db = database();
    let mut a = Attempt {
        shop: "shop-a".into(),
        reference: "order-1".into(),
        session_id: "s0".into(),
        method: "mada".into(),
        gateway: "moyasar".into(),
        amount_minor: 100,
        currency: "SAR".into(),
        started_at_ms: T0,
        result: AttemptResult::Pending,
        reason: None,
        three_ds: None,
        gateway_latency_ms: Some(120),
        time_to_result_ms: None,
    };
    let pending = a.clone();
    a.result = AttemptResult::Paid;
    a.time_to_result_ms = Some(30_000);
    execute(&db, &a.upsert(2));
    execute(&db, &pending.upsert(1));
    execute(&db, &a.upsert(2));
    let q = StatsQuery { from_ms: T0, to_ms: T0 + DAY, group: GroupBy::Gateway };
    let report = report_from_sql(&db, &q, "shop-a");
    assert_eq!((report.total.attempts, report.total.paid, report.total.pending), (1, 1, 0));
    assert_eq!(report.total.time_to_pay_ms.p50, Some(30_000));
    assert_eq!(report.total.success_rate, Some(1.0));
    // Another shop sees nothing of it.
    assert_eq!(report_from_sql(&db, &q, "shop-b").total.attempts, 0);
}
