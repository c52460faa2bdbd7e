//! One suite for the session file store, on the local filesystem and on a real S3
//! protocol server (`s3s-fs`, in this process on 127.0.0.1): whole and streamed
//! writes (an abandoned one leaves nothing), streamed reads, listings for the orphan
//! sweep and the quota, and removal that leaves nothing behind.

use bytes::Bytes;
use futures::TryStreamExt;
use maplink::{
    domain::{FileFormat, SessionId},
    files::{FileStore, SessionFile},
};
use maplink_tests::s3_server::S3Server;

struct Subject {
    files: FileStore,
    s3: Option<S3Server>,
    _dir: tempfile::TempDir,
}

async fn local() -> Subject {
    let dir = tempfile::tempdir().unwrap();
    Subject {
        files: FileStore::open(dir.path()).unwrap(),
        s3: None,
        _dir: dir,
    }
}

async fn s3() -> Subject {
    let server = S3Server::start().await;
    maplink_worker::resolve::install_crypto_provider();
    Subject {
        files: FileStore::open_url(&server.url("sessions"), &server.aws_options()).unwrap(),
        s3: Some(server),
        _dir: tempfile::tempdir().unwrap(),
    }
}

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod on_local { $( #[tokio::test] async fn $name() { super::$name(super::local().await).await } )* }
        mod on_s3 { $( #[tokio::test] async fn $name() { super::$name(super::s3().await).await } )* }
    };
}

conformance!(
    a_file_written_is_read_back_whole_and_streamed_in_chunks,
    a_rewrite_replaces_the_file,
    sessions_are_listed_with_their_newest_write_and_counted_in_bytes,
    removing_a_session_leaves_nothing_behind,
    a_missing_file_is_not_found,
    a_streamed_write_appears_whole_only_when_finished,
    a_small_streamed_write_is_stored_too,
    an_abandoned_streamed_write_leaves_nothing,
);

const OUTPUT: SessionFile = SessionFile::Output(FileFormat::Xlsx);

async fn a_file_written_is_read_back_whole_and_streamed_in_chunks(s: Subject) {
    let id = SessionId::random();
    let body: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    s.files.write(id, OUTPUT, body.clone()).await.unwrap();
    assert!(s.files.exists(id, OUTPUT).await.unwrap());
    assert_eq!(&s.files.read(id, OUTPUT).await.unwrap()[..], &body[..]);
    let (size, chunks) = s.files.read_stream(id, OUTPUT).await.unwrap();
    assert_eq!(size, body.len() as u64);
    let chunks: Vec<Bytes> = chunks.try_collect().await.unwrap();
    assert_eq!(chunks.concat(), body);
}

async fn a_rewrite_replaces_the_file(s: Subject) {
    let id = SessionId::random();
    s.files
        .write(id, SessionFile::Rows, &b"old"[..])
        .await
        .unwrap();
    s.files
        .write(id, SessionFile::Rows, &b"new!"[..])
        .await
        .unwrap();
    assert_eq!(
        &s.files.read(id, SessionFile::Rows).await.unwrap()[..],
        b"new!"
    );
}

async fn sessions_are_listed_with_their_newest_write_and_counted_in_bytes(s: Subject) {
    let (a, b) = (SessionId::random(), SessionId::random());
    let before = std::time::SystemTime::now() - std::time::Duration::from_secs(2);
    s.files
        .write(a, SessionFile::Input(FileFormat::Csv), &b"a,b\n"[..])
        .await
        .unwrap();
    s.files
        .write(a, SessionFile::Rows, &b"{}\n"[..])
        .await
        .unwrap();
    s.files
        .write(b, SessionFile::Input(FileFormat::Csv), &b"x"[..])
        .await
        .unwrap();
    let mut listed = s.files.list_sessions().await.unwrap();
    listed.sort();
    let mut want = vec![a, b];
    want.sort();
    assert_eq!(listed.iter().map(|(id, _)| *id).collect::<Vec<_>>(), want);
    assert!(listed.iter().all(|(_, t)| *t >= before));
    assert_eq!(s.files.stored_bytes().await.unwrap(), 4 + 3 + 1);
}

async fn removing_a_session_leaves_nothing_behind(s: Subject) {
    let (gone, kept) = (SessionId::random(), SessionId::random());
    for id in [gone, kept] {
        s.files
            .write(id, SessionFile::Input(FileFormat::Xlsx), &b"in"[..])
            .await
            .unwrap();
        s.files.write(id, OUTPUT, &b"out"[..]).await.unwrap();
    }
    s.files.remove_session(gone).await.unwrap();
    s.files.remove_session(gone).await.unwrap();
    assert!(!s.files.exists(gone, OUTPUT).await.unwrap());
    assert!(s.files.exists(kept, OUTPUT).await.unwrap());
    let listed = s.files.list_sessions().await.unwrap();
    assert_eq!(listed.len(), 1);
    s.files.remove_session(kept).await.unwrap();
    match &s.s3 {
        Some(server) => assert_eq!(server.objects(), Vec::<String>::new()),
        None => assert!(!s.files.session_dir(kept).exists()),
    }
}

async fn a_missing_file_is_not_found(s: Subject) {
    let id = SessionId::random();
    assert!(!s.files.exists(id, OUTPUT).await.unwrap());
    let err = s.files.read(id, OUTPUT).await.unwrap_err();
    assert!(err.is_missing_file(), "{err}");
    s.files.remove_file(id, OUTPUT).await.unwrap();
}

/// Every file under the store's root, wherever it keeps them (objects, multipart
/// parts, staging files).
fn held(s: &Subject, id: SessionId) -> Vec<String> {
    match &s.s3 {
        Some(server) => server.all_files(),
        None => std::fs::read_dir(s.files.session_dir(id))
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default(),
    }
}

const INPUT: SessionFile = SessionFile::Input(FileFormat::Csv);

/// 12 MiB in 64 KiB chunks: more than two multipart parts.
fn big_chunks() -> Vec<Bytes> {
    (0..192u32)
        .map(|i| Bytes::from(vec![(i % 251) as u8; 64 * 1024]))
        .collect()
}

async fn a_streamed_write_appears_whole_only_when_finished(s: Subject) {
    let id = SessionId::random();
    let chunks = big_chunks();
    let mut writer = s.files.writer(id, INPUT);
    for chunk in &chunks {
        writer.write(chunk.clone()).await.unwrap();
    }
    assert!(
        !s.files.exists(id, INPUT).await.unwrap(),
        "not before finish"
    );
    assert_eq!(writer.finish().await.unwrap(), 12 << 20);
    assert_eq!(s.files.read(id, INPUT).await.unwrap(), chunks.concat());
    s.files.remove_session(id).await.unwrap();
    match &s.s3 {
        // (The server keeps its own metadata of a deleted multipart object; the
        // bucket holds nothing.)
        Some(server) => assert_eq!(server.objects(), Vec::<String>::new()),
        None => assert!(!s.files.session_dir(id).exists()),
    }
}

async fn a_small_streamed_write_is_stored_too(s: Subject) {
    let id = SessionId::random();
    let mut writer = s.files.writer(id, INPUT);
    writer.write(Bytes::from_static(b"Name,")).await.unwrap();
    writer
        .write(Bytes::from_static(b"Maps link\n"))
        .await
        .unwrap();
    assert_eq!(writer.finish().await.unwrap(), 15);
    assert_eq!(
        &s.files.read(id, INPUT).await.unwrap()[..],
        b"Name,Maps link\n"
    );
}

async fn an_abandoned_streamed_write_leaves_nothing(s: Subject) {
    let id = SessionId::random();
    let mut writer = s.files.writer(id, INPUT);
    for chunk in big_chunks().into_iter().take(120) {
        writer.write(chunk).await.unwrap();
    }
    drop(writer);
    // The abort runs in the writer's task: wait for it to have removed the parts.
    maplink_tests::eventually(
        std::time::Duration::from_secs(10),
        "the abandoned write gone",
        || {
            let left = held(&s, id);
            async move { left.is_empty().then_some(()) }
        },
    )
    .await;
    assert!(!s.files.exists(id, INPUT).await.unwrap());
}

/// A local write cut short by a killed process leaves a staging file that listings
/// of objects do not show; the orphan sweep still finds its session and removes it.
#[tokio::test]
async fn a_local_staging_file_left_by_a_crash_is_listed_and_removed() {
    let s = local().await;
    let id = SessionId::random();
    let dir = s.files.session_dir(id);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("input.csv#1"), b"half a fi").unwrap();
    let listed = s.files.list_sessions().await.unwrap();
    assert_eq!(listed.iter().map(|(i, _)| *i).collect::<Vec<_>>(), vec![id]);
    s.files.remove_session(id).await.unwrap();
    assert!(!dir.exists());
}
