-- The web app: login sessions and the record of admin changes.

-- A browser session: the cookie holds a random key; only its SHA-256 is stored. Each session
-- has its own CSRF token, which every form posts back.
CREATE TABLE web_sessions (
    key_hash   text PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token text NOT NULL,
    created    timestamptz NOT NULL DEFAULT now(),
    expires    timestamptz NOT NULL
);
CREATE INDEX web_sessions_expires ON web_sessions (expires);
CREATE INDEX web_sessions_user ON web_sessions (user_id);

-- Who changed what through the admin interface or the APIs, and why.
CREATE TABLE admin_log (
    id          bigserial PRIMARY KEY,
    time        timestamptz NOT NULL DEFAULT now(),
    user_id     bigint REFERENCES users (id) ON DELETE SET NULL,
    username    text NOT NULL,
    object_type text NOT NULL,
    object_id   text NOT NULL,
    action      text NOT NULL,
    reason      text NOT NULL DEFAULT ''
);
CREATE INDEX admin_log_object ON admin_log (object_type, object_id, id);

-- Job lists filtered by submitter ("my jobs") stay fast with many jobs.
CREATE INDEX jobs_submitter ON jobs (submitter_id, id);
