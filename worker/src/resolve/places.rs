//! Places text search for links that only name a place (`/maps/place/Polokwane+Mall`,
//! `?q=Menlyn+Park`), used only when an API key is configured. The base URL is
//! configurable so a compatible service (or a test server) can stand in.
//!
//! The key is a secret and travels in the request URL, so every failure text this
//! search returns has the key scrubbed out before it can become a row reason (shown to
//! the uploader, in the output sheet, the rows API and the event stream) or a log field.

use maplink::{domain::reason_code as code, links::Coordinates};
use reqwest::Url;
use serde::Deserialize;

use super::{
    fetch::{Failure, Fetcher},
    reason::Reason,
};

pub struct Places {
    pub base: Url,
    pub key: String,
}

#[derive(Deserialize)]
struct Reply {
    status: String,
    #[serde(default)]
    results: Vec<Place>,
    #[serde(default)]
    error_message: Option<String>,
}

/// A Place Details answer: one place, not a list.
#[derive(Deserialize)]
struct DetailsReply {
    status: String,
    #[serde(default)]
    result: Option<Place>,
    #[serde(default)]
    error_message: Option<String>,
}

#[derive(Deserialize)]
struct Place {
    geometry: Geometry,
}

#[derive(Deserialize)]
struct Geometry {
    location: Location,
}

#[derive(Deserialize)]
struct Location {
    lat: f64,
    lng: f64,
}

impl Places {
    /// Searches for `query`; failure texts never contain the key. Every failure is
    /// [`code::PLACE_NOT_FOUND`] or [`code::PLACE_SEARCH_FAILED`]: how the Places
    /// service failed (a timeout, an HTTP error) is not the link's fault.
    pub async fn search(&self, fetcher: &Fetcher, query: &str) -> Result<Coordinates, Failure> {
        self.search_unscrubbed(fetcher, query).await.map_err(|f| {
            self.scrub(f).map(|r| match r.code {
                code::PLACE_NOT_FOUND => r,
                _ => r.coded(code::PLACE_SEARCH_FAILED),
            })
        })
    }

    /// Removes the key from a failure's text. The lower layers leave URLs out of their
    /// texts already; this also covers a service that echoes the key back in its
    /// `error_message`, in plain or URL-encoded spelling.
    fn scrub(&self, failure: Failure) -> Failure {
        failure.map(|r| Reason {
            text: redact(&r.text, &self.key),
            ..r
        })
    }

    /// Looks up the place a Places `place_id` names (Place Details); failures as for
    /// [`search`](Self::search).
    pub async fn details(&self, fetcher: &Fetcher, place_id: &str) -> Result<Coordinates, Failure> {
        self.details_unscrubbed(fetcher, place_id)
            .await
            .map_err(|f| {
                self.scrub(f).map(|r| match r.code {
                    code::PLACE_NOT_FOUND => r,
                    _ => r.coded(code::PLACE_SEARCH_FAILED),
                })
            })
    }

    async fn search_unscrubbed(
        &self,
        fetcher: &Fetcher,
        query: &str,
    ) -> Result<Coordinates, Failure> {
        let reply: Reply = self
            .ask(fetcher, "maps/api/place/textsearch/json", ("query", query))
            .await?;
        let what = format!("\"{query}\"");
        answer(&reply.status, reply.error_message, &what)?;
        reply
            .results
            .first()
            .ok_or_else(|| not_found(&what))
            .and_then(located)
    }

    async fn details_unscrubbed(
        &self,
        fetcher: &Fetcher,
        place_id: &str,
    ) -> Result<Coordinates, Failure> {
        let reply: DetailsReply = self
            .ask(
                fetcher,
                "maps/api/place/details/json",
                ("place_id", place_id),
            )
            .await?;
        let what = format!("place_id {place_id}");
        answer(&reply.status, reply.error_message, &what)?;
        reply
            .result
            .as_ref()
            .ok_or_else(|| not_found(&what))
            .and_then(located)
    }

    /// One GET of a Places endpoint with `param` and the key, its JSON reply decoded.
    async fn ask<T: serde::de::DeserializeOwned>(
        &self,
        fetcher: &Fetcher,
        endpoint: &str,
        param: (&str, &str),
    ) -> Result<T, Failure> {
        let mut url = self
            .base
            .join(endpoint)
            .map_err(|_| failed("invalid places_base_url"))?;
        url.query_pairs_mut()
            .append_pair(param.0, param.1)
            .append_pair("key", &self.key);
        let response = fetcher.get(&url).await?;
        if !response.status().is_success() {
            return Err(super::fetch::status_failure(response.status()));
        }
        let body = fetcher.body(response).await?;
        serde_json::from_str(&body).map_err(|_| {
            Failure::Transient(Reason::new(
                code::PLACE_SEARCH_FAILED,
                "place search answered with something other than JSON",
            ))
        })
    }
}

/// What a Places reply's `status` says: fine, nothing found, or a failure (transient
/// for quota and server errors).
fn answer(status: &str, error_message: Option<String>, what: &str) -> Result<(), Failure> {
    match status {
        "OK" => Ok(()),
        "ZERO_RESULTS" | "NOT_FOUND" => Err(not_found(what)),
        "OVER_QUERY_LIMIT" | "UNKNOWN_ERROR" => Err(Failure::Transient(Reason::new(
            code::PLACE_SEARCH_FAILED,
            format!("place search: {status}"),
        ))),
        other => Err(failed(&format!(
            "place search: {other}{}",
            error_message.map(|m| format!(" ({m})")).unwrap_or_default()
        ))),
    }
}

fn not_found(what: &str) -> Failure {
    Failure::Permanent(Reason::new(
        code::PLACE_NOT_FOUND,
        format!("no place found for {what}"),
    ))
}

fn located(place: &Place) -> Result<Coordinates, Failure> {
    let l = &place.geometry.location;
    Coordinates::new(l.lat, l.lng).map_err(|e| failed(&e.to_string()))
}

fn failed(text: &str) -> Failure {
    Failure::Permanent(Reason::new(code::PLACE_SEARCH_FAILED, text))
}

const REDACTED: &str = "[redacted]";

/// `text` with every spelling of `secret` that a URL or a reply may carry replaced.
fn redact(text: &str, secret: &str) -> String {
    if secret.is_empty() {
        return text.to_owned();
    }
    let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    let percent = percent_encoding::utf8_percent_encode(secret, percent_encoding::NON_ALPHANUMERIC)
        .to_string();
    let mut text = text.to_owned();
    for spelling in [secret, form.as_str(), percent.as_str()] {
        text = text.replace(spelling, REDACTED);
    }
    text
}

/// The place name a map URL carries, if any: the segment after `/place/` or
/// `/search/`, or a non-coordinate `q` / `query` parameter.
pub fn place_query(url: &Url) -> Option<String> {
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8_lossy()
            .trim()
            .to_owned()
    };
    let mut segments = url.path_segments()?;
    while let Some(seg) = segments.next() {
        if (seg == "place" || seg == "search")
            && let Some(name) = segments
                .next()
                .map(decode)
                .filter(|n| !n.is_empty() && !n.starts_with('@'))
        {
            return Some(name);
        }
    }
    url.query_pairs()
        .find(|(k, v)| (k == "q" || k == "query") && maplink::links::parse(v).is_err())
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn place_names_come_from_paths_and_queries() {
        let q = |u: &str| place_query(&Url::parse(u).unwrap());
        assert_eq!(
            q("https://www.google.com/maps/place/Polokwane+Mall/data=!4m2"),
            Some("Polokwane Mall".into())
        );
        assert_eq!(
            q("https://www.google.com/maps/search/Menlyn%20Park"),
            Some("Menlyn Park".into())
        );
        assert_eq!(
            q("https://maps.google.com/?q=Sandton+City"),
            Some("Sandton City".into())
        );
        assert_eq!(q("https://maps.google.com/?q=-26.1,28.0"), None);
        assert_eq!(q("https://goo.gl/maps/abc123"), None);
    }

    #[test]
    fn the_key_is_redacted_in_every_spelling() {
        let key = "AIza/Sy+k y=1";
        for text in [
            "denied for AIza/Sy+k y=1",
            "for url (https://h/json?query=x&key=AIza%2FSy%2Bk+y%3D1)",
            "for url (https://h/json?query=x&key=AIza%2FSy%2Bk%20y%3D1)",
        ] {
            let clean = redact(text, key);
            assert!(clean.contains(REDACTED), "{clean}");
            assert!(!clean.contains("AIza"), "{clean}");
        }
        assert_eq!(redact("HTTP 503", key), "HTTP 503");
        assert_eq!(
            redact("HTTP 503", ""),
            "HTTP 503",
            "no key, nothing to hide"
        );
    }
}
