-- The old system's table (same name, columns and meaning) plus the columns of our richer events.
CREATE TABLE IF NOT EXISTS user_footprint (
    id             SERIAL PRIMARY KEY,
    link           TEXT NOT NULL,
    request        TEXT NOT NULL,
    footprint_time TIMESTAMPTZ NOT NULL,
    execute_time   TIMESTAMPTZ NOT NULL DEFAULT now(),
    event_id       UUID NOT NULL,
    route          TEXT,
    status         SMALLINT,
    duration_ms    DOUBLE PRECISION
);

COMMENT ON TABLE user_footprint IS 'One row per recorded HTTP request (a footprint).';
COMMENT ON COLUMN user_footprint.id IS 'Row number, assigned on insert.';
COMMENT ON COLUMN user_footprint.link IS 'Requested URL path, without the query string.';
COMMENT ON COLUMN user_footprint.request IS 'HTTP method of the request (GET, POST, ...).';
COMMENT ON COLUMN user_footprint.footprint_time IS 'When the request happened (microseconds).';
COMMENT ON COLUMN user_footprint.execute_time IS 'When the row was stored.';
COMMENT ON COLUMN user_footprint.event_id IS 'Event id: UUIDv7 from the producer, or derived from the Kafka topic/partition/offset for messages without one. Unique, so redelivered messages are stored once.';
COMMENT ON COLUMN user_footprint.route IS 'Matched route pattern, e.g. /items/:id; NULL when unknown.';
COMMENT ON COLUMN user_footprint.status IS 'HTTP status of the response; NULL when unknown.';
COMMENT ON COLUMN user_footprint.duration_ms IS 'Time to produce the response, in milliseconds; NULL when unknown.';

-- Kafka delivers at least once: the unique event id turns redelivery into a no-op insert.
CREATE UNIQUE INDEX IF NOT EXISTS user_footprint_event_id_key ON user_footprint (event_id);
-- Every statistic is asked for a period.
CREATE INDEX IF NOT EXISTS user_footprint_footprint_time_idx ON user_footprint (footprint_time);
