-- Sign-in sessions: a refresh-token family per sign-in. Every refresh rotates the token (the
-- old row gets rotated_at, a successor row is inserted); presenting a rotated token revokes the
-- session. Only keyed hashes of refresh tokens are stored.
--
-- Conventions as in 0001: ids are 16-byte UUID blobs; instants INTEGER microseconds.

CREATE TABLE auth_sessions (
    id BLOB PRIMARY KEY,
    user_id BLOB NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL,
    refreshed_at INTEGER NOT NULL,
    -- When the current refresh token expires; each rotation moves it forward.
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER,
    revoked_reason TEXT CHECK (revoked_reason IN ('logout', 'reuse', 'sign_out_everywhere'))
) WITHOUT ROWID;

-- A user's sessions, to revoke them all and to prune the expired ones.
CREATE INDEX auth_sessions_by_user ON auth_sessions (user_id, expires_at);

CREATE TABLE auth_refresh_tokens (
    -- HMAC-SHA256 of the token under a key derived from the server secret.
    token_hash BLOB PRIMARY KEY,
    session_id BLOB NOT NULL REFERENCES auth_sessions (id) ON DELETE CASCADE,
    issued_at INTEGER NOT NULL,
    -- Set when the token was exchanged for its successor; presenting it again is reuse.
    rotated_at INTEGER
) WITHOUT ROWID;

CREATE INDEX auth_refresh_tokens_by_session ON auth_refresh_tokens (session_id);
