-- Coarser rollups beside the per-minute one (0003): the same keys per UTC hour and per UTC day.
-- A per-minute rollup of a request log barely compresses (half the raw row count at 1M rows
-- over 30 days); per hour and per day it does (1/9 and 1/20), and long periods are read from
-- them: whole UTC days from the day table, the hours left at the edges from the hour table, then
-- minutes, then raw rows (src/stats/slices.ts). As in 0003: created AS SELECT over the rows
-- already stored so the backfill runs once, read with sum() and GROUP BY since SummingMergeTree
-- folds rows only when parts merge, and a deduplication window like user_footprint_minute's
-- (0005) so a batch redelivered with the same insert_deduplication_token is dropped here too.
CREATE TABLE IF NOT EXISTS user_footprint_hour
(
    hour         DateTime('UTC') COMMENT 'Start of the UTC hour the requests happened in.',
    method       LowCardinality(String) COMMENT 'HTTP method, as stored in user_footprint.request.',
    endpoint     String COMMENT 'coalesce(route, link): the route pattern when known, else the path.',
    status_class UInt8 COMMENT '2, 3, 4 or 5 for 2xx..5xx; 0 when the status is unknown or outside 200-599.',
    is_bot       Bool COMMENT 'is_bot of the requests; unknown (NULL) counts as not a bot.',
    n            UInt64 COMMENT 'Number of footprints.'
)
ENGINE = SummingMergeTree(n)
PARTITION BY toYYYYMM(hour)
ORDER BY (hour, method, endpoint, status_class, is_bot)
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'Footprints counted per hour (UTC), method, endpoint, status class and bot flag; fed by user_footprint_hour_mv.'
AS SELECT
    toStartOfHour(footprint_time) AS hour,
    request AS method,
    coalesce(route, link) AS endpoint,
    toUInt8(if(ifNull(status, 0) BETWEEN 200 AND 599, intDiv(ifNull(status, 0), 100), 0)) AS status_class,
    coalesce(is_bot, false) AS is_bot,
    count() AS n
FROM user_footprint
GROUP BY hour, method, endpoint, status_class, is_bot;

CREATE MATERIALIZED VIEW IF NOT EXISTS user_footprint_hour_mv TO user_footprint_hour
AS SELECT
    toStartOfHour(footprint_time) AS hour,
    request AS method,
    coalesce(route, link) AS endpoint,
    toUInt8(if(ifNull(status, 0) BETWEEN 200 AND 599, intDiv(ifNull(status, 0), 100), 0)) AS status_class,
    coalesce(is_bot, false) AS is_bot,
    count() AS n
FROM user_footprint
GROUP BY hour, method, endpoint, status_class, is_bot;

CREATE TABLE IF NOT EXISTS user_footprint_day
(
    day          DateTime('UTC') COMMENT 'Start (00:00 UTC) of the UTC day the requests happened in.',
    method       LowCardinality(String) COMMENT 'HTTP method, as stored in user_footprint.request.',
    endpoint     String COMMENT 'coalesce(route, link): the route pattern when known, else the path.',
    status_class UInt8 COMMENT '2, 3, 4 or 5 for 2xx..5xx; 0 when the status is unknown or outside 200-599.',
    is_bot       Bool COMMENT 'is_bot of the requests; unknown (NULL) counts as not a bot.',
    n            UInt64 COMMENT 'Number of footprints.'
)
ENGINE = SummingMergeTree(n)
PARTITION BY toYYYYMM(day)
ORDER BY (day, method, endpoint, status_class, is_bot)
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'Footprints counted per day (UTC), method, endpoint, status class and bot flag; fed by user_footprint_day_mv.'
AS SELECT
    toStartOfDay(footprint_time) AS day,
    request AS method,
    coalesce(route, link) AS endpoint,
    toUInt8(if(ifNull(status, 0) BETWEEN 200 AND 599, intDiv(ifNull(status, 0), 100), 0)) AS status_class,
    coalesce(is_bot, false) AS is_bot,
    count() AS n
FROM user_footprint
GROUP BY day, method, endpoint, status_class, is_bot;

CREATE MATERIALIZED VIEW IF NOT EXISTS user_footprint_day_mv TO user_footprint_day
AS SELECT
    toStartOfDay(footprint_time) AS day,
    request AS method,
    coalesce(route, link) AS endpoint,
    toUInt8(if(ifNull(status, 0) BETWEEN 200 AND 599, intDiv(ifNull(status, 0), 100), 0)) AS status_class,
    coalesce(is_bot, false) AS is_bot,
    count() AS n
FROM user_footprint
GROUP BY day, method, endpoint, status_class, is_bot;
