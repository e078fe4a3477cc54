-- Counting the jobs a caller may see (the REST envelope's `count`) must not scan the jobs
-- table. Every insert, delete, and change of state, health or visibility adds one delta row
-- per (visibility, state, health) it touches; the active scheduler folds the deltas into
-- `job_counts` now and then. A count is the sum of the totals and the pending deltas, so it
-- is always exact, and writers never wait on a shared counter row (they only insert).

CREATE TABLE job_counts (
    visibility job_visibility NOT NULL,
    state      job_state NOT NULL,
    health     job_health NOT NULL,
    n          bigint NOT NULL,
    PRIMARY KEY (visibility, state, health)
);

CREATE TABLE job_count_deltas (
    id         bigserial PRIMARY KEY,
    visibility job_visibility NOT NULL,
    state      job_state NOT NULL,
    health     job_health NOT NULL,
    delta      bigint NOT NULL
);

CREATE FUNCTION job_counts_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO job_count_deltas (visibility, state, health, delta)
    SELECT visibility, state, health, count(*) FROM new_rows GROUP BY 1, 2, 3;
    RETURN NULL;
END $$;

CREATE FUNCTION job_counts_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO job_count_deltas (visibility, state, health, delta)
    SELECT visibility, state, health, -count(*) FROM old_rows GROUP BY 1, 2, 3;
    RETURN NULL;
END $$;

CREATE FUNCTION job_counts_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO job_count_deltas (visibility, state, health, delta)
    SELECT visibility, state, health, sum(d) FROM (
        SELECT visibility, state, health, -1 AS d FROM old_rows
        UNION ALL
        SELECT visibility, state, health, 1 AS d FROM new_rows
    ) changes GROUP BY 1, 2, 3 HAVING sum(d) <> 0;
    RETURN NULL;
END $$;

CREATE TRIGGER job_counts_insert AFTER INSERT ON jobs
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION job_counts_inserted();
CREATE TRIGGER job_counts_delete AFTER DELETE ON jobs
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION job_counts_deleted();
-- (PostgreSQL allows no column list with transition tables: an update that changes none of
-- the three, such as a log append, nets to zero and writes nothing.)
CREATE TRIGGER job_counts_update AFTER UPDATE ON jobs
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION job_counts_updated();

INSERT INTO job_counts (visibility, state, health, n)
SELECT visibility, state, health, count(*) FROM jobs GROUP BY 1, 2, 3;
