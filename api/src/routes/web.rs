//! The submitter page and its assets, compiled into the binary (no CDN: the machine
//! may be offline): the page, its script and style, the results map's script, Leaflet
//! (vendored, see `web/vendor/leaflet/README.md`) and the map's country outlines.
//!
//! The map's tile settings reach the page as two `<meta>` tags filled into `index.html`
//! (HTML-escaped), not as an inline script (the content security policy forbids those)
//! nor as a request of its own (one more round trip before the map can start). The page
//! is filled per request from the app's settings: this router is built without them,
//! and replacing two tags in a 5 KB page costs microseconds.

use axum::{
    Router,
    extract::State,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
    routing::get,
};
use maplink::config::Settings;

use crate::state::AppState;

const INDEX: &str = include_str!("../web/index.html");
const APP_JS: &str = include_str!("../web/app.js");
const APP_CSS: &str = include_str!("../web/app.css");
const MAP_JS: &str = include_str!("../web/map.js");
const LEAFLET_JS: &str = include_str!("../web/vendor/leaflet/leaflet.js");
const LEAFLET_CSS: &str = include_str!("../web/vendor/leaflet/leaflet.css");

/// Where Leaflet is served. The version is part of the path, so browsers may keep the
/// files for a year ([`IMMUTABLE`]); `index.html` names the same paths.
const LEAFLET_DIR: &str = "/assets/leaflet-1.9.4";

/// Scripts only from this origin, nothing inline: even if markup slipped into the
/// page, the browser would not run it.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/// The images directive of [`CSP`]: the submitter page adds the map's tile origin to it
/// and nothing else.
const IMG_SRC: &str = "img-src 'self' data:";

/// Files whose path changes with their content.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The country outlines change only with a new build; a day keeps a browser from
/// fetching them on every visit without pinning an old build's copy for long.
const OUTLINES_CACHE: &str = "public, max-age=86400";

const TILE_URL_META: &str = r#"<meta name="maplink-tile-url" content="">"#;
const TILE_ATTRIBUTION_META: &str = r#"<meta name="maplink-tile-attribution" content="">"#;
const MAX_POINTS_META: &str = r#"<meta name="maplink-map-max-points" content="">"#;

pub(super) fn asset(body: &'static str, content_type: &'static str) -> Response {
    cached_asset(body, content_type, "no-cache")
}

/// An asset with its own `Cache-Control`.
fn cached_asset(
    body: &'static str,
    content_type: &'static str,
    cache_control: &'static str,
) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

/// An HTML page with the strict content security policy.
pub(super) fn page(html: &'static str) -> Response {
    let mut r = asset(html, "text/html; charset=utf-8");
    r.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    r
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(index))
        .route(
            "/assets/app.js",
            get(|| async { asset(APP_JS, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/assets/app.css",
            get(|| async { asset(APP_CSS, "text/css; charset=utf-8") }),
        )
        .route(
            "/assets/map.js",
            get(|| async { asset(MAP_JS, "text/javascript; charset=utf-8") }),
        )
        .route(
            &format!("{LEAFLET_DIR}/leaflet.js"),
            get(|| async { cached_asset(LEAFLET_JS, "text/javascript; charset=utf-8", IMMUTABLE) }),
        )
        .route(
            &format!("{LEAFLET_DIR}/leaflet.css"),
            get(|| async { cached_asset(LEAFLET_CSS, "text/css; charset=utf-8", IMMUTABLE) }),
        )
        .route("/assets/outlines.json", get(outlines))
}

/// The submitter page with the map's tile settings filled in, and a policy that lets
/// images come from the tile server.
async fn index(State(state): State<AppState>) -> Response {
    let (html, csp) = render_index(&state.settings);
    let mut r = html.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    match HeaderValue::try_from(csp) {
        Ok(v) => h.insert(header::CONTENT_SECURITY_POLICY, v),
        // Not reachable with a checked origin (scheme, host and port only); should it
        // happen, the page still gets the strict policy and its map simply shows no tiles.
        Err(_) => h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ),
    };
    r
}

/// `index.html` with the tile settings in its `<meta>` tags, and its policy. A template
/// that fails the start-up check (only possible for settings built in code) counts as
/// none: no tiles, and no origin added to the policy.
fn render_index(settings: &Settings) -> (String, String) {
    let origin = settings.map_tile_origin().ok().flatten();
    let url = if origin.is_some() {
        settings.map_tile_url.as_str()
    } else {
        ""
    };
    let html = INDEX
        .replacen(
            TILE_URL_META,
            &format!(
                r#"<meta name="maplink-tile-url" content="{}">"#,
                escape(url)
            ),
            1,
        )
        .replacen(
            TILE_ATTRIBUTION_META,
            &format!(
                r#"<meta name="maplink-tile-attribution" content="{}">"#,
                escape(&settings.map_tile_attribution)
            ),
            1,
        )
        .replacen(
            MAX_POINTS_META,
            &format!(
                r#"<meta name="maplink-map-max-points" content="{}">"#,
                settings.map_max_points
            ),
            1,
        );
    let csp = match origin {
        Some(origin) => CSP.replacen(IMG_SRC, &format!("{IMG_SRC} {origin}"), 1),
        None => CSP.to_owned(),
    };
    (html, csp)
}

/// Text for an HTML attribute value in double quotes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// The country outlines ([`maplink::geo::outlines_geojson`]). The first request builds
/// them, CPU-bound for a moment: on a blocking thread, not on the async runtime.
async fn outlines() -> Response {
    match tokio::task::spawn_blocking(maplink::geo::outlines_geojson).await {
        Ok(json) => cached_asset(json, "application/geo+json", OUTLINES_CACHE),
        // Logged once by the error type.
        Err(e) => {
            crate::error::ApiError::Internal(format!("building the map's country outlines: {e}"))
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(url: &str, attribution: &str) -> Settings {
        Settings {
            map_tile_url: url.into(),
            map_tile_attribution: attribution.into(),
            ..Settings::default()
        }
    }

    #[test]
    fn the_page_holds_each_placeholder_once_and_names_the_served_leaflet() {
        assert_eq!(INDEX.matches(TILE_URL_META).count(), 1);
        assert_eq!(INDEX.matches(TILE_ATTRIBUTION_META).count(), 1);
        assert!(INDEX.contains(&format!(r#"href="{LEAFLET_DIR}/leaflet.css""#)));
        assert!(INDEX.contains(&format!(r#"src="{LEAFLET_DIR}/leaflet.js""#)));
        assert!(CSP.matches(IMG_SRC).count() == 1);
    }

    #[test]
    fn the_tile_settings_are_escaped_into_the_page_and_the_origin_into_its_policy() {
        let (html, csp) = render_index(&settings(
            "https://{s}.tiles.example.org/{z}/{x}/{y}.png?a=1&b=\"2\"",
            r#"© <a href="https://example.org/">Example</a> <script>"#,
        ));
        assert!(html.contains(
            r#"<meta name="maplink-tile-url" content="https://{s}.tiles.example.org/{z}/{x}/{y}.png?a=1&amp;b=&quot;2&quot;">"#
        ));
        assert!(html.contains(
            r#"content="© &lt;a href=&quot;https://example.org/&quot;&gt;Example&lt;/a&gt; &lt;script&gt;">"#
        ));
        assert_eq!(
            csp,
            CSP.replace(
                "img-src 'self' data:;",
                "img-src 'self' data: https://*.tiles.example.org;"
            )
        );
    }

    #[test]
    fn with_no_tiles_the_page_gets_an_empty_url_and_the_strict_policy() {
        for url in ["", "not a template"] {
            let (html, csp) = render_index(&settings(url, "x"));
            assert!(html.contains(TILE_URL_META), "{url}");
            assert_eq!(csp, CSP);
        }
    }
}
