-- Accounts, API tokens, tasks (with their tags and full-text index), remembered idempotent
-- responses and the transactional outbox.
--
-- Conventions: ids are 16-byte UUID blobs; instants are INTEGER microseconds since the epoch.

CREATE TABLE users (
    -- Internal number: a user's tasks occupy the rowids seq << 32 .. (seq << 32) + 2^32 - 1.
    seq INTEGER PRIMARY KEY,
    id BLOB NOT NULL UNIQUE,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    name TEXT,
    timezone TEXT NOT NULL,
    credentials_version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE api_tokens (
    id BLOB PRIMARY KEY,
    user_id BLOB NOT NULL REFERENCES users (id),
    secret_hash BLOB NOT NULL UNIQUE,
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER,
    expires_at INTEGER
) WITHOUT ROWID;

CREATE INDEX api_tokens_by_owner ON api_tokens (user_id, created_at);

CREATE TABLE tasks (
    -- (owner << 32) | n: one user's tasks are contiguous, in the table and in its full-text
    -- index, so a search reads only that user's range.
    seq INTEGER PRIMARY KEY,
    id BLOB NOT NULL UNIQUE,
    owner INTEGER NOT NULL REFERENCES users (seq),
    title TEXT NOT NULL,
    -- The title lowercased by Unicode rules, for sorting.
    title_sort TEXT NOT NULL,
    description TEXT NOT NULL,
    status TEXT NOT NULL,
    priority INTEGER NOT NULL,
    due_at INTEGER,
    all_day INTEGER NOT NULL,
    timezone TEXT NOT NULL,
    -- JSON array of tags, in order.
    tags TEXT NOT NULL,
    recurrence TEXT,
    recurrence_mode TEXT NOT NULL,
    -- JSON array of reminders in canonical text form.
    reminders TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    completed_at INTEGER,
    version INTEGER NOT NULL,
    -- Tasks without a due date sort last in both directions.
    due_ascending INTEGER GENERATED ALWAYS AS (coalesce(due_at, 9223372036854775807)) VIRTUAL,
    due_descending INTEGER GENERATED ALWAYS AS (coalesce(due_at, -9223372036854775807)) VIRTUAL
);

-- One index per sort key, scoped to the owner and ending with the tie-breaking id.
CREATE INDEX tasks_by_created_at ON tasks (owner, created_at, id);
CREATE INDEX tasks_by_updated_at ON tasks (owner, updated_at, id);
CREATE INDEX tasks_by_due_ascending ON tasks (owner, due_ascending, id);
CREATE INDEX tasks_by_due_descending ON tasks (owner, due_descending, id);
CREATE INDEX tasks_by_priority ON tasks (owner, priority, id);
CREATE INDEX tasks_by_title ON tasks (owner, title_sort, id);

-- Which of its owner's tasks carry a tag, for the all-tags filter.
CREATE TABLE task_tags (
    owner INTEGER NOT NULL,
    tag TEXT NOT NULL,
    task_seq INTEGER NOT NULL,
    PRIMARY KEY (owner, tag, task_seq)
) WITHOUT ROWID;

-- How many tasks carry each tag, kept by the triggers below.
CREATE TABLE tag_usage (
    owner INTEGER NOT NULL,
    tag TEXT NOT NULL,
    tasks INTEGER NOT NULL,
    PRIMARY KEY (owner, tag)
) WITHOUT ROWID;

-- Full-text index over title, tags and description; rowid = tasks.seq. Contentless: the text
-- lives in tasks, and deleting by rowid is enough. Letters, digits and combining marks (the
-- vowel signs of Arabic-script and Indic languages) make up words; Latin diacritics are folded.
-- The writer updates it once per transaction, not by triggers: FTS5 writes its pending changes
-- to disk at every savepoint, and the writer runs each command in a savepoint.
CREATE VIRTUAL TABLE tasks_search USING fts5 (
    title, tags, description,
    content = '',
    contentless_delete = 1,
    tokenize = "unicode61 remove_diacritics 2 categories 'L* N* Co M*'",
    prefix = '2 3'
);

CREATE TRIGGER tasks_after_insert AFTER INSERT ON tasks BEGIN
    INSERT INTO task_tags (owner, tag, task_seq)
        SELECT new.owner, value, new.seq FROM json_each(new.tags);
END;

CREATE TRIGGER tasks_after_delete AFTER DELETE ON tasks BEGIN
    DELETE FROM task_tags
        WHERE owner = old.owner AND task_seq = old.seq
          AND tag IN (SELECT value FROM json_each(old.tags));
END;

CREATE TRIGGER tasks_after_update_of_tags AFTER UPDATE OF tags ON tasks
WHEN old.tags IS NOT new.tags
BEGIN
    DELETE FROM task_tags
        WHERE owner = old.owner AND task_seq = old.seq
          AND tag IN (SELECT value FROM json_each(old.tags));
    INSERT INTO task_tags (owner, tag, task_seq)
        SELECT new.owner, value, new.seq FROM json_each(new.tags);
END;

CREATE TRIGGER task_tags_after_insert AFTER INSERT ON task_tags BEGIN
    INSERT INTO tag_usage (owner, tag, tasks) VALUES (new.owner, new.tag, 1)
        ON CONFLICT (owner, tag) DO UPDATE SET tasks = tasks + 1;
END;

CREATE TRIGGER task_tags_after_delete AFTER DELETE ON task_tags BEGIN
    UPDATE tag_usage SET tasks = tasks - 1 WHERE owner = old.owner AND tag = old.tag;
    DELETE FROM tag_usage WHERE owner = old.owner AND tag = old.tag AND tasks <= 0;
END;

CREATE TABLE idempotent_responses (
    user_id BLOB NOT NULL,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status INTEGER NOT NULL,
    -- JSON array of [name, value] pairs.
    headers TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, key)
) WITHOUT ROWID;

CREATE INDEX idempotent_responses_by_age ON idempotent_responses (created_at);

-- The transactional outbox. One writer commits in sequence order; AUTOINCREMENT never reuses
-- a sequence, even after the newest rows are deleted.
CREATE TABLE outbox (
    sequence INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id BLOB NOT NULL UNIQUE,
    event_type TEXT NOT NULL,
    subject TEXT NOT NULL,
    user_id BLOB NOT NULL,
    occurred_at INTEGER NOT NULL,
    payload TEXT NOT NULL,
    -- Set by the relay once the broker acknowledged the event.
    published_at INTEGER
);
