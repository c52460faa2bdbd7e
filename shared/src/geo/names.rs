//! Region text → the areas it can name.
//!
//! Every country is known by its ISO 3166-1 alpha-2 and alpha-3 codes, its name and the
//! other names in the data, plus the everyday names below ([`COUNTRY_ALIASES`]: `RSA`,
//! `USA`, `UK`, …). Every subdivision with an ISO 3166-2 code is known by that code
//! (`ZA-GP`), the code's letters after the dash when there are at least two (`GP`,
//! `KZN`, `CA`), its name and the data's other names for it (Natural Earth's local and
//! English names: `Bayern` and `Bavaria`), plus [`SUBDIVISION_ALIASES`] (former codes
//! such as `ZA-GT` and `ZA-NL`, Afrikaans names of South Africa's provinces).
//!
//! Names are compared by their [`key`](super::key): case, accents and punctuation do
//! not matter. A text whose key is unknown is tried once more without designator words
//! (`Gauteng Province`). One text can name several areas (`CA`: Canada and California;
//! `Georgia`); [`RegionIndex`](super::RegionIndex) narrows those down with the sheet's
//! other regions.

use std::collections::HashMap;
use std::sync::LazyLock;

use super::boundaries::{AreaId, Boundaries, boundaries};
use super::key::{designator_stripped, key};

/// Everyday names of countries that the data's names do not cover. `SA` is Saudi
/// Arabia's code but South Africans write it for their country; a sheet's other
/// regions decide which is meant.
const COUNTRY_ALIASES: &[(&str, &[&str])] = &[
    (
        "ZA",
        &[
            "RSA",
            "SA",
            "Republic of South Africa",
            "Suid-Afrika",
            "Mzansi",
        ],
    ),
    ("US", &["USA", "United States", "America", "U.S.A."]),
    (
        "GB",
        &[
            "UK",
            "United Kingdom of Great Britain and Northern Ireland",
            "Great Britain",
            "Britain",
            "England",
            "Scotland",
            "Wales",
            "Northern Ireland",
        ],
    ),
    ("DE", &["Deutschland"]),
    ("NL", &["Holland", "Nederland"]),
    ("AE", &["UAE"]),
    ("CZ", &["Czech Republic"]),
    ("RU", &["Russian Federation"]),
    ("KR", &["Korea", "Republic of Korea"]),
    ("CD", &["DRC", "DR Congo", "Congo-Kinshasa"]),
    ("CG", &["Congo-Brazzaville", "Republic of the Congo"]),
    ("CI", &["Ivory Coast", "Cote d'Ivoire"]),
    ("SZ", &["Swaziland", "Eswatini"]),
    ("MK", &["North Macedonia", "Macedonia"]),
    ("VN", &["Viet Nam"]),
    ("LA", &["Lao PDR"]),
    ("MM", &["Burma"]),
    ("CV", &["Cape Verde"]),
    ("TL", &["East Timor"]),
    ("TR", &["Türkiye", "Turkiye"]),
    ("BO", &["Bolivia"]),
    ("VE", &["Venezuela"]),
    ("TZ", &["Tanzania"]),
    ("IR", &["Iran"]),
    ("SY", &["Syria"]),
    ("ES", &["España", "Espana"]),
    ("BR", &["Brasil"]),
    ("CH", &["Schweiz", "Suisse", "Svizzera"]),
    ("AT", &["Österreich"]),
];

/// Names of subdivisions that the data's names do not cover.
const SUBDIVISION_ALIASES: &[(&str, &[&str])] = &[
    // Codes before ISO 3166-2's 2018 revision, still in older data and sheets.
    ("ZA-GP", &["ZA-GT", "GT"]),
    ("ZA-KZN", &["ZA-NL", "Natal"]),
    ("ZA-LP", &["ZA-NP", "Northern Province"]),
    // Afrikaans and other official-language names.
    ("ZA-WC", &["Wes-Kaap"]),
    ("ZA-EC", &["Oos-Kaap"]),
    ("ZA-NC", &["Noord-Kaap"]),
    ("ZA-FS", &["Vrystaat"]),
    ("ZA-NW", &["Noordwes", "Bokone Bophirima"]),
    ("US-DC", &["Washington DC", "Washington D.C."]),
];

#[derive(Debug)]
pub(super) struct NameIndex {
    by_key: HashMap<String, Vec<AreaId>>,
}

static NAMES: LazyLock<NameIndex> = LazyLock::new(|| NameIndex::build(boundaries()));

pub(super) fn names() -> &'static NameIndex {
    &NAMES
}

impl NameIndex {
    fn build(b: &Boundaries) -> Self {
        let mut index = Self {
            by_key: HashMap::new(),
        };
        for (i, country) in b.countries.iter().enumerate() {
            let id = AreaId::Country(i as u16);
            let extra = aliases_of(COUNTRY_ALIASES, &country.alpha2);
            for name in [&country.alpha2, &country.alpha3, &country.name]
                .into_iter()
                .chain(&country.aliases)
                .map(String::as_str)
                .chain(extra)
            {
                index.add(name, id);
            }
        }
        for (i, subdivision) in b.subdivisions.iter().enumerate() {
            let id = AreaId::Subdivision(i as u16);
            let code = subdivision.code.as_str();
            let letters = code
                .split_once('-')
                .map(|(_, s)| s)
                .filter(|s| s.len() >= 2 && s.chars().all(|c| c.is_ascii_alphabetic()));
            let extra = aliases_of(SUBDIVISION_ALIASES, code);
            for name in [code, subdivision.name.as_str()]
                .into_iter()
                .chain(letters)
                .chain(subdivision.aliases.iter().map(String::as_str))
                .chain(extra)
            {
                index.add(name, id);
            }
        }
        index
    }

    fn add(&mut self, name: &str, id: AreaId) {
        for k in std::iter::once(key(name)).chain(designator_stripped(name)) {
            if k.is_empty() {
                continue;
            }
            let ids = self.by_key.entry(k).or_default();
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }

    /// The areas `text` can name; empty when it names none the data knows.
    pub(super) fn lookup(&self, text: &str) -> &[AreaId] {
        let found = |k: &str| self.by_key.get(k).map(Vec::as_slice);
        found(&key(text))
            .or_else(|| designator_stripped(text).and_then(|k| found(&k)))
            .unwrap_or_default()
    }
}

/// The table's names for `code`, borrowed for as long as `code` so that they chain
/// with the data's names.
#[expect(
    clippy::map_clone,
    reason = "the closure shortens the names' lifetime; `copied` would keep 'static"
)]
fn aliases_of<'a>(
    table: &'static [(&'static str, &'static [&'static str])],
    code: &'a str,
) -> impl Iterator<Item = &'a str> + 'a {
    table
        .iter()
        .filter(move |(c, _)| *c == code)
        .flat_map(|(_, names)| names.iter().map(|&name| -> &'a str { name }))
}
