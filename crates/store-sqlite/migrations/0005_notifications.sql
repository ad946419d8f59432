-- Notifications: the channels users are told through, the notifications fired reminders
-- become, their deliveries through each channel (a leased job queue) and every attempt.
--
-- Conventions as in 0001: ids are 16-byte UUID blobs; instants INTEGER microseconds.

CREATE TABLE notification_channels (
    id BLOB PRIMARY KEY,
    user_id BLOB NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL CHECK (kind IN ('in_app', 'webhook', 'email')),
    url TEXT,
    address TEXT,
    -- The webhook signing secret, sealed by the application (nonce and ciphertext).
    secret BLOB,
    previous_secret BLOB,
    previous_secret_until INTEGER,
    enabled INTEGER NOT NULL,
    disabled_reason TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX notification_channels_by_owner ON notification_channels (user_id, created_at, id);
-- At most one in-app channel per user (its settings; absent means on).
CREATE UNIQUE INDEX notification_channels_one_in_app ON notification_channels (user_id)
    WHERE kind = 'in_app';

CREATE TABLE notifications (
    id BLOB PRIMARY KEY,
    user_id BLOB NOT NULL REFERENCES users (id),
    reminder_id TEXT NOT NULL,
    event_id BLOB NOT NULL,
    task_id BLOB NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    due_at INTEGER,
    fire_at INTEGER NOT NULL,
    fired_at INTEGER NOT NULL,
    in_app INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    read_at INTEGER
) WITHOUT ROWID;

-- One notification per reminder and user: a reminder fired twice notifies once.
CREATE UNIQUE INDEX notifications_one_per_reminder ON notifications (user_id, reminder_id);
-- The in-app list, newest first, and its unread part.
CREATE INDEX notifications_in_app ON notifications (user_id, created_at, id) WHERE in_app = 1;
CREATE INDEX notifications_unread ON notifications (user_id, created_at, id)
    WHERE in_app = 1 AND read_at IS NULL;

-- One row per notification and channel; pending rows are the notifier's job queue. The
-- channel is not a foreign key: a delivery's history outlives its channel.
CREATE TABLE deliveries (
    id BLOB PRIMARY KEY,
    notification_id BLOB NOT NULL REFERENCES notifications (id),
    user_id BLOB NOT NULL,
    channel_id BLOB NOT NULL,
    channel_kind TEXT NOT NULL CHECK (channel_kind IN ('in_app', 'webhook', 'email')),
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'dead', 'cancelled')),
    attempts INTEGER NOT NULL,
    next_attempt_at INTEGER,
    -- The current claim: its fencing token and until when it holds.
    claim_token BLOB,
    claimed_until INTEGER,
    last_status_code INTEGER,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    delivered_at INTEGER
) WITHOUT ROWID;

-- The deduplication key: one delivery per notification and channel.
CREATE UNIQUE INDEX deliveries_one_per_channel ON deliveries (notification_id, channel_id);
-- The queue: only pending rows, by due time.
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';

CREATE TABLE delivery_attempts (
    delivery_id BLOB NOT NULL REFERENCES deliveries (id),
    attempt INTEGER NOT NULL,
    attempted_at INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    status_code INTEGER,
    error TEXT,
    succeeded INTEGER NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
) WITHOUT ROWID;
