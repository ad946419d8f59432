//! The words the grammar knows: month and day names, number words, time units and the Urdu
//! vocabulary, in both scripts. Every lookup takes a normalised token text (see `token`).

use chrono::Weekday;

/// Returns the month (1-12) a name or 3-letter abbreviation stands for.
pub(crate) fn month(word: &str) -> Option<u32> {
    let month = match word {
        "january" | "jan" | "جنوری" => 1,
        "february" | "feb" | "feburary" | "فروری" => 2,
        "march" | "mar" | "مارچ" => 3,
        "april" | "apr" | "اپریل" => 4,
        "may" | "مئی" | "مءی" => 5,
        "june" | "jun" | "جون" => 6,
        "july" | "jul" | "جولائی" | "جولاءی" => 7,
        "august" | "aug" | "agast" | "اگست" => 8,
        "september" | "sep" | "sept" | "ستمبر" => 9,
        "october" | "oct" | "اکتوبر" => 10,
        "november" | "nov" | "نومبر" => 11,
        "december" | "dec" | "دسمبر" => 12,
        _ => return None,
    };
    Some(month)
}

/// A day name and how safely it can be read as one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DayName {
    pub weekday: Weekday,
    /// Also an ordinary word ("sat", "sun") or a Roman Urdu word that is an English word
    /// too ("peer", "kal"): only read as a day after an introducing word or in an Urdu sentence.
    pub ambiguous: bool,
    /// Written in the plural ("mondays"), which means every such day.
    pub plural: bool,
    /// A Roman Urdu name, read only in an Urdu sentence.
    pub roman_urdu: bool,
}

/// Returns the weekday a name stands for.
pub(crate) fn day_name(word: &str) -> Option<DayName> {
    use Weekday::*;
    let (weekday, ambiguous, plural, roman_urdu) = match word {
        "monday" | "mon" | "پیر" => (Mon, false, false, false),
        "tuesday" | "tue" | "tues" | "منگل" => (Tue, false, false, false),
        "wednesday" | "wed" | "weds" | "بدھ" => (Wed, false, false, false),
        "thursday" | "thu" | "thur" | "thurs" | "جمعرات" => (Thu, false, false, false),
        "friday" | "fri" | "جمعہ" => (Fri, false, false, false),
        "saturday" => (Sat, false, false, false),
        "sat" => (Sat, true, false, false),
        "sunday" | "اتوار" => (Sun, false, false, false),
        "sun" => (Sun, true, false, false),
        "mondays" => (Mon, false, true, false),
        "tuesdays" => (Tue, false, true, false),
        "wednesdays" => (Wed, false, true, false),
        "thursdays" => (Thu, false, true, false),
        "fridays" => (Fri, false, true, false),
        "saturdays" => (Sat, false, true, false),
        "sundays" => (Sun, false, true, false),
        "peer" | "pir" => (Mon, true, false, true),
        "mangal" => (Tue, false, false, true),
        "budh" | "budhwar" => (Wed, false, false, true),
        "jumeraat" | "jumerat" | "jumairat" => (Thu, false, false, true),
        "juma" | "jumma" | "jummah" | "jumah" => (Fri, false, false, true),
        "itwaar" | "itwar" | "itvar" => (Sun, false, false, true),
        _ => return None,
    };
    Some(DayName {
        weekday,
        ambiguous,
        plural,
        roman_urdu,
    })
}

/// Returns the value of a cardinal number word ("three", "twenty").
pub(crate) fn number_word(word: &str) -> Option<u32> {
    let value = match word {
        "one" => 1,
        "two" => 2,
        "three" => 3,
        "four" => 4,
        "five" => 5,
        "six" => 6,
        "seven" => 7,
        "eight" => 8,
        "nine" => 9,
        "ten" => 10,
        "eleven" => 11,
        "twelve" => 12,
        "thirteen" => 13,
        "fourteen" => 14,
        "fifteen" => 15,
        "sixteen" => 16,
        "seventeen" => 17,
        "eighteen" => 18,
        "nineteen" => 19,
        "twenty" => 20,
        "thirty" => 30,
        "forty" => 40,
        "forty-five" => 45,
        "fifty" => 50,
        "sixty" => 60,
        "ninety" => 90,
        _ => return None,
    };
    Some(value)
}

/// Returns the value of an ordinal word ("third", Roman Urdu "pehli", Urdu "پہلی").
pub(crate) fn ordinal_word(word: &str) -> Option<u32> {
    let value = match word {
        "first" | "pehli" | "pehla" | "pehle" | "پہلی" | "پہلا" => 1,
        "second" | "doosri" | "dusri" | "doosra" | "دوسری" => 2,
        "third" | "teesri" | "tisri" | "تیسری" => 3,
        "fourth" | "chauthi" | "chothi" | "چوتھی" => 4,
        "fifth" | "paanchvi" | "panchvi" => 5,
        "sixth" => 6,
        "seventh" => 7,
        "eighth" => 8,
        "ninth" => 9,
        "tenth" => 10,
        "eleventh" => 11,
        "twelfth" => 12,
        "thirteenth" => 13,
        "fourteenth" => 14,
        "fifteenth" => 15,
        "sixteenth" => 16,
        "seventeenth" => 17,
        "eighteenth" => 18,
        "nineteenth" => 19,
        "twentieth" => 20,
        "thirtieth" => 30,
        _ => return None,
    };
    Some(value)
}

/// Returns whether a word is an English ordinal suffix written after digits (`3rd`).
pub(crate) fn is_ordinal_suffix(word: &str) -> bool {
    matches!(word, "st" | "nd" | "rd" | "th")
}

/// A span of time named by a unit word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unit {
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
}

/// Returns the unit a word names and how many of it the word means ("fortnight" is two
/// weeks, "quarter" three months).
pub(crate) fn unit(word: &str) -> Option<(Unit, u32)> {
    let unit = match word {
        "minute" | "minutes" | "min" | "mins" | "minat" | "منٹ" => (Unit::Minute, 1),
        "hour" | "hours" | "hr" | "hrs" | "ghanta" | "ghante" | "گھنٹہ" | "گھنٹے" => {
            (Unit::Hour, 1)
        }
        "day" | "days" | "din" | "دن" => (Unit::Day, 1),
        "week" | "weeks" | "wk" | "wks" | "hafta" | "hafte" | "haftay" | "ہفتہ" | "ہفتے" => {
            (Unit::Week, 1)
        }
        "fortnight" | "fortnights" => (Unit::Week, 2),
        "month" | "months" | "mahina" | "mahine" | "mahinay" | "مہینہ" | "مہینے" => {
            (Unit::Month, 1)
        }
        "quarter" | "quarters" => (Unit::Month, 3),
        "year" | "years" | "yr" | "yrs" | "saal" | "سال" => (Unit::Year, 1),
        _ => return None,
    };
    Some(unit)
}

/// Returns the unit of a one-letter abbreviation glued to a number (`30m`, `2h`, `3d`, `1w`).
pub(crate) fn glued_unit(word: &str) -> Option<Unit> {
    match word {
        "m" => Some(Unit::Minute),
        "h" => Some(Unit::Hour),
        "d" => Some(Unit::Day),
        "w" => Some(Unit::Week),
        _ => None,
    }
}

/// Words common in Roman Urdu and rare in English; one of them makes a sentence Urdu, which
/// allows Roman Urdu day names that are also English words ("peer", "kal", "parson").
pub(crate) fn is_roman_urdu_marker(word: &str) -> bool {
    matches!(
        word,
        "ko" | "ka"
            | "ki"
            | "ke"
            | "hai"
            | "hain"
            | "karna"
            | "karni"
            | "karne"
            | "kar"
            | "karo"
            | "krna"
            | "baje"
            | "bje"
            | "bajay"
            | "mein"
            | "se"
            | "tak"
            | "aur"
            | "wala"
            | "wali"
            | "dikhao"
            | "lana"
            | "lena"
            | "dena"
            | "jana"
            | "jaana"
            | "aaj"
            | "subah"
            | "shaam"
            | "sham"
            | "dopahar"
            | "raat"
            | "agle"
            | "agla"
            | "har"
            | "rozana"
            | "baad"
            | "mukammal"
            | "kaam"
            | "kya"
            | "mujhe"
            | "mera"
            | "meri"
            | "mere"
            | "ammi"
            | "abbu"
            | "saadhe"
            | "tareekh"
            | "hata"
            | "yaad"
            | "bhejna"
            | "dekhna"
            | "parhna"
            | "khareedna"
            | "pe"
    )
}
