-- Scale: back-offs and the indexes a long history needs.

-- Health checks that failed in a row (ended incomplete); a complete check and an admin's
-- change of health set it back to 0. The scheduler waits longer before each retry
-- ([health_checks] retry_delay, doubling) and makes the device bad once it reaches
-- [health_checks] failures_to_bad.
ALTER TABLE devices ADD COLUMN health_check_failures integer NOT NULL DEFAULT 0
    CHECK (health_check_failures >= 0);
