-- The job lists' `health_check` and `submitter` filters are counted from counters too, not
-- by reading every matching job (a million jobs of history: REST `jobs/?submitter=…` must
-- answer in milliseconds).
--
-- `job_counts` gets `health_check` as a fifth key (two rows where there was one). Counts by
-- submitter go to a table of their own, keyed by the submitter first, so that the totals
-- of the unfiltered list stay a sum of a few rows however many users a lab has. Both are
-- folded from the same delta rows, which now carry both keys; a job whose submitter is gone
-- (NULL) counts under 0.
ALTER TABLE job_counts ADD COLUMN health_check boolean NOT NULL DEFAULT false;
ALTER TABLE job_counts DROP CONSTRAINT job_counts_pkey;
ALTER TABLE job_counts ADD PRIMARY KEY (visibility, state, health, device_type, health_check);
ALTER TABLE job_count_deltas
    ADD COLUMN health_check boolean NOT NULL DEFAULT false,
    ADD COLUMN submitter_id bigint NOT NULL DEFAULT 0;

CREATE TABLE job_counts_by_submitter (
    submitter_id bigint NOT NULL,
    visibility   job_visibility NOT NULL,
    state        job_state NOT NULL,
    health       job_health NOT NULL,
    n            bigint NOT NULL,
    PRIMARY KEY (submitter_id, visibility, state, health)
);

CREATE OR REPLACE FUNCTION job_counts_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO job_count_deltas
        (visibility, state, health, device_type, health_check, submitter_id, delta)
    SELECT visibility, state, health, coalesce(requested_device_type, ''), health_check,
        coalesce(submitter_id, 0), count(*)
    FROM new_rows GROUP BY 1, 2, 3, 4, 5, 6;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION job_counts_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO job_count_deltas
        (visibility, state, health, device_type, health_check, submitter_id, delta)
    SELECT visibility, state, health, coalesce(requested_device_type, ''), health_check,
        coalesce(submitter_id, 0), -count(*)
    FROM old_rows GROUP BY 1, 2, 3, 4, 5, 6;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION job_counts_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO job_count_deltas
        (visibility, state, health, device_type, health_check, submitter_id, delta)
    SELECT visibility, state, health, t, health_check, s, sum(d) FROM (
        SELECT visibility, state, health, coalesce(requested_device_type, '') AS t,
            health_check, coalesce(submitter_id, 0) AS s, -1 AS d
        FROM old_rows
        UNION ALL
        SELECT visibility, state, health, coalesce(requested_device_type, '') AS t,
            health_check, coalesce(submitter_id, 0) AS s, 1 AS d
        FROM new_rows
    ) changes GROUP BY 1, 2, 3, 4, 5, 6 HAVING sum(d) <> 0;
    RETURN NULL;
END $$;

-- Recounted from the jobs in this migration's transaction: writers wait on the lock.
LOCK TABLE jobs IN SHARE MODE;
DELETE FROM job_count_deltas;
DELETE FROM job_counts;
INSERT INTO job_counts (visibility, state, health, device_type, health_check, n)
SELECT visibility, state, health, coalesce(requested_device_type, ''), health_check, count(*)
FROM jobs GROUP BY 1, 2, 3, 4, 5;
INSERT INTO job_counts_by_submitter (submitter_id, visibility, state, health, n)
SELECT coalesce(submitter_id, 0), visibility, state, health, count(*)
FROM jobs GROUP BY 1, 2, 3, 4;
