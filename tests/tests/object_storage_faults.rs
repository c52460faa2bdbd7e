//! The bucket under stress: uploads cut off mid-body leave nothing in it, and while
//! the object store is down the API answers 503 with the JSON error, `/readyz` names
//! the store, a job waits (retried, not failed), and all of it recovers when the
//! store is back. Release-shaped `maplink-api` and `maplink-worker` processes, one
//! `redis-server` and an S3 protocol server (`s3s-fs`) stopped and restarted on its
//! port. And the orphan sweep finds what a crash left in the bucket.

use std::{collections::HashMap, io::Write, net::TcpStream, path::Path, time::Duration};

use maplink::{
    domain::{FileFormat, SessionId},
    files::{FileStore, SessionFile},
};
use maplink_tests::{
    RedisServer,
    api::{get_json, upload_to, wait_until_completed},
    binaries::{start_api, start_worker, worker_env},
    eventually,
    s3_server::S3Server,
    sheets,
};
use serde_json::Value;

fn bucket_env(s3: &S3Server, data_dir: &Path, redis: &str) -> HashMap<String, String> {
    // A failed store request is retried for 1 s before it counts, so that the
    // store-down answers come quickly.
    let mut env = worker_env(redis, data_dir, &[("MAPLINK_STORAGE_RETRY_SECS", "1")]);
    env.extend(s3.process_env("sessions"));
    env
}

/// Sends the start of an upload of `announced` bytes of `.csv`, only `sent` of them,
/// and returns the open connection (dropping it cuts the upload off).
fn partial_upload(base: &str, announced: usize, sent: usize) -> TcpStream {
    let addr = base.trim_start_matches("http://");
    let boundary = "maplink-cut-off";
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.csv\"\r\nContent-Type: text/csv\r\n\r\n"
    );
    let tail = format!("\r\n--{boundary}--\r\n");
    let length = head.len() + announced + tail.len();
    let mut conn = TcpStream::connect(addr).unwrap();
    write!(
        conn,
        "POST /api/v1/sessions HTTP/1.1\r\nHost: {addr}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {length}\r\n\r\n{head}"
    )
    .unwrap();
    let row = b"Name,Maps link\nplace,https://www.google.com/maps/@-26.1,28.0,15z\n";
    let body: Vec<u8> = row.iter().copied().cycle().take(sent).collect();
    conn.write_all(&body).unwrap();
    conn.flush().unwrap();
    conn
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_cut_off_or_refused_leave_nothing_in_the_bucket() {
    let redis = RedisServer::start();
    let s3 = S3Server::start().await;
    let logs = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let (api, base) = start_api(&bucket_env(&s3, data.path(), &redis.url()), logs.path());
    assert_eq!(s3.all_files(), Vec::<String>::new());

    // Act: an upload of 12 MiB is cut off after 7 MiB, past the first 5 MiB part.
    let conn = partial_upload(&base, 12 << 20, 7 << 20);
    // Assert: the bytes went to the store as they arrived (a multipart upload holds
    // parts already), and nothing is left once the client is gone.
    eventually(Duration::from_secs(20), "parts in the store", || {
        let held = s3.all_files();
        async move { (!held.is_empty()).then_some(()) }
    })
    .await;
    assert_eq!(
        s3.objects(),
        Vec::<String>::new(),
        "no object is visible yet"
    );
    drop(conn);
    eventually(Duration::from_secs(20), "the aborted upload gone", || {
        let held = s3.all_files();
        async move { held.is_empty().then_some(()) }
    })
    .await;

    // A small upload cut off before its end never reaches the store at all.
    let conn = partial_upload(&base, 1 << 20, 200_000);
    std::thread::sleep(Duration::from_millis(300));
    drop(conn);

    // Refused uploads leave nothing either: too large, and a sheet without a map column.
    let client = maplink_tests::http_client();
    // (The API answers 413 as soon as the limit is passed and closes the connection,
    // so the client may see that answer or only a connection cut while it sends.)
    let too_large = vec![b'a'; 17 << 20];
    if let Ok(r) = upload_to_fallible(&client, &base, "big.csv", too_large).await {
        assert_eq!(r.status(), 413);
    }
    // A new client: the pooled connection may be the one the API just closed.
    let client = maplink_tests::http_client();
    let r = upload_to(
        &client,
        &base,
        "no-links.csv",
        b"Name,Other\na,b\n".to_vec(),
    )
    .await;
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "missing_columns", "{body}");

    // An upload that arrives whole is stored: its input is the one object.
    let r = upload_to(&client, &base, "sites.xlsx", sheets::seed_example_xlsx()).await;
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    let id = created["session_id"].as_str().unwrap();
    assert_eq!(s3.objects(), vec![format!("sessions/{id}/input.xlsx")]);
    drop(api);
}

/// `POST /api/v1/sessions` that may fail to send (the server answered and closed
/// before the body was all sent).
async fn upload_to_fallible(
    client: &reqwest::Client,
    base: &str,
    filename: &str,
    bytes: Vec<u8>,
) -> reqwest::Result<reqwest::Response> {
    let part = reqwest::multipart::Part::bytes(bytes).file_name(filename.to_owned());
    client
        .post(format!("{base}/api/v1/sessions"))
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
}

/// The API's counter of failed store requests for one operation (0 when absent).
async fn storage_errors(client: &reqwest::Client, base: &str, operation: &str) -> f64 {
    let text = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let prefix = format!("maplink_storage_errors_total{{operation=\"{operation}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_store_down_the_api_answers_503_and_the_job_waits_for_it() {
    let redis = RedisServer::start();
    let mut s3 = S3Server::start().await;
    let logs = tempfile::tempdir().unwrap();
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let (api, base) = start_api(&bucket_env(&s3, dirs[0].path(), &redis.url()), logs.path());
    let worker = start_worker(&bucket_env(&s3, dirs[1].path(), &redis.url()), logs.path());
    let client = maplink_tests::http_client();
    let r = upload_to(&client, &base, "sites.xlsx", sheets::seed_example_xlsx()).await;
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    let id = created["session_id"].as_str().unwrap().to_owned();
    let ready = get_json(&client, &format!("{base}/readyz")).await;
    assert_eq!(ready["checks"]["files"], "ok", "{ready}");

    // Act: the store goes down; the session is processed meanwhile.
    s3.stop().await;
    let r = client
        .post(format!("{base}/api/v1/sessions/{id}/process"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202, "the queue does not need the store");

    // Assert: readiness names the store; an upload is a 503 with the JSON error.
    let r = client.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 503);
    let ready: Value = r.json().await.unwrap();
    assert_eq!(ready["code"], "unavailable", "{ready}");
    assert_ne!(ready["checks"]["files"], "ok", "{ready}");
    assert_eq!(ready["checks"]["sessions"], "ok", "{ready}");
    let r = upload_to(&client, &base, "sites.xlsx", sheets::seed_example_xlsx()).await;
    assert_eq!(r.status(), 503);
    assert!(r.headers().contains_key("retry-after"));
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "unavailable", "{body}");
    assert!(storage_errors(&client, &base, "head").await >= 1.0);
    assert!(storage_errors(&client, &base, "put").await >= 1.0);
    // The job found the store down and will run again; the session has not failed.
    worker.wait_for_message(
        "transient failure; the task will be retried",
        Duration::from_secs(20),
    );
    let session = get_json(&client, &format!("{base}/api/v1/sessions/{id}")).await;
    assert_ne!(session["status"], "failed", "{session}");
    assert_ne!(session["status"], "completed", "{session}");

    // Act: the store is back.
    s3.restart().await;

    // Assert: the job completes on a later attempt, the API is ready and serves it.
    let done = wait_until_completed(&client, &base, &id, Duration::from_secs(60)).await;
    assert_eq!(
        done["counts"],
        serde_json::json!({"successful": 26, "failed": 2, "skipped": 2})
    );
    let r = client.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = client
        .get(format!("{base}/api/v1/sessions/{id}/download"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let rows = sheets::read_xlsx(&r.bytes().await.unwrap());
    assert_eq!(rows[0].1.len(), 31, "header and 30 rows");
    drop(worker);
    drop(api);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_orphan_sweep_removes_old_objects_no_session_owns_and_logs_their_age() {
    let redis = RedisServer::start();
    let s3 = S3Server::start().await;
    let logs = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    // Arrange: the input of an upload whose session was never created (the API died
    // in between), and an object that is not a session's at all.
    maplink_worker::resolve::install_crypto_provider();
    let files = FileStore::open_url(&s3.url("sessions"), &s3.aws_options()).unwrap();
    let orphan = SessionId::random();
    files
        .write(
            orphan,
            SessionFile::Input(FileFormat::Csv),
            &b"Name,Maps link\n"[..],
        )
        .await
        .unwrap();
    std::fs::write(s3.bucket_dir().join("sessions").join("README.txt"), b"kept").unwrap();

    // Act: a worker whose sessions expire after 2 s idle sweeps every second.
    let mut env = bucket_env(&s3, data.path(), &redis.url());
    env.insert("MAPLINK_SESSION_TTL_SECS".into(), "2".into());
    env.insert("MAPLINK_CLEANUP_INTERVAL_SECS".into(), "1".into());
    env.insert("MAPLINK_HEARTBEAT_INTERVAL_SECS".into(), "1".into());
    let worker = start_worker(&env, logs.path());

    // Assert: the orphan goes once it is older than the TTL, logged with its age; the
    // other object stays.
    let removed =
        worker.wait_for_message("removed orphaned session files", Duration::from_secs(20));
    assert_eq!(
        removed["fields"]["session"],
        orphan.to_string(),
        "{removed}"
    );
    assert!(
        removed["fields"]["age_s"].as_u64().unwrap() >= 2,
        "{removed}"
    );
    assert_eq!(s3.objects(), vec!["sessions/README.txt".to_owned()]);
    drop(worker);
}
