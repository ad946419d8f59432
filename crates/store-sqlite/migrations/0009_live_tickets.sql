-- One-time tickets of the live stream (`POST /api/v1/live/tickets`): a browser without the
-- web app's cookie (or a script that cannot set headers on a WebSocket upgrade) trades one for
-- `GET /api/v1/live?ticket=`. Valid 30 s, spent on first use, by whichever process serves
-- the upgrade. Only keyed hashes are stored.
--
-- Conventions as in 0001: ids are 16-byte UUID blobs; instants INTEGER microseconds.

CREATE TABLE live_tickets (
    -- HMAC-SHA256 of the ticket under a key derived from the server secret.
    ticket_hash BLOB PRIMARY KEY,
    user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;

-- Pruning the expired ones.
CREATE INDEX live_tickets_by_expiry ON live_tickets (expires_at);
