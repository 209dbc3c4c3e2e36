-- The stats read every attempt of a shop's window, seven times for GET /v1/stats. With only
-- (shop, started_at_ms) indexed each row is then looked up in the table; this index holds every
-- column the stats read (bawaba_core::stats::StatsQuery::statements), so they never leave it:
-- about half the time over 100,000 attempts (cargo xtask bench). It starts with the old index's
-- columns, which it replaces.
CREATE INDEX attempts_for_stats ON attempts (
    shop, started_at_ms, gateway, method, day, result, reason, three_ds, gateway_latency_ms,
    time_to_result_ms, reference
);

DROP INDEX attempts_by_shop_and_start;
