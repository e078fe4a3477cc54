-- The values of a job's `secrets` block, kept apart like its callback tokens: the stored
-- definition and plan show a mask, and only the worker that runs the job (and a resubmission
-- by the submitter or a superuser) reads these.
CREATE TABLE job_secrets (
    job_id bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    name   text NOT NULL CHECK (name ~ '^[A-Za-z_][A-Za-z0-9_]*$'),
    value  text NOT NULL,
    PRIMARY KEY (job_id, name)
);
