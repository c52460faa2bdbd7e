//! The `storage` scenario: the `sheet` scenario's generated sheet through the whole
//! coordinates job (`maplink_worker::jobs::convert::run`: session store, event log,
//! file store) with the session's files on the local filesystem and in S3.
//!
//! The S3 store is a real S3 protocol server in this process (`s3s-fs` over a temp
//! dir, on 127.0.0.1, the one the tests use), reached through the same client and
//! `FileStore` as a deployment with `storage_url`: the figures show what the object
//! store's protocol costs (HTTP, signing, the server's own writes), not network
//! latency. That server leaves Nagle's algorithm on for its connections, so each GET
//! with a body waits once for the client's delayed ACK (about 40 ms on Linux): the job
//! (one GET, of the input) and the download carry that wait each. Sessions, events and
//! the link cache are in one embedded SQLite database shared by both stores, so the
//! stores are the only difference.
//!
//! Each run: the input is uploaded into the store (timed), the job reads it from
//! there and writes the output, the failed and skipped subsets and `rows.jsonl` there
//! (timed: the job time), the output is downloaded as the API streams it (timed), and
//! the job's store traffic is replayed without the conversion (one read of the input,
//! the four writes; timed). The runs alternate local, S3, local, … and each store's
//! figures are the median of `RUNS`. Every S3 run's files are checked against the first
//! local run's: `rows.jsonl` byte for byte, the workbooks byte for byte or, when the
//! bytes differ, cell by cell (an .xlsx embeds its creation time, to the second, in
//! `docProps/core.xml`).

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use futures::TryStreamExt;
use maplink::{
    backend::Reconnect,
    config::Settings,
    domain::{FileFormat, Session, SessionId, now_ms},
    files::{FileStore, SessionFile},
    jobs::ConvertJob,
    session::StartRun,
    sheet,
};
use maplink_tests::s3_server::S3Server;
use maplink_worker::{
    WorkerState,
    app::open_backend,
    jobs::convert::{self, Outcome},
};

use crate::scenarios::{parseable_sheet, report};

/// Runs per store.
const RUNS: usize = 5;
/// The S3 job time may be at most this many times the local one. The store's share of
/// the job is one read of the input and four writes (about 10 × the input's bytes, most
/// of it `rows.jsonl`) against a second or so of parsing and writing workbooks: over
/// loopback that should cost a fraction of the job, not half of it again. Judged from
/// `TARGET_ROWS` rows: on small sheets the fixed cost of each request dominates.
const TARGET_RATIO: f64 = 1.5;
const TARGET_ROWS: usize = 100_000;
/// The longest one run (upload, job, download) may take.
const RUN_TIMEOUT: Duration = Duration::from_secs(300);
const FORMAT: FileFormat = FileFormat::Xlsx;

/// One run's times and the files it left.
struct Run {
    upload: f64,
    job: f64,
    download: f64,
    /// The job's own store traffic replayed without the conversion: one read of the
    /// input and the four writes.
    io: f64,
    files: Files,
}

/// A run's output files, as downloaded.
struct Files {
    output: Vec<u8>,
    failed: Vec<u8>,
    skipped: Vec<u8>,
    rows: Vec<u8>,
}

impl Files {
    /// What the job wrote.
    fn written(&self) -> usize {
        self.output.len() + self.failed.len() + self.skipped.len() + self.rows.len()
    }
}

struct Store {
    name: &'static str,
    state: WorkerState,
    runs: Vec<Run>,
}

pub async fn storage(rows: usize) -> anyhow::Result<bool> {
    println!(
        "storage: {rows} rows of parseable links (.xlsx), the whole job with its files on \
         the local filesystem and in S3 (s3s-fs on 127.0.0.1); median of {RUNS} runs each"
    );
    let input = parseable_sheet(rows)?;
    let dir = tempfile::tempdir()?;
    let settings = Arc::new(Settings {
        data_dir: dir.path().to_owned(),
        ..Settings::default()
    });
    let (backend, queue) = open_backend(&settings, Reconnect::WithBackoff).await?;
    // The S3 client (reqwest on rustls) needs the process's crypto provider, even
    // over plain HTTP.
    maplink_worker::resolve::install_crypto_provider();
    let s3 = S3Server::start().await;
    let mut stores = Vec::new();
    for (name, files) in [
        ("local filesystem", FileStore::open(dir.path())?),
        (
            "S3 (s3s-fs)",
            FileStore::open_url(&s3.url("bench"), &s3.aws_options())?,
        ),
    ] {
        let state = WorkerState::new(
            &backend,
            queue.clone(),
            files,
            settings.clone(),
            "maplink-bench".to_owned(),
            maplink::clock::Clock::system(),
        )
        .await?;
        stores.push(Store {
            name,
            state,
            runs: Vec::new(),
        });
    }
    for _ in 0..RUNS {
        for store in &mut stores {
            let run = tokio::time::timeout(RUN_TIMEOUT, one_run(&store.state, &input, rows))
                .await
                .map_err(|_| {
                    anyhow::anyhow!("a run on {} took over {RUN_TIMEOUT:?}", store.name)
                })??;
            store.runs.push(run);
        }
    }
    let [local, remote] = &stores[..] else {
        unreachable!("two stores")
    };
    let files = &local.runs[0].files;
    println!(
        "  input {:.2} MiB; the job writes {:.2} MiB (output {:.2}, rows.jsonl {:.2}, \
         failed and skipped {:.3}); the output downloaded {:.2} MiB",
        mib(input.len()),
        mib(files.written()),
        mib(files.output.len()),
        mib(files.rows.len()),
        mib(files.failed.len() + files.skipped.len()),
        mib(files.output.len()),
    );
    println!(
        "  per run through the store: {:.2} MiB (upload, the job's read and writes, download)",
        mib(2 * input.len() + files.written() + files.output.len())
    );
    let mut same_bytes = 0;
    for run in &remote.runs {
        same_bytes += usize::from(same_files(files, &run.files, &settings)?);
    }
    println!(
        "  S3 output = local output in every run: rows.jsonl byte for byte; workbooks \
         byte-identical in {same_bytes} of {RUNS} runs, equal cell by cell in the rest \
         (an .xlsx embeds its creation time, to the second)"
    );
    let mut medians = Vec::new();
    let mut io_medians = Vec::new();
    for store in &stores {
        println!("  {}", store.name);
        let job = median(store.runs.iter().map(|r| r.job));
        let upload = median(store.runs.iter().map(|r| r.upload));
        let download = median(store.runs.iter().map(|r| r.download));
        let io = median(store.runs.iter().map(|r| r.io));
        report("upload input", upload * 1000.0, "ms", None);
        report("job time", job, "s", None);
        report("throughput", rows as f64 / job, "rows/s", None);
        report("download output", download * 1000.0, "ms", None);
        report("the job's file I/O alone", io * 1000.0, "ms", None);
        let each: Vec<String> = store.runs.iter().map(|r| format!("{:.2}", r.job)).collect();
        println!("  {:<28} {} s", "job times", each.join(" / "));
        medians.push(job);
        io_medians.push(io);
    }
    let extra = io_medians[1] - io_medians[0];
    println!(
        "  {:<28} {:>10.2} ms    ({:.1} % of the local job time)",
        "S3 − local, file I/O alone",
        extra * 1000.0,
        extra * 100.0 / medians[0]
    );
    let ratio = medians[1] / medians[0];
    let met = ratio <= TARGET_RATIO;
    if rows >= TARGET_ROWS {
        println!(
            "  {:<28} {ratio:>10.2} ×     (target ≤ {TARGET_RATIO} ×) {}",
            "S3 ÷ local job time",
            if met { "ok" } else { "MISSED" }
        );
    } else {
        println!("  {:<28} {ratio:>10.2} ×", "S3 ÷ local job time");
    }
    drop(s3);
    Ok(met || rows < TARGET_ROWS)
}

/// Uploads the input, runs the job and downloads the output; the session and its
/// files are removed afterwards.
async fn one_run(state: &WorkerState, input: &[u8], rows: usize) -> anyhow::Result<Run> {
    let files = &state.files;
    let session = Session::new("bench.xlsx", FORMAT, "Maps link", rows as u64, now_ms());
    let id = session.id;
    let body = input.to_vec();
    let started = Instant::now();
    files.write(id, SessionFile::Input(FORMAT), body).await?;
    let upload = started.elapsed().as_secs_f64();
    state.sessions.create(&session).await?;
    let run = match state.sessions.start_run(id, "bench", None).await? {
        StartRun::Started(s) => s.attempt,
        other => anyhow::bail!("the run did not start: {other:?}"),
    };

    let started = Instant::now();
    let outcome = convert::run(state, &ConvertJob::new(id, run), 1).await?;
    let job = started.elapsed().as_secs_f64();
    match outcome {
        Outcome::Completed(counts) if counts.successful as usize == rows => {}
        other => anyhow::bail!("the job ended {other:?}, not with {rows} rows converted"),
    }

    let started = Instant::now();
    let output = download(files, id, SessionFile::Output(FORMAT)).await?;
    let download_secs = started.elapsed().as_secs_f64();

    let out = Files {
        output,
        failed: download(files, id, SessionFile::Failed(FORMAT)).await?,
        skipped: download(files, id, SessionFile::Skipped(FORMAT)).await?,
        rows: download(files, id, SessionFile::Rows).await?,
    };

    let started = Instant::now();
    files.read(id, SessionFile::Input(FORMAT)).await?;
    for (file, bytes) in [
        (SessionFile::Rows, &out.rows),
        (SessionFile::Failed(FORMAT), &out.failed),
        (SessionFile::Skipped(FORMAT), &out.skipped),
        (SessionFile::Output(FORMAT), &out.output),
    ] {
        files.write(id, file, bytes.clone()).await?;
    }
    let io = started.elapsed().as_secs_f64();

    files.remove_session(id).await?;
    state.sessions.delete(id).await?;
    Ok(Run {
        upload,
        job,
        download: download_secs,
        io,
        files: out,
    })
}

/// A file as a download reads it: streamed, its announced size checked.
async fn download(files: &FileStore, id: SessionId, file: SessionFile) -> anyhow::Result<Vec<u8>> {
    let (size, stream) = files.read_stream(id, file).await?;
    let bytes = stream
        .try_fold(
            Vec::with_capacity(size as usize),
            |mut all, chunk| async move {
                all.extend_from_slice(&chunk);
                Ok(all)
            },
        )
        .await?;
    anyhow::ensure!(
        bytes.len() as u64 == size,
        "{file:?}: {} bytes read, {size} announced",
        bytes.len()
    );
    Ok(bytes)
}

/// Whether `b` holds what `a` does; `Ok(true)` when every file is byte-identical,
/// `Ok(false)` when the workbooks differ in bytes but not in cells, an error otherwise.
fn same_files(a: &Files, b: &Files, settings: &Settings) -> anyhow::Result<bool> {
    anyhow::ensure!(a.rows == b.rows, "rows.jsonl differs");
    let mut identical = true;
    for (name, x, y) in [
        ("output", &a.output, &b.output),
        ("failed", &a.failed, &b.failed),
        ("skipped", &a.skipped, &b.skipped),
    ] {
        if x == y {
            continue;
        }
        identical = false;
        let limits = settings.sheet_limits();
        let x = sheet::read(x, FORMAT, &limits)?;
        let y = sheet::read(y, FORMAT, &limits)?;
        anyhow::ensure!(x == y, "the {name} workbook differs cell by cell");
    }
    Ok(identical)
}

fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.collect();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / 1048576.0
}
