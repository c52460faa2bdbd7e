//! Finding coordinates in a map page's HTML: the `@lat,lng` of an embedded map URL,
//! a `"center":{"lat":…,"lng":…}` object, or `og:latitude` / `og:longitude` meta tags.
//! Every candidate is range-checked; the first valid one wins.

use std::sync::LazyLock;

use maplink::links::Coordinates;
use regex::Regex;

fn re(p: &str) -> Regex {
    // Constant patterns of this file; a typo is caught by every test run.
    Regex::new(p).unwrap_or_else(|e| panic!("scrape pattern {p:?}: {e}"))
}

const NUM: &str = r"(-?\d{1,3}(?:\.\d+)?)";

static AT: LazyLock<Regex> = LazyLock::new(|| re(&format!(r"@{NUM},{NUM}")));
static CENTER: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r#""center"\s*:\s*\{{\s*"lat"\s*:\s*{NUM}\s*,\s*"lng"\s*:\s*{NUM}"#
    ))
});
static META: LazyLock<Regex> = LazyLock::new(|| re(r#"(?i)<meta\b[^>]*>"#));
static META_PROP: LazyLock<Regex> = LazyLock::new(|| {
    re(r#"(?i)\b(?:property|name)\s*=\s*["'](?:og|place:location):(latitude|longitude)["']"#)
});
static META_CONTENT: LazyLock<Regex> =
    LazyLock::new(|| re(r#"(?i)\bcontent\s*=\s*["']\s*(-?\d+(?:\.\d+)?)\s*["']"#));

/// Which scrape pattern matched, for the per-row method.
pub fn find(html: &str) -> Option<(Coordinates, &'static str)> {
    if let Some(c) = CENTER.captures_iter(html).find_map(|c| pair(&c[1], &c[2])) {
        return Some((c, "scrape:center"));
    }
    if let Some(c) = og(html) {
        return Some((c, "scrape:og"));
    }
    AT.captures_iter(html)
        .find_map(|c| pair(&c[1], &c[2]))
        .map(|c| (c, "scrape:at"))
}

fn pair(lat: &str, lng: &str) -> Option<Coordinates> {
    Coordinates::new(lat.parse().ok()?, lng.parse().ok()?).ok()
}

fn og(html: &str) -> Option<Coordinates> {
    let (mut lat, mut lng) = (None, None);
    for tag in META.find_iter(html) {
        let tag = tag.as_str();
        let (Some(prop), Some(content)) = (META_PROP.captures(tag), META_CONTENT.captures(tag))
        else {
            continue;
        };
        let value: f64 = content[1].parse().ok()?;
        if prop[1].eq_ignore_ascii_case("latitude") {
            lat.get_or_insert(value);
        } else {
            lng.get_or_insert(value);
        }
    }
    Coordinates::new(lat?, lng?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_each_page_form() {
        let center = r#"<script>window.INIT={"center": {"lat": -33.9249, "lng": 18.4241}, "zoom": 12}</script>"#;
        let og = r#"<head><meta content="-26.2041" property="og:latitude"><meta property='og:longitude' content='28.0473'/></head>"#;
        let at = r#"<link rel="canonical" href="https://www.google.com/maps/place/X/@-25.7479,28.2293,17z">"#;
        let got = |html| find(html).map(|(c, m)| (c.lat, c.lng, m));
        assert_eq!(got(center), Some((-33.9249, 18.4241, "scrape:center")));
        assert_eq!(got(og), Some((-26.2041, 28.0473, "scrape:og")));
        assert_eq!(got(at), Some((-25.7479, 28.2293, "scrape:at")));
    }

    #[test]
    fn ignores_out_of_range_and_absent_values() {
        assert_eq!(
            find(r#"email me @ 999,999 or @12,34"#).map(|(c, _)| (c.lat, c.lng)),
            Some((12.0, 34.0))
        );
        assert_eq!(find("<html>nothing here</html>"), None);
        assert_eq!(
            find(r#"<meta property="og:latitude" content="12.5">"#),
            None,
            "half a pair is nothing"
        );
    }
}
