-- The import ledger: which task an imported item became, per user, source and source id, so
-- that importing the same file again creates nothing. A row outlives its task (an imported
-- task the user deleted is not brought back by the next import of the file).

CREATE TABLE import_ledger (
    user_id uuid NOT NULL
        CONSTRAINT import_ledger_user_id_fkey REFERENCES users (id) ON DELETE CASCADE,
    -- todoist, taskwarrior, ticktick, ical or tickler.
    source text NOT NULL,
    source_id text NOT NULL,
    task_id uuid NOT NULL,
    imported_at timestamptz NOT NULL,
    CONSTRAINT import_ledger_pkey PRIMARY KEY (user_id, source, source_id)
);
