-- Dashboard sessions that are still valid: the session cookie is signed (SESSION_SECRET) and names
-- one of these rows, so a logout deletes its row and every serve process refuses the cookie from
-- then on; deleting all rows logs everyone out (`DELETE {PATH_PREFIX}/api/v1/sessions`, or
-- `DELETE FROM eft_dashboard_sessions` by hand). Only a SHA-256 of the cookie's random part is
-- kept: a copy of this table lets nobody log in. Expired rows are deleted as new sessions start.
CREATE TABLE IF NOT EXISTS eft_dashboard_sessions (
    id_hash    TEXT PRIMARY KEY,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX IF NOT EXISTS eft_dashboard_sessions_expires_at ON eft_dashboard_sessions (expires_at);

COMMENT ON TABLE eft_dashboard_sessions IS 'Dashboard login sessions still valid; a cookie whose row is gone is refused (logout, revoke all).';
COMMENT ON COLUMN eft_dashboard_sessions.id_hash IS 'SHA-256 (hex) of the random session id inside the signed eft_session cookie.';
COMMENT ON COLUMN eft_dashboard_sessions.created_at IS 'When the session was started (the login).';
COMMENT ON COLUMN eft_dashboard_sessions.expires_at IS 'When the cookie expires (its signed expiry); the row is deleted some time after.';

-- Failed password logins of the dashboard user, from any address and any serve process: the
-- per-user limit (20 in 10 minutes) counts these rows, so N processes behind a balancer do not
-- give a guesser N times the tries. No address is kept. Rows older than the window are deleted as
-- new failures come.
CREATE TABLE IF NOT EXISTS eft_dashboard_login_failures (
    account   TEXT NOT NULL,
    failed_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS eft_dashboard_login_failures_account ON eft_dashboard_login_failures (account, failed_at);

COMMENT ON TABLE eft_dashboard_login_failures IS 'Failed dashboard password logins, one row each, kept for the per-user limit window.';
COMMENT ON COLUMN eft_dashboard_login_failures.account IS 'Whose login failed: user (the one DASHBOARD_USER, whatever name was typed).';
COMMENT ON COLUMN eft_dashboard_login_failures.failed_at IS 'When the failed login was answered.';
