-- Scale: back-offs and the indexes a long history needs.

-- Health checks that failed in a row (ended incomplete); a complete check and an admin's
-- change of health set it back to 0. The scheduler waits longer before each retry
-- ([health_checks] retry_delay, doubling) and makes the device bad once it reaches
-- [health_checks] failures_to_bad.
ALTER TABLE devices ADD COLUMN health_check_failures integer NOT NULL DEFAULT 0
    CHECK (health_check_failures >= 0);

-- A long history (a million jobs): every documented filter and ordering of the job lists
-- reads an index, never the whole table (tests/plans.rs checks the plans).
-- REST `ordering` by time, and the time filters (`submit_time__gt`, `end_time__lt`, …).
CREATE INDEX jobs_submit_time ON jobs (submit_time, id);
CREATE INDEX jobs_start_time ON jobs (start_time, id);
CREATE INDEX jobs_end_time ON jobs (end_time, id);
-- A logged-in caller's own private jobs, counted beside the public counters.
CREATE INDEX jobs_private ON jobs (submitter_id, id) WHERE visibility <> 'public';
-- `health_check=false` (nearly every job): counted from the index alone, with what the
-- visibility rule reads.
CREATE INDEX jobs_not_health_check ON jobs (id) INCLUDE (visibility, submitter_id)
    WHERE NOT health_check;
-- Deleting old jobs (`manage jobs rm`) sets these references to NULL: found by index.
CREATE INDEX bundles_job ON bundles (job_id) WHERE job_id IS NOT NULL;
CREATE INDEX device_transitions_job ON device_transitions (job_id) WHERE job_id IS NOT NULL;
