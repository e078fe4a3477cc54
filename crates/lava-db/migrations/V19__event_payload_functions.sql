-- Each event topic's payload is built in one place: V18 wrote the job and the device payload
-- twice each (once for inserts, once for updates). The payloads, their order and the "only
-- real changes" filter stay exactly as V18 sends them. The payload functions are plain SQL
-- and STABLE (as json_build_object is), so the planner inlines them into the triggers'
-- queries: a bulk statement still costs no function call per row.
CREATE FUNCTION lava_event_job_payload(n jobs, submitter text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'topic', 'testjob', 'id', n.id, 'state', n.state, 'health', n.health,
        'description', left(n.description, 1000), 'priority', n.priority,
        'submit_time', n.submit_time, 'start_time', n.start_time, 'end_time', n.end_time,
        'submitter', left(submitter, 150), 'health_check', n.health_check,
        'visibility', n.visibility, 'device', n.actual_device, 'worker', n.worker_host,
        'device_type', n.requested_device_type)::text
$$;
CREATE FUNCTION lava_event_device_payload(n devices) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT json_build_object('topic', 'device', 'hostname', n.hostname, 'state', n.state,
        'health', n.health, 'device_type', n.device_type, 'worker', n.worker_host,
        'job', n.current_job_id)::text
$$;
CREATE OR REPLACE FUNCTION lava_event_jobs_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('lava.quiet_events', true) = 'on' THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        PERFORM pg_notify('lava_events', e.payload) FROM (
            SELECT lava_event_job_payload(n, u.username) AS payload
            FROM new_rows n LEFT JOIN users u ON u.id = n.submitter_id
            ORDER BY n.id) e;
    ELSE
        PERFORM pg_notify('lava_events', e.payload) FROM (
            SELECT lava_event_job_payload(n, u.username) AS payload
            FROM new_rows n JOIN old_rows o ON o.id = n.id LEFT JOIN users u ON u.id = n.submitter_id
            WHERE o.state <> n.state OR o.health <> n.health
            ORDER BY n.id) e;
    END IF;
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION lava_event_devices_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM pg_notify('lava_events', e.payload) FROM (
            SELECT lava_event_device_payload(n) AS payload
            FROM new_rows n ORDER BY n.hostname) e;
    ELSE
        PERFORM pg_notify('lava_events', e.payload) FROM (
            SELECT lava_event_device_payload(n) AS payload
            FROM new_rows n JOIN old_rows o ON o.hostname = n.hostname
            WHERE o.state <> n.state OR o.health <> n.health
            ORDER BY n.hostname) e;
    END IF;
    RETURN NULL;
END $$;
