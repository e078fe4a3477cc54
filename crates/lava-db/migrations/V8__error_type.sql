-- Why a job failed, as LAVA names it: an enum, like every other state, so no code compares
-- the text by hand. The labels are LAVA's own, case and all.

CREATE TYPE error_type AS ENUM ('Infrastructure', 'Job', 'Test', 'Configuration', 'Canceled',
    'LAVATimeout', 'MultinodeTimeout', 'Bug');

-- Workers of this release never sent another name. A row that holds one anyway keeps its
-- failure comment and loses only the name, rather than stopping the upgrade.
ALTER TABLE jobs ALTER COLUMN error_type TYPE error_type USING
    CASE WHEN error_type IN ('Infrastructure', 'Job', 'Test', 'Configuration', 'Canceled',
        'LAVATimeout', 'MultinodeTimeout', 'Bug') THEN error_type::error_type END;
