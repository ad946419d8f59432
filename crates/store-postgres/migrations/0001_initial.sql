-- Accounts, API tokens, tasks (with their tags and full-text vector), remembered idempotent
-- responses and the transactional outbox.

-- Lets one GIN index serve "this user's tasks matching these words".
CREATE EXTENSION IF NOT EXISTS btree_gin;

CREATE TABLE users (
    id uuid CONSTRAINT users_pkey PRIMARY KEY,
    email text NOT NULL CONSTRAINT users_email_key UNIQUE,
    password_hash text NOT NULL,
    name text,
    timezone text NOT NULL,
    credentials_version bigint NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE api_tokens (
    id uuid CONSTRAINT api_tokens_pkey PRIMARY KEY,
    user_id uuid NOT NULL CONSTRAINT api_tokens_user_id_fkey REFERENCES users (id) ON DELETE CASCADE,
    secret_hash bytea NOT NULL CONSTRAINT api_tokens_secret_hash_key UNIQUE,
    name text NOT NULL,
    prefix text NOT NULL,
    created_at timestamptz NOT NULL,
    last_used_at timestamptz,
    expires_at timestamptz
);

CREATE INDEX api_tokens_by_owner ON api_tokens (user_id, created_at, id);

CREATE TABLE tasks (
    id uuid CONSTRAINT tasks_pkey PRIMARY KEY,
    user_id uuid NOT NULL CONSTRAINT tasks_user_id_fkey REFERENCES users (id) ON DELETE CASCADE,
    title text NOT NULL,
    -- The title lowercased by Unicode rules, compared by code point like SQLite does.
    title_sort text COLLATE "C" NOT NULL,
    description text NOT NULL,
    status text NOT NULL,
    priority smallint NOT NULL,
    due_at timestamptz,
    all_day boolean NOT NULL,
    timezone text NOT NULL,
    tags text[] NOT NULL,
    recurrence text,
    recurrence_mode text NOT NULL,
    -- Reminders in canonical text form.
    reminders text[] NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    completed_at timestamptz,
    version bigint NOT NULL,
    -- Title (weight A), tags (B) and description (C), kept by tasks_before_write.
    search tsvector NOT NULL DEFAULT ''
);

-- One index per sort key, scoped to the owner and ending with the tie-breaking id. Tasks
-- without a due date sort last in both directions: as +infinity ascending, -infinity descending.
CREATE INDEX tasks_by_created_at ON tasks (user_id, created_at, id);
CREATE INDEX tasks_by_updated_at ON tasks (user_id, updated_at, id);
CREATE INDEX tasks_by_due_ascending ON tasks (user_id, (coalesce(due_at, 'infinity')), id);
CREATE INDEX tasks_by_due_descending ON tasks (user_id, (coalesce(due_at, '-infinity')), id);
CREATE INDEX tasks_by_priority ON tasks (user_id, priority, id);
CREATE INDEX tasks_by_title ON tasks (user_id, title_sort, id);
CREATE INDEX tasks_search ON tasks USING gin (user_id, search);

-- Which of its owner's tasks carry a tag, for the all-tags filter and the counts.
CREATE TABLE task_tags (
    user_id uuid NOT NULL,
    tag text COLLATE "C" NOT NULL,
    task_id uuid NOT NULL CONSTRAINT task_tags_task_id_fkey REFERENCES tasks (id) ON DELETE CASCADE,
    CONSTRAINT task_tags_pkey PRIMARY KEY (user_id, tag, task_id)
);

CREATE INDEX task_tags_by_task ON task_tags (task_id);

CREATE FUNCTION tasks_before_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.title IS DISTINCT FROM OLD.title
        OR NEW.tags IS DISTINCT FROM OLD.tags
        OR NEW.description IS DISTINCT FROM OLD.description THEN
        NEW.search := setweight(to_tsvector('simple', NEW.title), 'A')
            || setweight(to_tsvector('simple', array_to_string(NEW.tags, ' ')), 'B')
            || setweight(to_tsvector('simple', NEW.description), 'C');
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER tasks_before_write BEFORE INSERT OR UPDATE ON tasks
    FOR EACH ROW EXECUTE FUNCTION tasks_before_write();

CREATE FUNCTION tasks_after_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF NEW.tags IS NOT DISTINCT FROM OLD.tags THEN
            RETURN NULL;
        END IF;
        DELETE FROM task_tags WHERE task_id = OLD.id AND tag <> ALL (NEW.tags);
    END IF;
    INSERT INTO task_tags (user_id, tag, task_id)
        SELECT NEW.user_id, tag, NEW.id FROM unnest(NEW.tags) AS tag
        ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;

CREATE TRIGGER tasks_after_write AFTER INSERT OR UPDATE OF tags ON tasks
    FOR EACH ROW EXECUTE FUNCTION tasks_after_write();

CREATE TABLE idempotent_responses (
    user_id uuid NOT NULL,
    key text NOT NULL,
    request_hash text NOT NULL,
    status integer NOT NULL,
    -- JSON array of [name, value] pairs.
    headers text NOT NULL,
    body text NOT NULL,
    created_at timestamptz NOT NULL,
    CONSTRAINT idempotent_responses_pkey PRIMARY KEY (user_id, key)
);

CREATE INDEX idempotent_responses_by_age ON idempotent_responses (created_at);

-- The transactional outbox. Sequences are taken at insert time, so readers order by the writing
-- transaction first and read only rows of transactions older than every running one.
CREATE TABLE outbox (
    sequence bigint GENERATED ALWAYS AS IDENTITY CONSTRAINT outbox_pkey PRIMARY KEY,
    xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
    event_id uuid NOT NULL CONSTRAINT outbox_event_id_key UNIQUE,
    event_type text NOT NULL,
    subject text NOT NULL,
    user_id uuid NOT NULL,
    occurred_at timestamptz NOT NULL,
    payload text NOT NULL,
    -- Set by the relay once the broker acknowledged the event.
    published_at timestamptz
);

CREATE INDEX outbox_log_order ON outbox (xid, sequence);
