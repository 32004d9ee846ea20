-- Requests per minute (UTC) and per method, endpoint, status class and bot flag: what the stats
-- API reads instead of raw rows when the period and filters allow.
-- SummingMergeTree folds rows of one key together only when parts merge, some time later: every
-- query must sum(n) and GROUP BY, never assume one row per key.
-- Created AS SELECT over the rows already stored (upgrades), so that with IF NOT EXISTS the
-- backfill runs exactly once even when several processes migrate at once; the materialized view
-- below counts every insert from then on. (Rows written between the two statements by a process
-- of an older version would be missed: stop old consumers before upgrading.)
-- No non_replicated_deduplication_window here: with it, ClickHouse drops a view block that is
-- identical to an earlier one (same minute, keys and count from two different batches), which
-- undercounts. Idempotent inserts (insert_deduplication_token on user_footprint plus
-- deduplicate_blocks_in_dependent_materialized_views=1) stay compatible: the view's blocks then
-- carry tokens derived from the insert's, so a redelivered batch is dropped here too, and only
-- then may this table get a deduplication window.
CREATE TABLE IF NOT EXISTS user_footprint_minute
(
    minute       DateTime('UTC') COMMENT 'Start of the minute (whole UTC minute) the requests happened in.',
    method       LowCardinality(String) COMMENT 'HTTP method, as stored in user_footprint.request.',
    endpoint     String COMMENT 'coalesce(route, link): the route pattern when known, else the path.',
    status_class UInt8 COMMENT '2, 3, 4 or 5 for 2xx..5xx; 0 when the status is unknown or outside 200-599.',
    is_bot       Bool COMMENT 'is_bot of the requests; unknown (NULL) counts as not a bot.',
    n            UInt64 COMMENT 'Number of footprints.'
)
ENGINE = SummingMergeTree(n)
PARTITION BY toYYYYMM(minute)
ORDER BY (minute, method, endpoint, status_class, is_bot)
COMMENT 'Footprints counted per minute (UTC), method, endpoint, status class and bot flag; fed by user_footprint_minute_mv.'
AS SELECT
    toDateTime(toStartOfMinute(footprint_time), 'UTC') AS minute,
    request AS method,
    coalesce(route, link) AS endpoint,
    toUInt8(if(ifNull(status, 0) BETWEEN 200 AND 599, intDiv(ifNull(status, 0), 100), 0)) AS status_class,
    coalesce(is_bot, false) AS is_bot,
    count() AS n
FROM user_footprint
GROUP BY minute, method, endpoint, status_class, is_bot;

CREATE MATERIALIZED VIEW IF NOT EXISTS user_footprint_minute_mv TO user_footprint_minute
AS SELECT
    toDateTime(toStartOfMinute(footprint_time), 'UTC') AS minute,
    request AS method,
    coalesce(route, link) AS endpoint,
    toUInt8(if(ifNull(status, 0) BETWEEN 200 AND 599, intDiv(ifNull(status, 0), 100), 0)) AS status_class,
    coalesce(is_bot, false) AS is_bot,
    count() AS n
FROM user_footprint
GROUP BY minute, method, endpoint, status_class, is_bot;
