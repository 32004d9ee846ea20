-- Coarser rollups beside the per-minute one (0003): the same keys per UTC hour and per UTC day.
-- A per-minute rollup of a request log barely compresses (half the raw row count at 1M rows
-- over 30 days: each minute holds few requests per key); per hour and per day it does (1/9 and
-- 1/20), and long periods are read from them: whole UTC days from the day table, the hours left
-- at the edges from the hour table, then minutes, then raw rows (src/stats/slices.ts).
-- insertFootprints upserts all three in the raw insert's statement.
CREATE TABLE IF NOT EXISTS user_footprint_hour (
    hour         TIMESTAMPTZ NOT NULL,
    method       TEXT NOT NULL,
    endpoint     TEXT NOT NULL,
    status_class SMALLINT NOT NULL,
    is_bot       BOOLEAN NOT NULL,
    n            INTEGER NOT NULL,
    PRIMARY KEY (hour, method, endpoint, status_class, is_bot)
);

COMMENT ON TABLE user_footprint_hour IS 'Footprints counted per hour (UTC), method, endpoint, status class and bot flag; kept current with every insert into user_footprint.';
COMMENT ON COLUMN user_footprint_hour.hour IS 'Start of the UTC hour the requests happened in.';
COMMENT ON COLUMN user_footprint_hour.method IS 'HTTP method, as stored in user_footprint.request.';
COMMENT ON COLUMN user_footprint_hour.endpoint IS 'coalesce(route, link): the route pattern when known, else the path.';
COMMENT ON COLUMN user_footprint_hour.status_class IS '2, 3, 4 or 5 for 2xx..5xx; 0 when the status is unknown or outside 200-599.';
COMMENT ON COLUMN user_footprint_hour.is_bot IS 'is_bot of the requests; unknown (NULL) counts as not a bot.';
COMMENT ON COLUMN user_footprint_hour.n IS 'Number of footprints.';

CREATE TABLE IF NOT EXISTS user_footprint_day (
    day          TIMESTAMPTZ NOT NULL,
    method       TEXT NOT NULL,
    endpoint     TEXT NOT NULL,
    status_class SMALLINT NOT NULL,
    is_bot       BOOLEAN NOT NULL,
    n            INTEGER NOT NULL,
    PRIMARY KEY (day, method, endpoint, status_class, is_bot)
);

COMMENT ON TABLE user_footprint_day IS 'Footprints counted per day (UTC), method, endpoint, status class and bot flag; kept current with every insert into user_footprint.';
COMMENT ON COLUMN user_footprint_day.day IS 'Start (00:00 UTC) of the UTC day the requests happened in.';
COMMENT ON COLUMN user_footprint_day.method IS 'HTTP method, as stored in user_footprint.request.';
COMMENT ON COLUMN user_footprint_day.endpoint IS 'coalesce(route, link): the route pattern when known, else the path.';
COMMENT ON COLUMN user_footprint_day.status_class IS '2, 3, 4 or 5 for 2xx..5xx; 0 when the status is unknown or outside 200-599.';
COMMENT ON COLUMN user_footprint_day.is_bot IS 'is_bot of the requests; unknown (NULL) counts as not a bot.';
COMMENT ON COLUMN user_footprint_day.n IS 'Number of footprints.';

-- Upgrades: from the minute rollup, which holds every stored row already (0003), in the migration
-- transaction under the migration lock.
INSERT INTO user_footprint_hour (hour, method, endpoint, status_class, is_bot, n)
SELECT date_bin('1 hour', minute, TIMESTAMPTZ '1970-01-01 00:00:00+00'), method, endpoint, status_class, is_bot, sum(n)
FROM user_footprint_minute
GROUP BY 1, 2, 3, 4, 5;

INSERT INTO user_footprint_day (day, method, endpoint, status_class, is_bot, n)
SELECT date_bin('1 day', minute, TIMESTAMPTZ '1970-01-01 00:00:00+00'), method, endpoint, status_class, is_bot, sum(n)
FROM user_footprint_minute
GROUP BY 1, 2, 3, 4, 5;
