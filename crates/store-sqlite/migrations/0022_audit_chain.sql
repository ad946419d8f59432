-- The audit trail as a hash chain per user (tickler_store::audit_chain; docs/security.md,
-- "Audit trail"). Each row appended from now on carries its place in its owner's chain and
-- the SHA-256 hashes that link it to the row before; rows recorded before this migration keep
-- NULLs and are covered by the digest the chain starts from. Adding columns changes no row,
-- so the append-only triggers stay as they are.
ALTER TABLE audit_events ADD COLUMN chain_seq INTEGER;
ALTER TABLE audit_events ADD COLUMN prev_hash BLOB;
ALTER TABLE audit_events ADD COLUMN hash BLOB;

-- One place per position: two appends can never both claim the same link.
CREATE UNIQUE INDEX audit_events_chain ON audit_events (user_id, chain_seq)
    WHERE chain_seq IS NOT NULL;

-- The last link of each user's chain, updated in the transaction of every append (appends
-- are serialized by the database's single writer).
CREATE TABLE audit_chain_heads (
    user_id BLOB PRIMARY KEY,
    chain_seq INTEGER NOT NULL,
    hash BLOB NOT NULL
) WITHOUT ROWID;
