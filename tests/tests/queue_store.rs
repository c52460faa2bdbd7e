//! One conformance suite for the queue store, run against Redis Streams and SQLite:
//! leases, late finishes of lapsed deliveries, retries, the dead list and retention.

use std::{sync::Arc, time::Duration};

use maplink::config::Settings;
use maplink_tests::{RedisServer, api::open_queue};
use maplink_worker::queue::{
    QueueBackend, Retention,
    store::{Finish, Finished, JobStore},
};

struct Subject {
    store: Arc<dyn JobStore>,
    redis: Option<Arc<RedisServer>>,
    _keep: Box<dyn std::any::Any>,
}

/// A short lease, so that lapses happen within a test.
const LEASE: Duration = Duration::from_millis(400);

fn settings() -> Settings {
    Settings {
        queue_heartbeat_secs: 1,
        ..Settings::default()
    }
}

async fn sqlite() -> Subject {
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings();
    s.data_dir = dir.path().to_owned();
    // The SQLite queue stamps the lease on claim.
    s.queue_missed_heartbeats = 2;
    let backend = open_queue(&s).await;
    let store = match &backend {
        QueueBackend::Sqlite(queue) => {
            Arc::new(queue.clone().with_lease(LEASE)) as Arc<dyn JobStore>
        }
        QueueBackend::Redis(_) => unreachable!(),
    };
    Subject {
        store,
        redis: None,
        _keep: Box::new(dir),
    }
}

async fn redis() -> Subject {
    let server = Arc::new(RedisServer::start());
    let backend = open_queue(&Settings {
        redis_url: Some(server.url()),
        ..settings()
    })
    .await;
    Subject {
        store: backend.store(),
        redis: Some(server),
        _keep: Box::new(()),
    }
}

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite { $( #[tokio::test] async fn $name() { super::$name(super::sqlite().await).await } )* }
        mod on_redis { $( #[tokio::test] async fn $name() { super::$name(super::redis().await).await } )* }
    };
}

conformance!(
    a_job_is_delivered_once_and_done_leaves_nothing_queued,
    queuing_the_same_task_id_twice_adds_it_once,
    a_lapsed_lease_goes_to_another_consumer_and_the_late_finish_is_ignored,
    a_renewed_lease_is_not_taken,
    a_retry_comes_back_after_its_delay_with_its_attempts,
    dead_jobs_are_listed_retried_and_deleted,
    the_dead_list_is_bounded,
    fetched_jobs_handed_back_are_delivered_again_without_an_attempt,
    a_running_job_handed_back_is_delivered_again_at_once_under_a_higher_number,
    stats_count_each_state_and_the_oldest_wait,
    done_records_are_trimmed_by_count_and_age,
    a_waiting_reader_gets_a_new_job_at_once_and_it_is_leased,
);

const WAIT: Duration = Duration::from_millis(200);

fn job(n: usize) -> (String, String) {
    (format!("task-{n:05}"), format!("{{\"n\":{n}}}"))
}

fn retention() -> Retention {
    Retention {
        keep_done: Duration::from_secs(3600),
        keep_done_count: 100,
        keep_dead_count: 100,
    }
}

fn done(d: &maplink_worker::queue::store::Delivery) -> Finished {
    Finished {
        delivery: d.clone(),
        attempts: d.attempts + 1,
        finish: Finish::Done,
    }
}

async fn a_job_is_delivered_once_and_done_leaves_nothing_queued(s: Subject) {
    assert_eq!(s.store.enqueue(&[job(1), job(2)]).await.unwrap(), 2);
    let mut a = s.store.reader("a").await.unwrap();
    let mut b = s.store.reader("b").await.unwrap();
    let first = a.fetch(1, WAIT).await.unwrap();
    let second = b.fetch(5, WAIT).await.unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(second.len(), 1, "each job goes to one consumer");
    assert_ne!(first[0].task_id, second[0].task_id);
    assert_eq!(first[0].payload, job(1).1, "oldest first");
    assert_eq!(first[0].attempts, 0);
    assert!(b.fetch(5, WAIT).await.unwrap().is_empty());
    assert!(s.store.contains("task-00001").await.unwrap());
    s.store
        .finish(&[done(&first[0]), done(&second[0])], &retention())
        .await
        .unwrap();
    assert!(!s.store.contains("task-00001").await.unwrap());
    let stats = s.store.stats().await.unwrap();
    assert_eq!(
        (stats.pending, stats.running, stats.done, stats.dead),
        (0, 0, 2, 0)
    );
}

async fn queuing_the_same_task_id_twice_adds_it_once(s: Subject) {
    assert_eq!(s.store.enqueue(&[job(1)]).await.unwrap(), 1);
    assert_eq!(s.store.enqueue(&[job(1)]).await.unwrap(), 0);
    let mut r = s.store.reader("a").await.unwrap();
    assert_eq!(r.fetch(10, WAIT).await.unwrap().len(), 1);
}

async fn a_lapsed_lease_goes_to_another_consumer_and_the_late_finish_is_ignored(s: Subject) {
    s.store.enqueue(&[job(1)]).await.unwrap();
    let mut a = s.store.reader("a").await.unwrap();
    let stalled = a.fetch(1, WAIT).await.unwrap().remove(0);
    // Not yet lapsed: nothing to take back.
    assert_eq!(s.store.sweep(LEASE).await.unwrap().reclaimed, 0);
    tokio::time::sleep(LEASE + Duration::from_millis(200)).await;
    assert_eq!(s.store.sweep(LEASE).await.unwrap().reclaimed, 1);
    let mut b = s.store.reader("b").await.unwrap();
    let again = b.fetch(1, Duration::from_secs(2)).await.unwrap().remove(0);
    assert_eq!(again.task_id, stalled.task_id);
    assert_ne!(again.receipt, stalled.receipt);
    assert_eq!(
        again.attempts, 1,
        "the lapsed delivery counts as an attempt"
    );
    // The stalled consumer wakes up: its lease is gone, its finish changes nothing.
    assert_eq!(
        s.store
            .renew("a", std::slice::from_ref(&stalled.receipt))
            .await
            .unwrap(),
        vec![stalled.receipt.clone()]
    );
    s.store
        .finish(&[done(&stalled)], &retention())
        .await
        .unwrap();
    let stats = s.store.stats().await.unwrap();
    assert_eq!((stats.running, stats.done), (1, 0), "{stats:?}");
    s.store.finish(&[done(&again)], &retention()).await.unwrap();
    let stats = s.store.stats().await.unwrap();
    assert_eq!((stats.running, stats.done), (0, 1), "{stats:?}");
}

async fn a_renewed_lease_is_not_taken(s: Subject) {
    s.store.enqueue(&[job(1)]).await.unwrap();
    let mut a = s.store.reader("a").await.unwrap();
    let d = a.fetch(1, WAIT).await.unwrap().remove(0);
    for _ in 0..6 {
        tokio::time::sleep(LEASE / 3).await;
        let lost = s
            .store
            .renew("a", std::slice::from_ref(&d.receipt))
            .await
            .unwrap();
        assert!(lost.is_empty());
        assert_eq!(s.store.sweep(LEASE).await.unwrap().reclaimed, 0);
    }
}

async fn a_retry_comes_back_after_its_delay_with_its_attempts(s: Subject) {
    s.store.enqueue(&[job(1)]).await.unwrap();
    let mut a = s.store.reader("a").await.unwrap();
    let d = a.fetch(1, WAIT).await.unwrap().remove(0);
    let retry = Finished {
        delivery: d.clone(),
        attempts: 1,
        finish: Finish::Retry {
            delay: Duration::from_millis(300),
            error: "disk hiccup".into(),
        },
    };
    s.store.finish(&[retry], &retention()).await.unwrap();
    assert_eq!(s.store.stats().await.unwrap().scheduled, 1);
    assert!(s.store.contains(&d.task_id).await.unwrap());
    assert!(
        a.fetch(1, Duration::from_millis(50))
            .await
            .unwrap()
            .is_empty()
    );
    tokio::time::sleep(Duration::from_millis(350)).await;
    s.store.sweep(LEASE).await.unwrap();
    let again = a.fetch(1, Duration::from_secs(2)).await.unwrap().remove(0);
    assert_eq!(
        (again.task_id.as_str(), again.attempts),
        (d.task_id.as_str(), 1)
    );
}

async fn dead_jobs_are_listed_retried_and_deleted(s: Subject) {
    s.store.enqueue(&[job(1), job(2)]).await.unwrap();
    let mut a = s.store.reader("a").await.unwrap();
    let ds = a.fetch(2, WAIT).await.unwrap();
    let bury = |d: &maplink_worker::queue::store::Delivery, why: &str| Finished {
        delivery: d.clone(),
        attempts: 3,
        finish: Finish::Dead { error: why.into() },
    };
    s.store
        .finish(
            &[bury(&ds[0], "first"), bury(&ds[1], "second")],
            &retention(),
        )
        .await
        .unwrap();
    let dead = s.store.dead(10).await.unwrap();
    assert_eq!(dead.len(), 2);
    assert!(dead.iter().all(|d| d.attempts == 3 && d.died_ms > 0));
    let first = s.store.dead_job("task-00001").await.unwrap().unwrap();
    assert!(dead.contains(&first));
    assert_eq!(s.store.dead_job("task-00099").await.unwrap(), None);
    assert_eq!(
        (first.error.as_str(), first.payload.as_str()),
        ("first", "{\"n\":1}")
    );
    assert!(!s.store.contains("task-00001").await.unwrap());

    assert!(
        s.store
            .requeue_dead("task-00001", ("task-again", "{\"n\":9}"))
            .await
            .unwrap()
    );
    assert!(
        !s.store
            .requeue_dead("task-00001", ("x", "{}"))
            .await
            .unwrap()
    );
    let again = a.fetch(1, Duration::from_secs(2)).await.unwrap().remove(0);
    assert_eq!(
        (
            again.task_id.as_str(),
            again.payload.as_str(),
            again.attempts
        ),
        ("task-again", "{\"n\":9}", 0)
    );
    assert!(s.store.delete_dead("task-00002").await.unwrap());
    assert!(!s.store.delete_dead("task-00002").await.unwrap());
    assert!(s.store.dead(10).await.unwrap().is_empty());
}

async fn the_dead_list_is_bounded(s: Subject) {
    let jobs: Vec<_> = (0..12).map(job).collect();
    s.store.enqueue(&jobs).await.unwrap();
    let mut a = s.store.reader("a").await.unwrap();
    let mut keep = retention();
    keep.keep_dead_count = 5;
    for d in a.fetch(12, WAIT).await.unwrap() {
        let f = Finished {
            delivery: d,
            attempts: 1,
            finish: Finish::Dead { error: "x".into() },
        };
        s.store.finish(&[f], &keep).await.unwrap();
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    s.store
        .trim(&keep, Duration::from_secs(3600))
        .await
        .unwrap();
    let dead = s.store.dead(100).await.unwrap();
    assert_eq!(dead.len(), 5);
    assert_eq!(dead[0].task_id, "task-00011", "the newest are kept");
}

async fn fetched_jobs_handed_back_are_delivered_again_without_an_attempt(s: Subject) {
    s.store.enqueue(&[job(1), job(2), job(3)]).await.unwrap();
    let mut a = s.store.reader("a").await.unwrap();
    let ds = a.fetch(3, WAIT).await.unwrap();
    assert_eq!(ds.len(), 3);
    // Running the first; the other two were fetched but never started.
    let back = s
        .store
        .hand_back("a", std::slice::from_ref(&ds[0].receipt))
        .await
        .unwrap();
    assert_eq!(back, 2);
    let mut b = s.store.reader("b").await.unwrap();
    let again = b.fetch(5, Duration::from_secs(2)).await.unwrap();
    assert_eq!(again.len(), 2);
    assert!(again.iter().all(|d| d.attempts == 0));
    assert_eq!(s.store.stats().await.unwrap().running, 3);
}

/// What a stopping worker does with a job whose run it cancelled: the job is ready for
/// another worker at once, with no attempt counted but a higher delivery number (which
/// a retry keeps), and the old delivery's late finish changes nothing.
async fn a_running_job_handed_back_is_delivered_again_at_once_under_a_higher_number(s: Subject) {
    s.store.enqueue(&[job(1)]).await.unwrap();
    let mut a = s.store.reader("a").await.unwrap();
    let cancelled = a.fetch(1, WAIT).await.unwrap().remove(0);
    assert_eq!(cancelled.number(), 1);
    assert_eq!(s.store.hand_back("a", &[]).await.unwrap(), 1);
    let mut b = s.store.reader("b").await.unwrap();
    let again = b.fetch(1, WAIT).await.unwrap().remove(0);
    assert_eq!(again.task_id, cancelled.task_id);
    assert_ne!(again.receipt, cancelled.receipt);
    assert_eq!(
        (again.attempts, again.hand_backs, again.number()),
        (0, 1, 2)
    );

    s.store
        .finish(&[done(&cancelled)], &retention())
        .await
        .unwrap();
    let stats = s.store.stats().await.unwrap();
    assert_eq!((stats.running, stats.done), (1, 0), "{stats:?}");

    let retry = Finished {
        delivery: again.clone(),
        attempts: 1,
        finish: Finish::Retry {
            delay: Duration::from_millis(100),
            error: "disk hiccup".into(),
        },
    };
    s.store.finish(&[retry], &retention()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    s.store.sweep(LEASE).await.unwrap();
    let third = b.fetch(1, Duration::from_secs(2)).await.unwrap().remove(0);
    assert_eq!(
        (third.attempts, third.hand_backs, third.number()),
        (1, 1, 3)
    );
}

async fn stats_count_each_state_and_the_oldest_wait(s: Subject) {
    s.store.enqueue(&[job(1), job(2), job(3)]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(120)).await;
    let mut a = s.store.reader("a").await.unwrap();
    let d = a.fetch(1, WAIT).await.unwrap().remove(0);
    let stats = s.store.stats().await.unwrap();
    assert_eq!((stats.pending, stats.running), (2, 1), "{stats:?}");
    assert!(
        (100..10_000).contains(&stats.oldest_pending_ms),
        "{stats:?}"
    );
    s.store.finish(&[done(&d)], &retention()).await.unwrap();
    let rest = a.fetch(2, WAIT).await.unwrap();
    let finished: Vec<_> = rest.iter().map(done).collect();
    s.store.finish(&finished, &retention()).await.unwrap();
    let stats = s.store.stats().await.unwrap();
    assert_eq!(
        (
            stats.pending,
            stats.running,
            stats.done,
            stats.oldest_pending_ms
        ),
        (0, 0, 3, 0)
    );
}

async fn done_records_are_trimmed_by_count_and_age(s: Subject) {
    let jobs: Vec<_> = (0..20).map(job).collect();
    s.store.enqueue(&jobs).await.unwrap();
    let mut a = s.store.reader("a").await.unwrap();
    let ds = a.fetch(20, WAIT).await.unwrap();
    let finished: Vec<_> = ds.iter().map(done).collect();
    s.store.finish(&finished, &retention()).await.unwrap();
    let mut keep = retention();
    keep.keep_done_count = 5;
    s.store
        .trim(&keep, Duration::from_secs(3600))
        .await
        .unwrap();
    assert_eq!(s.store.stats().await.unwrap().done, 5);
    keep.keep_done = Duration::from_millis(1);
    tokio::time::sleep(Duration::from_millis(20)).await;
    s.store
        .trim(&keep, Duration::from_secs(3600))
        .await
        .unwrap();
    assert_eq!(s.store.stats().await.unwrap().done, 0);
    if let Some(redis) = &s.redis {
        // Nothing per job is left: the stream and the done stream remain, empty.
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg("*")
            .query(&mut redis.conn())
            .unwrap();
        let mut keys = keys;
        keys.sort();
        assert_eq!(
            keys,
            vec!["{maplink-convert}:done", "{maplink-convert}:stream"],
            "{keys:?}"
        );
    }
}

async fn a_waiting_reader_gets_a_new_job_at_once_and_it_is_leased(s: Subject) {
    let mut a = s.store.reader("a").await.unwrap();
    let waiting = tokio::spawn(async move { a.fetch(4, Duration::from_secs(5)).await });
    // The reader is waiting by now (nothing to claim).
    tokio::time::sleep(Duration::from_millis(100)).await;
    let queued = std::time::Instant::now();
    s.store.enqueue(&[job(7)]).await.unwrap();
    let got = waiting.await.unwrap().unwrap();
    assert!(
        queued.elapsed() < Duration::from_secs(1),
        "{:?}",
        queued.elapsed()
    );
    assert_eq!(got.len(), 1);
    assert_eq!(
        (got[0].task_id.as_str(), got[0].attempts),
        ("task-00007", 0)
    );
    let stats = s.store.stats().await.unwrap();
    assert_eq!((stats.pending, stats.running), (0, 1), "{stats:?}");
    // Leased like any delivery: renewable, and finished once.
    assert!(
        s.store
            .renew("a", std::slice::from_ref(&got[0].receipt))
            .await
            .unwrap()
            .is_empty()
    );
    s.store
        .finish(&[done(&got[0])], &retention())
        .await
        .unwrap();
    assert_eq!(s.store.stats().await.unwrap().done, 1);
}
