//! One conformance suite, run against both session stores.

use std::{collections::HashSet, sync::Arc, time::Duration};

use maplink::{
    clock::Clock,
    domain::{Counts, FileFormat, Session, SessionId, SessionStatus, now_ms},
    session::{
        Delivery, RedisSessionStore, SessionStore, SqliteSessionStore, StartRun, Update,
        UpdateOutcome, open_pool,
    },
};
use maplink_tests::RedisServer;

/// A store plus whatever keeps it alive.
struct Subject {
    store: Arc<dyn SessionStore>,
    /// A second, independent handle on the same data (another "process").
    other: Arc<dyn SessionStore>,
    /// The clock both handles read, which a test may move ahead.
    clock: Clock,
    _keep: Box<dyn std::any::Any>,
}

async fn sqlite() -> Subject {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("maplink.db");
    let clock = Clock::adjustable();
    let open = || async {
        SqliteSessionStore::open(open_pool(&path).await.unwrap())
            .await
            .unwrap()
            .with_clock(clock.clone())
    };
    Subject {
        store: Arc::new(open().await),
        other: Arc::new(open().await),
        clock,
        _keep: Box::new(dir),
    }
}

async fn redis() -> Subject {
    let server = RedisServer::start();
    let clock = Clock::adjustable();
    let open = || async {
        RedisSessionStore::connect(&server.url())
            .await
            .unwrap()
            .with_clock(clock.clone())
    };
    Subject {
        store: Arc::new(open().await),
        other: Arc::new(open().await),
        clock,
        _keep: Box::new(server),
    }
}

fn session() -> Session {
    Session::new(
        "Stores 2024.xlsx",
        FileFormat::Xlsx,
        "Maps link",
        30,
        now_ms(),
    )
}

/// A session whose last sign of life was `idle_ms` ago.
fn idle_session(idle_ms: i64) -> Session {
    let mut s = session();
    s.created_at_ms -= idle_ms + 1000;
    s.last_seen_at_ms -= idle_ms;
    s
}

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite { $( #[tokio::test] async fn $name() { super::$name(super::sqlite().await).await } )* }
        mod on_redis { $( #[tokio::test] async fn $name() { super::$name(super::redis().await).await } )* }
    };
}

conformance!(
    create_then_get_round_trips,
    touch_refreshes_last_seen_and_reports_missing,
    start_run_moves_to_queued_once,
    update_applies_only_to_the_current_run,
    only_the_latest_delivery_of_a_run_changes_the_session,
    delete_removes_the_record,
    expiry_is_strictly_after_the_ttl,
    a_session_expires_when_the_clock_passes_its_ttl,
    claim_takes_only_expired_sessions_and_leaves_tombstones,
    concurrent_claims_never_take_a_session_twice,
    claimed_sessions_cannot_be_touched_back,
    a_queued_run_can_be_taken_over_only_under_its_job_id,
    idle_queued_sessions_are_listed_with_their_jobs,
    census_counts_by_status_and_finds_the_oldest,
);

async fn create_then_get_round_trips(s: Subject) {
    let mut original = session();
    original.error = Some("earlier failure".into());
    original.job_id = Some("01JTASK".into());
    original.owner = Some("3f2a9c1e00000000".into());
    s.store.create(&original).await.unwrap();
    assert_eq!(
        s.other.get(original.id).await.unwrap(),
        Some(original.clone())
    );
    assert_eq!(s.store.get(SessionId::random()).await.unwrap(), None);
}

async fn touch_refreshes_last_seen_and_reports_missing(s: Subject) {
    let old = idle_session(60_000);
    s.store.create(&old).await.unwrap();
    let touched = s.store.touch(old.id).await.unwrap().expect("exists");
    assert!(touched.last_seen_at_ms >= old.last_seen_at_ms + 59_000);
    assert_eq!(touched.created_at_ms, old.created_at_ms);
    assert_eq!(
        s.store.get(old.id).await.unwrap().unwrap().last_seen_at_ms,
        touched.last_seen_at_ms
    );
    assert_eq!(s.store.touch(SessionId::random()).await.unwrap(), None);
}

async fn start_run_moves_to_queued_once(s: Subject) {
    let mut done = session();
    done.status = SessionStatus::Completed;
    done.counts = Counts {
        successful: 3,
        failed: 1,
        skipped: 0,
    };
    done.progress = 4;
    done.error = Some("old".into());
    s.store.create(&done).await.unwrap();

    let StartRun::Started(started) = s.store.start_run(done.id, "job-1", None).await.unwrap()
    else {
        panic!("not started")
    };
    assert_eq!(started.status, SessionStatus::Queued);
    assert_eq!(started.attempt, 1);
    assert_eq!(started.job_id.as_deref(), Some("job-1"));
    assert_eq!(
        (started.counts, started.progress, started.error.clone()),
        (Counts::default(), 0, None)
    );

    match s.other.start_run(done.id, "job-2", None).await.unwrap() {
        StartRun::Busy(b) => assert_eq!(b.job_id.as_deref(), Some("job-1")),
        other => panic!("expected busy, got {other:?}"),
    }
    assert_eq!(
        s.store
            .start_run(SessionId::random(), "x", None)
            .await
            .unwrap(),
        StartRun::Missing
    );

    // Racing starters: exactly one wins.
    let fresh = session();
    s.store.create(&fresh).await.unwrap();
    let racers = (0..8).map(|i| {
        let store = if i % 2 == 0 {
            s.store.clone()
        } else {
            s.other.clone()
        };
        tokio::spawn(async move {
            store
                .start_run(fresh.id, &format!("job-{i}"), None)
                .await
                .unwrap()
        })
    });
    let results = futures::future::join_all(racers).await;
    let started = results
        .iter()
        .filter(|r| matches!(r.as_ref().unwrap(), StartRun::Started(_)))
        .count();
    assert_eq!(started, 1);
}

async fn update_applies_only_to_the_current_run(s: Subject) {
    let base = session();
    s.store.create(&base).await.unwrap();
    let StartRun::Started(run) = s.store.start_run(base.id, "j", None).await.unwrap() else {
        panic!()
    };
    let finish = Update {
        status: Some(SessionStatus::Completed),
        progress: Some(30),
        counts: Some(Counts {
            successful: 26,
            failed: 2,
            skipped: 2,
        }),
        error: Some(None),
        only_run: Some(run.attempt),
        delivery: None,
    };
    assert_eq!(
        s.store.update(base.id, &finish).await.unwrap(),
        UpdateOutcome::Applied
    );
    let got = s.store.get(base.id).await.unwrap().unwrap();
    assert_eq!(
        (got.status, got.progress, got.counts.total()),
        (SessionStatus::Completed, 30, 30)
    );

    let stale = Update {
        status: Some(SessionStatus::Failed),
        only_run: Some(run.attempt + 5),
        ..Update::default()
    };
    assert_eq!(
        s.store.update(base.id, &stale).await.unwrap(),
        UpdateOutcome::Stale
    );
    assert_eq!(
        s.store.get(base.id).await.unwrap().unwrap().status,
        SessionStatus::Completed
    );

    let fail = Update {
        status: Some(SessionStatus::Failed),
        error: Some(Some("bad sheet".into())),
        ..Update::default()
    };
    assert_eq!(
        s.store.update(base.id, &fail).await.unwrap(),
        UpdateOutcome::Applied
    );
    assert_eq!(
        s.store
            .get(base.id)
            .await
            .unwrap()
            .unwrap()
            .error
            .as_deref(),
        Some("bad sheet")
    );
    assert_eq!(
        s.store.update(SessionId::random(), &fail).await.unwrap(),
        UpdateOutcome::Missing
    );
}

/// The delivery fence: within one run, only the delivery that started last changes
/// the session; an earlier one (its worker stalled past its lease) is refused, and a
/// new run starts with no delivery recorded.
async fn only_the_latest_delivery_of_a_run_changes_the_session(s: Subject) {
    let base = session();
    s.store.create(&base).await.unwrap();
    let StartRun::Started(run) = s.store.start_run(base.id, "j", None).await.unwrap() else {
        panic!()
    };
    let step = |delivery| Update {
        status: Some(SessionStatus::Processing),
        only_run: Some(run.attempt),
        delivery: Some(delivery),
        ..Update::default()
    };
    let update = |u: Update| {
        let store = s.store.clone();
        async move { store.update(base.id, &u).await.unwrap() }
    };
    assert_eq!(
        update(step(Delivery::Claim(1))).await,
        UpdateOutcome::Applied
    );
    assert_eq!(
        update(step(Delivery::Hold(1))).await,
        UpdateOutcome::Applied
    );
    // Delivery 2 takes over; delivery 1's heartbeat and ending are refused from now on.
    assert_eq!(
        update(step(Delivery::Claim(2))).await,
        UpdateOutcome::Applied
    );
    assert_eq!(update(step(Delivery::Hold(1))).await, UpdateOutcome::Stale);
    assert_eq!(update(step(Delivery::Claim(1))).await, UpdateOutcome::Stale);
    let finish = Update {
        status: Some(SessionStatus::Completed),
        ..step(Delivery::Hold(1))
    };
    assert_eq!(update(finish).await, UpdateOutcome::Stale);
    assert_eq!(
        update(step(Delivery::Hold(2))).await,
        UpdateOutcome::Applied
    );
    // The same delivery may claim again (a repeated request).
    assert_eq!(
        update(step(Delivery::Claim(2))).await,
        UpdateOutcome::Applied
    );
    let finish = Update {
        status: Some(SessionStatus::Completed),
        ..step(Delivery::Hold(2))
    };
    assert_eq!(update(finish).await, UpdateOutcome::Applied);

    // A new run starts from delivery 1 again.
    let StartRun::Started(next) = s.store.start_run(base.id, "k", None).await.unwrap() else {
        panic!()
    };
    let claim = Update {
        status: Some(SessionStatus::Processing),
        only_run: Some(next.attempt),
        delivery: Some(Delivery::Claim(1)),
        ..Update::default()
    };
    assert_eq!(update(claim).await, UpdateOutcome::Applied);
}

async fn delete_removes_the_record(s: Subject) {
    let x = session();
    s.store.create(&x).await.unwrap();
    assert!(s.store.delete(x.id).await.unwrap());
    assert!(!s.other.delete(x.id).await.unwrap());
    assert_eq!(s.store.get(x.id).await.unwrap(), None);
    assert_eq!(
        s.store.list_expired(0).await.unwrap(),
        Vec::<SessionId>::new(),
        "gone from the index too"
    );
}

async fn expiry_is_strictly_after_the_ttl(s: Subject) {
    let ttl = 10_000;
    let expired = idle_session(ttl + 2_000);
    let fresh = idle_session(ttl - 5_000);
    s.store.create(&expired).await.unwrap();
    s.store.create(&fresh).await.unwrap();
    assert_eq!(s.store.list_expired(ttl).await.unwrap(), vec![expired.id]);
}

/// Two hours pass on the store's clock, not on the wall clock: what a sweep sees then,
/// and a touch that brings a session back to the clock's present.
async fn a_session_expires_when_the_clock_passes_its_ttl(s: Subject) {
    const TTL_MS: i64 = 2 * 3600 * 1000;
    let idle = session();
    let touched = session();
    s.store.create(&idle).await.unwrap();
    s.store.create(&touched).await.unwrap();
    assert!(s.store.list_expired(TTL_MS).await.unwrap().is_empty());

    s.clock
        .advance(Duration::from_millis(TTL_MS as u64 - 60_000));
    let seen = s.other.touch(touched.id).await.unwrap().unwrap();
    assert!(seen.last_seen_at_ms >= touched.last_seen_at_ms + TTL_MS - 60_000);
    assert!(s.store.list_expired(TTL_MS).await.unwrap().is_empty());

    s.clock.advance(Duration::from_secs(61));
    assert_eq!(s.store.list_expired(TTL_MS).await.unwrap(), vec![idle.id]);
    let claimed = s.other.claim_expired(TTL_MS, 10, 60_000).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert!(
        claimed[0].idle_ms() > TTL_MS,
        "idle {}",
        claimed[0].idle_ms()
    );
    assert!(s.store.get(touched.id).await.unwrap().is_some());
}

async fn claim_takes_only_expired_sessions_and_leaves_tombstones(s: Subject) {
    let ttl = 10_000;
    let mut expired = idle_session(ttl + 60_000);
    expired.status = SessionStatus::Completed;
    let fresh = idle_session(1_000);
    s.store.create(&expired).await.unwrap();
    s.store.create(&fresh).await.unwrap();

    let claimed = s.store.claim_expired(ttl, 100, 60_000).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let c = &claimed[0];
    assert_eq!(c.session.id, expired.id);
    assert!(
        c.idle_ms() >= 70_000 - 1_000 && c.idle_ms() < 80_000,
        "idle {}",
        c.idle_ms()
    );
    assert!(c.age_ms() > c.idle_ms());

    assert_eq!(s.store.get(expired.id).await.unwrap(), None);
    assert!(s.store.get(fresh.id).await.unwrap().is_some());
    let t = s
        .store
        .tombstone(expired.id)
        .await
        .unwrap()
        .expect("tombstone");
    assert_eq!(t.status, SessionStatus::Completed);
    assert!(t.idle_ms >= 69_000);
    assert_eq!(s.store.tombstone(fresh.id).await.unwrap(), None);
    assert!(
        s.store
            .claim_expired(ttl, 100, 60_000)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn concurrent_claims_never_take_a_session_twice(s: Subject) {
    let ids: HashSet<SessionId> = {
        let mut ids = HashSet::new();
        for _ in 0..60 {
            let x = idle_session(20_000);
            s.store.create(&x).await.unwrap();
            ids.insert(x.id);
        }
        ids
    };
    let claimers = (0..6).map(|i| {
        let store = if i % 2 == 0 {
            s.store.clone()
        } else {
            s.other.clone()
        };
        tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let batch = store.claim_expired(10_000, 7, 60_000).await.unwrap();
                if batch.is_empty() {
                    return mine;
                }
                mine.extend(batch.into_iter().map(|e| e.session.id));
            }
        })
    });
    let mut all = Vec::new();
    for r in futures::future::join_all(claimers).await {
        all.extend(r.unwrap());
    }
    let unique: HashSet<SessionId> = all.iter().copied().collect();
    assert_eq!(all.len(), unique.len(), "a session was claimed twice");
    assert_eq!(unique, ids);
}

async fn claimed_sessions_cannot_be_touched_back(s: Subject) {
    let x = idle_session(20_000);
    s.store.create(&x).await.unwrap();
    assert_eq!(
        s.store
            .claim_expired(10_000, 10, 60_000)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(s.other.touch(x.id).await.unwrap(), None);
    let beat = Update {
        progress: Some(3),
        ..Update::default()
    };
    assert_eq!(
        s.other.update(x.id, &beat).await.unwrap(),
        UpdateOutcome::Missing
    );
    assert_eq!(
        s.store.get(x.id).await.unwrap(),
        None,
        "a heartbeat must not resurrect a claimed session"
    );

    // And the converse: a session touched just now is not claimable.
    let y = idle_session(20_000);
    s.store.create(&y).await.unwrap();
    s.other.touch(y.id).await.unwrap().unwrap();
    assert!(
        s.store
            .claim_expired(10_000, 10, 60_000)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn census_counts_by_status_and_finds_the_oldest(s: Subject) {
    let empty = s.store.census().await.unwrap();
    assert_eq!(empty.by_status.values().sum::<u64>(), 0);
    assert_eq!(empty.by_status.len(), 5, "every status listed");
    assert_eq!(empty.oldest_last_seen_ms, None);
    let old = idle_session(50_000);
    s.store.create(&old).await.unwrap();
    let mut done = session();
    done.status = SessionStatus::Completed;
    s.store.create(&done).await.unwrap();
    s.store.create(&session()).await.unwrap();
    let c = s.other.census().await.unwrap();
    assert_eq!(
        (
            c.by_status["uploaded"],
            c.by_status["completed"],
            c.by_status["failed"]
        ),
        (2, 1, 0)
    );
    assert_eq!(c.oldest_last_seen_ms, Some(old.last_seen_at_ms));
}

async fn a_queued_run_can_be_taken_over_only_under_its_job_id(s: Subject) {
    let x = session();
    s.store.create(&x).await.unwrap();
    assert!(matches!(
        s.store.start_run(x.id, "job-1", None).await.unwrap(),
        StartRun::Started(_)
    ));
    assert!(matches!(
        s.store
            .start_run(x.id, "job-2", Some("job-other"))
            .await
            .unwrap(),
        StartRun::Busy(_)
    ));
    let StartRun::Started(taken) = s
        .other
        .start_run(x.id, "job-2", Some("job-1"))
        .await
        .unwrap()
    else {
        panic!("not taken over")
    };
    assert_eq!((taken.job_id.as_deref(), taken.attempt), (Some("job-2"), 2));
    // Processing runs are never taken over.
    let busy = Update {
        status: Some(SessionStatus::Processing),
        ..Update::default()
    };
    s.store.update(x.id, &busy).await.unwrap();
    assert!(matches!(
        s.store
            .start_run(x.id, "job-3", Some("job-2"))
            .await
            .unwrap(),
        StartRun::Busy(_)
    ));
}

async fn idle_queued_sessions_are_listed_with_their_jobs(s: Subject) {
    let waiting = idle_session(30_000);
    let fresh = session();
    let idle_done = idle_session(30_000);
    for x in [&waiting, &fresh, &idle_done] {
        s.store.create(x).await.unwrap();
    }
    s.store.start_run(waiting.id, "job-w", None).await.unwrap();
    s.store.start_run(fresh.id, "job-f", None).await.unwrap();
    // Idle means seen strictly before now: let a few milliseconds pass.
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let listed = s.other.queued_idle(0, 10).await.unwrap();
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert!(listed.contains(&(waiting.id, "job-w".to_owned())));
    assert!(
        s.other.queued_idle(60_000, 10).await.unwrap().is_empty(),
        "both were seen just now"
    );
    assert_eq!(s.other.queued_idle(0, 1).await.unwrap().len(), 1, "limit");
}
