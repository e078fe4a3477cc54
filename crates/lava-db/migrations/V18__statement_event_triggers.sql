-- The event stream's job and device triggers run once per statement, not once per row: the
-- scheduler's bulk assignment moves thousands of jobs and devices in one statement, and a
-- PL/pgSQL call per row (with its own lookup of the submitter) was a large part of its cost.
-- The payloads are unchanged (V10, V15); they go out in id (hostname) order, only for real
-- changes of state or health, and never while `lava.quiet_events` is on (history imports).
-- PostgreSQL allows no column list with transition tables, so the update triggers fire on
-- every UPDATE and compare old and new rows themselves.
CREATE FUNCTION lava_event_jobs_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('lava.quiet_events', true) = 'on' THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        PERFORM pg_notify('lava_events', e.payload) FROM (
            SELECT json_build_object(
                'topic', 'testjob', 'id', n.id, 'state', n.state, 'health', n.health,
                'description', left(n.description, 1000), 'priority', n.priority,
                'submit_time', n.submit_time, 'start_time', n.start_time, 'end_time', n.end_time,
                'submitter', left(u.username, 150), 'health_check', n.health_check,
                'visibility', n.visibility, 'device', n.actual_device, 'worker', n.worker_host,
                'device_type', n.requested_device_type)::text AS payload
            FROM new_rows n LEFT JOIN users u ON u.id = n.submitter_id
            ORDER BY n.id) e;
    ELSE
        PERFORM pg_notify('lava_events', e.payload) FROM (
            SELECT json_build_object(
                'topic', 'testjob', 'id', n.id, 'state', n.state, 'health', n.health,
                'description', left(n.description, 1000), 'priority', n.priority,
                'submit_time', n.submit_time, 'start_time', n.start_time, 'end_time', n.end_time,
                'submitter', left(u.username, 150), 'health_check', n.health_check,
                'visibility', n.visibility, 'device', n.actual_device, 'worker', n.worker_host,
                'device_type', n.requested_device_type)::text AS payload
            FROM new_rows n JOIN old_rows o ON o.id = n.id LEFT JOIN users u ON u.id = n.submitter_id
            WHERE o.state <> n.state OR o.health <> n.health
            ORDER BY n.id) e;
    END IF;
    RETURN NULL;
END $$;
DROP TRIGGER jobs_events ON jobs;
CREATE TRIGGER jobs_events_inserted AFTER INSERT ON jobs REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION lava_event_jobs_changed();
CREATE TRIGGER jobs_events_updated AFTER UPDATE ON jobs REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION lava_event_jobs_changed();
CREATE FUNCTION lava_event_devices_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM pg_notify('lava_events', e.payload) FROM (
            SELECT json_build_object('topic', 'device', 'hostname', n.hostname, 'state', n.state,
                'health', n.health, 'device_type', n.device_type, 'worker', n.worker_host,
                'job', n.current_job_id)::text AS payload
            FROM new_rows n ORDER BY n.hostname) e;
    ELSE
        PERFORM pg_notify('lava_events', e.payload) FROM (
            SELECT json_build_object('topic', 'device', 'hostname', n.hostname, 'state', n.state,
                'health', n.health, 'device_type', n.device_type, 'worker', n.worker_host,
                'job', n.current_job_id)::text AS payload
            FROM new_rows n JOIN old_rows o ON o.hostname = n.hostname
            WHERE o.state <> n.state OR o.health <> n.health
            ORDER BY n.hostname) e;
    END IF;
    RETURN NULL;
END $$;
DROP TRIGGER devices_events ON devices;
CREATE TRIGGER devices_events_inserted AFTER INSERT ON devices REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION lava_event_devices_changed();
CREATE TRIGGER devices_events_updated AFTER UPDATE ON devices REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION lava_event_devices_changed();
DROP FUNCTION lava_event_job();
DROP FUNCTION lava_event_device();
