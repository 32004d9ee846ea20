-- Requests per minute (UTC) and per method, endpoint, status class and bot flag: what the stats
-- API reads instead of raw rows when the period and filters allow. insertFootprints keeps it
-- current in the same statement as the raw insert, counting only rows actually inserted, so a
-- redelivered batch never counts twice. Rows are only ever added to, never rewritten: a period's
-- answer is the sum of its minutes. n is an integer, not a bigint: sum(integer) adds in int8,
-- sum(bigint) in numeric, several times slower; 2^31 requests in one minute for one key is not a
-- risk.
CREATE TABLE IF NOT EXISTS user_footprint_minute (
    minute       TIMESTAMPTZ NOT NULL,
    method       TEXT NOT NULL,
    endpoint     TEXT NOT NULL,
    status_class SMALLINT NOT NULL,
    is_bot       BOOLEAN NOT NULL,
    n            INTEGER NOT NULL,
    PRIMARY KEY (minute, method, endpoint, status_class, is_bot)
);

COMMENT ON TABLE user_footprint_minute IS 'Footprints counted per minute (UTC), method, endpoint, status class and bot flag; kept current with every insert into user_footprint.';
COMMENT ON COLUMN user_footprint_minute.minute IS 'Start of the minute (whole UTC minute) the requests happened in.';
COMMENT ON COLUMN user_footprint_minute.method IS 'HTTP method, as stored in user_footprint.request.';
COMMENT ON COLUMN user_footprint_minute.endpoint IS 'coalesce(route, link): the route pattern when known, else the path.';
COMMENT ON COLUMN user_footprint_minute.status_class IS '2, 3, 4 or 5 for 2xx..5xx; 0 when the status is unknown or outside 200-599.';
COMMENT ON COLUMN user_footprint_minute.is_bot IS 'is_bot of the requests; unknown (NULL) counts as not a bot.';
COMMENT ON COLUMN user_footprint_minute.n IS 'Number of footprints.';

-- Upgrades: count the rows stored before this migration. It runs in the migration transaction
-- under the migration lock, so it happens once; writers of this version wait for the lock at
-- start-up. (A consumer of an older version still running during the upgrade would keep writing
-- raw rows without counting them here: stop old consumers before upgrading.)
INSERT INTO user_footprint_minute (minute, method, endpoint, status_class, is_bot, n)
SELECT date_bin('1 minute', footprint_time, TIMESTAMPTZ '1970-01-01 00:00:00+00'),
       request,
       coalesce(route, link),
       CASE WHEN status BETWEEN 200 AND 599 THEN status / 100 ELSE 0 END,
       coalesce(is_bot, false),
       count(*)
FROM user_footprint
GROUP BY 1, 2, 3, 4, 5;
