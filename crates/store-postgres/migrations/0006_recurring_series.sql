-- Recurring series: every task's place in its series, and one row per series that made a next
-- instance or ended.
--
-- A task the user creates starts its own series (series_id = its id, sequence 1); the
-- recurring role's next instances copy series_id and take the next sequence. Existing tasks
-- become the first instance of their own series.

ALTER TABLE tasks ADD COLUMN series_id uuid;
ALTER TABLE tasks ADD COLUMN sequence integer NOT NULL DEFAULT 1;
UPDATE tasks SET series_id = id WHERE series_id IS NULL;
ALTER TABLE tasks ALTER COLUMN series_id SET NOT NULL;

-- One instance per sequence number of a series: a redelivered event, a second consumer
-- replica or a complete -> reopen -> complete can never make a second next instance.
ALTER TABLE tasks ADD CONSTRAINT tasks_series_sequence UNIQUE (series_id, sequence);

CREATE TABLE recurring_series (
    series_id uuid CONSTRAINT recurring_series_pkey PRIMARY KEY,
    user_id uuid NOT NULL
        CONSTRAINT recurring_series_user_id_fkey REFERENCES users (id) ON DELETE CASCADE,
    -- The highest sequence number the series has made; a next instance must exceed it.
    last_sequence integer NOT NULL,
    -- Set when the series ended (DELETE ?scope=series): it makes nothing more.
    ended_at timestamptz
);
