//! The operators' surface: `/metrics` (Prometheus), `/api/v1/ops/stats` (JSON), the dead
//! list (`/api/v1/ops/dead-jobs`, in [`super::dead_jobs`]), and the `/ops` dashboard page
//! that renders them. Who may read the data and act on the dead list is decided by
//! [`OpsGate`] (the same rule as a worker's `/metrics`); actions also refuse requests
//! another site's page could forge. The page itself holds no data and stays open.

use std::{net::SocketAddr, sync::Arc, time::Instant};

use axum::{
    Json, Router,
    extract::{ConnectInfo, State},
    http::{HeaderMap, Method},
    middleware,
    response::{IntoResponse, Response},
    routing::{MethodRouter, get},
};
use maplink::ops::{LIVE_AFTER_BEATS, OpsGate, OpsRefusal};
use serde_json::{Value, json};

use crate::{error::ApiError, service::views::rfc3339, state::AppState};

const OPS_HTML: &str = include_str!("../web/ops.html");
const OPS_JS: &str = include_str!("../web/ops.js");

/// The v1 ops routes, all behind the gate; also read by the OpenAPI check.
pub fn table() -> Vec<(Method, &'static str, MethodRouter<AppState>)> {
    let mut routes = vec![(Method::GET, "/api/v1/ops/stats", get(stats))];
    routes.extend(super::dead_jobs::table());
    routes
}

pub fn router(state: AppState) -> Router<AppState> {
    let guarded = table()
        .into_iter()
        .fold(Router::new(), |r, (_, path, handler)| {
            r.route(path, handler)
        })
        .route(
            "/metrics",
            get(|State(s): State<AppState>| async move { s.metrics.render() }),
        )
        .route_layer(middleware::from_fn_with_state(
            Arc::new(OpsGate::from_settings(&state.settings)),
            gate,
        ));
    Router::new()
        .merge(guarded)
        .route("/ops", get(|| async { super::web::page(OPS_HTML) }))
        .route(
            "/assets/ops.js",
            get(|| async { super::web::asset(OPS_JS, "text/javascript; charset=utf-8") }),
        )
}

/// Lets a request through [`OpsGate`] (the rule the workers' `/metrics` follows too),
/// answering a refusal as the API answers every error. The gate sees the connection's
/// peer address, never a forwarded one. An action (POST, DELETE) must also come from
/// this service's own page or a script ([`same_site_action`]).
async fn gate(
    State(gate): State<Arc<OpsGate>>,
    req: axum::extract::Request,
    next: middleware::Next,
) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if let Err(refusal) = gate.check(req.headers(), peer) {
        return match refusal {
            OpsRefusal::Unauthorized => ApiError::OpsUnauthorized,
            OpsRefusal::Closed => ApiError::OpsClosed,
            OpsRefusal::NotLocal => ApiError::OpsNotLocal,
        }
        .into_response();
    }
    if is_action(req.method())
        && let Err(e) = same_site_action(req.headers())
    {
        return e.into_response();
    }
    next.run(req).await
}

fn is_action(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Refuses an operator action another site's page could have made the operator's
/// browser send (cross-site request forgery), whatever the CORS setting:
/// - `Sec-Fetch-Site` (every current browser sends it) must be `same-origin` or `none`
///   (typed or bookmarked); `same-site` is refused too, a sibling subdomain is
///   another site's page;
/// - `Origin`, when sent, must name the host the request was sent to;
/// - the body must be declared JSON: a plain HTML form cannot send that content type,
///   and a script on another origin that sets it needs a CORS preflight, which
///   `/api/v1/ops/*` never passes.
///
/// Scripts (curl, a client library) send neither browser header and pass with the JSON
/// content type.
fn same_site_action(headers: &HeaderMap) -> Result<(), ApiError> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = header("sec-fetch-site")
        && !matches!(site, "same-origin" | "none")
    {
        return Err(ApiError::CrossSite);
    }
    if let Some(origin) = header("origin") {
        let origin_host = origin
            .split_once("://")
            .map(|(_, rest)| rest.trim_end_matches('/'));
        let same = matches!((origin_host, header("host")), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h));
        if !same {
            return Err(ApiError::CrossSite);
        }
    }
    let json = header("content-type").is_some_and(|ct| {
        ct.split(';')
            .next()
            .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
    });
    if !json {
        return Err(ApiError::JsonRequired);
    }
    Ok(())
}

/// Everything the dashboard shows, from the shared stores.
async fn stats(State(state): State<AppState>) -> Json<Value> {
    let now = state.clock.now_ms();
    let started = Instant::now();
    let census = state.sessions.census().await;
    let store_ms = started.elapsed().as_secs_f64() * 1000.0;
    let heartbeat_ms =
        i64::try_from(state.settings.queue().heartbeat.as_millis()).unwrap_or(i64::MAX);
    let live_cutoff = now - LIVE_AFTER_BEATS * heartbeat_ms;
    let queue = state.queue.depth().await;
    let workers = state.ops.workers().await.unwrap_or_default();
    let throughput = state.ops.throughput(60).await.unwrap_or_default();
    let cleanups = state.ops.recent_cleanups(20).await.unwrap_or_default();
    let resolution = state.ops.resolutions().await.unwrap_or_default();
    let minutes = |ms: i64| (ms as f64 / 6_000.0).round() / 10.0;
    Json(json!({
        "generated_at": rfc3339(now),
        "mode": if state.settings.redis_url.is_some() { "distributed" } else { "embedded" },
        "store": match &census {
            Ok(_) => json!({ "ok": true, "latency_ms": (store_ms * 10.0).round() / 10.0 }),
            Err(e) => json!({ "ok": false, "error": e.to_string() }),
        },
        "queue": match queue {
            Ok(d) => json!({
                "pending": d.pending, "scheduled": d.scheduled, "running": d.running,
                "done": d.done, "dead": d.dead,
                "oldest_pending_seconds": (d.oldest_pending_ms as f64 / 100.0).round() / 10.0,
            }),
            Err(e) => json!({ "error": e }),
        },
        "workers": workers.iter().map(|w| json!({
            "name": w.name, "host": w.host, "pid": w.pid,
            "started_at": rfc3339(w.started_ms), "last_heartbeat_at": rfc3339(w.last_heartbeat_ms),
            "heartbeat_age_s": ((now - w.last_heartbeat_ms).max(0) as f64 / 1000.0).round(),
            "live": w.last_heartbeat_ms >= live_cutoff, "in_flight": w.in_flight, "jobs_done": w.jobs_done,
        })).collect::<Vec<_>>(),
        "sessions": match &census {
            Ok(c) => json!({
                "by_status": c.by_status,
                "total": c.by_status.values().sum::<u64>(),
                "oldest_idle_minutes": c.oldest_last_seen_ms.map(|t| minutes((now - t).max(0))),
            }),
            Err(_) => Value::Null,
        },
        "ttl_minutes": state.settings.sessions().ttl.as_secs_f64() / 60.0,
        "throughput": throughput,
        "cleanups": cleanups.iter().map(|c| json!({
            "ran_at": rfc3339(c.ran_at_ms), "runner": c.runner,
            "sessions": c.sessions.iter().map(|s| json!({
                "id": s.id.short(), "age_minutes": minutes(s.age_ms), "idle_minutes": minutes(s.idle_ms), "status": s.status,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "resolution": resolution,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.insert(*name, value.parse().unwrap());
        }
        h
    }

    const JSON: (&str, &str) = ("content-type", "application/json");

    #[test]
    fn a_script_with_a_json_content_type_may_act() {
        assert!(same_site_action(&headers(&[JSON])).is_ok());
        assert!(
            same_site_action(&headers(&[(
                "content-type",
                "Application/JSON; charset=utf-8"
            )]))
            .is_ok()
        );
    }

    #[test]
    fn the_services_own_page_may_act() {
        let h = headers(&[
            JSON,
            ("host", "127.0.0.1:8080"),
            ("origin", "http://127.0.0.1:8080"),
            ("sec-fetch-site", "same-origin"),
        ]);
        assert!(same_site_action(&h).is_ok());
    }

    #[test]
    fn another_sites_page_may_not_act() {
        for h in [
            headers(&[
                JSON,
                ("host", "127.0.0.1:8080"),
                ("origin", "https://evil.example"),
            ]),
            headers(&[JSON, ("host", "127.0.0.1:8080"), ("origin", "null")]),
            headers(&[
                JSON,
                ("host", "127.0.0.1:8080"),
                ("origin", "http://127.0.0.1:9999"),
            ]),
            headers(&[JSON, ("sec-fetch-site", "cross-site")]),
            headers(&[JSON, ("sec-fetch-site", "same-site")]),
            headers(&[JSON, ("origin", "http://127.0.0.1:8080")]),
        ] {
            assert!(
                matches!(same_site_action(&h), Err(ApiError::CrossSite)),
                "{h:?}"
            );
        }
    }

    #[test]
    fn a_form_content_type_is_not_enough() {
        for ct in [
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "text/plain",
        ] {
            let mut h = HeaderMap::new();
            h.insert("content-type", ct.parse().unwrap());
            assert!(
                matches!(same_site_action(&h), Err(ApiError::JsonRequired)),
                "{ct}"
            );
        }
        assert!(matches!(
            same_site_action(&HeaderMap::new()),
            Err(ApiError::JsonRequired)
        ));
    }
}
