//! Decides what a sentence asks for (create, update, complete, delete, list, or nothing about
//! tasks) and where the words naming the task are. Works on command words at the start
//! ("mark ... as done", "move ... to friday") or, for Urdu, at the end ("... mukammal kar do").

use std::ops::Range;

use tickler_domain::Priority;

use crate::scanner::Scanner;
use crate::token::Kind;

/// What to do with the sentence once its intent is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Plan {
    Unknown,
    Create,
    Complete {
        target: Range<usize>,
    },
    Delete {
        target: Range<usize>,
    },
    Update {
        target: Range<usize>,
        update: Update,
    },
    List,
}

/// Which fields an update sets and where their words are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Update {
    /// A new due date read from the tokens after `from`.
    Schedule { from: usize },
    /// A new priority.
    Priority(Priority),
    /// A new title taken from these tokens.
    Rename { title: Range<usize> },
    /// A new recurrence read from the tokens after `from`.
    Repeat { from: usize },
}

/// The plan plus the command words to claim for the intent.
#[derive(Debug, Clone)]
pub(crate) struct Classified {
    pub plan: Plan,
    pub command: Vec<(usize, usize)>,
}

impl Classified {
    fn new(plan: Plan, command: Vec<(usize, usize)>) -> Self {
        Self { plan, command }
    }

    /// A new task; its wrapper words (if any) are already claimed.
    pub fn create() -> Self {
        Self::new(Plan::Create, Vec::new())
    }
}

/// Words that make a question or request about the task list.
const TASK_WORDS: &[&str] = &[
    "task",
    "tasks",
    "todo",
    "todos",
    "to-dos",
    "due",
    "overdue",
    "plate",
    "agenda",
    "pending",
    "scheduled",
    "reminders",
    "items",
    "left",
    "kaam",
    "کام",
];

impl Scanner<'_> {
    /// Classifies the sentence starting at the first unclaimed token `p`.
    pub fn classify(&self, p: usize) -> Classified {
        let end = self.content_end();
        if end <= p {
            return Classified::new(Plan::Unknown, Vec::new());
        }
        if self.chit_chat(p, end) {
            return Classified::new(Plan::Unknown, Vec::new());
        }
        if let Some(found) = self.urdu_command(p, end) {
            return found;
        }
        if let Some(found) = self
            .complete_command(p, end)
            .or_else(|| self.delete_command(p, end))
        {
            // "complete the tax form by friday" is a new task, not a completion.
            let target = match &found.plan {
                Plan::Complete { target } | Plan::Delete { target } => target.clone(),
                _ => p..end,
            };
            if !self.has_schedule(target) {
                return found;
            }
            return Classified::new(Plan::Create, Vec::new());
        }
        if let Some(found) = self.update_command(p, end) {
            return found;
        }
        if self.is_list_request(p, end) {
            return Classified::new(Plan::List, Vec::new());
        }
        if self.phrase(p, "tell me").is_some() {
            return Classified::new(Plan::Unknown, Vec::new());
        }
        if self.is_question(p, end) {
            return Classified::new(Plan::Unknown, Vec::new());
        }
        Classified::create()
    }

    /// Returns whether the sentence is a question (which, not being about tasks, is not for
    /// the parser). Question words always ask; auxiliaries ask only before a subject or with a
    /// question mark, so "do laundry" and "have lunch with Sam" stay tasks.
    fn is_question(&self, p: usize, end: usize) -> bool {
        const QUESTION_WORDS: &[&str] = &[
            "what", "what's", "whats", "who", "who's", "why", "where", "where's", "when", "how",
            "how's", "which",
        ];
        const AUXILIARIES: &[&str] = &[
            "is", "are", "am", "was", "were", "do", "does", "did", "will", "would", "should",
            "could", "can", "shall", "have", "has", "isn't", "aren't", "don't", "doesn't",
        ];
        const SUBJECTS: &[&str] = &[
            "i", "you", "we", "it", "they", "he", "she", "there", "this", "that", "u",
        ];
        if self.is(p, QUESTION_WORDS) {
            return true;
        }
        let question_mark = self.tokens[end..]
            .iter()
            .any(|t| t.is_punct('?') || t.is_punct('؟'));
        self.is(p, AUXILIARIES) && (question_mark || self.is(p + 1, SUBJECTS))
    }

    /// Returns the index after the last token that is not punctuation.
    pub fn content_end(&self) -> usize {
        let mut end = self.tokens.len();
        while end > 0
            && (self.tokens[end - 1].kind == Kind::Punct || self.claimed[end - 1].is_some())
        {
            end -= 1;
        }
        end
    }

    /// Returns the start of the longest match of `pattern` that ends exactly at `end`, at or
    /// after `from`.
    pub fn suffix(&self, from: usize, end: usize, pattern: &str) -> Option<usize> {
        (from.max(end.saturating_sub(7))..end).find(|&s| self.phrase(s, pattern) == Some(end))
    }

    /// Returns whether the tokens in `range` hold a date, time or recurrence.
    fn has_schedule(&self, range: Range<usize>) -> bool {
        let mut trial = self.clone();
        for slot in trial.claimed.iter_mut().skip(range.end) {
            slot.get_or_insert(crate::parsed::Field::Target);
        }
        trial.claim(0, range.start, crate::parsed::Field::Intent);
        trial.extract(range.start).has_schedule()
    }

    pub fn chit_chat(&self, p: usize, end: usize) -> bool {
        const PHRASES: &[&str] = &[
            "hi|hello|hey|hiya|yo|howdy|greetings there|everyone?",
            "good morning|afternoon|evening|night|day",
            "thanks|thx|ty|cheers a|so? lot|much?",
            "thank you so|very? much?",
            "bye|goodbye|cya",
            "see you later?",
            "ok|okay|cool|great|nice|awesome|lol|yes|no|sure",
            "how are you doing?",
            "how's it going",
            "who|what are you",
            "what can you do",
            "what's|whats up",
            "what is up",
            "what time is it",
            "what's|whats|what the weather like? today|tomorrow?",
            "what is the weather like? today|tomorrow?",
            "tell me a joke|story",
            "help me?",
            "salam|salaam|assalam|assalamualaikum|aoa",
            "assalam|asalam o|u alaikum|alaykum",
            "shukriya|shukria|meherbani",
            "kya haal hai",
            "aap kaise|kesay ho|hain",
            "السلام علیکم",
            "شکریہ",
            "کیا حال ہے",
        ];
        PHRASES
            .iter()
            .any(|pattern| self.phrase(p, pattern) == Some(end))
    }

    /// "... mukammal kar do", "... delete kar do", "... hata do", "... ke kaam dikhao",
    /// "... kya karna hai".
    fn urdu_command(&self, p: usize, end: usize) -> Option<Classified> {
        const COMPLETE: &[&str] = &[
            "mukammal|mukamal|complete|done|khatam kar|kr do|dein|den|diya|dia|karo|lo",
            "mukammal|mukamal|complete|done|khatam kardo|kardia|kardiya|karlo",
            "mukammal|mukamal|complete|done? ho|hogaya|hogya gaya|gya|gayi|gai?",
            "مکمل کر دو|دیں|دیا|لو",
            "مکمل ہو گیا|گئی",
            "مکمل کرو",
        ];
        const DELETE: &[&str] = &[
            "delete|dilit|remove|hazf|cancel kar|kr do|dein|den|diya|karo|dena",
            "delete|dilit|remove|cancel kardo",
            "hata|hta|mita|nikal do|dein|den|dena|diya",
            "hatao|hatado|mitao|mitado|nikalo",
            "ڈیلیٹ|حذف کر دو|دیں",
            "ہٹا|مٹا|نکال دو|دیں",
            "ہٹاؤ|مٹاؤ",
        ];
        const LIST: &[&str] = &[
            "dikhao|dikhaao|dikhayen|dikhayein|batao|btao",
            "dikha|bata do|dein|den",
            "kya kya? karna|krna|karne hai|he|hain",
            "دکھاؤ|دکھائیں|بتاؤ",
            "دکھا|بتا دو|دیں",
            "کیا کیا? کرنا ہے",
        ];
        for pattern in COMPLETE {
            if let Some(start) = self.suffix(p + 1, end, pattern) {
                let target = p..self.trim_postposition(p, start);
                return Some(Classified::new(
                    Plan::Complete { target },
                    vec![(start, end)],
                ));
            }
        }
        for pattern in DELETE {
            if let Some(start) = self.suffix(p + 1, end, pattern) {
                let target = p..self.trim_postposition(p, start);
                return Some(Classified::new(Plan::Delete { target }, vec![(start, end)]));
            }
        }
        LIST.iter()
            .find_map(|pattern| self.suffix(p, end, pattern))
            .map(|start| Classified::new(Plan::List, vec![(start, end)]))
    }

    /// Drops a trailing "ko" / "کو" from a target that ends at `end`.
    fn trim_postposition(&self, p: usize, end: usize) -> usize {
        if end > p + 1 && self.is(end - 1, &["ko", "کو"]) {
            end - 1
        } else {
            end
        }
    }

    /// mark X as done, complete X, check off X, check X off, I finished X, X is done.
    fn complete_command(&self, p: usize, end: usize) -> Option<Classified> {
        let complete = |target: Range<usize>, command: Vec<(usize, usize)>| {
            (target.start < target.end).then(|| Classified::new(Plan::Complete { target }, command))
        };
        if let Some(v) = self.phrase(p, "mark|set") {
            let done = "as|to? done|complete|completed|finished|checked|ticked";
            if let Some(s) = self
                .suffix(v + 1, end, done)
                .filter(|&s| !self.is(s - 1, &["not"]))
            {
                return complete(v..s, vec![(p, v), (s, end)]);
            }
        }
        if let Some(v) = self
            .phrase(p, "check|tick|cross off")
            .or_else(|| self.phrase(p, "complete|finished|completed"))
            .or_else(|| self.phrase(p, "i|we have|'ve? just? finished|completed|did|done"))
            .or_else(|| self.phrase(p, "i've|we've|ive just? finished|completed|done|did"))
            .or_else(|| self.phrase(p, "i'm|im|i|we are|am? done|finished with"))
            .or_else(|| self.phrase(p, "done|finished with"))
        {
            return complete(v..end, vec![(p, v)]);
        }
        if let Some(v) = self.phrase(p, "check|tick|cross")
            && end > v + 1
            && self.is(end - 1, &["off"])
        {
            return complete(v..end - 1, vec![(p, v), (end - 1, end)]);
        }
        let done = "is|are now? done|complete|completed|finished";
        let s = self.suffix(p + 1, end, done)?;
        complete(p..s, vec![(s, end)])
    }

    /// delete X, remove X (from my list), get rid of X.
    fn delete_command(&self, p: usize, end: usize) -> Option<Classified> {
        let v = self
            .phrase(p, "delete|remove|erase|trash|discard")
            .or_else(|| self.phrase(p, "get rid of"))?;
        (v < end).then(|| Classified::new(Plan::Delete { target: v..end }, vec![(p, v)]))
    }

    /// Prepositions that start a list request's noun ("show me the tasks") aside, true when
    /// the sentence asks to see tasks.
    fn is_list_request(&self, p: usize, end: usize) -> bool {
        let mentions_tasks = (p..end).any(|i| {
            self.is(i, TASK_WORDS)
                || self.phrase(i, "to do").is_some()
                || self.phrase(i, "need|have to do").is_some()
        });
        let verb = self
            .phrase(
                p,
                "show|list|display|view|see|fetch|find|search|lookup|look|get|give",
            )
            .is_some();
        let question = self
            .phrase(p, "what|what's|whats|which|any|anything|do|are|is|how")
            .is_some();
        if (verb || question) && mentions_tasks {
            return true;
        }
        if self.phrase(p, "search for?").is_some_and(|v| v < end) {
            return true;
        }
        if question && self.filter_covers(p + 1, end) && self.stated_condition(p + 1, end) {
            return true;
        }
        if verb && (self.is(p, &["show", "list", "display"]) || self.is(p + 1, &["tasks"])) {
            return self.filter_covers(p + 1, end);
        }
        if self.phrase(p, "what do|should i have|do").is_some() {
            return self.filter_covers(p + 3, end) || self.filter_covers(p + 4, end);
        }
        (p..end).any(|i| self.is(i, &["tasks", "todos"])) && self.filter_covers(p, end)
    }

    /// Returns whether every content word in `from..end` is a filter term or filler, so that
    /// "urgent tasks due today" is a list request.
    fn filter_covers(&self, from: usize, end: usize) -> bool {
        if from >= end {
            return true;
        }
        let mut trial = self.clone();
        let _ = trial.list_filter(from);
        (from..end).all(|i| {
            trial.claimed[i].is_some()
                || trial.tokens[i].kind == Kind::Punct
                || trial.word(i).is_some_and(crate::filter::is_filler)
        })
    }

    /// Returns whether `from..end` states at least one list condition.
    fn stated_condition(&self, from: usize, end: usize) -> bool {
        let mut trial = self.clone();
        !trial.list_filter(from).is_empty() && from < end
    }
}
