-- The event backbone: what consumers have handled and where they stand, the append-only audit
-- trail, dead letters, leases, and the indexes the outbox relay and its retention need.

-- Events a consumer has handled, written with the consumer's effect: a redelivery finds its
-- marker and has no second effect.
CREATE TABLE processed_events (
    consumer text NOT NULL,
    event_id uuid NOT NULL,
    processed_at timestamptz NOT NULL,
    CONSTRAINT processed_events_pkey PRIMARY KEY (consumer, event_id)
);

-- Where each embedded consumer stands in the outbox log, (xid, sequence) as `outbox_after`
-- reads it; only ever moves forward.
CREATE TABLE consumer_positions (
    consumer text CONSTRAINT consumer_positions_pkey PRIMARY KEY,
    transaction_id bigint NOT NULL,
    sequence bigint NOT NULL
);

-- The audit trail: one row per event, never changed nor deleted (the trigger below refuses it).
CREATE TABLE audit_events (
    event_id uuid CONSTRAINT audit_events_pkey PRIMARY KEY,
    user_id uuid NOT NULL,
    task_id uuid,
    event_type text NOT NULL,
    origin text,
    correlation_id text,
    occurred_at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL,
    -- The event's data, as JSON text.
    data text NOT NULL
);

-- A user's trail, and one task's, in the order things happened.
CREATE INDEX audit_events_by_user ON audit_events (user_id, occurred_at, event_id);
CREATE INDEX audit_events_by_task ON audit_events (user_id, task_id, occurred_at, event_id);

CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: % refused', TG_OP;
END
$$;

-- Per statement, so that even a change matching no row (and TRUNCATE) is refused.
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();

-- Events consumers gave up on, kept for an operator to inspect and replay.
CREATE TABLE dead_letters (
    id uuid CONSTRAINT dead_letters_pkey PRIMARY KEY,
    consumer text NOT NULL,
    event_id uuid,
    event_type text,
    topic text NOT NULL,
    -- The event exactly as received.
    payload text NOT NULL,
    error text NOT NULL,
    attempts bigint NOT NULL,
    failed_at timestamptz NOT NULL,
    replayed_at timestamptz
);

CREATE INDEX dead_letters_by_age ON dead_letters (failed_at, id);

-- Time-limited exclusive roles (the active outbox relay). `expires_at` is the database
-- server's time, the one clock every process shares.
CREATE TABLE leases (
    name text CONSTRAINT leases_pkey PRIMARY KEY,
    holder text NOT NULL,
    expires_at timestamptz NOT NULL
);

-- The relay reads and counts the unpublished records in sequence order: a partial index holds
-- just those (the few not yet sent).
CREATE INDEX outbox_unpublished ON outbox (sequence) WHERE published_at IS NULL;

-- Retention deletes by age.
CREATE INDEX outbox_by_age ON outbox (occurred_at);
