//! Content lines (RFC 5545 section 3.1): TEXT escaping, 75-octet folding, and their inverses.

/// Longest content line in octets, not counting the CRLF that ends it.
pub const MAX_LINE_OCTETS: usize = 75;

/// Escapes a TEXT value (RFC 5545 section 3.3.11): backslash, semicolon and comma get a
/// backslash, and every line break (CRLF, CR or LF) becomes `\n`.
pub fn escape_text(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => escaped.push_str("\\\\"),
            ';' => escaped.push_str("\\;"),
            ',' => escaped.push_str("\\,"),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                escaped.push_str("\\n");
            }
            '\n' => escaped.push_str("\\n"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// Reverses [`escape_text`]: `\n` and `\N` become a line feed, `\\`, `\;` and `\,` their
/// character; a backslash before anything else is kept as it is.
pub fn unescape_text(text: &str) -> String {
    let mut plain = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            plain.push(c);
            continue;
        }
        match chars.next() {
            Some('n' | 'N') => plain.push('\n'),
            Some(escaped @ ('\\' | ';' | ',')) => plain.push(escaped),
            Some(other) => {
                plain.push('\\');
                plain.push(other);
            }
            None => plain.push('\\'),
        }
    }
    plain
}

/// Splits a list value (CATEGORIES) on the commas that are not escaped, then unescapes each
/// part.
pub fn split_list(value: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                current.push(c);
                if let Some(next) = chars.next() {
                    current.push(next);
                }
            }
            ',' => parts.push(unescape_text(&std::mem::take(&mut current))),
            other => current.push(other),
        }
    }
    parts.push(unescape_text(&current));
    parts
}

/// Appends one content line to `out`, folded so that no physical line exceeds
/// [`MAX_LINE_OCTETS`] octets, each ended by CRLF. Folds never split a UTF-8 character;
/// continuation lines start with one space.
pub fn push_folded(out: &mut String, line: &str) {
    let mut budget = MAX_LINE_OCTETS;
    let mut used = 0;
    for c in line.chars() {
        let width = c.len_utf8();
        if used + width > budget {
            out.push_str("\r\n ");
            // The leading space counts towards the next line's 75 octets.
            budget = MAX_LINE_OCTETS - 1;
            used = 0;
        }
        out.push(c);
        used += width;
    }
    out.push_str("\r\n");
}

/// Reverses folding: joins every line that starts with a space or a tab onto the one before,
/// and returns the logical lines.
pub fn unfold(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for physical in text.split("\r\n") {
        match physical.strip_prefix([' ', '\t']) {
            Some(rest) => match lines.last_mut() {
                Some(last) => last.push_str(rest),
                None => lines.push(rest.to_owned()),
            },
            None if physical.is_empty() => {}
            None => lines.push(physical.to_owned()),
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn escaping_covers_the_special_characters_and_line_breaks() {
        assert_eq!(
            escape_text("a\\b;c,d\ne\r\nf\rg"),
            "a\\\\b\\;c\\,d\\ne\\nf\\ng"
        );
        assert_eq!(unescape_text("a\\\\b\\;c\\,d\\Ne"), "a\\b;c,d\ne");
    }

    #[test]
    fn a_short_line_is_not_folded_and_a_long_one_is() {
        let mut out = String::new();
        push_folded(&mut out, "SUMMARY:short");
        assert_eq!(out, "SUMMARY:short\r\n");
        let long = format!("SUMMARY:{}", "x".repeat(100));
        let mut out = String::new();
        push_folded(&mut out, &long);
        let physical: Vec<&str> = out.trim_end_matches("\r\n").split("\r\n").collect();
        assert_eq!(physical[0].len(), 75);
        assert!(physical[1].starts_with(' '));
        assert_eq!(unfold(&out), vec![long]);
    }

    proptest! {
        #[test]
        fn folded_lines_never_exceed_75_octets_and_unfold_to_the_original(
            text in "\\PC{0,400}"
        ) {
            let line = format!("DESCRIPTION:{}", escape_text(&text));
            let mut out = String::new();
            push_folded(&mut out, &line);
            for physical in out.split("\r\n") {
                prop_assert!(physical.len() <= MAX_LINE_OCTETS, "{physical:?}");
            }
            let lines = unfold(&out);
            prop_assert_eq!(lines.len(), 1);
            prop_assert_eq!(&lines[0], &line);
            let value = lines[0].strip_prefix("DESCRIPTION:").unwrap_or_default();
            prop_assert_eq!(unescape_text(value), text.replace("\r\n", "\n").replace('\r', "\n"));
        }

        #[test]
        fn escaped_lists_split_back_into_their_items(
            items in proptest::collection::vec("[^\\r\\n]{0,20}", 1..6)
        ) {
            let joined = items.iter().map(|item| escape_text(item)).collect::<Vec<_>>().join(",");
            prop_assert_eq!(split_list(&joined), items);
        }
    }
}
