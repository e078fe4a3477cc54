-- Notify callbacks: when a job whose definition has a `notify` block starts running or
-- finishes, the transition itself queues a row here (same transaction, so none is lost);
-- the active scheduler sends the callbacks, retries failures with backoff, and records how
-- each attempt went.

CREATE TYPE callback_state AS ENUM ('pending', 'sent', 'failed', 'skipped');

CREATE TABLE job_callbacks (
    id           bigserial PRIMARY KEY,
    job_id       bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    -- the state the job entered: running or finished
    trigger      job_state NOT NULL,
    state        callback_state NOT NULL DEFAULT 'pending',
    attempts     integer NOT NULL DEFAULT 0,
    next_attempt timestamptz NOT NULL DEFAULT now(),
    -- indexes (in the notify block's list) of the callbacks already delivered
    delivered    integer[] NOT NULL DEFAULT '{}',
    last_error   text,
    created      timestamptz NOT NULL DEFAULT now(),
    done         timestamptz
);
CREATE INDEX job_callbacks_due ON job_callbacks (next_attempt) WHERE state = 'pending';
CREATE INDEX job_callbacks_job ON job_callbacks (job_id);
