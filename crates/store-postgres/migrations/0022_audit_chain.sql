-- The audit trail as a hash chain per user (tickler_store::audit_chain; docs/security.md,
-- "Audit trail"). Each row appended from now on carries its place in its owner's chain and
-- the SHA-256 hashes that link it to the row before; rows recorded before this migration keep
-- NULLs and are covered by the digest the chain starts from. Adding nullable columns rewrites
-- no row, so the append-only trigger stays as it is.
ALTER TABLE audit_events ADD COLUMN chain_seq bigint;
ALTER TABLE audit_events ADD COLUMN prev_hash bytea;
ALTER TABLE audit_events ADD COLUMN hash bytea;

-- One place per position: two appends can never both claim the same link.
CREATE UNIQUE INDEX audit_events_chain ON audit_events (user_id, chain_seq)
    WHERE chain_seq IS NOT NULL;

-- The last link of each user's chain. An append locks its owner's row here (SELECT ... FOR
-- UPDATE) until it commits, so appends for one user from any number of processes join the
-- chain one at a time, and appends for different users do not wait for each other.
CREATE TABLE audit_chain_heads (
    user_id uuid CONSTRAINT audit_chain_heads_pkey PRIMARY KEY,
    chain_seq bigint NOT NULL,
    hash bytea NOT NULL
);
