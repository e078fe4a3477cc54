-- A lab's history brought over by `manage import-lava --with-history` is not news: a million
-- old jobs must not go out on the event stream one NOTIFY each. The import sets
-- `lava.quiet_events` for its own transaction only (SET LOCAL); everything else is unchanged.
CREATE OR REPLACE FUNCTION lava_event_job() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.state = OLD.state AND NEW.health = OLD.health THEN
        RETURN NULL;
    END IF;
    IF current_setting('lava.quiet_events', true) = 'on' THEN
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
