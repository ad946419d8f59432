-- Scheduled reminders: one row per reminder of an open task, written in the transaction of
-- the task change that plans it, fired once by the scheduler (state pending -> fired or
-- missed), cancelled when the task is completed, removed when it is deleted.
--
-- Conventions as in 0001: ids are 16-byte UUID blobs; instants INTEGER microseconds.

CREATE TABLE scheduled_reminders (
    -- UUIDv7 derived from (task, spec, planned fire time): replanning keeps the same ids.
    id BLOB PRIMARY KEY,
    user_id BLOB NOT NULL REFERENCES users (id),
    task_id BLOB NOT NULL,
    -- The spec as written on the task (canonical), or 'snooze'.
    spec TEXT NOT NULL,
    fire_at INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'fired', 'missed', 'cancelled')),
    snoozed INTEGER NOT NULL DEFAULT 0,
    fired_at INTEGER,
    lateness_ms INTEGER
) WITHOUT ROWID;

-- The scheduler's queue: pending reminders by fire time.
CREATE INDEX scheduled_reminders_due ON scheduled_reminders (fire_at, id) WHERE state = 'pending';
-- A task's reminders, replaced by every write of the task.
CREATE INDEX scheduled_reminders_by_task ON scheduled_reminders (task_id);
-- A user's reminders, for listing.
CREATE INDEX scheduled_reminders_by_user ON scheduled_reminders (user_id, fire_at);
