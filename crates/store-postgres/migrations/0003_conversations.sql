-- Chat conversations with the assistant and their messages. `state` is the assistant's pending
-- question (which task was meant, or a confirmation), as JSON the application defines.

CREATE TABLE conversations (
    id uuid CONSTRAINT conversations_pkey PRIMARY KEY,
    user_id uuid NOT NULL CONSTRAINT conversations_user_id_fkey REFERENCES users (id) ON DELETE CASCADE,
    title text NOT NULL,
    state text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE INDEX conversations_by_owner ON conversations (user_id, updated_at, id);

CREATE TABLE conversation_messages (
    id uuid CONSTRAINT conversation_messages_pkey PRIMARY KEY,
    conversation_id uuid NOT NULL
        CONSTRAINT conversation_messages_conversation_id_fkey REFERENCES conversations (id) ON DELETE CASCADE,
    role text NOT NULL CHECK (role IN ('user', 'assistant')),
    content text NOT NULL,
    -- The tools run for the message and the question asked, as JSON.
    details text NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE INDEX conversation_messages_in_order ON conversation_messages (conversation_id, id);
