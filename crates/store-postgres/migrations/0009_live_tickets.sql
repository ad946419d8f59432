-- One-time tickets of the live stream (`POST /api/v1/live/tickets`): a browser without the
-- web app's cookie (or a script that cannot set headers on a WebSocket upgrade) trades one for
-- `GET /api/v1/live?ticket=`. Valid 30 s, spent on first use, by whichever process serves
-- the upgrade. Only keyed hashes are stored.

CREATE TABLE live_tickets (
    -- HMAC-SHA256 of the ticket under a key derived from the server secret.
    ticket_hash bytea CONSTRAINT live_tickets_pkey PRIMARY KEY,
    user_id uuid NOT NULL CONSTRAINT live_tickets_user_id_fkey REFERENCES users (id) ON DELETE CASCADE,
    expires_at timestamptz NOT NULL
);

-- Pruning the expired ones.
CREATE INDEX live_tickets_by_expiry ON live_tickets (expires_at);
