//! Small text conversions shared by the readers.

use tickler_domain::task::MAX_TITLE_CHARS;

/// Longest tag, in characters (the domain's limit).
const MAX_TAG_CHARS: usize = 64;

/// Splits source text into a tickler title (its first line, at most 500 characters) and
/// whatever does not fit (to go into the description).
pub(crate) fn title_and_overflow(text: &str) -> (String, Option<String>) {
    let text = text.trim();
    let first_line = text.lines().next().unwrap_or_default().trim();
    let title: String = first_line
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_TITLE_CHARS)
        .collect();
    if title.chars().count() == text.chars().count() {
        (title, None)
    } else {
        (title, Some(text.to_owned()))
    }
}

/// Appends a paragraph to a description.
pub(crate) fn append_paragraph(description: &mut String, paragraph: &str) {
    let paragraph = paragraph.trim();
    if paragraph.is_empty() {
        return;
    }
    if !description.is_empty() {
        description.push_str("\n\n");
    }
    description.push_str(paragraph);
}

/// Makes a tickler tag of a label, project or section name: lowercase letters and digits
/// (any script), other characters as `-`, at most 64 characters; empty when nothing is left.
pub(crate) fn tag_of(raw: &str) -> String {
    let mut tag = String::new();
    for c in raw.trim().trim_start_matches(['@', '#']).chars() {
        if c.is_alphanumeric() || c == '_' {
            tag.extend(c.to_lowercase());
        } else if !tag.ends_with('-') && !tag.is_empty() {
            tag.push('-');
        }
    }
    let tag = tag.trim_end_matches('-');
    tag.chars()
        .take(MAX_TAG_CHARS)
        .collect::<String>()
        .trim_end_matches('-')
        .to_owned()
}

/// A stable 64-bit FNV-1a hash, for source ids of formats without ids.
pub(crate) fn fnv64(parts: &[&str]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain(std::iter::once(0u8)) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn tags_are_lowercase_words_joined_by_dashes() {
        assert_eq!(tag_of("@Home Office"), "home-office");
        assert_eq!(tag_of("Work.Q3 / planning"), "work-q3-planning");
        assert_eq!(tag_of("!!!"), "");
        assert_eq!(tag_of("کام"), "کام");
    }

    #[test]
    fn a_long_or_multi_line_title_keeps_the_whole_text_for_the_description() {
        assert_eq!(
            title_and_overflow(" buy milk "),
            ("buy milk".to_owned(), None)
        );
        let (title, rest) = title_and_overflow("first\nsecond");
        assert_eq!(title, "first");
        assert_eq!(rest.as_deref(), Some("first\nsecond"));
    }

    proptest! {
        #[test]
        fn every_tag_made_is_a_valid_tickler_tag(raw in any::<String>()) {
            let tag = tag_of(&raw);
            prop_assume!(!tag.is_empty());
            prop_assert!(tickler_domain::Tags::parse("tags", std::slice::from_ref(&tag)).is_ok());
        }

        #[test]
        fn every_title_made_is_a_valid_tickler_title(raw in "\\PC{1,700}") {
            let (title, _) = title_and_overflow(&raw);
            prop_assume!(!title.trim().is_empty());
            prop_assert!(tickler_domain::Title::parse(&title).is_ok());
        }
    }
}
