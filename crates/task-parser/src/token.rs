//! Splits a sentence into words, numbers, punctuation, tags and quoted passages, remembering
//! where each came from so that the title can be rebuilt from the original text and spans can
//! point at it.

use tickler_domain::tag::is_tag_char;

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A run of letters (any script) with their combining marks and inner apostrophes.
    Word,
    /// A run of Western, Urdu (۰-۹) or Arabic-Indic (٠-٩) digits.
    Number,
    /// Any other single character.
    Punct,
    /// `#word` or `@word`; `norm` holds the lower-cased word without its sigil.
    Tag,
    /// A passage between quotes; its words are never interpreted.
    Quoted,
}

/// One token with its normalised text and its position in the input.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub kind: Kind,
    /// Lower-cased, with Urdu letter variants folded and combining marks dropped; Western
    /// digits for numbers; the inner text for quoted passages.
    pub norm: String,
    /// The value of a number (`None` when it does not fit).
    pub value: Option<u32>,
    /// How many digits a number was written with (`05` has two).
    pub digits: usize,
    /// Character offsets into the input, end exclusive.
    pub start: usize,
    pub end: usize,
    /// Byte offsets into the input, end exclusive.
    pub byte_start: usize,
    pub byte_end: usize,
    /// The token touches the previous one (no whitespace between them).
    pub glued: bool,
}

impl Token {
    /// Returns the word text when this is a word.
    pub fn word(&self) -> Option<&str> {
        (self.kind == Kind::Word).then_some(self.norm.as_str())
    }

    /// Returns whether this is the punctuation character `c`.
    pub fn is_punct(&self, c: char) -> bool {
        self.kind == Kind::Punct && self.norm.starts_with(c)
    }
}

/// Returns the value of a digit in any of the scripts the parser reads.
pub(crate) fn digit_value(c: char) -> Option<u32> {
    match c {
        '0'..='9' => Some(c as u32 - '0' as u32),
        '\u{06F0}'..='\u{06F9}' => Some(c as u32 - 0x06F0),
        '\u{0660}'..='\u{0669}' => Some(c as u32 - 0x0660),
        _ => None,
    }
}

/// Returns whether `c` is a combining mark that belongs to the letter before it.
fn is_mark(c: char) -> bool {
    matches!(c,
        '\u{0300}'..='\u{036F}'
        | '\u{0483}'..='\u{0489}'
        | '\u{0591}'..='\u{05BD}'
        | '\u{0610}'..='\u{061A}'
        | '\u{064B}'..='\u{065F}'
        | '\u{0670}'
        | '\u{06D6}'..='\u{06ED}'
        | '\u{0900}'..='\u{0903}'
        | '\u{093A}'..='\u{094F}'
        | '\u{1AB0}'..='\u{1AFF}'
        | '\u{1DC0}'..='\u{1DFF}'
        | '\u{200C}'..='\u{200D}'
        | '\u{20D0}'..='\u{20FF}'
        | '\u{FE20}'..='\u{FE2F}')
}

fn is_word_char(c: char) -> bool {
    digit_value(c).is_none() && (c.is_alphanumeric() || is_mark(c))
}

fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '’' | 'ʼ')
}

/// Folds the letter variants Urdu writers use interchangeably (Arabic and Persian forms of
/// yeh, kaf and heh) so that one spelling in the word lists matches them all.
fn fold_char(c: char, out: &mut String) {
    match c {
        '\u{064A}' | '\u{0649}' => out.push('\u{06CC}'),
        '\u{0643}' => out.push('\u{06A9}'),
        '\u{0647}' => out.push('\u{06C1}'),
        '’' | 'ʼ' => out.push('\''),
        c if is_mark(c) => {}
        c => out.extend(c.to_lowercase()),
    }
}

/// Returns the closing quote for an opening quote character, if it is one.
fn closing_quotes(open: char) -> Option<&'static [char]> {
    match open {
        '"' => Some(&['"', '”']),
        '“' => Some(&['”', '"']),
        '„' => Some(&['“', '”']),
        '«' => Some(&['»']),
        '‘' => Some(&['’']),
        '\'' => Some(&['\'', '’']),
        _ => None,
    }
}

/// Splits `text` into tokens.
pub(crate) fn tokenize(text: &str) -> Vec<Token> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let byte_at = |index: usize| chars.get(index).map_or(text.len(), |&(b, _)| b);
    let mut tokens: Vec<Token> = Vec::with_capacity(chars.len() / 3 + 1);
    let mut index = 0;
    let mut space_before = true;
    while index < chars.len() {
        let c = chars[index].1;
        if c.is_whitespace() {
            space_before = true;
            index += 1;
            continue;
        }
        let previous = index.checked_sub(1).map(|p| chars[p].1);
        let at_word_start = previous.is_none_or(|p| !is_tag_char(p) && !is_apostrophe(p));
        let start = index;
        let mut token = Token {
            kind: Kind::Punct,
            norm: String::new(),
            value: None,
            digits: 0,
            start,
            end: start + 1,
            byte_start: byte_at(start),
            byte_end: byte_at(start + 1),
            glued: !space_before,
        };
        if let Some(value) = digit_value(c) {
            let mut total = Some(value);
            let mut end = index + 1;
            while let Some(digit) = chars.get(end).and_then(|&(_, d)| digit_value(d)) {
                total = total
                    .and_then(|t| t.checked_mul(10))
                    .and_then(|t| t.checked_add(digit));
                end += 1;
            }
            token.kind = Kind::Number;
            token.value = total;
            token.digits = end - index;
            token.norm = total.map(|t| t.to_string()).unwrap_or_default();
            index = end;
        } else if is_word_char(c) {
            let mut end = index;
            while end < chars.len() {
                let d = chars[end].1;
                let inner_apostrophe = is_apostrophe(d)
                    && end > index
                    && chars.get(end + 1).is_some_and(|&(_, n)| is_word_char(n));
                if !(is_word_char(d) || inner_apostrophe) {
                    break;
                }
                fold_char(d, &mut token.norm);
                end += 1;
            }
            token.kind = Kind::Word;
            index = end;
        } else if (c == '#' || c == '@')
            && at_word_start
            && chars
                .get(index + 1)
                .is_some_and(|&(_, n)| is_tag_char(n) && !(c == '@' && digit_value(n).is_some()))
        {
            let mut end = index + 1;
            while chars.get(end).is_some_and(|&(_, n)| is_tag_char(n)) {
                end += 1;
            }
            token.kind = Kind::Tag;
            token.norm = chars[index + 1..end]
                .iter()
                .flat_map(|&(_, n)| n.to_lowercase())
                .collect();
            index = end;
        } else if let Some(end) = quoted_passage_end(&chars, index, at_word_start) {
            token.kind = Kind::Quoted;
            token.norm = chars[index + 1..end - 1]
                .iter()
                .map(|&(_, n)| n)
                .collect::<String>()
                .trim()
                .to_owned();
            index = end;
        } else {
            token.norm.push(c);
            index += 1;
        }
        token.end = index;
        token.byte_end = byte_at(index);
        tokens.push(token);
        space_before = false;
    }
    tokens
}

/// Returns the index just past the closing quote when `chars[index]` opens a quoted passage.
fn quoted_passage_end(chars: &[(usize, char)], index: usize, at_word_start: bool) -> Option<usize> {
    let open = chars[index].1;
    let closers = closing_quotes(open)?;
    // An apostrophe only opens a passage at the start of a word, so that "mom's" and "rock 'n'
    // roll" stay words.
    if (open == '\'' || open == '‘') && !at_word_start {
        return None;
    }
    let mut end = index + 1;
    while end < chars.len() {
        let c = chars[end].1;
        if closers.contains(&c) {
            let closes_word = chars
                .get(end + 1)
                .is_none_or(|&(_, n)| !is_word_char(n) && digit_value(n).is_none());
            if end > index + 1 && (closes_word || open == '"' || open == '“' || open == '«') {
                return Some(end + 1);
            }
        }
        end += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(Kind, String, bool)> {
        tokenize(text)
            .into_iter()
            .map(|t| (t.kind, t.norm, t.glued))
            .collect()
    }

    #[test]
    fn times_split_into_glued_numbers_and_words() {
        assert_eq!(
            kinds("at 5:30pm"),
            vec![
                (Kind::Word, "at".into(), false),
                (Kind::Number, "5".into(), false),
                (Kind::Punct, ":".into(), true),
                (Kind::Number, "30".into(), true),
                (Kind::Word, "pm".into(), true),
            ]
        );
    }

    #[test]
    fn tags_need_a_sigil_at_the_start_of_a_word() {
        let tokens = tokenize("mail bob@example.com #Work @home");
        let tags: Vec<&str> = tokens
            .iter()
            .filter(|t| t.kind == Kind::Tag)
            .map(|t| t.norm.as_str())
            .collect();
        assert_eq!(tags, ["work", "home"]);
    }

    #[test]
    fn urdu_digits_and_letter_variants_are_normalised() {
        let tokens = tokenize("۹ بجے جمعه");
        assert_eq!(tokens[0].value, Some(9));
        assert_eq!(tokens[2].norm, "جمعہ");
    }

    #[test]
    fn quotes_make_one_opaque_token_but_apostrophes_stay_in_words() {
        let tokens = tokenize("watch \"The 5th Wave\" at mom's");
        assert_eq!(tokens[1].kind, Kind::Quoted);
        assert_eq!(tokens[1].norm, "The 5th Wave");
        assert_eq!(tokens[3].norm, "mom's");
    }

    #[test]
    fn offsets_count_characters_not_bytes() {
        let tokens = tokenize("کل call");
        assert_eq!((tokens[1].start, tokens[1].end), (3, 7));
        assert_eq!(tokens[1].byte_start, 5);
    }
}
