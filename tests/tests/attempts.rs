//! Bounded attempts: a job that keeps failing for a transient reason is retried, then
//! given up with a clear message and left in the dead list for an operator.

use std::time::Duration;

use maplink::{domain::SessionId, files::SessionFile};
use maplink_tests::{Backend, TestApp, eventually, sheets};
use serde_json::Value;

async fn a_job_that_keeps_failing_is_given_up(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.job_max_attempts = 3).await;
    let created = app.upload_ok("a.xlsx", sheets::seed_example_xlsx()).await;
    let id = created["session_id"].as_str().unwrap().to_owned();
    let sid: SessionId = id.parse().unwrap();
    // The stored upload disappears: reading it fails as an I/O error, which is retried.
    app.files
        .remove_file(sid, SessionFile::Input(maplink::domain::FileFormat::Xlsx))
        .await
        .unwrap();
    assert_eq!(app.process(&id).await.status(), 202);

    let failed: Value = eventually(
        Duration::from_secs(30),
        "the run to be given up",
        || async {
            let v: Value = app.session(&id).await.json().await.ok()?;
            (v["status"] == "failed").then_some(v)
        },
    )
    .await;
    let error = failed["error"].as_str().unwrap();
    assert!(
        error.starts_with("Processing failed after 3 attempts"),
        "{error}"
    );

    // The job is in the dead list, with its attempts and the reason.
    let dead = eventually(
        Duration::from_secs(10),
        "the job in the dead list",
        || async {
            let dead = app.queue().await.store().dead(10).await.ok()?;
            (dead.len() == 1).then_some(dead)
        },
    )
    .await;
    assert_eq!(dead[0].attempts, 3);
    assert!(
        dead[0]
            .error
            .starts_with("Processing failed after 3 attempts"),
        "{}",
        dead[0].error
    );
    // Once the cause is gone, the session can run again.
    app.files
        .write(
            sid,
            SessionFile::Input(maplink::domain::FileFormat::Xlsx),
            sheets::seed_example_xlsx(),
        )
        .await
        .unwrap();
    assert_eq!(app.process(&id).await.status(), 202);
    app.wait_for_status(&id, "completed", Duration::from_secs(20))
        .await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_that_keeps_failing_is_given_up_on_sqlite() {
    a_job_that_keeps_failing_is_given_up(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_that_keeps_failing_is_given_up_on_redis() {
    a_job_that_keeps_failing_is_given_up(Backend::Redis).await;
}
