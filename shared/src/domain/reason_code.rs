//! The stable codes of every reason a row fails or is skipped, and of the region
//! check's warnings: one code per reason, the same in the rows API, `rows.jsonl` and
//! the event log, so that a script can act on a row without reading its text.
//!
//! Where they come from:
//! - the parser's refusals ([`ParseError::CODES`](crate::links::ParseError::CODES));
//! - the network tier (short links, map pages, Places), below;
//! - the address search (`geocode_*`);
//! - a blank link: [`NO_LINK`].
//!
//! A code is never renamed once released; the texts may become more precise. The
//! README's reasons table lists each with what to do about it (a test holds the two
//! equal).

use crate::links::ParseError;

/// Skipped: the map-link cell is blank (and no address search placed the row).
pub const NO_LINK: &str = "no_link";

/// The link's host, or a host it redirects to, is not on `resolve_allowed_hosts`.
pub const HOST_NOT_ALLOWED: &str = "host_not_allowed";
/// A hop the network tier does not follow: not http(s), credentials in the URL, no host.
pub const LINK_NOT_FOLLOWED: &str = "link_not_followed";
/// The link leads to a private, loopback or link-local address.
pub const INTERNAL_ADDRESS: &str = "internal_address";
/// The link's host did not answer within `resolve_timeout_ms` (on every try).
pub const TIMEOUT: &str = "timeout";
/// No connection to the link's host (on every try).
pub const COULD_NOT_CONNECT: &str = "could_not_connect";
/// The request failed otherwise (reset, TLS, a cut-off body) on every try.
pub const REQUEST_FAILED: &str = "request_failed";
/// The link's host answered with an HTTP error (a dead short link answers 404).
pub const HTTP_ERROR: &str = "http_error";
pub const REDIRECT_LOOP: &str = "redirect_loop";
/// More than `resolve_max_redirects` hops.
pub const TOO_MANY_REDIRECTS: &str = "too_many_redirects";
/// A redirect without a location, or to something that is not a URL.
pub const BAD_REDIRECT: &str = "bad_redirect";
/// The page is larger than `resolve_max_body_bytes`.
pub const RESPONSE_TOO_LARGE: &str = "response_too_large";
/// The link was followed to its page, and neither holds coordinates or a place name.
pub const PAGE_WITHOUT_COORDINATES: &str = "page_without_coordinates";
/// The link names a place but carries no coordinates, and no Places key is set.
pub const PLACES_NOT_CONFIGURED: &str = "places_not_configured";
/// The Places search found nothing for the place the link names.
pub const PLACE_NOT_FOUND: &str = "place_not_found";
/// The Places service could not be asked or refused (key, quota, outage).
pub const PLACE_SEARCH_FAILED: &str = "place_search_failed";
/// The row's lookup had no answer (a fault of the service, not of the row).
pub const NOT_LOOKED_UP: &str = "not_looked_up";

/// The address search found nothing for the row's text.
pub const GEOCODE_NOT_FOUND: &str = "geocode_not_found";
/// The address search service could not be asked or did not answer usably.
pub const GEOCODE_UNAVAILABLE: &str = "geocode_unavailable";

/// The network tier's codes.
pub const NETWORK: [&str; 16] = [
    HOST_NOT_ALLOWED,
    LINK_NOT_FOLLOWED,
    INTERNAL_ADDRESS,
    TIMEOUT,
    COULD_NOT_CONNECT,
    REQUEST_FAILED,
    HTTP_ERROR,
    REDIRECT_LOOP,
    TOO_MANY_REDIRECTS,
    BAD_REDIRECT,
    RESPONSE_TOO_LARGE,
    PAGE_WITHOUT_COORDINATES,
    PLACES_NOT_CONFIGURED,
    PLACE_NOT_FOUND,
    PLACE_SEARCH_FAILED,
    NOT_LOOKED_UP,
];

/// The address search's codes.
pub const GEOCODE: [&str; 2] = [GEOCODE_NOT_FOUND, GEOCODE_UNAVAILABLE];

/// Every code a row's `code` may hold: the parser's, the network tier's, the address
/// search's, and [`NO_LINK`].
pub fn all() -> impl Iterator<Item = &'static str> {
    ParseError::CODES
        .into_iter()
        .chain(NETWORK)
        .chain(GEOCODE)
        .chain([NO_LINK])
}

/// The released code spelled `code`, if there is one (for reading codes back from a
/// cache written by another version).
pub fn known(code: &str) -> Option<&'static str> {
    all().find(|c| *c == code)
}

/// A log event's code for a row whose point is outside the region its sheet names.
pub const OUTSIDE_REGION: &str = "outside_region";
/// A log event's code for the run's region names the check does not know.
pub const UNKNOWN_REGION: &str = "unknown_region";

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn codes_are_unique_and_snake_case() {
        let codes: Vec<&str> = all().collect();
        let unique: HashSet<&str> = codes.iter().copied().collect();
        assert_eq!(unique.len(), codes.len(), "a code is listed twice");
        for code in codes {
            assert!(
                code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{code}"
            );
            assert_eq!(known(code), Some(code));
        }
        assert_eq!(known("no_such_code"), None);
    }

    #[test]
    fn the_readme_explains_every_code() {
        let readme = include_str!("../../../README.md");
        for code in all().chain([OUTSIDE_REGION, UNKNOWN_REGION]) {
            assert!(
                readme.contains(&format!("| `{code}` |")),
                "the README's reasons table lacks `{code}`"
            );
        }
    }
}
