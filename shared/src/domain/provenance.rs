//! How a row's point was found (its *source*, in words a person reads) and how precise
//! it is, as the rows API, `rows.jsonl` and the sheet's optional `Source` and
//! `Precision` columns show them.
//!
//! Sources: the parser's ([`Pattern::source`]: `place pin`, `map centre`, `coordinates
//! in link`, `coordinates in text`, `plus code`); a short link's is the source of the
//! link it redirected to, `short link → place pin`; a point read from the page a link
//! leads to is `map page`; a Places search's `Places`; an address search's `address
//! search`.
//!
//! Precision is the larger side, in metres, of the area the written value stands for
//! (the parser's rule, `links::precision`), or of an address search's result. It is
//! shown to two significant figures ([`round_metres`]): `0.11`, `11`, `14`, `1100`; more
//! digits would claim a precision the estimate does not have. A map centre has none:
//! it is flagged `approximate` instead.

use crate::links::Pattern;

/// A point read from the page a link leads to.
pub const MAP_PAGE: &str = "map page";
/// A point from a Places text search.
pub const PLACES: &str = "Places";
/// A point from an address search (rows with no link).
pub const ADDRESS_SEARCH: &str = "address search";

const SHORT_LINK: &str = "short link → ";

/// The source of a point found by following a short link to a link with `inner` source.
pub fn short_link(inner: &str) -> String {
    format!("{SHORT_LINK}{inner}")
}

/// Every source a row may show, for documentation and the API schema.
pub fn all() -> Vec<String> {
    Pattern::SOURCES
        .iter()
        .map(|s| (*s).to_owned())
        .chain(Pattern::SOURCES.iter().map(|s| short_link(s)))
        .chain([MAP_PAGE, PLACES, ADDRESS_SEARCH].map(str::to_owned))
        .collect()
}

/// `metres` to two significant figures (`11.132 → 11`, `1113.2 → 1100`, `0.11132 →
/// 0.11`). Not finite or not positive: `None`.
pub fn round_metres(metres: f64) -> Option<f64> {
    if !metres.is_finite() || metres <= 0.0 {
        return None;
    }
    let scale = 10f64.powi(1 - metres.log10().floor() as i32);
    let rounded = (metres * scale).round() / scale;
    // Dividing by the scale again can leave float noise (0.11000000000000001); the
    // shortest decimal of the rounded value is what a reader expects.
    format!("{rounded:.*}", decimals(scale)).parse().ok()
}

fn decimals(scale: f64) -> usize {
    if scale > 1.0 {
        scale.log10().round() as usize
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precision_is_shown_to_two_significant_figures() {
        for (metres, shown) in [
            (0.111_32, Some(0.11)),
            (1.1132, Some(1.1)),
            (11.132, Some(11.0)),
            (13.9, Some(14.0)),
            (111.32, Some(110.0)),
            (1855.3, Some(1900.0)),
            (111_320.0, Some(110_000.0)),
            (0.0, None),
            (f64::NAN, None),
        ] {
            assert_eq!(round_metres(metres), shown, "{metres}");
        }
    }

    #[test]
    fn every_source_is_listed_once() {
        let all = all();
        assert_eq!(all.len(), 13);
        assert!(all.contains(&"short link → map centre".to_owned()));
        for pattern in Pattern::ALL {
            assert!(all.contains(&pattern.source().to_owned()));
        }
    }
}
