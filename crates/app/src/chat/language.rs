//! The three languages the assistant answers in, how a message's language is recognised, and
//! every sentence the assistant says, in each of them.

use chrono::{DateTime, Utc};
use tickler_domain::TimeZone;

/// The language (and script) of a message; replies use the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    /// English.
    English,
    /// Urdu in Urdu script.
    Urdu,
    /// Urdu written in Latin letters.
    RomanUrdu,
}

/// Roman Urdu words that are not English words: one is enough.
const ROMAN_URDU_WORDS: &[&str] = &[
    "aaj", "kal", "parson", "kya", "hai", "hain", "karna", "karni", "karo", "dikhao", "mukammal",
    "baje", "kaam", "nahi", "nahin", "haan", "shukriya", "hata", "hatao", "doosra", "dusra",
    "doosri", "dusri", "pehla", "pehli", "teesra", "teesri", "subah", "shaam", "dopahar", "agle",
    "rozana", "mahine", "hafte", "tareekh", "yaad", "dilana", "wala", "wali", "mujhe", "mera",
    "meri", "mere", "saare", "sab", "bata", "batao", "theek", "acha", "accha",
];
/// Short Roman Urdu words that are also English (or names): two are needed.
const ROMAN_URDU_PARTICLES: &[&str] = &["ko", "ke", "ki", "ka", "kar", "do", "har", "din", "aur"];

/// Recognises the language of a message: Urdu script if it has Arabic-script letters, Roman
/// Urdu if it has a word only Roman Urdu uses (or two of its particles), English otherwise.
pub fn detect(text: &str) -> Language {
    if text
        .chars()
        .any(|c| matches!(c, '\u{0600}'..='\u{06FF}' | '\u{0750}'..='\u{077F}' | '\u{FB50}'..='\u{FDFF}' | '\u{FE70}'..='\u{FEFF}'))
    {
        return Language::Urdu;
    }
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let strong = words.iter().any(|w| ROMAN_URDU_WORDS.contains(w));
    let particles = words
        .iter()
        .filter(|w| ROMAN_URDU_PARTICLES.contains(w))
        .count();
    if strong || particles >= 2 {
        Language::RomanUrdu
    } else {
        Language::English
    }
}

/// Writes a due date for a reply, on the wall clock of `zone`.
pub fn when(due_at: Option<DateTime<Utc>>, all_day: bool, zone: TimeZone) -> Option<String> {
    let local = zone.local_datetime(due_at?);
    Some(if all_day {
        local.format("%a %-d %b %Y").to_string()
    } else {
        local.format("%a %-d %b %Y %H:%M").to_string()
    })
}

/// Each part after `separator`: ", tomorrow 17:00, #home"; nothing for no parts.
fn listed(parts: &[String], separator: &str) -> String {
    parts.iter().map(|p| format!("{separator}{p}")).collect()
}

/// Everything the assistant says, in one language.
#[derive(Debug, Clone, Copy)]
pub struct Replies(pub Language);

impl Replies {
    /// A task was created; `parts` describe it as saved ("tomorrow 17:00", "every day").
    pub fn created(&self, title: &str, parts: &[String]) -> String {
        match self.0 {
            Language::English => format!("Added “{title}”{}", listed(parts, ", ")),
            Language::Urdu => format!("“{title}” شامل کر دیا گیا{}", listed(parts, "، ")),
            Language::RomanUrdu => format!("“{title}” add kar diya{}", listed(parts, ", ")),
        }
    }

    /// A task was completed.
    pub fn completed(&self, title: &str) -> String {
        match self.0 {
            Language::English => format!("Marked “{title}” as done."),
            Language::Urdu => format!("“{title}” مکمل کر دیا گیا۔"),
            Language::RomanUrdu => format!("“{title}” mukammal kar diya."),
        }
    }

    /// A task was deleted.
    pub fn deleted(&self, title: &str) -> String {
        match self.0 {
            Language::English => format!("Deleted “{title}”."),
            Language::Urdu => format!("“{title}” حذف کر دیا گیا۔"),
            Language::RomanUrdu => format!("“{title}” delete kar diya."),
        }
    }

    /// A task was changed; `parts` describe it as saved.
    pub fn updated(&self, title: &str, parts: &[String]) -> String {
        match self.0 {
            Language::English => format!("Updated “{title}”{}", listed(parts, ", ")),
            Language::Urdu => format!("“{title}” تبدیل کر دیا گیا{}", listed(parts, "، ")),
            Language::RomanUrdu => format!("“{title}” badal diya{}", listed(parts, ", ")),
        }
    }

    /// Several tasks were completed or deleted.
    pub fn done_many(&self, count: usize, deleted: bool) -> String {
        match (self.0, deleted) {
            (Language::English, true) => format!("Deleted {count} tasks."),
            (Language::English, false) => format!("Marked {count} tasks as done."),
            (Language::Urdu, true) => format!("{count} کام حذف کر دیے گئے۔"),
            (Language::Urdu, false) => format!("{count} کام مکمل کر دیے گئے۔"),
            (Language::RomanUrdu, true) => format!("{count} kaam delete kar diye."),
            (Language::RomanUrdu, false) => format!("{count} kaam mukammal kar diye."),
        }
    }

    /// No task matches what the person named.
    pub fn not_found(&self, target: &str) -> String {
        match self.0 {
            Language::English => format!("I couldn't find a task matching “{target}”."),
            Language::Urdu => format!("“{target}” سے ملتا کوئی کام نہیں ملا۔"),
            Language::RomanUrdu => format!("“{target}” se milta koi kaam nahi mila."),
        }
    }

    /// Several tasks match: which one?
    pub fn which(&self, target: &str, count: usize) -> String {
        match self.0 {
            Language::English => {
                format!("{count} tasks match “{target}”. Which one do you mean?")
            }
            Language::Urdu => format!("“{target}” سے ملتے {count} کام ہیں۔ کون سا؟"),
            Language::RomanUrdu => format!("“{target}” se milte {count} kaam hain. Kaun sa?"),
        }
    }

    /// Asks before deleting several tasks.
    pub fn confirm_delete(&self, count: usize) -> String {
        match self.0 {
            Language::English => format!("Delete these {count} tasks? (yes / no)"),
            Language::Urdu => format!("کیا یہ {count} کام حذف کر دوں؟ (ہاں / نہیں)"),
            Language::RomanUrdu => format!("Kya ye {count} kaam delete kar doon? (haan / nahi)"),
        }
    }

    /// The answers a confirmation understands.
    pub fn yes_no(&self) -> Vec<String> {
        let (yes, no) = match self.0 {
            Language::English => ("yes", "no"),
            Language::Urdu => ("ہاں", "نہیں"),
            Language::RomanUrdu => ("haan", "nahi"),
        };
        vec![yes.to_owned(), no.to_owned()]
    }

    /// The pending question was dropped.
    pub fn cancelled(&self) -> String {
        match self.0 {
            Language::English => "OK, I left everything as it was.".to_owned(),
            Language::Urdu => "ٹھیک ہے، کچھ نہیں بدلا۔".to_owned(),
            Language::RomanUrdu => "Theek hai, kuch nahi badla.".to_owned(),
        }
    }

    /// Introduces a list of tasks.
    pub fn list_header(&self, count: usize) -> String {
        match (self.0, count) {
            (Language::English, 0) => "No tasks match.".to_owned(),
            (Language::English, 1) => "You have 1 task:".to_owned(),
            (Language::English, n) => format!("You have {n} tasks:"),
            (Language::Urdu, 0) => "کوئی کام نہیں ملا۔".to_owned(),
            (Language::Urdu, n) => format!("آپ کے {n} کام:"),
            (Language::RomanUrdu, 0) => "Koi kaam nahi mila.".to_owned(),
            (Language::RomanUrdu, n) => format!("Aap ke {n} kaam:"),
        }
    }

    /// What the assistant can do (for greetings and sentences it does not understand).
    pub fn help(&self, understood: bool) -> String {
        match (self.0, understood) {
            (Language::English, true) => "Hi! I can add, change, complete, delete and list your tasks. Try “call mom tomorrow at 5pm” or “what's due tomorrow?”.".to_owned(),
            (Language::English, false) => "Sorry, I didn't understand that. Try “call mom tomorrow at 5pm”, “mark the dentist task done” or “what's due tomorrow?”.".to_owned(),
            (Language::Urdu, true) => "السلام علیکم! میں آپ کے کام شامل، تبدیل، مکمل، حذف اور دکھا سکتا ہوں۔ مثلاً «کل شام 5 بجے امی کو فون کرنا» یا «آج کے کام دکھاؤ»۔".to_owned(),
            (Language::Urdu, false) => "معاف کیجیے، میں سمجھ نہیں سکا۔ مثلاً «کل شام 5 بجے امی کو فون کرنا» یا «آج کے کام دکھاؤ» لکھیے۔".to_owned(),
            (Language::RomanUrdu, true) => "Assalam o alaikum! Main aap ke kaam add, change, mukammal, delete aur dikha sakta hoon. Maslan “kal shaam 5 baje ammi ko call karna” ya “aaj ke kaam dikhao”.".to_owned(),
            (Language::RomanUrdu, false) => "Maaf kijiye, main samajh nahi saka. Maslan “kal shaam 5 baje ammi ko call karna” ya “aaj ke kaam dikhao” likhiye.".to_owned(),
        }
    }

    /// The language model failed or asked for something invalid: nothing was changed.
    pub fn model_failed(&self) -> String {
        match self.0 {
            Language::English => "Sorry, I couldn't work that out, and nothing was changed. Try “call mom tomorrow at 5pm”, “mark the dentist task done” or “what's due tomorrow?”.".to_owned(),
            Language::Urdu => "معاف کیجیے، یہ سمجھ نہیں آیا اور کچھ نہیں بدلا۔ مثلاً «کل شام 5 بجے امی کو فون کرنا» یا «آج کے کام دکھاؤ» لکھیے۔".to_owned(),
            Language::RomanUrdu => "Maaf kijiye, ye samajh nahi aaya aur kuch nahi badla. Maslan “kal shaam 5 baje ammi ko call karna” ya “aaj ke kaam dikhao” likhiye.".to_owned(),
        }
    }

    /// The name of the language, for the model's instructions.
    pub fn language_name(&self) -> &'static str {
        match self.0 {
            Language::English => "English",
            Language::Urdu => "Urdu in Urdu script",
            Language::RomanUrdu => "Roman Urdu (Urdu in Latin letters)",
        }
    }

    /// A tool refused the request; `message` is the API's explanation.
    pub fn failed(&self, message: &str) -> String {
        match self.0 {
            Language::English => format!("That didn't work: {message}."),
            Language::Urdu => format!("یہ نہیں ہو سکا: {message}"),
            Language::RomanUrdu => format!("Ye nahi ho saka: {message}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_language_follows_the_script_and_the_words() {
        for (text, language) in [
            ("what's due tomorrow?", Language::English),
            ("do laundry", Language::English),
            ("the second one", Language::English),
            ("kal ke kaam dikhao", Language::RomanUrdu),
            ("dentist wala kaam mukammal kar do", Language::RomanUrdu),
            ("ammi ko kar do", Language::RomanUrdu),
            ("کل کے کام دکھاؤ", Language::Urdu),
            ("call ammi کل", Language::Urdu),
        ] {
            assert_eq!(detect(text), language, "{text}");
        }
    }
}
