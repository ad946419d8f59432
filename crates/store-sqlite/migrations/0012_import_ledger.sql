-- The import ledger: which task an imported item became, per user, source and source id, so
-- that importing the same file again creates nothing. A row outlives its task (an imported
-- task the user deleted is not brought back by the next import of the file).
--
-- Conventions as in 0001: ids are 16-byte UUID blobs; instants INTEGER microseconds.

CREATE TABLE import_ledger (
    user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- todoist, taskwarrior, ticktick, ical or tickler.
    source TEXT NOT NULL,
    source_id TEXT NOT NULL,
    task_id BLOB NOT NULL,
    imported_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, source, source_id)
) WITHOUT ROWID;
