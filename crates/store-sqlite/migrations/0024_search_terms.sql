-- Every word of the full-text index, as the index spells it (lowercase, Latin accents folded),
-- so that a search's last word, a prefix, can be replaced by the words it begins: FTS5 answers
-- a prefix longer than its prefix index (3 characters) by merging the document lists of those
-- words for the whole table before returning a row. The writer adds the words of every task it
-- indexes; every migration run (so every start, by default) adds those of the index it lacks,
-- filling the table the first time (`search::refresh_terms`). Words are never removed: one that
-- no task has any more adds an alternative that matches nothing.
CREATE TABLE search_terms (
    term TEXT PRIMARY KEY
) WITHOUT ROWID;
