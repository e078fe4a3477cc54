-- Every scheduling pass looks for idle devices (to assign, to health-check, to give up on).
-- In a busy lab almost none are idle: this index finds them without reading every device,
-- so a pass over a full lab reads a few index pages.
CREATE INDEX devices_idle ON devices (worker_host) WHERE state = 'idle';
