-- LAVA's job failure tags: a lab's own words for why jobs fail ("bootloader hang", "lab
-- network"), set by staff on finished jobs and shown by REST as `failure_tags` (their ids).
CREATE TABLE failure_tags (
    id          serial PRIMARY KEY,
    name        text NOT NULL UNIQUE CHECK (name <> '' AND char_length(name) <= 256),
    description text NOT NULL DEFAULT ''
);

-- A job's tags, as ids in the order set; removing a tag takes it off every job.
ALTER TABLE jobs ADD COLUMN failure_tags integer[] NOT NULL DEFAULT '{}';
