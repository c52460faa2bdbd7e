//! The `unfinished` scenario: many uploads that never finish, from a few addresses, and
//! one ordinary upload from another beside them.
//!
//! 75 multipart uploads of a 15 MiB CSV from three loopback addresses (25 each, under
//! the default rate limit's burst), each sending every byte of the file but not the
//! closing boundary, and then holding its connection open; meanwhile a fourth address
//! uploads the worked example. Measured on the release API in distributed mode (a
//! private Redis, one worker), with default settings but the rate limits: how the 75
//! were answered (admitted and held, or refused with 429 `too_many_uploads`), the
//! API's peak RSS, the fourth address's answer and time, and the API's RSS once the
//! unfinished uploads have gone.
//!
//! Targets: API peak RSS under 256 MiB; the fourth address's upload accepted (201) or
//! refused cleanly (503 `busy`); RSS within 64 MiB of its idle figure afterwards.

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    time::{Duration, Instant},
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{
        TcpSocket,
        tcp::{OwnedReadHalf, OwnedWriteHalf},
    },
};

use crate::stack::{Binaries, Mode, Stack};

const PEAK_TARGET_MIB: f64 = 256.0;
const SETTLED_MARGIN_MIB: f64 = 64.0;
const FILE_BYTES: usize = 15 * 1024 * 1024;
const PER_ADDRESS: usize = 25;
const ADDRESSES: [Ipv4Addr; 3] = [
    Ipv4Addr::new(127, 0, 0, 11),
    Ipv4Addr::new(127, 0, 0, 12),
    Ipv4Addr::new(127, 0, 0, 13),
];
const NORMAL_ADDRESS: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 14);
/// Bounds: on sending one upload, and on the whole scenario's waits.
const SEND_TIMEOUT: Duration = Duration::from_secs(90);
const SETTLE: Duration = Duration::from_secs(3);
const BOUNDARY: &str = "maplink-bench-unfinished";
const WORKED_EXAMPLE: &[u8] = include_bytes!("../../tests/fixtures/seed_example.csv");

/// How one unfinished upload was answered.
#[derive(Debug)]
enum Outcome {
    /// Every byte was taken and no answer came: the API holds it (the connection is
    /// kept open until the outcome is dropped).
    Held {
        _connection: (OwnedReadHalf, OwnedWriteHalf),
    },
    /// Answered before the end: the status line's code.
    Answered(u16),
    /// The connection failed or the send did not finish in time.
    Broken(String),
}

pub async fn unfinished() -> anyhow::Result<bool> {
    let binaries = Binaries::find()?;
    let stack = Stack::start(&binaries, Mode::Distributed)?;
    let addr: SocketAddr = stack.addr.parse()?;
    let idle_mib = stack.api.rss_mib();
    println!(
        "unfinished: {} uploads of {} MiB from {} addresses ({} each), never finished, against \
         the release API (distributed, default settings but the rate limits)",
        PER_ADDRESS * ADDRESSES.len(),
        FILE_BYTES / (1024 * 1024),
        ADDRESSES.len(),
        PER_ADDRESS
    );
    let body = unfinished_body();
    let started = Instant::now();
    let sends = ADDRESSES.iter().flat_map(|ip| {
        let body = body.clone();
        (0..PER_ADDRESS).map(move |_| send_unfinished(addr, *ip, body.clone()))
    });
    let outcomes = futures::future::join_all(sends).await;
    let send_seconds = started.elapsed().as_secs_f64();
    let held = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Held { .. }))
        .count();
    let mut answered: std::collections::BTreeMap<u16, usize> = Default::default();
    let mut broken = Vec::new();
    for o in &outcomes {
        match o {
            Outcome::Answered(code) => *answered.entry(*code).or_default() += 1,
            Outcome::Broken(why) => broken.push(why.clone()),
            Outcome::Held { .. } => {}
        }
    }
    let peak_with_held = stack.api.peak_mib();

    // A fourth address uploads an ordinary sheet while the others hold theirs.
    maplink_worker::resolve::install_crypto_provider();
    let client = reqwest::Client::builder()
        .local_address(IpAddr::V4(NORMAL_ADDRESS))
        .timeout(SEND_TIMEOUT)
        .build()?;
    let normal_started = Instant::now();
    let normal = maplink_tests::api::upload_to(
        &client,
        &format!("http://{addr}"),
        "stores.csv",
        WORKED_EXAMPLE.to_vec(),
    )
    .await;
    let normal_seconds = normal_started.elapsed().as_secs_f64();
    let normal_status = normal.status().as_u16();
    let normal_code = normal
        .json::<serde_json::Value>()
        .await
        .ok()
        .and_then(|b| b["code"].as_str().map(str::to_owned));

    drop(outcomes);
    tokio::time::sleep(SETTLE).await;
    let settled_mib = stack.api.rss_mib();
    let peak_mib = stack.api.peak_mib();

    println!(
        "  sent in {send_seconds:.1} s: {held} held by the API, answered early {answered:?}, broken {}",
        broken.len()
    );
    for why in broken.iter().take(3) {
        println!("    broken: {why}");
    }
    println!(
        "  API RSS: idle {idle_mib:.0} MiB, peak {peak_mib:.0} MiB (with the uploads held: {peak_with_held:.0}), \
         {settled_mib:.0} MiB {} s after they left",
        SETTLE.as_secs()
    );
    println!(
        "  fourth address: {normal_status}{} in {normal_seconds:.2} s",
        normal_code.map(|c| format!(" {c}")).unwrap_or_default()
    );
    let peak_ok = peak_mib < PEAK_TARGET_MIB;
    let normal_ok = normal_status == 201 || (normal_status == 503);
    let settled_ok = settled_mib < idle_mib + SETTLED_MARGIN_MIB;
    println!(
        "  targets: peak < {PEAK_TARGET_MIB:.0} MiB {}; fourth address 201 (or a clean 503) {}; \
         RSS back within {SETTLED_MARGIN_MIB:.0} MiB of idle {}",
        verdict(peak_ok),
        verdict(normal_ok),
        verdict(settled_ok)
    );
    Ok(peak_ok && normal_ok && settled_ok)
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "MISSED" }
}

/// The request's head and body up to, not including, the closing boundary: a CSV of
/// about [`FILE_BYTES`] with a map link on every row.
fn unfinished_body() -> bytes::Bytes {
    let mut csv = b"Name,Region,Maps\n".to_vec();
    let mut i = 0u64;
    while csv.len() < FILE_BYTES {
        csv.extend_from_slice(
            format!(
                "Store {i},Gauteng,\"-26.{:06},28.{:06}\"\n",
                i % 1_000_000,
                i % 999_983
            )
            .as_bytes(),
        );
        i += 1;
    }
    let part_head = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.csv\"\r\nContent-Type: text/csv\r\n\r\n"
    );
    let closing = format!("\r\n--{BOUNDARY}--\r\n");
    // The announced length counts the closing boundary, which never comes.
    let length = part_head.len() + csv.len() + closing.len();
    let head = format!(
        "POST /api/v1/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {length}\r\n\r\n"
    );
    let mut all = head.into_bytes();
    all.extend_from_slice(part_head.as_bytes());
    all.extend_from_slice(&csv);
    bytes::Bytes::from(all)
}

/// Sends `body` from `from` and keeps the connection unless the API answers first.
async fn send_unfinished(api: SocketAddr, from: Ipv4Addr, body: bytes::Bytes) -> Outcome {
    let attempt = async {
        let socket = TcpSocket::new_v4()?;
        socket.bind(SocketAddr::new(IpAddr::V4(from), 0))?;
        let (mut reader, mut writer) = socket.connect(api).await?.into_split();
        // Sent in pieces, looking for an early answer between them.
        for piece in body.chunks(256 * 1024) {
            tokio::select! {
                written = writer.write_all(piece) => written?,
                code = read_status(&mut reader) => return Ok(Outcome::Answered(code?)),
            }
        }
        // Every byte is there; an answer that comes now came early too.
        match tokio::time::timeout(Duration::from_millis(500), read_status(&mut reader)).await {
            Ok(code) => Ok(Outcome::Answered(code?)),
            Err(_) => Ok::<_, std::io::Error>(Outcome::Held {
                _connection: (reader, writer),
            }),
        }
    };
    match tokio::time::timeout(SEND_TIMEOUT, attempt).await {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(e)) => Outcome::Broken(e.to_string()),
        Err(_) => Outcome::Broken("send timed out".into()),
    }
}

/// The status code of the answer the API sends on `stream`.
async fn read_status(stream: &mut OwnedReadHalf) -> std::io::Result<u16> {
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).await?;
    std::str::from_utf8(&head[9..12])
        .ok()
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other("not an HTTP answer"))
}
