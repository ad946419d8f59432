//! Search texts as the backends query them: plain words, never query syntax.

/// Words beyond this many are ignored.
pub const MAX_SEARCH_WORDS: usize = 16;
/// A word longer than this (in characters) matches nothing: no index keeps such tokens.
pub const MAX_WORD_CHARS: usize = 200;

/// Splits a user's search text into lowercase words, the way both backends tokenize documents:
/// a word is a run of letters, digits and the combining marks of non-Latin scripts; everything
/// else (spaces, punctuation, quotes, operators, emoji) separates words. Each word must match;
/// the last one also matches as a prefix.
///
/// Returns `None` when the text can match nothing: it has no word at all (`"`, `&|!`, an emoji),
/// or a word longer than [`MAX_WORD_CHARS`]. Backends then return an empty page.
pub fn search_words(text: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    for word in text.split(|c: char| !is_word_char(c)) {
        if word.is_empty() {
            continue;
        }
        if word.chars().count() > MAX_WORD_CHARS {
            return None;
        }
        if words.len() == MAX_SEARCH_WORDS {
            break;
        }
        words.push(word.to_lowercase());
    }
    (!words.is_empty()).then_some(words)
}

/// Whether a character belongs to a word (letters, digits, the combining marks of non-Latin
/// scripts); every other character separates words.
pub fn is_word_char(c: char) -> bool {
    tickler_domain::tag::is_tag_char(c) && c != '_' && c != '-'
}

/// Whether a token of a document is the search word `word` (lowercase, as [`search_words`]
/// gives it), ignoring the token's case; with `prefix`, whether the token starts with it.
pub fn word_matches(token: &str, word: &str, prefix: bool) -> bool {
    let mut token = token.chars().flat_map(char::to_lowercase);
    for expected in word.chars() {
        if token.next() != Some(expected) {
            return false;
        }
    }
    prefix || token.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_syntax_characters_separate_words() {
        assert_eq!(
            search_words("\"NEAR(foo* AND:bar)\" &|! x-y_z"),
            Some(vec![
                "near".into(),
                "foo".into(),
                "and".into(),
                "bar".into(),
                "x".into(),
                "y".into(),
                "z".into()
            ])
        );
    }

    #[test]
    fn tokens_match_words_whatever_their_case_and_the_last_word_as_a_prefix() {
        assert!(word_matches("Report", "report", false));
        assert!(!word_matches("Reports", "report", false));
        assert!(word_matches("Reports", "report", true));
        assert!(!word_matches("Rep", "report", true));
        assert!(word_matches("کِتاب", "کِتاب", false));
        assert!(word_matches("STRASSE", "strasse", false));
    }

    #[test]
    fn texts_without_words_match_nothing() {
        for text in ["", "  ", "\"", "*", "&|!", "🎉", ":"] {
            assert_eq!(search_words(text), None, "{text:?}");
        }
    }

    #[test]
    fn urdu_words_keep_their_vowel_marks() {
        assert_eq!(
            search_words("کِتاب گھر"),
            Some(vec!["کِتاب".into(), "گھر".into()])
        );
    }

    #[test]
    fn overlong_words_match_nothing_and_extra_words_are_ignored() {
        assert_eq!(search_words(&"a".repeat(MAX_WORD_CHARS + 1)), None);
        let many = (0..40)
            .map(|i| format!("w{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(
            search_words(&many).map(|words| words.len()),
            Some(MAX_SEARCH_WORDS)
        );
    }
}
