-- Workers run only the devices given to them: an admin's assignment, or the `.conf` files
-- of a worker a superuser approved; any other report is a pending claim.

-- A superuser approves a worker before the `.conf` files it reports may take devices (those
-- nobody has, or whose worker no longer reports them). Existing workers start unapproved;
-- their devices stay theirs.
ALTER TABLE workers ADD COLUMN approved boolean NOT NULL DEFAULT false;

-- devices.worker_host is the worker an admin assigned the device to (`manage devices
-- set-worker`, the admin page, a fixture) or the approved worker whose `.conf` has it.
-- worker_reported says whether that worker's latest poll listed the device's `.conf` (NULL:
-- it has not polled since the device was assigned to it); only when true does the device
-- take jobs. Only an approved worker takes a device by reporting it, and only one that has
-- no worker or whose worker's latest poll left it out (its `.conf` moved).
ALTER TABLE devices ADD COLUMN worker_reported boolean;
UPDATE devices SET worker_reported = true WHERE worker_host IS NOT NULL;

-- A worker reported a device that is not assigned to it: pending until an admin assigns the
-- device (to it or elsewhere); shown on the admin pages.
CREATE TABLE device_claims (
    device     text NOT NULL REFERENCES devices (hostname) ON DELETE CASCADE,
    worker     text NOT NULL REFERENCES workers (hostname) ON DELETE CASCADE,
    first_seen timestamptz NOT NULL DEFAULT now(),
    last_seen  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (device, worker)
);
