//! Rate limits, submitter tokens, who may read operator data, CORS and slow clients.

use std::time::Duration;

use maplink_tests::{
    Backend, RedisServer, TestApp,
    api::assert_rate_limited,
    binaries::{start_worker, worker_env},
};
use reqwest::{StatusCode, multipart};
use serde_json::Value;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

const TOKEN_A: &str = "token-alpha-0123456789";
const TOKEN_B: &str = "token-bravo-0123456789";
const OPS_TOKEN: &str = "ops-token-0123456789";

fn form(bytes: Vec<u8>) -> multipart::Form {
    multipart::Form::new().part("file", multipart::Part::bytes(bytes).file_name("a.csv"))
}

#[tokio::test]
async fn uploads_over_the_rate_limit_get_429_with_retry_after() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.rate_limit_uploads_per_minute = 3;
        s.rate_limit_process_per_minute = 2;
    })
    .await;
    let csv = b"Name,Region,Maps\nA,B,\"1.5,2.5\"\n".to_vec();
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(
            app.upload_ok("a.csv", csv.clone()).await["session_id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    // The seed route shares the budget.
    let r = app
        .client
        .post(app.url("/upload"))
        .multipart(form(csv.clone()))
        .send()
        .await
        .unwrap();
    let (wait, body) = assert_rate_limited(r).await;
    assert_eq!(
        body["error"],
        format!("Too many uploads. Please wait {wait} seconds and try again.")
    );

    // Processing has its own budget; reads are not limited.
    assert_eq!(app.process(&ids[0]).await.status(), 202);
    assert_eq!(
        app.post(&format!("/process/{}", ids[1])).await.status(),
        200
    );
    assert_eq!(
        app.process(&ids[2]).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    for _ in 0..10 {
        assert_eq!(app.session(&ids[0]).await.status(), 200);
    }
    app.stop().await;
}

#[tokio::test]
async fn with_tokens_each_submitter_sees_only_their_own_sessions() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.submitter_tokens = vec![TOKEN_A.into(), TOKEN_B.into()]
    })
    .await;
    let csv = b"Name,Region,Maps\nA,B,\"1.5,2.5\"\n".to_vec();

    let r = app.upload("a.csv", csv.clone()).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "unauthorized");
    let r = app
        .client
        .post(app.url("/api/v1/sessions"))
        .bearer_auth("not-a-known-token-123")
        .multipart(form(csv.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    let r = app
        .client
        .post(app.url("/api/v1/sessions"))
        .bearer_auth(TOKEN_A)
        .multipart(form(csv.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.unwrap()["session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let as_a = app
        .client
        .get(app.url(&format!("/api/v1/sessions/{id}")))
        .bearer_auth(TOKEN_A)
        .send()
        .await
        .unwrap();
    assert_eq!(as_a.status(), 200);
    for path in [
        format!("/api/v1/sessions/{id}"),
        format!("/api/v1/sessions/{id}/download"),
        format!("/download/{id}"),
    ] {
        let as_b = app
            .client
            .get(app.url(&path))
            .bearer_auth(TOKEN_B)
            .send()
            .await
            .unwrap();
        assert_eq!(
            as_b.status(),
            StatusCode::NOT_FOUND,
            "{path}: another token's session does not exist"
        );
    }
    let r = app
        .client
        .post(app.url(&format!("/api/v1/sessions/{id}/process")))
        .bearer_auth(TOKEN_B)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = app
        .client
        .delete(app.url(&format!("/api/v1/sessions/{id}")))
        .bearer_auth(TOKEN_B)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // Event streams accept the token as a query parameter (browsers cannot set headers).
    let r = app
        .client
        .get(app.url(&format!(
            "/api/v1/sessions/{id}/events?access_token={TOKEN_A}"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    drop(r);
    // Health checks and the API description stay open.
    assert_eq!(app.get("/healthz").await.status(), 200);
    assert_eq!(app.get("/api/v1/openapi.json").await.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn a_token_in_the_url_is_taken_only_by_event_streams() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.submitter_tokens = vec![TOKEN_A.into()]
    })
    .await;
    let r = app
        .client
        .post(app.url("/api/v1/sessions"))
        .bearer_auth(TOKEN_A)
        .multipart(form(b"Name,Region,Maps\nA,B,\"1.5,2.5\"\n".to_vec()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.unwrap()["session_id"]
        .as_str()
        .unwrap()
        .to_owned();

    for path in [
        format!("/api/v1/sessions/{id}"),
        format!("/api/v1/sessions/{id}/download"),
        format!("/api/v1/sessions/{id}/rows"),
        format!("/download/{id}"),
    ] {
        let r = app.get(&format!("{path}?access_token={TOKEN_A}")).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(r.json::<Value>().await.unwrap()["code"], "unauthorized");
    }
    for path in [
        format!("/api/v1/sessions/{id}/events"),
        format!("/process-stream/{id}"),
    ] {
        let r = app.get(&format!("{path}?access_token={TOKEN_A}")).await;
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(r.headers()["content-type"], "text/event-stream");
    }
    app.stop().await;
}

#[tokio::test]
async fn operator_data_is_closed_when_only_submitter_tokens_are_set() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.submitter_tokens = vec![TOKEN_A.into()]
    })
    .await;
    for path in ["/metrics", "/api/v1/ops/stats"] {
        for token in [None, Some(TOKEN_A)] {
            let mut req = app.client.get(app.url(path));
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            let r = req.send().await.unwrap();
            assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path} with {token:?}");
            let body: Value = r.json().await.unwrap();
            assert_eq!(body["code"], "forbidden");
            assert!(
                body["error"].as_str().unwrap().contains("ops_token"),
                "{body}"
            );
        }
    }
    // The dashboard page holds no data; health checks stay open for probes.
    assert_eq!(app.get("/ops").await.status(), 200);
    assert_eq!(app.get("/healthz").await.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn with_an_ops_token_operator_data_needs_it_in_the_authorization_header() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.submitter_tokens = vec![TOKEN_A.into()];
        s.ops_token = Some(OPS_TOKEN.into());
    })
    .await;
    for path in ["/metrics", "/api/v1/ops/stats"] {
        for (what, req) in [
            ("no token", app.client.get(app.url(path))),
            (
                "a submitter token",
                app.client.get(app.url(path)).bearer_auth(TOKEN_A),
            ),
            (
                "a prefix of the ops token",
                app.client
                    .get(app.url(path))
                    .bearer_auth(&OPS_TOKEN[..OPS_TOKEN.len() - 1]),
            ),
            (
                "the ops token in the URL",
                app.client
                    .get(app.url(&format!("{path}?token={OPS_TOKEN}"))),
            ),
        ] {
            let r = req.send().await.unwrap();
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{path} with {what}");
            assert_eq!(r.headers()["www-authenticate"], "Bearer");
            assert_eq!(r.json::<Value>().await.unwrap()["code"], "unauthorized");
        }
    }
    let r = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth(OPS_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("maplink_"));
    let r = app
        .client
        .get(app.url("/api/v1/ops/stats"))
        .bearer_auth(OPS_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.json::<Value>().await.unwrap()["queue"].is_object());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workers_metrics_follow_the_same_rule_as_the_apis() {
    let redis = RedisServer::start();
    let data = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let client = maplink_tests::http_client();
    let listener = |extra: &[(&str, &str)]| {
        let worker = start_worker(&worker_env(&redis.url(), data.path(), extra), logs.path());
        let started = worker.wait_for_message("maplink worker started", Duration::from_secs(20));
        let addr = started["fields"]["metrics"].as_str().unwrap().to_owned();
        (worker, format!("http://{addr}"))
    };

    let (_guarded, base) = listener(&[("MAPLINK_OPS_TOKEN", OPS_TOKEN)]);
    let r = client.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "unauthorized");
    let r = client
        .get(format!("{base}/metrics"))
        .bearer_auth(OPS_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("maplink_"));
    let r = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200, "probes need no token");

    let (_closed, base) = listener(&[("MAPLINK_SUBMITTER_TOKENS", TOKEN_A)]);
    let r = client
        .get(format!("{base}/metrics"))
        .bearer_auth(TOKEN_A)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "forbidden");
}

/// A browser's CORS preflight for an upload with a token, from `origin`.
async fn preflight(app: &TestApp, origin: &str) -> reqwest::Response {
    app.client
        .request(reqwest::Method::OPTIONS, app.url("/api/v1/sessions"))
        .header("Origin", origin)
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "authorization")
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_wildcard_origin_is_answered_with_a_star_and_no_credentials() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.cors_allowed_origins = vec!["*".into()]
    })
    .await;
    let preflight = preflight(&app, "https://anyone.example").await;
    let simple = app
        .client
        .get(app.url("/healthz"))
        .header("Origin", "https://anyone.example")
        .send()
        .await
        .unwrap();
    for r in [preflight, simple] {
        assert_eq!(r.headers()["access-control-allow-origin"], "*");
        assert!(varies_on_origin(&r));
        assert!(
            r.headers()
                .get("access-control-allow-credentials")
                .is_none()
        );
    }
    app.stop().await;
}

/// Whether a response says it depends on the request's `Origin` (header names are
/// case-insensitive, and `Vary` may list several).
fn varies_on_origin(r: &reqwest::Response) -> bool {
    r.headers()
        .get_all("vary")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|name| name.trim().eq_ignore_ascii_case("origin"))
}

#[tokio::test]
async fn cors_is_off_by_default_and_follows_the_allow_list() {
    let closed = TestApp::spawn(Backend::Sqlite).await;
    let r = closed
        .client
        .get(closed.url("/healthz"))
        .header("Origin", "https://maps.example.org")
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
    closed.stop().await;

    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.cors_allowed_origins = vec!["https://maps.example.org".into()]
    })
    .await;
    let r = preflight(&app, "https://maps.example.org").await;
    // Any 2xx is an ok preflight answer (Fetch standard); tower-http's is 200.
    assert!(r.status().is_success(), "{}", r.status());
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://maps.example.org"
    );
    assert!(
        r.headers()["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("POST")
    );
    assert_eq!(r.headers()["access-control-max-age"], "600");
    assert!(varies_on_origin(&r));
    assert!(
        r.headers()
            .get("access-control-allow-credentials")
            .is_none()
    );
    let r = preflight(&app, "https://evil.example").await;
    assert!(r.headers().get("access-control-allow-origin").is_none());

    let r = app
        .client
        .get(app.url("/healthz"))
        .header("Origin", "https://maps.example.org")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://maps.example.org"
    );
    assert!(varies_on_origin(&r));
    assert!(
        r.headers()["access-control-expose-headers"]
            .to_str()
            .unwrap()
            .contains("retry-after")
    );
    let r = app
        .client
        .get(app.url("/healthz"))
        .header("Origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
    app.stop().await;
}

/// Reads what the server sends until it closes the connection (or `limit` passes).
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> Option<String> {
    let mut buf = Vec::new();
    match tokio::time::timeout(limit, stream.read_to_end(&mut buf)).await {
        Ok(_) => Some(String::from_utf8_lossy(&buf).into_owned()),
        Err(_) => None,
    }
}

#[tokio::test]
async fn slow_clients_are_cut_off() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.request_header_timeout_secs = 1;
        s.request_body_timeout_secs = 1;
    })
    .await;

    // Headers that never finish: the connection is closed.
    let mut headers_only = TcpStream::connect(app.addr).await.unwrap();
    headers_only
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    assert!(
        read_until_closed(&mut headers_only, Duration::from_secs(5))
            .await
            .is_some(),
        "a slow header was not cut off"
    );

    // An upload body that trickles: 408 with a JSON reason, and the connection ends.
    let boundary = "XyZ";
    let head = format!(
        "POST /api/v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: 100000\r\n\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\r\nName,Region,Maps\n"
    );
    let mut slow = TcpStream::connect(app.addr).await.unwrap();
    slow.write_all(head.as_bytes()).await.unwrap();
    let trickle = tokio::spawn(async move {
        for _ in 0..50 {
            if slow.write_all(b"a").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let mut buf = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), slow.read_to_end(&mut buf)).await;
        String::from_utf8_lossy(&buf).into_owned()
    });
    let answer = tokio::time::timeout(Duration::from_secs(15), trickle)
        .await
        .expect("cut off in time")
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"code\":\"request_timeout\""), "{answer}");
    app.stop().await;
}
