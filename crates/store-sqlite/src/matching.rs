//! Search words against a task's own text, as SQL functions registered on every connection:
//! the relevance of a match ([`RELEVANCE`]) and a quick check of whether a task matches
//! ([`MATCHES`]).
//!
//! **Relevance.** FTS5's `bm25` weighs each word by how rare it is in the whole table, and it
//! learns that by reading, for every query, the list of every document that contains the word:
//! for a word in each of 1,000,000 tasks that is 24 ms before the first row, whatever the page
//! (measured on the `scale` benchmark's data). Every search word must match, so every ranked
//! task contains every word; what sets tasks apart is where the words are (title, tags,
//! description) and how long the task is. [`score`] keeps that part of bm25 (the same column
//! weights, term-frequency saturation and length normalisation) and drops the weighing of
//! words against each other, which needs the whole table. It depends only on the task and the
//! search, so a cursor's score stays valid however the rest of the table changes.
//!
//! **Matching.** A listing that walks an order's index checks each task it reads. Looking the
//! task up in the full-text index costs about 15 µs (FTS5 parses the expression and seeks in
//! every segment); reading the words from the row costs about 1 µs. For text that is all ASCII
//! (the tokens are then exactly the runs of ASCII letters and digits, lowercased, for FTS5's
//! `unicode61` tokenizer as for this module) [`matches`] decides; for any other text it cannot
//! (FTS5 folds accents, and its character classes differ from Rust's at the edges), and the
//! listing asks the full-text index.

use rusqlite::Connection;
use rusqlite::functions::{Context, FunctionFlags};
use rusqlite::types::{ToSql, ValueRef};
use tickler_store::backend::search::{is_word_char, word_matches};

use crate::search::ascii_words;

/// `tickler_relevance(title, tags, description, words)`: [`score`], where `words` are the
/// search words joined by spaces (the last one matches as a prefix). Smaller is better, as
/// with `bm25`.
pub(crate) const RELEVANCE: &str = "tickler_relevance";

/// `tickler_matches(title, tags, description, words)`: [`matches`] as 1 or 0, or NULL when
/// it cannot tell.
pub(crate) const MATCHES: &str = "tickler_matches";

/// Column weights: a word in the title counts ten times one in the description, in the tags
/// five times (the weights the full-text search always had).
const WEIGHTS: [f64; 3] = [10.0, 5.0, 1.0];
/// bm25's term-frequency saturation and length normalisation.
const K1: f64 = 1.2;
const B: f64 = 0.75;
/// The task length (in words, all columns) that length normalisation treats as average.
const AVERAGE_WORDS: f64 = 8.0;

/// Registers [`RELEVANCE`] and [`MATCHES`] on a connection.
pub(crate) fn register(connection: &Connection) -> rusqlite::Result<()> {
    register_over_words(connection, RELEVANCE, score)?;
    register_over_words(connection, MATCHES, matches)
}

/// Registers `name(title, tags, description, words)` as `function` of the three columns and
/// the space-separated words.
fn register_over_words<T: ToSql + 'static>(
    connection: &Connection,
    name: &str,
    function: fn(&[&str; 3], &[&str]) -> T,
) -> rusqlite::Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    connection.create_scalar_function(name, 4, flags, move |context| {
        let columns = [text(context, 0)?, text(context, 1)?, text(context, 2)?];
        let words: Vec<&str> = text(context, 3)?
            .split(' ')
            .filter(|word| !word.is_empty())
            .collect();
        Ok(function(&columns, &words))
    })
}

/// An argument's text, borrowed from SQLite (NULL read as empty).
fn text<'a>(context: &'a Context<'_>, index: usize) -> rusqlite::Result<&'a str> {
    match context.get_raw(index) {
        ValueRef::Null => Ok(""),
        value => value.as_str().map_err(|error| {
            rusqlite::Error::UserFunctionError(format!("argument {index}: {error}").into())
        }),
    }
}

/// Whether a task's columns (title, tags, description) contain every search word (the last
/// one as a prefix), or `None` when the text or the words are not all ASCII.
pub(crate) fn matches(columns: &[&str; 3], words: &[&str]) -> Option<bool> {
    if !words.iter().all(|word| word.is_ascii()) || !columns.iter().all(|c| c.is_ascii()) {
        return None;
    }
    let last = words.len().checked_sub(1)?;
    Some(words.iter().enumerate().all(|(index, word)| {
        columns
            .iter()
            .any(|column| ascii_words(column).any(|token| word_matches(token, word, index == last)))
    }))
}

/// The score of a task's columns (title, tags, description) for the search words (the last
/// one a prefix): minus the sum over the words of bm25's saturated, length-normalised,
/// column-weighted frequency. A word written differently in the task than in the search
/// (accents, which the full-text index folds) counts nothing: the task still matches, ranked
/// below the tasks that spell it as searched.
pub(crate) fn score(columns: &[&str; 3], words: &[&str]) -> f64 {
    let mut frequencies = vec![0.0; words.len()];
    let mut length = 0usize;
    for (column, weight) in columns.iter().zip(WEIGHTS) {
        for token in column.split(|c: char| !is_word_char(c)) {
            if token.is_empty() {
                continue;
            }
            length += 1;
            for (index, word) in words.iter().enumerate() {
                if word_matches(token, word, index + 1 == words.len()) {
                    frequencies[index] += weight;
                }
            }
        }
    }
    let norm = K1 * (1.0 - B + B * length as f64 / AVERAGE_WORDS);
    -frequencies
        .iter()
        .map(|frequency| frequency * (K1 + 1.0) / (frequency + norm))
        .sum::<f64>()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failures panic

    use proptest::prelude::*;
    use rusqlite::Connection;

    use super::{matches, score};
    use crate::search::{WRITER_TABLES, ascii_words};

    /// Whether FTS5, with the full-text index's tokenizer (the writer's scratch table has the
    /// same), finds the words in the task: each word required, the last one as a prefix.
    fn full_text_matches(columns: &[&str; 3], words: &[&str]) -> bool {
        let connection = Connection::open_in_memory().unwrap();
        connection.execute_batch(WRITER_TABLES).unwrap();
        connection
            .execute(
                "INSERT INTO temp.search_scratch (rowid, title, tags, description) \
                 VALUES (1, ?1, ?2, ?3)",
                *columns,
            )
            .unwrap();
        let last = words.len() - 1;
        let expression: Vec<String> = words
            .iter()
            .enumerate()
            .map(|(index, word)| {
                let star = if index == last { "*" } else { "" };
                format!("\"{word}\"{star}")
            })
            .collect();
        connection
            .query_row(
                "SELECT count(*) FROM temp.search_scratch WHERE search_scratch MATCH ?1",
                [expression.join(" AND ")],
                |row| row.get::<_, i64>(0),
            )
            .unwrap()
            > 0
    }

    /// ASCII text built from words that are prefixes of one another, digits, mixed case and
    /// the separators people type.
    fn ascii_text() -> impl Strategy<Value = String> {
        let word = prop::sample::select(vec![
            "call", "Call", "CALLS", "caller", "ca", "rep", "Report", "reports", "x2", "2x", "42",
            "a", "ab", "abc",
        ]);
        let separator = prop::sample::select(vec![
            " ", "  ", "-", "_", "'", ".", ",", "(", ")", "\"", ":", "/", "#", "[\"", "\"]",
        ]);
        prop::collection::vec((word, separator), 0..8).prop_map(|parts| {
            parts
                .into_iter()
                .map(|(word, separator)| format!("{word}{separator}"))
                .collect()
        })
    }

    fn search_words() -> impl Strategy<Value = Vec<&'static str>> {
        let word = prop::sample::select(vec![
            "c", "ca", "cal", "call", "calls", "caller", "rep", "repo", "report", "x", "x2", "2",
            "42", "a", "ab", "abc", "zz",
        ]);
        prop::collection::vec(word, 1..4)
    }

    /// The words FTS5 indexes for a text (the writer's scratch table, lowercase).
    fn full_text_words(text: &str) -> Vec<String> {
        let connection = Connection::open_in_memory().unwrap();
        connection.execute_batch(WRITER_TABLES).unwrap();
        connection
            .execute(
                "INSERT INTO temp.search_scratch (rowid, title, tags, description) \
                 VALUES (1, ?1, '', '')",
                [text],
            )
            .unwrap();
        let mut statement = connection
            .prepare("SELECT term FROM temp.search_scratch_terms ORDER BY term")
            .unwrap();
        statement
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    proptest! {
        /// The writer's split of ASCII text gives exactly the words FTS5 indexes, so
        /// `search_terms` misses none of them.
        #[test]
        fn ascii_words_are_the_full_text_index_words(text in ascii_text()) {
            let mut split: Vec<String> =
                ascii_words(&text).map(str::to_ascii_lowercase).collect();
            split.sort();
            split.dedup();
            prop_assert_eq!(split, full_text_words(&text), "{:?}", text);
        }

        /// For ASCII text, the quick check decides exactly as the full-text index does, so a
        /// walk that trusts it lists what collecting from the index lists.
        #[test]
        fn ascii_text_matches_exactly_as_the_full_text_index(
            title in ascii_text(),
            tags in ascii_text(),
            description in ascii_text(),
            words in search_words(),
        ) {
            let columns = [title.as_str(), tags.as_str(), description.as_str()];
            prop_assert_eq!(
                matches(&columns, &words),
                Some(full_text_matches(&columns, &words)),
                "{:?} {:?}", columns, words
            );
        }
    }

    fn columns<'a>(title: &'a str, tags: &'a str, description: &'a str) -> [&'a str; 3] {
        [title, tags, description]
    }

    #[test]
    fn a_title_match_outranks_a_tag_match_which_outranks_a_description_match() {
        let title = score(&columns("quarterly report", "[]", ""), &["quarterly"]);
        let tag = score(&columns("report", "[\"quarterly\"]", ""), &["quarterly"]);
        let description = score(&columns("report", "[]", "quarterly"), &["quarterly"]);
        assert!(
            title < tag && tag < description,
            "{title} {tag} {description}"
        );
    }

    #[test]
    fn shorter_tasks_rank_first_and_repetition_saturates() {
        let short = score(&columns("call mum", "[]", ""), &["call"]);
        let long = score(
            &columns("call mum about the trip to the coast next week", "[]", ""),
            &["call"],
        );
        assert!(short < long, "{short} {long}");
        let once = score(&columns("call mum", "[]", ""), &["call"]);
        let twice = score(&columns("call call", "[]", ""), &["call"]);
        assert!(twice < once && twice > 2.0 * once, "{once} {twice}");
    }

    #[test]
    fn only_the_last_word_matches_as_a_prefix_and_case_is_ignored() {
        let prefix = score(&columns("Reporting", "[]", ""), &["rep"]);
        assert!(prefix < 0.0);
        let not_last = score(&columns("Reporting alpha", "[]", ""), &["rep", "alpha"]);
        let exact = score(&columns("rep alpha", "[]", ""), &["rep", "alpha"]);
        assert!(exact < not_last, "{exact} {not_last}");
        assert_eq!(score(&columns("", "[]", ""), &["rep"]), 0.0);
    }

    #[test]
    fn ascii_text_is_matched_word_by_word_in_any_column() {
        let task = columns("Call the ROOFER", "[\"home\",\"to-do\"]", "about_the leak");
        assert_eq!(matches(&task, &["call"]), Some(true));
        assert_eq!(matches(&task, &["roof"]), Some(true));
        assert_eq!(matches(&task, &["roof", "call"]), Some(false));
        assert_eq!(matches(&task, &["call", "roof"]), Some(true));
        assert_eq!(matches(&task, &["home", "do"]), Some(true));
        assert_eq!(matches(&task, &["about", "leak"]), Some(true));
        assert_eq!(matches(&task, &["ca", "the"]), Some(false));
        assert_eq!(matches(&task, &["absent"]), Some(false));
    }

    #[test]
    fn text_or_words_beyond_ascii_are_left_to_the_full_text_index() {
        assert_eq!(matches(&columns("Café crème", "[]", ""), &["cafe"]), None);
        assert_eq!(matches(&columns("cafe", "[]", ""), &["café"]), None);
        assert_eq!(matches(&columns("cafe", "[]", "naïve"), &["cafe"]), None);
        assert_eq!(matches(&columns("کتاب", "[]", ""), &["کتاب"]), None);
    }
}
