-- The runtime: where each job's log ends, why a job failed, and what the scheduler needs
-- to find work fast.

ALTER TABLE jobs ADD COLUMN log_lines bigint NOT NULL DEFAULT 0 CHECK (log_lines >= 0);
ALTER TABLE jobs ADD COLUMN log_bytes bigint NOT NULL DEFAULT 0 CHECK (log_bytes >= 0);
ALTER TABLE jobs ADD COLUMN error_type text;
ALTER TABLE jobs ADD COLUMN token_hash text;

-- The queue scan per device type and per requested device.
CREATE INDEX jobs_queue_by_type ON jobs (requested_device_type, priority DESC, submit_time, id)
    WHERE state = 'submitted' AND requested_device IS NULL;
CREATE INDEX jobs_queue_by_device ON jobs (requested_device, priority DESC, submit_time, id)
    WHERE state = 'submitted' AND requested_device IS NOT NULL;
CREATE INDEX jobs_worker_active ON jobs (worker_host) WHERE state IN ('scheduled', 'running', 'canceling');
CREATE INDEX jobs_health_checks ON jobs (actual_device, id) WHERE health_check;
CREATE INDEX devices_worker ON devices (worker_host);

-- Bundles are identified by the SHA-256 of their content.
ALTER TABLE bundles RENAME COLUMN content_sha1 TO content_sha256;
