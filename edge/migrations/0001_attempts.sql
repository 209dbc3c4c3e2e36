-- The record of every payment attempt, for GET /v1/stats and the dashboard (bawaba_core::stats).
-- Applied by `wrangler d1 migrations apply STATS` (docs/deploy.md); locally by cargo xtask demo
-- and test. Never edit an applied migration: add the next numbered file.

-- One row per gateway session (an attempt to pay), upserted as the session moves on.
CREATE TABLE attempts (
    shop TEXT NOT NULL,
    reference TEXT NOT NULL,
    session_id TEXT NOT NULL,
    method TEXT NOT NULL,
    gateway TEXT NOT NULL,
    amount_minor INTEGER NOT NULL,
    currency TEXT NOT NULL,
    -- Unix ms when the session started, and its UTC day (YYYY-MM-DD) for grouping by day.
    started_at_ms INTEGER NOT NULL,
    day TEXT NOT NULL,
    -- pending | paid | authorized | failed | canceled
    result TEXT NOT NULL,
    -- The normalized decline reason (bawaba_core::decline) or the cancel code; NULL while open or paid.
    reason TEXT,
    -- 1 passed 3-D Secure, 0 failed it, NULL not known or not asked.
    three_ds INTEGER,
    -- How long the gateway took to create the session.
    gateway_latency_ms INTEGER,
    -- From the session's start to the gateway's verdict.
    time_to_result_ms INTEGER,
    -- When the payment object took this snapshot: a late write of an older one never wins.
    updated_at_ms INTEGER NOT NULL,
    PRIMARY KEY (shop, reference, session_id)
);

CREATE INDEX attempts_by_shop_and_start ON attempts (shop, started_at_ms);

-- The top of the checkout funnel: one row per payment whose methods a shopper was shown.
CREATE TABLE checkouts (
    shop TEXT NOT NULL,
    reference TEXT NOT NULL,
    shown_at_ms INTEGER NOT NULL,
    PRIMARY KEY (shop, reference)
);

CREATE INDEX checkouts_by_shop_and_time ON checkouts (shop, shown_at_ms);
