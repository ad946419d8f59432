-- Calendar feeds: a secret iCalendar address per feed (`/feeds/<token>.ics`). Only the keyed
-- hash of the token is stored, as for API tokens; revoking a feed deletes its row.
--
-- Conventions as in 0001: ids are 16-byte UUID blobs; instants INTEGER microseconds.

CREATE TABLE calendar_feeds (
    id BLOB PRIMARY KEY,
    user_id BLOB NOT NULL REFERENCES users (id),
    -- HMAC-SHA256 of the token under a key derived from the server secret.
    token_hash BLOB NOT NULL UNIQUE,
    name TEXT NOT NULL,
    -- The task-list filter, in the list's query-string syntax; NULL for every task.
    filter TEXT,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX calendar_feeds_by_owner ON calendar_feeds (user_id, created_at);
