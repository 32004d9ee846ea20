-- Rollups shaped by the questions the dashboard asks (issue 13). The rollups of 0003/0007 carry
-- the endpoint in their key: a request log with thousands of distinct paths has nearly one row
-- per request per minute there, so a time-of-day or time-series question read about as many
-- rollup rows as raw rows. Two more families, per UTC minute, hour and day like those:
-- - kind: per method, status class and bot flag, without the endpoint (a few rows per minute);
--   status classes, and time statistics filtered by method, status or bots;
-- - total: per unit of time only (one row per minute: 43,200 for 30 days whatever the traffic);
--   totals and time statistics without filters.
-- The endpoint family stays for top endpoints and route filters (src/stats/slices.ts chooses).
-- insertFootprints upserts all nine tables in the raw insert's statement, from RETURNING, so a
-- redelivered batch adds nothing. Day counts are bigint: a busy site passes 2^31 requests a day.
CREATE TABLE IF NOT EXISTS user_footprint_kind_minute (
    minute       TIMESTAMPTZ NOT NULL,
    method       TEXT NOT NULL,
    status_class SMALLINT NOT NULL,
    is_bot       BOOLEAN NOT NULL,
    n            INTEGER NOT NULL,
    PRIMARY KEY (minute, method, status_class, is_bot)
);
CREATE TABLE IF NOT EXISTS user_footprint_kind_hour (
    hour         TIMESTAMPTZ NOT NULL,
    method       TEXT NOT NULL,
    status_class SMALLINT NOT NULL,
    is_bot       BOOLEAN NOT NULL,
    n            INTEGER NOT NULL,
    PRIMARY KEY (hour, method, status_class, is_bot)
);
CREATE TABLE IF NOT EXISTS user_footprint_kind_day (
    day          TIMESTAMPTZ NOT NULL,
    method       TEXT NOT NULL,
    status_class SMALLINT NOT NULL,
    is_bot       BOOLEAN NOT NULL,
    n            BIGINT NOT NULL,
    PRIMARY KEY (day, method, status_class, is_bot)
);
CREATE TABLE IF NOT EXISTS user_footprint_total_minute (
    minute TIMESTAMPTZ NOT NULL PRIMARY KEY,
    n      INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS user_footprint_total_hour (
    hour TIMESTAMPTZ NOT NULL PRIMARY KEY,
    n    INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS user_footprint_total_day (
    day TIMESTAMPTZ NOT NULL PRIMARY KEY,
    n   BIGINT NOT NULL
);

COMMENT ON TABLE user_footprint_kind_minute IS 'Footprints counted per minute (UTC), method, status class and bot flag; kept current with every insert into user_footprint.';
COMMENT ON TABLE user_footprint_kind_hour IS 'Footprints counted per hour (UTC), method, status class and bot flag; kept current with every insert into user_footprint.';
COMMENT ON TABLE user_footprint_kind_day IS 'Footprints counted per day (UTC), method, status class and bot flag; kept current with every insert into user_footprint.';
COMMENT ON TABLE user_footprint_total_minute IS 'Footprints counted per minute (UTC); kept current with every insert into user_footprint.';
COMMENT ON TABLE user_footprint_total_hour IS 'Footprints counted per hour (UTC); kept current with every insert into user_footprint.';
COMMENT ON TABLE user_footprint_total_day IS 'Footprints counted per day (UTC); kept current with every insert into user_footprint.';
COMMENT ON COLUMN user_footprint_kind_minute.status_class IS '2, 3, 4 or 5 for 2xx..5xx; 0 when the status is unknown or outside 200-599.';
COMMENT ON COLUMN user_footprint_kind_minute.is_bot IS 'is_bot of the requests; unknown (NULL) counts as not a bot.';

-- Upgrades: from the minute rollup, which holds every stored row already (0003), in the migration
-- transaction under the migration lock; each coarser table from the finer one just filled.
INSERT INTO user_footprint_kind_minute (minute, method, status_class, is_bot, n)
SELECT minute, method, status_class, is_bot, sum(n) FROM user_footprint_minute GROUP BY 1, 2, 3, 4;
INSERT INTO user_footprint_kind_hour (hour, method, status_class, is_bot, n)
SELECT date_bin('1 hour', minute, TIMESTAMPTZ '1970-01-01 00:00:00+00'), method, status_class, is_bot, sum(n)
FROM user_footprint_kind_minute GROUP BY 1, 2, 3, 4;
INSERT INTO user_footprint_kind_day (day, method, status_class, is_bot, n)
SELECT date_bin('1 day', hour, TIMESTAMPTZ '1970-01-01 00:00:00+00'), method, status_class, is_bot, sum(n)
FROM user_footprint_kind_hour GROUP BY 1, 2, 3, 4;
INSERT INTO user_footprint_total_minute (minute, n)
SELECT minute, sum(n) FROM user_footprint_kind_minute GROUP BY 1;
INSERT INTO user_footprint_total_hour (hour, n)
SELECT hour, sum(n) FROM user_footprint_kind_hour GROUP BY 1;
INSERT INTO user_footprint_total_day (day, n)
SELECT day, sum(n) FROM user_footprint_kind_day GROUP BY 1;
