-- Endpoint counts per UTC week (Monday 00:00 UTC, date_trunc('week')), beside the minute, hour and
-- day ones (0003, 0007). The endpoint family holds about one row per distinct endpoint per unit of
-- time, and a top-10 over 30 days read 29 day rows for every endpoint; whole weeks now come from
-- here (3 or 4 rows per endpoint), the days and hours left at the edges from the finer tables
-- (src/stats/slices.ts). insertFootprints upserts it with the others (ROLLUP_TABLES). bigint: a
-- popular endpoint passes 2^31 requests in a week.
CREATE TABLE IF NOT EXISTS user_footprint_week (
    week         TIMESTAMPTZ NOT NULL,
    method       TEXT NOT NULL,
    endpoint     TEXT NOT NULL,
    status_class SMALLINT NOT NULL,
    is_bot       BOOLEAN NOT NULL,
    n            BIGINT NOT NULL,
    PRIMARY KEY (week, method, endpoint, status_class, is_bot)
);

COMMENT ON TABLE user_footprint_week IS 'Footprints counted per week (from Monday 00:00 UTC), method, endpoint, status class and bot flag; kept current with every insert into user_footprint.';
COMMENT ON COLUMN user_footprint_week.week IS 'Start (Monday 00:00 UTC) of the UTC week the requests happened in.';
COMMENT ON COLUMN user_footprint_week.endpoint IS 'coalesce(route, link): the route pattern when known, else the path.';
COMMENT ON COLUMN user_footprint_week.status_class IS '2, 3, 4 or 5 for 2xx..5xx; 0 when the status is unknown or outside 200-599.';
COMMENT ON COLUMN user_footprint_week.is_bot IS 'is_bot of the requests; unknown (NULL) counts as not a bot.';

-- Upgrades: from the day rollup, which holds every stored row already (0007), in the migration
-- transaction under the migration lock.
INSERT INTO user_footprint_week (week, method, endpoint, status_class, is_bot, n)
SELECT date_trunc('week', day, 'UTC'), method, endpoint, status_class, is_bot, sum(n)
FROM user_footprint_day
GROUP BY 1, 2, 3, 4, 5;

-- A top-N reads the hours and minutes at the edges of its period only for the few endpoints that
-- can be in it (src/stats/get-top-endpoints.ts): endpoint first, rather than every endpoint of
-- those hours by the primary key. Without n, so that the upserts' updates of n stay HOT.
CREATE INDEX IF NOT EXISTS user_footprint_hour_by_endpoint ON user_footprint_hour (method, endpoint, hour);
CREATE INDEX IF NOT EXISTS user_footprint_minute_by_endpoint ON user_footprint_minute (method, endpoint, minute);
