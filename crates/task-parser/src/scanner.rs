//! The reading position shared by every grammar rule: the tokens, which of them a rule has
//! already claimed, and the clock the sentence is read against.

use chrono::{DateTime, NaiveDate, Utc};
use tickler_domain::TimeZone;

use crate::lexicon;
use crate::parsed::Field;
use crate::token::{Kind, Token};

/// The instant and zone a sentence is read in.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    pub now: DateTime<Utc>,
    pub zone: TimeZone,
    pub today: NaiveDate,
}

impl Clock {
    pub fn new(now: DateTime<Utc>, zone: TimeZone) -> Self {
        let local_now = zone.local_datetime(now);
        Self {
            now,
            zone,
            today: local_now.date(),
        }
    }
}

/// Tokens plus the field each one has been claimed for.
#[derive(Debug, Clone)]
pub(crate) struct Scanner<'a> {
    /// The input the tokens were read from.
    pub text: &'a str,
    pub tokens: &'a [Token],
    pub claimed: Vec<Option<Field>>,
    pub clock: Clock,
    /// The sentence contains Urdu (either script), which lets Roman Urdu words that are also
    /// English words ("peer", "kal") count as dates.
    pub urdu: bool,
}

impl<'a> Scanner<'a> {
    pub fn new(text: &'a str, tokens: &'a [Token], clock: Clock) -> Self {
        let urdu = tokens.iter().any(|t| {
            t.kind == Kind::Word
                && (lexicon::is_roman_urdu_marker(&t.norm)
                    || t.norm
                        .chars()
                        .any(|c| ('\u{0600}'..='\u{06FF}').contains(&c)))
        });
        Self {
            text,
            tokens,
            claimed: vec![None; tokens.len()],
            clock,
            urdu,
        }
    }

    /// Returns the token at `i` unless it is claimed or past the end.
    pub fn free(&self, i: usize) -> Option<&'a Token> {
        match self.claimed.get(i) {
            Some(None) => self.tokens.get(i),
            _ => None,
        }
    }

    /// Returns the normalised word at `i` when it is a free word.
    pub fn word(&self, i: usize) -> Option<&'a str> {
        self.free(i).and_then(Token::word)
    }

    /// Returns whether the free word at `i` is one of `words`.
    pub fn is(&self, i: usize, words: &[&str]) -> bool {
        self.word(i).is_some_and(|w| words.contains(&w))
    }

    /// Returns whether the free token at `i` is the punctuation `c`.
    pub fn punct(&self, i: usize, c: char) -> bool {
        self.free(i).is_some_and(|t| t.is_punct(c))
    }

    /// Returns whether the token at `i` touches the one before it.
    pub fn glued(&self, i: usize) -> bool {
        self.tokens.get(i).is_some_and(|t| t.glued)
    }

    /// Returns the value of a free number at `i` that is not the tail of a code such as `W-9`
    /// or `A4`.
    pub fn number(&self, i: usize) -> Option<u32> {
        let token = self.free(i)?;
        if token.kind != Kind::Number {
            return None;
        }
        if token.glued && i > 0 {
            let before = &self.tokens[i - 1];
            let opener = before.kind == Kind::Punct
                && matches!(before.norm.as_str(), "(" | "[" | "," | "@" | "~" | "\"");
            if !opener {
                return None;
            }
        }
        token.value
    }

    /// Returns whether nothing but whitespace or non-joining punctuation follows position `i`
    /// (so `5pm` ends at `pm`, but `5pmx` does not).
    pub fn word_ends(&self, i: usize) -> bool {
        match self.tokens.get(i) {
            None => true,
            Some(t) => {
                !t.glued
                    || (t.kind == Kind::Punct
                        && !(matches!(t.norm.as_str(), "-" | "/" | ":" | "." | "'")
                            && self
                                .tokens
                                .get(i + 1)
                                .is_some_and(|n| n.glued && n.kind != Kind::Punct)))
            }
        }
    }

    /// Matches a phrase pattern at `i`: words separated by spaces, alternatives by `|`, an
    /// element ending in `?` is optional. A glued hyphen between words is skipped
    /// ("day-after-tomorrow"). Returns the index after the match.
    pub fn phrase(&self, i: usize, pattern: &str) -> Option<usize> {
        self.phrase_with(i, pattern, false)
    }

    /// Like [`Scanner::phrase`], but also over claimed tokens.
    pub fn phrase_any(&self, i: usize, pattern: &str) -> Option<usize> {
        self.phrase_with(i, pattern, true)
    }

    fn phrase_with(&self, mut i: usize, pattern: &str, any: bool) -> Option<usize> {
        let word_at = |at: usize| {
            if any {
                self.tokens.get(at).and_then(Token::word)
            } else {
                self.word(at)
            }
        };
        let mut first = true;
        for element in pattern.split_whitespace() {
            let optional = element.ends_with('?');
            let alternatives = element.trim_end_matches('?');
            let hyphen = !first
                && self
                    .tokens
                    .get(i)
                    .is_some_and(|t| t.is_punct('-') && t.glued)
                && self.glued(i + 1);
            let at = if hyphen { i + 1 } else { i };
            match word_at(at) {
                Some(w) if alternatives.split('|').any(|a| a == w) => i = at + 1,
                _ if optional => continue,
                _ => return None,
            }
            first = false;
        }
        Some(i)
    }

    /// Returns whether the words at `i` could not continue a noun phrase, so that a number or
    /// ordinal just before them reads as a time or date rather than as part of a name ("at 5"
    /// and "the 15th," but not "the 5th Wave" or "at 3 Main Street").
    pub fn phrase_boundary(&self, i: usize) -> bool {
        let Some(token) = self.tokens.get(i) else {
            return true;
        };
        if self.claimed[i].is_some() {
            return true;
        }
        match token.kind {
            Kind::Punct | Kind::Tag | Kind::Quoted => true,
            Kind::Number => false,
            Kind::Word => {
                let w = token.norm.as_str();
                is_function_word(w)
                    || lexicon::day_name(w).is_some_and(|d| !d.ambiguous)
                    || lexicon::month(w).is_some()
            }
        }
    }

    /// Claims tokens `start..end` for `field`.
    pub fn claim(&mut self, start: usize, end: usize, field: Field) {
        for slot in self.claimed.iter_mut().take(end).skip(start) {
            if slot.is_none() {
                *slot = Some(field);
            }
        }
    }

    /// Returns a count at `i`: digits, a number word, "a"/"an" (one), "a couple of" (two),
    /// "twenty five"; with the index after it.
    pub fn count(&self, i: usize) -> Option<(u32, usize)> {
        if let Some(value) = self.number(i) {
            return Some((value, i + 1));
        }
        let word = self.word(i)?;
        if matches!(word, "a" | "an" | "one") {
            if let Some(end) = self.phrase(i + 1, "couple of?") {
                return Some((2, end));
            }
            return Some((1, i + 1));
        }
        let tens = lexicon::number_word(word)?;
        if matches!(tens, 20 | 30 | 40 | 50) {
            let next = if self.punct(i + 1, '-') { i + 2 } else { i + 1 };
            if let Some(unit) = self.word(next).and_then(lexicon::number_word)
                && unit < 10
            {
                return Some((tens + unit, next + 1));
            }
        }
        Some((tens, i + 1))
    }
}

/// Words that end a noun phrase: conjunctions, prepositions and words that start another
/// part of the sentence.
fn is_function_word(word: &str) -> bool {
    matches!(
        word,
        "and"
            | "or"
            | "then"
            | "at"
            | "on"
            | "by"
            | "in"
            | "for"
            | "with"
            | "to"
            | "every"
            | "each"
            | "remind"
            | "reminder"
            | "please"
            | "today"
            | "tomorrow"
            | "tonight"
            | "next"
            | "this"
            | "morning"
            | "afternoon"
            | "evening"
            | "night"
            | "am"
            | "pm"
            | "o'clock"
            | "oclock"
            | "sharp"
            | "starting"
            | "until"
            | "till"
            | "from"
            | "before"
            | "after"
            | "due"
            | "of"
            | "urgent"
            | "important"
            | "priority"
            | "high"
            | "low"
            | "medium"
            | "ko"
            | "tak"
            | "se"
            | "baje"
            | "so"
            | "but"
            | "about"
            | "as"
            | "is"
            | "are"
            | "if"
    )
}
