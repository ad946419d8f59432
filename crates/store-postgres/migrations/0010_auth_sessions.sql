-- Sign-in sessions: a refresh-token family per sign-in. Every refresh rotates the token (the
-- old row gets rotated_at, a successor row is inserted); presenting a rotated token revokes the
-- session. Only keyed hashes of refresh tokens are stored.

CREATE TABLE auth_sessions (
    id uuid CONSTRAINT auth_sessions_pkey PRIMARY KEY,
    user_id uuid NOT NULL CONSTRAINT auth_sessions_user_id_fkey REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    refreshed_at timestamptz NOT NULL,
    -- When the current refresh token expires; each rotation moves it forward.
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz,
    revoked_reason text CONSTRAINT auth_sessions_revoked_reason_check
        CHECK (revoked_reason IN ('logout', 'reuse', 'sign_out_everywhere'))
);

-- A user's sessions, to revoke them all and to prune the expired ones.
CREATE INDEX auth_sessions_by_user ON auth_sessions (user_id, expires_at);

CREATE TABLE auth_refresh_tokens (
    -- HMAC-SHA256 of the token under a key derived from the server secret.
    token_hash bytea CONSTRAINT auth_refresh_tokens_pkey PRIMARY KEY,
    session_id uuid NOT NULL CONSTRAINT auth_refresh_tokens_session_id_fkey
        REFERENCES auth_sessions (id) ON DELETE CASCADE,
    issued_at timestamptz NOT NULL,
    -- Set when the token was exchanged for its successor; presenting it again is reuse.
    rotated_at timestamptz
);

CREATE INDEX auth_refresh_tokens_by_session ON auth_refresh_tokens (session_id);
