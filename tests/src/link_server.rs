//! A real HTTP server on 127.0.0.1 playing the part of short-link services and map
//! pages: redirect chains, loops, slow and failing answers, huge bodies, redirects to
//! internal addresses, and a Places-compatible search. It counts the hits per path.
//!
//! [`BrokenServer`] is the raw TCP counterpart for failures an HTTP framework will not
//! produce: a peer that hangs up, cuts a body short or never answers.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Json, Router,
    extract::{Path, Query, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::json;

/// Where redirects to coordinates point (the parser reads them from the Location).
pub const COORDS_URL: &str = "https://www.google.com/maps/place/Cape+Town/@-33.9249,18.4241,15z";
pub const PLACES_KEY: &str = "test-key";

#[derive(Clone, Default)]
struct Shared {
    hits: Arc<Mutex<HashMap<String, usize>>>,
    /// Address of the second server (on 127.0.0.2), for the internal-redirect case.
    other: Arc<Mutex<Option<SocketAddr>>>,
    own: Arc<Mutex<Option<SocketAddr>>>,
}

pub struct LinkServer {
    pub addr: SocketAddr,
    /// A second server on 127.0.0.2 (another loopback address, so "another host").
    pub other_addr: SocketAddr,
    shared: Shared,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

fn redirect(to: &str) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, to.to_owned())]).into_response()
}

fn html(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

async fn count(State(s): State<Shared>, path: &str) -> usize {
    let mut hits = s.hits.lock().unwrap();
    let n = hits.entry(path.to_owned()).or_default();
    *n += 1;
    *n
}

fn router(shared: Shared) -> Router {
    Router::new()
        .route("/to-coords", get(|| async { redirect(COORDS_URL) }))
        .route(
            "/chain/{n}",
            get(|Path(n): Path<u32>| async move {
                if n == 0 { redirect(COORDS_URL) } else { redirect(&format!("/chain/{}", n - 1)) }
            }),
        )
        .route("/loop-a", get(|| async { redirect("/loop-b") }))
        .route("/loop-b", get(|| async { redirect("/loop-a") }))
        .route(
            "/page-center",
            get(|State(s): State<Shared>| async move {
                count(State(s), "/page-center").await;
                html(r#"<script>var s={"center":{"lat":-26.2041,"lng":28.0473}};</script>"#.into())
            }),
        )
        .route(
            "/page-og",
            get(|| async {
                html(r#"<head><meta property="og:latitude" content="-29.8587"><meta property="og:longitude" content="31.0218"></head>"#.into())
            }),
        )
        .route("/page-none", get(|| async { html("<html><body>No map here</body></html>".into()) }))
        .route("/maps/place/{name}", get(|| async { html("<html>a place page without coordinates</html>".into()) }))
        .route("/to-page", get(|| async { redirect("/page-center") }))
        .route(
            "/slow",
            get(|State(s): State<Shared>| async move {
                count(State(s), "/slow").await;
                tokio::time::sleep(Duration::from_secs(5)).await;
                redirect(COORDS_URL)
            }),
        )
        .route(
            "/fail",
            get(|State(s): State<Shared>| async move {
                count(State(s), "/fail").await;
                StatusCode::SERVICE_UNAVAILABLE
            }),
        )
        .route(
            "/flaky",
            get(|State(s): State<Shared>| async move {
                if count(State(s), "/flaky").await < 3 { StatusCode::BAD_GATEWAY.into_response() } else { redirect(COORDS_URL) }
            }),
        )
        .route(
            "/gone",
            get(|State(s): State<Shared>| async move {
                count(State(s), "/gone").await;
                StatusCode::NOT_FOUND
            }),
        )
        .route("/huge", get(|| async { html("x".repeat(3 * 1024 * 1024)) }))
        .route(
            "/to-internal",
            get(|State(s): State<Shared>| async move {
                let other = s.other.lock().unwrap().expect("second server");
                redirect(&format!("http://{other}/page-center"))
            }),
        )
        .route(
            "/to-localhost",
            get(|State(s): State<Shared>| async move {
                let own = s.own.lock().unwrap().expect("own address");
                redirect(&format!("http://localhost:{}/page-center", own.port()))
            }),
        )
        .route(
            "/delayed/{lat}/{lng}",
            get(|State(s): State<Shared>, Path((lat, lng)): Path<(String, String)>| async move {
                count(State(s), "/delayed").await;
                tokio::time::sleep(Duration::from_millis(100)).await;
                redirect(&format!("https://maps.google.com/?q={lat},{lng}"))
            }),
        )
        .route("/maps/api/place/textsearch/json", get(places))
        .route("/maps/api/place/details/json", get(place_details))
        .route(
            "/redirect",
            get(|Query(q): Query<HashMap<String, String>>| async move {
                redirect(q.get("to").map(String::as_str).unwrap_or("/"))
            }),
        )
        // Places stand-ins under their own base path: one that is down, and one that
        // echoes the key it was sent in its error message.
        .route(
            "/places-down/maps/api/place/textsearch/json",
            get(|| async { StatusCode::SERVICE_UNAVAILABLE }),
        )
        .route(
            "/places-echo/maps/api/place/textsearch/json",
            get(|Query(q): Query<HashMap<String, String>>| async move {
                let key = q.get("key").cloned().unwrap_or_default();
                Json(json!({
                    "status": "REQUEST_DENIED",
                    "error_message": format!("The provided API key {key} is invalid."),
                    "results": []
                }))
            }),
        )
        .fallback(|| async { StatusCode::NOT_FOUND })
        .with_state(shared)
}

async fn places(
    State(s): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> Json<serde_json::Value> {
    count(State(s), "/places").await;
    if q.get("key").map(String::as_str) != Some(PLACES_KEY) {
        return Json(
            json!({"status": "REQUEST_DENIED", "error_message": "The provided API key is invalid.", "results": []}),
        );
    }
    match q.get("query").map(String::as_str) {
        Some("Polokwane Mall") => Json(json!({
            "status": "OK",
            "results": [{"name": "Mall of the North", "geometry": {"location": {"lat": -23.8772, "lng": 29.4848}}}]
        })),
        _ => Json(json!({"status": "ZERO_RESULTS", "results": []})),
    }
}

/// Place Details: one known `place_id` (Google's documented example, Sydney's
/// Google office).
async fn place_details(
    State(s): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> Json<serde_json::Value> {
    count(State(s), "/places").await;
    if q.get("key").map(String::as_str) != Some(PLACES_KEY) {
        return Json(
            json!({"status": "REQUEST_DENIED", "error_message": "The provided API key is invalid."}),
        );
    }
    match q.get("place_id").map(String::as_str) {
        Some("ChIJN1t_tDeuEmsRUsoyG83frY4") => Json(json!({
            "status": "OK",
            "result": {"geometry": {"location": {"lat": -33.866489, "lng": 151.1958561}}}
        })),
        _ => Json(json!({"status": "NOT_FOUND"})),
    }
}

impl LinkServer {
    pub async fn start() -> Self {
        let shared = Shared::default();
        let main = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1");
        let other = tokio::net::TcpListener::bind("127.0.0.2:0")
            .await
            .expect("bind 127.0.0.2");
        let addr = main.local_addr().unwrap();
        let other_addr = other.local_addr().unwrap();
        *shared.other.lock().unwrap() = Some(other_addr);
        *shared.own.lock().unwrap() = Some(addr);
        let tasks = vec![
            tokio::spawn({
                let app = router(shared.clone());
                async move {
                    let _ = axum::serve(main, app).await;
                }
            }),
            tokio::spawn({
                let app = router(shared.clone());
                async move {
                    let _ = axum::serve(other, app).await;
                }
            }),
        ];
        Self {
            addr,
            other_addr,
            shared,
            tasks,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn hits(&self, path: &str) -> usize {
        self.shared
            .hits
            .lock()
            .unwrap()
            .get(path)
            .copied()
            .unwrap_or(0)
    }
}

impl Drop for LinkServer {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// How a [`BrokenServer`] treats every request it reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Breakage {
    /// Closes the connection without a word.
    Hangup,
    /// Promises a body of 1000 bytes, sends a few, and closes.
    TruncatedBody,
    /// Keeps the connection open and never answers.
    Silent,
}

/// A TCP server on 127.0.0.1 that reads one request per connection and then
/// misbehaves as told.
pub struct BrokenServer {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl BrokenServer {
    pub async fn start(breakage: Breakage) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1");
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(misbehave(socket, breakage));
            }
        });
        Self { addr, task }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// A URL on 127.0.0.1 where nothing listens (a port just bound and released).
    pub async fn closed_port_url() -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1");
        let addr = listener.local_addr().unwrap();
        drop(listener);
        format!("http://{addr}")
    }
}

async fn misbehave(mut socket: tokio::net::TcpStream, breakage: Breakage) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // Read the request head first, so that the client sees the failure after sending,
    // not as a refused connection.
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match socket.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    match breakage {
        Breakage::Hangup => {}
        Breakage::TruncatedBody => {
            let _ = socket
                .write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{\"status\"",
                )
                .await;
        }
        Breakage::Silent => tokio::time::sleep(Duration::from_secs(60)).await,
    }
}

impl Drop for BrokenServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
