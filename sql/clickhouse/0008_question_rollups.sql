-- Rollups shaped by the questions the dashboard asks (issue 13); see sql/postgres/0008 for why.
-- Two more families per UTC minute, hour and day beside 0003/0007 (which carry the endpoint):
-- - kind: per method, status class and bot flag, without the endpoint;
-- - total: per unit of time only (one row per minute whatever the traffic).
-- As in 0003/0007: created AS SELECT over the rows already stored so the backfill runs once, read
-- with sum() and GROUP BY since SummingMergeTree folds rows only when parts merge, and a
-- deduplication window like user_footprint_minute's (0005) so a batch redelivered with the same
-- insert_deduplication_token is dropped here too.

CREATE TABLE IF NOT EXISTS user_footprint_kind_minute
(
    minute       DateTime('UTC') COMMENT 'Start of the minute (whole UTC minute) the requests happened in.',
    method       LowCardinality(String) COMMENT 'HTTP method, as stored in user_footprint.request.',
    status_class UInt8 COMMENT '2, 3, 4 or 5 for 2xx..5xx; 0 when the status is unknown or outside 200-599.',
    is_bot       Bool COMMENT 'is_bot of the requests; unknown (NULL) counts as not a bot.',
    n            UInt64 COMMENT 'Number of footprints.'
)
ENGINE = SummingMergeTree(n)
PARTITION BY toYYYYMM(minute)
ORDER BY (minute, method, status_class, is_bot)
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'Footprints counted per minute (UTC), method, status class and bot flag; fed by user_footprint_kind_minute_mv.'
AS SELECT
    toDateTime(toStartOfMinute(footprint_time), 'UTC') AS minute,
    request AS method,
    toUInt8(if(ifNull(status, 0) BETWEEN 200 AND 599, intDiv(ifNull(status, 0), 100), 0)) AS status_class,
    coalesce(is_bot, false) AS is_bot,
    count() AS n
FROM user_footprint
GROUP BY minute, method, status_class, is_bot;

CREATE MATERIALIZED VIEW IF NOT EXISTS user_footprint_kind_minute_mv TO user_footprint_kind_minute
AS SELECT
    toDateTime(toStartOfMinute(footprint_time), 'UTC') AS minute,
    request AS method,
    toUInt8(if(ifNull(status, 0) BETWEEN 200 AND 599, intDiv(ifNull(status, 0), 100), 0)) AS status_class,
    coalesce(is_bot, false) AS is_bot,
    count() AS n
FROM user_footprint
GROUP BY minute, method, status_class, is_bot;

CREATE TABLE IF NOT EXISTS user_footprint_kind_hour
(
    hour         DateTime('UTC') COMMENT 'Start of the UTC hour the requests happened in.',
    method       LowCardinality(String) COMMENT 'HTTP method, as stored in user_footprint.request.',
    status_class UInt8 COMMENT '2, 3, 4 or 5 for 2xx..5xx; 0 when the status is unknown or outside 200-599.',
    is_bot       Bool COMMENT 'is_bot of the requests; unknown (NULL) counts as not a bot.',
    n            UInt64 COMMENT 'Number of footprints.'
)
ENGINE = SummingMergeTree(n)
PARTITION BY toYYYYMM(hour)
ORDER BY (hour, method, status_class, is_bot)
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'Footprints counted per hour (UTC), method, status class and bot flag; fed by user_footprint_kind_hour_mv.'
AS SELECT
    toStartOfHour(footprint_time) AS hour,
    request AS method,
    toUInt8(if(ifNull(status, 0) BETWEEN 200 AND 599, intDiv(ifNull(status, 0), 100), 0)) AS status_class,
    coalesce(is_bot, false) AS is_bot,
    count() AS n
FROM user_footprint
GROUP BY hour, method, status_class, is_bot;

CREATE MATERIALIZED VIEW IF NOT EXISTS user_footprint_kind_hour_mv TO user_footprint_kind_hour
AS SELECT
    toStartOfHour(footprint_time) AS hour,
    request AS method,
    toUInt8(if(ifNull(status, 0) BETWEEN 200 AND 599, intDiv(ifNull(status, 0), 100), 0)) AS status_class,
    coalesce(is_bot, false) AS is_bot,
    count() AS n
FROM user_footprint
GROUP BY hour, method, status_class, is_bot;

CREATE TABLE IF NOT EXISTS user_footprint_kind_day
(
    day          DateTime('UTC') COMMENT 'Start (00:00 UTC) of the UTC day the requests happened in.',
    method       LowCardinality(String) COMMENT 'HTTP method, as stored in user_footprint.request.',
    status_class UInt8 COMMENT '2, 3, 4 or 5 for 2xx..5xx; 0 when the status is unknown or outside 200-599.',
    is_bot       Bool COMMENT 'is_bot of the requests; unknown (NULL) counts as not a bot.',
    n            UInt64 COMMENT 'Number of footprints.'
)
ENGINE = SummingMergeTree(n)
PARTITION BY toYYYYMM(day)
ORDER BY (day, method, status_class, is_bot)
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'Footprints counted per day (UTC), method, status class and bot flag; fed by user_footprint_kind_day_mv.'
AS SELECT
    toStartOfDay(footprint_time) AS day,
    request AS method,
    toUInt8(if(ifNull(status, 0) BETWEEN 200 AND 599, intDiv(ifNull(status, 0), 100), 0)) AS status_class,
    coalesce(is_bot, false) AS is_bot,
    count() AS n
FROM user_footprint
GROUP BY day, method, status_class, is_bot;

CREATE MATERIALIZED VIEW IF NOT EXISTS user_footprint_kind_day_mv TO user_footprint_kind_day
AS SELECT
    toStartOfDay(footprint_time) AS day,
    request AS method,
    toUInt8(if(ifNull(status, 0) BETWEEN 200 AND 599, intDiv(ifNull(status, 0), 100), 0)) AS status_class,
    coalesce(is_bot, false) AS is_bot,
    count() AS n
FROM user_footprint
GROUP BY day, method, status_class, is_bot;

CREATE TABLE IF NOT EXISTS user_footprint_total_minute
(
    minute       DateTime('UTC') COMMENT 'Start of the minute (whole UTC minute) the requests happened in.',
    n            UInt64 COMMENT 'Number of footprints.'
)
ENGINE = SummingMergeTree(n)
PARTITION BY toYYYYMM(minute)
ORDER BY (minute)
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'Footprints counted per minute (UTC); fed by user_footprint_total_minute_mv.'
AS SELECT
    toDateTime(toStartOfMinute(footprint_time), 'UTC') AS minute,
    count() AS n
FROM user_footprint
GROUP BY minute;

CREATE MATERIALIZED VIEW IF NOT EXISTS user_footprint_total_minute_mv TO user_footprint_total_minute
AS SELECT
    toDateTime(toStartOfMinute(footprint_time), 'UTC') AS minute,
    count() AS n
FROM user_footprint
GROUP BY minute;

CREATE TABLE IF NOT EXISTS user_footprint_total_hour
(
    hour         DateTime('UTC') COMMENT 'Start of the UTC hour the requests happened in.',
    n            UInt64 COMMENT 'Number of footprints.'
)
ENGINE = SummingMergeTree(n)
PARTITION BY toYYYYMM(hour)
ORDER BY (hour)
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'Footprints counted per hour (UTC); fed by user_footprint_total_hour_mv.'
AS SELECT
    toStartOfHour(footprint_time) AS hour,
    count() AS n
FROM user_footprint
GROUP BY hour;

CREATE MATERIALIZED VIEW IF NOT EXISTS user_footprint_total_hour_mv TO user_footprint_total_hour
AS SELECT
    toStartOfHour(footprint_time) AS hour,
    count() AS n
FROM user_footprint
GROUP BY hour;

CREATE TABLE IF NOT EXISTS user_footprint_total_day
(
    day          DateTime('UTC') COMMENT 'Start (00:00 UTC) of the UTC day the requests happened in.',
    n            UInt64 COMMENT 'Number of footprints.'
)
ENGINE = SummingMergeTree(n)
PARTITION BY toYYYYMM(day)
ORDER BY (day)
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'Footprints counted per day (UTC); fed by user_footprint_total_day_mv.'
AS SELECT
    toStartOfDay(footprint_time) AS day,
    count() AS n
FROM user_footprint
GROUP BY day;

CREATE MATERIALIZED VIEW IF NOT EXISTS user_footprint_total_day_mv TO user_footprint_total_day
AS SELECT
    toStartOfDay(footprint_time) AS day,
    count() AS n
FROM user_footprint
GROUP BY day;
