//! Tags: short labels of letters, digits, `_` and `-` in any script, stored lowercase.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::validation::{FieldError, ValidationErrors};

/// Longest tag, in characters.
pub const MAX_TAG_CHARS: usize = 64;
/// Most tags on one task.
pub const MAX_TAGS_PER_TASK: usize = 50;

/// A validated, lowercase tag.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Tag(String);

/// Why a string is not a tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TagError {
    /// The tag is empty.
    #[error("tag must not be empty")]
    Empty,
    /// The tag is longer than [`MAX_TAG_CHARS`].
    #[error("tag must be at most {MAX_TAG_CHARS} characters")]
    TooLong,
    /// The tag holds something other than letters, digits, `_` and `-`.
    #[error("tag may contain only letters, digits, '_' and '-'")]
    InvalidCharacter,
}

impl TagError {
    /// Returns a stable snake_case code for API errors.
    pub fn code(&self) -> &'static str {
        match self {
            TagError::Empty => "empty",
            TagError::TooLong => "too_long",
            TagError::InvalidCharacter => "invalid_character",
        }
    }
}

impl Tag {
    /// Validates and lowercases a tag.
    pub fn parse(raw: &str) -> Result<Self, TagError> {
        if raw.is_empty() {
            return Err(TagError::Empty);
        }
        if raw.chars().count() > MAX_TAG_CHARS {
            return Err(TagError::TooLong);
        }
        if !raw.chars().all(is_tag_char) {
            return Err(TagError::InvalidCharacter);
        }
        Ok(Self(raw.to_lowercase()))
    }

    /// Returns the tag text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Returns whether `c` may appear in a tag: a letter or digit of any script (combining marks
/// that belong to a letter included), `_` or `-`.
pub fn is_tag_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '-' || is_combining_mark(c)
}

/// Nonspacing marks used by Arabic-script and Indic languages (vowel signs, `zer`, `zabar`...)
/// that `char::is_alphanumeric` does not cover.
fn is_combining_mark(c: char) -> bool {
    matches!(c,
        '\u{0300}'..='\u{036F}'
        | '\u{0610}'..='\u{061A}'
        | '\u{064B}'..='\u{065F}'
        | '\u{0670}'
        | '\u{06D6}'..='\u{06ED}'
        | '\u{0900}'..='\u{0903}'
        | '\u{093A}'..='\u{094F}'
        | '\u{200C}'..='\u{200D}')
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Tag {
    type Error = TagError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Tag::parse(&value)
    }
}

impl From<Tag> for String {
    fn from(tag: Tag) -> Self {
        tag.0
    }
}

/// A task's tags: distinct, in the order first given, at most [`MAX_TAGS_PER_TASK`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Tags(Vec<Tag>);

impl Tags {
    /// Validates every tag (reporting each bad one as `field[index]`), lowercases them and drops
    /// duplicates that differ only in case.
    pub fn parse<S: AsRef<str>>(field: &str, raw: &[S]) -> Result<Self, ValidationErrors> {
        let mut errors = Vec::new();
        let mut tags: Vec<Tag> = Vec::with_capacity(raw.len());
        for (index, item) in raw.iter().enumerate() {
            match Tag::parse(item.as_ref()) {
                Ok(tag) => {
                    if !tags.contains(&tag) {
                        tags.push(tag);
                    }
                }
                Err(error) => errors.push(FieldError::new(
                    format!("{field}[{index}]"),
                    error.code(),
                    error.to_string(),
                )),
            }
        }
        if tags.len() > MAX_TAGS_PER_TASK {
            errors.push(FieldError::new(
                field,
                "too_many",
                format!("a task may have at most {MAX_TAGS_PER_TASK} tags"),
            ));
        }
        match ValidationErrors::from_errors(errors) {
            Some(errors) => Err(errors),
            None => Ok(Self(tags)),
        }
    }

    /// Returns the tags in order.
    pub fn as_slice(&self) -> &[Tag] {
        &self.0
    }

    /// Returns whether `tag` is among them.
    pub fn contains(&self, tag: &Tag) -> bool {
        self.0.contains(tag)
    }

    /// Replaces `from` by `to`, merging when `to` is already present. Returns whether anything
    /// changed.
    pub fn rename(&mut self, from: &Tag, to: &Tag) -> bool {
        let Some(position) = self.0.iter().position(|tag| tag == from) else {
            return false;
        };
        if self.0.contains(to) {
            self.0.remove(position);
        } else {
            self.0[position] = to.clone();
        }
        true
    }

    /// Removes `tag`. Returns whether it was present.
    pub fn remove(&mut self, tag: &Tag) -> bool {
        let before = self.0.len();
        self.0.retain(|candidate| candidate != tag);
        self.0.len() != before
    }

    /// Iterates over the tags.
    pub fn iter(&self) -> std::slice::Iter<'_, Tag> {
        self.0.iter()
    }

    /// Returns the number of tags.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Returns whether there is no tag.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'a> IntoIterator for &'a Tags {
    type Item = &'a Tag;
    type IntoIter = std::slice::Iter<'a, Tag>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_lowercased_and_deduplicated_in_first_seen_order() {
        let tags = Tags::parse("tags", &["Home", "work", "HOME", "ghar_کام"]).unwrap();
        let names: Vec<&str> = tags.iter().map(Tag::as_str).collect();
        assert_eq!(names, ["home", "work", "ghar_کام"]);
    }

    #[test]
    fn each_bad_tag_is_reported_with_its_index() {
        let error = Tags::parse("tags", &["ok", "has space", "", &"x".repeat(65)]).unwrap_err();
        let fields: Vec<(&str, &str)> = error
            .errors()
            .iter()
            .map(|e| (e.field.as_str(), e.code))
            .collect();
        assert_eq!(
            fields,
            [
                ("tags[1]", "invalid_character"),
                ("tags[2]", "empty"),
                ("tags[3]", "too_long")
            ]
        );
    }

    #[test]
    fn more_than_fifty_tags_are_refused() {
        let raw: Vec<String> = (0..51).map(|i| format!("t{i}")).collect();
        let error = Tags::parse("tags", &raw).unwrap_err();
        assert_eq!(error.errors()[0].code, "too_many");
        let raw: Vec<String> = (0..50).map(|i| format!("t{i}")).collect();
        assert_eq!(Tags::parse("tags", &raw).unwrap().len(), 50);
    }

    #[test]
    fn urdu_script_with_vowel_marks_and_digits_is_a_valid_tag() {
        assert!(Tag::parse("گھر").is_ok());
        assert!(Tag::parse("کِتاب۲").is_ok());
        assert!(Tag::parse("#home").is_err());
    }

    #[test]
    fn renaming_onto_an_existing_tag_merges() {
        let mut tags = Tags::parse("tags", &["a", "b", "c"]).unwrap();
        assert!(tags.rename(&Tag::parse("a").unwrap(), &Tag::parse("c").unwrap()));
        let names: Vec<&str> = tags.iter().map(Tag::as_str).collect();
        assert_eq!(names, ["b", "c"]);
        assert!(!tags.rename(&Tag::parse("zzz").unwrap(), &Tag::parse("c").unwrap()));
    }
}
