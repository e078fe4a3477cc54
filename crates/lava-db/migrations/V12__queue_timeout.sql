-- LAVA 2023's `timeouts.queue`: a job still queued at its deadline is canceled. Set at
-- submission (submit time + the job's queue timeout); NULL for jobs without one.
ALTER TABLE jobs ADD COLUMN queue_deadline timestamptz;

-- The scheduler's pass looks only at queued jobs that have a deadline.
CREATE INDEX jobs_queue_deadline ON jobs (queue_deadline)
    WHERE state = 'submitted' AND queue_deadline IS NOT NULL;
