-- Calendar feeds: a secret iCalendar address per feed (`/feeds/<token>.ics`). Only the keyed
-- hash of the token is stored, as for API tokens; revoking a feed deletes its row.

CREATE TABLE calendar_feeds (
    id uuid CONSTRAINT calendar_feeds_pkey PRIMARY KEY,
    user_id uuid NOT NULL CONSTRAINT calendar_feeds_user_id_fkey REFERENCES users (id) ON DELETE CASCADE,
    -- HMAC-SHA256 of the token under a key derived from the server secret.
    token_hash bytea NOT NULL CONSTRAINT calendar_feeds_token_hash_key UNIQUE,
    name text NOT NULL,
    -- The task-list filter, in the list's query-string syntax; NULL for every task.
    filter text,
    created_at timestamptz NOT NULL
);

CREATE INDEX calendar_feeds_by_owner ON calendar_feeds (user_id, created_at, id);
