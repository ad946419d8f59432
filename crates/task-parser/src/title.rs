//! Rebuilds titles, targets and search text from the original characters of the tokens no
//! rule claimed, and reports which characters produced which field.

use std::ops::Range;

use crate::parsed::{Field, Span};
use crate::scanner::Scanner;
use crate::token::Kind;

/// Joins the original text of the tokens at `indices` (in order): one space where the input
/// had whitespace or where claimed words were taken out, none inside a glued run such as
/// `W-9` or before punctuation that touched a removed word ("tomorrow," → ",").
fn join(scanner: &Scanner, text: &str, indices: &[usize]) -> String {
    let mut out = String::new();
    let mut previous: Option<usize> = None;
    for &i in indices {
        let token = &scanner.tokens[i];
        if let Some(p) = previous {
            let touches = token.glued && (p + 1 == i || is_closing(token));
            if !touches {
                out.push(' ');
            }
        }
        if let Some(slice) = text.get(token.byte_start..token.byte_end) {
            out.push_str(slice);
        }
        previous = Some(i);
    }
    out
}

fn is_closing(token: &crate::token::Token) -> bool {
    token.kind == Kind::Punct
        && matches!(
            token.norm.as_str(),
            "," | "." | ";" | ":" | "!" | "?" | ")" | "]" | "}" | "،" | "۔" | "؟"
        )
}

/// Returns the title: the unclaimed tokens of `range`, tidied; `None` when nothing is left.
pub(crate) fn build(scanner: &Scanner, text: &str, range: Range<usize>) -> Option<String> {
    let kept: Vec<usize> = range.filter(|&i| scanner.claimed[i].is_none()).collect();
    // A quoted title is taken as written, without its quotes and the punctuation around it
    // ("could you add “Finish chapter 3” for tomorrow?").
    let words: Vec<&usize> = kept
        .iter()
        .filter(|&&i| scanner.tokens[i].kind != Kind::Punct)
        .collect();
    if let [only] = words.as_slice() {
        let token = &scanner.tokens[**only];
        if token.kind == Kind::Quoted {
            return non_empty(token.norm.clone());
        }
    }
    non_empty(tidy(&join(scanner, text, &kept)))
}

/// Returns the text of `range` as written, tidied and without surrounding quotes (a new
/// title given in a rename).
pub(crate) fn build_plain(scanner: &Scanner, range: Range<usize>) -> Option<String> {
    let end = range.end.min(scanner.tokens.len());
    let indices: Vec<usize> = (range.start..end).collect();
    if let [only] = indices.as_slice()
        && scanner.tokens[*only].kind == Kind::Quoted
    {
        return non_empty(scanner.tokens[*only].norm.clone());
    }
    non_empty(tidy(&strip_quotes(&join(scanner, scanner.text, &indices))))
}

/// Returns the words naming a task in `range`, without a leading article or possessive,
/// without "task" or "from my list" at the end and without quotes.
pub(crate) fn clean_phrase(scanner: &Scanner, range: Range<usize>) -> Option<String> {
    let (mut start, mut end) = (range.start, range.end.min(scanner.tokens.len()));
    let word = |i: usize| scanner.tokens.get(i).and_then(|t| t.word());
    let is = |i: usize, words: &[&str]| word(i).is_some_and(|w| words.contains(&w));
    while end > start && scanner.tokens[end - 1].kind == Kind::Punct && !is_quote(scanner, end - 1)
    {
        end -= 1;
    }
    while start < end && (scanner.tokens[start].kind == Kind::Punct && !is_quote(scanner, start)) {
        start += 1;
    }
    // "from my list", "from the to-do list"
    for tail in ["from my|the|our to? do|todo? list|tasks", "from list"] {
        if let Some(s) = (start..end).find(|&s| scanner.phrase_any(s, tail) == Some(end)) {
            end = s;
            break;
        }
    }
    while end > start + 1
        && is(
            end - 1,
            &["task", "tasks", "todo", "item", "reminder", "kaam", "کام"],
        )
    {
        end -= 1;
        while end > start + 1 && is(end - 1, &["wala", "wali", "ka", "ki", "ke", "والا", "کا"])
        {
            end -= 1;
        }
    }
    while end > start + 1
        && is(
            start,
            &[
                "the", "my", "a", "an", "our", "your", "his", "her", "their", "this", "that",
            ],
        )
    {
        start += 1;
    }
    if end > start + 2
        && is(start, &["task", "todo", "item"])
        && is(start + 1, &["called", "named"])
    {
        start += 2;
    }
    let indices: Vec<usize> = (start..end).collect();
    if let [only] = indices.as_slice()
        && scanner.tokens[*only].kind == Kind::Quoted
    {
        return non_empty(scanner.tokens[*only].norm.clone());
    }
    let text = scanner.text;
    let mut joined = join(scanner, text, &indices);
    if let Some(stripped) = joined
        .strip_suffix("'s")
        .or_else(|| joined.strip_suffix("’s"))
    {
        joined = stripped.to_owned();
    }
    non_empty(tidy(&strip_quotes(&joined)))
}

fn is_quote(scanner: &Scanner, i: usize) -> bool {
    scanner.tokens[i].kind == Kind::Quoted
}

/// Removes one pair of quotes around the whole text.
fn strip_quotes(text: &str) -> String {
    let trimmed = text.trim();
    for (open, close) in [('"', '"'), ('“', '”'), ('\'', '\''), ('‘', '’'), ('«', '»')] {
        if let Some(inner) = trimmed
            .strip_prefix(open)
            .and_then(|rest| rest.strip_suffix(close))
        {
            return inner.trim().to_owned();
        }
    }
    trimmed.to_owned()
}

/// Trims surrounding whitespace, punctuation and dangling conjunctions; drops brackets
/// emptied by removed words.
pub(crate) fn tidy(raw: &str) -> String {
    let mut text = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    for empty in ["()", "( )", "[]", "[ ]", "{}"] {
        while text.contains(empty) {
            text = text.replace(empty, " ");
        }
    }
    text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    text = text.replace(" ,", ",").replace(",,", ",");
    loop {
        let before = text.len();
        text = trim_edges(&text);
        for word in ["and", "&", "or", "then", "aur", "اور", "-", "–"] {
            if let Some(rest) = text.strip_suffix(word)
                && (rest.is_empty() || rest.ends_with(' '))
            {
                text = rest.trim_end().to_owned();
            }
            if let Some(rest) = text.strip_prefix(word)
                && rest.starts_with(' ')
            {
                text = rest.trim_start().to_owned();
            }
        }
        if text.len() == before {
            return text;
        }
    }
}

/// Strips punctuation from both ends, keeping a bracket or quote whose partner is inside.
fn trim_edges(text: &str) -> String {
    let mut text = text.trim();
    while let Some(last) = text.chars().next_back() {
        let partner = match last {
            ')' => Some('('),
            ']' => Some('['),
            '}' => Some('{'),
            '”' => Some('“'),
            '»' => Some('«'),
            '"' => Some('"'),
            _ => None,
        };
        let balanced = partner.is_some_and(|p| {
            let body = &text[..text.len() - last.len_utf8()];
            if p == '"' {
                body.matches('"').count() % 2 == 1
            } else {
                body.contains(p)
            }
        });
        if balanced || !(last.is_ascii_punctuation() || is_other_punctuation(last)) {
            break;
        }
        text = text[..text.len() - last.len_utf8()].trim_end();
    }
    while let Some(first) = text.chars().next() {
        let partner = match first {
            '(' => Some(')'),
            '[' => Some(']'),
            '{' => Some('}'),
            '“' => Some('”'),
            '«' => Some('»'),
            '"' => Some('"'),
            '#' | '@' => None,
            _ => None,
        };
        let balanced = partner.is_some_and(|p| text[first.len_utf8()..].contains(p));
        if balanced
            || matches!(first, '#' | '@' | '$' | '£' | '€')
            || !(first.is_ascii_punctuation() || is_other_punctuation(first))
        {
            break;
        }
        text = text[first.len_utf8()..].trim_start();
    }
    text.to_owned()
}

fn is_other_punctuation(c: char) -> bool {
    matches!(
        c,
        '،' | '۔' | '؟' | '–' | '—' | '…' | '“' | '”' | '‘' | '’' | '«' | '»' | '¡' | '¿'
    )
}

fn non_empty(text: String) -> Option<String> {
    (!text.trim().is_empty()).then_some(text)
}

/// Returns the spans of claimed tokens (runs of one field) plus title spans for the
/// unclaimed tokens when `title` is set.
pub(crate) fn spans(scanner: &Scanner, title: bool) -> Vec<Span> {
    let mut spans: Vec<Span> = Vec::new();
    let mut previous_index = usize::MAX;
    for (i, token) in scanner.tokens.iter().enumerate() {
        let field = match scanner.claimed[i] {
            Some(field) => field,
            None if title && token.kind != Kind::Punct => Field::Title,
            None => continue,
        };
        if let Some(last) = spans.last_mut()
            && last.field == field
            && previous_index + 1 == i
        {
            last.end = token.end;
            previous_index = i;
            continue;
        }
        spans.push(Span {
            field,
            start: token.start,
            end: token.end,
        });
        previous_index = i;
    }
    spans
}
