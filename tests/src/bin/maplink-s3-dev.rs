//! A small S3 protocol server over a local directory, for trying maplink's object
//! storage without a cloud account or containers (`deploy/local-cluster.sh --s3`).
//! The same server as the tests' (`s3s-fs`, see `s3_server.rs`), as a process:
//!
//!   maplink-s3-dev --addr 127.0.0.1:9000 --dir DIR --bucket maplink \
//!       --access-key KEY --secret-key SECRET
//!
//! Objects are plain files under `DIR/<bucket>/` (their metadata in hidden files in
//! `DIR`). For development only: one access key, plain HTTP, no TLS. Stops on SIGTERM or
//! Ctrl-C.

use std::{net::SocketAddr, path::PathBuf, process::ExitCode};

use hyper_util::{
    rt::{TokioExecutor, TokioIo},
    server::conn::auto::Builder as ConnBuilder,
};
use s3s::{auth::SimpleAuth, service::S3ServiceBuilder};
use tokio::{
    net::TcpListener,
    signal::unix::{SignalKind, signal},
};

const USAGE: &str = "usage: maplink-s3-dev --addr HOST:PORT --dir DIR --bucket NAME \
                     --access-key KEY --secret-key SECRET";

#[derive(Debug)]
struct Args {
    addr: SocketAddr,
    dir: PathBuf,
    bucket: String,
    access_key: String,
    secret_key: String,
}

/// Every option is required: a development server that guesses a key or a directory
/// would hide a mistake in the script that starts it.
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let (mut addr, mut dir, mut bucket, mut access_key, mut secret_key) =
        (None, None, None, None, None);
    while let Some(flag) = args.next() {
        let slot = match flag.as_str() {
            "--addr" => &mut addr,
            "--dir" => &mut dir,
            "--bucket" => &mut bucket,
            "--access-key" => &mut access_key,
            "--secret-key" => &mut secret_key,
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        };
        *slot = Some(args.next().ok_or_else(|| format!("{flag} needs a value"))?);
    }
    let need = |value: Option<String>, flag: &str| {
        value
            .filter(|v| !v.is_empty())
            .ok_or_else(|| format!("{flag} is required\n{USAGE}"))
    };
    let addr = need(addr, "--addr")?;
    let bucket = need(bucket, "--bucket")?;
    // A bucket is a directory under the root: no separators or dot names.
    if bucket.contains(['/', '\\']) || bucket.starts_with('.') {
        return Err(format!("--bucket {bucket:?} is not a bucket name"));
    }
    Ok(Args {
        addr: addr.parse().map_err(|e| format!("--addr {addr:?}: {e}"))?,
        dir: need(dir, "--dir")?.into(),
        bucket,
        access_key: need(access_key, "--access-key")?,
        secret_key: need(secret_key, "--secret-key")?,
    })
}

async fn serve(args: Args) -> Result<(), String> {
    let bucket_dir = args.dir.join(&args.bucket);
    std::fs::create_dir_all(&bucket_dir)
        .map_err(|e| format!("creating {}: {e}", bucket_dir.display()))?;
    let fs = s3s_fs::FileSystem::new(&args.dir)
        .map_err(|e| format!("serving {}: {e:?}", args.dir.display()))?;
    let service = {
        let mut b = S3ServiceBuilder::new(fs);
        b.set_auth(SimpleAuth::from_single(args.access_key, args.secret_key));
        b.build()
    };
    let listener = TcpListener::bind(args.addr)
        .await
        .map_err(|e| format!("binding {}: {e}", args.addr))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    // Scripts wait for this line (or for the port) before starting maplink.
    println!(
        "maplink-s3-dev listening on http://{addr}, bucket {:?} in {}",
        args.bucket,
        args.dir.display()
    );

    let mut term = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let http = ConnBuilder::new(TokioExecutor::new());
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                // A failed accept (out of descriptors, a reset) costs one connection,
                // not the server; the pause keeps a persistent failure from spinning.
                let Ok((socket, _)) = accepted else {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                };
                // Headers and body go out as separate writes: without this, the body waits for
                // the client's delayed ACK (~40 ms per response).
                let _ = socket.set_nodelay(true);
                let conn = http
                    .serve_connection(TokioIo::new(socket), service.clone())
                    .into_owned();
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
            _ = term.recv() => break,
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    println!("maplink-s3-dev stopped");
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    match serve(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("maplink-s3-dev: {message}");
            ExitCode::FAILURE
        }
    }
}
