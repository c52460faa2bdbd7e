//! Places text search for links that only name a place (`/maps/place/Polokwane+Mall`,
//! `?q=Menlyn+Park`), used only when an API key is configured. The base URL is
//! configurable so a compatible service (or a test server) can stand in.

use maplink::links::Coordinates;
use reqwest::Url;
use serde::Deserialize;

use super::fetch::{Failure, Fetcher};

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
    pub async fn search(&self, fetcher: &Fetcher, query: &str) -> Result<Coordinates, Failure> {
        let mut url = self
            .base
            .join("maps/api/place/textsearch/json")
            .map_err(|_| Failure::Permanent("invalid places_base_url".into()))?;
        url.query_pairs_mut()
            .append_pair("query", query)
            .append_pair("key", &self.key);
        let response = fetcher.get(&url).await?;
        if !response.status().is_success() {
            return Err(super::fetch::status_failure(response.status()));
        }
        let body = fetcher.body(response).await?;
        let reply: Reply = serde_json::from_str(&body).map_err(|_| {
            Failure::Transient("place search answered with something other than JSON".into())
        })?;
        match reply.status.as_str() {
            "OK" => {
                let place = reply
                    .results
                    .first()
                    .ok_or_else(|| Failure::Permanent(format!("no place found for \"{query}\"")))?;
                let l = &place.geometry.location;
                Coordinates::new(l.lat, l.lng).map_err(|e| Failure::Permanent(e.to_string()))
            }
            "ZERO_RESULTS" => Err(Failure::Permanent(format!(
                "no place found for \"{query}\""
            ))),
            "OVER_QUERY_LIMIT" | "UNKNOWN_ERROR" => Err(Failure::Transient(format!(
                "place search: {}",
                reply.status
            ))),
            other => Err(Failure::Permanent(format!(
                "place search: {other}{}",
                reply
                    .error_message
                    .map(|m| format!(" ({m})"))
                    .unwrap_or_default()
            ))),
        }
    }
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
}
