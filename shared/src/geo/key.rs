//! How a region name is compared: the lookup key.
//!
//! Two spellings are the same name when their keys are equal. The key is the text's
//! letters and digits, lower-cased, with Latin accents folded (`São Paulo` →
//! `saopaulo`, `Baden-Württemberg` → `badenwurttemberg`) and everything else dropped,
//! so case, hyphens, spaces, apostrophes and dots do not matter: `KwaZulu-Natal`,
//! `Kwazulu Natal` and `KWAZULU_NATAL` share the key `kwazulunatal`. `&` reads as
//! `and` and a lone `St`/`Ste` as `Saint`/`Sainte`, since sheets write both.
//!
//! Words that only say what kind of area it is (`Province`, `State of`, `Oblast`, …)
//! are taken off the ends by [`designator_stripped`], which the name index uses for a
//! second key per name and a lookup uses only when the full key is unknown: `Free
//! State` stays `freestate` (a full name), while `Free State Province` and `Province of
//! the Western Cape` still find their province.
//!
//! Letters outside the Latin ranges folded here are kept as they are (lower-cased), so
//! names in other scripts still match when spelt the same way.

/// Words that name the kind of area rather than the area. Only taken off the ends.
const DESIGNATORS: &[&str] = &[
    "the",
    "of",
    "de",
    "del",
    "di",
    "du",
    "province",
    "provinsie",
    "provincia",
    "provinz",
    "state",
    "estado",
    "region",
    "regione",
    "county",
    "oblast",
    "kray",
    "krai",
    "respublika",
    "republic",
    "prefecture",
    "department",
    "departement",
    "departamento",
    "governorate",
    "district",
    "voivodeship",
    "land",
    "freistaat",
    "fylke",
    "lan",
    "laen",
    "autonomous",
    "okrug",
];

/// The tokens of `text`: runs of letters and digits, folded and lower-cased.
fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for c in text.chars() {
        if c == '&' {
            flush(&mut current, &mut out);
            out.push("and".to_owned());
        } else if let Some(folded) = fold(c) {
            current.push_str(folded);
        } else if c.is_alphanumeric() {
            current.extend(c.to_lowercase());
        } else {
            flush(&mut current, &mut out);
        }
    }
    flush(&mut current, &mut out);
    out
}

fn flush(current: &mut String, out: &mut Vec<String>) {
    if current.is_empty() {
        return;
    }
    let token = std::mem::take(current);
    out.push(match token.as_str() {
        "st" => "saint".to_owned(),
        "ste" => "sainte".to_owned(),
        _ => token,
    });
}

/// The lookup key of `text` (see the module doc). Empty when it has no letters or digits.
pub(super) fn key(text: &str) -> String {
    tokens(text).concat()
}

/// The key of `text` without designator words at either end, when that differs from
/// [`key`] and leaves something. `Province of the Western Cape` → `westerncape`.
pub(super) fn designator_stripped(text: &str) -> Option<String> {
    let tokens = tokens(text);
    let is_designator = |t: &String| DESIGNATORS.contains(&t.as_str());
    let start = tokens.iter().position(|t| !is_designator(t))?;
    let end = tokens.iter().rposition(|t| !is_designator(t))? + 1;
    if start == 0 && end == tokens.len() {
        return None;
    }
    Some(tokens[start..end].concat())
}

/// ASCII letters and digits lower-cased, Latin-1 and Latin Extended-A letters (and the
/// Romanian comma-below letters) folded to their base letters; `None` for anything else.
fn fold(c: char) -> Option<&'static str> {
    const LOWER: [&str; 26] = [
        "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q", "r",
        "s", "t", "u", "v", "w", "x", "y", "z",
    ];
    const DIGITS: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
    Some(match c {
        'a'..='z' => LOWER[c as usize - 'a' as usize],
        'A'..='Z' => LOWER[c as usize - 'A' as usize],
        '0'..='9' => DIGITS[c as usize - '0' as usize],
        'À'..='Å' | 'à'..='å' | 'Ā'..='ą' => "a",
        'Æ' | 'æ' => "ae",
        'Ç' | 'ç' | 'Ć'..='č' => "c",
        'Ð' | 'ð' | 'Ď'..='đ' => "d",
        'È'..='Ë' | 'è'..='ë' | 'Ē'..='ě' => "e",
        'Ĝ'..='ģ' => "g",
        'Ĥ'..='ħ' => "h",
        'Ì'..='Ï' | 'ì'..='ï' | 'Ĩ'..='ı' => "i",
        'Ĳ' | 'ĳ' => "ij",
        'Ĵ' | 'ĵ' => "j",
        'Ķ'..='ĸ' => "k",
        'Ĺ'..='ł' => "l",
        'Ñ' | 'ñ' | 'Ń'..='ŋ' => "n",
        'Ò'..='Ö' | 'Ø' | 'ò'..='ö' | 'ø' | 'Ō'..='ő' => "o",
        'Œ' | 'œ' => "oe",
        'Ŕ'..='ř' => "r",
        'ß' => "ss",
        'Ś'..='š' | 'ſ' | 'Ș' | 'ș' => "s",
        'Ţ'..='ŧ' | 'Ț' | 'ț' => "t",
        'Þ' | 'þ' => "th",
        'Ù'..='Ü' | 'ù'..='ü' | 'Ũ'..='ų' => "u",
        'Ŵ' | 'ŵ' => "w",
        'Ý' | 'ý' | 'ÿ' | 'Ŷ'..='Ÿ' => "y",
        'Ź'..='ž' => "z",
        _ => return None,
    })
}
