-- Chat conversations with the assistant and their messages. `state` is the assistant's pending
-- question (which task was meant, or a confirmation), as JSON the application defines.
--
-- Conventions: ids are 16-byte UUID blobs; instants are INTEGER microseconds since the epoch.

CREATE TABLE conversations (
    id BLOB PRIMARY KEY,
    user_id BLOB NOT NULL REFERENCES users (id),
    title TEXT NOT NULL,
    state TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX conversations_by_owner ON conversations (user_id, updated_at, id);

CREATE TABLE conversation_messages (
    id BLOB PRIMARY KEY,
    conversation_id BLOB NOT NULL REFERENCES conversations (id),
    role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
    content TEXT NOT NULL,
    -- The tools run for the message and the question asked, as JSON.
    details TEXT NOT NULL,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX conversation_messages_in_order ON conversation_messages (conversation_id, id);
