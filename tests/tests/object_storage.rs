//! Distributed mode with nothing shared but Redis and a bucket: the release-shaped
//! `maplink-api` and two `maplink-worker` processes, each with a data directory that
//! cannot be written, one `redis-server` and an S3 protocol server (`s3s-fs`), convert
//! the worked example; cleanup leaves the bucket empty.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    time::Duration,
};

use maplink_tests::{
    RedisServer, TestApp,
    api::{upload_and_process_at, wait_until_completed},
    binaries::{start_api, start_worker, worker_env},
    eventually,
    s3_server::S3Server,
    sheets,
};

/// The environment of a process that keeps its files in the bucket.
fn bucket_env(s3: &S3Server, data_dir: &Path, redis: &str) -> HashMap<String, String> {
    let mut env = worker_env(
        redis,
        data_dir,
        &[
            ("MAPLINK_SESSION_TTL_SECS", "4"),
            ("MAPLINK_CLEANUP_INTERVAL_SECS", "1"),
            ("MAPLINK_HEARTBEAT_INTERVAL_SECS", "1"),
        ],
    );
    env.extend(s3.process_env("maplink-sessions"));
    env
}

/// A data directory nothing can be created in, not even by root (for whom a
/// read-only mode is no obstacle): a path under a regular, empty file. A process that
/// touched its data directory would fail there, and the file would not stay empty.
fn unwritable_data_dir(parent: &Path, name: &str) -> PathBuf {
    let blocker = parent.join(name);
    std::fs::write(&blocker, b"").unwrap();
    blocker.join("data")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_and_two_workers_sharing_only_redis_and_a_bucket_convert_the_worked_example() {
    let redis = RedisServer::start();
    let s3 = S3Server::start().await;
    let logs = tempfile::tempdir().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let dirs: Vec<PathBuf> = ["api", "worker-1", "worker-2"]
        .iter()
        .map(|name| unwritable_data_dir(scratch.path(), name))
        .collect();

    let (api, base) = start_api(&bucket_env(&s3, &dirs[0], &redis.url()), logs.path());
    let workers = [
        start_worker(&bucket_env(&s3, &dirs[1], &redis.url()), logs.path()),
        start_worker(&bucket_env(&s3, &dirs[2], &redis.url()), logs.path()),
    ];
    let client = maplink_tests::http_client();

    let id = upload_and_process_at(&client, &base, "sites.xlsx", sheets::seed_example_xlsx()).await;
    let done = wait_until_completed(&client, &base, &id, Duration::from_secs(30)).await;
    assert_eq!(
        done["counts"],
        serde_json::json!({"successful": 26, "failed": 2, "skipped": 2})
    );
    let ran: usize = workers
        .iter()
        .map(|w| w.session_messages("job completed", &id))
        .sum();
    assert_eq!(ran, 1);
    let from_bucket = client
        .get(format!("{base}/api/v1/sessions/{id}/download"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();

    // The same sheet converted with the local filesystem gives the same sheet.
    let local = TestApp::spawn(maplink_tests::Backend::Sqlite).await;
    let local_id = local
        .upload_ok("sites.xlsx", sheets::seed_example_xlsx())
        .await["session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(local.process(&local_id).await.status(), 202);
    local
        .wait_for_status(&local_id, "completed", Duration::from_secs(30))
        .await;
    let from_disk = local.download(&local_id).await.bytes().await.unwrap();
    assert_eq!(
        sheets::read_xlsx(&from_bucket),
        sheets::read_xlsx(&from_disk),
        "the download from the bucket equals the local run's"
    );
    local.stop().await;

    // No process wrote anything where its data directory would be.
    for dir in &dirs {
        let blocker = dir.parent().unwrap();
        assert_eq!(std::fs::metadata(blocker).unwrap().len(), 0, "{blocker:?}");
        assert!(!dir.exists());
    }
    assert!(!s3.objects().is_empty());
    // The session expires (4 s idle) and cleanup empties the bucket.
    eventually(Duration::from_secs(30), "the bucket to be empty", || {
        let left = s3.objects();
        async move { left.is_empty().then_some(()) }
    })
    .await;
    drop(api);
}
