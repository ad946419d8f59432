-- Operators are named explicitly (`tickler admin grant EMAIL`), never by registering an address.
ALTER TABLE users ADD COLUMN operator INTEGER NOT NULL DEFAULT 0;

-- An e-mail channel is pending until its owner posts the code mailed to the address: nothing
-- but that mail is sent to it before. The code is stored as a keyed hash, expires, and is spent
-- by its use; wrong codes are counted. Channels of other kinds need no proof.
ALTER TABLE notification_channels ADD COLUMN verified_at INTEGER;
ALTER TABLE notification_channels ADD COLUMN verification_code_hash BLOB;
ALTER TABLE notification_channels ADD COLUMN verification_expires_at INTEGER;
ALTER TABLE notification_channels ADD COLUMN verification_failures INTEGER NOT NULL DEFAULT 0;
-- Channels made before verification existed keep working: their owners chose them.
UPDATE notification_channels SET verified_at = updated_at;

-- Verification mails sent, counted per user and per address to rate-limit them.
CREATE TABLE verification_mails (
    id BLOB PRIMARY KEY,
    user_id BLOB NOT NULL REFERENCES users (id),
    address TEXT NOT NULL,
    sent_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX verification_mails_by_user ON verification_mails (user_id, sent_at);
CREATE INDEX verification_mails_by_address ON verification_mails (address, sent_at);
