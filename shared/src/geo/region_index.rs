//! The per-run check: a row's region text against the row's point.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Mutex;

use super::boundaries::{AreaId, Boundaries, boundaries};
use super::key::key;
use super::names::names;
use crate::links::Coordinates;

/// A country or subdivision as the data names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Area {
    /// ISO 3166-1 alpha-2 (`ZA`) or ISO 3166-2 (`ZA-GP`).
    pub code: String,
    /// `South Africa`, `Gauteng`.
    pub name: String,
}

/// The outcome of checking one row.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// The point is in the named area, or within [`TOLERANCE_KM`](super::TOLERANCE_KM)
    /// of it.
    Inside,
    /// The point is not in the named area: the row gets a `check` warning with
    /// [`Outside`]'s message.
    Outside(Outside),
    /// The data knows no area by this name; [`RegionIndex::unknown_regions`] lists it
    /// (once per run, however many rows name it).
    UnknownRegion,
    /// The region cell is blank: nothing to check.
    NoRegion,
}

impl Verdict {
    /// The warning text for an [`Outside`] verdict; `None` for the others.
    pub fn message(&self) -> Option<String> {
        match self {
            Self::Outside(outside) => Some(outside.to_string()),
            _ => None,
        }
    }
}

/// Where a point is, when it is not in the area its row names.
#[derive(Clone, Debug, PartialEq)]
pub struct Outside {
    /// The area the row names.
    pub region: Area,
    /// The areas the point is in: its country, then its subdivision where the data has
    /// one (`ZA`, `ZA-WC`). Empty: no country — open sea, or beyond the data's
    /// coastline by more than the tolerance.
    pub found: Vec<Area>,
    /// The point with latitude and longitude exchanged would be in the named area.
    pub swapped_would_fit: bool,
}

impl fmt::Display for Outside {
    /// `point is outside Gauteng (ZA-GP): it falls in Western Cape (ZA-WC)`, `…: it falls
    /// in the sea`, `…: it falls in Bayern (DE-BY), Germany`, with `; latitude and
    /// longitude look swapped` when exchanging them would fit.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Area { code, name } = &self.region;
        write!(f, "point is outside {name} ({code}): it falls in ")?;
        match self.found.as_slice() {
            [] => f.write_str("the sea")?,
            [country] => write!(f, "{} ({})", country.name, country.code)?,
            [country, subdivision, ..] => {
                write!(f, "{} ({})", subdivision.name, subdivision.code)?;
                if code.get(..2) != Some(country.code.as_str()) {
                    write!(f, ", {}", country.name)?;
                }
            }
        }
        if self.swapped_would_fit {
            f.write_str("; latitude and longitude look swapped")?;
        }
        Ok(())
    }
}

/// Checks rows' points against their region cells for one run (one sheet).
///
/// Build it from all the region cells of the sheet ([`RegionIndex::new`]): a name that
/// can mean several areas (`CA`, `Georgia`, `SA`) is read as the one in the country
/// the sheet's other regions name most, so a sheet of Californian rows reads `CA` as
/// California and a sheet of South African provinces reads `SA` as South Africa.
/// Where the sheet does not settle it, a point in any of the areas passes.
///
/// The boundary data loads on first use, once per process (about 20 ms; see
/// [`preload`](super::preload)); the index itself is cheap. `check` takes `&self` and
/// the index is `Sync`, so one index can serve a run's rows from several threads.
#[derive(Debug, Default)]
pub struct RegionIndex {
    /// Per country, how many of the sheet's region cells name it or a subdivision of
    /// it, counting only cells that name one area.
    context: HashMap<u16, usize>,
    /// Unknown region texts by key, in the order first seen. A lock rather than
    /// `&mut self` so that rows can be checked from several threads; it is taken only
    /// for unknown names, which are few.
    unknown: Mutex<Unknown>,
}

#[derive(Debug, Default)]
struct Unknown {
    keys: HashSet<String>,
    texts: Vec<String>,
}

impl RegionIndex {
    /// An index for a sheet whose region column(s) hold `cells` (all rows; repeats
    /// count). Unknown names among them are recorded for
    /// [`unknown_regions`](Self::unknown_regions).
    pub fn new<'a>(cells: impl IntoIterator<Item = &'a str>) -> Self {
        let index = Self::default();
        let mut context = HashMap::new();
        for cell in cells {
            match names().lookup(cell) {
                [] => index.note_unknown(cell),
                [only] => *context.entry(boundaries().country_of(*only)).or_default() += 1,
                _ => {}
            }
        }
        Self { context, ..index }
    }

    /// Checks `point` against the area `region` names. Blank → [`Verdict::NoRegion`];
    /// a name the data does not know → [`Verdict::UnknownRegion`] (and recorded).
    pub fn check(&self, region: &str, point: Coordinates) -> Verdict {
        if region.trim().is_empty() {
            return Verdict::NoRegion;
        }
        let areas = self.resolve(region);
        let Some(&named) = areas.first() else {
            self.note_unknown(region);
            return Verdict::UnknownRegion;
        };
        let b = boundaries();
        let (lat, lng) = (point.lat, point.lng);
        if areas.iter().any(|&a| b.is_within(a, lat, lng)) {
            return Verdict::Inside;
        }
        let swapped_would_fit =
            (-90.0..=90.0).contains(&lng) && areas.iter().any(|&a| b.is_within(a, lng, lat));
        let found = match b.locate(lat, lng) {
            None => Vec::new(),
            Some((country, None)) => vec![area(b, AreaId::Country(country))],
            Some((country, Some(subdivision))) => vec![
                area(b, AreaId::Country(country)),
                area(b, AreaId::Subdivision(subdivision)),
            ],
        };
        Verdict::Outside(Outside {
            region: area(b, named),
            found,
            swapped_would_fit,
        })
    }

    /// The region texts the data does not know, each once (the first spelling seen),
    /// in the order first seen: for one report per run.
    pub fn unknown_regions(&self) -> Vec<String> {
        self.unknown
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .texts
            .clone()
    }

    /// The areas `region` names, narrowed to the sheet's most-named country when it
    /// names areas in several countries.
    fn resolve(&self, region: &str) -> Vec<AreaId> {
        let candidates = names().lookup(region);
        if candidates.len() < 2 {
            return candidates.to_vec();
        }
        let b = boundaries();
        let weight = |a: &AreaId| self.context.get(&b.country_of(*a)).copied().unwrap_or(0);
        let best = candidates.iter().map(weight).max().unwrap_or(0);
        if best == 0 {
            return candidates.to_vec();
        }
        candidates
            .iter()
            .copied()
            .filter(|a| weight(a) == best)
            .collect()
    }

    fn note_unknown(&self, text: &str) {
        let text = text.trim();
        let k = key(text);
        if text.is_empty() {
            return;
        }
        let mut unknown = self
            .unknown
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Texts with no letters or digits ("-", "?") are kept apart by their text.
        if unknown
            .keys
            .insert(if k.is_empty() { text.to_owned() } else { k })
        {
            unknown.texts.push(text.to_owned());
        }
    }
}

fn area(b: &Boundaries, id: AreaId) -> Area {
    match id {
        AreaId::Country(c) => {
            let c = &b.countries[usize::from(c)];
            Area {
                code: c.alpha2.clone(),
                name: c.name.clone(),
            }
        }
        AreaId::Subdivision(s) => {
            let s = &b.subdivisions[usize::from(s)];
            Area {
                code: s.code.clone(),
                name: s.name.clone(),
            }
        }
    }
}
