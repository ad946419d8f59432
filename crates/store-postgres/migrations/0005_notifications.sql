-- Notifications: the channels users are told through, the notifications fired reminders
-- become, their deliveries through each channel (a leased job queue) and every attempt.

CREATE TABLE notification_channels (
    id uuid CONSTRAINT notification_channels_pkey PRIMARY KEY,
    user_id uuid NOT NULL
        CONSTRAINT notification_channels_user_id_fkey REFERENCES users (id) ON DELETE CASCADE,
    kind text NOT NULL CHECK (kind IN ('in_app', 'webhook', 'email')),
    url text,
    address text,
    -- The webhook signing secret, sealed by the application (nonce and ciphertext).
    secret bytea,
    previous_secret bytea,
    previous_secret_until timestamptz,
    enabled boolean NOT NULL,
    disabled_reason text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE INDEX notification_channels_by_owner ON notification_channels (user_id, created_at, id);
-- At most one in-app channel per user (its settings; absent means on).
CREATE UNIQUE INDEX notification_channels_one_in_app ON notification_channels (user_id)
    WHERE kind = 'in_app';

CREATE TABLE notifications (
    id uuid CONSTRAINT notifications_pkey PRIMARY KEY,
    user_id uuid NOT NULL
        CONSTRAINT notifications_user_id_fkey REFERENCES users (id) ON DELETE CASCADE,
    reminder_id text NOT NULL,
    event_id uuid NOT NULL,
    task_id uuid NOT NULL,
    title text NOT NULL,
    body text NOT NULL,
    due_at timestamptz,
    fire_at timestamptz NOT NULL,
    fired_at timestamptz NOT NULL,
    in_app boolean NOT NULL,
    created_at timestamptz NOT NULL,
    read_at timestamptz,
    -- One notification per reminder and user: a reminder fired twice notifies once.
    CONSTRAINT notifications_one_per_reminder UNIQUE (user_id, reminder_id)
);

-- The in-app list, newest first, and its unread part.
CREATE INDEX notifications_in_app ON notifications (user_id, created_at, id) WHERE in_app;
CREATE INDEX notifications_unread ON notifications (user_id, created_at, id)
    WHERE in_app AND read_at IS NULL;

-- One row per notification and channel; pending rows are the notifier's job queue. The
-- channel is not a foreign key: a delivery's history outlives its channel.
CREATE TABLE deliveries (
    id uuid CONSTRAINT deliveries_pkey PRIMARY KEY,
    notification_id uuid NOT NULL
        CONSTRAINT deliveries_notification_id_fkey REFERENCES notifications (id) ON DELETE CASCADE,
    user_id uuid NOT NULL,
    channel_id uuid NOT NULL,
    channel_kind text NOT NULL CHECK (channel_kind IN ('in_app', 'webhook', 'email')),
    status text NOT NULL CHECK (status IN ('pending', 'delivered', 'dead', 'cancelled')),
    attempts integer NOT NULL,
    next_attempt_at timestamptz,
    -- The current claim: its fencing token and until when it holds.
    claim_token uuid,
    claimed_until timestamptz,
    last_status_code integer,
    last_error text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    delivered_at timestamptz,
    -- The deduplication key: one delivery per notification and channel.
    CONSTRAINT deliveries_one_per_channel UNIQUE (notification_id, channel_id)
);

-- The queue: only pending rows, by due time.
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';

CREATE TABLE delivery_attempts (
    delivery_id uuid NOT NULL
        CONSTRAINT delivery_attempts_delivery_id_fkey REFERENCES deliveries (id) ON DELETE CASCADE,
    attempt integer NOT NULL,
    attempted_at timestamptz NOT NULL,
    duration_ms integer NOT NULL,
    status_code integer,
    error text,
    succeeded boolean NOT NULL,
    CONSTRAINT delivery_attempts_pkey PRIMARY KEY (delivery_id, attempt)
);
