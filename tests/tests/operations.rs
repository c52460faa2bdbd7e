//! What operators get: metrics after real jobs (checked by promtool), deploy files that
//! only use exported metrics, the ops dashboard in a browser, and the local cluster.

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use maplink::{
    domain::{FileFormat, Session, now_ms},
    files::FileStore,
    metrics::ALL,
    session::{RedisSessionStore, SessionStore},
};
use maplink_tests::{
    RedisServer, TestApp,
    api::upload_to,
    binaries::{start_worker, worker_env},
    browser::{Browser, artifact},
    eventually, prom, sheets,
};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

async fn text(client: &reqwest::Client, url: &str) -> String {
    client.get(url).send().await.unwrap().text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_exported_after_real_jobs_and_pass_promtool() {
    let redis = Arc::new(RedisServer::start());
    let app = TestApp::spawn_on(Some(redis.clone()), false, |_| {}).await;
    let logs = tempfile::tempdir().unwrap();
    let env = worker_env(
        &redis.url(),
        app.data_dir(),
        &[
            ("MAPLINK_WORKER_METRICS_BIND", "127.0.0.1:0"),
            ("MAPLINK_SESSION_TTL_SECS", "2"),
            ("MAPLINK_CLEANUP_INTERVAL_SECS", "1"),
            ("MAPLINK_HEARTBEAT_INTERVAL_SECS", "1"),
            ("MAPLINK_QUEUE_HEARTBEAT_SECS", "1"),
        ],
    );
    let worker = start_worker(&env, logs.path());
    let started = worker.wait_for_message("maplink worker started", Duration::from_secs(10));
    let worker_metrics = format!(
        "http://{}/metrics",
        started["fields"]["metrics"].as_str().unwrap()
    );

    // Two runs of the worked example: the second answers its dead short link from the cache.
    for _ in 0..2 {
        let created = app.upload_ok("a.xlsx", sheets::seed_example_xlsx()).await;
        let id = created["session_id"].as_str().unwrap().to_owned();
        app.process(&id).await;
        app.wait_for_status(&id, "completed", Duration::from_secs(20))
            .await;
    }
    // Left alone, both sessions expire and are swept.
    worker.wait_for_message("total cleanup", Duration::from_secs(15));

    let api_metrics = app.url("/metrics");
    let api = eventually(
        Duration::from_secs(15),
        "API gauges to see the live worker",
        || async {
            let t = text(&app.client, &api_metrics).await;
            (prom::value(&prom::samples(&t), "maplink_live_workers", &[]).unwrap_or(0.0) >= 1.0)
                .then_some(t)
        },
    )
    .await;
    let work = eventually(Duration::from_secs(15), "worker counters", || async {
        let t = text(&app.client, &worker_metrics).await;
        (prom::value(&prom::samples(&t), "maplink_sessions_expired_total", &[]).unwrap_or(0.0)
            >= 2.0)
            .then_some(t)
    })
    .await;

    for name in ALL {
        let present = |t: &str| {
            t.lines()
                .any(|l| !l.starts_with('#') && l.starts_with(name))
        };
        assert!(
            present(&api) || present(&work),
            "{name} is exported by neither the API nor the worker"
        );
    }
    let (a, w) = (prom::samples(&api), prom::samples(&work));
    let v = |s, n, l: &[(&str, &str)]| {
        prom::value(s, n, l).unwrap_or_else(|| panic!("no sample {n} {l:?}"))
    };
    assert_eq!(v(&a, "maplink_uploads_total", &[]), 2.0);
    assert!(v(&a, "maplink_upload_bytes_total", &[]) > 5_000.0);
    assert_eq!(v(&a, "maplink_jobs_enqueued_total", &[]), 2.0);
    assert_eq!(
        v(
            &a,
            "maplink_http_requests_total",
            &[
                ("route", "/api/v1/sessions"),
                ("method", "POST"),
                ("status", "201")
            ]
        ),
        2.0
    );
    assert!(
        v(
            &a,
            "maplink_http_request_duration_seconds_count",
            &[("route", "/api/v1/sessions/{id}")]
        ) >= 2.0
    );
    assert_eq!(v(&a, "maplink_store_up", &[]), 1.0);
    assert!(v(&a, "maplink_queue_depth", &[("state", "pending")]) >= 0.0);
    assert_eq!(v(&w, "maplink_jobs_started_total", &[]), 2.0);
    assert_eq!(v(&w, "maplink_jobs_completed_total", &[]), 2.0);
    assert_eq!(v(&w, "maplink_jobs_failed_total", &[]), 0.0);
    assert_eq!(v(&w, "maplink_job_duration_seconds_count", &[]), 2.0);
    assert_eq!(v(&w, "maplink_rows_total", &[("outcome", "success")]), 52.0);
    assert_eq!(v(&w, "maplink_rows_total", &[("outcome", "skipped")]), 4.0);
    assert!(v(&w, "maplink_link_cache_hits_total", &[]) >= 1.0);
    assert!(
        v(
            &w,
            "maplink_link_resolutions_total",
            &[("method", "network"), ("outcome", "not_found")]
        ) >= 1.0
    );
    assert!(v(&w, "maplink_worker_heartbeats_total", &[]) >= 1.0);
    assert_eq!(
        v(&w, "maplink_session_age_at_cleanup_seconds_count", &[]),
        2.0
    );
    assert!(v(&w, "maplink_cleanup_runs_total", &[]) >= 1.0);

    let uuid = regex_lite_uuid();
    for (who, t) in [("API", &api), ("worker", &work)] {
        assert!(
            !t.lines().any(&uuid),
            "{who} metrics carry an id in a label"
        );
        prom::check_metrics(t)
            .unwrap_or_else(|e| panic!("promtool rejects the {who} metrics:\n{e}"));
    }
}

/// A check for session-id-shaped text (8-4-4-4-12 hex), without a regex dependency.
fn regex_lite_uuid() -> impl Fn(&str) -> bool {
    |line: &str| {
        line.split(|c: char| !(c.is_ascii_hexdigit() || c == '-'))
            .any(|w| {
                let parts: Vec<&str> = w.split('-').collect();
                parts.len() == 5 && parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
            })
    }
}

#[test]
fn deploy_files_pass_promtool() {
    let alerts = repo().join("deploy/prometheus/alerts.yml");
    let out = prom::check_file("rules", &alerts).unwrap_or_else(|e| panic!("{e}"));
    assert!(out.contains("SUCCESS: 7 rules found"), "{out}");
    // The scrape configuration sends the ops token from the file docker-compose.yml
    // writes inside the Prometheus container; promtool wants that file to exist, so the
    // check runs on a copy whose path names a token file made here.
    const TOKEN_FILE: &str = "/tmp/maplink-ops-token";
    let config = std::fs::read_to_string(repo().join("deploy/prometheus/prometheus.yml")).unwrap();
    assert_eq!(
        config
            .matches(&format!("credentials_file: {TOKEN_FILE}"))
            .count(),
        2,
        "both jobs send the ops token"
    );
    let compose = std::fs::read_to_string(repo().join("deploy/docker-compose.yml")).unwrap();
    assert!(
        compose.contains(&format!("> {TOKEN_FILE}")),
        "compose writes {TOKEN_FILE}"
    );
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("ops-token");
    std::fs::write(&token, "ops-token-0123456789").unwrap();
    std::fs::copy(&alerts, dir.path().join("alerts.yml")).unwrap();
    let copy = dir.path().join("prometheus.yml");
    std::fs::write(
        &copy,
        config.replace(TOKEN_FILE, &token.display().to_string()),
    )
    .unwrap();
    prom::check_file("config", &copy).unwrap_or_else(|e| panic!("{e}"));
}

/// Every `maplink_…` name in a file, with histogram suffixes stripped.
fn metric_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("maplink_") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        let name = &tail[..end];
        let base = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| name.strip_suffix(s))
            .unwrap_or(name);
        names.insert(base.to_owned());
        rest = &tail[end..];
    }
    names
}

#[test]
fn dashboards_and_alerts_only_use_exported_metrics() {
    let exported: BTreeSet<String> = ALL.iter().map(|s| (*s).to_owned()).collect();
    for file in [
        "deploy/grafana/maplink-dashboard.json",
        "deploy/prometheus/alerts.yml",
        "deploy/k8s/maplink.yaml",
    ] {
        let text = std::fs::read_to_string(repo().join(file)).unwrap();
        let used = metric_names(&text);
        assert!(!used.is_empty(), "{file} uses no metric");
        let unknown: Vec<&String> = used.difference(&exported).collect();
        assert!(
            unknown.is_empty(),
            "{file} uses metrics the code does not export: {unknown:?}"
        );
    }
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("deploy/grafana/maplink-dashboard.json")).unwrap(),
    )
    .unwrap();
    assert!(dashboard["panels"].as_array().unwrap().len() >= 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ops_dashboard_shows_the_queue_workers_and_cleanups() {
    let redis = Arc::new(RedisServer::start());
    let app = TestApp::spawn_on(Some(redis.clone()), false, |_| {}).await;
    // An abandoned session from two minutes ago, for the cleanup to find.
    let store = RedisSessionStore::connect(&redis.url()).await.unwrap();
    let mut old = Session::new("old.xlsx", FileFormat::Xlsx, "Maps", 1, now_ms());
    old.created_at_ms -= 180_000;
    old.last_seen_at_ms -= 120_000;
    FileStore::open(app.data_dir())
        .unwrap()
        .write(
            old.id,
            maplink::files::SessionFile::Input(FileFormat::Xlsx),
            &b"x"[..],
        )
        .await
        .unwrap();
    store.create(&old).await.unwrap();

    let logs = tempfile::tempdir().unwrap();
    let env = worker_env(
        &redis.url(),
        app.data_dir(),
        &[
            ("MAPLINK_WORKER_METRICS_BIND", "127.0.0.1:0"),
            ("MAPLINK_WORKER_CONCURRENCY", "1"),
            ("MAPLINK_ROW_DELAY_MS", "150"),
            ("MAPLINK_SESSION_TTL_SECS", "60"),
            ("MAPLINK_CLEANUP_INTERVAL_SECS", "1"),
            ("MAPLINK_QUEUE_HEARTBEAT_SECS", "1"),
        ],
    );
    let _worker = start_worker(&env, logs.path());
    for _ in 0..3 {
        let created = app.upload_ok("a.xlsx", sheets::seed_example_xlsx()).await;
        app.process(created["session_id"].as_str().unwrap()).await;
    }

    let browser = Browser::start().await;
    browser.goto(&app.url("/ops")).await;
    browser
        .wait_for(
            "Number(document.getElementById('q-running').textContent) + Number(document.getElementById('q-pending').textContent) + Number(document.getElementById('q-scheduled').textContent) > 0",
            Duration::from_secs(20),
        )
        .await;
    // Two of the three jobs wait behind the first (one slot, 4.5 s a job): the queue's
    // wait time shows beside its depth.
    browser
        .wait_for(
            "Number(document.getElementById('q-pending').textContent) > 0 && parseFloat(document.getElementById('q-wait').textContent) > 0",
            Duration::from_secs(20),
        )
        .await;
    browser
        .wait_for(
            "Number(document.getElementById('live-workers').textContent) >= 1",
            Duration::from_secs(20),
        )
        .await;
    browser.wait_for("document.querySelector('#workers tbody td') && document.querySelector('#workers tbody td').textContent.startsWith('worker-')", Duration::from_secs(20)).await;
    let cleanup = browser
        .wait_for(
            &format!("[...document.querySelectorAll('#cleanups li')].map(li => li.textContent).find(t => t.includes('{}… age'))", old.id.short()),
            Duration::from_secs(20),
        )
        .await;
    let cleanup = cleanup.as_str().unwrap().to_owned();
    assert!(
        cleanup.contains("age 3 min") && cleanup.contains("idle 2 min"),
        "{cleanup}"
    );
    assert!(browser.text("#store").await.starts_with("ok"));
    browser
        .wait_for(
            "document.querySelectorAll('#resolution tbody tr').length > 0",
            Duration::from_secs(30),
        )
        .await;
    browser.screenshot(&artifact("ops-dashboard.png")).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_cluster_script_starts_converts_and_stops() {
    let dir = tempfile::tempdir().unwrap();
    let free = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    };
    let (redis_port, api_port) = (free(), free());
    let bin = maplink_tests::binaries::binary("maplink-api")
        .parent()
        .unwrap()
        .to_path_buf();
    let script = repo().join("deploy/local-cluster.sh");
    let run = |cmd: &str| {
        std::process::Command::new("bash")
            .arg(&script)
            .args(cmd.split_whitespace())
            .env("MAPLINK_CLUSTER_DIR", dir.path())
            .env("MAPLINK_BIN_DIR", &bin)
            .env("MAPLINK_CLUSTER_REDIS_PORT", redis_port.to_string())
            .env("MAPLINK_CLUSTER_API_PORT", api_port.to_string())
            .env("MAPLINK_RESOLVE_ALLOWED_HOSTS", "127.0.0.1")
            .output()
            .unwrap()
    };
    let up = run("start 2");
    assert!(
        up.status.success(),
        "{}{}",
        String::from_utf8_lossy(&up.stdout),
        String::from_utf8_lossy(&up.stderr)
    );
    let pids: Vec<u32> = std::fs::read_to_string(dir.path().join("pids"))
        .unwrap()
        .lines()
        .map(|l| l.split_whitespace().nth(1).unwrap().parse().unwrap())
        .collect();
    assert_eq!(pids.len(), 4, "redis, api, 2 workers");

    let client = maplink_tests::http_client();
    let base = format!("http://127.0.0.1:{api_port}");
    let created: serde_json::Value =
        upload_to(&client, &base, "a.xlsx", sheets::seed_example_xlsx())
            .await
            .json()
            .await
            .unwrap();
    let id = created["session_id"].as_str().unwrap().to_owned();
    assert_eq!(
        client
            .post(format!("{base}/api/v1/sessions/{id}/process"))
            .send()
            .await
            .unwrap()
            .status(),
        202
    );
    maplink_tests::api::wait_until_completed(&client, &base, &id, Duration::from_secs(30)).await;
    let r = client
        .get(format!("{base}/api/v1/sessions/{id}/download"))
        .send()
        .await
        .unwrap();
    assert_eq!(sheets::read_xlsx(&r.bytes().await.unwrap())[0].1.len(), 31);

    let down = run("stop");
    assert!(
        down.status.success(),
        "{}",
        String::from_utf8_lossy(&down.stderr)
    );
    for pid in pids {
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "process {pid} is still running"
        );
    }
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", api_port)).is_err(),
        "the API still listens"
    );
}
