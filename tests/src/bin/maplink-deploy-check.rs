//! Checks run against a deployed maplink from outside, over HTTP only: what
//! `scripts/test-deploy` asks of the containers it starts.
//!
//!   maplink-deploy-check convert BASE                 the worked example, end to end
//!   maplink-deploy-check submit BASE                  upload it and start the job; prints the id
//!   maplink-deploy-check finish BASE ID               wait for that job; check its results
//!   maplink-deploy-check ready URL                    wait until URL answers 200
//!   maplink-deploy-check metrics URL NAME...          URL serves a sample of each NAME
//!   maplink-deploy-check live-workers BASE N          wait until the ops data counts N live workers
//!   maplink-deploy-check prometheus-targets URL JOB N wait until Prometheus scrapes N healthy JOB targets
//!
//! BASE is the API's address (`http://127.0.0.1:8080`). Operator data (`metrics`,
//! `live-workers`) is asked for with `MAPLINK_OPS_TOKEN` from the environment as the
//! bearer token, when it is set. Waits end after `--timeout SECS` (default 120). Exits 0 when the check holds, 1 with the reason when it does
//! not, 2 on a usage error.

use std::{
    process::ExitCode,
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail, ensure};
use maplink_tests::{api::upload_to, sheets};
use serde_json::Value;

const USAGE: &str = "usage: maplink-deploy-check [--timeout SECS] \
    (convert BASE | submit BASE | finish BASE ID | ready URL | metrics URL NAME... \
    | live-workers BASE N | prometheus-targets URL JOB N)";

/// How often a wait asks again.
const POLL: Duration = Duration::from_millis(250);

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut timeout = Duration::from_secs(120);
    if args.first().map(String::as_str) == Some("--timeout") {
        match args.get(1).and_then(|s| s.parse().ok()) {
            Some(secs) => timeout = Duration::from_secs(secs),
            None => return usage("--timeout needs a number of seconds"),
        }
        args.drain(..2);
    }
    let client = maplink_tests::http_client();
    let ops_token = std::env::var("MAPLINK_OPS_TOKEN")
        .ok()
        .filter(|t| !t.is_empty());
    let check = Check {
        client,
        timeout,
        ops_token,
    };
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let outcome = match args.as_slice() {
        ["convert", base] => check.convert(base).await,
        ["submit", base] => check.submit(base).await.map(|id| println!("{id}")),
        ["finish", base, id] => check.finish(base, id).await,
        ["ready", url] => check.ready(url).await,
        ["metrics", url, names @ ..] if !names.is_empty() => check.metrics(url, names).await,
        ["live-workers", base, n] => match n.parse() {
            Ok(n) => check.live_workers(base, n).await,
            Err(_) => return usage("N must be a number"),
        },
        ["prometheus-targets", url, job, n] => match n.parse() {
            Ok(n) => check.prometheus_targets(url, job, n).await,
            Err(_) => return usage("N must be a number"),
        },
        _ => return usage("unknown command or wrong arguments"),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("maplink-deploy-check: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn usage(why: &str) -> ExitCode {
    eprintln!("maplink-deploy-check: {why}\n{USAGE}");
    ExitCode::from(2)
}

/// An answer no waiting can change (a failed session).
#[derive(Debug)]
struct Fatal(String);

impl std::fmt::Display for Fatal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Fatal {}

struct Check {
    client: reqwest::Client,
    timeout: Duration,
    ops_token: Option<String>,
}

impl Check {
    async fn convert(&self, base: &str) -> Result<()> {
        let id = self.submit(base).await?;
        self.finish(base, &id).await?;
        println!("{id}");
        Ok(())
    }

    /// Uploads the worked example and asks for it to be processed.
    async fn submit(&self, base: &str) -> Result<String> {
        let r = upload_to(
            &self.client,
            base,
            "sites.xlsx",
            sheets::seed_example_xlsx(),
        )
        .await;
        let status = r.status();
        let body: Value = r.json().await.context("upload answer")?;
        ensure!(status == 201, "upload answered {status}: {body}");
        let id = body["session_id"]
            .as_str()
            .context("upload answer without session_id")?
            .to_owned();
        let r = self
            .client
            .post(format!("{base}/api/v1/sessions/{id}/process"))
            .send()
            .await?;
        ensure!(r.status() == 202, "process answered {}", r.status());
        Ok(id)
    }

    /// Waits for the session to complete, then checks the counts and that its GeoJSON
    /// holds the original app's coordinates, row by row.
    async fn finish(&self, base: &str, id: &str) -> Result<()> {
        let session = self
            .wait("the session to complete", || async {
                let v = self.json(&format!("{base}/api/v1/sessions/{id}")).await?;
                match v["status"].as_str() {
                    Some("completed") => Ok(Some(v)),
                    Some("failed") => Err(Fatal(format!("the session failed: {v}")).into()),
                    _ => Ok(None),
                }
            })
            .await?;
        let counts = &session["counts"];
        ensure!(
            *counts == serde_json::json!({"successful": 26, "failed": 2, "skipped": 2}),
            "counts {counts}, want 26 successful, 2 failed, 2 skipped"
        );
        let geojson = self
            .json(&format!(
                "{base}/api/v1/sessions/{id}/download?format=geojson"
            ))
            .await?;
        let points = geojson["features"]
            .as_array()
            .context("GeoJSON without features")?
            .iter()
            .map(|f| {
                let c = &f["geometry"]["coordinates"];
                Some((
                    f["properties"]["row"].as_u64()?,
                    c[0].as_f64()?,
                    c[1].as_f64()?,
                ))
            })
            .collect::<Option<Vec<_>>>()
            .context("a feature without row or coordinates")?;
        match sheets::seed_points_mismatch("geojson", &points) {
            Some(mismatch) => bail!("{mismatch}"),
            None => Ok(()),
        }
    }

    async fn ready(&self, url: &str) -> Result<()> {
        self.wait(&format!("{url} to answer 200"), || async {
            Ok(self
                .client
                .get(url)
                .send()
                .await
                .is_ok_and(|r| r.status() == 200)
                .then_some(()))
        })
        .await
    }

    /// `GET url` for operator data: with the ops token when there is one.
    fn ops_get(&self, url: &str) -> reqwest::RequestBuilder {
        let req = self.client.get(url);
        match &self.ops_token {
            Some(token) => req.bearer_auth(token),
            None => req,
        }
    }

    async fn metrics(&self, url: &str, names: &[&str]) -> Result<()> {
        let r = self.ops_get(url).send().await?;
        ensure!(r.status() == 200, "{url} answered {}", r.status());
        let text = r.text().await?;
        // A NAME may carry the start of its labels (`maplink_queue_depth{state="pending"`).
        let samples: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        for name in names {
            let found = samples.iter().any(|line| {
                line.strip_prefix(name)
                    .is_some_and(|rest| name.contains('{') || rest.starts_with(['{', ' ']))
            });
            ensure!(found, "{url} does not export {name}");
        }
        Ok(())
    }

    async fn live_workers(&self, base: &str, want: usize) -> Result<()> {
        self.wait(&format!("{want} live workers"), || async {
            let url = format!("{base}/api/v1/ops/stats");
            let r = self.ops_get(&url).send().await?;
            ensure!(r.status().is_success(), "{url} answered {}", r.status());
            let stats: Value = r.json().await?;
            let live = stats["workers"]
                .as_array()
                .context("ops stats without workers")?
                .iter()
                .filter(|w| w["live"] == true)
                .count();
            Ok((live == want).then_some(()))
        })
        .await
    }

    async fn prometheus_targets(&self, url: &str, job: &str, want: usize) -> Result<()> {
        self.wait(&format!("{want} healthy {job} targets"), || async {
            let targets = self.json(&format!("{url}/api/v1/targets")).await?;
            let up = targets["data"]["activeTargets"]
                .as_array()
                .context("no activeTargets")?
                .iter()
                .filter(|t| t["labels"]["job"] == job && t["health"] == "up")
                .count();
            Ok((up == want).then_some(()))
        })
        .await
    }

    async fn json(&self, url: &str) -> Result<Value> {
        let r = self.client.get(url).send().await?;
        let status = r.status();
        ensure!(status.is_success(), "{url} answered {status}");
        Ok(r.json().await?)
    }

    /// Asks `check` every `POLL` until it gives a value, fails with `Fatal`, or
    /// `timeout` passes; any other error (a container starting, a 503 while a store
    /// connects) counts as "not yet" and is reported if time runs out.
    async fn wait<T, F, Fut>(&self, what: &str, mut check: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Option<T>>>,
    {
        let deadline = Instant::now() + self.timeout;
        let mut last = String::from("no answer yet");
        loop {
            match check().await {
                Ok(Some(v)) => return Ok(v),
                Ok(None) => {}
                Err(e) if e.is::<Fatal>() => return Err(e),
                Err(e) => last = format!("{e:#}"),
            }
            if Instant::now() > deadline {
                bail!(
                    "timed out after {:?} waiting for {what} ({last})",
                    self.timeout
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }
}
