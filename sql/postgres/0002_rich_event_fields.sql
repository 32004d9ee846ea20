-- Richer events: who asked, how, and how big the answer was. All NULL when the producer did not
-- send them (seed-format messages), never a made-up default.
ALTER TABLE user_footprint
    ADD COLUMN IF NOT EXISTS query      TEXT,
    ADD COLUMN IF NOT EXISTS host       TEXT,
    ADD COLUMN IF NOT EXISTS user_agent TEXT,
    ADD COLUMN IF NOT EXISTS referrer   TEXT,
    ADD COLUMN IF NOT EXISTS ip_hash    TEXT,
    ADD COLUMN IF NOT EXISTS is_bot     BOOLEAN,
    ADD COLUMN IF NOT EXISTS bytes_out  BIGINT;

COMMENT ON COLUMN user_footprint.query IS 'Query string without the leading ?, when recording it is enabled; NULL otherwise.';
COMMENT ON COLUMN user_footprint.host IS 'Host the request was addressed to (Host header).';
COMMENT ON COLUMN user_footprint.user_agent IS 'User-Agent header of the request.';
COMMENT ON COLUMN user_footprint.referrer IS 'Referer header of the request.';
COMMENT ON COLUMN user_footprint.ip_hash IS 'SHA-256 (hex) of client IP + user agent + a daily rotating salt; never the raw IP.';
COMMENT ON COLUMN user_footprint.is_bot IS 'True when the user agent is a known bot or crawler.';
COMMENT ON COLUMN user_footprint.bytes_out IS 'Size of the response body in bytes, when known.';
