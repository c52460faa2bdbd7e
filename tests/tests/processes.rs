//! The binaries as operators run them: the embedded API on its own, and cleanup shared
//! by several worker processes.

use std::{collections::HashSet, time::Duration};

use maplink::{
    domain::{FileFormat, Session, SessionId, now_ms},
    files::{FileStore, SessionFile},
    ops::{OpsStore, RedisOpsStore},
    session::{RedisSessionStore, SessionStore},
};
use maplink_tests::{
    RedisServer,
    api::{upload_to, wait_until_completed},
    binaries::{Proc, start_worker, worker_env},
    eventually, sheets,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_api_binary_serves_processes_and_cleans_up() {
    let data = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let env = [
        ("MAPLINK_BIND", "127.0.0.1:0".to_owned()),
        ("MAPLINK_DATA_DIR", data.path().display().to_string()),
        ("MAPLINK_SESSION_TTL_SECS", "2".to_owned()),
        ("MAPLINK_CLEANUP_INTERVAL_SECS", "1".to_owned()),
        ("MAPLINK_HEARTBEAT_INTERVAL_SECS", "1".to_owned()),
        ("MAPLINK_RESOLVE_ALLOWED_HOSTS", "127.0.0.1".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let mut api = Proc::start("maplink-api", &env, logs.path());
    let started = api.wait_for_message("maplink API listening", Duration::from_secs(20));
    let addr = started["fields"]["addr"]
        .as_str()
        .expect("address logged")
        .to_owned();
    let url = |p: &str| format!("http://{addr}{p}");
    let client = maplink_tests::http_client();

    assert_eq!(
        client.get(url("/healthz")).send().await.unwrap().status(),
        200
    );
    assert_eq!(
        client.get(url("/readyz")).send().await.unwrap().status(),
        200
    );

    let created: serde_json::Value = upload_to(
        &client,
        &format!("http://{addr}"),
        "sites.xlsx",
        sheets::seed_example_xlsx(),
    )
    .await
    .json()
    .await
    .unwrap();
    let id = created["session_id"].as_str().unwrap().to_owned();
    let r = client
        .post(url(&format!("/api/v1/sessions/{id}/process")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let done = wait_until_completed(
        &client,
        &format!("http://{addr}"),
        &id,
        Duration::from_secs(20),
    )
    .await;
    assert_eq!(done["counts"]["successful"], 26);
    let r = client
        .get(url(&format!("/api/v1/sessions/{id}/download")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Left alone, the session expires and the sweep logs its age.
    let line = api.wait_for_message("cleaned up expired session", Duration::from_secs(10));
    let message = line["fields"]["message"].as_str().unwrap();
    let short: String = id.chars().take(8).collect();
    assert!(
        message.starts_with(&format!("cleaned up expired session {short}… (age: ")),
        "{message}"
    );
    assert!(
        message.ends_with(" minutes, status: completed)"),
        "{message}"
    );
    api.wait_for_message(
        "total cleanup: 1 expired sessions removed",
        Duration::from_secs(5),
    );
    assert!(!data.path().join("sessions").join(&id).exists());

    let status = api
        .terminate(Duration::from_secs(20))
        .expect("stops on SIGTERM");
    assert!(status.success(), "{status:?}\n{}", api.log_text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleanup_in_several_worker_processes_removes_each_session_once() {
    const SESSIONS: usize = 40;
    let redis = RedisServer::start();
    let data = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let store = RedisSessionStore::connect(&redis.url()).await.unwrap();
    let files = FileStore::open(data.path()).unwrap();
    let mut ids = HashSet::new();
    for _ in 0..SESSIONS {
        let mut s = Session::new("old.xlsx", FileFormat::Xlsx, "Maps", 1, now_ms());
        s.last_seen_at_ms -= 10_000;
        s.created_at_ms -= 70_000;
        files
            .write(s.id, SessionFile::Input(FileFormat::Xlsx), &b"x"[..])
            .await
            .unwrap();
        store.create(&s).await.unwrap();
        ids.insert(s.id);
    }
    let env = worker_env(
        &redis.url(),
        data.path(),
        &[
            ("MAPLINK_SESSION_TTL_SECS", "2"),
            ("MAPLINK_CLEANUP_INTERVAL_SECS", "1"),
            ("MAPLINK_HEARTBEAT_INTERVAL_SECS", "1"),
        ],
    );
    let workers = [
        start_worker(&env, logs.path()),
        start_worker(&env, logs.path()),
        start_worker(&env, logs.path()),
    ];

    eventually(
        Duration::from_secs(15),
        "every expired session to be removed",
        || async {
            let left = store.list_expired(0).await.unwrap().len();
            let dirs = files.list_sessions().await.unwrap().len();
            (left == 0 && dirs == 0).then_some(())
        },
    )
    .await;
    // Let a few more ticks pass: nothing may be removed twice later either.
    tokio::time::sleep(Duration::from_secs(3)).await;

    let cleaned: Vec<SessionId> = workers
        .iter()
        .flat_map(|w| w.messages_containing("cleaned up expired session"))
        .map(|l| l["fields"]["session"].as_str().unwrap().parse().unwrap())
        .collect();
    let unique: HashSet<SessionId> = cleaned.iter().copied().collect();
    assert_eq!(
        cleaned.len(),
        SESSIONS,
        "each session is cleaned exactly once"
    );
    assert_eq!(unique, ids);
    let skipped_ticks: usize = workers
        .iter()
        .map(|w| {
            w.messages_containing("cleanup tick taken by another process")
                .len()
        })
        .sum();
    assert!(
        skipped_ticks > 0,
        "every tick ran in one process only, the others stood aside"
    );
    let ops = RedisOpsStore::new(
        redis::Client::open(redis.url())
            .unwrap()
            .get_connection_manager()
            .await
            .unwrap(),
    );
    let history = ops.recent_cleanups(50).await.unwrap();
    assert_eq!(
        history.iter().map(|r| r.sessions.len()).sum::<usize>(),
        SESSIONS
    );
}
