-- Tags and device-type aliases as LAVA keeps them, queue depth per device type from the
-- counters, and the event stream's source: every change of a job's, device's or worker's
-- state or health is announced on the `lava_events` channel when its transaction commits.

-- Tags: a name and an optional description. Devices keep their tag names in `devices.tags`
-- (what the scheduler matches); a name there always has a row here.
CREATE TABLE tags (
    name        text PRIMARY KEY CHECK (name <> '' AND length(name) <= 50),
    description text
);
INSERT INTO tags (name) SELECT DISTINCT unnest(tags) FROM devices ON CONFLICT DO NOTHING;

-- An alias names a device type at submission (`device_type: ALIAS`). An alias is never
-- also the name of a device type, so a name resolves one way only.
CREATE TABLE device_type_aliases (
    name        text PRIMARY KEY CHECK (name <> '' AND length(name) <= 200),
    device_type text NOT NULL REFERENCES device_types (name) ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE INDEX device_type_aliases_type ON device_type_aliases (device_type, name);

CREATE FUNCTION alias_not_a_type() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM device_types WHERE name = NEW.name) THEN
        RAISE EXCEPTION 'alias % is the name of a device type', NEW.name
            USING ERRCODE = 'unique_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER device_type_aliases_not_types BEFORE INSERT OR UPDATE ON device_type_aliases
    FOR EACH ROW EXECUTE FUNCTION alias_not_a_type();

-- The job counters of V5 get the requested device type as a fourth key ('' for jobs that
-- asked for a device by name), so "queued jobs of type T" is a sum of a few counter rows
-- however many jobs there are.
ALTER TABLE job_counts ADD COLUMN device_type text NOT NULL DEFAULT '';
ALTER TABLE job_counts DROP CONSTRAINT job_counts_pkey;
ALTER TABLE job_counts ADD PRIMARY KEY (visibility, state, health, device_type);
ALTER TABLE job_count_deltas ADD COLUMN device_type text NOT NULL DEFAULT '';

CREATE OR REPLACE FUNCTION job_counts_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO job_count_deltas (visibility, state, health, device_type, delta)
    SELECT visibility, state, health, coalesce(requested_device_type, ''), count(*)
    FROM new_rows GROUP BY 1, 2, 3, 4;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION job_counts_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO job_count_deltas (visibility, state, health, device_type, delta)
    SELECT visibility, state, health, coalesce(requested_device_type, ''), -count(*)
    FROM old_rows GROUP BY 1, 2, 3, 4;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION job_counts_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO job_count_deltas (visibility, state, health, device_type, delta)
    SELECT visibility, state, health, t, sum(d) FROM (
        SELECT visibility, state, health, coalesce(requested_device_type, '') AS t, -1 AS d
        FROM old_rows
        UNION ALL
        SELECT visibility, state, health, coalesce(requested_device_type, '') AS t, 1 AS d
        FROM new_rows
    ) changes GROUP BY 1, 2, 3, 4 HAVING sum(d) <> 0;
    RETURN NULL;
END $$;

DELETE FROM job_count_deltas;
DELETE FROM job_counts;
INSERT INTO job_counts (visibility, state, health, device_type, n)
SELECT visibility, state, health, coalesce(requested_device_type, ''), count(*)
FROM jobs GROUP BY 1, 2, 3, 4;

-- The event stream. Each payload names the topic and carries the row's raw fields; the
-- publisher in `lava-server web` turns it into LAVA's message. Descriptions are cut so that a
-- payload stays far below NOTIFY's 8000 bytes. Only real changes are announced, as in LAVA.
CREATE FUNCTION lava_event_job() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.state = OLD.state AND NEW.health = OLD.health THEN
        RETURN NULL;
    END IF;
    PERFORM pg_notify('lava_events', json_build_object(
        'topic', 'testjob',
        'id', NEW.id,
        'state', NEW.state,
        'health', NEW.health,
        'description', left(NEW.description, 1000),
        'priority', NEW.priority,
        'submit_time', NEW.submit_time,
        'start_time', NEW.start_time,
        'end_time', NEW.end_time,
        'submitter', (SELECT left(username, 150) FROM users WHERE id = NEW.submitter_id),
        'health_check', NEW.health_check,
        'visibility', NEW.visibility,
        'device', NEW.actual_device,
        'worker', NEW.worker_host,
        'device_type', NEW.requested_device_type)::text);
    RETURN NULL;
END $$;
CREATE TRIGGER jobs_events AFTER INSERT OR UPDATE OF state, health ON jobs
    FOR EACH ROW EXECUTE FUNCTION lava_event_job();

CREATE FUNCTION lava_event_device() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.state = OLD.state AND NEW.health = OLD.health THEN
        RETURN NULL;
    END IF;
    PERFORM pg_notify('lava_events', json_build_object(
        'topic', 'device',
        'hostname', NEW.hostname,
        'state', NEW.state,
        'health', NEW.health,
        'device_type', NEW.device_type,
        'worker', NEW.worker_host,
        'job', NEW.current_job_id)::text);
    RETURN NULL;
END $$;
CREATE TRIGGER devices_events AFTER INSERT OR UPDATE OF state, health ON devices
    FOR EACH ROW EXECUTE FUNCTION lava_event_device();

CREATE FUNCTION lava_event_worker() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.state = OLD.state AND NEW.health = OLD.health THEN
        RETURN NULL;
    END IF;
    PERFORM pg_notify('lava_events', json_build_object(
        'topic', 'worker',
        'hostname', NEW.hostname,
        'state', NEW.state,
        'health', NEW.health)::text);
    RETURN NULL;
END $$;
CREATE TRIGGER workers_events AFTER INSERT OR UPDATE OF state, health ON workers
    FOR EACH ROW EXECUTE FUNCTION lava_event_worker();
