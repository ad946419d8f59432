-- Scheduled reminders: one row per reminder of an open task, written in the transaction of
-- the task change that plans it, fired once by the scheduler (state pending -> fired or
-- missed; replicas claim with FOR UPDATE SKIP LOCKED), cancelled when the task is completed,
-- removed with the task.

CREATE TABLE scheduled_reminders (
    -- UUIDv7 derived from (task, spec, planned fire time): replanning keeps the same ids.
    id uuid CONSTRAINT scheduled_reminders_pkey PRIMARY KEY,
    user_id uuid NOT NULL
        CONSTRAINT scheduled_reminders_user_id_fkey REFERENCES users (id) ON DELETE CASCADE,
    task_id uuid NOT NULL
        CONSTRAINT scheduled_reminders_task_id_fkey REFERENCES tasks (id) ON DELETE CASCADE,
    -- The spec as written on the task (canonical), or 'snooze'.
    spec text NOT NULL,
    fire_at timestamptz NOT NULL,
    state text NOT NULL CHECK (state IN ('pending', 'fired', 'missed', 'cancelled')),
    snoozed boolean NOT NULL DEFAULT false,
    fired_at timestamptz,
    lateness_ms bigint
);

-- The scheduler's queue: pending reminders by fire time.
CREATE INDEX scheduled_reminders_due ON scheduled_reminders (fire_at, id) WHERE state = 'pending';
-- A task's reminders, replaced by every write of the task.
CREATE INDEX scheduled_reminders_by_task ON scheduled_reminders (task_id);
-- A user's reminders, for listing.
CREATE INDEX scheduled_reminders_by_user ON scheduled_reminders (user_id, fire_at);
