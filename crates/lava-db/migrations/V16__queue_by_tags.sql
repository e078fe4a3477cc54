-- The bulk scheduling pass reads, for each device type with idle devices, the queue of each
-- set of tags its jobs ask for: the groups by a loose scan of this index, then the best jobs
-- of each group from it in order, instead of sorting the whole queue every pass.
CREATE INDEX jobs_queue_by_type_tags ON jobs (requested_device_type, tags, priority DESC, submit_time, id)
    WHERE state = 'submitted' AND requested_device IS NULL;
