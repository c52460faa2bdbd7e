//! The link patterns, in the order they are tried (first match wins). The first four
//! are the original app's, kept in its order so that every link it solved gives the
//! same answer here.

use std::{borrow::Cow, sync::LazyLock};

use regex::Regex;

/// Which pattern found a pair (recorded per row as the method).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pattern {
    /// `query=<lat>%2C<lng>`, the Maps URLs API form.
    QueryParam,
    /// `@<lat>,<lng>`, the map viewport centre.
    At,
    /// `?q=<lat>,<lng>` or `&q=<lat>,<lng>`.
    Q,
    /// A bare or embedded `<lat>,<lng>` pair in the URL-decoded text.
    BarePair,
}

impl Pattern {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::QueryParam => "query",
            Self::At => "at",
            Self::Q => "q",
            Self::BarePair => "pair",
        }
    }
}

const NUM: &str = r"(-?\d+(?:\.\d+)?)";
const DEC: &str = r"(-?\d+\.\d+)";

fn re(pattern: String) -> Regex {
    // The patterns are constants of this file; a typo is caught by every test run.
    Regex::new(&pattern).unwrap_or_else(|e| panic!("link pattern {pattern:?}: {e}"))
}

static QUERY_PARAM: LazyLock<Regex> = LazyLock::new(|| re(format!(r"(?i)query={NUM}%2C{NUM}")));
static AT: LazyLock<Regex> = LazyLock::new(|| re(format!(r"@{NUM},{NUM}")));
static Q: LazyLock<Regex> = LazyLock::new(|| re(format!(r"[?&]q={NUM},\s*{NUM}")));
static BARE_PAIR: LazyLock<Regex> = LazyLock::new(|| re(format!(r"{DEC},\s*{DEC}")));

fn pair(re: &Regex, text: &str) -> Option<(f64, f64)> {
    let caps = re.captures(text)?;
    Some((
        caps.get(1)?.as_str().parse().ok()?,
        caps.get(2)?.as_str().parse().ok()?,
    ))
}

/// The first pattern that finds a pair in `link`, with the pair as (lat, lng).
pub(super) fn first_match(link: &str) -> Option<(Pattern, f64, f64)> {
    if let Some((lat, lng)) = pair(&QUERY_PARAM, link) {
        return Some((Pattern::QueryParam, lat, lng));
    }
    if let Some((lat, lng)) = pair(&AT, link) {
        return Some((Pattern::At, lat, lng));
    }
    if let Some((lat, lng)) = pair(&Q, link) {
        return Some((Pattern::Q, lat, lng));
    }
    let decoded: Cow<'_, str> = percent_encoding::percent_decode_str(link).decode_utf8_lossy();
    if let Some((a, b)) = pair(&BARE_PAIR, &decoded) {
        // A first number that cannot be a latitude while the second can means the pair
        // was written longitude first.
        let (lat, lng) = if a.abs() > 90.0 && b.abs() <= 90.0 {
            (b, a)
        } else {
            (a, b)
        };
        return Some((Pattern::BarePair, lat, lng));
    }
    None
}
