//! A real S3 protocol server for the object-storage tests: `s3s-fs` (an S3 server over
//! a directory) in this process, on 127.0.0.1 with a random port, a temp dir, one
//! bucket and one access key. Stopped when dropped.

use std::net::SocketAddr;

use hyper_util::{
    rt::{TokioExecutor, TokioIo},
    server::conn::auto::Builder as ConnBuilder,
};
use s3s::{auth::SimpleAuth, service::S3ServiceBuilder};
use tokio::{net::TcpListener, task::JoinHandle};

pub const ACCESS_KEY: &str = "maplink-test";
pub const SECRET_KEY: &str = "maplink-test-secret";
pub const BUCKET: &str = "maplink";

pub struct S3Server {
    addr: SocketAddr,
    dir: tempfile::TempDir,
    server: Option<JoinHandle<()>>,
}

impl S3Server {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        // A bucket is a directory under the root.
        std::fs::create_dir(dir.path().join(BUCKET)).expect("bucket");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = Some(serve(listener, dir.path()));
        Self { addr, dir, server }
    }

    /// Stops answering: the listener and every open connection are closed, so a
    /// client sees the store down (connections refused) until [`restart`](Self::restart).
    pub async fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
            let _ = server.await;
        }
    }

    /// Serves again on the same address, with the same objects.
    pub async fn restart(&mut self) {
        self.stop().await;
        let listener = TcpListener::bind(self.addr).await.expect("bind again");
        self.server = Some(serve(listener, self.dir.path()));
    }

    /// `s3://<bucket>/<prefix>`.
    pub fn url(&self, prefix: &str) -> String {
        format!("s3://{BUCKET}/{prefix}")
    }

    /// The `AWS_*` settings a client needs to reach this server.
    pub fn aws_options(&self) -> Vec<(String, String)> {
        [
            ("aws_endpoint_url", format!("http://{}", self.addr)),
            ("aws_access_key_id", ACCESS_KEY.to_owned()),
            ("aws_secret_access_key", SECRET_KEY.to_owned()),
            ("aws_region", "us-east-1".to_owned()),
            ("aws_allow_http", "true".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// The environment that points a maplink process at this server's bucket, under
    /// `prefix`: `MAPLINK_STORAGE_URL` and the standard `AWS_*` variables.
    pub fn process_env(&self, prefix: &str) -> Vec<(String, String)> {
        let mut env = vec![("MAPLINK_STORAGE_URL".to_owned(), self.url(prefix))];
        for (k, v) in self.aws_options() {
            env.push((k.to_ascii_uppercase(), v));
        }
        env
    }

    /// Every file the server holds anywhere under its root (bucket objects, multipart
    /// parts and its own metadata), relative paths: what an aborted upload must not add.
    pub fn all_files(&self) -> Vec<String> {
        files_under(self.dir.path())
    }

    /// The bucket's directory: a file put there is an object.
    pub fn bucket_dir(&self) -> std::path::PathBuf {
        self.dir.path().join(BUCKET)
    }

    /// Every file in the bucket (relative paths), for checking what is left.
    pub fn objects(&self) -> Vec<String> {
        files_under(&self.dir.path().join(BUCKET))
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        if let Some(server) = &self.server {
            server.abort();
        }
    }
}

/// Accepts connections until aborted. The connections are tasks of a set owned by
/// the accepting task, so aborting it drops the set and closes every connection too
/// (a stopped server must not go on answering on a kept-alive connection).
fn serve(listener: TcpListener, root: &std::path::Path) -> JoinHandle<()> {
    let fs = s3s_fs::FileSystem::new(root).expect("s3s-fs");
    let service = {
        let mut b = S3ServiceBuilder::new(fs);
        b.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
        b.build()
    };
    tokio::spawn(async move {
        let http = ConnBuilder::new(TokioExecutor::new());
        let mut connections = tokio::task::JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let Ok((socket, _)) = accepted else { break };
                    // Headers and body go out as separate writes: without this, the body waits for
                    // the client's delayed ACK (~40 ms per response).
                    let _ = socket.set_nodelay(true);
                    let conn = http
                        .serve_connection(TokioIo::new(socket), service.clone())
                        .into_owned();
                    connections.spawn(async move {
                        let _ = conn.await;
                    });
                }
                // Reaps finished connections so the set does not grow.
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        }
    })
}

/// Every file under `root`, as sorted relative paths.
fn files_under(root: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else {
                out.push(p.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}
