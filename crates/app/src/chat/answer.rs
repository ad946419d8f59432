//! Reading the answer to a pending question: a yes or a no to a confirmation, or which of
//! the offered tasks ("the second one", "doosra", "دوسرا", "2", words of a title).

use super::turn::Candidate;

/// A yes, a no, or something else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    /// Go ahead.
    Yes,
    /// Do not.
    No,
    /// Neither: a new request.
    Other,
}

impl Answer {
    /// Reads a whole message as a yes or a no.
    pub(crate) fn read(message: &str) -> Self {
        const YES: &[&str] = &[
            "yes",
            "y",
            "yeah",
            "yep",
            "yup",
            "sure",
            "ok",
            "okay",
            "confirm",
            "go ahead",
            "do it",
            "haan",
            "han",
            "ha",
            "ji",
            "jee",
            "ji haan",
            "theek hai",
            "ہاں",
            "جی",
            "جی ہاں",
            "ٹھیک ہے",
        ];
        const NO: &[&str] = &[
            "no",
            "n",
            "nope",
            "cancel",
            "stop",
            "never mind",
            "nevermind",
            "none",
            "nahi",
            "nahin",
            "na",
            "mat karo",
            "rehne do",
            "نہیں",
            "مت کرو",
            "رہنے دو",
            "نہ",
        ];
        let text = normalise(message);
        if YES.contains(&text.as_str()) {
            Answer::Yes
        } else if NO.contains(&text.as_str()) {
            Answer::No
        } else {
            Answer::Other
        }
    }
}

/// Lower-cases, drops punctuation and collapses spaces.
fn normalise(text: &str) -> String {
    text.to_lowercase()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c.is_whitespace() || is_mark(c) {
                c
            } else {
                ' '
            }
        })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn is_mark(c: char) -> bool {
    matches!(c, '\u{064B}'..='\u{065F}' | '\u{0670}')
}

/// Which candidate a short answer picks: an ordinal ("the second one", "doosra", "دوسرا",
/// "2") or words of exactly one candidate's title.
pub(crate) fn choice(message: &str, candidates: &[Candidate]) -> Option<usize> {
    const ORDINALS: &[&[&str]] = &[
        &[
            "first", "1st", "1", "۱", "pehla", "pehli", "pehle", "پہلا", "پہلی", "پہلے",
        ],
        &[
            "second",
            "2nd",
            "two",
            "2",
            "۲",
            "doosra",
            "dusra",
            "doosri",
            "dusri",
            "doosre",
            "dusre",
            "دوسرا",
            "دوسری",
            "دوسرے",
        ],
        &[
            "third",
            "3rd",
            "three",
            "3",
            "۳",
            "teesra",
            "teesri",
            "tisra",
            "تیسرا",
            "تیسری",
            "تیسرے",
        ],
        &[
            "fourth",
            "4th",
            "four",
            "4",
            "۴",
            "chautha",
            "chauthi",
            "چوتھا",
            "چوتھی",
        ],
        &[
            "fifth",
            "5th",
            "five",
            "5",
            "۵",
            "paanchwan",
            "panchwan",
            "پانچواں",
            "پانچویں",
        ],
    ];
    let text = normalise(message);
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.is_empty() {
        return None;
    }
    if words.len() <= 4 {
        if words
            .iter()
            .any(|w| matches!(*w, "last" | "aakhri" | "akhri" | "آخری"))
        {
            return Some(candidates.len() - 1);
        }
        for (index, names) in ORDINALS.iter().enumerate() {
            if index < candidates.len() && words.iter().any(|w| names.contains(w)) {
                return Some(index);
            }
        }
    }
    let matching: Vec<usize> = candidates
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            let title = normalise(&c.title);
            text.contains(&title) || (text.chars().count() >= 3 && title.contains(&text))
        })
        .map(|(index, _)| index)
        .collect();
    match matching.as_slice() {
        [only] => Some(*only),
        _ => None,
    }
}
