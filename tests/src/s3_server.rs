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
    server: JoinHandle<()>,
}

impl S3Server {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        // A bucket is a directory under the root.
        std::fs::create_dir(dir.path().join(BUCKET)).expect("bucket");
        let fs = s3s_fs::FileSystem::new(dir.path()).expect("s3s-fs");
        let service = {
            let mut b = S3ServiceBuilder::new(fs);
            b.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
            b.build()
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = tokio::spawn(async move {
            let http = ConnBuilder::new(TokioExecutor::new());
            while let Ok((socket, _)) = listener.accept().await {
                let conn = http
                    .serve_connection(TokioIo::new(socket), service.clone())
                    .into_owned();
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
        });
        Self { addr, dir, server }
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

    /// Every file in the bucket (relative paths), for checking what is left.
    pub fn objects(&self) -> Vec<String> {
        let root = self.dir.path().join(BUCKET);
        let mut out = Vec::new();
        let mut dirs = vec![root.clone()];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    dirs.push(p);
                } else {
                    out.push(p.strip_prefix(&root).unwrap().display().to_string());
                }
            }
        }
        out.sort();
        out
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.server.abort();
    }
}
