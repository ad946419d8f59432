//! Conversational wrappers (README 2.10): the request around a task ("please add ...",
//! "can you remind me at 6pm to ...", "I need to ...", "... to my list, thanks", Urdu
//! "... add kar do", "... karna hai") is claimed for the intent, so it never reaches the
//! title or the target.
//!
//! Leading wrappers are whole phrases at the start only, trailing ones are at the end only;
//! a word that merely starts like a wrapper ("addition worksheet"), a wrapper word inside the
//! task ("ask Sam to add the figures") and a need or memory that is not a request ("need a
//! new phone case", "remember Dad's birthday card") keep every word.

use crate::parsed::Field;
use crate::scanner::Scanner;
use crate::token::Kind;

/// What the words around the task asked for.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Wrapping {
    /// The first token after the leading wrappers.
    pub start: usize,
    /// The request is for a new task whatever its words look like ("add remove the
    /// stain", "remind me to delete the old photos").
    pub create: bool,
    /// "I need to", "don't forget to": a new task unless the rest asks for a list.
    pub obligation: bool,
    /// "remind me ...", "yaad dilana": a timed due date gets a reminder at the due time.
    pub remind: bool,
}

/// What a leading wrapper phrase asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lead {
    /// "please", "can you": nothing about the intent.
    Courtesy,
    /// "add", "new task:", "note to self:".
    Create,
    /// "I need to", "remember to", "make sure I".
    Obligation,
    /// "remind me (to)", "set a reminder (to)".
    Remind,
}

/// Polite openings; they leave the intent to the rest of the sentence.
const COURTESY: &[&str] = &[
    "please|pls|plz|kindly|hey|hi|hello|ok|okay|um|so|yo",
    "can|could|would|will you please|kindly?",
    "i want|need|would you to",
    "i'd|id like you to",
];

/// Openings that ask for a new task.
const CREATE: &[&str] = &[
    "add|create a|an? new? task|todo|to-do|item|entry to|for|called|named|:|-?",
    "add|create a|an? new? to do to|for|called|named|:|-?",
    "add to|on my|the|our to? do? list|tasks",
    "note to self",
];

/// Openings that need a colon or a dash after them ("task: call mom").
const CREATE_WITH_COLON: &[&str] = &["new? task|todo|todos|reminder|item", "new? to do"];

/// Openings that state an obligation or a memory aid.
const OBLIGATION: &[&str] = &[
    "i|we must|should|gotta probably|really|definitely|also|still|just|first",
    "i|we really|also|still|just|definitely|absolutely|then|probably|maybe|actually|first? need|have|want|got|ought to",
    "i|we really|also|still|just|definitely|then|probably|maybe|actually|first? must|should|gotta|needa|wanna|hafta",
    "i|we had|'d better",
    "i'd|id|we'd better",
    "i|we have|had got to",
    "i've|ive|we've got|gotta to?",
    "i'd|id|we'd like to",
    "i'll|ill|we'll|i|we will need|have to",
    "don't|dont|never forget to",
    "do not forget to",
    "remember to",
    "make sure that? i|we|to",
    "be sure to",
];

/// Openings that ask to be reminded.
const REMIND: &[&str] = &[
    "remind me|us",
    "add|create|set|make|schedule a|an? new? reminder",
    "new reminder",
    "reminder",
];

/// Closings claimed at the end of the sentence.
const TRAILING: &[&str] = &[
    "to|on|onto|in|into my|the|our shopping|grocery|todo|task|reminder? list|lists",
    "to|on|onto|in|into my|the|our to do list|lists?",
    "to|on|onto|in|into my|the|our tasks|todos|reminders",
    "to|in|into my|the|our calendar|agenda|schedule|planner",
    "as a|an task|todo|to-do|reminder",
    "for me",
];

/// Roman Urdu and Urdu-script closings that ask to note the task: "add kar do", "list mein
/// add kar do", "likh lo", "note kar lo".
const URDU_TRAILING: &[&str] = &[
    "list|lst|لسٹ|فہرست? mein|me|main|میں? add|ایڈ|shamil|شامل|daal|dal|ڈال kar|kr|کر do|dein|den|dijiye|dijie|dena|lo|lein|دو|دیں|دیجیے|دیجئے|دینا|لو|لیں",
    "list|lst|لسٹ|فہرست? mein|me|main|میں? add|ایڈ|shamil|شامل kardo|kardein|karo|krdo|karden|کرو|کردو|کریں",
    "likh|لکھ lo|lein|len|lijiye|lijie|لو|لیں|لیجیے|لیجئے",
    "likhlo|likhlein",
    "note|نوٹ kar|kr|کر lo|lein|len|lijiye|لو|لیں|لیجیے|لیجئے",
    "note|نوٹ karlo|krlo|karo|کرلو|کرو",
    "yaad|یاد rakhna|rakhein|رکھنا|رکھیں",
    "mat|na bhoolna|bhulna|bhoolen|bhoolein|بھولنا",
    "bhoolna|bhulna|بھولنا mat|nahi|مت|نہیں",
    "مت بھولیں|بھولنا",
];

/// "yaad dilana", "yaad dila dena", "یاد دلانا": "remind me".
const URDU_REMIND: &str = "yaad|یاد dilana|dilaana|dilao|dila|karana|karwana|دلانا|دلاؤ|دلا|کرانا|کروانا dena|do|dein|دینا|دو|دیں? ke|ki|kay|keh|کہ|کے|کی?";

/// "mujhe", "hamein": "(to) me", dropped with "remind me" and "I have to".
const URDU_ME: &[&str] = &[
    "mujhe", "mujhay", "mujhko", "hamein", "humein", "hume", "hamen", "مجھے", "ہمیں",
];

/// "hai", "hain" after an infinitive: "I have to".
const URDU_IS: &[&str] = &["hai", "hain", "he", "hy", "hei", "ہے", "ہیں"];

/// Words at the start of a noun phrase: after "add" they make it a verb of the task ("add the
/// figures to the report") when a "to" follows.
const DETERMINERS: &[&str] = &[
    "the", "a", "an", "some", "more", "my", "your", "his", "her", "our", "their", "this", "that",
    "these", "those", "all", "extra", "another",
];

/// English words that end like a Roman Urdu infinitive ("phone hai" keeps its "hai").
const NOT_INFINITIVES: &[&str] = &[
    "phone",
    "done",
    "gone",
    "one",
    "none",
    "line",
    "fine",
    "mine",
    "nine",
    "wine",
    "dine",
    "zone",
    "tone",
    "bone",
    "lane",
    "plane",
    "machine",
    "online",
    "someone",
    "anyone",
    "everyone",
    "alone",
    "june",
    "tune",
    "scene",
    "china",
    "arena",
    "antenna",
    "corona",
    "sauna",
    "medicine",
    "routine",
    "vaccine",
    "engine",
    "magazine",
    "deadline",
    "airline",
    "pipeline",
    "timeline",
    "iphone",
    "headphone",
    "microphone",
    "drone",
    "stone",
    "crane",
    "cane",
    "pane",
    "lane",
    "sane",
    "tina",
    "dana",
    "anna",
    "hina",
    "sana",
    "amna",
    "rana",
    "mini",
    "bikini",
    "zucchini",
    "martini",
    "tahini",
    "panini",
    "genie",
    "eugene",
    "irene",
    "serene",
    "marine",
    "cuisine",
    "ravine",
    "cousine",
];

impl Scanner<'_> {
    /// Claims the leading wrappers and the trailing ones at the very end of the sentence.
    pub fn wrappers(&mut self) -> Wrapping {
        let end = self.content_end();
        let mut wrapping = Wrapping::default();
        let mut i = 0;
        while self.claimed.get(i).is_some_and(Option::is_some) {
            i += 1;
        }
        while let Some((lead, next, to)) = self.leading_at(i, end) {
            let mut j = next;
            while [',', '!', ':', '-', '–'].iter().any(|&c| self.punct(j, c)) {
                j += 1;
            }
            if j >= end {
                break;
            }
            self.claim(i, j, Field::Intent);
            if let Some(to) = to {
                self.claim(to, to + 1, Field::Intent);
            }
            match lead {
                Lead::Courtesy => {}
                Lead::Create => wrapping.create = true,
                Lead::Obligation => wrapping.obligation = true,
                Lead::Remind => {
                    wrapping.create = true;
                    wrapping.remind = true;
                }
            }
            i = j;
        }
        wrapping.start = i;
        if self.trailing_wrappers(i + 1) {
            wrapping.create = true;
        }
        if self.urdu_remind(i) {
            wrapping.create = true;
            wrapping.remind = true;
        }
        wrapping
    }

    /// Returns the leading wrapper at `i`: what it asks, where it ends and, for "remind me
    /// <when> to X", the index of the "to" after the date.
    fn leading_at(&self, i: usize, end: usize) -> Option<(Lead, usize, Option<usize>)> {
        let first = |patterns: &[&str]| patterns.iter().find_map(|p| self.phrase(i, p));
        if let Some(j) = first(COURTESY) {
            return Some((Lead::Courtesy, j, None));
        }
        if let Some((next, to)) = first(REMIND).and_then(|j| self.remind_rest(j, end)) {
            return Some((Lead::Remind, next, to));
        }
        if let Some(j) = first(CREATE).filter(|&j| !self.is(j, &["list", "lists"])) {
            return Some((Lead::Create, j, None));
        }
        if let Some(j) =
            first(CREATE_WITH_COLON).filter(|&j| self.punct(j, ':') || self.punct(j, '-'))
        {
            return Some((Lead::Create, j + 1, None));
        }
        if let Some(j) = first(OBLIGATION) {
            return Some((Lead::Obligation, j, None));
        }
        // Urdu request words usually close the sentence but may open it ("note kar lo: ...").
        if let Some(j) = URDU_TRAILING.iter().find_map(|p| self.phrase(i, p)) {
            return Some((Lead::Create, j, None));
        }
        if let Some(j) = self.phrase(i, "add") {
            return self
                .add_is_a_wrapper(j, end)
                .then_some((Lead::Create, j, None));
        }
        None
    }

    /// After "remind me" at `j`: "to X", "that X", "about X", ": X", or "<when> to X" (the
    /// date stays for extraction; the "to" after it is returned to be claimed).
    fn remind_rest(&self, j: usize, end: usize) -> Option<(usize, Option<usize>)> {
        if self.is(j, &["to", "that", "about"]) {
            return Some((j + 1, None));
        }
        if self.punct(j, ':') {
            return Some((j + 1, None));
        }
        (j + 1..end)
            .filter(|&k| self.is(k, &["to"]))
            .find(|&k| self.is_schedule_only(j, k))
            .map(|k| (j, Some(k)))
    }

    /// Returns whether the tokens `from..to` are entirely a date, time or recurrence phrase.
    fn is_schedule_only(&self, from: usize, to: usize) -> bool {
        let mut trial = self.clone();
        trial.claim(0, from, Field::Intent);
        trial.claim(to, trial.tokens.len(), Field::Target);
        let slots = trial.extract(from);
        slots.has_schedule()
            && (from..to).all(|t| trial.claimed[t].is_some() || trial.tokens[t].kind == Kind::Punct)
    }

    /// "add" at the start is a request unless the task itself adds something: "add up the
    /// receipts", "add the figures to the report", "add 2 eggs to the batter".
    fn add_is_a_wrapper(&self, j: usize, end: usize) -> bool {
        if j >= end || self.is(j, &["up", "on", "onto", "in", "into", "to"]) {
            return false;
        }
        let noun_phrase = self.is(j, DETERMINERS) || self.number(j).is_some();
        let moves_it_somewhere = (j + 1..end).any(|k| {
            self.is(k, &["to", "into", "onto", "in"])
                && !TRAILING.iter().any(|p| self.phrase(k, p).is_some())
        });
        !(noun_phrase && moves_it_somewhere)
    }

    /// Claims trailing wrappers ("please", ", thanks", "to my list", "for me", Urdu "add kar
    /// do") at the end of the unclaimed words, as long as a word before `from` stays. Returns
    /// whether an Urdu request to note the task was among them.
    pub fn trailing_wrappers(&mut self, from: usize) -> bool {
        let mut noted = false;
        loop {
            let end = self.content_end();
            if end <= from {
                return noted;
            }
            // Most sentences end in no wrapper word: skip the pattern search for them.
            let last = self.word(end - 1).unwrap_or_default();
            let patterns = TRAILING.iter().chain(URDU_TRAILING);
            if !patterns.clone().any(|p| could_end(p, last))
                && !["please", "pls", "plz", "kindly"].contains(&last)
                && !THANKS_ENDINGS.contains(&last)
            {
                return noted;
            }
            let found = self
                .courtesy_suffix(from, end)
                .or_else(|| {
                    TRAILING
                        .iter()
                        .find_map(|pattern| self.suffix(from, end, pattern))
                })
                .or_else(|| {
                    let urdu = URDU_TRAILING
                        .iter()
                        .find_map(|pattern| self.suffix(from, end, pattern));
                    noted |= urdu.is_some();
                    urdu
                });
            let Some(mut start) = found else {
                return noted;
            };
            // The separator before the wrapper (", thanks") goes with it; a closing bracket or
            // quote ends the title ("feed the cat (twice), thanks").
            while start > from
                && self.tokens[start - 1].kind == Kind::Punct
                && !CLOSERS
                    .iter()
                    .any(|&closer| self.tokens[start - 1].is_punct(closer))
            {
                start -= 1;
            }
            self.claim(start, end, Field::Intent);
            // Punctuation after the wrapper ("thanks!") goes with it.
            let mut after = end;
            while self
                .tokens
                .get(after)
                .is_some_and(|t| t.kind == Kind::Punct)
                && self.claimed[after].is_none()
            {
                self.claim(after, after + 1, Field::Intent);
                after += 1;
            }
        }
    }

    /// "please" at the end (not "say please"), "thanks" / "thank you" after a comma.
    fn courtesy_suffix(&self, from: usize, end: usize) -> Option<usize> {
        if let Some(s) = self.suffix(from, end, "please|pls|plz|kindly")
            && !self.is(s.saturating_sub(1), &["say", "says", "saying", "said"])
        {
            return Some(s);
        }
        let thanks = [
            "thanks|thx|ty|cheers|ta",
            "thanks|thx a lot|bunch|million",
            "thanks|thank you|u so|very? much",
            "thank you|u",
            "many thanks",
            "shukriya|shukria|شکریہ",
        ];
        thanks.iter().find_map(|pattern| {
            self.suffix(from, end, pattern).filter(|&s| {
                s > 0 && self.tokens[s - 1].kind == Kind::Punct && !self.tokens[s - 1].is_punct('#')
            })
        })
    }

    /// Urdu "remind me": "mujhe yaad dilana (ke) X", "X yaad dila dena". Claims it and
    /// returns whether it was there. "10 minute pehle yaad dilana" is a reminder clause of its
    /// own and is left alone.
    fn urdu_remind(&mut self, start: usize) -> bool {
        if !self
            .tokens
            .iter()
            .any(|t| matches!(t.norm.as_str(), "yaad" | "یاد"))
        {
            return false;
        }
        let end = self.content_end();
        let Some((y, after)) = (start..end).find_map(|y| {
            let after = self.phrase(y, URDU_REMIND)?;
            let clause = y > 0 && self.phrase_any(y - 1, "pehle|pahle|پہلے").is_some();
            (!clause && (after < end || y > start)).then_some((y, after))
        }) else {
            return false;
        };
        self.claim(y, after, Field::Intent);
        if y > 0 && self.is(y - 1, URDU_ME) {
            self.claim(y - 1, y, Field::Intent);
        }
        if self.is(start, URDU_ME) {
            self.claim(start, start + 1, Field::Intent);
        }
        true
    }

    /// Urdu "I have to": drops "hai" / "hain" after an infinitive at the end of the title
    /// ("doodh lena hai" → "doodh lena"), and a leading "mujhe" with it.
    pub fn urdu_have_to(&mut self, start: usize) {
        if !self.urdu {
            return;
        }
        let end = self.content_end();
        if end < start + 2 || !self.is(end - 1, URDU_IS) {
            return;
        }
        if !self.word(end - 2).is_some_and(is_infinitive) {
            return;
        }
        self.claim(end - 1, end, Field::Intent);
        let first = (start..end).find(|&i| self.free(i).is_some());
        if let Some(first) = first
            && first + 2 < end
            && self.is(first, URDU_ME)
        {
            self.claim(first, first + 1, Field::Intent);
        }
    }
}

/// Punctuation that closes something the title opened: never claimed with a trailing wrapper.
const CLOSERS: [char; 7] = [')', ']', '}', '"', '\'', '”', '’'];

/// The last words of the thanks phrases of [`Scanner::courtesy_suffix`].
const THANKS_ENDINGS: &[&str] = &[
    "thanks",
    "thx",
    "ty",
    "cheers",
    "ta",
    "lot",
    "bunch",
    "million",
    "much",
    "you",
    "u",
    "shukriya",
    "shukria",
    "شکریہ",
];

/// Returns whether a phrase pattern can end with `word` (its last element, or an earlier one
/// when only optional elements follow).
fn could_end(pattern: &str, word: &str) -> bool {
    for element in pattern.split_whitespace().rev() {
        let optional = element.ends_with('?');
        if element.trim_end_matches('?').split('|').any(|a| a == word) {
            return true;
        }
        if !optional {
            return false;
        }
    }
    false
}

/// Returns whether a word looks like an Urdu infinitive: Roman `-na`, `-ni`, `-ne` ("lena",
/// "karni") or Urdu-script نا / نی / نے.
fn is_infinitive(word: &str) -> bool {
    let chars = word.chars().count();
    let roman = word.is_ascii()
        && chars >= 4
        && (word.ends_with("na") || word.ends_with("ni") || word.ends_with("ne"))
        && !NOT_INFINITIVES.contains(&word);
    let script =
        chars >= 3 && (word.ends_with("نا") || word.ends_with("نی") || word.ends_with("نے"));
    roman || script
}
