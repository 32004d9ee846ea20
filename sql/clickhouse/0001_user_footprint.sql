-- The old system's table (same name, columns and meaning) plus the columns of our richer events.
-- footprint_time is DateTime64(6, 'UTC') rather than the old DateTime64(3): the wire format has
-- microseconds and both stores must hold the same instant. Stored in UTC as the old consumer did.
CREATE TABLE IF NOT EXISTS user_footprint
(
    id             UUID DEFAULT generateUUIDv4() COMMENT 'Row id, assigned on insert.',
    link           String COMMENT 'Requested URL path, without the query string.',
    request        LowCardinality(String) COMMENT 'HTTP method of the request (GET, POST, ...).',
    footprint_time DateTime64(6, 'UTC') COMMENT 'When the request happened (UTC, microseconds).',
    execute_time   DateTime64(3, 'UTC') DEFAULT now64(3) COMMENT 'When the row was stored.',
    event_id       UUID COMMENT 'Event id: UUIDv7 from the producer, or derived from the Kafka topic/partition/offset.',
    route          LowCardinality(Nullable(String)) COMMENT 'Matched route pattern, e.g. /items/:id; NULL when unknown.',
    status         Nullable(UInt16) COMMENT 'HTTP status of the response; NULL when unknown.',
    duration_ms    Nullable(Float64) COMMENT 'Time to produce the response, in milliseconds; NULL when unknown.'
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(footprint_time)
ORDER BY footprint_time
COMMENT 'One row per recorded HTTP request (a footprint).';
