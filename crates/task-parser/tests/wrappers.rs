//! Words that only look like a conversational wrapper stay in the title (README 2.10): a word
//! that merely starts like one, a wrapper word inside the task, and a need or a memory that is
//! not a request.

// A test file: a sentence that does not parse should stop the run loudly.
#![allow(clippy::unwrap_used)]

use chrono::{DateTime, Utc};
use tickler_domain::TimeZone;
use tickler_task_parser::{Intent, parse};

fn title_of(text: &str) -> Option<String> {
    let now: DateTime<Utc> = DateTime::parse_from_rfc3339("2026-11-21T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    let parsed = parse(text, now, TimeZone::UTC);
    assert_eq!(parsed.intent, Intent::CreateTask, "{text}");
    parsed.title
}

fn assert_kept(sentences: &[&str]) {
    for text in sentences {
        assert_eq!(title_of(text).as_deref(), Some(*text), "{text}");
    }
}

#[test]
fn a_word_that_merely_starts_like_a_wrapper_stays() {
    assert_kept(&[
        "addition worksheet",
        "address the wedding invitations",
        "adding machine repair",
        "pleased to meet Ahmed",
        "canvas the neighbourhood",
        "remembrance day wreath",
        "taskforce agenda",
        "todos cleanup in the repo",
        "reminders app cleanup",
        "newsletter draft",
        "notes for the lecture",
        "mustard and ketchup",
        "formal thanks letter",
    ]);
}

#[test]
fn a_wrapper_word_inside_the_task_stays() {
    assert_kept(&[
        "ask Sam to add the figures",
        "email Jo to remind her",
        "tell Ali I need to leave early",
        "teach the kids to say please",
        "write a thank you note to Grandma",
        "send thanks",
        "buy a to-do list notebook",
        "fix the note to self feature",
        "add up the receipts",
        "add the figures to the report",
        "add 2 eggs to the batter",
        "call Mum for me and Dad",
    ]);
}

#[test]
fn a_need_or_a_memory_that_is_not_a_request_stays() {
    assert_kept(&[
        "need a new phone case",
        "remember Dad's birthday card",
        "need new tyres",
        "remember the milk",
        "must-see films list",
        "wants and needs budget",
        "new task board for the team",
    ]);
}

#[test]
fn urdu_words_that_only_look_like_a_wrapper_stay() {
    assert_kept(&[
        // "hai" after a noun is "is", not "I have to".
        "meeting hai",
        "ghar ka phone hai",
        // "yaad" that is not "remind me".
        "yaad se doodh lena",
    ]);
}

#[test]
fn a_closing_bracket_or_quote_before_a_trailing_wrapper_stays_in_the_title() {
    for (text, title) in [
        ("feed the cat (twice), thanks", "feed the cat (twice)"),
        ("buy milk (oat), please", "buy milk (oat)"),
        ("read \"Dune\", thanks", "read \"Dune\""),
        (
            "water the plants (balcony) please",
            "water the plants (balcony)",
        ),
        ("buy milk, thanks", "buy milk"),
    ] {
        assert_eq!(title_of(text).as_deref(), Some(title), "{text}");
    }
}
