-- Endpoint counts per UTC week (Monday 00:00 UTC, toMonday), beside the minute, hour and day ones
-- (0003, 0007); see sql/postgres/0010 for why. As in 0007: read with sum() and GROUP BY since
-- SummingMergeTree folds rows only when parts merge, and a deduplication window like
-- user_footprint_minute's (0005) so a batch redelivered with the same insert_deduplication_token
-- is dropped here too. Backfilled from the day rollup (every stored row, 0007), not the raw rows:
-- a few rows per endpoint and day instead of every request.

CREATE TABLE IF NOT EXISTS user_footprint_week
(
    week         DateTime('UTC') COMMENT 'Start (Monday 00:00 UTC) of the UTC week the requests happened in.',
    method       LowCardinality(String) COMMENT 'HTTP method, as stored in user_footprint.request.',
    endpoint     String COMMENT 'coalesce(route, link): the route pattern when known, else the path.',
    status_class UInt8 COMMENT '2, 3, 4 or 5 for 2xx..5xx; 0 when the status is unknown or outside 200-599.',
    is_bot       Bool COMMENT 'is_bot of the requests; unknown (NULL) counts as not a bot.',
    n            UInt64 COMMENT 'Number of footprints.'
)
ENGINE = SummingMergeTree(n)
PARTITION BY toYYYYMM(week)
ORDER BY (week, method, endpoint, status_class, is_bot)
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'Footprints counted per week (from Monday 00:00 UTC), method, endpoint, status class and bot flag; fed by user_footprint_week_mv.'
AS SELECT
    toDateTime(toMonday(day), 'UTC') AS week,
    method,
    endpoint,
    status_class,
    is_bot,
    sum(n) AS n
FROM user_footprint_day
GROUP BY week, method, endpoint, status_class, is_bot;

CREATE MATERIALIZED VIEW IF NOT EXISTS user_footprint_week_mv TO user_footprint_week
AS SELECT
    toDateTime(toMonday(footprint_time), 'UTC') AS week,
    request AS method,
    coalesce(route, link) AS endpoint,
    toUInt8(if(ifNull(status, 0) BETWEEN 200 AND 599, intDiv(ifNull(status, 0), 100), 0)) AS status_class,
    coalesce(is_bot, false) AS is_bot,
    count() AS n
FROM user_footprint
GROUP BY week, method, endpoint, status_class, is_bot;
