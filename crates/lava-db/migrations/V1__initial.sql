-- The LAVA data model. States are PostgreSQL enums mapped one to one onto the Rust enums in
-- lava-common (lava_common::state); their labels must stay in sync with those enums.

CREATE TYPE device_state AS ENUM ('idle', 'reserved', 'running');
CREATE TYPE device_health AS ENUM ('good', 'unknown', 'looping', 'bad', 'maintenance', 'retired');
CREATE TYPE job_state AS ENUM ('submitted', 'scheduled', 'running', 'canceling', 'finished');
CREATE TYPE job_health AS ENUM ('unknown', 'complete', 'incomplete', 'canceled');
CREATE TYPE worker_state AS ENUM ('online', 'offline');
CREATE TYPE worker_health AS ENUM ('active', 'maintenance', 'retired');
CREATE TYPE test_result AS ENUM ('pass', 'fail', 'skip', 'unknown');
CREATE TYPE health_denominator AS ENUM ('hours', 'jobs');
CREATE TYPE job_visibility AS ENUM ('public', 'personal', 'group');

CREATE TABLE users (
    id           bigserial PRIMARY KEY,
    username     text NOT NULL UNIQUE,
    email        text NOT NULL DEFAULT '',
    first_name   text NOT NULL DEFAULT '',
    last_name    text NOT NULL DEFAULT '',
    -- argon2 PHC string, or a hash imported verbatim from a LAVA fixture; '' = no password login
    password     text NOT NULL DEFAULT '',
    is_staff     boolean NOT NULL DEFAULT false,
    is_superuser boolean NOT NULL DEFAULT false,
    is_active    boolean NOT NULL DEFAULT true,
    date_joined  timestamptz NOT NULL DEFAULT now(),
    last_login   timestamptz
);

CREATE TABLE groups (
    id   bigserial PRIMARY KEY,
    name text NOT NULL UNIQUE
);

CREATE TABLE user_groups (
    user_id  bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    group_id bigint NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, group_id)
);

-- API tokens: only the SHA-256 of the secret is stored; the secret is shown once.
CREATE TABLE api_tokens (
    id          bigserial PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    description text NOT NULL DEFAULT '',
    token_hash  text NOT NULL UNIQUE,
    created     timestamptz NOT NULL DEFAULT now(),
    last_used   timestamptz
);

CREATE TABLE workers (
    hostname    text PRIMARY KEY,
    description text NOT NULL DEFAULT '',
    state       worker_state NOT NULL DEFAULT 'offline',
    health      worker_health NOT NULL DEFAULT 'active',
    last_ping   timestamptz,
    job_limit   integer NOT NULL DEFAULT 0 CHECK (job_limit >= 0),
    version     text,
    -- SHA-256 of the worker's token; NULL until `manage workers add` makes one
    token_hash  text UNIQUE
);

CREATE TABLE device_types (
    name                 text PRIMARY KEY,
    description          text NOT NULL DEFAULT '',
    health_check_job     text,
    health_frequency     integer NOT NULL DEFAULT 24 CHECK (health_frequency > 0),
    health_denominator   health_denominator NOT NULL DEFAULT 'hours',
    disable_health_check boolean NOT NULL DEFAULT false,
    display              boolean NOT NULL DEFAULT true
);

CREATE TABLE jobs (
    id                    bigserial PRIMARY KEY,
    submitter_id          bigint REFERENCES users (id) ON DELETE SET NULL,
    description           text NOT NULL DEFAULT '',
    -- the definition exactly as submitted, and the parsed plan everything downstream reads
    original_definition   text NOT NULL,
    plan                  jsonb NOT NULL DEFAULT '{}',
    health_check          boolean NOT NULL DEFAULT false,
    requested_device_type text REFERENCES device_types (name),
    requested_device      text,
    tags                  text[] NOT NULL DEFAULT '{}',
    priority              integer NOT NULL DEFAULT 50 CHECK (priority BETWEEN 0 AND 100),
    visibility            job_visibility NOT NULL DEFAULT 'public',
    state                 job_state NOT NULL DEFAULT 'submitted',
    health                job_health NOT NULL DEFAULT 'unknown',
    actual_device         text,
    worker_host           text REFERENCES workers (hostname) ON DELETE SET NULL,
    submit_time           timestamptz NOT NULL DEFAULT now(),
    start_time            timestamptz,
    end_time              timestamptz,
    failure_comment       text,
    CHECK (requested_device_type IS NOT NULL OR requested_device IS NOT NULL)
);

-- The scheduler's queue scan: submitted jobs by priority, then age.
CREATE INDEX jobs_queue ON jobs (priority DESC, submit_time, id) WHERE state = 'submitted';
CREATE INDEX jobs_state ON jobs (state, id);
CREATE INDEX jobs_actual_device ON jobs (actual_device, id);

CREATE TABLE job_viewing_groups (
    job_id   bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    group_id bigint NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    PRIMARY KEY (job_id, group_id)
);

CREATE TABLE devices (
    hostname               text PRIMARY KEY,
    device_type            text NOT NULL REFERENCES device_types (name),
    description            text NOT NULL DEFAULT '',
    tags                   text[] NOT NULL DEFAULT '{}',
    state                  device_state NOT NULL DEFAULT 'idle',
    health                 device_health NOT NULL DEFAULT 'unknown',
    worker_host            text REFERENCES workers (hostname) ON DELETE SET NULL,
    current_job_id         bigint REFERENCES jobs (id) ON DELETE SET NULL,
    last_health_report_job bigint REFERENCES jobs (id) ON DELETE SET NULL,
    -- a device with a job is never idle, and an idle one has none
    CHECK ((state = 'idle') = (current_job_id IS NULL))
);

ALTER TABLE jobs ADD FOREIGN KEY (requested_device) REFERENCES devices (hostname);
ALTER TABLE jobs ADD FOREIGN KEY (actual_device) REFERENCES devices (hostname);

-- One index entry per uploaded batch of log lines: line N starts at byte_offset.
CREATE TABLE job_log_index (
    job_id      bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    line        bigint NOT NULL CHECK (line >= 0),
    byte_offset bigint NOT NULL CHECK (byte_offset >= 0),
    PRIMARY KEY (job_id, line)
);

CREATE TABLE test_suites (
    id     bigserial PRIMARY KEY,
    job_id bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    name   text NOT NULL,
    UNIQUE (job_id, name)
);

CREATE TABLE test_cases (
    id             bigserial PRIMARY KEY,
    suite_id       bigint NOT NULL REFERENCES test_suites (id) ON DELETE CASCADE,
    name           text NOT NULL,
    test_set       text,
    result         test_result NOT NULL,
    measurement    numeric,
    units          text NOT NULL DEFAULT '',
    metadata       jsonb NOT NULL DEFAULT '{}',
    start_log_line bigint,
    end_log_line   bigint,
    logged         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX test_cases_suite ON test_cases (suite_id, id);

CREATE TABLE bundle_streams (
    id           bigserial PRIMARY KEY,
    pathname     text NOT NULL UNIQUE CHECK (pathname LIKE '/%/'),
    name         text NOT NULL DEFAULT '',
    slug         text NOT NULL DEFAULT '',
    user_id      bigint REFERENCES users (id) ON DELETE SET NULL,
    group_id     bigint REFERENCES groups (id) ON DELETE SET NULL,
    is_public    boolean NOT NULL DEFAULT true,
    is_anonymous boolean NOT NULL DEFAULT false,
    created      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE bundles (
    id           bigserial PRIMARY KEY,
    stream_id    bigint NOT NULL REFERENCES bundle_streams (id) ON DELETE CASCADE,
    job_id       bigint REFERENCES jobs (id) ON DELETE SET NULL,
    content_sha1 text NOT NULL,
    content      jsonb NOT NULL,
    uploaded_by  bigint REFERENCES users (id) ON DELETE SET NULL,
    uploaded_on  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (stream_id, content_sha1)
);

-- Every state and health change, with its reason: LAVA's transition records.
CREATE TABLE device_transitions (
    id         bigserial PRIMARY KEY,
    device     text NOT NULL REFERENCES devices (hostname) ON DELETE CASCADE,
    created    timestamptz NOT NULL DEFAULT now(),
    old_state  device_state NOT NULL,
    new_state  device_state NOT NULL,
    old_health device_health NOT NULL,
    new_health device_health NOT NULL,
    job_id     bigint REFERENCES jobs (id) ON DELETE SET NULL,
    actor_id   bigint REFERENCES users (id) ON DELETE SET NULL,
    reason     text NOT NULL
);
CREATE INDEX device_transitions_device ON device_transitions (device, id);

CREATE TABLE job_transitions (
    id         bigserial PRIMARY KEY,
    job_id     bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    created    timestamptz NOT NULL DEFAULT now(),
    old_state  job_state NOT NULL,
    new_state  job_state NOT NULL,
    old_health job_health NOT NULL,
    new_health job_health NOT NULL,
    device     text REFERENCES devices (hostname) ON DELETE SET NULL,
    actor_id   bigint REFERENCES users (id) ON DELETE SET NULL,
    reason     text NOT NULL
);
CREATE INDEX job_transitions_job ON job_transitions (job_id, id);

CREATE TABLE worker_transitions (
    id         bigserial PRIMARY KEY,
    worker     text NOT NULL REFERENCES workers (hostname) ON DELETE CASCADE,
    created    timestamptz NOT NULL DEFAULT now(),
    old_state  worker_state NOT NULL,
    new_state  worker_state NOT NULL,
    old_health worker_health NOT NULL,
    new_health worker_health NOT NULL,
    actor_id   bigint REFERENCES users (id) ON DELETE SET NULL,
    reason     text NOT NULL
);
