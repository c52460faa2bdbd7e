//! A real HTTP server on 127.0.0.1 playing a Nominatim-compatible address search:
//! `/search` answers from [`PLACES`] the way Nominatim's `jsonv2` does (numbers as
//! strings, a bounding box), an empty list for anything else, and records every
//! request (its parameters, `User-Agent` and arrival time) so that tests can check
//! what was asked, by whom and how fast.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Instant,
};

use axum::{
    Json, Router,
    extract::{Query, State},
    http::{HeaderMap, header},
    routing::get,
};
use serde_json::{Value, json};

/// What the stand-in knows: query (matched case-insensitively), latitude, longitude,
/// and the half-size of its bounding box in degrees (0: no box in the answer).
pub const PLACES: &[(&str, f64, f64, f64)] = &[
    ("sandton city, gauteng", -26.1076, 28.0567, 0.001),
    ("83 rivonia rd, sandton", -26.1072, 28.056, 0.0001),
    ("menlyn park, gauteng", -25.7824, 28.276, 0.002),
    ("union buildings, pretoria", -25.7402, 28.2121, 0.0),
];

/// The place [`PLACES`] holds for `query`.
pub fn place(query: &str) -> (f64, f64) {
    PLACES
        .iter()
        .find(|p| p.0.eq_ignore_ascii_case(query))
        .map(|p| (p.1, p.2))
        .unwrap_or_else(|| panic!("{query:?} is not in the stand-in's table"))
}

/// One request the stand-in received.
#[derive(Clone, Debug)]
pub struct Request {
    pub params: HashMap<String, String>,
    pub user_agent: Option<String>,
    /// When the request arrived, by the server's clock.
    pub at: Instant,
}

impl Request {
    pub fn q(&self) -> &str {
        self.params.get("q").map(String::as_str).unwrap_or_default()
    }
}

type Log = Arc<Mutex<Vec<Request>>>;

pub struct NominatimServer {
    pub addr: SocketAddr,
    log: Log,
    task: tokio::task::JoinHandle<()>,
}

async fn search(
    State(log): State<Log>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Json<Value> {
    let at = Instant::now();
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let q = params.get("q").cloned().unwrap_or_default();
    log.lock().unwrap().push(Request {
        params,
        user_agent,
        at,
    });
    let Some(&(name, lat, lon, half)) = PLACES.iter().find(|p| p.0.eq_ignore_ascii_case(&q)) else {
        return Json(json!([]));
    };
    let mut hit = json!({
        "place_id": 1,
        "lat": lat.to_string(),
        "lon": lon.to_string(),
        "display_name": name,
        "category": "place",
        "type": "house",
    });
    if half > 0.0 {
        hit["boundingbox"] = json!([
            (lat - half).to_string(),
            (lat + half).to_string(),
            (lon - half).to_string(),
            (lon + half).to_string(),
        ]);
    }
    Json(json!([hit]))
}

impl NominatimServer {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1");
        let addr = listener.local_addr().unwrap();
        let log = Log::default();
        let app = Router::new()
            .route("/search", get(search))
            .with_state(log.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, log, task }
    }

    /// The base URL to configure as `geocode_url`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request so far, in order of arrival.
    pub fn requests(&self) -> Vec<Request> {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for NominatimServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
