-- The event backbone: what consumers have handled and where they stand, the append-only audit
-- trail, dead letters, leases, and the indexes the outbox relay and its retention need.
--
-- Conventions as in 0001: ids are 16-byte UUID blobs; instants INTEGER microseconds.

-- Events a consumer has handled, written with the consumer's effect: a redelivery finds its
-- marker and has no second effect.
CREATE TABLE processed_events (
    consumer TEXT NOT NULL,
    event_id BLOB NOT NULL,
    processed_at INTEGER NOT NULL,
    PRIMARY KEY (consumer, event_id)
) WITHOUT ROWID;

-- Where each embedded consumer stands in the outbox log; only ever moves forward.
-- (`transaction` is a keyword in SQLite, hence `transaction_id`; always 0 here.)
CREATE TABLE consumer_positions (
    consumer TEXT PRIMARY KEY,
    transaction_id INTEGER NOT NULL,
    sequence INTEGER NOT NULL
) WITHOUT ROWID;

-- The audit trail: one row per event, never changed nor deleted (the triggers below refuse it).
CREATE TABLE audit_events (
    event_id BLOB PRIMARY KEY,
    user_id BLOB NOT NULL,
    task_id BLOB,
    event_type TEXT NOT NULL,
    origin TEXT,
    correlation_id TEXT,
    occurred_at INTEGER NOT NULL,
    recorded_at INTEGER NOT NULL,
    -- The event's data, as JSON text.
    data TEXT NOT NULL
);

-- A user's trail, and one task's, in the order things happened.
CREATE INDEX audit_events_by_user ON audit_events (user_id, occurred_at, event_id);
CREATE INDEX audit_events_by_task ON audit_events (user_id, task_id, occurred_at, event_id);

CREATE TRIGGER audit_events_before_update BEFORE UPDATE ON audit_events BEGIN
    SELECT RAISE(ABORT, 'the audit trail is append-only');
END;

CREATE TRIGGER audit_events_before_delete BEFORE DELETE ON audit_events BEGIN
    SELECT RAISE(ABORT, 'the audit trail is append-only');
END;

-- Events consumers gave up on, kept for an operator to inspect and replay.
CREATE TABLE dead_letters (
    id BLOB PRIMARY KEY,
    consumer TEXT NOT NULL,
    event_id BLOB,
    event_type TEXT,
    topic TEXT NOT NULL,
    -- The event exactly as received.
    payload TEXT NOT NULL,
    error TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    failed_at INTEGER NOT NULL,
    replayed_at INTEGER
);

CREATE INDEX dead_letters_by_age ON dead_letters (failed_at, id);

-- Time-limited exclusive roles (the active outbox relay). `expires_at` is judged by the clock
-- of the process that writes, the only one with access to the file.
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;

-- The relay reads and counts the unpublished records in sequence order: a partial index holds
-- just those (the few not yet sent), appended at its end and emptied as they are published.
CREATE INDEX outbox_unpublished ON outbox (sequence) WHERE published_at IS NULL;

-- Retention deletes by age. Records are appended in about the order they occur, so this index
-- too grows at its end: about one page per transaction.
CREATE INDEX outbox_by_age ON outbox (occurred_at);
