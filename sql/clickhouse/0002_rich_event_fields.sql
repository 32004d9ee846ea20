-- Richer events: who asked, how, and how big the answer was. All NULL when the producer did not
-- send them (seed-format messages), never a made-up default.
ALTER TABLE user_footprint
    ADD COLUMN IF NOT EXISTS query      Nullable(String) COMMENT 'Query string without the leading ?, when recording it is enabled; NULL otherwise.',
    ADD COLUMN IF NOT EXISTS host       LowCardinality(Nullable(String)) COMMENT 'Host the request was addressed to (Host header).',
    ADD COLUMN IF NOT EXISTS user_agent Nullable(String) COMMENT 'User-Agent header of the request.',
    ADD COLUMN IF NOT EXISTS referrer   Nullable(String) COMMENT 'Referer header of the request.',
    ADD COLUMN IF NOT EXISTS ip_hash    Nullable(String) COMMENT 'SHA-256 (hex) of client IP + user agent + a daily rotating salt; never the raw IP.',
    ADD COLUMN IF NOT EXISTS is_bot     Nullable(Bool) COMMENT 'True when the user agent is a known bot or crawler.',
    ADD COLUMN IF NOT EXISTS bytes_out  Nullable(UInt64) COMMENT 'Size of the response body in bytes, when known.';
