-- Secrets and logins: callback tokens kept apart from job definitions, and recent failed
-- logins for the login throttle.

-- The tokens of a job's notify callbacks, by their place in the notify block (`callback`
-- first, then `callbacks` in order). The stored definition and plan show a mask instead;
-- only the callback sender and resubmission read this table.
CREATE TABLE job_callback_tokens (
    job_id   bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    position integer NOT NULL CHECK (position >= 0),
    token    text NOT NULL,
    PRIMARY KEY (job_id, position)
);

-- Failed logins within the throttle's window, by key (`user:NAME` or `addr:ADDRESS`); every
-- failed login first deletes the rows that have left the window, so the table never holds
-- more than one window of failures.
CREATE TABLE login_failures (
    id  bigserial PRIMARY KEY,
    key text NOT NULL,
    at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_key ON login_failures (key, at);
CREATE INDEX login_failures_at ON login_failures (at);
